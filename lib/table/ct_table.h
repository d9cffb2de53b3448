/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_TABLE_H
#define CT_TABLE_H

/**
 * @file
 * Per-lcore flow table: rte_hash (lock-free readers) + a preallocated array of 64-byte flow
 * records indexed by hash position + the lcore's timer wheel.
 *
 * Thread-safety: exactly one writer per table (its worker lcore) calls every function except
 * the reader API (ct_table_read*, ct_table_reader_*, ct_table_count, ct_table_qsbr). Any number
 * of reader threads (the control thread) may call the reader API concurrently with the writer,
 * after registering with the table's QSBR variable (ct_table_reader_register()). A reader reports
 * rte_rcu_qsbr_quiescent() (or goes rte_rcu_qsbr_thread_offline()) between batches of reads and
 * must not block while online: a deleted position goes back to rte_hash's free list only after
 * every registered reader has gone quiescent, so a reader never reads a record that was freed and
 * reused under it. The writer itself never registers.
 *
 * Design: RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF (which implies no free on delete); the key
 * store is indexed by the position rte_hash returns, and that position indexes struct ct_flow
 * flows[]. rte_hash chooses the position, so the record is written after the add and published
 * to readers by ct_table_arm() setting the position's bit in a "live" bitmap (store-release);
 * ct_table_del() clears the bit first. Readers copy a record, then re-check the bit and the key.
 * Deleted positions wait in an RCU QSBR defer queue (rte_rcu_qsbr_dq) and are handed back with
 * rte_hash_free_key_with_position() when their grace period is over.
 *
 * Expiry is lazy: packets only update last_seen. The flow's deadline, last_seen + timeout of its
 * state (last_seen widened against the wheel's tick), is the timer wheel's deadline callback, so
 * when a flow's timer cascades to a lower level of the wheel it is filed for the flow's current
 * deadline: a flow with traffic does not fire. A timer that does fire is re-checked anyway (a packet
 * may have come after the last cascade, in the final 256 ticks) and re-armed if not yet due.
 *
 * Sizing: rte_hash is created with P = 2^k - 1 entries (key store P + 1 slots, free ring 2^k,
 * 2^k bucket slots: nothing doubled). Deleted positions wait out their grace period in a defer
 * queue of Q = 2^(k-6) - 1 entries (at least 7); they count against the positions, not against a
 * fixed reserve: the capacity is C = P - R with R = 2^(k-8) - 1 (at least 7), and an add only
 * reclaims (waiting for the readers if one is online and has not reported since) when every free
 * position is in its grace period, i.e. when more than R are, or when the queue is full. So an add
 * below C always gets a position, and up to Q deletions wait out readers while the table has room.
 * Full means count == C or rte_hash answering -ENOSPC (cuckoo paths exhausted: measured first at
 * 97-99 % of P, so near C = 99.6 % of P that limit may come first). Then the oldest
 * embryonic flow (SYN_SENT/SYN_RECV/SYN_SENT2) is evicted and the add retried (after -ENOSPC,
 * up to 32 evictions); if there is none the add is refused. Established flows are never disturbed. Embryonic flows stop earlier,
 * at the high-water mark H = min(C, P - 2^(k-4)) (93.75 % of P): an add with count >= H first
 * evicts the oldest embryonic flow if there is one, so a SYN flood keeps the table where rte_hash
 * still finds a slot at once (at C, every flood SYN paid a long cuckoo search that then often
 * failed: 7291 cycles per packet in synfin-bench's synflood run, 1171 with H, bench/README.md).
 * While no embryonic flow is left, adds go on up to C. The oldest is taken from a FIFO of the
 * last 2^(k-3) flows created (4 B each: position + hash bits that tell a reused position); when
 * it runs dry (more embryonic flows than it holds, as in a SYN flood), an embryonic flow is taken
 * from the embryonic bitmap instead, scanning from a rotating cursor. After a cuckoo -ENOSPC
 * the evicted flows' bucket slots may not be reachable from the new key's buckets, so near 97 %
 * the retries can still fail (counted as refused).
 * Memory per flow of capacity (DPDK 22.11, x86): 60 B of rte_hash (48 B key slot, 8 B bucket
 * slot, 4 B free ring) + 64 B record (its 8-byte timer node included: the wheel keeps nothing per
 * flow, ~8.4 KB in all) + 0.125 B live bit + 0.5 B embryonic FIFO + 0.19 B defer queue, per
 * position, over C = 255/256 of the positions: 125.3 B in total at 1 M flows (130.9 B before, with
 * a 1/64 reserve and the wheel's 4-byte deadline per position), reported by
 * ct_table_mem_per_flow() and checked <= 128 B by the unit tests.
 *
 * Clock: ticks are the caller's unit (ticks_per_s of them per second); last_seen keeps the low
 * 32 bits and is compared with now modulo 2^32, so every timeout must stay below 2^31 ticks
 * (1 ms ticks: 24 days).
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
	struct ct_tcp tcp;       /**< FSM + sequence tracking (32 B) */
	struct ct_timer_node tm; /**< timer wheel links */
	uint32_t last_seen;      /**< tick of the last accepted packet (wraps; compared mod 2^32) */
	uint32_t pkts[CT_DIR_MAX];     /**< packets per direction (wrap) */
	uint32_t bytes_lo[CT_DIR_MAX]; /**< low 32 bits of the L3 bytes per direction */
	uint8_t bytes_hi[CT_DIR_MAX];  /**< bits 32..39 of the L3 bytes per direction */
	uint8_t invalid;               /**< INVALID segments seen on this flow (saturates at 255) */
	uint8_t flags;                 /**< CT_FLOW_F_* */
} __attribute__((aligned(64)));

#ifndef __cplusplus
_Static_assert(sizeof(struct ct_flow) == 64, "struct ct_flow must be one cache line");
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

/** Table event counters (written by the owner lcore only; read racily by the control thread). */
#define CT_TABLE_COUNTERS(X)                                                                       \
	X(created, "flows created")                                                                \
	X(expired, "flows removed by their timeout")                                               \
	X(deleted, "flows removed explicitly (flush, reopen)")                                     \
	X(evicted, "embryonic flows evicted to make room")                                         \
	X(refused, "new flows refused: table full, nothing evictable")                             \
	X(rearmed, "timers that fired before their flow's deadline, re-armed on expiry")

struct ct_table_stats {
#define X(n, h) uint64_t n;
	CT_TABLE_COUNTERS(X)
#undef X
};

struct ct_table;

/** Longest table name + 1 (rte_hash and ring names derive from it). */
#define CT_TABLE_NAMESIZE 16

/** Creation parameters. */
struct ct_table_params {
	const char *name;  /**< unique name, shorter than CT_TABLE_NAMESIZE */
	uint32_t capacity; /**< minimum number of flows (rounded up, see ct_table_capacity()) */
	int socket_id;     /**< NUMA socket for the memory, or SOCKET_ID_ANY */
	const struct ct_tcp_conf *tcp; /**< timeouts used by expiry (read at each expiry) */
	uint64_t ticks_per_s;          /**< clock ticks per second (timeouts are milliseconds) */
	uint64_t now;                  /**< current tick */
};

/**
 * Create a table.
 * @return the table, or NULL with rte_errno set: EINVAL (bad name, no tcp, capacity 0 or above
 *         2^30 - 2^22, ticks_per_s 0 or a timeout of 2^31 ticks or more), ENOMEM, EEXIST (name
 *         in use).
 */
struct ct_table *ct_table_create(const struct ct_table_params *p);

/** Free a table; no reader may be using it. NULL is a no-op. */
void ct_table_free(struct ct_table *t);

/** Record at position @p pos (no check; pos < ct_table_positions()). */
struct ct_flow *ct_table_flow(struct ct_table *t, uint32_t pos);

/**
 * Look up to 64 keys.
 * @param keys array of @p n key pointers
 * @param pos  out: position per key, or -ENOENT
 * @return number of hits, or -EINVAL (n is 0 or above 64).
 */
int ct_table_lookup_bulk(struct ct_table *t, const struct ct_flow_key **keys, unsigned int n,
                         int32_t *pos);

/**
 * Add a new flow. On success the record at the returned position is zeroed, its timer links
 * unlinked, last_seen = now; it is not visible to readers yet: the caller fills tcp/flags and
 * calls ct_table_arm(). At the high-water mark evicts the oldest embryonic flow first, if any;
 * when full and no embryonic flow is left, refuses.
 * @return position, -EEXIST if the key is present, -ENOSPC if refused (counted in `refused`).
 */
int32_t ct_table_add(struct ct_table *t, const struct ct_flow_key *key, uint64_t now);

/**
 * ct_table_add() for a key the caller knows is absent (a miss of a lookup with no add of that key
 * since, or a key just deleted): skips the lookup that precedes the add. If the key is present
 * the table is corrupted (its entry would be handed out as new).
 * @return position, or -ENOSPC if refused (counted in `refused`).
 */
int32_t ct_table_add_absent(struct ct_table *t, const struct ct_flow_key *key, uint64_t now);

/**
 * Make a record visible to readers and (re)arm its timer at last_seen + timeout(state). Call
 * after ct_table_add() once the record is initialised, and again after each state change that
 * shortens the deadline (a longer one is picked up lazily when the timer fires).
 */
void ct_table_arm(struct ct_table *t, uint32_t pos, uint64_t now);

/** Delete the flow at @p pos (timer stopped, position reused after a grace period). Counted in
 *  `deleted`. A position that holds no flow is ignored. */
void ct_table_del(struct ct_table *t, uint32_t pos);

/** Delete every flow (counted in `deleted`). @return number deleted. */
uint32_t ct_table_flush(struct ct_table *t);

/**
 * Advance the timer wheel to @p now: re-arm flows still alive, delete expired ones, reclaim
 * positions whose grace period ended.
 * @param max bound on timers processed (and on positions reclaimed) in this call
 * @return number of flows expired.
 */
unsigned int ct_table_expire(struct ct_table *t, uint64_t now, unsigned int max);

/** Counters of this table (pointer stays valid for the table's life). */
const struct ct_table_stats *ct_table_stats(const struct ct_table *t);

/** Zero the counters (owner lcore, or while the owner is stopped). */
void ct_table_stats_reset(struct ct_table *t);

/** Number of flows tracked now (safe from readers). */
uint32_t ct_table_count(const struct ct_table *t);

/** Capacity: flows the table holds before it is full (>= the requested capacity). */
uint32_t ct_table_capacity(const struct ct_table *t);

/** High-water mark: from this count on, an add first evicts an embryonic flow if any (<= C). */
uint32_t ct_table_high_water(const struct ct_table *t);

/** Number of positions (2^k - 1): positions are 0 .. ct_table_positions() - 1. */
uint32_t ct_table_positions(const struct ct_table *t);

/**
 * Bytes of memory the table uses per flow of capacity, everything included: rte_hash (key store,
 * buckets, free ring, from the DPDK 22.11 creation arithmetic) + records + live bitmap +
 * embryonic FIFO + defer queue + QSBR variable + the table struct (all in the DPDK heap) + the
 * timer wheel (ct_timer_wheel_memsize(), a fixed size), divided by ct_table_capacity().
 */
double ct_table_mem_per_flow(const struct ct_table *t);

/** The part of ct_table_mem_per_flow() allocated from the DPDK heap (rte_malloc). */
double ct_table_mem_per_flow_heap(const struct ct_table *t);

/* ---- reader API (control thread, concurrent with the writer) ---- */

/** QSBR variable readers of this table report to. */
struct rte_rcu_qsbr *ct_table_qsbr(struct ct_table *t);

/**
 * Register reader @p id (0 .. RTE_MAX_LCORE - 1, unique among this table's readers) and put it
 * online. Between batches of reads it calls rte_rcu_qsbr_quiescent(ct_table_qsbr(t), id), or
 * rte_rcu_qsbr_thread_offline() while idle.
 * @return 0, or -EINVAL.
 */
int ct_table_reader_register(struct ct_table *t, unsigned int id);

/** Take reader @p id offline and unregister it. @return 0, or -EINVAL. */
int ct_table_reader_unregister(struct ct_table *t, unsigned int id);

/**
 * Iterate flows: copies the next live flow at or after *next into @p key / @p flow.
 * A record copied while the writer updates it may mix fields of two consecutive packets but
 * never of two different flows: the live bit and the key are re-checked after the copy. The timer
 * links in the copy are meaningless.
 * @return 0 with *next advanced past the returned flow, -ENOENT at the end.
 */
int ct_table_read_next(struct ct_table *t, uint32_t *next, struct ct_flow_key *key,
                       struct ct_flow *flow);

/** Look up one key and copy its record (same guarantees as ct_table_read_next()).
 *  @return 0, or -ENOENT. */
int ct_table_read_key(struct ct_table *t, const struct ct_flow_key *key, struct ct_flow *flow);

#ifdef __cplusplus
}
#endif

#endif /* CT_TABLE_H */
