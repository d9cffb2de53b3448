/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Eviction of the flow table: when an add finds the table at its high-water mark (or full), the
 * oldest record of an embryonic class (the owner's policy says which) leaves first. The oldest
 * comes from a FIFO of the records created last (4 bytes an entry: position + signature bits
 * that tell a reused position); when the FIFO runs dry, as in a long SYN flood, an embryonic
 * record is taken from the embryonic bitmap from a rotating cursor instead. Records of other
 * classes are never evicted.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct_table_priv.h"

#define FIFO_CLEAN 2 /* stale FIFO heads dropped per add */

static inline uint32_t
fifo_len(const struct ct_table *t)
{
	return t->fifo_tail - t->fifo_head;
}

/* True when the queued position no longer holds a published embryonic record. */
static inline bool
fifo_stale(const struct ct_table *t, uint32_t e)
{
	uint32_t pos = e & t->pos_mask;

	return !live_test(t, pos) || !rec_embryonic(t, rec_at(t, pos));
}

void
ct_table_fifo_push(struct ct_table *t, uint32_t pos, uint32_t sig)
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

/* Evict the oldest record still embryonic and still the one queued; false if none. */
static bool
evict_from_fifo(struct ct_table *t)
{
	while (fifo_len(t) > 0) {
		uint32_t e = t->fifo[t->fifo_head++ & t->fifo_mask];
		uint32_t pos = e & t->pos_mask;

		if (fifo_stale(t, e))
			continue;
		if ((ct_table_hash(key_at(t, pos), t->key_len) ^ e) & ~t->pos_mask)
			continue; /* position reused by a younger record */
		if (ct_table_remove(t, pos, CT_TABLE_END_EVICTED))
			return true;
	}
	return false;
}

/*
 * FIFO exhausted: it forgets its oldest entries when full, and entries of records that left the
 * embryonic classes are used up as stale, so during a long SYN flood it can run dry while the
 * table is still full of embryonic records. Take one from the embryonic bitmap from a rotating
 * word cursor: not the oldest, but an embryonic record, found by reading 8 bytes per 64
 * positions and no record.
 */
static bool
evict_from_bitmap(struct ct_table *t)
{
	for (uint32_t i = 0; t->nemb != 0 && i < t->nwords; i++) {
		uint32_t wi = t->scan_word;
		uint64_t bits = t->emb[wi];

		if (bits == 0) {
			t->scan_word = wi + 1 == t->nwords ? 0 : wi + 1;
			continue;
		}
		uint32_t pos = wi * 64 + (uint32_t)__builtin_ctzll(bits);

		if (ct_table_remove(t, pos, CT_TABLE_END_EVICTED))
			return true;
		emb_set(t, pos, false); /* defensive: a bit without a record behind it */
	}
	return false;
}

bool
ct_table_evict_one(struct ct_table *t)
{
	if (!evict_from_fifo(t) && !evict_from_bitmap(t))
		return false;
	t->stats->flows_evicted++;
	return true;
}
