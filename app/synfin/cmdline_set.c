/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The commands of synfin's command line that change things: `set timeout <state> <seconds>`,
 * `set stats-period <seconds>`, `clear stats` and `flush flows`. Arguments are checked here
 * (state name, number range) so a mistake gets one line naming the command and the valid
 * values; the application's control operation then applies the change.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>

#include "cmdline_priv.h"
#include "synfin.h"

/** Longest stats period accepted (one day); 0 turns the periodic display off. */
#define STATS_PERIOD_MAX 86400

/* ---- set timeout <state> <seconds> ---- */

struct set_timeout_result {
	cmdline_fixed_string_t set;
	cmdline_fixed_string_t timeout;
	cmdline_fixed_string_t state;
	uint64_t seconds;
};

static cmdline_parse_token_string_t tok_st_set =
        TOKEN_STRING_INITIALIZER(struct set_timeout_result, set, "set");
static cmdline_parse_token_string_t tok_st_timeout =
        TOKEN_STRING_INITIALIZER(struct set_timeout_result, timeout, "timeout");
static cmdline_parse_token_string_t tok_st_state =
        SF_CLI_TOKEN_STATE_INITIALIZER(struct set_timeout_result, state);
static cmdline_parse_token_num_t tok_st_seconds =
        TOKEN_NUM_INITIALIZER(struct set_timeout_result, seconds, RTE_UINT64);

static void
cmd_set_timeout(void *res, struct cmdline *cl, void *data)
{
	struct set_timeout_result *r = res;
	int ret;

	(void)cl;
	(void)data;
	if (sf_cli_state_lookup(r->state) < 0) {
		char list[160];

		sf_cli_state_list(list, sizeof(list));
		sf_cli_error("set timeout", "unknown state '%s' (one of: %s)", r->state, list);
		return;
	}
	if (r->seconds < 1 || r->seconds > UINT32_MAX) {
		sf_cli_error("set timeout", "%" PRIu64 " seconds out of range (1..%u)", r->seconds,
		             UINT32_MAX);
		return;
	}
	ret = sf_set_timeout(sf_cli.sf, r->state, (uint32_t)r->seconds);
	if (ret == -ERANGE) {
		sf_cli_error("set timeout", "%" PRIu64 " seconds out of range", r->seconds);
		return;
	}
	sf_cli_done("set timeout", ret);
}

cmdline_parse_inst_t sf_cli_set_timeout = {
        .f = cmd_set_timeout,
        .help_str = "set timeout <state> <seconds>: idle timeout of a conntrack state",
        .tokens = {(void *)&tok_st_set, (void *)&tok_st_timeout, (void *)&tok_st_state,
                   (void *)&tok_st_seconds, NULL},
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
	struct set_period_result *r = res;

	(void)cl;
	(void)data;
	if (r->seconds > STATS_PERIOD_MAX) {
		sf_cli_error("set stats-period", "%" PRIu64 " seconds out of range (0..%u)",
		             r->seconds, STATS_PERIOD_MAX);
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
