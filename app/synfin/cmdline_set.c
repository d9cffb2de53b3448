/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The commands of synfin's command line that change things: `set timeout <state> <seconds>`
 * (240, 0.5 or 50ms, as the file and --timeout take it), `set stats-period <seconds>`,
 * `clear stats` and `flush flows`. Arguments are checked here with the syntax and limits of
 * their configuration keys (config_keys.h), so a mistake gets one line naming the command and
 * the valid values; the application's control operation then applies the change.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>

#include "cmdline_priv.h"
#include "config_keys.h"
#include "synfin.h"

/* ---- set timeout <state> <seconds> ---- */

struct set_timeout_result {
	cmdline_fixed_string_t set;
	cmdline_fixed_string_t timeout;
	cmdline_fixed_string_t state;
	cmdline_fixed_string_t value;
};

static cmdline_parse_token_string_t tok_st_set =
        TOKEN_STRING_INITIALIZER(struct set_timeout_result, set, "set");
static cmdline_parse_token_string_t tok_st_timeout =
        TOKEN_STRING_INITIALIZER(struct set_timeout_result, timeout, "timeout");
static cmdline_parse_token_string_t tok_st_state =
        SF_CLI_TOKEN_STATE_INITIALIZER(struct set_timeout_result, state);
static cmdline_parse_token_string_t tok_st_value =
        TOKEN_STRING_INITIALIZER(struct set_timeout_result, value, NULL);

/* "240" -> "240 seconds", "50ms" -> "50ms": the value as an error message names it. */
static const char *
value_unit(const char *value)
{
	size_t n = strlen(value);

	return n > 2 && strcmp(value + n - 2, "ms") == 0 ? "" : " seconds";
}

static void
cmd_set_timeout(void *res, struct cmdline *cl, void *data)
{
	struct set_timeout_result *r = res;
	const struct sf_config_key *k = NULL;
	char range[48];
	uint32_t ms;
	int st, ret;

	(void)cl;
	(void)data;
	st = sf_config_timeout_parse(r->state);
	for (unsigned int i = 0; st >= 0 && k == NULL && i < SF_KEY_ID_MAX; i++)
		if (sf_config_key_state(&sf_config_keys[i]) == st)
			k = &sf_config_keys[i];
	if (k == NULL) {
		char list[384];

		sf_config_timeout_names(list, sizeof(list));
		sf_cli_error("set timeout", "unknown state '%s' (one of: %s)", r->state, list);
		return;
	}
	sf_config_key_range(k, range, sizeof(range));
	ret = sf_config_key_parse(k, r->value, &ms);
	if (ret == -ERANGE) {
		sf_cli_error("set timeout", "%s%s out of range (%s)", r->value,
		             value_unit(r->value), range);
		return;
	}
	if (ret < 0) {
		sf_cli_error("set timeout", "'%s' is not a timeout (240, 0.5 or 50ms; %s)",
		             r->value, range);
		return;
	}
	ret = sf_set_timeout(sf_cli.sf, r->state, ms);
	if (ret == -ERANGE) {
		sf_cli_error("set timeout", "%s%s out of range", r->value, value_unit(r->value));
		return;
	}
	sf_cli_done("set timeout", ret);
}

cmdline_parse_inst_t sf_cli_set_timeout = {
        .f = cmd_set_timeout,
        .help_str = "set timeout <state> <seconds>: idle timeout of a conntrack state "
                    "(240, 0.5 or 50ms)",
        .tokens = {(void *)&tok_st_set, (void *)&tok_st_timeout, (void *)&tok_st_state,
                   (void *)&tok_st_value, NULL},
};

/* ---- set stats-period <seconds> ---- */

struct set_period_result {
	cmdline_fixed_string_t set;
	cmdline_fixed_string_t period;
	uint64_t seconds;
};

static cmdline_parse_token_string_t tok_sp_set =
        TOKEN_STRING_INITIALIZER(struct set_period_result, set, "set");
static cmdline_parse_token_string_t tok_sp_period =
        TOKEN_STRING_INITIALIZER(struct set_period_result, period, "stats-period");
static cmdline_parse_token_num_t tok_sp_seconds =
        TOKEN_NUM_INITIALIZER(struct set_period_result, seconds, RTE_UINT64);

static void
cmd_set_stats_period(void *res, struct cmdline *cl, void *data)
{
	const struct sf_config_key *k = &sf_config_keys[SF_KEY_ID(general, stats_period)];
	struct set_period_result *r = res;

	(void)cl;
	(void)data;
	if (r->seconds < k->min || r->seconds > k->max) {
		sf_cli_error("set stats-period", "%" PRIu64 " seconds out of range (%u..%u)",
		             r->seconds, k->min, k->max);
		return;
	}
	sf_cli_done("set stats-period", sf_set_stats_period(sf_cli.sf, (uint32_t)r->seconds));
}

cmdline_parse_inst_t sf_cli_set_stats_period = {
        .f = cmd_set_stats_period,
        .help_str = "set stats-period <seconds>: print stats every n seconds (0: off)",
        .tokens = {(void *)&tok_sp_set, (void *)&tok_sp_period, (void *)&tok_sp_seconds, NULL},
};

/* ---- clear stats / flush flows ---- */

struct two_words_result {
	cmdline_fixed_string_t verb;
	cmdline_fixed_string_t what;
};

static cmdline_parse_token_string_t tok_clear =
        TOKEN_STRING_INITIALIZER(struct two_words_result, verb, "clear");
static cmdline_parse_token_string_t tok_clear_stats =
        TOKEN_STRING_INITIALIZER(struct two_words_result, what, "stats");
static cmdline_parse_token_string_t tok_flush =
        TOKEN_STRING_INITIALIZER(struct two_words_result, verb, "flush");
static cmdline_parse_token_string_t tok_flush_flows =
        TOKEN_STRING_INITIALIZER(struct two_words_result, what, "flows");

static void
cmd_clear_stats(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	(void)cl;
	(void)data;
	sf_cli_done("clear stats", sf_clear_stats(sf_cli.sf));
}

cmdline_parse_inst_t sf_cli_clear_stats = {
        .f = cmd_clear_stats,
        .help_str = "clear stats: zero every counter (ports, lcores, reasons)",
        .tokens = {(void *)&tok_clear, (void *)&tok_clear_stats, NULL},
};

static void
cmd_flush_flows(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	(void)cl;
	(void)data;
	sf_cli_done("flush flows", sf_flush_flows(sf_cli.sf));
}

cmdline_parse_inst_t sf_cli_flush_flows = {
        .f = cmd_flush_flows,
        .help_str = "flush flows: delete every tracked flow",
        .tokens = {(void *)&tok_flush, (void *)&tok_flush_flows, NULL},
};
