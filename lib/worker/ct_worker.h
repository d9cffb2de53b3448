/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_WORKER_H
#define CT_WORKER_H

/**
 * @file
 * The per-packet pipeline of one lcore: parse a burst of mbufs, look their flows up in bulk,
 * run the TCP state machine and keep the flow table, counters and timers up to date. Shared by
 * the synfin application and by benchmarks that feed mbufs prepared in memory (no NIC).
 *
 * Thread-safety: a struct ct_worker belongs to one lcore (the writer of its table); only that
 * lcore calls ct_worker_process_burst(), ct_worker_tick() and ct_worker_flush(). Other threads
 * read the table through the reader API of ct_table.h and the counters racily (ct_stats.h).
 *
 * Design (STYLE.md, hot path): prefetch the headers a few packets ahead while parsing the whole
 * burst, look every parsed key up with one ct_table_lookup_bulk() call per 64 packets, prefetch
 * the hit records, then run the FSM packet by packet. A miss creates the flow (the packet's
 * source is the client); a hit tracks the segment in the direction given by the packet's
 * `swapped` bit against the flow's CT_FLOW_F_SWAPPED. The timer is re-armed only when the
 * conntrack state changes; otherwise a packet writes last_seen and the wheel re-arms lazily.
 * Flows created or re-created earlier in the same burst are remembered (key signature ->
 * position) so a later packet of the same flow in that burst finds them although the bulk
 * lookup ran before they existed. No allocation, system call or log per packet.
 *
 * Clock: @p now is in ticks of CT_WORKER_HZ per second (1 tick = 1 ms) and must not go
 * backwards.
 */

#include <stdint.h>

#include <rte_mbuf.h>

#include "ct_parse.h"
#include "ct_stats.h"
#include "ct_table.h"
#include "ct_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Ticks per second of the worker clock (every `now` and deadline): 1 tick = 1 ms. */
#define CT_WORKER_HZ 1000

/**
 * Largest timeout in milliseconds: a deadline must stay below 2^31 ticks ahead of the flow's
 * last packet (the table compares its 32-bit last_seen modulo 2^32).
 */
#define CT_WORKER_TIMEOUT_MS_MAX ((uint32_t)(INT32_MAX / CT_WORKER_HZ * 1000))

/** Ticks of the worker clock in @p ms milliseconds. */
static inline uint64_t
ct_worker_ticks_from_ms(uint64_t ms)
{
	return ms * CT_WORKER_HZ / 1000;
}

/** Most packets looked up at once (ct_table_lookup_bulk() bound); bursts may be longer. */
#define CT_WORKER_BULK 64

/** Per-packet outcome written to the verdicts array of ct_worker_process_burst(). */
enum ct_worker_verdict {
	CT_WV_PASS = 0,  /**< not a TCP/IP packet: passed untracked */
	CT_WV_MALFORMED, /**< TCP/IP but not parseable (parse reason counted) */
	CT_WV_NEW,       /**< created a flow (or re-created it: REOPEN) */
	CT_WV_ACCEPT,    /**< valid segment of a tracked flow */
	CT_WV_INVALID,   /**< INVALID (FSM reason counted) */
	CT_WV_REFUSED,   /**< would create a flow but the table is full */
	CT_WV_MAX
};

/** Creation parameters. */
struct ct_worker_params {
	const char *name;              /**< table name, shorter than CT_TABLE_NAMESIZE */
	uint32_t capacity;             /**< flows */
	int socket_id;                 /**< NUMA socket, or SOCKET_ID_ANY */
	const struct ct_tcp_conf *tcp; /**< shared FSM configuration (must outlive the worker);
	                                    NULL: ct_tcp_conf_default */
	struct ct_parse_conf parse;    /**< parser options */
	uint64_t now;                  /**< current tick */
};

/** One lcore's tracker. Fields are read-only for callers. */
struct ct_worker {
	struct ct_lcore_stats stats;   /**< counters (this lcore writes, others read racily) */
	struct ct_table *table;        /**< the flow table */
	const struct ct_tcp_conf *tcp; /**< FSM configuration */
	struct ct_parse_conf parse;    /**< parser options */
	uint64_t now;                  /**< last tick seen by process_burst or tick */
} __attribute__((aligned(64)));

/**
 * Create a worker and its flow table.
 * @return the worker, or NULL with rte_errno set (EINVAL, ENOMEM, EEXIST: see ct_table_create()).
 */
struct ct_worker *ct_worker_create(const struct ct_worker_params *p);

/** Free a worker and its table (no reader may be using the table). NULL is a no-op. */
void ct_worker_free(struct ct_worker *w);

/**
 * Track a burst of packets. The mbufs are not freed or modified.
 * @param w         the worker
 * @param pkts      packets, data offset at the Ethernet header
 * @param n         number of packets (any number; looked up CT_WORKER_BULK at a time)
 * @param now       current tick (not below the previous call's)
 * @param verdicts  if not NULL, receives one enum ct_worker_verdict per packet
 */
void ct_worker_process_burst(struct ct_worker *w, struct rte_mbuf **pkts, uint16_t n, uint64_t now,
                             uint8_t *verdicts);

/**
 * Advance time: expire at most 256 flows (ct_table_expire()) and reclaim deleted positions whose
 * grace period ended. Call when the clock advances (or periodically).
 * @return number of flows expired.
 */
unsigned int ct_worker_tick(struct ct_worker *w, uint64_t now);

/** Delete every flow (counted in flows_flushed). @return number deleted. */
uint32_t ct_worker_flush(struct ct_worker *w);

#ifdef __cplusplus
}
#endif

#endif /* CT_WORKER_H */
