/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hierarchical timing wheel (Varghese & Lauck scheme 7, the layout of Linux's classic timer
 * wheel and VPP's tw_timer): CT_TIMER_LEVELS levels of CT_TIMER_SLOTS slots, each slot a doubly
 * linked circular list threaded through the records' embedded struct ct_timer_node by index, with
 * a sentinel node (index capacity + level * SLOTS + slot) as its head; one more sentinel heads the
 * pending list of timers that are due but not yet returned. Invariant, with R the wheel's current
 * tick (everything up to R processed): a timer with deadline E sits on the pending list if E <= R,
 * else at level L = floor(log2(E - R) / 8) in slot (E >> 8L) & 255; that slot is next processed
 * (drained for L = 0, cascaded for L > 0) at the first tick P > R whose bits below 8L are zero and
 * whose bits 8L..8L+7 are the slot's, and E lies in [P, P + 2^8L). Expiry therefore only has to
 * visit the ticks where a non-empty slot is processed; an occupancy bitmap per level finds the
 * next one with a few word scans, so long idle stretches (and 2^32-tick jumps) cost O(levels),
 * and that tick is cached (lowered by every start) so a poll with nothing due is one compare.
 * Cascading needs each timer's deadline: the wheel asks the records' owner (the deadline
 * callback) instead of storing it, so a record pays its 8-byte node and nothing else. An owner
 * whose deadline moved later since the timer was filed gets it filed for the later tick (lazy
 * re-arm); a deadline still beyond the range is filed at its end again, so the E < P + 2^8L
 * part of the invariant reads "E <= the owner's deadline" for such a timer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ct_timer.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define SLOT_MASK  (CT_TIMER_SLOTS - 1)
#define NSLOTS     (CT_TIMER_LEVELS * CT_TIMER_SLOTS) /* slot sentinels */
#define PENDING    NSLOTS                             /* sentinel of the pending list */
#define NSENTINELS (NSLOTS + 1)
#define BM_WORDS   (CT_TIMER_SLOTS / 64) /* bitmap words per level */
#define NO_EVENT   UINT64_MAX

_Static_assert(sizeof(struct ct_timer_node) == 8, "struct ct_timer_node is embedded in records");
_Static_assert(CT_TIMER_SLOTS % 64 == 0, "occupancy bitmap words");
_Static_assert(CT_TIMER_RANGE == UINT32_MAX, "four levels of 256 slots: 2^32 ticks");

struct ct_timer_wheel {
	uint8_t *base;                /**< record 0's node (record 0 + node_off) */
	uint8_t *rec;                 /**< record 0, as passed to the deadline callback */
	size_t stride;                /**< bytes between records */
	ct_timer_deadline_t deadline; /**< owner's current deadline of a record */
	void *arg;                    /**< deadline's argument */
	uint32_t capacity;            /**< records; sentinel i has index capacity + i */
	uint32_t count;               /**< armed timers */
	uint64_t now;                 /**< R: every tick up to here is processed */
	uint64_t next; /**< no non-empty slot is processed before this tick (> now) */
	uint64_t occupied[CT_TIMER_LEVELS][BM_WORDS]; /**< bit set: slot not empty */
	struct ct_timer_node sentinel[NSENTINELS];
};

static inline struct ct_timer_node *
node(const struct ct_timer_wheel *w, uint32_t i)
{
	if (likely(i < w->capacity))
		return (struct ct_timer_node *)(w->base + (size_t)i * w->stride);
	return (struct ct_timer_node *)&w->sentinel[i - w->capacity];
}

static inline void
occupied_set(struct ct_timer_wheel *w, unsigned int s)
{
	w->occupied[s / CT_TIMER_SLOTS][(s % CT_TIMER_SLOTS) / 64] |= UINT64_C(1) << (s % 64);
}

static inline void
occupied_clear(struct ct_timer_wheel *w, unsigned int s)
{
	w->occupied[s / CT_TIMER_SLOTS][(s % CT_TIMER_SLOTS) / 64] &= ~(UINT64_C(1) << (s % 64));
}

/* Insert record i before sentinel s (at the tail of list s). */
static inline void
link_tail(struct ct_timer_wheel *w, unsigned int s, uint32_t i)
{
	uint32_t head = w->capacity + s;
	struct ct_timer_node *h = &w->sentinel[s], *n = node(w, i);

	n->next = head;
	n->prev = h->prev;
	node(w, h->prev)->next = i;
	h->prev = i;
}

/* Unlink armed record i; clears its slot's bit when the slot becomes empty. */
static inline void
unlink_node(struct ct_timer_wheel *w, uint32_t i)
{
	struct ct_timer_node *n = node(w, i);
	uint32_t next = n->next, prev = n->prev;

	node(w, prev)->next = next;
	node(w, next)->prev = prev;
	n->next = CT_TIMER_NONE;
	n->prev = CT_TIMER_NONE;
	/* Only the sentinel left: prev == next is the head. */
	if (prev == next && prev - w->capacity < NSLOTS)
		occupied_clear(w, prev - w->capacity);
}

/* File armed-to-be record i (unlinked) with deadline e relative to the current tick. */
static void
file(struct ct_timer_wheel *w, uint32_t i, uint64_t e)
{
	uint64_t d;
	unsigned int level, s;

	if (e <= w->now) {
		link_tail(w, PENDING, i);
		return;
	}
	d = e - w->now;
	if (unlikely(d > CT_TIMER_RANGE)) {
		d = CT_TIMER_RANGE;
		e = w->now + d;
	}
	level = (unsigned int)(63 - __builtin_clzll(d)) / CT_TIMER_SLOT_BITS;
	s = level * CT_TIMER_SLOTS +
	    (unsigned int)((e >> (level * CT_TIMER_SLOT_BITS)) & SLOT_MASK);
	link_tail(w, s, i);
	occupied_set(w, s);
	/* The slot is processed at e with its bits below the level cleared (> now, see top). */
	e &= ~((UINT64_C(1) << (level * CT_TIMER_SLOT_BITS)) - 1);
	if (e < w->next)
		w->next = e;
}

/* First set bit of a level's bitmap at index >= from, or -1. */
static inline int
bm_find(const uint64_t *bm, unsigned int from)
{
	for (unsigned int k = from / 64; k < BM_WORDS; k++) {
		uint64_t m = bm[k];

		if (k == from / 64)
			m &= ~UINT64_C(0) << (from % 64);
		if (m != 0)
			return (int)(k * 64 + (unsigned int)__builtin_ctzll(m));
	}
	return -1;
}

/* The first tick > now at which a non-empty slot is processed, or NO_EVENT. */
static uint64_t
next_event(const struct ct_timer_wheel *w)
{
	uint64_t best = NO_EVENT;

	for (unsigned int l = 0; l < CT_TIMER_LEVELS; l++) {
		unsigned int shift = l * CT_TIMER_SLOT_BITS;
		uint64_t span = UINT64_C(1) << (shift + CT_TIMER_SLOT_BITS);
		uint64_t window = w->now & ~(span - 1);
		unsigned int cur = (unsigned int)(w->now >> shift) & SLOT_MASK;
		int i = bm_find(w->occupied[l], cur + 1);

		if (i >= 0) {
			/* Inside this level's current window: earlier than anything above. */
			uint64_t t = window + ((uint64_t)i << shift);

			return t < best ? t : best;
		}
		i = bm_find(w->occupied[l], 0);
		if (i >= 0) {
			uint64_t t = window + span + ((uint64_t)i << shift);

			if (t < best)
				best = t;
		}
	}
	return best;
}

/*
 * Re-file every timer of slot s (level >= 1) relative to the current tick, a boundary of it, for
 * the deadline its owner reports now. A re-filed timer never lands back in slot s: a deadline at
 * level L' = L is at least 2^8L and less than 2^8(L+1) ticks ahead, so its slot differs from the
 * current one; at a higher level it is processed no earlier than the next wrap of that level.
 */
static void
cascade(struct ct_timer_wheel *w, unsigned int s)
{
	struct ct_timer_node *h = &w->sentinel[s];
	uint32_t head = w->capacity + s;

	while (h->next != head) {
		uint32_t i = h->next;
		const uint8_t *rec = w->rec + (size_t)i * w->stride;

		unlink_node(w, i);
		file(w, i, w->deadline(rec, i, w->now, w->arg));
	}
}

/* Move slot s's whole list to the tail of the pending list (O(1)). */
static void
splice_pending(struct ct_timer_wheel *w, unsigned int s)
{
	struct ct_timer_node *h = &w->sentinel[s], *p = &w->sentinel[PENDING];
	uint32_t head = w->capacity + s, first = h->next, last = h->prev;

	if (first == head)
		return;
	node(w, p->prev)->next = first;
	node(w, first)->prev = p->prev;
	node(w, last)->next = w->capacity + PENDING;
	p->prev = last;
	h->next = head;
	h->prev = head;
	occupied_clear(w, s);
}

/*
 * Process tick t (at most the next event): cascade the levels that wrap at t, move level 0's slot
 * to the pending list, find the next event. Slots emptied by stop() may make t a tick where
 * nothing happens; that is harmless, as no non-empty slot is skipped.
 */
static void
advance_to(struct ct_timer_wheel *w, uint64_t t)
{
	w->now = t;
	for (unsigned int l = CT_TIMER_LEVELS - 1; l >= 1; l--) {
		unsigned int shift = l * CT_TIMER_SLOT_BITS;

		if ((t & ((UINT64_C(1) << shift) - 1)) == 0)
			cascade(w, l * CT_TIMER_SLOTS + (unsigned int)((t >> shift) & SLOT_MASK));
	}
	splice_pending(w, (unsigned int)(t & SLOT_MASK));
	w->next = next_event(w);
}

/* The wheel is one cache-aligned block: sentinels, bitmaps, clock; nothing per record. */
#define WHEEL_ALLOC ((sizeof(struct ct_timer_wheel) + 63) & ~(size_t)63)

size_t
ct_timer_wheel_memsize(uint32_t capacity)
{
	(void)capacity;
	return WHEEL_ALLOC;
}

struct ct_timer_wheel *
ct_timer_wheel_create(const struct ct_timer_wheel_params *p)
{
	struct ct_timer_wheel *w;

	if (p == NULL || p->deadline == NULL || p->capacity > CT_TIMER_MAX_CAPACITY ||
	    (p->base == NULL && p->capacity > 0) ||
	    p->node_off % _Alignof(struct ct_timer_node) != 0 ||
	    (uintptr_t)p->base % _Alignof(struct ct_timer_node) != 0 ||
	    p->stride % _Alignof(struct ct_timer_node) != 0 ||
	    p->stride < p->node_off + sizeof(struct ct_timer_node)) {
		errno = EINVAL;
		return NULL;
	}
	w = aligned_alloc(64, WHEEL_ALLOC);
	if (w == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(w, 0, sizeof(*w));
	w->rec = p->base;
	w->base = p->base != NULL ? w->rec + p->node_off : NULL;
	w->stride = p->stride;
	w->deadline = p->deadline;
	w->arg = p->arg;
	w->capacity = p->capacity;
	ct_timer_wheel_reset(w, p->now);
	return w;
}

void
ct_timer_wheel_free(struct ct_timer_wheel *w)
{
	free(w);
}

void
ct_timer_wheel_reset(struct ct_timer_wheel *w, uint64_t now)
{
	for (uint32_t i = 0; i < w->capacity; i++) {
		struct ct_timer_node *n = node(w, i);

		n->next = CT_TIMER_NONE;
		n->prev = CT_TIMER_NONE;
	}
	for (uint32_t s = 0; s < NSENTINELS; s++) {
		w->sentinel[s].next = w->capacity + s;
		w->sentinel[s].prev = w->capacity + s;
	}
	memset(w->occupied, 0, sizeof(w->occupied));
	w->count = 0;
	w->now = now;
	w->next = NO_EVENT;
}

int
ct_timer_wheel_start(struct ct_timer_wheel *w, uint32_t idx, uint64_t expire)
{
	if (unlikely(idx >= w->capacity))
		return -EINVAL;
	if (node(w, idx)->next != CT_TIMER_NONE)
		unlink_node(w, idx);
	else
		w->count++;
	file(w, idx, expire);
	return 0;
}

int
ct_timer_wheel_stop(struct ct_timer_wheel *w, uint32_t idx)
{
	if (unlikely(idx >= w->capacity))
		return -EINVAL;
	if (node(w, idx)->next != CT_TIMER_NONE) {
		unlink_node(w, idx);
		w->count--;
	}
	return 0;
}

int
ct_timer_wheel_armed(const struct ct_timer_wheel *w, uint32_t idx)
{
	if (unlikely(idx >= w->capacity))
		return -EINVAL;
	return node(w, idx)->next != CT_TIMER_NONE;
}

unsigned int
ct_timer_wheel_expire(struct ct_timer_wheel *w, uint64_t now, uint32_t *out, unsigned int max)
{
	struct ct_timer_node *p = &w->sentinel[PENDING];
	uint32_t pending = w->capacity + PENDING;
	unsigned int n = 0;

	for (;;) {
		while (p->next != pending) {
			uint32_t i = p->next;

			if (n == max)
				return n; /* the rest of this tick comes out next call */
			unlink_node(w, i);
			w->count--;
			out[n++] = i;
		}
		if (w->now >= now)
			return n;
		if (w->next == NO_EVENT || w->next > now) {
			w->now = now; /* nothing is processed in (now, w->now] */
			return n;
		}
		advance_to(w, w->next);
	}
}

uint64_t
ct_timer_wheel_now(const struct ct_timer_wheel *w)
{
	return w->now;
}

uint32_t
ct_timer_wheel_count(const struct ct_timer_wheel *w)
{
	return w->count;
}
