/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replays every scenario of test/scenarios/ (*.scn files) (one Criterion test per scenario,
 * parameterized by file and name) through the TCP state machine and checks states, verdict and
 * reason after every step, and through lib/history the history, conn_state and end reason of
 * every flow against its `end` line (test/lib/tl_scenario.h). A guard test makes sure the folder
 * really holds the scenarios, so an empty or unreadable folder cannot pass.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "tl_scenario.h"

#ifndef SCENARIO_DIR
#define SCENARIO_DIR "test/scenarios"
#endif

struct scn_param {
	char file[256];
	char name[SCN_NAME_LEN];
};

static struct scn_file loaded; /* one file at a time; large, so not on the stack */

ParameterizedTestParameters(scenario, replay)
{
	struct scn_param *p;
	size_t n = 0, cap = 512, i;
	glob_t g;
	char err[256];

	p = cr_malloc(cap * sizeof(*p));
	if (p == NULL || glob(SCENARIO_DIR "/*.scn", 0, NULL, &g) != 0)
		return cr_make_param_array(struct scn_param, p, 0);
	for (i = 0; i < g.gl_pathc; i++) {
		int k, m = scn_load(g.gl_pathv[i], &loaded, err, sizeof(err));

		if (m < 0) {
			/* a parse error becomes a failing test named after the file */
			m = 1;
			strcpy(loaded.scn[0].name, "PARSE_ERROR");
		}
		for (k = 0; k < m && n < cap; k++, n++) {
			snprintf(p[n].file, sizeof(p[n].file), "%s", g.gl_pathv[i]);
			snprintf(p[n].name, sizeof(p[n].name), "%s", loaded.scn[k].name);
		}
	}
	globfree(&g);
	return cr_make_param_array(struct scn_param, p, n);
}

ParameterizedTest(struct scn_param *p, scenario, replay)
{
	char err[256] = "";
	int m, k;

	m = scn_load(p->file, &loaded, err, sizeof(err));
	cr_assert(m > 0, "%s: %s", p->file, err);
	for (k = 0; k < m; k++) {
		if (strcmp(loaded.scn[k].name, p->name) != 0)
			continue;
		cr_assert(loaded.scn[k].n > 0, "%s: scenario %s has no steps", p->file, p->name);
		cr_assert(scn_run(&loaded.scn[k], err, sizeof(err)) == 0, "%s: %s: %s", p->file,
		          p->name, err);
		return;
	}
	cr_assert_fail("%s: scenario %s not found", p->file, p->name);
}

Test(scenario, folder_holds_the_required_scenarios)
{
	static const char *const required[] = {
	        "three_way_handshake",
	        "close_by_client",
	        "close_server_first",
	        "close_three_segment",
	        "close_simultaneous",
	        "open_simultaneous",
	        "half_close_data",
	        "retransmissions",
	        "rst_refused_connection",
	        "tw_reopen_new_isn",
	        "tw_reopen_old_isn",
	        "pickup_loose",
	        "blind_rst_injection",
	        "blind_syn_injection",
	        "wscale_negotiated",
	        /* issue 12: real traffic that must not derail a flow */
	        "tfo_cookie_accepted",
	        "tfo_cookie_refused",
	        "tfo_server_fin_before_handshake_ack",
	        "split_handshake",
	        "handshake_ack_with_fin",
	        "rst_spoofed_then_real_synack",
	        "rst_in_window_not_exact",
	        "ack_early_of_the_last_fin",
	        "finack_early_passive_close",
	        "synack_before_syn",
	        "rejected_data_past_fin_then_close",
	};
	unsigned int found[sizeof(required) / sizeof(required[0])] = {0};
	unsigned int i, total = 0;
	glob_t g;
	char err[256];

	cr_assert(glob(SCENARIO_DIR "/*.scn", 0, NULL, &g) == 0, "no .scn in %s", SCENARIO_DIR);
	for (i = 0; i < g.gl_pathc; i++) {
		int k, m = scn_load(g.gl_pathv[i], &loaded, err, sizeof(err));

		cr_expect(m > 0, "%s", err);
		for (k = 0; k < m; k++) {
			unsigned int j;

			total++;
			for (j = 0; j < sizeof(required) / sizeof(required[0]); j++)
				found[j] += strcmp(loaded.scn[k].name, required[j]) == 0;
		}
	}
	globfree(&g);
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		cr_expect(found[i] == 1, "scenario %s found %u times", required[i], found[i]);
	cr_expect(total >= 80, "only %u scenarios", total);
}

/* Load @p text as a .scn file. @return scn_load()'s result; its message in @p err. */
static int
load_text(const char *text, char *err, size_t errlen)
{
	char path[] = "/tmp/synfin_scn_XXXXXX";
	int fd = mkstemp(path), m;
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");

	cr_assert(f != NULL, "temporary file");
	fputs(text, f);
	fclose(f);
	m = scn_load(path, &loaded, err, errlen);
	unlink(path);
	return m;
}

#define SYN_STEP "C> S seq=100000 -> SYN_SENT LISTEN SYN_SENT NEW\n"
#define RST_STEP "S> RA seq=0 ack=100001 win=0 -> - - - DELETE\n"

Test(scenario, end_lines_are_one_per_flow_where_it_ends)
{
	static const struct {
		const char *what, *text;
		int ok;
	} c[] = {
	        {"one flow", SYN_STEP "end S S0 shutdown\n", 1},
	        {"deleted, then a new flow",
	         SYN_STEP RST_STEP "end Sr REJ closed\n" SYN_STEP "end S S0 shutdown\n", 1},
	        {"missing", SYN_STEP, 0},
	        {"extra", SYN_STEP "end S S0 shutdown\nend S S0 shutdown\n", 0},
	        {"misplaced", SYN_STEP RST_STEP SYN_STEP "end Sr REJ closed\nend S S0 shutdown\n",
	         0},
	        {"reason unfit for its place", SYN_STEP RST_STEP "end Sr REJ shutdown\n", 0},
	        {"a letter twice", SYN_STEP "end SS S0 shutdown\n", 0},
	        {"no such letter", SYN_STEP "end Sx S0 shutdown\n", 0},
	        {"no such conn_state", SYN_STEP "end S XX shutdown\n", 0},
	        {"no timer in a replay", SYN_STEP "end S S0 idle\n", 0},
	        {"before any step", "end S S0 shutdown\n" SYN_STEP, 0},
	        {"the first of two scenarios lacks it",
	         SYN_STEP "scenario b\n" SYN_STEP "end S S0 shutdown\n", 0},
	};
	char err[256], text[512];

	for (unsigned int i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int m;

		snprintf(text, sizeof(text), "scenario a\n%s", c[i].text);
		m = load_text(text, err, sizeof(err));
		cr_expect((m > 0) == c[i].ok, "%s: scn_load gives %d (%s)", c[i].what, m, err);
	}
}

Test(scenario, end_line_against_the_replay)
{
	char err[256] = "";

	cr_assert_eq(
	        load_text("scenario a\n" SYN_STEP RST_STEP "end Sr REJ closed\n", err, sizeof(err)),
	        1, "%s", err);
	cr_expect_eq(scn_run(&loaded.scn[0], err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(load_text("scenario a\n" SYN_STEP RST_STEP "end SR RSTOS0 closed\n", err,
	                       sizeof(err)),
	             1, "%s", err);
	cr_expect_eq(scn_run(&loaded.scn[0], err, sizeof(err)), -1);
	cr_expect(strstr(err, "want end SR RSTOS0 closed") != NULL &&
	                  strstr(err, "got Sr REJ closed") != NULL,
	          "%s", err);
}
