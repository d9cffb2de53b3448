/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_STATS_H
#define CT_STATS_H

/**
 * @file
 * Per-lcore tracker counters, generated from one X-macro list with their help strings, plus one
 * counter per parse reason (CT_PARSE_REASONS), per FSM reason (CT_TCP_REASONS) and per L4
 * tracker reason (CT_L4_REASONS).
 *
 * Thread-safety: a struct ct_lcore_stats is written by its lcore only (plain increments, no
 * atomics); other threads take a copy with ct_stats_read() (each 64-bit counter read whole, with
 * a relaxed atomic load, the race with the writer intended and hidden from ThreadSanitizer).
 * Clearing is done by readers keeping a baseline copy and subtracting, never by writing.
 *
 * Design: the struct is nothing but uint64_t counters, so it can be walked as an array of
 * CT_STATS_N values with ct_stats_name()/ct_stats_help() giving each one's name; sums and
 * differences are element-wise. Per-state flow counts are gauges, not counters: the worker keeps
 * them (ct_worker_flows_by_state()). No EAL dependency.
 */

#include <stdint.h>

#include "ct_l4.h"
#include "ct_parse.h"
#include "ct_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Named counters: X(field, help). The flows_* counters marked (table) are counted by the flow
 * table itself (lib/table), the others by the worker (lib/worker); each event is counted once.
 */
#define CT_STATS_COUNTERS(X)                                                                       \
	X(rx_pkts, "packets received")                                                             \
	X(rx_bytes, "bytes received (frame length)")                                               \
	X(tcp_pkts, "TCP segments parsed and tracked")                                             \
	X(udp_pkts, "UDP datagrams parsed and tracked")                                            \
	X(icmp_pkts, "ICMP/ICMPv6 queries and replies (echo, ...) parsed and tracked")             \
	X(icmp_errors, "ICMP/ICMPv6 errors parsed (matched to the flow they quote)")               \
	X(other_pkts, "packets of other IP protocols tracked by addresses and protocol")           \
	X(not_tcp, "packets passed untracked: not IP, IP fragments, untracked ICMP types")         \
	X(parse_drop, "TCP/IP packets not tracked: malformed (see parse_* reasons)")               \
	X(tcp_opt_odd, "segments tracked with an option of an unexpected length (ignored)")        \
	X(accepted, "segments accepted (new flow or valid on its flow)")                           \
	X(invalid, "segments INVALID (see invalid_* reasons)")                                     \
	X(state_changes, "conntrack state changes")                                                \
	X(icmp_related, "ICMP errors RELATED to the tracked flow they quote")                      \
	X(flows_created, "flows created (table)")                                                  \
	X(flows_closed, "flows that reached CLOSE or TIME_WAIT")                                   \
	X(flows_expired, "flows removed by their timeout (table)")                                 \
	X(flows_evicted, "embryonic flows evicted to make room (table)")                           \
	X(flows_refused, "new flows refused: table full, nothing evictable (table)")               \
	X(flows_reopened, "flows deleted and restarted by a SYN in TIME_WAIT/CLOSE")               \
	X(flows_rst_deleted, "flows deleted at once by a valid RST before any reply (Linux)")      \
	X(flows_flushed, "flows deleted by flush (table)")                                         \
	X(flows_rearmed, "timers that fired before their flow's deadline, re-armed (table)")       \
	X(export_records, "flow-end records queued to the exporter")                               \
	X(export_dropped, "flow-end records dropped: the exporter ring was full")

/** Counters of one lcore: CT_STATS_N uint64_t values, one cache line aligned. */
struct ct_lcore_stats {
#define X(n, h) uint64_t n;
	CT_STATS_COUNTERS(X)
#undef X
	uint64_t parse[CT_PARSE_MAX];  /**< per parse reason (index CT_PARSE_OK unused) */
	uint64_t reason[CT_R_MAX];     /**< per FSM INVALID reason (index CT_R_OK unused) */
	uint64_t l4reason[CT_L4R_MAX]; /**< per L4 INVALID reason (index CT_L4R_OK unused) */
} __attribute__((aligned(64)));

#ifndef __cplusplus
_Static_assert(__builtin_offsetof(struct ct_lcore_stats, udp_pkts) ==
                               __builtin_offsetof(struct ct_lcore_stats, tcp_pkts) +
                                       CT_L4K_UDP * sizeof(uint64_t) &&
                       __builtin_offsetof(struct ct_lcore_stats, icmp_pkts) ==
                               __builtin_offsetof(struct ct_lcore_stats, tcp_pkts) +
                                       CT_L4K_ICMP_REQUEST * sizeof(uint64_t) &&
                       __builtin_offsetof(struct ct_lcore_stats, icmp_errors) ==
                               __builtin_offsetof(struct ct_lcore_stats, tcp_pkts) +
                                       CT_L4K_ICMP_ERROR * sizeof(uint64_t) - sizeof(uint64_t) &&
                       __builtin_offsetof(struct ct_lcore_stats, other_pkts) ==
                               __builtin_offsetof(struct ct_lcore_stats, tcp_pkts) +
                                       CT_L4K_OTHER * sizeof(uint64_t) - sizeof(uint64_t),
               "packet counters in ct_stats_kind() order");
#endif

/**
 * The counter of a tracked packet of kind @p kind (enum ct_l4_kind): tcp_pkts, udp_pkts,
 * icmp_pkts (requests and replies), icmp_errors, other_pkts. One indexed increment per packet.
 */
static inline uint64_t *
ct_stats_kind(struct ct_lcore_stats *s, unsigned int kind)
{
	/* kinds TCP UDP ICMP_REQUEST ICMP_REPLY ICMP_ERROR OTHER -> counters 0 1 2 2 3 4 */
	static const uint8_t idx[CT_L4K_MAX] = {0, 1, 2, 2, 3, 4};

	return &s->tcp_pkts + idx[kind < CT_L4K_MAX ? kind : CT_L4K_OTHER];
}

/** Indices of the named counters in the flat view. */
enum ct_stats_id {
#define X(n, h) CT_STATS_##n,
	CT_STATS_COUNTERS(X)
#undef X
	        CT_STATS_NAMED_MAX
};

/** Index of the first parse reason counter in the flat view. */
#define CT_STATS_PARSE_BASE CT_STATS_NAMED_MAX
/** Index of the first FSM reason counter in the flat view. */
#define CT_STATS_REASON_BASE (CT_STATS_PARSE_BASE + CT_PARSE_MAX)
/** Index of the first L4 reason counter in the flat view. */
#define CT_STATS_L4REASON_BASE (CT_STATS_REASON_BASE + CT_R_MAX)
/** Number of counters in the flat view. */
#define CT_STATS_N (CT_STATS_L4REASON_BASE + CT_L4R_MAX)

/** Counter @p i (0 .. CT_STATS_N - 1) of @p s. */
static inline uint64_t
ct_stats_get(const struct ct_lcore_stats *s, unsigned int i)
{
	return ((const uint64_t *)s)[i];
}

/** @p acc += @p s, element-wise. */
static inline void
ct_stats_add(struct ct_lcore_stats *acc, const struct ct_lcore_stats *s)
{
	uint64_t *a = (uint64_t *)acc;
	const uint64_t *b = (const uint64_t *)s;

	for (unsigned int i = 0; i < CT_STATS_N; i++)
		a[i] += b[i];
}

/** @p acc -= @p s, element-wise (a baseline taken at `clear stats`). */
static inline void
ct_stats_sub(struct ct_lcore_stats *acc, const struct ct_lcore_stats *s)
{
	uint64_t *a = (uint64_t *)acc;
	const uint64_t *b = (const uint64_t *)s;

	for (unsigned int i = 0; i < CT_STATS_N; i++)
		a[i] -= b[i];
}

/**
 * Copy the counters of another thread's struct ct_lcore_stats (its writer may be running): each
 * counter is read whole, so every value is one the writer stored; the set as a whole is not a
 * snapshot of one instant.
 */
void ct_stats_read(struct ct_lcore_stats *dst, const struct ct_lcore_stats *src);

/**
 * Sum @p n lcores' counters into @p out (overwritten).
 * @param out   result
 * @param in    array of @p n pointers (NULL entries are skipped)
 * @param n     number of pointers
 */
void ct_stats_sum(struct ct_lcore_stats *out, const struct ct_lcore_stats *const *in,
                  unsigned int n);

/**
 * Name of counter @p i in the flat view: the field name for named counters, "parse_<reason>"
 * and "invalid_<reason>" for the reason counters (FSM and L4 reasons alike).
 * @return the name, or NULL when @p i >= CT_STATS_N.
 */
const char *ct_stats_name(unsigned int i);

/** One-line help of counter @p i, or NULL when @p i >= CT_STATS_N. */
const char *ct_stats_help(unsigned int i);

/**
 * True for counters that never count anything (the "ok" reason slots), which listings skip.
 */
static inline int
ct_stats_unused(unsigned int i)
{
	return i == CT_STATS_PARSE_BASE + CT_PARSE_OK || i == CT_STATS_REASON_BASE + CT_R_OK ||
	       i == CT_STATS_L4REASON_BASE + CT_L4R_OK;
}

#ifdef __cplusplus
}
#endif

#endif /* CT_STATS_H */
