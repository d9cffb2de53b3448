/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin's configuration: the defaults, the key table sf_config_keys[] generated from the rows
 * of config_keys.h, the value syntax of each key type (parse, store, format), the INI file
 * loader (rte_cfgfile) and the printing used by `show config`. The file, the command line
 * (main.c), `show config`, telemetry and the CLI all go through these functions, so they name
 * keys, accept values and state limits the same way; an unknown section or key, or a bad value,
 * gets one message naming `[section] key` (the caller exits 2).
 */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_cfgfile.h>

#include "config_keys.h"
#include "synfin.h"

/* The type column as initializers, and for ENUM(L) L's words (" w1 w2" less its first space). */
#define SF_KEYS_TYPE_U32      .type = SF_KT_U32
#define SF_KEYS_TYPE_BOOL     .type = SF_KT_BOOL
#define SF_KEYS_TYPE_TIMEOUT  .type = SF_KT_TIMEOUT
#define SF_KEYS_TYPE_PATH     .type = SF_KT_PATH
#define SF_KEYS_TYPE_ENUM(L)  .type = SF_KT_ENUM, .words = ("" L(SF_KEYS_WORD)) + 1
#define SF_KEYS_WORD(e, w, h) " " w
/* The type column as its enum value. */
#define SF_KEYS_KIND_U32     SF_KT_U32
#define SF_KEYS_KIND_BOOL    SF_KT_BOOL
#define SF_KEYS_KIND_TIMEOUT SF_KT_TIMEOUT
#define SF_KEYS_KIND_PATH    SF_KT_PATH
#define SF_KEYS_KIND_ENUM(L) SF_KT_ENUM
#define SF_KEYS_FIELD(f)     (((struct sf_config *)0)->f)

const struct sf_config_key sf_config_keys[SF_KEY_ID_MAX] = {
#define SF_KEY(S, K, O, T, LO, HI, F, H)                                                           \
	[SF_KEY_ID(S, K)] = {.section = #S,                                                        \
	                     .key = #K,                                                            \
	                     .option = O,                                                          \
	                     SF_KEYS_TYPE_##T,                                                     \
	                     .min = LO,                                                            \
	                     .max = HI,                                                            \
	                     .offset = offsetof(struct sf_config, F),                              \
	                     .size = sizeof(SF_KEYS_FIELD(F)),                                     \
	                     .help = H},
        SF_CONFIG_KEYS
#undef SF_KEY
};

/* Each row's field has the size its type stores, and its range fits the field. */
#define SIZE_OK(t, sz, lo, hi)                                                                     \
	((t) == SF_KT_U32       ? ((sz) == 4 || ((sz) == 2 && (hi) <= UINT16_MAX)) && (lo) <= (hi) \
	 : (t) == SF_KT_BOOL    ? (sz) == sizeof(bool)                                             \
	 : (t) == SF_KT_ENUM    ? (sz) == sizeof(uint32_t)                                         \
	 : (t) == SF_KT_TIMEOUT ? (sz) == sizeof(uint32_t) && (lo) >= 1 && (lo) <= (hi)            \
	                        : (sz) == sizeof(const char *))
#define SF_KEY(sec, key, opt, type, lo, hi, field, hlp)                                            \
	_Static_assert(SIZE_OK(SF_KEYS_KIND_##type, sizeof(SF_KEYS_FIELD(field)), (uint64_t)(lo),  \
	                       (uint64_t)(hi)),                                                    \
	               "[" #sec "] " #key ": the field does not fit the type or range");
SF_CONFIG_KEYS
#undef SF_KEY

/* The section of command-line-only rows. */
#define CMDLINE "cmdline"

void
sf_config_defaults(struct sf_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = SF_MODE_MONITOR;
	cfg->clock = SF_CLOCK_TSC;
	cfg->burst = SF_BURST_DEFAULT;
	cfg->rxq = 1;
	cfg->table_size = SF_TABLE_SIZE_DEFAULT;
	cfg->export_ring = SF_EXPORT_RING_DEFAULT;
	cfg->ipfix_template_s = SF_IPFIX_TEMPLATE_S_DEFAULT;
	cfg->tcp = ct_tcp_conf_default;
	cfg->l4 = ct_l4_conf_default;
}

bool
sf_config_key_in_file(const struct sf_config_key *k)
{
	return strcmp(k->section, CMDLINE) != 0;
}

int
sf_config_key_state(const struct sf_config_key *k)
{
	const size_t tcp = offsetof(struct sf_config, tcp.timeouts.ms);
	const size_t l4 = offsetof(struct sf_config, l4.ms);

	if (k->type != SF_KT_TIMEOUT)
		return -1;
	if (k->offset >= tcp && k->offset < tcp + sizeof(((struct sf_config *)0)->tcp.timeouts.ms))
		return (int)((k->offset - tcp) / sizeof(uint32_t));
	if (k->offset >= l4 && k->offset < l4 + sizeof(((struct sf_config *)0)->l4.ms))
		return (int)CT_WORKER_L4_TIMEOUT((k->offset - l4) / sizeof(uint32_t));
	return -1;
}

int
sf_config_timeout_parse(const char *name)
{
	int s = ct_state_parse(name);

	if (s > CT_S_NONE)
		return s;
	s = ct_l4_timeout_parse(name);
	return s >= 0 ? (int)CT_WORKER_L4_TIMEOUT(s) : -EINVAL;
}

int
sf_config_timeout_names(char *buf, size_t size)
{
	int n = ct_state_format_names(buf, size);

	for (unsigned int t = 0; t < CT_L4T_MAX; t++) {
		size_t off = (size_t)n < size ? (size_t)n : size;

		n += snprintf(buf + off, size - off, " %s", ct_l4_timeout_name(t));
	}
	return n;
}

const struct sf_config_key *
sf_config_key_lookup(const char *section, const char *key)
{
	for (unsigned int i = 0; i < SF_KEY_ID_MAX; i++) {
		const struct sf_config_key *k = &sf_config_keys[i];
		int st = sf_config_key_state(k);

		if (!sf_config_key_in_file(k) || strcmp(k->section, section) != 0)
			continue;
		if (st >= 0 ? sf_config_timeout_parse(key) == st : strcmp(k->key, key) == 0)
			return k;
	}
	return NULL;
}

/* ---- values ---- */

static int
parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (*s == '\0' || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (*end != '\0')
		return -EINVAL;
	if (errno != 0 || v < min || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

static int
parse_bool(const char *s, uint32_t *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};

	for (unsigned int i = 0; i < RTE_DIM(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
			*out = strcasecmp(s, yes[i]) == 0;
			return 0;
		}
	}
	return -EINVAL;
}

/* @p s as one of the space-separated @p words: its index. */
static int
parse_word(const char *words, const char *s, uint32_t *out)
{
	size_t n = strlen(s);
	uint32_t i = 0;

	for (const char *w = words; *w != '\0'; i++) {
		size_t len = strcspn(w, " ");

		if (n > 0 && len == n && strncmp(w, s, n) == 0) {
			*out = i;
			return 0;
		}
		w += len + (w[len] == ' ');
	}
	return -EINVAL;
}

/* "240" or "0.5" (seconds, at most 3 decimals) or "50ms": milliseconds in min..max. */
static int
parse_timeout(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v = 0, frac = 0, scale = 1000;
	size_t i = 0, d;

	for (; s[i] >= '0' && s[i] <= '9'; i++)
		v = v > UINT32_MAX ? v : v * 10 + (uint64_t)(s[i] - '0'); /* saturates */
	if (i == 0)
		return -EINVAL;
	if (strcmp(s + i, "ms") == 0) {
		scale = 1;
	} else if (s[i] == '.') {
		for (d = ++i; s[i] >= '0' && s[i] <= '9' && i - d < 3; i++)
			frac = frac * 10 + (uint64_t)(s[i] - '0');
		if (i == d || s[i] != '\0')
			return -EINVAL;
		for (; i - d < 3; i++)
			frac *= 10;
	} else if (s[i] != '\0') {
		return -EINVAL;
	}
	v = v * scale + frac;
	if (v < min || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

int
sf_config_key_parse(const struct sf_config_key *k, const char *value, uint32_t *v)
{
	if (value == NULL)
		return -EINVAL;
	switch (k->type) {
	case SF_KT_U32:
		return parse_u32(value, k->min, k->max, v);
	case SF_KT_BOOL:
		return parse_bool(value, v);
	case SF_KT_ENUM:
		return parse_word(k->words, value, v);
	case SF_KT_TIMEOUT:
		return parse_timeout(value, k->min, k->max, v);
	default:
		return -EINVAL;
	}
}

/* Milliseconds as seconds: "240", "0.5", "0.05", "1.234". */
static int
format_ms(char *buf, size_t size, uint32_t ms)
{
	char frac[8];
	size_t n;

	if (ms % 1000 == 0)
		return snprintf(buf, size, "%u", ms / 1000);
	n = (size_t)snprintf(frac, sizeof(frac), "%03u", ms % 1000);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	return snprintf(buf, size, "%u.%s", ms / 1000, frac);
}

int
sf_config_key_range(const struct sf_config_key *k, char *buf, size_t size)
{
	char lo[16], hi[16];

	switch (k->type) {
	case SF_KT_U32:
		return snprintf(buf, size, "%u..%u", k->min, k->max);
	case SF_KT_TIMEOUT:
		format_ms(lo, sizeof(lo), k->min);
		format_ms(hi, sizeof(hi), k->max);
		return snprintf(buf, size, "%s..%s s", lo, hi);
	default:
		return snprintf(buf, size, "%s", "");
	}
}

/* What row @p k takes, for "'<value>' is not <this>". */
static void
describe(const struct sf_config_key *k, char *buf, size_t size)
{
	char range[48];

	sf_config_key_range(k, range, sizeof(range));
	switch (k->type) {
	case SF_KT_U32:
		snprintf(buf, size, "a number in %s", range);
		break;
	case SF_KT_BOOL:
		snprintf(buf, size, "a boolean (yes/no)");
		break;
	case SF_KT_ENUM:
		snprintf(buf, size, "one of: %s", k->words);
		break;
	case SF_KT_TIMEOUT:
		snprintf(buf, size, "a timeout in %s (as 240, 0.5 or 50ms)", range);
		break;
	default:
		snprintf(buf, size, "a path");
		break;
	}
}

int
sf_config_key_set(struct sf_config *cfg, const struct sf_config_key *k, const char *value,
                  const char *what)
{
	char *p = (char *)cfg + k->offset;
	char expect[96];
	uint32_t v;

	if (k->type == SF_KT_PATH) {
		memcpy(p, &value, sizeof(value));
		return 0;
	}
	if (sf_config_key_parse(k, value, &v) < 0) {
		describe(k, expect, sizeof(expect));
		fprintf(stderr, "synfin: %s: '%s' is not %s\n", what, value != NULL ? value : "",
		        expect);
		return -EINVAL;
	}
	if (k->size == sizeof(bool) && k->type == SF_KT_BOOL) {
		bool b = v != 0;

		memcpy(p, &b, sizeof(b));
	} else if (k->size == sizeof(uint16_t)) {
		uint16_t h = (uint16_t)v;

		memcpy(p, &h, sizeof(h));
	} else {
		memcpy(p, &v, sizeof(v));
	}
	return 0;
}

uint64_t
sf_config_key_value(const struct sf_config *cfg, const struct sf_config_key *k)
{
	const char *p = (const char *)cfg + k->offset;
	uint32_t v = 0;
	uint16_t h;
	bool b;

	switch (k->type) {
	case SF_KT_BOOL:
		memcpy(&b, p, sizeof(b));
		return b;
	case SF_KT_ENUM:
		memcpy(&v, p, sizeof(v));
		return v;
	case SF_KT_U32:
	case SF_KT_TIMEOUT:
		if (k->size == sizeof(uint16_t)) {
			memcpy(&h, p, sizeof(h));
			return h;
		}
		/* stats_period and timeouts change at run time (`set`) */
		return __atomic_load_n((const uint32_t *)(const void *)p, __ATOMIC_RELAXED);
	default:
		return 0;
	}
}

int
sf_config_key_format(const struct sf_config *cfg, const struct sf_config_key *k, char *buf,
                     size_t size)
{
	uint64_t v = sf_config_key_value(cfg, k);
	const char *w = k->words;
	const char *path;

	switch (k->type) {
	case SF_KT_BOOL:
		return snprintf(buf, size, "%s", v ? "yes" : "no");
	case SF_KT_ENUM:
		for (uint64_t i = 0; i < v && *w != '\0'; i++)
			w += strcspn(w, " ") + (w[strcspn(w, " ")] == ' ');
		return snprintf(buf, size, "%.*s", (int)strcspn(w, " "), w);
	case SF_KT_TIMEOUT:
		return format_ms(buf, size, (uint32_t)v);
	case SF_KT_PATH:
		memcpy(&path, (const char *)cfg + k->offset, sizeof(path));
		return snprintf(buf, size, "%s", path != NULL ? path : "");
	default:
		return snprintf(buf, size, "%" PRIu64, v);
	}
}

/* ---- the file ---- */

/* Lower-case INI name of row @p k into @p buf (the [timeouts] keys are state names). */
static void
key_name(const struct sf_config_key *k, char *buf, size_t size)
{
	size_t i;

	for (i = 0; k->key[i] != '\0' && i + 1 < size; i++)
		buf[i] = (char)(k->key[i] >= 'A' && k->key[i] <= 'Z' ? k->key[i] + 32 : k->key[i]);
	buf[i] = '\0';
}

/* true when @p sec is a section of the file. */
static bool
section_known(const char *sec)
{
	for (unsigned int i = 0; i < SF_KEY_ID_MAX; i++)
		if (sf_config_key_in_file(&sf_config_keys[i]) &&
		    strcmp(sf_config_keys[i].section, sec) == 0)
			return true;
	return false;
}

/* The sections of the file, in row order, space separated. */
static void
section_list(char *buf, size_t size)
{
	const char *last = NULL;
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < SF_KEY_ID_MAX && off < size; i++) {
		const struct sf_config_key *k = &sf_config_keys[i];
		int n;

		if (!sf_config_key_in_file(k) || (last != NULL && strcmp(last, k->section) == 0))
			continue;
		last = k->section; /* a section's rows are consecutive */
		n = snprintf(buf + off, size - off, "%s%s", off ? " " : "", k->section);
		off += n > 0 ? (size_t)n : 0;
	}
}

/* PATH rows of the table: they fit cfg->file_copy[], one entry each. */
#define SF_KEY(S, K, O, T, ...) +(SF_KEYS_KIND_##T == SF_KT_PATH)
_Static_assert(0 SF_CONFIG_KEYS <= SF_CONFIG_PATH_KEYS_MAX, "a copy slot per PATH key");
#undef SF_KEY

/* The copy slot of PATH row @p k: the one holding it, else a free one (there is one per row). */
static struct sf_config_copy *
path_copy(struct sf_config *cfg, const struct sf_config_key *k)
{
	struct sf_config_copy *free_slot = NULL;

	for (unsigned int i = 0; i < SF_CONFIG_PATH_KEYS_MAX; i++) {
		struct sf_config_copy *c = &cfg->file_copy[i];

		if (c->key == k)
			return c;
		if (c->key == NULL && free_slot == NULL)
			free_slot = c;
	}
	return free_slot;
}

/* One key of the file: set it from @p value or print one message and return -EINVAL. */
static int
file_key_set(struct sf_config *cfg, const char *sec, const char *key, const char *value,
             const char *path)
{
	const struct sf_config_key *k = sf_config_key_lookup(sec, key);
	char what[512];

	if (k == NULL && !section_known(sec)) {
		section_list(what, sizeof(what));
		fprintf(stderr, "synfin: %s: unknown section [%s] (one of: %s)\n", path, sec, what);
		return -EINVAL;
	}
	if (k == NULL) {
		fprintf(stderr, "synfin: %s: [%s] %s: unknown key\n", path, sec, key);
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "%s: [%s] %s", path, sec, key);
	if (k->type == SF_KT_PATH) {
		/* the file's strings go with it: keep a copy, one per key (a repeated key's last) */
		struct sf_config_copy *c = path_copy(cfg, k);
		char *copy = strdup(value != NULL ? value : "");

		if (copy == NULL)
			return -ENOMEM;
		free(c->s);
		c->key = k;
		c->s = copy;
		return sf_config_key_set(cfg, k, copy, what);
	}
	return sf_config_key_set(cfg, k, value, what);
}

void
sf_config_release(struct sf_config *cfg)
{
	for (unsigned int i = 0; i < SF_CONFIG_PATH_KEYS_MAX; i++) {
		struct sf_config_copy *c = &cfg->file_copy[i];
		const struct sf_config_key *k = c->key;
		const char *field;

		if (c->s == NULL)
			continue;
		memcpy(&field, (const char *)cfg + k->offset, sizeof(field));
		if (field == c->s) { /* not replaced by the command line since */
			field = NULL;
			memcpy((char *)cfg + k->offset, &field, sizeof(field));
		}
		free(c->s);
		c->s = NULL;
		c->key = NULL;
	}
}

/* The section names of @p f into a calloc'ed array (*n entries). @return it, or NULL. */
static char **
sections_get(struct rte_cfgfile *f, int *n)
{
	char **secs;

	*n = rte_cfgfile_num_sections(f, NULL, 0);
	if (*n <= 0) {
		*n = 0;
		return calloc(1, sizeof(*secs));
	}
	secs = calloc((size_t)*n, sizeof(*secs));
	for (int i = 0; secs != NULL && i < *n; i++) {
		secs[i] = malloc(CFG_NAME_LEN);
		if (secs[i] == NULL) {
			while (i-- > 0)
				free(secs[i]);
			free(secs);
			return NULL;
		}
	}
	if (secs != NULL)
		*n = rte_cfgfile_sections(f, secs, *n);
	return secs;
}

int
sf_config_load(struct sf_config *cfg, const char *path)
{
	struct rte_cfgfile *f;
	char **secs;
	int nsec, ret = 0;

	f = rte_cfgfile_load(path, 0);
	if (f == NULL) {
		fprintf(stderr, "synfin: %s: cannot read or parse the file (INI syntax)\n", path);
		return -EINVAL;
	}
	secs = sections_get(f, &nsec);
	if (secs == NULL)
		ret = -ENOMEM;
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
			ret = file_key_set(cfg, secs[i], e[k].name, e[k].value, path);
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
	const char *sec = NULL;
	char name[64], value[256];

	for (unsigned int i = 0; i < SF_KEY_ID_MAX; i++) {
		const struct sf_config_key *k = &sf_config_keys[i];

		if (!sf_config_key_in_file(k))
			continue;
		if (sec == NULL || strcmp(sec, k->section) != 0)
			fprintf(f, "[%s]\n", k->section);
		sec = k->section;
		key_name(k, name, sizeof(name));
		sf_config_key_format(cfg, k, value, sizeof(value));
		if (k->type == SF_KT_PATH && value[0] == '\0') /* unset: INI has no empty value */
			fprintf(f, "; %s = (not set)\n", name);
		else
			fprintf(f, "%s = %s\n", name, value);
	}
	if (cfg->config_file != NULL)
		fprintf(f, "# loaded from %s\n", cfg->config_file);
}
