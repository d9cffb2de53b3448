/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-lcore flow table, creation and the writer's operations: an rte_hash in lock-free reader
 * mode maps a key to a position; the position indexes a preallocated array of the owner's
 * records, a live bitmap that publishes records to reader threads, and the timer wheel's nodes
 * (embedded in the records). The owner lcore is the only writer. Deleted positions pass through
 * an RCU QSBR defer queue before rte_hash may hand them out again, so readers copying a record
 * never see it reused. Eviction is in ct_table_evict.c, the reader API in ct_table_read.c; the
 * sizing and memory arithmetic are described in docs/table.md. The per-packet paths (lookup,
 * add, arm) allocate nothing and never log.
 */

/* rte_rcu_qsbr_dq_* are experimental in DPDK 22.11. */
#define ALLOW_EXPERIMENTAL_API 1

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring_elem.h>

#include "ct_table_priv.h"

/* rte_hash internals of DPDK 22.11 used only for the memory arithmetic (rte_cuckoo_hash.h). */
#define HASH_BUCKET_ENTRIES 8  /* RTE_HASH_BUCKET_ENTRIES */
#define HASH_BUCKET_SIZE    64 /* struct rte_hash_bucket, cache aligned */
#define HASH_KEY_HDR        8  /* struct rte_hash_key: pdata before the key bytes */
#define HASH_KEY_ALIGN      16 /* KEY_ALIGNMENT */

#define MIN_BITS     4   /* 15 positions: rte_hash needs at least 8 entries */
#define MAX_BITS     30  /* RTE_HASH_ENTRIES_MAX = 2^30 */
#define RESERVE_DIV  256 /* capacity leaves 1/256 of the positions to grace periods */
#define HWM_DIV      16  /* high-water mark H = P - 2^(k-4): embryonic records stop there */
#define DQ_DIV       64  /* the defer queue holds up to 1/64 of the positions */
#define RESERVE_MIN  8u
#define FIFO_DIV     8 /* embryonic FIFO: 1/8 of the positions, 4 B each */
#define FIFO_MIN     8u
#define EXPIRE_BATCH 64u /* timers collected per ct_timer_wheel_expire() call */
#define DQ_RECLAIM   32  /* positions reclaimed by the defer queue's automatic reclaim */
#define REC_SIZE_MAX 256
#define ENOSPC_EVICT 32 /* evictions tried when rte_hash refuses an add below capacity */

/* ---- deletion and reclamation ---- */

/* Defer queue callback: the grace period of these positions is over. */
static void
reclaim_pos(void *p, void *e, unsigned int n)
{
	struct ct_table *t = p;
	const uint32_t *pos = e;

	for (unsigned int i = 0; i < n; i++)
		rte_hash_free_key_with_position(t->h, (int32_t)pos[i]);
	t->deferred -= n;
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
	rte_rcu_qsbr_dq_reclaim(t->dq, DQ_RECLAIM, NULL, NULL, NULL);
	if (t->deferred > limit) {
		rte_rcu_qsbr_synchronize(t->qsbr, RTE_QSBR_THRID_INVALID);
		rte_rcu_qsbr_dq_reclaim(t->dq, t->deferred, NULL, NULL, NULL);
	}
}

bool
ct_table_remove(struct ct_table *t, uint32_t pos, enum ct_table_end why)
{
	void *key;

	/* Fails for a free position, or one waiting in the defer queue (its key is not found). */
	if (rte_hash_get_key_with_position(t->h, (int32_t)pos, &key) < 0)
		return false;
	if (t->on_end != NULL)
		t->on_end(t->end_arg, pos, rec_at(t, pos), why);
	live_clear(t, pos);
	emb_set(t, pos, false);
	ct_timer_wheel_stop(t->wheel, pos);
	/* LF mode: the key slot stays allocated (and its bytes intact) until reclaim_pos(). */
	if (rte_hash_del_key(t->h, key) < 0)
		return false;
	if (unlikely(t->deferred >= t->dq_size)) {
		/*
		 * Q deletions wait for a reader that has not gone quiescent since: rather than
		 * let the queue overflow (rte_rcu_qsbr_dq_enqueue() would log), make room.
		 */
		ct_table_reclaim(t, t->dq_size - 1);
	}
	t->deferred++; /* before: an automatic reclaim inside the enqueue may already free it */
	rte_rcu_qsbr_dq_enqueue(t->dq, &pos); /* cannot fail: deferred <= Q */
	count_set(t, t->count - 1);
	return true;
}

/* ---- creation ---- */

/* R = 2^(k-8) - 1 (at least 7): positions of P left out of the capacity for grace periods. */
static uint32_t
reserve_of(uint32_t npos)
{
	uint32_t r = (npos + 1) / RESERVE_DIV;

	return (r > RESERVE_MIN ? r : RESERVE_MIN) - 1;
}

/* Q = 2^(k-6) - 1 (at least 7): defer queue entries; 2^j - 1 as the dq ring is 2^j. */
static uint32_t
dq_size_of(uint32_t npos)
{
	uint32_t q = (npos + 1) / DQ_DIV;

	return (q > RESERVE_MIN ? q : RESERVE_MIN) - 1;
}

/* DPDK 22.11 rte_hash_create() with entries = P, no local cache, no ext table. */
static size_t
hash_mem(const struct ct_table *t)
{
	uint32_t p = (uint32_t)rte_hash_max_key_id(t->h);
	size_t key_slot = RTE_ALIGN(HASH_KEY_HDR + t->key_len, HASH_KEY_ALIGN);
	size_t keys = (size_t)(p + 1) * key_slot; /* slot 0 is the dummy of lookup misses */
	size_t buckets = (size_t)rte_align32pow2(p) / HASH_BUCKET_ENTRIES * HASH_BUCKET_SIZE;
	ssize_t ring = rte_ring_get_memsize_elem(sizeof(uint32_t), rte_align32pow2(p + 1));

	return keys + buckets + (ring > 0 ? (size_t)ring : 0);
}

static bool
params_ok(const struct ct_table_params *p)
{
	const struct ct_table_layout *l = &p->rec;

	if (p->name == NULL || p->name[0] == '\0' ||
	    strnlen(p->name, CT_TABLE_NAMESIZE) >= CT_TABLE_NAMESIZE || p->capacity == 0 ||
	    p->policy == NULL || p->stats == NULL)
		return false;
	if (p->key_len == 0 || p->key_len % 8 != 0 || p->key_len > CT_TABLE_KEY_MAX)
		return false;
	if (l->size == 0 || l->size % 64 != 0 || l->size > REC_SIZE_MAX || l->node_off % 4 != 0 ||
	    l->node_off + sizeof(struct ct_timer_node) > l->size || l->last_seen_off % 4 != 0 ||
	    l->last_seen_off + sizeof(uint32_t) > l->size || l->class_off >= l->size)
		return false;
	for (unsigned int c = 0; c < CT_TABLE_CLASSES; c++)
		if (p->policy->timeout[c] >= CT_TABLE_TIMEOUT_MAX)
			return false;
	return true;
}

/* Smallest k whose 2^k - 1 positions, less the reserve, hold @p capacity; 0 if none. */
static uint32_t
bits_for(uint32_t capacity)
{
	for (uint32_t k = MIN_BITS; k <= MAX_BITS; k++) {
		uint32_t npos = (uint32_t)((UINT64_C(1) << k) - 1);

		if (npos - reserve_of(npos) >= capacity)
			return k;
	}
	return 0;
}

/* rte_hash, records, bitmaps, FIFO and QSBR variable; rte_errno set on failure. */
static int
alloc_parts(struct ct_table *t, const struct ct_table_params *p)
{
	struct rte_hash_parameters hp = {
	        .name = p->name,
	        .entries = t->npos,
	        .key_len = p->key_len,
	        .hash_func = rte_hash_crc,
	        .hash_func_init_val = 0,
	        .socket_id = p->socket_id,
	        .extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	size_t words = (t->npos + 63) / 64;

	t->h = rte_hash_create(&hp);
	if (t->h == NULL) {
		if (rte_errno != EEXIST)
			rte_errno = ENOMEM;
		return -1;
	}
	rte_errno = ENOMEM;
	t->recs = rte_zmalloc_socket("ct_recs", (size_t)t->npos * t->rec.size, RTE_CACHE_LINE_SIZE,
	                             p->socket_id);
	t->live = rte_zmalloc_socket("ct_live", words * sizeof(uint64_t), RTE_CACHE_LINE_SIZE,
	                             p->socket_id);
	t->emb = rte_zmalloc_socket("ct_emb", words * sizeof(uint64_t), RTE_CACHE_LINE_SIZE,
	                            p->socket_id);
	t->nwords = (uint32_t)words;
	t->fifo_mask = RTE_MAX((t->npos + 1) / FIFO_DIV, FIFO_MIN) - 1;
	t->fifo = rte_malloc_socket("ct_fifo", (size_t)(t->fifo_mask + 1) * sizeof(uint32_t),
	                            RTE_CACHE_LINE_SIZE, p->socket_id);
	t->qsbr = rte_zmalloc_socket("ct_qsbr", rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE),
	                             RTE_CACHE_LINE_SIZE, p->socket_id);
	if (t->recs == NULL || t->live == NULL || t->emb == NULL || t->fifo == NULL ||
	    t->qsbr == NULL || rte_rcu_qsbr_init(t->qsbr, RTE_MAX_LCORE) != 0)
		return -1;
	return 0;
}

/* The wheel's deadline callback: a record's deadline as of the cascade tick (lazy re-arm). */
static uint64_t
wheel_deadline(const void *record, uint32_t idx, uint64_t now, void *arg)
{
	RTE_SET_USED(idx);
	return rec_deadline(arg, (uint8_t *)(uintptr_t)record, now);
}

/* Defer queue and timer wheel; rte_errno set on failure. */
static int
alloc_queues(struct ct_table *t, const struct ct_table_params *p)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "ctdq_%s", p->name);
	t->dq_size = dq_size_of(t->npos);
	struct rte_rcu_qsbr_dq_parameters dp = {
	        .name = name,
	        .flags = RTE_RCU_QSBR_DQ_MT_UNSAFE,
	        .size = t->dq_size,
	        .esize = sizeof(uint32_t),
	        /* Reclaim early: the capacity only leaves R positions to grace periods. */
	        .trigger_reclaim_limit = (reserve_of(t->npos) + 1) / 2,
	        .max_reclaim_size = DQ_RECLAIM,
	        .free_fn = reclaim_pos,
	        .p = t,
	        .v = t->qsbr,
	};
	t->dq = rte_rcu_qsbr_dq_create(&dp);
	if (t->dq == NULL)
		return -1;

	struct ct_timer_wheel_params wp = {
	        .capacity = t->npos,
	        .base = t->recs,
	        .stride = t->rec.size,
	        .node_off = t->rec.node_off,
	        .deadline = wheel_deadline,
	        .arg = t,
	        .now = p->now,
	};
	t->wheel = ct_timer_wheel_create(&wp);
	if (t->wheel == NULL) {
		rte_errno = ENOMEM;
		return -1;
	}
	return 0;
}

struct ct_table *
ct_table_create(const struct ct_table_params *p)
{
	struct ct_table *t;
	uint32_t k;

	if (p == NULL || !params_ok(p) || (k = bits_for(p->capacity)) == 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (rte_hash_find_existing(p->name) != NULL) {
		rte_errno = EEXIST;
		return NULL;
	}
	t = rte_zmalloc_socket("ct_table", sizeof(*t), RTE_CACHE_LINE_SIZE, p->socket_id);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	t->npos = (uint32_t)((UINT64_C(1) << k) - 1);
	t->pos_mask = t->npos;
	t->capacity = t->npos - reserve_of(t->npos);
	t->high_water = RTE_MIN(t->capacity, t->npos - (t->npos + 1) / HWM_DIV);
	t->rec = p->rec;
	t->rec_shift = rte_is_power_of_2(p->rec.size) ? rte_bsf32(p->rec.size) : 0;
	t->key_len = p->key_len;
	t->policy = p->policy;
	t->stats = p->stats;
	t->on_end = p->on_end;
	t->end_arg = p->end_arg;
	if (alloc_parts(t, p) != 0 || alloc_queues(t, p) != 0) {
		ct_table_free(t);
		return NULL;
	}

	ssize_t dq_ring = rte_ring_get_memsize_elem(8 + sizeof(uint32_t), t->dq_size + 1);
	t->mem_bytes = sizeof(*t) + hash_mem(t) + (size_t)t->npos * t->rec.size +
	               2 * (size_t)t->nwords * sizeof(uint64_t) + /* live[] and emb[] */
	               (size_t)(t->fifo_mask + 1) * sizeof(uint32_t) +
	               rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE) +
	               (dq_ring > 0 ? (size_t)dq_ring : 0);
	t->wheel_bytes = ct_timer_wheel_memsize(t->npos); /* malloc'd by lib/timer */
	return t;
}

void
ct_table_free(struct ct_table *t)
{
	int err = rte_errno;

	if (t == NULL)
		return;
	if (t->dq != NULL && rte_rcu_qsbr_dq_delete(t->dq) != 0) {
		rte_rcu_qsbr_synchronize(t->qsbr, RTE_QSBR_THRID_INVALID);
		rte_rcu_qsbr_dq_delete(t->dq);
	}
	ct_timer_wheel_free(t->wheel);
	rte_hash_free(t->h);
	rte_free(t->qsbr);
	rte_free(t->fifo);
	rte_free(t->live);
	rte_free(t->emb);
	rte_free(t->recs);
	rte_free(t);
	rte_errno = err;
}

/* ---- writer API ---- */

void *
ct_table_rec(struct ct_table *t, uint32_t pos)
{
	return rec_at(t, pos);
}

int
ct_table_lookup_bulk(struct ct_table *t, const void *const *keys, const uint32_t *sigs,
                     unsigned int n, int32_t *pos)
{
	int hits = 0;

	if (n == 0 || n > CT_TABLE_BULK_MAX)
		return -EINVAL;
	if (rte_hash_lookup_with_hash_bulk(t->h, (const void **)(uintptr_t)keys,
	                                   (hash_sig_t *)(uintptr_t)sigs, n, pos) < 0)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++)
		hits += pos[i] >= 0;
	return hits;
}

int32_t
ct_table_lookup(struct ct_table *t, const void *key, uint32_t sig)
{
	int32_t pos = rte_hash_lookup_with_hash(t->h, key, sig);

	return pos >= 0 ? pos : -ENOENT;
}

/* Room for one more record: evict an embryonic one at high water; false when full. */
static bool
make_room(struct ct_table *t, unsigned int *evicted)
{
	/*
	 * Above the high-water mark, make room among the embryonic records first: rte_hash's
	 * cuckoo search for a free slot gets long (thousands of cycles) and then fails from ~97 %
	 * of the positions, so a SYN flood must not push the table there. Records that left the
	 * embryonic classes may still fill it to the capacity.
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
	if (unlikely(t->count + t->deferred >= t->npos))
		ct_table_reclaim(t, t->npos - t->count - 1);
	return true;
}

int32_t
ct_table_add(struct ct_table *t, const void *key, uint32_t sig, uint64_t now, unsigned int *evicted)
{
	struct ct_timer_node *node;
	unsigned int tries;
	uint8_t *r;
	int32_t pos;

	*evicted = 0;
	RTE_ASSERT(sig == ct_table_hash(key, t->key_len) &&
	           rte_hash_lookup_with_hash(t->h, key, sig) < 0);
	if (!make_room(t, evicted))
		goto refused;
	pos = rte_hash_add_key_with_hash(t->h, key, sig);
	/*
	 * rte_hash refuses below capacity when the key's two buckets and every cuckoo path from
	 * them are full (97-99 % load). Each eviction frees a slot somewhere else that a cuckoo
	 * path may reach: try a bounded number before refusing.
	 */
	for (tries = 0; unlikely(pos == -ENOSPC) && tries < ENOSPC_EVICT && ct_table_evict_one(t);
	     tries++) {
		(*evicted)++;
		if (t->count + t->deferred >= t->npos)
			ct_table_reclaim(t, t->npos - t->count - 1);
		pos = rte_hash_add_key_with_hash(t->h, key, sig);
	}
	if (unlikely(pos < 0))
		goto refused;

	/* Not visible to readers (live bit clear) until ct_table_arm(). */
	r = rec_at(t, (uint32_t)pos);
	memset(r, 0, t->rec.size);
	node = (struct ct_timer_node *)(void *)(r + t->rec.node_off);
	node->next = node->prev = CT_TIMER_NONE;
	*rec_last_seen(t, r) = (uint32_t)now;
	count_set(t, t->count + 1);
	t->stats->flows_created++;
	ct_table_fifo_push(t, (uint32_t)pos, sig);
	return pos;
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

int
ct_table_del(struct ct_table *t, uint32_t pos)
{
	return pos < t->npos && ct_table_remove(t, pos, CT_TABLE_END_DELETED);
}

uint32_t
ct_table_flush(struct ct_table *t)
{
	uint32_t next = 0, n = 0;
	const void *key;
	void *data;
	int32_t pos;

	/* LF mode without ext buckets: deleting never moves other keys, iteration stays valid. */
	while ((pos = rte_hash_iterate(t->h, &key, &data, &next)) >= 0)
		n += ct_table_remove(t, (uint32_t)pos, CT_TABLE_END_FLUSHED);
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
	rte_rcu_qsbr_dq_reclaim(t->dq, max, NULL, NULL, NULL);
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

uint32_t
ct_table_count(const struct ct_table *t)
{
	return __atomic_load_n(&t->count, __ATOMIC_RELAXED);
}

uint32_t
ct_table_capacity(const struct ct_table *t)
{
	return t->capacity;
}

uint32_t
ct_table_high_water(const struct ct_table *t)
{
	return t->high_water;
}

uint32_t
ct_table_positions(const struct ct_table *t)
{
	return t->npos;
}

double
ct_table_mem_per_flow(const struct ct_table *t)
{
	return (double)(t->mem_bytes + t->wheel_bytes) / t->capacity;
}

double
ct_table_mem_per_flow_heap(const struct ct_table *t)
{
	return (double)t->mem_bytes / t->capacity;
}
