/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_TABLE_H
#define CT_TABLE_H

/**
 * @file
 * Per-lcore flow table: a container of fixed-size records, found by key, indexed by position,
 * each with a timer, expired by the owner's policy. It knows nothing of what it stores.
 *
 * Thread-safety: exactly one writer per table (its worker lcore) calls every function except
 * the reader API (ct_table_read*, ct_table_reader_*, ct_table_count, ct_table_qsbr). Any number
 * of reader threads (the control thread) may call the reader API concurrently with the writer,
 * after registering with the table's QSBR variable (ct_table_reader_register()). A reader reports
 * rte_rcu_qsbr_quiescent() (or goes rte_rcu_qsbr_thread_offline()) between batches of reads and
 * must not block while online: a deleted position is reused only after every registered reader
 * has gone quiescent, so a reader never reads a record that was freed and reused under it.
 *
 * Design: a hash of cache-line buckets (8 tags + 8 positions each, two candidate buckets per
 * key, twice as many entries as positions, so entries never move) maps a key to a position that
 * indexes preallocated key and record arrays; the caller hashes each key once (ct_table_hash())
 * and passes the signature to lookup and add. A record is published to readers by ct_table_arm()
 * (a "live" bit, store-release) and unpublished first on delete; deleted positions wait out a
 * QSBR grace period before they are reused.
 * The owner describes its record (struct ct_table_layout: where the timer links, the last-seen
 * tick and a class byte are) and hands a policy (struct ct_table_policy: a timeout per class and
 * which classes are embryonic, i.e. evicted first when the table is full). A flow's deadline is
 * last_seen + timeout[class]: packets only move last_seen and the timer wheel re-files lazily.
 * Every record that leaves the table (expired, evicted, flushed, deleted) is reported to the
 * owner's end callback before its position is released. The table counts its own events in the
 * owner's struct ct_lcore_stats (flows_created, _expired, _evicted, _refused, _flushed, _rearmed).
 * Sizing, eviction and memory arithmetic: docs/table.md.
 *
 * Clock: ticks of the owner's unit; last_seen keeps the low 32 bits and is compared with now
 * modulo 2^32, so every timeout must stay below 2^31 ticks.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_hash_crc.h>
#include <rte_rcu_qsbr.h>

#include "ct_stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Number of record classes a policy describes (class bytes are taken modulo this). */
#define CT_TABLE_CLASSES 32

/** Most keys one ct_table_lookup_bulk() call takes. */
#define CT_TABLE_BULK_MAX 64

/** Largest key, in bytes. */
#define CT_TABLE_KEY_MAX 64

/** Longest table name + 1 (the memzone and ring names derive from it). */
#define CT_TABLE_NAMESIZE 16

/**
 * Expiry and eviction policy, owned and written by the table's writer thread only (it may
 * change between calls: the table reads it at each expiry, re-arm and eviction).
 */
struct ct_table_policy {
	uint32_t timeout[CT_TABLE_CLASSES]; /**< ticks a record of each class lives idle (< 2^31) */
	uint32_t embryonic;                 /**< bit c set: class c is embryonic (evicted first) */
};

/** Where the table's three fields are inside the owner's record. */
struct ct_table_layout {
	uint32_t size;          /**< bytes per record: 64, 128 or 256 */
	uint32_t node_off;      /**< struct ct_timer_node (8 bytes, 4-aligned) */
	uint32_t last_seen_off; /**< uint32_t: low 32 bits of the tick of the last packet */
	uint32_t class_off;     /**< uint8_t: the record's class, an index into the policy */
	uint32_t cold_size;     /**< bytes of a second, rarely touched part per record (0..64, a
	                             multiple of 4; ct_table_cold()), zeroed with the record */
};

/** Why a record left the table (struct ct_table_params::on_end). */
enum ct_table_end {
	CT_TABLE_END_EXPIRED = 0, /**< idle for its timeout */
	CT_TABLE_END_EVICTED,     /**< embryonic, removed to make room */
	CT_TABLE_END_FLUSHED,     /**< ct_table_flush() */
	CT_TABLE_END_DELETED,     /**< ct_table_del() by the owner */
	CT_TABLE_END_MAX
};

/**
 * Called for every record that leaves the table, before its position is released (the record,
 * its cold part and its key are intact). It must not call into the table but for ct_table_cold()
 * and ct_table_key().
 * @param arg  struct ct_table_params::end_arg
 * @param pos  the record's position
 * @param rec  the record
 * @param why  enum ct_table_end
 */
typedef void (*ct_table_end_t)(void *arg, uint32_t pos, const void *rec, enum ct_table_end why);

/** Creation parameters. */
struct ct_table_params {
	const char *name;                     /**< unique, shorter than CT_TABLE_NAMESIZE */
	uint32_t capacity;                    /**< minimum number of records (rounded up) */
	int socket_id;                        /**< NUMA socket for the memory, or SOCKET_ID_ANY */
	uint32_t key_len;                     /**< bytes: a multiple of 8, 8..CT_TABLE_KEY_MAX */
	struct ct_table_layout rec;           /**< the owner's record */
	const struct ct_table_policy *policy; /**< timeouts and embryonic classes (outlives t) */
	struct ct_lcore_stats *stats;         /**< where the table counts (outlives t) */
	ct_table_end_t on_end;                /**< NULL: not told */
	void *end_arg;                        /**< passed to on_end */
	uint64_t now;                         /**< current tick */
};

struct ct_table;

/**
 * Create a table.
 * @return the table, or NULL with rte_errno set: EINVAL (bad name, capacity 0 or above
 *         2^30 - 2^22, bad key_len or layout, no policy or stats, a timeout of 2^31 ticks or
 *         more), ENOMEM, EEXIST (name in use).
 */
struct ct_table *ct_table_create(const struct ct_table_params *p);

/** Free a table; no reader may be using it. NULL is a no-op. Records leave unreported. */
void ct_table_free(struct ct_table *t);

/**
 * Signature of a key of @p len bytes (a multiple of 8), as lookup and add want it: CRC32-C of its
 * 8-byte words (rte_hash_crc()'s value), with the CRC32 instruction where the target has it.
 */
static inline uint32_t
ct_table_hash(const void *key, uint32_t len)
{
#if defined(RTE_ARCH_X86_64) && defined(__SSE4_2__)
	const uint8_t *k = (const uint8_t *)key;
	uint64_t h = 0, w;

#define CT_TABLE_CRC_WORD(i) (memcpy(&w, k + (i), 8), h = __builtin_ia32_crc32di(h, w))
	if (len == 40) { /* the flow key: unrolled (GCC -O2 keeps the loop) */
		CT_TABLE_CRC_WORD(0);
		CT_TABLE_CRC_WORD(8);
		CT_TABLE_CRC_WORD(16);
		CT_TABLE_CRC_WORD(24);
		CT_TABLE_CRC_WORD(32);
		return (uint32_t)h;
	}
	for (uint32_t i = 0; i < len; i += 8)
		CT_TABLE_CRC_WORD(i);
#undef CT_TABLE_CRC_WORD
	return (uint32_t)h;
#else
	return rte_hash_crc(key, len, 0);
#endif
}

/** Record at position @p pos (no check; pos < ct_table_positions()). */
void *ct_table_rec(struct ct_table *t, uint32_t pos);

/** Cold part of the record at position @p pos (layout.cold_size bytes; no check). */
void *ct_table_cold(struct ct_table *t, uint32_t pos);

/** Key of the record at position @p pos (owner, or an end callback; no check). */
const void *ct_table_key(const struct ct_table *t, uint32_t pos);

/**
 * Look up to CT_TABLE_BULK_MAX keys.
 * @param keys  @p n key pointers
 * @param sigs  their signatures (ct_table_hash())
 * @param n     1 .. CT_TABLE_BULK_MAX
 * @param pos   out: position per key, or -ENOENT
 * @return number of hits, or -EINVAL (n is 0 or above CT_TABLE_BULK_MAX).
 */
int ct_table_lookup_bulk(struct ct_table *t, const void *const *keys, const uint32_t *sigs,
                         unsigned int n, int32_t *pos);

/** Look up one key. @return its position, or -ENOENT. */
int32_t ct_table_lookup(struct ct_table *t, const void *key, uint32_t sig);

/**
 * Add a key the caller knows is absent (a miss of a lookup with no add of that key since, or a
 * key just deleted; if it is present the table is corrupted). On success the record at the
 * returned position is zeroed, its timer links unlinked and its last_seen = now; it is not
 * visible to readers yet: the caller fills it and calls ct_table_arm(). From the high-water mark
 * on, the oldest embryonic record is evicted first, if any; when full and nothing embryonic is
 * left, the add is refused (counted in flows_refused).
 * @param evicted  out: number of records evicted to make room (reported to on_end first); any
 *                 position the caller looked up before this call may then be stale
 * @return position, or -ENOSPC if refused.
 */
int32_t ct_table_add(struct ct_table *t, const void *key, uint32_t sig, uint64_t now,
                     unsigned int *evicted);

/**
 * Make a record visible to readers and (re)arm its timer at last_seen + timeout(class). Call
 * after ct_table_add() once the record is initialised (class changes: ct_table_rearm()).
 */
void ct_table_arm(struct ct_table *t, uint32_t pos, uint64_t now);

/**
 * After the record's class changed from @p old_class: re-file its timer only if the new class's
 * timeout is shorter (a longer deadline is picked up lazily, when the timer fires or cascades),
 * and keep the embryonic bit. Call after setting last_seen to @p now.
 */
void ct_table_rearm(struct ct_table *t, uint32_t pos, uint64_t now, unsigned int old_class);

/**
 * Delete the record at @p pos (reported to on_end as DELETED; timer stopped; position reused
 * after a grace period). A position that holds no record is ignored.
 * @return 1 if a record was deleted, 0 if not.
 */
int ct_table_del(struct ct_table *t, uint32_t pos);

/** Delete every record (reported as FLUSHED, counted in flows_flushed). @return number. */
uint32_t ct_table_flush(struct ct_table *t);

/**
 * Advance the timer wheel to @p now: re-arm records still alive, delete expired ones (reported
 * as EXPIRED, counted in flows_expired), reclaim positions whose grace period ended.
 * @param max bound on timers processed (and on positions reclaimed) in this call
 * @return number of records expired.
 */
unsigned int ct_table_expire(struct ct_table *t, uint64_t now, unsigned int max);

/** Number of records now (safe from readers). */
uint32_t ct_table_count(const struct ct_table *t);

/** Capacity: records the table holds before it is full (>= the requested capacity). */
uint32_t ct_table_capacity(const struct ct_table *t);

/** High-water mark: from this count on, an add first evicts an embryonic record if any. */
uint32_t ct_table_high_water(const struct ct_table *t);

/** Number of positions (2^k - 1): positions are 0 .. ct_table_positions() - 1. */
uint32_t ct_table_positions(const struct ct_table *t);

/**
 * Bytes of memory the table uses per record of capacity, everything included (hash, records,
 * bitmaps, FIFO, defer queue, QSBR variable, the table struct, the timer wheel), divided by
 * ct_table_capacity().
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
 * Iterate records: copies the next published record at or after *next into @p rec, its cold
 * part right after it (layout.size + layout.cold_size bytes in all), and its key
 * into @p key, when not NULL; key_len bytes). A record copied while the writer updates it may
 * mix fields of two consecutive packets but never of two different flows: the live bit and the
 * key are re-checked after the copy. The timer links in the copy are meaningless.
 * @return 0 with *next advanced past the returned record, -ENOENT at the end.
 */
int ct_table_read_next(struct ct_table *t, uint32_t *next, void *key, void *rec);

/** Look up one key and copy its record (same guarantees as ct_table_read_next()).
 *  @return 0, or -ENOENT. */
int ct_table_read_key(struct ct_table *t, const void *key, void *rec);

#ifdef __cplusplus
}
#endif

#endif /* CT_TABLE_H */
