/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-lcore flow table. An rte_hash in lock-free reader mode maps the canonical flow key to a
 * position; the position indexes a preallocated array of 64-byte records, a live bitmap that
 * publishes records to reader threads, and the timer wheel's nodes (embedded in the records).
 * The owner lcore is the only writer. Deleted positions pass through an RCU QSBR defer queue
 * before rte_hash may hand them out again, so readers copying a record never see it reused.
 * A FIFO of new flows in creation order gives the oldest embryonic flow to evict when full.
 * Sizing and memory arithmetic are described in ct_table.h; the per-packet paths (lookup, add,
 * arm) allocate nothing and never log.
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

#include "ct_table.h"

/* rte_hash internals of DPDK 22.11 used only for the memory arithmetic (rte_cuckoo_hash.h). */
#define HASH_BUCKET_ENTRIES 8  /* RTE_HASH_BUCKET_ENTRIES */
#define HASH_BUCKET_SIZE    64 /* struct rte_hash_bucket, cache aligned */
#define HASH_KEY_HDR        8  /* struct rte_hash_key: pdata before the key bytes */
#define HASH_KEY_ALIGN      16 /* KEY_ALIGNMENT */

#define MIN_BITS     4   /* 15 positions: rte_hash needs at least 8 entries */
#define MAX_BITS     30  /* RTE_HASH_ENTRIES_MAX = 2^30 */
#define RESERVE_DIV  256 /* capacity leaves 1/256 of the positions to grace periods */
#define HWM_DIV      16  /* high-water mark H = P - 2^(k-4): embryonic flows stop there */
#define DQ_DIV       64  /* the defer queue holds up to 1/64 of the positions */
#define RESERVE_MIN  8u
#define FIFO_DIV     8 /* embryonic FIFO: 1/8 of the positions, 4 B each */
#define FIFO_MIN     8u
#define FIFO_CLEAN   2   /* stale FIFO heads dropped per add */
#define EXPIRE_BATCH 64u /* timers collected per ct_timer_wheel_expire() call */
#define DQ_RECLAIM   32  /* positions reclaimed by the defer queue's automatic reclaim */
#define TIMEOUT_MAX  ((uint64_t)INT32_MAX) /* last_seen is compared modulo 2^32 */

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

struct ct_table {
	struct ct_flow *flows; /* [npos], indexed by hash position */
	uint64_t *live;        /* [npos / 64 rounded up]: bit set = record published */
	uint64_t *emb;         /* [same]: bit set = published and embryonic (writer only) */
	uint32_t nemb;         /* bits set in emb[] */
	uint32_t nwords;       /* words of live[] and emb[] */
	struct rte_hash *h;
	struct ct_timer_wheel *wheel;
	struct rte_rcu_qsbr *qsbr;
	struct rte_rcu_qsbr_dq *dq;
	/*
	 * FIFO of added flows, oldest first. Entry = position | (high 32-k bits of the key's hash):
	 * the hash bits tell whether the position still holds the flow that was queued (it may
	 * have been deleted and reused by a younger flow). 4 bytes an entry, no per-flow field.
	 */
	uint32_t *fifo;
	uint32_t fifo_mask;
	uint32_t fifo_head; /* free-running */
	uint32_t fifo_tail;
	uint32_t scan_word; /* next emb[] word the eviction scan looks at */
	uint32_t pos_mask;  /* 2^k - 1 = npos */
	uint32_t npos;
	uint32_t capacity;
	uint32_t high_water; /* from here on, an add first evicts an embryonic flow */
	uint32_t count;      /* written by the writer, read atomically by readers */
	uint32_t dq_size;    /* Q >= R: most positions in the defer queue */
	uint32_t deferred;   /* positions in the defer queue: P = count + deferred + free */
	const struct ct_tcp_conf *tcp;
	uint64_t ticks_per_s;
	size_t mem_bytes;   /* DPDK heap: hash, records, bitmap, FIFO, QSBR, defer queue */
	size_t wheel_bytes; /* the timer wheel's own allocation */
	struct ct_table_stats stats;
} __rte_cache_aligned;

/* The table's hash (rte_hash_create() gets the same function and init value), inlined. */
static inline hash_sig_t
key_hash(const struct ct_flow_key *key)
{
	return rte_hash_crc(key, sizeof(*key), 0);
}

/* ---- live bitmap: written by the writer only, read by readers ---- */

static inline bool
live_test(const struct ct_table *t, uint32_t pos)
{
	return (__atomic_load_n(&t->live[pos >> 6], __ATOMIC_ACQUIRE) >> (pos & 63)) & 1;
}

/* Publish: every store to the record before this one is visible to a reader that sees the bit. */
static inline void
live_set(struct ct_table *t, uint32_t pos)
{
	uint64_t *w = &t->live[pos >> 6];

	__atomic_store_n(w, __atomic_load_n(w, __ATOMIC_RELAXED) | (UINT64_C(1) << (pos & 63)),
	                 __ATOMIC_RELEASE);
}

static inline void
live_clear(struct ct_table *t, uint32_t pos)
{
	uint64_t *w = &t->live[pos >> 6];

	__atomic_store_n(w, __atomic_load_n(w, __ATOMIC_RELAXED) & ~(UINT64_C(1) << (pos & 63)),
	                 __ATOMIC_RELEASE);
}

/*
 * Embryonic bitmap, kept by the writer at every ct_table_arm() (called on each state change)
 * and delete: lets eviction find an embryonic flow without reading records, and know at once
 * when there is none.
 */
static inline void
emb_set(struct ct_table *t, uint32_t pos, bool on)
{
	uint64_t bit = UINT64_C(1) << (pos & 63);
	uint64_t *w = &t->emb[pos >> 6];

	if (((*w & bit) != 0) == on)
		return;
	*w ^= bit;
	if (on)
		t->nemb++;
	else
		t->nemb--;
}

static inline void
count_set(struct ct_table *t, uint32_t n)
{
	__atomic_store_n(&t->count, n, __ATOMIC_RELAXED);
}

static inline bool
embryonic(const struct ct_flow *f)
{
	return f->tcp.state == CT_S_SYN_SENT || f->tcp.state == CT_S_SYN_RECV ||
	       f->tcp.state == CT_S_SYN_SENT2;
}

/* ---- time ---- */

static uint64_t
timeout_ticks(const struct ct_table *t, const struct ct_flow *f)
{
	uint32_t ms = f->tcp.state < CT_S_MAX ? ct_tcp_timeout(&f->tcp, t->tcp) : 0;
	uint64_t d = (uint64_t)ms * t->ticks_per_s / 1000;

	return d < TIMEOUT_MAX ? d : TIMEOUT_MAX;
}

/*
 * last_seen holds the low 32 bits of a tick; the full tick is the one within 2^31 of now with
 * those low bits (a last_seen slightly ahead of now, e.g. from a packet timestamp, stays ahead).
 */
static uint64_t
deadline(const struct ct_table *t, const struct ct_flow *f, uint64_t now)
{
	int32_t age = (int32_t)((uint32_t)now - f->last_seen);
	uint64_t last = age > 0 && (uint64_t)age > now ? 0 : now - (int64_t)age;

	return last + timeout_ticks(t, f);
}

/*
 * The timer wheel's deadline callback, called when a flow's timer cascades: the deadline as of
 * the wheel's tick, so a flow that saw packets since its timer was set is filed for its later
 * deadline there and then (lazy re-arm without a wheel operation per packet). It never moves
 * earlier without ct_table_arm(): last_seen only grows, and a state change re-arms.
 */
static uint64_t
flow_deadline(const void *record, uint32_t idx, uint64_t now, void *arg)
{
	RTE_SET_USED(idx);
	return deadline(arg, record, now);
}

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
static void
reclaim_or_wait(struct ct_table *t, uint32_t limit)
{
	rte_rcu_qsbr_dq_reclaim(t->dq, DQ_RECLAIM, NULL, NULL, NULL);
	if (t->deferred > limit) {
		rte_rcu_qsbr_synchronize(t->qsbr, RTE_QSBR_THRID_INVALID);
		rte_rcu_qsbr_dq_reclaim(t->dq, t->deferred, NULL, NULL, NULL);
	}
}

/* Remove the flow at pos from the hash; the position is reused after a grace period. */
static bool
del_flow(struct ct_table *t, uint32_t pos)
{
	void *key;

	/* Fails for a free position, or one waiting in the defer queue (its key is not found). */
	if (rte_hash_get_key_with_position(t->h, (int32_t)pos, &key) < 0)
		return false;
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
		reclaim_or_wait(t, t->dq_size - 1);
	}
	t->deferred++; /* before: an automatic reclaim inside the enqueue may already free it */
	rte_rcu_qsbr_dq_enqueue(t->dq, &pos); /* cannot fail: deferred <= Q */
	count_set(t, t->count - 1);
	return true;
}

/* ---- embryonic FIFO ---- */

static inline uint32_t
fifo_len(const struct ct_table *t)
{
	return t->fifo_tail - t->fifo_head;
}

/* True when the queued position no longer holds an embryonic published flow. */
static inline bool
fifo_stale(const struct ct_table *t, uint32_t e)
{
	uint32_t pos = e & t->pos_mask;

	return !live_test(t, pos) || !embryonic(&t->flows[pos]);
}

static void
fifo_push(struct ct_table *t, uint32_t pos, hash_sig_t sig)
{
	for (unsigned int i = 0; i < FIFO_CLEAN && fifo_len(t) > 0; i++) {
		if (!fifo_stale(t, t->fifo[t->fifo_head & t->fifo_mask]))
			break;
		t->fifo_head++;
	}
	if (fifo_len(t) > t->fifo_mask)
		t->fifo_head++; /* full: forget the oldest (it still expires by its timeout) */
	t->fifo[t->fifo_tail++ & t->fifo_mask] = (sig & ~t->pos_mask) | pos;
}

/* Delete the oldest flow that is still embryonic and still the one queued. */
static bool
evict_one(struct ct_table *t)
{
	while (fifo_len(t) > 0) {
		uint32_t e = t->fifo[t->fifo_head++ & t->fifo_mask];
		uint32_t pos = e & t->pos_mask;
		void *key;

		if (fifo_stale(t, e))
			continue;
		if (rte_hash_get_key_with_position(t->h, (int32_t)pos, &key) < 0)
			continue;
		if ((key_hash(key) ^ e) & ~t->pos_mask)
			continue; /* position reused by a younger flow */
		if (del_flow(t, pos)) {
			t->stats.evicted++;
			return true;
		}
	}
	/*
	 * FIFO exhausted: it forgets its oldest entries when full, and entries of flows that
	 * completed their handshake are used up as stale, so during a long SYN flood it can run
	 * dry while the table is still full of embryonic flows. Fall back to the embryonic bitmap
	 * from a rotating word cursor: not the oldest, but an embryonic flow, found by reading
	 * 8 bytes per 64 positions and no record.
	 */
	for (uint32_t i = 0; t->nemb != 0 && i < t->nwords; i++) {
		uint32_t wi = t->scan_word;
		uint64_t bits = t->emb[wi];

		if (bits == 0) {
			t->scan_word = wi + 1 == t->nwords ? 0 : wi + 1;
			continue;
		}
		uint32_t pos = wi * 64 + (uint32_t)__builtin_ctzll(bits);

		if (del_flow(t, pos)) {
			t->stats.evicted++;
			return true;
		}
		emb_set(t, pos, false); /* defensive: a bit without a flow behind it */
	}
	return false;
}

/* ---- creation ---- */

/* Evictions tried when rte_hash refuses an add below capacity (-ENOSPC). */
#define EVICT_ENOSPC_MAX 32

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

/* DPDK 22.11 rte_hash_create() with entries = P, key_len = 40, no local cache, no ext table. */
static size_t
hash_mem(const struct rte_hash *h)
{
	uint32_t p = (uint32_t)rte_hash_max_key_id(h);
	size_t key_slot = RTE_ALIGN(HASH_KEY_HDR + sizeof(struct ct_flow_key), HASH_KEY_ALIGN);
	size_t keys = (size_t)(p + 1) * key_slot; /* slot 0 is the dummy of lookup misses */
	size_t buckets = (size_t)rte_align32pow2(p) / HASH_BUCKET_ENTRIES * HASH_BUCKET_SIZE;
	ssize_t ring = rte_ring_get_memsize_elem(sizeof(uint32_t), rte_align32pow2(p + 1));

	return keys + buckets + (ring > 0 ? (size_t)ring : 0);
}

struct ct_table *
ct_table_create(const struct ct_table_params *p)
{
	const struct ct_tcp_conf *tcp;
	char name[RTE_RING_NAMESIZE];
	struct ct_table *t;
	uint32_t k, npos, words;

	if (p == NULL || p->name == NULL || p->name[0] == '\0' ||
	    strnlen(p->name, CT_TABLE_NAMESIZE) >= CT_TABLE_NAMESIZE || p->capacity == 0 ||
	    p->ticks_per_s == 0 || p->tcp == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	tcp = p->tcp;
	for (unsigned int s = 0; s < CT_S_MAX; s++) {
		if ((uint64_t)tcp->timeouts.ms[s] * p->ticks_per_s / 1000 >= TIMEOUT_MAX) {
			rte_errno = EINVAL;
			return NULL;
		}
	}
	for (k = MIN_BITS; k <= MAX_BITS; k++) {
		npos = (uint32_t)((UINT64_C(1) << k) - 1);
		if (npos - reserve_of(npos) >= p->capacity)
			break;
	}
	if (k > MAX_BITS) {
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
	t->npos = npos;
	t->pos_mask = npos;
	t->capacity = npos - reserve_of(npos);
	t->high_water = RTE_MIN(t->capacity, npos - (npos + 1) / HWM_DIV);
	t->tcp = tcp;
	t->ticks_per_s = p->ticks_per_s;

	struct rte_hash_parameters hp = {
	        .name = p->name,
	        .entries = npos,
	        .key_len = sizeof(struct ct_flow_key),
	        .hash_func = rte_hash_crc,
	        .hash_func_init_val = 0,
	        .socket_id = p->socket_id,
	        .extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	t->h = rte_hash_create(&hp);
	if (t->h == NULL) {
		if (rte_errno != EEXIST)
			rte_errno = ENOMEM;
		goto fail;
	}
	rte_errno = ENOMEM;
	t->flows = rte_zmalloc_socket("ct_flows", (size_t)npos * sizeof(struct ct_flow),
	                              RTE_CACHE_LINE_SIZE, p->socket_id);
	words = (npos + 63) / 64;
	t->live = rte_zmalloc_socket("ct_live", (size_t)words * sizeof(uint64_t),
	                             RTE_CACHE_LINE_SIZE, p->socket_id);
	t->emb = rte_zmalloc_socket("ct_emb", (size_t)words * sizeof(uint64_t), RTE_CACHE_LINE_SIZE,
	                            p->socket_id);
	t->nwords = words;
	t->fifo_mask = RTE_MAX((npos + 1) / FIFO_DIV, FIFO_MIN) - 1;
	t->fifo = rte_malloc_socket("ct_fifo", (size_t)(t->fifo_mask + 1) * sizeof(uint32_t),
	                            RTE_CACHE_LINE_SIZE, p->socket_id);
	size_t qsz = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
	t->qsbr = rte_zmalloc_socket("ct_qsbr", qsz, RTE_CACHE_LINE_SIZE, p->socket_id);
	if (t->flows == NULL || t->live == NULL || t->emb == NULL || t->fifo == NULL ||
	    t->qsbr == NULL)
		goto fail;
	if (rte_rcu_qsbr_init(t->qsbr, RTE_MAX_LCORE) != 0)
		goto fail;

	snprintf(name, sizeof(name), "ctdq_%s", p->name);
	uint32_t qsize = dq_size_of(npos);
	t->dq_size = qsize;
	struct rte_rcu_qsbr_dq_parameters dp = {
	        .name = name,
	        .flags = RTE_RCU_QSBR_DQ_MT_UNSAFE,
	        .size = qsize,
	        .esize = sizeof(uint32_t),
	        /* Reclaim early: the capacity only leaves R positions to grace periods. */
	        .trigger_reclaim_limit = (reserve_of(npos) + 1) / 2,
	        .max_reclaim_size = DQ_RECLAIM,
	        .free_fn = reclaim_pos,
	        .p = t,
	        .v = t->qsbr,
	};
	t->dq = rte_rcu_qsbr_dq_create(&dp);
	if (t->dq == NULL)
		goto fail;

	struct ct_timer_wheel_params wp = {
	        .capacity = npos,
	        .base = t->flows,
	        .stride = sizeof(struct ct_flow),
	        .node_off = offsetof(struct ct_flow, tm),
	        .deadline = flow_deadline,
	        .arg = t,
	        .now = p->now,
	};
	t->wheel = ct_timer_wheel_create(&wp);
	if (t->wheel == NULL)
		goto fail;

	ssize_t dq_ring = rte_ring_get_memsize_elem(8 + sizeof(uint32_t), qsize + 1);
	t->mem_bytes = sizeof(*t) + hash_mem(t->h) + (size_t)npos * sizeof(struct ct_flow) +
	               2 * (size_t)words * sizeof(uint64_t) + /* live[] and emb[] */
	               (size_t)(t->fifo_mask + 1) * sizeof(uint32_t) + qsz +
	               (dq_ring > 0 ? (size_t)dq_ring : 0);
	t->wheel_bytes = ct_timer_wheel_memsize(npos); /* malloc'd by lib/timer, not rte_malloc */
	return t;
fail:
	ct_table_free(t);
	return NULL;
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
	rte_free(t->flows);
	rte_free(t);
	rte_errno = err;
}

/* ---- writer API ---- */

struct ct_flow *
ct_table_flow(struct ct_table *t, uint32_t pos)
{
	return &t->flows[pos];
}

int
ct_table_lookup_bulk(struct ct_table *t, const struct ct_flow_key **keys, unsigned int n,
                     int32_t *pos)
{
	int hits = 0;

	if (n == 0 || n > RTE_HASH_LOOKUP_BULK_MAX)
		return -EINVAL;
	if (rte_hash_lookup_bulk(t->h, (const void **)keys, n, pos) < 0)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++)
		hits += pos[i] >= 0;
	return hits;
}

/* Add @p key (hash @p sig), known to be absent. */
static int32_t
add_hashed(struct ct_table *t, const struct ct_flow_key *key, hash_sig_t sig, uint64_t now)
{
	unsigned int tries;
	struct ct_flow *f;
	int32_t pos;

	RTE_ASSERT(sig == key_hash(key) && rte_hash_lookup_with_hash(t->h, key, sig) < 0);
	/*
	 * Above the high-water mark, make room among the embryonic flows first: rte_hash's cuckoo
	 * search for a free slot gets long (thousands of cycles) and then fails from ~97 % of the
	 * positions, so a SYN flood must not push the table there. Flows that completed their
	 * handshake may still fill it to the capacity.
	 */
	if (unlikely(t->count >= t->high_water) && t->nemb != 0)
		evict_one(t);
	if (unlikely(t->count >= t->capacity) && !evict_one(t))
		goto refused;
	/*
	 * Every free position in its grace period (below capacity that takes more than R of them,
	 * which the queue's Q allows while the table has room): reclaim, waiting for the readers
	 * if needed, so an add below capacity always gets a position.
	 */
	if (unlikely(t->count + t->deferred >= t->npos))
		reclaim_or_wait(t, t->npos - t->count - 1);
	pos = rte_hash_add_key_with_hash(t->h, key, sig);
	/*
	 * rte_hash refuses below capacity when the key's two buckets and every cuckoo path from
	 * them are full (97-99 % load). Each eviction frees a slot somewhere else that a cuckoo
	 * path may reach: try a bounded number before refusing.
	 */
	for (tries = 0; unlikely(pos == -ENOSPC) && tries < EVICT_ENOSPC_MAX && evict_one(t);
	     tries++) {
		if (t->count + t->deferred >= t->npos)
			reclaim_or_wait(t, t->npos - t->count - 1);
		pos = rte_hash_add_key_with_hash(t->h, key, sig);
	}
	if (unlikely(pos < 0))
		goto refused;

	/* Not visible to readers (live bit clear) until ct_table_arm(). */
	f = &t->flows[pos];
	memset(f, 0, sizeof(*f));
	f->tm.next = f->tm.prev = CT_TIMER_NONE;
	f->last_seen = (uint32_t)now;
	count_set(t, t->count + 1);
	t->stats.created++;
	fifo_push(t, (uint32_t)pos, sig);
	return pos;
refused:
	t->stats.refused++;
	return -ENOSPC;
}

int32_t
ct_table_add(struct ct_table *t, const struct ct_flow_key *key, uint64_t now)
{
	hash_sig_t sig = key_hash(key);

	if (rte_hash_lookup_with_hash(t->h, key, sig) >= 0)
		return -EEXIST;
	return add_hashed(t, key, sig, now);
}

int32_t
ct_table_add_absent(struct ct_table *t, const struct ct_flow_key *key, uint64_t now)
{
	return add_hashed(t, key, key_hash(key), now);
}

void
ct_table_arm(struct ct_table *t, uint32_t pos, uint64_t now)
{
	if (unlikely(pos >= t->npos))
		return;
	ct_timer_wheel_start(t->wheel, pos, deadline(t, &t->flows[pos], now));
	if (!live_test(t, pos))
		live_set(t, pos);
	emb_set(t, pos, embryonic(&t->flows[pos]));
}

void
ct_table_del(struct ct_table *t, uint32_t pos)
{
	if (pos < t->npos && del_flow(t, pos))
		t->stats.deleted++;
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
		n += del_flow(t, (uint32_t)pos);
	t->stats.deleted += n;
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
			struct ct_flow *f = &t->flows[due[i]];
			uint64_t d = deadline(t, f, now);

			if (d > now) { /* active since the timer was set: lazy re-arm */
				ct_timer_wheel_start(t->wheel, due[i], d);
				t->stats.rearmed++;
			} else if (del_flow(t, due[i])) {
				expired++;
			}
		}
		done += n;
	} while (n == EXPIRE_BATCH && done < max);
	t->stats.expired += expired;
	return expired;
}

const struct ct_table_stats *
ct_table_stats(const struct ct_table *t)
{
	return &t->stats;
}

void
ct_table_stats_reset(struct ct_table *t)
{
	memset(&t->stats, 0, sizeof(t->stats));
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

/* ---- reader API ---- */

struct rte_rcu_qsbr *
ct_table_qsbr(struct ct_table *t)
{
	return t->qsbr;
}

int
ct_table_reader_register(struct ct_table *t, unsigned int id)
{
	if (t == NULL || id >= RTE_MAX_LCORE || rte_rcu_qsbr_thread_register(t->qsbr, id) != 0)
		return -EINVAL;
	rte_rcu_qsbr_thread_online(t->qsbr, id);
	return 0;
}

int
ct_table_reader_unregister(struct ct_table *t, unsigned int id)
{
	if (t == NULL || id >= RTE_MAX_LCORE)
		return -EINVAL;
	rte_rcu_qsbr_thread_offline(t->qsbr, id);
	return rte_rcu_qsbr_thread_unregister(t->qsbr, id) == 0 ? 0 : -EINVAL;
}

/*
 * Copy 8-byte words the writer may be storing to concurrently (a seqlock-style read: the caller
 * re-validates afterwards and discards a torn copy). The race is intended, so ThreadSanitizer is
 * told not to instrument it. Each word is an acquire load, so the re-checks that follow are
 * ordered after the whole copy (a load-acquire fence would do, but GCC's TSan does not support
 * fences; on x86 both are plain loads). Atomic loads also keep the compiler from turning the
 * loop into a memcpy call, which TSan would intercept.
 */
__attribute__((no_sanitize("thread"))) static void
racy_copy(uint64_t *dst, const void *src, size_t words)
{
	const uint64_t *s = src;

	for (size_t i = 0; i < words; i++)
		dst[i] = __atomic_load_n(&s[i], __ATOMIC_ACQUIRE);
}

__attribute__((no_sanitize("thread"))) static bool
racy_key_equal(const void *stored, const uint64_t *key)
{
	const uint64_t *s = stored;
	uint64_t diff = 0;

	for (size_t i = 0; i < sizeof(struct ct_flow_key) / 8; i++)
		diff |= __atomic_load_n(&s[i], __ATOMIC_RELAXED) ^ key[i];
	return diff == 0;
}

_Static_assert(sizeof(struct ct_flow_key) % 8 == 0, "key is copied in 8-byte words");

/* Copy the published record at pos and its key; 0, or -ENOENT if it is not (or no longer) live. */
static int
read_pos(struct ct_table *t, uint32_t pos, struct ct_flow_key *key, struct ct_flow *flow)
{
	uint64_t k[sizeof(struct ct_flow_key) / 8];
	uint64_t r[sizeof(struct ct_flow) / 8];
	void *stored;

	if (!live_test(t, pos)) /* acquire: the record's initial stores are visible */
		return -ENOENT;
	/* Checks that the key in the slot is in the table at this very position. */
	if (rte_hash_get_key_with_position(t->h, (int32_t)pos, &stored) < 0)
		return -ENOENT;
	racy_copy(k, stored, RTE_DIM(k));
	racy_copy(r, &t->flows[pos], RTE_DIM(r)); /* acquire loads: re-checks come after */
	/* Deleted meanwhile? The position itself cannot be reused while this reader is online. */
	if (!live_test(t, pos) || !racy_key_equal(stored, k))
		return -ENOENT;
	if (key != NULL)
		memcpy(key, k, sizeof(*key));
	memcpy(flow, r, sizeof(*flow));
	return 0;
}

int
ct_table_read_next(struct ct_table *t, uint32_t *next, struct ct_flow_key *key,
                   struct ct_flow *flow)
{
	uint32_t pos = *next;

	while (pos < t->npos) {
		uint64_t w = __atomic_load_n(&t->live[pos >> 6], __ATOMIC_RELAXED) >> (pos & 63);

		if (w == 0) { /* nothing live in the rest of this word */
			pos = (pos | 63) + 1;
			continue;
		}
		pos += (uint32_t)__builtin_ctzll(w);
		if (pos >= t->npos)
			break;
		if (read_pos(t, pos, key, flow) == 0) {
			*next = pos + 1;
			return 0;
		}
		pos++;
	}
	*next = t->npos;
	return -ENOENT;
}

int
ct_table_read_key(struct ct_table *t, const struct ct_flow_key *key, struct ct_flow *flow)
{
	int32_t pos = rte_hash_lookup(t->h, key);
	struct ct_flow_key copy;

	if (pos < 0 || read_pos(t, (uint32_t)pos, &copy, flow) != 0)
		return -ENOENT;
	return memcmp(&copy, key, sizeof(copy)) == 0 ? 0 : -ENOENT;
}
