/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of synfin's configuration keys (app/synfin/config.c and the X-macro of
 * config_keys.h), without EAL: the generated table holds exactly the X-macro's rows (one per
 * conntrack state but NONE in [timeouts]), ENUM rows list their enum's words, the timeout
 * syntax (240, 0.5, 50ms; 1 ms .. CT_WORKER_TIMEOUT_MS_MAX) with its refusals, the INI loader
 * storing milliseconds and naming `[section] key` in its one message, and `show config` printing
 * every file key so that loading its output gives the same configuration.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config_keys.h"
#include "synfin.h"

/* ---- helpers ---- */

static char path[] = "/tmp/synfin_config_XXXXXX";
static char *errbuf;
static size_t errlen;

static void
teardown(void)
{
	unlink(path);
	free(errbuf);
	errbuf = NULL;
}

TestSuite(config, .fini = teardown);

/* Load @p text as a file over @p cfg; what it printed on stderr is in errbuf. */
static int
load(struct sf_config *cfg, const char *text)
{
	FILE *saved = stderr;
	FILE *f;
	int fd, ret;

	strcpy(path, "/tmp/synfin_config_XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	free(errbuf);
	stderr = open_memstream(&errbuf, &errlen);
	cr_assert_not_null(stderr);
	ret = sf_config_load(cfg, path);
	fclose(stderr);
	stderr = saved;
	return ret;
}

static unsigned int
count_lines(const char *s)
{
	unsigned int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* What sf_config_print() writes; the caller frees it. */
static char *
printed(const struct sf_config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	sf_config_print(cfg, f);
	fclose(f);
	return text;
}

static const struct sf_config_key *
timeout_row(unsigned int state)
{
	for (unsigned int i = 0; i < SF_KEY_ID_MAX; i++)
		if (sf_config_key_state(&sf_config_keys[i]) == (int)state)
			return &sf_config_keys[i];
	return NULL;
}

/* ---- the table is the X-macro ---- */

/* The rows as this test expands SF_CONFIG_KEYS itself. */
static const struct {
	const char *section, *key, *option;
} rows[] = {
#define SF_KEY(S, K, O, T, LO, HI, F, H) {#S, #K, O},
        SF_CONFIG_KEYS
#undef SF_KEY
};

Test(config, the_table_holds_every_row_of_the_x_macro_in_order)
{
	cr_assert_eq(sizeof(rows) / sizeof(rows[0]), SF_KEY_ID_MAX);
	for (unsigned int i = 0; i < SF_KEY_ID_MAX; i++) {
		const struct sf_config_key *k = &sf_config_keys[i];

		cr_assert_str_eq(k->section, rows[i].section);
		cr_assert_str_eq(k->key, rows[i].key);
		cr_assert((k->option == NULL) == (rows[i].option == NULL), "%s", k->key);
		if (k->option != NULL)
			cr_assert_str_eq(k->option, rows[i].option);
		cr_assert_not_null(k->help);
		cr_assert(k->type < SF_KT_MAX);
		if (k->type == SF_KT_PATH && sf_config_key_in_file(k))
			cr_assert_str_eq(k->section, "export",
			                 "PATH rows in the file name outputs: %s", k->key);
		cr_assert(k->option != NULL || sf_config_key_in_file(k), "row of nothing: %s",
		          k->key);
	}
	cr_assert_str_eq(sf_config_keys[SF_KEY_ID(general, stats_period)].key, "stats_period");
}

Test(config, one_timeout_row_per_state_but_none)
{
	cr_assert_null(timeout_row(CT_S_NONE));
	for (unsigned int s = CT_S_NONE + 1; s < CT_S_MAX; s++) {
		const struct sf_config_key *k = timeout_row(s);

		cr_assert_not_null(k, "%s", ct_state_name(s));
		cr_assert_str_eq(k->section, "timeouts");
		cr_assert_str_eq(k->key, ct_state_name(s));
		cr_assert_eq(k->min, 1);
		cr_assert_eq(k->max, CT_WORKER_TIMEOUT_MS_MAX);
		cr_assert_eq(sf_config_key_lookup("timeouts", ct_state_name(s)), k);
	}
	cr_assert_eq(sf_config_key_lookup("timeouts", "time-wait"), timeout_row(CT_S_TIME_WAIT));
	cr_assert_null(sf_config_key_lookup("timeouts", "none"));
	cr_assert_null(sf_config_key_lookup("general", "TIME_WAIT"));
}

Test(config, enum_rows_take_their_enum_words_in_order)
{
	static const char *const modes[] = {
#define X(e, w, h) w,
	        SF_MODES(X)
#undef X
	};
	const struct sf_config_key *k = &sf_config_keys[SF_KEY_ID(general, mode)];
	uint32_t v;

	for (unsigned int i = 0; i < SF_KEY_ID_MAX; i++) {
		const struct sf_config_key *e = &sf_config_keys[i];
		unsigned int words = 1;

		if (e->type != SF_KT_ENUM)
			continue;
		for (const char *c = e->words; *c != '\0'; c++)
			words += *c == ' ';
		cr_assert_eq(words, e->max + 1, "%s: %u words, max %u", e->key, words, e->max);
	}
	for (uint32_t i = 0; i < SF_MODE_MAX; i++) {
		cr_assert_eq(sf_config_key_parse(k, modes[i], &v), 0);
		cr_assert_eq(v, i);
	}
	cr_assert_eq(sf_config_key_parse(k, "", &v), -EINVAL);
	cr_assert_eq(sf_config_key_parse(k, "mon", &v), -EINVAL);
	cr_assert_eq(sf_config_key_parse(k, "monitor inline", &v), -EINVAL);
}

Test(config, defaults_are_within_the_rows_limits)
{
	struct sf_config cfg;

	sf_config_defaults(&cfg);
	for (unsigned int i = 0; i < SF_KEY_ID_MAX; i++) {
		const struct sf_config_key *k = &sf_config_keys[i];
		uint64_t v = sf_config_key_value(&cfg, k);

		if (sf_config_key_in_file(k) && k->type != SF_KT_PATH)
			cr_assert(v >= k->min && v <= k->max, "%s = %lu", k->key, (unsigned long)v);
	}
}

/* ---- timeout syntax ---- */

Test(config, timeout_values_in_seconds_decimals_or_ms)
{
	static const struct {
		const char *text;
		uint32_t ms;
	} ok[] = {{"240", 240000},
	          {"1", 1000},
	          {"0.5", 500},
	          {"0.05", 50},
	          {"0.001", 1},
	          {"1.234", 1234},
	          {"10.10", 10100},
	          {"007", 7000},
	          {"50ms", 50},
	          {"1ms", 1},
	          {"2147483", CT_WORKER_TIMEOUT_MS_MAX},
	          {"2147483000ms", CT_WORKER_TIMEOUT_MS_MAX}};
	const struct sf_config_key *k = timeout_row(CT_S_TIME_WAIT);
	uint32_t ms;

	for (unsigned int i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ms = 0;
		cr_assert_eq(sf_config_key_parse(k, ok[i].text, &ms), 0, "%s", ok[i].text);
		cr_assert_eq(ms, ok[i].ms, "%s: %u", ok[i].text, ms);
	}
}

Test(config, timeout_values_refused)
{
	static const char *const syntax[] = {"",   "0.0001", "5s",  "-1",    "1e3", "0x10",
	                                     ".5", "5.",     "ms",  "1.5ms", " 5",  "5 ",
	                                     "+5", "5 ms",   "1,5", "5m"};
	static const char *const range[] = {"0",
	                                    "0ms",
	                                    "0.000",
	                                    "2147484",
	                                    "2147483.001",
	                                    "2147483001ms",
	                                    "99999999999999999999"};
	const struct sf_config_key *k = timeout_row(CT_S_CLOSE);
	uint32_t ms = 12345;

	for (unsigned int i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++)
		cr_assert_eq(sf_config_key_parse(k, syntax[i], &ms), -EINVAL, "'%s'", syntax[i]);
	for (unsigned int i = 0; i < sizeof(range) / sizeof(range[0]); i++)
		cr_assert_eq(sf_config_key_parse(k, range[i], &ms), -ERANGE, "'%s'", range[i]);
	cr_assert_eq(ms, 12345, "a refused value is not stored");
}

/* ---- the file ---- */

Test(config, file_timeouts_take_sub_second_values)
{
	struct sf_config cfg;

	sf_config_defaults(&cfg);
	cr_assert_eq(load(&cfg, "[timeouts]\ntime_wait = 50ms\nclose = 0.5\nestablished = 240\n"
	                        "SYN-SENT = 1.5\n"),
	             0, "%s", errbuf);
	cr_assert_eq(cfg.tcp.timeouts.ms[CT_S_TIME_WAIT], 50);
	cr_assert_eq(cfg.tcp.timeouts.ms[CT_S_CLOSE], 500);
	cr_assert_eq(cfg.tcp.timeouts.ms[CT_S_ESTABLISHED], 240000);
	cr_assert_eq(cfg.tcp.timeouts.ms[CT_S_SYN_SENT], 1500);
	cr_assert_eq(cfg.tcp.timeouts.ms[CT_S_SYN_RECV], ct_tcp_timeouts_default.ms[CT_S_SYN_RECV]);
	cr_assert_str_eq(errbuf, "");
}

Test(config, file_bad_timeouts_are_one_message_naming_the_key)
{
	static const char *const bad[] = {"0.0001", "5s", "-1", "1e3", "0", "forever"};
	struct sf_config cfg;
	char text[64], want[128];

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sf_config_defaults(&cfg);
		snprintf(text, sizeof(text), "[timeouts]\ntime_wait = %s\n", bad[i]);
		cr_assert_eq(load(&cfg, text), -EINVAL, "%s", bad[i]);
		snprintf(want, sizeof(want),
		         "synfin: %s: [timeouts] time_wait: '%s' is not a timeout", path, bad[i]);
		cr_assert_eq(count_lines(errbuf), 1, "%s", errbuf);
		cr_assert(strstr(errbuf, want) == errbuf, "%s", errbuf);
		cr_assert_eq(cfg.tcp.timeouts.ms[CT_S_TIME_WAIT],
		             ct_tcp_timeouts_default.ms[CT_S_TIME_WAIT]);
	}
	/* an empty value is refused too (rte_cfgfile itself refuses empty values) */
	cr_assert_eq(load(&cfg, "[timeouts]\ntime_wait =\n"), -EINVAL);
	cr_assert_not_null(strstr(errbuf, "cannot read or parse"), "%s", errbuf);
}

Test(config, file_unknown_section_or_key_and_command_line_only_keys)
{
	struct sf_config cfg;
	char want[256];

	sf_config_defaults(&cfg);
	cr_assert_eq(load(&cfg, "[nosection]\nx = 1\n"), -EINVAL);
	snprintf(want, sizeof(want),
	         "synfin: %s: unknown section [nosection] (one of: general tcp timeouts ports "
	         "export)\n",
	         path);
	cr_assert_str_eq(errbuf, want);
	cr_assert_eq(load(&cfg, "[timeouts]\nnone = 5\n"), -EINVAL);
	snprintf(want, sizeof(want), "synfin: %s: [timeouts] none: unknown key\n", path);
	cr_assert_str_eq(errbuf, want);
	cr_assert_eq(load(&cfg, "[cmdline]\nconfig = /etc/passwd\n"), -EINVAL);
	cr_assert_eq(load(&cfg, "[general]\nflows_json = x\n"), -EINVAL);
	cr_assert_null(cfg.config_file);
	cr_assert_null(cfg.flows_json);
}

Test(config, file_sets_every_type)
{
	struct sf_config cfg;

	sf_config_defaults(&cfg);
	cr_assert_eq(load(&cfg, "[general]\nmode = inline\nclock = packet\nburst = 7\n"
	                        "table_size = 0x100\nstats_period = 86400\ndrop_invalid = on\n"
	                        "[tcp]\nloose = no\nliberal = TRUE\n[ports]\nrxq = 32\n"),
	             0, "%s", errbuf);
	cr_assert_eq(cfg.mode, SF_MODE_INLINE);
	cr_assert_eq(cfg.clock, SF_CLOCK_PACKET);
	cr_assert_eq(cfg.burst, 7);
	cr_assert_eq(cfg.table_size, 256);
	cr_assert_eq(cfg.stats_period, 86400);
	cr_assert(cfg.drop_invalid && !cfg.tcp.loose && cfg.tcp.liberal && !cfg.vlan_key);
	cr_assert_eq(cfg.rxq, 32);
	cr_assert_eq(load(&cfg, "[general]\nburst = 65\n"), -EINVAL);
	cr_assert(strstr(errbuf, "[general] burst: '65' is not a number in 1..64") != NULL, "%s",
	          errbuf);
	cr_assert_eq(cfg.burst, 7);
}

/* ---- show config ---- */

Test(config, show_config_prints_every_file_key_under_its_section)
{
	struct sf_config cfg;
	char *text, line[128];
	const char *sec = NULL, *at;

	sf_config_defaults(&cfg);
	cfg.tcp.timeouts.ms[CT_S_TIME_WAIT] = 50;
	cfg.tcp.timeouts.ms[CT_S_CLOSE] = 1500;
	text = printed(&cfg);
	at = text;
	for (unsigned int i = 0; i < SF_KEY_ID_MAX; i++) {
		const struct sf_config_key *k = &sf_config_keys[i];
		char name[64];
		size_t n;

		if (!sf_config_key_in_file(k))
			continue;
		if (sec == NULL || strcmp(sec, k->section) != 0) {
			snprintf(line, sizeof(line), "[%s]\n", k->section);
			at = strstr(at, line);
			cr_assert_not_null(at, "%s missing:\n%s", line, text);
		}
		sec = k->section;
		for (n = 0; k->key[n] != '\0'; n++)
			name[n] = (char)(k->key[n] >= 'A' && k->key[n] <= 'Z' ? k->key[n] + 32
			                                                      : k->key[n]);
		name[n] = '\0';
		snprintf(line, sizeof(line), k->type == SF_KT_PATH ? "\n; %s = " : "\n%s = ", name);
		at = strstr(at, line);
		cr_assert_not_null(at, "%s missing or out of order:\n%s", name, text);
	}
	cr_assert_not_null(strstr(text, "\ntime_wait = 0.05\n"), "%s", text);
	cr_assert_not_null(strstr(text, "\nclose = 1.5\n"), "%s", text);
	cr_assert_not_null(strstr(text, "\nestablished = 432000\n"), "%s", text);
	cr_assert_not_null(strstr(text, "\nmode = monitor\n"), "%s", text);
	cr_assert_not_null(strstr(text, "\nloose = yes\n"), "%s", text);
	free(text);
}

Test(config, show_config_output_loads_back_to_the_same_configuration)
{
	struct sf_config cfg, again;
	char *text;

	sf_config_defaults(&cfg);
	cr_assert_eq(load(&cfg,
	                  "[general]\nmode = inline\nburst = 9\nvlan_key = yes\n"
	                  "[timeouts]\nsyn_sent = 0.001\nclose_wait = 2.25\nlast_ack = 7ms\n"),
	             0, "%s", errbuf);
	text = printed(&cfg);
	sf_config_defaults(&again);
	cr_assert_eq(load(&again, text), 0, "%s\n%s", text, errbuf);
	for (unsigned int i = 0; i < SF_KEY_ID_MAX; i++)
		cr_assert_eq(sf_config_key_value(&again, &sf_config_keys[i]),
		             sf_config_key_value(&cfg, &sf_config_keys[i]), "%s",
		             sf_config_keys[i].key);
	cr_assert_eq(again.tcp.timeouts.ms[CT_S_LAST_ACK], 7);
	free(text);
}

/* The file's PATH values are the loader's copies, one per key, until sf_config_release(). */
Test(config, path_values_are_copies_released_once)
{
	struct sf_config cfg;
	unsigned int copies = 0;

	sf_config_defaults(&cfg);
	cr_assert_eq(load(&cfg, "[export]\nflow_log = /tmp/a.json\n"), 0);
	cr_assert_str_eq(cfg.flow_log, "/tmp/a.json");
	/* a second file over the same config: the first copy is freed (ASan), not kept */
	cr_assert_eq(load(&cfg, "[export]\nflow_log = /tmp/b.json\nipfix = 127.0.0.1:4739\n"), 0);
	cr_assert_str_eq(cfg.flow_log, "/tmp/b.json");
	for (unsigned int i = 0; i < SF_CONFIG_PATH_KEYS_MAX; i++)
		copies += cfg.file_copy[i].s != NULL;
	cr_assert_eq(copies, 2, "one copy per key");
	sf_config_release(&cfg);
	cr_assert_null(cfg.flow_log);
	cr_assert_null(cfg.ipfix);
	for (unsigned int i = 0; i < SF_CONFIG_PATH_KEYS_MAX; i++)
		cr_assert_null(cfg.file_copy[i].s);
	/* a value the command line set over the file's stays */
	cr_assert_eq(load(&cfg, "[export]\nflow_log = /tmp/c.json\n"), 0);
	cfg.flow_log = "-";
	sf_config_release(&cfg);
	cr_assert_str_eq(cfg.flow_log, "-");
}
