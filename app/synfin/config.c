/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin's configuration: the defaults, the INI file (rte_cfgfile; sections [general], [tcp],
 * [timeouts], [ports]) and the printing used by `show config`. Every key is parsed by one table
 * entry, so the file, the messages and the printout name keys the same way; an unknown section
 * or key, or a bad value, gets one message naming the section and key (the caller exits 2).
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_cfgfile.h>

#include "ct_worker.h"
#include "synfin.h"

/* Largest timeout in whole seconds. */
#define TIMEOUT_MAX (CT_WORKER_TIMEOUT_MS_MAX / 1000)

static const char *const state_names[CT_S_MAX] = {
#define X(e, s) [CT_S_##e] = s,
        CT_STATES(X)
#undef X
};

void
sf_config_defaults(struct sf_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = SF_MODE_MONITOR;
	cfg->clock = SF_CLOCK_TSC;
	cfg->burst = SF_BURST_DEFAULT;
	cfg->rxq = 1;
	cfg->table_size = SF_TABLE_SIZE_DEFAULT;
	cfg->tcp = ct_tcp_conf_default;
}

static int
parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};

	for (unsigned int i = 0; i < RTE_DIM(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Lowercased conntrack state name -> state, NONE excluded. */
static int
state_lookup(const char *name)
{
	for (unsigned int s = CT_S_NONE + 1; s < CT_S_MAX; s++) {
		const char *n = state_names[s];
		size_t i;

		for (i = 0; n[i] != '\0' && name[i] != '\0'; i++) {
			char c = name[i] == '-' ? '_' : name[i];

			if ((c | 0x20) != (n[i] | 0x20) && !(c == '_' && n[i] == '_'))
				break;
		}
		if (n[i] == '\0' && name[i] == '\0')
			return (int)s;
	}
	return -EINVAL;
}

static void
state_list(char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int s = CT_S_NONE + 1; s < CT_S_MAX && off < size; s++) {
		int n = snprintf(buf + off, size - off, "%s", off ? " " : "");

		off += n > 0 ? (size_t)n : 0;
		for (const char *c = state_names[s]; *c != '\0' && off + 1 < size; c++)
			buf[off++] = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		if (off < size)
			buf[off] = '\0';
	}
}

int
sf_config_timeout(struct sf_config *cfg, const char *what, const char *state, const char *value)
{
	char list[256];
	uint32_t v;
	int s = state_lookup(state);

	if (s < 0) {
		state_list(list, sizeof(list));
		fprintf(stderr, "synfin: %s: unknown state '%s' (one of: %s)\n", what, state, list);
		return -EINVAL;
	}
	if (parse_u32(value, 1, TIMEOUT_MAX, &v) < 0) {
		fprintf(stderr,
		        "synfin: %s: timeout of %s: '%s' is not a number of seconds in 1..%u\n",
		        what, state, value, TIMEOUT_MAX);
		return -EINVAL;
	}
	cfg->tcp.timeouts.ms[s] = v * 1000;
	return 0;
}

/* One key of the file: set it from @p value or return -EINVAL. */
static int
set_key(struct sf_config *cfg, const char *sec, const char *key, const char *value,
        const char *path)
{
	uint32_t v;
	bool b;
	char what[512];

#define BAD(fmt, ...)                                                                              \
	do {                                                                                       \
		fprintf(stderr, "synfin: %s: [%s] %s: '%s' " fmt "\n", path, sec, key, value,      \
		        ##__VA_ARGS__);                                                            \
		return -EINVAL;                                                                    \
	} while (0)

	if (strcmp(sec, "general") == 0) {
		if (strcmp(key, "mode") == 0) {
			if (strcmp(value, "monitor") == 0)
				cfg->mode = SF_MODE_MONITOR;
			else if (strcmp(value, "inline") == 0)
				cfg->mode = SF_MODE_INLINE;
			else
				BAD("is not monitor or inline");
		} else if (strcmp(key, "clock") == 0) {
			if (strcmp(value, "tsc") == 0)
				cfg->clock = SF_CLOCK_TSC;
			else if (strcmp(value, "packet") == 0)
				cfg->clock = SF_CLOCK_PACKET;
			else
				BAD("is not tsc or packet");
		} else if (strcmp(key, "burst") == 0) {
			if (parse_u32(value, 1, SF_BURST_MAX, &v) < 0)
				BAD("is not a number in 1..%u", SF_BURST_MAX);
			cfg->burst = (uint16_t)v;
		} else if (strcmp(key, "table_size") == 0) {
			if (parse_u32(value, 1, 1u << 29, &v) < 0)
				BAD("is not a number in 1..%u", 1u << 29);
			cfg->table_size = v;
		} else if (strcmp(key, "stats_period") == 0) {
			if (parse_u32(value, 0, 86400, &v) < 0)
				BAD("is not a number of seconds in 0..86400");
			cfg->stats_period = v;
		} else if (strcmp(key, "drop_invalid") == 0) {
			if (parse_bool(value, &b) < 0)
				BAD("is not a boolean (yes/no)");
			cfg->drop_invalid = b;
		} else if (strcmp(key, "vlan_key") == 0) {
			if (parse_bool(value, &b) < 0)
				BAD("is not a boolean (yes/no)");
			cfg->vlan_key = b;
		} else {
			goto unknown;
		}
	} else if (strcmp(sec, "tcp") == 0) {
		if (strcmp(key, "loose") == 0 || strcmp(key, "liberal") == 0) {
			if (parse_bool(value, &b) < 0)
				BAD("is not a boolean (yes/no)");
			if (key[1] == 'o')
				cfg->tcp.loose = b;
			else
				cfg->tcp.liberal = b;
		} else {
			goto unknown;
		}
	} else if (strcmp(sec, "timeouts") == 0) {
		if (state_lookup(key) < 0)
			goto unknown;
		snprintf(what, sizeof(what), "%s: [%s] %s", path, sec, key);
		return sf_config_timeout(cfg, what, key, value);
	} else if (strcmp(sec, "ports") == 0) {
		if (strcmp(key, "rxq") == 0) {
			if (parse_u32(value, 1, SF_MAX_RXQ_PER_LCORE, &v) < 0)
				BAD("is not a number in 1..%u", SF_MAX_RXQ_PER_LCORE);
			cfg->rxq = (uint16_t)v;
		} else {
			goto unknown;
		}
	} else {
		fprintf(stderr,
		        "synfin: %s: unknown section [%s] (one of: general tcp timeouts ports)\n",
		        path, sec);
		return -EINVAL;
	}
	return 0;
#undef BAD
unknown:
	fprintf(stderr, "synfin: %s: [%s] %s: unknown key\n", path, sec, key);
	return -EINVAL;
}

int
sf_config_load(struct sf_config *cfg, const char *path)
{
	struct rte_cfgfile *f;
	char **secs = NULL;
	int nsec, ret = 0;

	f = rte_cfgfile_load(path, 0);
	if (f == NULL) {
		fprintf(stderr, "synfin: %s: cannot read or parse the file (INI syntax)\n", path);
		return -EINVAL;
	}
	nsec = rte_cfgfile_num_sections(f, NULL, 0);
	if (nsec > 0) {
		secs = calloc((size_t)nsec, sizeof(*secs));
		for (int i = 0; secs != NULL && i < nsec; i++)
			secs[i] = malloc(CFG_NAME_LEN);
		for (int i = 0; secs != NULL && i < nsec; i++)
			if (secs[i] == NULL)
				ret = -ENOMEM;
		if (secs == NULL)
			ret = -ENOMEM;
	}
	if (ret == 0 && nsec > 0)
		nsec = rte_cfgfile_sections(f, secs, nsec);
	for (int i = 0; ret == 0 && i < nsec; i++) {
		int n = rte_cfgfile_section_num_entries(f, secs[i]);
		struct rte_cfgfile_entry *e;

		if (n <= 0)
			continue;
		e = calloc((size_t)n, sizeof(*e));
		if (e == NULL) {
			ret = -ENOMEM;
			break;
		}
		n = rte_cfgfile_section_entries(f, secs[i], e, n);
		for (int k = 0; ret == 0 && k < n; k++)
			ret = set_key(cfg, secs[i], e[k].name, e[k].value, path);
		free(e);
	}
	if (ret == -ENOMEM)
		fprintf(stderr, "synfin: %s: out of memory\n", path);
	for (int i = 0; secs != NULL && i < nsec; i++)
		free(secs[i]);
	free(secs);
	rte_cfgfile_close(f);
	return ret < 0 ? -EINVAL : 0;
}

void
sf_config_print(const struct sf_config *cfg, FILE *f)
{
	fprintf(f, "[general]\n");
	fprintf(f, "mode = %s\n", cfg->mode == SF_MODE_INLINE ? "inline" : "monitor");
	fprintf(f, "clock = %s\n", cfg->clock == SF_CLOCK_PACKET ? "packet" : "tsc");
	fprintf(f, "burst = %u\n", cfg->burst);
	fprintf(f, "table_size = %u\n", cfg->table_size);
	fprintf(f, "stats_period = %u\n", __atomic_load_n(&cfg->stats_period, __ATOMIC_RELAXED));
	fprintf(f, "drop_invalid = %s\n", cfg->drop_invalid ? "yes" : "no");
	fprintf(f, "vlan_key = %s\n", cfg->vlan_key ? "yes" : "no");
	fprintf(f, "[tcp]\n");
	fprintf(f, "loose = %s\n", cfg->tcp.loose ? "yes" : "no");
	fprintf(f, "liberal = %s\n", cfg->tcp.liberal ? "yes" : "no");
	fprintf(f, "[timeouts]\n");
	for (unsigned int s = CT_S_NONE + 1; s < CT_S_MAX; s++) {
		char name[32];
		size_t i;

		for (i = 0; state_names[s][i] != '\0' && i + 1 < sizeof(name); i++)
			name[i] = (char)(state_names[s][i] >= 'A' && state_names[s][i] <= 'Z'
			                         ? state_names[s][i] + 32
			                         : state_names[s][i]);
		name[i] = '\0';
		fprintf(f, "%s = %u\n", name,
		        __atomic_load_n(&cfg->tcp.timeouts.ms[s], __ATOMIC_RELAXED) / 1000);
	}
	fprintf(f, "[ports]\n");
	fprintf(f, "rxq = %u\n", cfg->rxq);
	if (cfg->config_file != NULL)
		fprintf(f, "# loaded from %s\n", cfg->config_file);
}
