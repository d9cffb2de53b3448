/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-lcore flow table, the writer's operations: cache-line hash buckets map a key to a position;
 * the position indexes preallocated arrays of keys and of the owner's records, a live bitmap that
 * publishes records to reader threads, and the timer wheel's nodes (embedded in the records).
 * Each key has two candidate buckets and is added to the emptier one; when both are full one of
 * their entries moves to its other bucket (counted, so a reader's missed lookup retries). The
 * owner lcore is the only writer. Deleted positions pass through a QSBR grace-period queue
 * before they return to the free queue, so readers copying a record never see it reused.
 * Creation and sizing are in ct_table_create.c, eviction in ct_table_evict.c, the reader API in
 * ct_table_read.c; the arithmetic in docs/table.md. The per-packet paths (lookup, add, arm)
 * allocate nothing and never log.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memzone.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "ct_table_priv.h"

#define EXPIRE_BATCH 64u /* timers collected per ct_timer_wheel_expire() call */
#define DQ_RECLAIM   32  /* positions reclaimed at once by the automatic reclaim */

/* ---- deletion and reclamation ---- */

/* Return at most @p max positions whose grace period is over to the free queue, oldest first. */
static void
reclaim_done(struct ct_table *t, uint32_t max)
{
	for (uint32_t n = 0; n < max && t->deferred != 0; n++) {
		const struct deferred *d = &t->dq[t->dq_head & t->dq_size];

		if (rte_rcu_qsbr_check(t->qsbr, d->token, false) != 1)
			break;
		if (t->nfree - (t->npos - t->fresh) == 0)
			t->free_head = d->pos;
		else
			*free_next(t, t->free_tail) = d->pos;
		t->free_tail = d->pos;
		t->nfree++;
		t->dq_head++;
		t->deferred--;
	}
}

/*
 * Bring the positions in the defer queue down to at most @p limit: reclaim those whose grace
 * period is over; if that is not enough, wait for the readers (they never block while online,
 * and an offline reader holds nothing back), after which all of them are due: reclaim them all,
 * so the next deletions do not wait again.
 */
void
ct_table_reclaim(struct ct_table *t, uint32_t limit)
{
	reclaim_done(t, DQ_RECLAIM);
	if (t->deferred > limit) {
		/* rte_rcu_qsbr_synchronize(), inline (so ThreadSanitizer sees its acquire loads) */
		rte_rcu_qsbr_check(t->qsbr, rte_rcu_qsbr_start(t->qsbr), true);
		reclaim_done(t, t->deferred);
	}
}

/*
 * Queue a deleted position for reuse once every reader has reported a quiescent state after
 * this point (the QSBR token taken now, after the record was unpublished). A full queue first
 * makes room; past half the reserve the oldest due positions are reclaimed at once.
 */
static void
defer_pos(struct ct_table *t, uint32_t pos)
{
	struct deferred *d;

	if (unlikely(t->deferred >= t->dq_size))
		ct_table_reclaim(t, t->dq_size - 1);
	d = &t->dq[(t->dq_head + t->deferred) & t->dq_size];
	d->pos = pos;
	d->token = rte_rcu_qsbr_start(t->qsbr);
	t->deferred++;
	if (t->deferred > t->dq_trigger)
		reclaim_done(t, DQ_RECLAIM);
}

/* Clear the bucket entry that names @p pos (its key's signature finds the two buckets). */
static void
entry_clear(struct ct_table *t, uint32_t pos)
{
	uint32_t sig = ct_table_hash(key_at(t, pos), t->key_len);
	struct bucket *b[2] = {bucket_prim(t, sig), bucket_alt(t, sig)};

	for (unsigned int k = 0; k < 2; k++)
		for (unsigned int i = 0; i < BUCKET_ENTRIES; i++)
			if (b[k]->pos[i] == pos) {
				__atomic_store_n(&b[k]->pos[i], POS_EMPTY, __ATOMIC_RELEASE);
				return;
			}
}

bool
ct_table_remove(struct ct_table *t, uint32_t pos, enum ct_table_end why)
{
	/* False for a free position, or one waiting in the defer queue. */
	if (!used_test(t, pos))
		return false;
	if (t->on_end != NULL)
		t->on_end(t->end_arg, pos, rec_at(t, pos), why);
	live_clear(t, pos);
	emb_set(t, pos, false);
	ct_timer_wheel_stop(t->wheel, pos);
	used_flip(t, pos);
	/* The key stays intact (readers may still compare it) until the position is reused. */
	entry_clear(t, pos);
	defer_pos(t, pos);
	count_set(t, t->count - 1);
	return true;
}

/* ---- writer API ---- */

void *
ct_table_rec(struct ct_table *t, uint32_t pos)
{
	return rec_at(t, pos);
}

void *
ct_table_cold(struct ct_table *t, uint32_t pos)
{
	return cold_at(t, pos);
}

const void *
ct_table_key(const struct ct_table *t, uint32_t pos)
{
	return key_at(t, pos);
}

/*
 * Bulk lookup as a short software pipeline: (1) prefetch every key's first bucket; (2) match the
 * tags there and prefetch the key and the record at the first matching entry's position (the
 * bucket names the position before the key is compared, so both lines are on their way), or the
 * second bucket when no tag matches; (3) compare the keys, falling back to a full lookup when
 * the prefetched guess was not the key. The caller finds the hit records in cache.
 */
int
ct_table_lookup_bulk(struct ct_table *t, const void *const *keys, const uint32_t *sigs,
                     unsigned int n, int32_t *pos)
{
	uint32_t guess[CT_TABLE_BULK_MAX];
	int hits = 0;

	if (n == 0 || n > CT_TABLE_BULK_MAX)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++)
		rte_prefetch0(bucket_prim(t, sigs[i]));
	for (unsigned int i = 0; i < n; i++) {
		const struct bucket *b = bucket_prim(t, sigs[i]);
		unsigned int m = tag_match(b, (uint16_t)(sigs[i] >> 16));
		uint32_t g = m != 0 ? b->pos[__builtin_ctz(m)] : POS_EMPTY;

		if (g != POS_EMPTY) {
			rte_prefetch0(key_at(t, g));
			rte_prefetch0(rec_at(t, g));
		} else {
			rte_prefetch0(bucket_alt(t, sigs[i]));
		}
		guess[i] = g;
	}
	for (unsigned int i = 0; i < n; i++) {
		uint32_t p = guess[i];

		if (p == POS_EMPTY || !key_equal(key_at(t, p), keys[i], t->key_len))
			p = table_find(t, keys[i], sigs[i]);
		pos[i] = p == POS_EMPTY ? -ENOENT : (int32_t)p;
		hits += p != POS_EMPTY;
	}
	return hits;
}

int32_t
ct_table_lookup(struct ct_table *t, const void *key, uint32_t sig)
{
	uint32_t pos = table_find(t, key, sig);

	return pos == POS_EMPTY ? -ENOENT : (int32_t)pos;
}

/* Room for one more record: evict an embryonic one at high water; false when full. */
static bool
make_room(struct ct_table *t, unsigned int *evicted)
{
	/*
	 * Above the high-water mark, make room among the embryonic records first, so that a SYN
	 * flood cannot take the positions the other records need; records that left the
	 * embryonic classes may still fill the table to its capacity.
	 */
	if (unlikely(t->count >= t->high_water) && t->nemb != 0 && ct_table_evict_one(t))
		(*evicted)++;
	if (unlikely(t->count >= t->capacity)) {
		if (!ct_table_evict_one(t))
			return false;
		(*evicted)++;
	}
	/*
	 * Every free position in its grace period (below capacity that takes more than R of them,
	 * which the queue's Q allows while the table has room): reclaim, waiting for the readers
	 * if needed, so an add below capacity always gets a position.
	 */
	if (unlikely(t->nfree == 0))
		ct_table_reclaim(t, t->npos - t->count - 1);
	return true;
}

static inline void
entry_set(struct bucket *b, unsigned int i, uint32_t sig, uint32_t pos)
{
	__atomic_store_n(&b->tag[i], (uint16_t)(sig >> 16), __ATOMIC_RELAXED);
	__atomic_store_n(&b->pos[i], pos, __ATOMIC_RELEASE);
}

/*
 * Both buckets of a new key are full: move one entry of @p b to its other bucket, if that has
 * room, and return the freed index (or -1). The copy is published before the original is cleared
 * and the move is counted, so a reader that missed a key while it moved sees the count change and
 * looks again.
 */
static int
entry_displace(struct ct_table *t, struct bucket *b)
{
	for (unsigned int i = 0; i < BUCKET_ENTRIES; i++) {
		uint32_t pos = b->pos[i];
		uint32_t sig = ct_table_hash(key_at(t, pos), t->key_len);
		struct bucket *o =
		        bucket_prim(t, sig) == b ? bucket_alt(t, sig) : bucket_prim(t, sig);
		unsigned int m = empty_mask(o);

		if (m == 0)
			continue;
		entry_set(o, (unsigned int)__builtin_ctz(m), sig, pos);
		__atomic_store_n(&t->moves, t->moves + 1, __ATOMIC_RELEASE);
		__atomic_store_n(&b->pos[i], POS_EMPTY, __ATOMIC_RELEASE);
		return (int)i;
	}
	return -1;
}

/*
 * Publish @p pos in the emptier of the key's two buckets; when both are full (rare at 1.25
 * entries per position), first move an entry of one of them to its other bucket. False if that
 * fails too.
 */
static bool
entry_add(struct ct_table *t, uint32_t sig, uint32_t pos)
{
	struct bucket *b[2] = {bucket_prim(t, sig), bucket_alt(t, sig)};
	unsigned int e0 = empty_mask(b[0]), e1 = empty_mask(b[1]);
	unsigned int k = __builtin_popcount(e1) > __builtin_popcount(e0);
	unsigned int m = k ? e1 : e0;
	int i;

	if (likely(m != 0)) {
		entry_set(b[k], (unsigned int)__builtin_ctz(m), sig, pos);
		return true;
	}
	for (k = 0; k < 2; k++) {
		i = entry_displace(t, b[k]);
		if (i >= 0) {
			entry_set(b[k], (unsigned int)i, sig, pos);
			return true;
		}
	}
	return false;
}

/*
 * Copy / zero @p len bytes, a multiple of 8, in 8-byte words (no libc call per new record); the
 * flow key (40 bytes) and a one-line record (64) with a constant size the compiler unrolls.
 */
static inline void
words_copy(uint8_t *dst, const uint8_t *src, uint32_t len)
{
	if (likely(len == 40)) {
		memcpy(dst, src, 40);
		return;
	}
	for (uint32_t i = 0; i < len; i += 8) {
		uint64_t w;

		memcpy(&w, src + i, 8);
		memcpy(dst + i, &w, 8);
	}
}

static inline void
words_zero(uint8_t *dst, uint32_t len)
{
	if (likely(len == RTE_CACHE_LINE_SIZE)) {
		memset(dst, 0, RTE_CACHE_LINE_SIZE);
		return;
	}
	for (uint32_t i = 0; i < len; i += 8) {
		uint64_t z = 0;

		memcpy(dst + i, &z, 8);
	}
}

int32_t
ct_table_add(struct ct_table *t, const void *key, uint32_t sig, uint64_t now, unsigned int *evicted)
{
	struct ct_timer_node *node;
	uint32_t pos, next;
	uint8_t *r;

	*evicted = 0;
	RTE_ASSERT(sig == ct_table_hash(key, t->key_len) && table_find(t, key, sig) == POS_EMPTY);
	if (!make_room(t, evicted) || t->nfree == 0)
		goto refused;
	pos = t->fresh < t->npos ? t->fresh : t->free_head;
	next = pos == t->fresh ? POS_EMPTY : *free_next(t, pos); /* the key overwrites it */
	words_copy(key_at(t, pos), key, t->key_len);             /* before the entry is published */
	if (unlikely(!entry_add(t, sig, pos))) {
		/* Both buckets full and no entry movable: vanishingly rare. */
		if (pos != t->fresh)
			*free_next(t, pos) = next;
		goto refused;
	}
	if (pos == t->fresh)
		t->fresh++;
	else
		t->free_head = next;
	t->nfree--;
	used_flip(t, pos);

	/* Not visible to readers (live bit clear) until ct_table_arm(). */
	r = rec_at(t, pos);
	words_zero(r, t->rec.size);
	for (uint32_t i = 0; i < t->rec.cold_size; i += 4)
		memset(cold_at(t, pos) + i, 0, 4);
	node = (struct ct_timer_node *)(void *)(r + t->rec.node_off);
	node->next = node->prev = CT_TIMER_NONE;
	*rec_last_seen(t, r) = (uint32_t)now;
	count_set(t, t->count + 1);
	t->stats->flows_created++;
	ct_table_fifo_push(t, pos, sig);
	return (int32_t)pos;
refused:
	t->stats->flows_refused++;
	return -ENOSPC;
}

void
ct_table_arm(struct ct_table *t, uint32_t pos, uint64_t now)
{
	uint8_t *r;

	if (unlikely(pos >= t->npos))
		return;
	r = rec_at(t, pos);
	ct_timer_wheel_start(t->wheel, pos, rec_deadline(t, r, now));
	if (!live_test(t, pos))
		live_set(t, pos);
	emb_set(t, pos, rec_embryonic(t, r));
}

void
ct_table_rearm(struct ct_table *t, uint32_t pos, uint64_t now, unsigned int old_class)
{
	uint8_t *r = rec_at(t, pos);
	unsigned int c = rec_class(t, r);

	/*
	 * The timer is filed at F <= last_seen_before + timeout(old) <= now + timeout(old); with
	 * timeout(new) >= timeout(old) the new deadline is not earlier than F, which the wheel's
	 * deadline callback may report when F comes.
	 */
	if (t->policy->timeout[c] < t->policy->timeout[old_class % CT_TABLE_CLASSES])
		ct_timer_wheel_start(t->wheel, pos, rec_deadline(t, r, now));
	emb_set(t, pos, (t->policy->embryonic >> c) & 1);
}

int
ct_table_del(struct ct_table *t, uint32_t pos)
{
	return pos < t->npos && ct_table_remove(t, pos, CT_TABLE_END_DELETED);
}

uint32_t
ct_table_flush(struct ct_table *t)
{
	uint32_t n = 0;

	for (uint32_t w = 0; w < t->nwords; w++)
		while (t->used[w] != 0)
			n += ct_table_remove(t, w * 64 + (uint32_t)__builtin_ctzll(t->used[w]),
			                     CT_TABLE_END_FLUSHED);
	t->stats->flows_flushed += n;
	t->fifo_head = t->fifo_tail;
	return n;
}

unsigned int
ct_table_expire(struct ct_table *t, uint64_t now, unsigned int max)
{
	uint32_t due[EXPIRE_BATCH];
	unsigned int done = 0, expired = 0, n;

	if (max == 0)
		return 0;
	reclaim_done(t, max);
	do {
		n = ct_timer_wheel_expire(t->wheel, now, due, RTE_MIN(max - done, EXPIRE_BATCH));
		for (unsigned int i = 0; i < n; i++) {
			uint64_t d = rec_deadline(t, rec_at(t, due[i]), now);

			if (d > now) { /* active since the timer was set: lazy re-arm */
				ct_timer_wheel_start(t->wheel, due[i], d);
				t->stats->flows_rearmed++;
			} else if (ct_table_remove(t, due[i], CT_TABLE_END_EXPIRED)) {
				expired++;
			}
		}
		done += n;
	} while (n == EXPIRE_BATCH && done < max);
	t->stats->flows_expired += expired;
	return expired;
}
