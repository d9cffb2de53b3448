/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TL_SCENARIO_H
#define TL_SCENARIO_H

/**
 * @file
 * Loader and runner of the TCP scenario files in test/scenarios/ (*.scn; format: that folder's
 * README.md), shared by the unit tests (test_tcp_scenarios.c) and synfin-pcapgen. A file is
 * parsed into fixed-size arrays (no allocation), and a scenario is replayed through
 * ct_tcp_new()/ct_tcp_track() exactly as a caller would (a REOPEN verdict restarts the flow with
 * ct_tcp_new() on the same segment). The runner checks after every step the verdict, the reason,
 * the RFC 9293 state of both endpoints, the conntrack state (and that it equals
 * ct_state_from_tcp() of the endpoints), optional flow flags, and that an INVALID or REOPEN
 * verdict left struct ct_tcp byte-for-byte unchanged. Each accepted segment also goes to
 * lib/history as the worker gives it (INVALID ones do not; a DELETE's RST counts on the flow it
 * ends); at every flow end (DELETE, REOPEN, and the flow still open after the last step) the
 * history, conn_state and end reason are compared with the scenario's `end` line.
 *
 * Thread-safety: none needed (no globals). No DPDK.
 */

#include <stddef.h>
#include <stdint.h>

#include "ct_export.h"
#include "ct_history.h"
#include "ct_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SCN_MAX_STEPS    64
#define SCN_MAX_PER_FILE 32
#define SCN_NAME_LEN     64
#define SCN_MAX_ENDS     8

/** One step: a segment and what must hold after it. */
struct scn_step {
	int line;
	unsigned int ep; /**< sender: 0 = endpoint C (C>), 1 = endpoint S (S>) */
	struct ct_tcp_seg seg;
	uint16_t mss;     /**< the MSS option's value (mss=), valid with CT_TCPO_MSS */
	uint32_t tsecr;   /**< the timestamp echo reply (ts=val,ecr), valid with CT_TCPO_TS */
	int want_ep[2];   /**< enum ct_tcp_state of C and S, -1 for '-' (no flow) */
	int want_ct;      /**< enum ct_state, -1 for '-' */
	int want_verdict; /**< enum ct_verdict */
	int want_reason;  /**< enum ct_tcp_reason (CT_R_OK unless INVALID) */
	int want_assured; /**< -1 unchecked, else 0/1 */
	int want_picked;  /**< -1 unchecked, else 0/1 */
};

/** The expected record of one flow of a scenario (an `end` line). */
struct scn_end {
	int line;
	unsigned int after;            /**< index of the step after which the line stands */
	char history[CT_HISTORY_SIZE]; /**< Zeek-style letters */
	int conn_state;                /**< enum ct_conn_state */
	int reason;                    /**< enum ct_end_reason: CLOSED, REOPENED or SHUTDOWN */
};

/** One scenario: a name, the FSM configuration, the steps and its flows' records in order. */
struct scn {
	char name[SCN_NAME_LEN];
	struct ct_tcp_conf conf;
	unsigned int n;
	struct scn_step step[SCN_MAX_STEPS];
	unsigned int nend;
	struct scn_end end[SCN_MAX_ENDS];
};

/** Every scenario of one file. */
struct scn_file {
	unsigned int n;
	struct scn scn[SCN_MAX_PER_FILE];
};

/**
 * Load every scenario of one file into @p f. Every flow the steps' verdicts create needs its
 * `end` line where it ends (README.md): a missing, misplaced or extra one is a load error.
 * @return number of scenarios, or -1 with a message in @p err.
 */
int scn_load(const char *path, struct scn_file *f, char *err, size_t errlen);

/**
 * Replay @p s.
 * @return 0, or -1 with the first mismatch in @p err ("line N: ...").
 */
int scn_run(const struct scn *s, char *err, size_t errlen);

/** Name of a verdict as scenario files write it ("?" if out of range). */
const char *scn_verdict_name(int v);

#ifdef __cplusplus
}
#endif

#endif /* TL_SCENARIO_H */
