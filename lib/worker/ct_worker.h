/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_WORKER_H
#define CT_WORKER_H

/**
 * @file
 * The per-packet pipeline of one lcore: parse a burst of mbufs, look their flows up in bulk,
 * run the TCP state machine and keep the flow table, counters and timers up to date. Shared by
 * the synfin application and by benchmarks that feed mbufs prepared in memory (no NIC).
 *
 * Thread-safety: a struct ct_worker (opaque) belongs to one lcore, the only one that calls
 * ct_worker_process_burst(), ct_worker_tick(), ct_worker_flush(), ct_worker_set_timeout() and
 * ct_worker_serve(). Other threads only read (the counters, the per-state counts and, through
 * the table's reader API, the flows) and ask: ct_worker_call() posts a function to a
 * single-request slot that the worker runs between bursts (ct_worker_serve()) and acknowledges.
 *
 * Design (STYLE.md, hot path): the key of every packet is hashed once in the parse loop; one
 * ct_table_lookup_bulk() call per 64 packets with those signatures, the hit records prefetched,
 * then the FSM packet by packet. A miss creates the flow (the packet's source is the client); a
 * hit tracks the segment in the direction given by the packet's `swapped` bit against the flow's
 * CT_FLOW_F_SWAPPED. Packets of the other kinds (UDP, ICMP, other protocols: lib/l4) take a
 * branch of their own after the lookup; an ICMP error looks up the flow it quotes and marks it
 * RELATED, never creating one. The worker is the table's policy: class = conntrack state or L4
 * state (enum ct_class), a timeout per class, SYN_SENT/SYN_RECV/SYN_SENT2 and the unassured L4
 * states embryonic. It keeps the flows per class as classes change.
 * Flows created or re-created earlier in the same chunk are remembered (signature -> position)
 * so a later packet of the same flow finds them although the bulk lookup ran before they
 * existed. No allocation, system call or log per packet.
 *
 * Flow-end records (struct ct_worker_params::records): every flow that leaves the table (its
 * timeout ran out: closed or idle; evicted; deleted by an RST or a re-open; flushed) is copied
 * with its key and cold part (struct ct_flow_ext: first packet, TCP flags and history per
 * direction, kept only when records are on) into a struct ct_flow_end and queued on the ring
 * without blocking: a full ring drops the record (export_dropped), never a packet.
 *
 * Clock: @p now is in ticks of CT_WORKER_HZ per second (1 tick = 1 ms) and must not go
 * backwards.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "ct_export.h"
#include "ct_history.h"
#include "ct_l4.h"
#include "ct_parse.h"
#include "ct_report.h"
#include "ct_stats.h"
#include "ct_table.h"
#include "ct_tcp.h"
#include "ct_timer.h"

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
#define CT_WORKER_BULK CT_TABLE_BULK_MAX

/** Flow flags (struct ct_flow::flags). */
#define CT_FLOW_F_SWAPPED 0x01 /**< the client is key endpoint [1] */
#define CT_FLOW_F_RELATED 0x02 /**< an ICMP error quoted this flow (RELATED) */
/**
 * Records on: what the cold part of direction 0 already holds (bit << 1: direction 1), so that
 * a packet that cannot add to it leaves it untouched and unread: A, the A letter and the ACK
 * flag; D, the D letter and the ACK flag; P, the PSH flag.
 */
#define CT_FLOW_F_HAS_A 0x04
#define CT_FLOW_F_HAS_D 0x10
#define CT_FLOW_F_HAS_P 0x40

/** One tracked flow, the worker's record in the flow table: exactly one cache line. */
struct ct_flow {
	union {
		struct ct_tcp
		        tcp;     /**< TCP: FSM + sequence tracking (32 B); tcp.state is the class */
		struct ct_l4 l4; /**< other protocols (key.proto not TCP); l4.state = tcp.state */
	};
	struct ct_timer_node tm; /**< timer wheel links (the table's) */
	uint32_t last_seen;      /**< tick of the last accepted packet (wraps; compared mod 2^32) */
	uint32_t pkts[CT_DIR_MAX];     /**< packets per direction (wrap) */
	uint32_t bytes_lo[CT_DIR_MAX]; /**< low 32 bits of the L3 bytes per direction */
	uint8_t bytes_hi[CT_DIR_MAX];  /**< bits 32..39 of the L3 bytes per direction */
	uint8_t invalid;               /**< INVALID segments seen on this flow (saturates at 255) */
	uint8_t flags;                 /**< CT_FLOW_F_* */
} __attribute__((aligned(64)));

#ifndef __cplusplus
_Static_assert(sizeof(struct ct_flow) == 64, "struct ct_flow must be one cache line");
_Static_assert(CT_CLASS_MAX <= CT_TABLE_CLASSES, "flow classes are the table's classes");
#endif

/** 40-bit byte counter of direction @p dir. */
static inline uint64_t
ct_flow_bytes(const struct ct_flow *f, unsigned int dir)
{
	return ((uint64_t)f->bytes_hi[dir] << 32) | f->bytes_lo[dir];
}

/** Add @p n bytes to direction @p dir's counter (wraps at 2^40). */
static inline void
ct_flow_bytes_add(struct ct_flow *f, unsigned int dir, uint32_t n)
{
	uint32_t lo = f->bytes_lo[dir] + n;

	f->bytes_hi[dir] += lo < f->bytes_lo[dir];
	f->bytes_lo[dir] = lo;
}

/**
 * A flow's cold part when the worker keeps flow-end records (struct ct_worker_params::records):
 * what only a record needs, touched on the first packet and when a packet brings a new kind.
 */
struct ct_flow_ext {
	uint32_t first_seen;           /**< tick of the first packet (wraps) */
	uint8_t tcp_flags[CT_DIR_MAX]; /**< TCP: OR of the accepted segments' flags */
	uint16_t pad;
	struct ct_history hist; /**< what each side sent (Zeek-style letters) */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct ct_flow_ext) == 16, "a flow's cold part is 16 bytes");
#endif

/**
 * A flow that ended, as the worker queues it on its records ring (element size
 * sizeof(struct ct_flow_end)): the flow as it was, its key and cold part, when and why.
 */
struct ct_flow_end {
	struct ct_flow flow;    /**< the record at its end */
	struct ct_flow_key key; /**< its key */
	struct ct_flow_ext ext; /**< its cold part */
	uint32_t end;           /**< tick of the end (wraps) */
	uint8_t reason;         /**< enum ct_end_reason */
	uint8_t pad[3];
};

#ifndef __cplusplus
_Static_assert(sizeof(struct ct_flow_end) == 128, "a flow-end record is two cache lines");
#endif

/**
 * The report view of flow @p f with key @p k (lcore and expires_in_s left 0: the caller's).
 */
void ct_flow_report(const struct ct_flow_key *k, const struct ct_flow *f,
                    struct ct_report_flow *fi);

/**
 * The export view of flow-end record @p r: its report view, binary addresses (client first),
 * TCP flags and end reason; with @p text also what only the JSON line shows: the text
 * addresses (fi.src, fi.dst), the history string and conn_state (left empty and 0 otherwise:
 * IPFIX carries none of them). first_ms, last_ms and fi.lcore are left 0 for the caller, who
 * knows its clock (ct_tick64() widens the record's 32-bit ticks).
 */
void ct_flow_end_export(const struct ct_flow_end *r, struct ct_export_flow *e, bool text);

/** The 64-bit tick whose low 32 bits are @p t32, at or before the 64-bit tick @p ref. */
static inline uint64_t
ct_tick64(uint64_t ref, uint32_t t32)
{
	return ref - (uint32_t)((uint32_t)ref - t32);
}

/** Per-packet outcome written to the verdicts array of ct_worker_process_burst(). */
enum ct_worker_verdict {
	CT_WV_PASS = 0,  /**< passed untracked (ct_parse_untracked(): not IP, fragments, ...) */
	CT_WV_MALFORMED, /**< IP but not parseable (parse reason counted) */
	CT_WV_NEW,       /**< created a flow (or re-created it: REOPEN) */
	CT_WV_ACCEPT,    /**< valid packet of a tracked flow (an ICMP error: RELATED to it) */
	CT_WV_INVALID,   /**< INVALID (FSM or L4 reason counted) */
	CT_WV_REFUSED,   /**< would create a flow but the table is full */
	CT_WV_MAX
};

/** Creation parameters. */
struct ct_worker_params {
	const char *name;              /**< table name, shorter than CT_TABLE_NAMESIZE */
	uint32_t capacity;             /**< flows */
	int socket_id;                 /**< NUMA socket, or SOCKET_ID_ANY */
	const struct ct_tcp_conf *tcp; /**< FSM configuration, copied (NULL: ct_tcp_conf_default);
	                                    later changes go through ct_worker_set_timeout() */
	const struct ct_l4_conf *l4;   /**< L4 timeouts, copied (NULL: ct_l4_conf_default) */
	struct ct_parse_conf parse;    /**< parser options */
	uint64_t now;                  /**< current tick */
	struct rte_ring *records;      /**< NULL: no flow-end records; else a single-producer ring
	                                    of struct ct_flow_end elements the worker fills (a full
	                                    ring drops the record: export_dropped) */
};

struct ct_worker;

/**
 * Create a worker and its flow table.
 * @return the worker, or NULL with rte_errno set (EINVAL: a timeout above
 *         CT_WORKER_TIMEOUT_MS_MAX, or see ct_table_create(); ENOMEM, EEXIST).
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

/** Delete every flow (counted in flows_flushed). Worker thread only. @return number deleted. */
uint32_t ct_worker_flush(struct ct_worker *w);

/**
 * Delete every flow with end reason @p reason (CT_END_FLUSHED or CT_END_SHUTDOWN) for their
 * records. With @p wait, a full records ring is waited on (another thread must be draining it)
 * instead of dropping: for the flows still open when the application stops. Worker thread, or
 * any thread once the worker has stopped for good. @return number deleted.
 */
uint32_t ct_worker_flush_end(struct ct_worker *w, enum ct_end_reason reason, bool wait);

/**
 * Set the timeout of a conntrack state or of an L4 timeout. Worker thread only (others:
 * ct_worker_call()).
 * @param state  enum ct_state, or CT_WORKER_L4_TIMEOUT(enum ct_l4_timeout)
 * @param ms     milliseconds, 1 .. CT_WORKER_TIMEOUT_MS_MAX
 * @return 0, -EINVAL (no such state), -ERANGE (ms out of range).
 */
int ct_worker_set_timeout(struct ct_worker *w, unsigned int state, uint32_t ms);

/** The `state` of ct_worker_set_timeout() that names L4 timeout @p t (enum ct_l4_timeout). */
#define CT_WORKER_L4_TIMEOUT(t) (CT_S_MAX + (unsigned int)(t))

/* ---- read from any thread (racy: each value is read whole) ---- */

/** The worker's counters (written by its lcore only). */
const struct ct_lcore_stats *ct_worker_stats(const struct ct_worker *w);

/** The worker's flow table, for its reader API (ct_table_read_next(), ...). */
struct ct_table *ct_worker_table(const struct ct_worker *w);

/** Flows in each class (conntrack state, then L4 state) now, into @p n (CT_CLASS_MAX entries). */
void ct_worker_flows_by_state(const struct ct_worker *w, uint64_t *n);

/** The FSM configuration the worker runs with (its timeouts may change: read them relaxed). */
const struct ct_tcp_conf *ct_worker_tcp_conf(const struct ct_worker *w);

/** The L4 timeouts the worker runs with (they may change: read them relaxed). */
const struct ct_l4_conf *ct_worker_l4_conf(const struct ct_worker *w);

/**
 * Timeout in milliseconds of a flow record's class under @p tcp and @p l4 (relaxed loads), for
 * readers that show the time a flow has left.
 */
static inline uint32_t
ct_flow_timeout_ms(const struct ct_flow *f, const struct ct_tcp_conf *tcp,
                   const struct ct_l4_conf *l4)
{
	if (ct_class_is_l4(f->l4.state))
		return ct_l4_timeout_ms(&f->l4, l4);
	return __atomic_load_n(&tcp->timeouts.ms[f->tcp.state % CT_S_MAX], __ATOMIC_RELAXED);
}

/* ---- requests from other threads ---- */

/** A function another thread asks the worker to run (on the worker's own thread). */
typedef int (*ct_worker_call_t)(struct ct_worker *w, void *arg);

/**
 * Run @p fn(w, @p arg) on the worker's thread, between two bursts, and wait for it. One request
 * at a time per worker (concurrent callers queue on a lock). Never call it from the worker's
 * own thread.
 * @param timeout_ms  how long to wait for the worker to take the request
 * @return what @p fn returned, or -ETIMEDOUT if the worker did not take it in time (it then never
 *         runs it).
 */
int ct_worker_call(struct ct_worker *w, ct_worker_call_t fn, void *arg, uint32_t timeout_ms);

/** Argument of ct_worker_req_timeout(). */
struct ct_worker_timeout {
	unsigned int state; /**< enum ct_state or CT_WORKER_L4_TIMEOUT() */
	uint32_t ms;        /**< milliseconds, 1 .. CT_WORKER_TIMEOUT_MS_MAX */
};

/**
 * The requests other threads make, as ct_worker_call() functions: delete every flow (@p arg:
 * NULL, or a uint32_t * that receives the number deleted). @return 0.
 */
int ct_worker_req_flush(struct ct_worker *w, void *arg);

/** Set a timeout (@p arg: const struct ct_worker_timeout *). @return ct_worker_set_timeout(). */
int ct_worker_req_timeout(struct ct_worker *w, void *arg);

/**
 * Run the pending request, if any (worker thread, between bursts). One load when there is none.
 * @return 1 if a request ran, 0 if none was pending.
 */
int ct_worker_serve(struct ct_worker *w);

#ifdef __cplusplus
}
#endif

#endif /* CT_WORKER_H */
