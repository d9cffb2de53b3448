/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_EXPORT_H
#define CT_EXPORT_H

/**
 * @file
 * The record of a flow that ended (closed, idle, evicted, re-opened, flushed, or still open at
 * shutdown) as the exporters write it, and its JSON line (--flow-log): the --flows-json object of
 * the flow plus history, conn_state, end_reason, first_seen, last_seen and duration_s.
 *
 * Thread-safety: stateless; the caller owns the record and the FILE.
 *
 * Design: the worker queues its own compact record (lib/worker); the application's exporter
 * thread turns it into a struct ct_export_flow (text addresses, Unix times) once and hands it to
 * each encoder (ct_export_json_line(), ct_ipfix_*). No EAL dependency.
 */

#include <stdint.h>
#include <stdio.h>

#include "ct_history.h"
#include "ct_report.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Why a flow ended: X(suffix, name, IPFIX flowEndReason (IANA IE 136), help). flowEndReason:
 * 1 idle timeout, 3 end of flow detected, 4 forced end, 5 lack of resources.
 */
#define CT_END_REASONS(X)                                                                          \
	X(CLOSED, "closed", 3, "TIME_WAIT or CLOSE ran out, or an RST deleted it")                 \
	X(IDLE, "idle", 1, "idle for its state's timeout")                                         \
	X(EVICTED, "evicted", 5, "embryonic, removed to make room in a full table")                \
	X(REOPENED, "reopened", 3, "a new SYN re-opened the connection (TIME_WAIT, CLOSE)")        \
	X(FLUSHED, "flushed", 4, "flush flows")                                                    \
	X(SHUTDOWN, "shutdown", 4, "still open when synfin stopped")

enum ct_end_reason {
#define X(e, n, i, h) CT_END_##e,
	CT_END_REASONS(X)
#undef X
	        CT_END_MAX
};

/** Name of an end reason ("?" if out of range). */
const char *ct_end_reason_name(unsigned int r);

/** IPFIX flowEndReason of an end reason (0 if out of range). */
uint8_t ct_end_reason_ipfix(unsigned int r);

/** A flow that ended, as exported. Directions: CT_DIR_ORIG is the client's (originator). */
struct ct_export_flow {
	struct ct_report_flow fi;     /**< what --flows-json shows (expires_in_s: 0) */
	uint8_t addr[CT_DIR_MAX][16]; /**< client, server: 4 bytes for IPv4 (fi.family 4), network
	                                   order */
	uint64_t first_ms;            /**< Unix time of the first packet, milliseconds */
	uint64_t last_ms;             /**< Unix time of the last packet, milliseconds */
	uint8_t tcp_flags
	        [CT_DIR_MAX]; /**< TCP: OR of every accepted segment's flags per direction */
	uint8_t end_reason;   /**< enum ct_end_reason */
	uint8_t conn_state;   /**< enum ct_conn_state */
	char history[CT_HISTORY_SIZE]; /**< Zeek-style history letters */
};

/** Shortest and longest sleep of the exporter between two passes over the rings (µs). */
#define CT_EXPORT_PACE_MIN_US 50u
#define CT_EXPORT_PACE_MAX_US 4000u

/**
 * When the exporter next drains the workers' rings. Draining a ring while its worker fills it
 * costs that worker: each record's cache lines and the ring's indices move to the exporter's
 * core and back, once per record. Taken in batches, they move a batch at a time, and the
 * worker pays nothing more than building the records (bench/README.md, "Flow-end records").
 * So the exporter sleeps between passes as long as the rings allow: after a pass that emptied
 * every ring, the sleep doubles while the fullest ring held under an eighth of its size and
 * halves when it held over half, between CT_EXPORT_PACE_MIN_US and CT_EXPORT_PACE_MAX_US (a
 * record waits at most about that long before it is written). From idle, a worker that starts
 * ending flows faster than its ring's size per CT_EXPORT_PACE_MAX_US (4 M records a second with
 * the default 16384) loses records for one sleep, until the pace catches up.
 */
struct ct_export_pace {
	uint32_t us; /**< the next sleep */
};

/** Start at 1 ms. */
static inline void
ct_export_pace_init(struct ct_export_pace *p)
{
	p->us = 1000;
}

/**
 * After a pass that emptied every ring, in which the fullest ring gave @p peak records of its
 * @p ring_size. @return the sleep before the next pass, in µs.
 */
uint32_t ct_export_pace_next(struct ct_export_pace *p, uint32_t peak, uint32_t ring_size);

/**
 * Bytes of the longest flow-end JSON line: the --flows-json members at their longest, the
 * longest history, conn_state and end reason, three times of 20 digits (test_text checks
 * the longest case fits).
 */
#define CT_EXPORT_JSON_LINE_MAX (CT_REPORT_JSON_FIELDS_MAX + 256)

/**
 * Write @p e as one JSON object on one line, newline-terminated, with one fwrite().
 * @return 0, or -1 if the FILE reported an error.
 */
int ct_export_json_line(FILE *f, const struct ct_export_flow *e);

#ifdef __cplusplus
}
#endif

#endif /* CT_EXPORT_H */
