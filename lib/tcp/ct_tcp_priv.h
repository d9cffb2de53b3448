/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_TCP_PRIV_H
#define CT_TCP_PRIV_H

/**
 * @file
 * Internal interface of lib/tcp: the event classes and roles that index the transition table,
 * the special cell values, and read-only access to one cell so that the unit tests can walk the
 * whole table without the table itself being a global symbol. Not for use outside lib/tcp and
 * test/unit.
 */

#include <stdint.h>

#include "ct_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Which endpoint a table row describes: the one that sent the segment or the one receiving it. */
enum ct_tcp_role { CT_ROLE_SND = 0, CT_ROLE_RCV, CT_ROLE_MAX };

/**
 * Event classes derived from one segment (see classify() in ct_tcp_fsm.c). X-macro:
 * (suffix, short name used in the dot labels).
 */
#define CT_TCP_EVENTS(X)                                                                           \
	X(SYN, "SYN")                                                                              \
	X(SYNACK, "SYNACK")                                                                        \
	X(FIN, "FIN")                                                                              \
	X(FIN2, "FIN2")                                                                            \
	X(ACK, "ACK")                                                                              \
	X(ACKFIN, "ACKFIN")                                                                        \
	X(RST, "RST")

enum ct_tcp_event {
#define X(e, s) CT_EV_##e,
	CT_TCP_EVENTS(X)
#undef X
	        CT_EV_MAX
};

/** Special cell values (above every enum ct_tcp_state). */
#define CT_CELL_IGNORE  CT_TCP_STATE_MAX       /**< sIG: valid, this endpoint does not change */
#define CT_CELL_REOPEN  (CT_TCP_STATE_MAX + 1) /**< sRE: SYN that may reopen a closed flow */
#define CT_CELL_INVALID 64                     /**< INVALID cells: 64 + enum ct_tcp_reason */
/** The INVALID cell counted under reason @p r. */
#define CT_CELL_INVALID_R(r) (CT_CELL_INVALID + (r))

_Static_assert(CT_CELL_REOPEN < CT_CELL_INVALID && CT_CELL_INVALID + CT_R_MAX <= 256,
               "cell values fit in uint8_t");

/**
 * One cell of the transition table.
 * @return the new endpoint state, CT_CELL_IGNORE, CT_CELL_REOPEN, CT_CELL_INVALID (whatever its
 *         reason), or -1 if an index is out of range.
 */
int ct_tcp_fsm_cell(unsigned int role, unsigned int ev, unsigned int state);

/**
 * Reason of one cell: the enum ct_tcp_reason an INVALID cell counts under, CT_R_OK for every
 * other cell, or -1 if an index is out of range.
 */
int ct_tcp_fsm_cell_reason(unsigned int role, unsigned int ev, unsigned int state);

/** Short name of an event class ("?" if out of range). */
const char *ct_tcp_event_name(unsigned int ev);

/** Sequence number @p a is after @p b (modulo 2^32). */
static inline int
ct_seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/** Sequence number @p a is before @p b (modulo 2^32). */
static inline int
ct_seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/** Window tracking of a flow started by a SYN (@p t fully written: zeroed, then the client). */
CT_TCP_API void ct_tcp_window_new_syn(struct ct_tcp *t, const struct ct_tcp_seg *seg);

/** Window tracking of a flow picked up mid-stream from @p seg (@p t fully written). */
CT_TCP_API void ct_tcp_window_new_pickup(struct ct_tcp *t, const struct ct_tcp_seg *seg);

/**
 * Storage class of ct_tcp_window_check(): external on the host; in BPF a separate (global)
 * function, which the verifier checks once on its own rather than once for every path that
 * reaches it (inlined, its paths times the FSM's exceed the verifier's limit).
 */
#ifndef CT_TCP_WINDOW_API
#define CT_TCP_WINDOW_API
#endif

/**
 * Sequence/window checks of one segment and, when they pass, the updates of @p t (a copy the
 * caller commits only on CT_R_OK). The receiver's endpoint state is the one @p t holds (the
 * table's outcome is applied after the checks). Five arguments: the most a BPF call takes.
 * @param t        the flow (copy)
 * @param conf     configuration (liberal)
 * @param dir      sender's direction
 * @param seg      the segment
 * @param ev       its first event class (enum ct_tcp_event)
 * @return CT_R_OK or the reason of the failed bound (CT_R_UNEXPECTED for a NULL pointer in BPF).
 */
CT_TCP_WINDOW_API enum ct_tcp_reason ct_tcp_window_check(struct ct_tcp *t,
                                                         const struct ct_tcp_conf *conf,
                                                         unsigned int dir,
                                                         const struct ct_tcp_seg *seg,
                                                         unsigned int ev);

#ifdef __cplusplus
}
#endif

#endif /* CT_TCP_PRIV_H */
