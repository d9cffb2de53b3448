/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_TABLE_H
#define CT_TABLE_H

/**
 * @file
 * Per-lcore flow table: rte_hash (lock-free readers) + a preallocated array of 64-byte flow
 * records indexed by hash position + the lcore's timer wheel.
 *
 * Thread-safety: exactly one writer per table (its worker lcore) calls every function except
 * the reader API (ct_table_read*, ct_table_count). Any number of reader threads (the control
 * thread) may call the reader API concurrently with the writer, after registering with the
 * table's QSBR variable (ct_table_reader_register) and reporting quiescent states. Deleted
 * positions are reused only after every registered reader has gone quiescent, so a reader never
 * reads a record that was freed and reused under it.
 *
 * Design: RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF; the key store is indexed by the position
 * rte_hash returns, and that position indexes struct ct_flow flows[]. A new record is fully
 * written before its key is added (the add publishes it). Expiry is lazy: packets only update
 * last_seen; when a timer fires the record's deadline (last_seen + timeout of its state) is
 * recomputed and the timer re-armed if still in the future. When the table is full the oldest
 * embryonic flow (SYN_SENT/SYN_RECV/SYN_SENT2) is evicted; if there is none the add is refused.
 * Memory: about 60 bytes of rte_hash per entry + 64 bytes of record (ct_table_mem_per_flow()).
 */

#include <stdint.h>

#include <rte_rcu_qsbr.h>

#include "ct_parse.h"
#include "ct_tcp.h"
#include "ct_timer.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Flow flags (struct ct_flow::flags). */
#define CT_FLOW_F_SWAPPED 0x01 /**< the client is key endpoint [1] */

/** One tracked flow: exactly one cache line. */
struct ct_flow {
	struct ct_tcp tcp;          /**< FSM + sequence tracking (32 B) */
	struct ct_timer_node tm;    /**< timer wheel links */
	uint32_t last_seen;         /**< tick of the last accepted packet (wraps; compared mod 2^32) */
	uint32_t pkts[CT_DIR_MAX];  /**< packets per direction (wrap) */
	uint32_t bytes_lo[CT_DIR_MAX]; /**< low 32 bits of the L3 bytes per direction */
	uint8_t bytes_hi[CT_DIR_MAX];  /**< bits 32..39 of the L3 bytes per direction */
	uint8_t invalid;            /**< INVALID segments seen on this flow (saturates at 255) */
	uint8_t flags;              /**< CT_FLOW_F_* */
} __attribute__((aligned(64)));

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

/** Table event counters (written by the owner lcore only; read racily by the control thread). */
#define CT_TABLE_COUNTERS(X)                                                                       \
	X(created, "flows created")                                                                \
	X(expired, "flows removed by their timeout")                                               \
	X(deleted, "flows removed explicitly (flush, reopen)")                                     \
	X(evicted, "embryonic flows evicted to make room")                                         \
	X(refused, "new flows refused: table full, nothing evictable")                             \
	X(rearmed, "timers re-armed lazily on expiry")

struct ct_table_stats {
#define X(n, h) uint64_t n;
	CT_TABLE_COUNTERS(X)
#undef X
};

struct ct_table;

/** Creation parameters. */
struct ct_table_params {
	const char *name;     /**< unique name (rte_hash and memzone names derive from it) */
	uint32_t capacity;    /**< maximum flows (rounded up internally to 2^k - 1) */
	int socket_id;        /**< NUMA socket for the memory, or SOCKET_ID_ANY */
	const struct ct_tcp_conf *tcp; /**< timeouts used by expiry (read at each expiry) */
	uint64_t ticks_per_s; /**< clock ticks per second (timeouts are seconds) */
	uint64_t now;         /**< current tick */
};

/**
 * Create a table.
 * @return the table, or NULL with rte_errno set (EINVAL, ENOMEM, EEXIST).
 */
struct ct_table *ct_table_create(const struct ct_table_params *p);

/** Free a table; no reader may be using it. NULL is a no-op. */
void ct_table_free(struct ct_table *t);

/** Record at position @p pos (no check). */
struct ct_flow *ct_table_flow(struct ct_table *t, uint32_t pos);

/**
 * Look up to 64 keys.
 * @param keys array of @p n key pointers
 * @param pos  out: position per key, or -ENOENT
 * @return number of hits, or -EINVAL.
 */
int ct_table_lookup_bulk(struct ct_table *t, const struct ct_flow_key **keys, unsigned int n,
			 int32_t *pos);

/**
 * Add a new flow. On success the record at the returned position is zeroed except the
 * timer links, last_seen = now; the caller fills tcp/flags and calls ct_table_arm().
 * May evict the oldest embryonic flow when full.
 * @return position, -EEXIST if the key is present, -ENOSPC if refused (counted).
 */
int32_t ct_table_add(struct ct_table *t, const struct ct_flow_key *key, uint64_t now);

/**
 * Make a record visible to readers and arm its timer. Call after ct_table_add() once the
 * record is initialised, and again after each state change (deadline moves).
 */
void ct_table_arm(struct ct_table *t, uint32_t pos, uint64_t now);

/** Delete the flow at @p pos (timer stopped, position reused after a grace period). */
void ct_table_del(struct ct_table *t, uint32_t pos);

/** Delete every flow. @return number deleted. */
uint32_t ct_table_flush(struct ct_table *t);

/**
 * Advance the timer wheel to @p now: re-arm flows still alive, delete expired ones, reclaim
 * positions whose grace period ended.
 * @param max bound on timers processed in this call
 * @return number of flows expired.
 */
unsigned int ct_table_expire(struct ct_table *t, uint64_t now, unsigned int max);

/** Counters of this table (pointer stays valid for the table's life). */
const struct ct_table_stats *ct_table_stats(const struct ct_table *t);

/** Zero the counters (owner lcore, or while the owner is stopped). */
void ct_table_stats_reset(struct ct_table *t);

/** Number of flows tracked now (safe from readers). */
uint32_t ct_table_count(const struct ct_table *t);

/** Capacity (after rounding). */
uint32_t ct_table_capacity(const struct ct_table *t);

/** Bytes of memory the table uses per flow of capacity: hash + records + wheel + FIFO. */
double ct_table_mem_per_flow(const struct ct_table *t);

/* ---- reader API (control thread, concurrent with the writer) ---- */

/** QSBR variable readers of this table report to. */
struct rte_rcu_qsbr *ct_table_qsbr(struct ct_table *t);

/**
 * Iterate flows: copies the next live flow at or after *next into @p key / @p flow.
 * A record copied while the writer updates it may mix fields of two consecutive packets but
 * never of two different flows: the key is re-checked after the copy.
 * @return 0 with *next advanced past the returned flow, -ENOENT at the end.
 */
int ct_table_read_next(struct ct_table *t, uint32_t *next, struct ct_flow_key *key,
		       struct ct_flow *flow);

/** Look up one key and copy its record. @return 0, or -ENOENT. */
int ct_table_read_key(struct ct_table *t, const struct ct_flow_key *key, struct ct_flow *flow);

#ifdef __cplusplus
}
#endif

#endif /* CT_TABLE_H */
