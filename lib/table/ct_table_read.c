/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reader API of the flow table, for threads other than the writer (the control thread): QSBR
 * registration, and copies of published records taken without locks. A copy is checked after
 * the fact (seqlock style): the record's live bit and its key are read again, and a copy that
 * raced with a delete is discarded. QSBR keeps a deleted position from being reused while a
 * reader that may still be copying it is online.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_common.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include "ct_table_priv.h"

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

/* The same in 4-byte words (a record's cold part). */
__attribute__((no_sanitize("thread"))) static void
racy_copy32(uint32_t *dst, const void *src, size_t words)
{
	const uint32_t *s = src;

	for (size_t i = 0; i < words; i++)
		dst[i] = __atomic_load_n(&s[i], __ATOMIC_ACQUIRE);
}

__attribute__((no_sanitize("thread"))) static bool
racy_key_equal(const void *stored, const uint64_t *key, size_t words)
{
	const uint64_t *s = stored;
	uint64_t diff = 0;

	for (size_t i = 0; i < words; i++)
		diff |= __atomic_load_n(&s[i], __ATOMIC_RELAXED) ^ key[i];
	return diff == 0;
}

/* Copy the published record at pos and its key; 0, or -ENOENT if it is not (or no longer) live. */
static int
read_pos(struct ct_table *t, uint32_t pos, void *key, void *rec)
{
	uint64_t k[CT_TABLE_KEY_MAX / 8];
	uint64_t r[(256 + 64) / 8];
	size_t kw = t->key_len / 8, rw = t->rec.size / 8, cw = t->rec.cold_size / 4;
	const void *stored = key_at(t, pos);

	if (!live_test(t, pos)) /* acquire: the record's and key's stores are visible */
		return -ENOENT;
	racy_copy(k, stored, kw);
	racy_copy(r, rec_at(t, pos), rw); /* acquire loads: re-checks come after */
	if (cw != 0)                      /* no cold area at all when the record has none */
		racy_copy32((uint32_t *)(void *)(r + rw), cold_at(t, pos), cw);
	/* Deleted meanwhile? The position itself cannot be reused while this reader is online. */
	if (!live_test(t, pos) || !racy_key_equal(stored, k, kw))
		return -ENOENT;
	if (key != NULL)
		memcpy(key, k, t->key_len);
	memcpy(rec, r, t->rec.size + t->rec.cold_size);
	return 0;
}

int
ct_table_read_next(struct ct_table *t, uint32_t *next, void *key, void *rec)
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
		if (read_pos(t, pos, key, rec) == 0) {
			*next = pos + 1;
			return 0;
		}
		pos++;
	}
	*next = t->npos;
	return -ENOENT;
}

/*
 * Position of @p key, found by a reader. An entry the writer moves to its other bucket meanwhile
 * (rare: both buckets of a new key full) could be missed: a miss is retried while the move count
 * changes under it.
 */
static uint32_t
reader_find(const struct ct_table *t, const void *key)
{
	uint32_t sig = ct_table_hash(key, t->key_len);
	uint16_t tag = (uint16_t)(sig >> 16);
	uint32_t moves, pos;

	do {
		const struct bucket *b = bucket_prim(t, sig);

		moves = __atomic_load_n(&t->moves, __ATOMIC_ACQUIRE);
		pos = bucket_find(t, b, tag_match_reader(b, tag), key);
		if (pos == POS_EMPTY) {
			b = bucket_alt(t, sig);
			pos = bucket_find(t, b, tag_match_reader(b, tag), key);
		}
	} while (pos == POS_EMPTY && __atomic_load_n(&t->moves, __ATOMIC_ACQUIRE) != moves);
	return pos;
}

int
ct_table_read_key(struct ct_table *t, const void *key, void *rec)
{
	uint32_t pos = reader_find(t, key);
	uint64_t copy[CT_TABLE_KEY_MAX / 8];

	if (pos == POS_EMPTY || read_pos(t, pos, copy, rec) != 0)
		return -ENOENT;
	return memcmp(copy, key, t->key_len) == 0 ? 0 : -ENOENT;
}
