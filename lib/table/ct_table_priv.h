/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_TABLE_PRIV_H
#define CT_TABLE_PRIV_H

/**
 * @file
 * Internals of lib/table shared by its files (ct_table.c: creation and the writer's operations;
 * ct_table_evict.c: the embryonic FIFO and eviction; ct_table_read.c: the reader API): the table
 * struct, the hash buckets, the live, used and embryonic bitmaps, the record accessors that read
 * the owner's layout, and the deadline arithmetic. Not for use outside lib/table.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_common.h>
#include <rte_memzone.h>
#include <rte_rcu_qsbr.h>
#include <rte_vect.h>

#include "ct_table.h"
#include "ct_timer.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Deadlines: last_seen is compared modulo 2^32, so a timeout must stay below 2^31 ticks. */
#define CT_TABLE_TIMEOUT_MAX ((uint64_t)INT32_MAX)

/* Entries per bucket: a bucket is one cache line of 10 tags and 10 positions. */
#define BUCKET_ENTRIES 10
#define BUCKET_TAGS    12 /* tag[] padded to 24 bytes: two loads of 8 and 4 tags */
#define BUCKET_MASK    ((1u << BUCKET_ENTRIES) - 1)
/* Empty entry. */
#define POS_EMPTY UINT32_MAX

/*
 * A hash bucket. An entry names a position; its tag is the high 16 bits of the key's signature
 * (the low bits chose the bucket), so a lookup compares keys only where the tag matches. The
 * writer publishes an entry by storing its position last (release); readers load it first
 * (acquire).
 */
struct bucket {
	uint16_t tag[BUCKET_TAGS]; /* entries 10 and 11 do not exist */
	uint32_t pos[BUCKET_ENTRIES];
} __rte_cache_aligned;

_Static_assert(sizeof(struct bucket) == RTE_CACHE_LINE_SIZE, "a bucket is one cache line");

/* A deleted position and the QSBR token its grace period waits for. */
struct deferred {
	uint64_t token;
	uint32_t pos;
};

struct ct_table {
	uint8_t *recs;   /* [npos] records of rec.size bytes, indexed by position */
	uint8_t *cold;   /* [npos] cold parts of rec.cold_size bytes, or NULL */
	uint8_t *keys;   /* [npos] keys of key_len bytes, indexed by position */
	uint64_t *live;  /* [nwords]: bit set = record published */
	uint64_t *used;  /* [nwords]: bit set = position holds a record (writer only) */
	uint64_t *emb;   /* [nwords]: bit set = published and embryonic (writer only) */
	uint32_t nemb;   /* bits set in emb[] */
	uint32_t nwords; /* words of the bitmaps */
	struct ct_table_layout rec;
	uint32_t rec_shift; /* log2(rec.size) */
	uint32_t key_len;
	struct bucket *buckets; /* [bmask + 1]: 1.25 entries per position (2.5 below 2^16) */
	uint32_t bmask;
	uint32_t moves; /* entries moved to their other bucket (readers retry when it changes) */
	/*
	 * Free positions (not in a grace period): first those never used, in order (fresh .. npos
	 * - 1), then a queue of reclaimed ones, oldest first, linked through their key slots (the
	 * first 4 bytes of a free position's key name the next free one).
	 */
	uint32_t fresh;     /* next never used position */
	uint32_t free_head; /* oldest reclaimed position */
	uint32_t free_tail; /* newest */
	uint32_t nfree;     /* free positions in all: npos - fresh + queued */
	struct ct_timer_wheel *wheel;
	const struct rte_memzone *mz; /* this struct's memory, named after the table */
	struct rte_rcu_qsbr *qsbr;
	struct deferred *dq; /* [dq_size + 1] ring of deleted positions in their grace period */
	uint32_t dq_head;    /* oldest (free-running, masked by dq_size) */
	uint32_t dq_trigger; /* above this many, a deletion reclaims the due ones at once */
	/*
	 * FIFO of added records, oldest first. Entry = position | (high 32-k bits of the key's
	 * signature): those bits tell whether the position still holds the record that was queued
	 * (it may have been deleted and reused by a younger one). 4 bytes an entry.
	 */
	uint32_t *fifo;
	uint32_t fifo_mask;
	uint32_t fifo_head; /* free-running */
	uint32_t fifo_tail;
	uint32_t scan_word; /* next emb[] word the eviction scan looks at */
	uint32_t pos_mask;  /* 2^k - 1 = npos */
	uint32_t npos;
	uint32_t capacity;
	uint32_t high_water; /* from here on, an add first evicts an embryonic record */
	uint32_t count;      /* written by the writer, read atomically by readers */
	uint32_t dq_size;    /* Q >= R: most positions in the defer queue */
	uint32_t deferred;   /* positions in the defer queue: P = count + deferred + free */
	const struct ct_table_policy *policy;
	struct ct_lcore_stats *stats;
	ct_table_end_t on_end;
	void *end_arg;
	size_t mem_bytes;   /* DPDK heap: hash, records, bitmaps, FIFO, QSBR, defer queue */
	size_t wheel_bytes; /* the timer wheel's own allocation */
} __rte_cache_aligned;

/* ---- buckets and keys ---- */

static inline uint8_t *
key_at(const struct ct_table *t, uint32_t pos)
{
	return t->keys + (size_t)pos * t->key_len;
}

static inline uint64_t
word_diff(const uint8_t *x, const uint8_t *y, uint32_t i)
{
	uint64_t u, v;

	memcpy(&u, x + i, 8);
	memcpy(&v, y + i, 8);
	return u ^ v;
}

/* Keys of key_len bytes, a multiple of 8; 16 and 40 bytes (IPv4, IPv6 keys) unrolled. */
static inline bool
key_equal(const void *a, const void *b, uint32_t len)
{
	const uint8_t *x = a, *y = b;
	uint64_t diff;

	if (likely(len == 40))
		return (word_diff(x, y, 0) | word_diff(x, y, 8) | word_diff(x, y, 16) |
		        word_diff(x, y, 24) | word_diff(x, y, 32)) == 0;
	if (len == 16)
		return (word_diff(x, y, 0) | word_diff(x, y, 8)) == 0;
	diff = 0;
	for (uint32_t i = 0; i < len; i += 8)
		diff |= word_diff(x, y, i);
	return diff == 0;
}

static inline struct bucket *
bucket_prim(const struct ct_table *t, uint32_t sig)
{
	return &t->buckets[sig & t->bmask];
}

/* The other bucket of a key: an involution of the first given the tag (never the same). */
static inline struct bucket *
bucket_alt(const struct ct_table *t, uint32_t sig)
{
	uint32_t h = ((sig >> 16) * 0x9e3779b1u) >> 8;

	return &t->buckets[((sig & t->bmask) ^ (h | 1)) & t->bmask];
}

/*
 * Bit i set: entry i of @p b carries @p tag (it may be empty: check its position). Writer. One
 * 16-byte and one 8-byte compare on x86 (SSE2).
 */
static inline unsigned int
tag_match(const struct bucket *b, uint16_t tag)
{
#if defined(RTE_ARCH_X86)
	__m128i t = _mm_set1_epi16((short)tag);
	__m128i lo = _mm_cmpeq_epi16(_mm_load_si128((const __m128i *)(const void *)b->tag), t);
	__m128i hi =
	        _mm_cmpeq_epi16(_mm_loadl_epi64((const __m128i *)(const void *)(b->tag + 8)), t);

	return (unsigned int)_mm_movemask_epi8(_mm_packs_epi16(lo, hi)) & BUCKET_MASK;
#else
	unsigned int m = 0;

	for (unsigned int i = 0; i < BUCKET_ENTRIES; i++)
		m |= (unsigned int)(b->tag[i] == tag) << i;
	return m;
#endif
}

/* Bit i set: entry i of @p b is empty. Writer. */
static inline unsigned int
empty_mask(const struct bucket *b)
{
#if defined(RTE_ARCH_X86)
	__m128i all = _mm_set1_epi32(-1);
	__m128i a = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(const void *)b->pos), all);
	__m128i c =
	        _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(const void *)(b->pos + 4)), all);
	__m128i d =
	        _mm_cmpeq_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(b->pos + 8)), all);

	return (unsigned int)_mm_movemask_epi8(_mm_packs_epi16(
	               _mm_packs_epi32(a, c), _mm_packs_epi32(d, _mm_setzero_si128()))) &
	       BUCKET_MASK;
#else
	unsigned int m = 0;

	for (unsigned int i = 0; i < BUCKET_ENTRIES; i++)
		m |= (unsigned int)(b->pos[i] == POS_EMPTY) << i;
	return m;
#endif
}

/* The same for a reader thread: the tags may change under it (relaxed loads). */
static inline unsigned int
tag_match_reader(const struct bucket *b, uint16_t tag)
{
	unsigned int m = 0;

	for (unsigned int i = 0; i < BUCKET_ENTRIES; i++)
		m |= (unsigned int)(__atomic_load_n(&b->tag[i], __ATOMIC_RELAXED) == tag) << i;
	return m;
}

/*
 * Position of @p key in bucket @p b, or POS_EMPTY. The key at a matching entry's position is
 * compared after the position is loaded with acquire order (the writer stores the key first).
 */
static inline uint32_t
bucket_find(const struct ct_table *t, const struct bucket *b, unsigned int m, const void *key)
{
	while (m != 0) {
		unsigned int i = (unsigned int)__builtin_ctz(m);
		uint32_t pos = __atomic_load_n(&b->pos[i], __ATOMIC_ACQUIRE);

		if (pos != POS_EMPTY && key_equal(key_at(t, pos), key, t->key_len))
			return pos;
		m &= m - 1;
	}
	return POS_EMPTY;
}

/* Position of @p key (signature @p sig), or POS_EMPTY. Writer. */
static inline uint32_t
table_find(const struct ct_table *t, const void *key, uint32_t sig)
{
	const struct bucket *b = bucket_prim(t, sig);
	uint16_t tag = (uint16_t)(sig >> 16);
	uint32_t pos = bucket_find(t, b, tag_match(b, tag), key);

	if (pos == POS_EMPTY) {
		b = bucket_alt(t, sig);
		pos = bucket_find(t, b, tag_match(b, tag), key);
	}
	return pos;
}

/* The free position after @p pos in the queue of reclaimed ones. */
static inline uint32_t *
free_next(const struct ct_table *t, uint32_t pos)
{
	return (uint32_t *)(void *)key_at(t, pos);
}

/* ---- records ---- */

static inline uint8_t *
rec_at(const struct ct_table *t, uint32_t pos)
{
	return t->recs + ((size_t)pos << t->rec_shift);
}

static inline uint8_t *
cold_at(const struct ct_table *t, uint32_t pos)
{
	return t->cold + (size_t)pos * t->rec.cold_size;
}

static inline uint32_t *
rec_last_seen(const struct ct_table *t, uint8_t *r)
{
	return (uint32_t *)(void *)(r + t->rec.last_seen_off);
}

static inline unsigned int
rec_class(const struct ct_table *t, const uint8_t *r)
{
	return r[t->rec.class_off] % CT_TABLE_CLASSES;
}

static inline bool
rec_embryonic(const struct ct_table *t, const uint8_t *r)
{
	return (t->policy->embryonic >> rec_class(t, r)) & 1;
}

/*
 * Deadline of a record as of @p now: last_seen holds the low 32 bits of a tick; the full tick is
 * the one within 2^31 of now with those low bits (a last_seen slightly ahead of now, e.g. from a
 * packet timestamp, stays ahead), plus the timeout of the record's class.
 */
static inline uint64_t
rec_deadline(const struct ct_table *t, uint8_t *r, uint64_t now)
{
	int32_t age = (int32_t)((uint32_t)now - *rec_last_seen(t, r));
	uint64_t last = age > 0 && (uint64_t)age > now ? 0 : now - (int64_t)age;
	uint64_t tmo = t->policy->timeout[rec_class(t, r)];

	return last + (tmo < CT_TABLE_TIMEOUT_MAX ? tmo : CT_TABLE_TIMEOUT_MAX);
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
 * Embryonic bitmap, kept by the writer at every ct_table_arm() (called on each class change)
 * and delete: lets eviction find an embryonic record without reading records, and know at once
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

static inline bool
used_test(const struct ct_table *t, uint32_t pos)
{
	return (t->used[pos >> 6] >> (pos & 63)) & 1;
}

static inline void
used_flip(struct ct_table *t, uint32_t pos)
{
	t->used[pos >> 6] ^= UINT64_C(1) << (pos & 63);
}

static inline void
count_set(struct ct_table *t, uint32_t n)
{
	__atomic_store_n(&t->count, n, __ATOMIC_RELAXED);
}

/* ---- shared by the files of lib/table ---- */

/* ct_table.c: remove the record at pos, reported as @p why; false if it holds none. */
bool ct_table_remove(struct ct_table *t, uint32_t pos, enum ct_table_end why);

/* ct_table.c: bring the defer queue down to @p limit positions (waiting for readers if needed). */
void ct_table_reclaim(struct ct_table *t, uint32_t limit);

/* ct_table_evict.c: queue a new record (position, signature) in the embryonic FIFO. */
void ct_table_fifo_push(struct ct_table *t, uint32_t pos, uint32_t sig);

/* ct_table_evict.c: evict the oldest embryonic record; false if there is none. */
bool ct_table_evict_one(struct ct_table *t);

#endif /* CT_TABLE_PRIV_H */
