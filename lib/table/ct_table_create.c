/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Creation of the per-lcore flow table: its sizing (positions, capacity, reserve for grace
 * periods, high-water mark, defer queue; docs/table.md has the arithmetic), the allocation of its
 * arrays in the DPDK heap, the timer wheel over the records, the memory accounting, and the
 * getters of its fixed sizes. The per-packet operations are in ct_table.c.
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
#include <rte_rcu_qsbr.h>

#include "ct_table_priv.h"

#define MIN_BITS      4   /* 15 positions */
#define MAX_BITS      30  /* 2^30 - 1 positions */
#define RESERVE_DIV   256 /* capacity leaves 1/256 of the positions to grace periods */
#define HWM_DIV       16  /* high-water mark H = P - 2^(k-4): embryonic records stop there */
#define DQ_DIV        64  /* the defer queue holds up to 1/64 of the positions */
#define RESERVE_MIN   8u
#define FIFO_DIV      8 /* embryonic FIFO: 1/8 of the positions, 4 B each */
#define FIFO_MIN      8u
#define REC_SIZE_MAX  256
#define COLD_SIZE_MAX 64

/* ---- creation ---- */

/* R = 2^(k-8) - 1 (at least 7): positions of P left out of the capacity for grace periods. */
static uint32_t
reserve_of(uint32_t npos)
{
	uint32_t r = (npos + 1) / RESERVE_DIV;

	return (r > RESERVE_MIN ? r : RESERVE_MIN) - 1;
}

/* Q = 2^(k-6) - 1 (at least 7): defer queue entries, a ring of 2^j. */
static uint32_t
dq_size_of(uint32_t npos)
{
	uint32_t q = (npos + 1) / DQ_DIV;

	return (q > RESERVE_MIN ? q : RESERVE_MIN) - 1;
}

/* Buckets and keys (the free positions are linked through the keys). */
static size_t
hash_mem(const struct ct_table *t)
{
	return (size_t)(t->bmask + 1) * sizeof(struct bucket) + (size_t)t->npos * t->key_len;
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
	if (l->size < 64 || !rte_is_power_of_2(l->size) || l->size > REC_SIZE_MAX ||
	    l->cold_size % 4 != 0 || l->cold_size > COLD_SIZE_MAX || l->node_off % 4 != 0 ||
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

/* Buckets, keys, records, bitmaps, FIFO and QSBR variable; rte_errno set. */
static int
alloc_parts(struct ct_table *t, const struct ct_table_params *p)
{
	size_t words = (t->npos + 63) / 64;
	/* 2^(k-3) buckets of 10: 1.25 entries per position; small tables 2.5 (a power of 2). */
	uint32_t nb = (t->npos + 1) / (t->npos >= 0xffff ? 8 : 4);

	rte_errno = ENOMEM;
	t->bmask = nb - 1;
	t->buckets = rte_malloc_socket("ct_buckets", (size_t)nb * sizeof(struct bucket),
	                               RTE_CACHE_LINE_SIZE, p->socket_id);
	t->keys = rte_zmalloc_socket("ct_keys", (size_t)t->npos * p->key_len, RTE_CACHE_LINE_SIZE,
	                             p->socket_id);
	t->recs = rte_zmalloc_socket("ct_recs", (size_t)t->npos * t->rec.size, RTE_CACHE_LINE_SIZE,
	                             p->socket_id);
	t->cold = t->rec.cold_size == 0
	                  ? NULL
	                  : rte_zmalloc_socket("ct_cold", (size_t)t->npos * t->rec.cold_size,
	                                       RTE_CACHE_LINE_SIZE, p->socket_id);
	t->live = rte_zmalloc_socket("ct_live", words * sizeof(uint64_t), RTE_CACHE_LINE_SIZE,
	                             p->socket_id);
	t->used = rte_zmalloc_socket("ct_used", words * sizeof(uint64_t), RTE_CACHE_LINE_SIZE,
	                             p->socket_id);
	t->emb = rte_zmalloc_socket("ct_emb", words * sizeof(uint64_t), RTE_CACHE_LINE_SIZE,
	                            p->socket_id);
	t->nwords = (uint32_t)words;
	t->fifo_mask = RTE_MAX((t->npos + 1) / FIFO_DIV, FIFO_MIN) - 1;
	t->fifo = rte_malloc_socket("ct_fifo", (size_t)(t->fifo_mask + 1) * sizeof(uint32_t),
	                            RTE_CACHE_LINE_SIZE, p->socket_id);
	t->qsbr = rte_zmalloc_socket("ct_qsbr", rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE),
	                             RTE_CACHE_LINE_SIZE, p->socket_id);
	if (t->buckets == NULL || t->keys == NULL || t->recs == NULL ||
	    (t->rec.cold_size != 0 && t->cold == NULL) || t->live == NULL || t->used == NULL ||
	    t->emb == NULL || t->fifo == NULL || t->qsbr == NULL ||
	    rte_rcu_qsbr_init(t->qsbr, RTE_MAX_LCORE) != 0)
		return -1;
	for (uint32_t b = 0; b < nb; b++) {
		memset(t->buckets[b].tag, 0, sizeof(t->buckets[b].tag));
		for (unsigned int i = 0; i < BUCKET_ENTRIES; i++)
			t->buckets[b].pos[i] = POS_EMPTY;
	}
	/* Positions are handed out in order at first, then the longest free first. */
	t->fresh = 0;
	t->nfree = t->npos;
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
	t->dq_size = dq_size_of(t->npos);
	t->dq_trigger = (reserve_of(t->npos) + 1) / 2; /* the capacity leaves R to grace periods */
	t->dq = rte_malloc_socket("ct_dq", (size_t)(t->dq_size + 1) * sizeof(struct deferred),
	                          RTE_CACHE_LINE_SIZE, p->socket_id);
	if (t->dq == NULL) {
		rte_errno = ENOMEM;
		return -1;
	}

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
	char mz_name[RTE_MEMZONE_NAMESIZE];
	const struct rte_memzone *mz;
	struct ct_table *t;
	uint32_t k;

	if (p == NULL || !params_ok(p) || (k = bits_for(p->capacity)) == 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	/* The table struct is a memzone named after the table: names are unique (EEXIST). */
	snprintf(mz_name, sizeof(mz_name), "ct_table_%s", p->name);
	mz = rte_memzone_reserve_aligned(mz_name, sizeof(*t), p->socket_id, 0, RTE_CACHE_LINE_SIZE);
	if (mz == NULL) {
		if (rte_errno != EEXIST)
			rte_errno = ENOMEM;
		return NULL;
	}
	t = mz->addr;
	memset(t, 0, sizeof(*t));
	t->mz = mz;
	t->npos = (uint32_t)((UINT64_C(1) << k) - 1);
	t->pos_mask = t->npos;
	t->capacity = t->npos - reserve_of(t->npos);
	t->high_water = RTE_MIN(t->capacity, t->npos - (t->npos + 1) / HWM_DIV);
	t->rec = p->rec;
	t->rec_shift = rte_bsf32(p->rec.size);
	t->key_len = p->key_len;
	t->policy = p->policy;
	t->stats = p->stats;
	t->on_end = p->on_end;
	t->end_arg = p->end_arg;
	if (alloc_parts(t, p) != 0 || alloc_queues(t, p) != 0) {
		ct_table_free(t);
		return NULL;
	}

	t->mem_bytes = sizeof(*t) + hash_mem(t) +
	               (size_t)t->npos * (t->rec.size + t->rec.cold_size) +
	               3 * (size_t)t->nwords * sizeof(uint64_t) + /* live[], used[], emb[] */
	               (size_t)(t->fifo_mask + 1) * sizeof(uint32_t) +
	               rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE) +
	               (size_t)(t->dq_size + 1) * sizeof(struct deferred);
	t->wheel_bytes = ct_timer_wheel_memsize(t->npos); /* malloc'd by lib/timer */
	return t;
}

void
ct_table_free(struct ct_table *t)
{
	int err = rte_errno;

	if (t == NULL)
		return;
	ct_timer_wheel_free(t->wheel);
	rte_free(t->dq);
	rte_free(t->qsbr);
	rte_free(t->fifo);
	rte_free(t->live);
	rte_free(t->used);
	rte_free(t->emb);
	rte_free(t->recs);
	rte_free(t->cold);
	rte_free(t->keys);
	rte_free(t->buckets);
	rte_memzone_free(t->mz);
	rte_errno = err;
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
