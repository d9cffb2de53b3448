/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_TIMER_H
#define CT_TIMER_H

/**
 * @file
 * Hierarchical timing wheel (Varghese & Lauck scheme 7) over an external array of records.
 *
 * Purpose: per-lcore expiry of flows. Timers are identified by the index of the record they are
 * embedded in; each record holds a struct ct_timer_node (two 32-bit links), so start/stop are
 * O(1) (doubly linked circular lists; slot heads are sentinel nodes with indices >= capacity,
 * kept inside the wheel). The wheel keeps nothing per record besides that 8-byte node: when a
 * timer cascades to a lower level, the wheel asks the records' owner for the timer's deadline
 * through the callback given at creation (struct ct_timer_wheel_params::deadline), so its own
 * allocation is a fixed 8.4 KB whatever the capacity (ct_timer_wheel_memsize()).
 *
 * Thread-safety: none; one wheel belongs to one lcore (the writer of its flow table).
 *
 * Design: the clock is a plain tick counter passed in by the caller (TSC-derived in production,
 * packet capture time in replay); the wheel never reads a clock itself. CT_TIMER_LEVELS levels of
 * CT_TIMER_SLOTS slots cover 2^32 ticks: level L holds the timers due in [2^(8L), 2^(8(L+1)))
 * ticks from the wheel's current tick, in the slot of bits 8L..8L+7 of their deadline; when a
 * level wraps, the next level's current slot is cascaded down: each of its timers is re-filed for
 * the deadline the callback returns then. ct_timer_wheel_expire() advances from event to event
 * (it jumps over ticks where no slot is drained or cascaded, found with one occupancy bitmap per
 * level), moves due timers to a pending list and returns at most `max` of them per call, so a
 * poll loop stays bounded; the remainder comes out first on the next call, and the wheel does not
 * advance past a tick until everything due at it has been returned.
 *
 * Lazy re-arm: the callback may return a LATER deadline than the one the timer was started with
 * (a flow that saw packets since: deadline = last_seen + timeout). The timer is then simply filed
 * for that later tick during the cascade, with no ct_timer_wheel_start() on the packet path and
 * no extra pass. A timer already in level 0 (due within 256 ticks) or on the pending list is not
 * asked again: it comes out at the tick it was filed for, and its owner re-checks the deadline
 * (and starts the timer again if it moved). The callback must never return an EARLIER deadline
 * than the tick the timer was armed for: to move a deadline earlier, call ct_timer_wheel_start().
 * (If it does, nothing breaks but punctuality: the timer is filed for the earlier tick if that is
 * still ahead, and fires at the cascade tick, late, if it is already past.)
 *
 * Exactness: a timer armed for tick T comes out at the first ct_timer_wheel_expire() call whose
 * @p now is >= D (or the calls right after it, when `max` bounds that call), never at a call
 * whose @p now is < D, where D is T or the later deadline the callback reported at the timer's
 * last cascade. Timers armed for future ticks come out in the order of those ticks; a timer
 * started with a deadline already past joins the pending ones (first come, first out).
 *
 * Range: one filing reaches at most CT_TIMER_RANGE (2^32 - 1) ticks ahead; a deadline beyond is
 * filed at current + CT_TIMER_RANGE, in the top level, which always cascades: the callback then
 * gives the real deadline back and the timer is filed again, so it still fires exactly on time.
 *
 * Hot path: start/stop/expire never allocate; create/reset are O(capacity).
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CT_TIMER_LEVELS    4
#define CT_TIMER_SLOT_BITS 8
#define CT_TIMER_SLOTS     (1u << CT_TIMER_SLOT_BITS)

/** Farthest one filing reaches from the current tick (2^32 - 1 ticks); see Range above. */
#define CT_TIMER_RANGE ((UINT64_C(1) << (CT_TIMER_LEVELS * CT_TIMER_SLOT_BITS)) - 1)

/** "not linked" marker for struct ct_timer_node links. */
#define CT_TIMER_NONE UINT32_MAX

/** Largest capacity: sentinel indices capacity .. capacity + LEVELS * SLOTS stay below NONE. */
#define CT_TIMER_MAX_CAPACITY (UINT32_MAX - CT_TIMER_LEVELS * CT_TIMER_SLOTS - 1)

/** Links embedded in each record; both CT_TIMER_NONE when the timer is not armed. */
struct ct_timer_node {
	uint32_t next;
	uint32_t prev;
};

struct ct_timer_wheel;

/**
 * Deadline of record @p idx's timer, as its owner knows it now.
 *
 * Called by ct_timer_wheel_expire() only, when the armed timer of @p idx cascades from a level
 * above 0 (at most once per level it passes through; never for level 0, the pending list, start
 * or stop). It must not call into the wheel. It may return a later deadline than the one the
 * timer was armed with (the timer is re-filed for it: lazy re-arm), never an earlier one; see
 * "Lazy re-arm" above.
 * @param record  address of record @p idx (base + idx * stride)
 * @param idx     the record's index
 * @param now     the wheel's current tick (the cascade tick; a full 64-bit tick, to widen a
 *                stored partial timestamp against)
 * @param arg     struct ct_timer_wheel_params::arg
 * @return the absolute deadline tick.
 */
typedef uint64_t (*ct_timer_deadline_t)(const void *record, uint32_t idx, uint64_t now, void *arg);

/** Creation parameters of a wheel. */
struct ct_timer_wheel_params {
	uint32_t capacity; /**< number of records (<= CT_TIMER_MAX_CAPACITY; 0 is allowed) */
	void *base;        /**< address of record 0 (may be NULL only when capacity is 0) */
	size_t stride;     /**< bytes between records (>= node_off + 8, multiple of 4) */
	size_t node_off;   /**< offset of the struct ct_timer_node in a record (multiple of 4) */
	ct_timer_deadline_t deadline; /**< records' current deadlines (required) */
	void *arg;                    /**< passed to @p deadline */
	uint64_t now;                 /**< current tick */
};

/**
 * Create a wheel for records [0, capacity) and mark every record's node unlinked (the records'
 * other bytes are not touched).
 * @param p  parameters (read during the call only)
 * @return the wheel, or NULL with errno set: EINVAL (bad argument: NULL @p p or deadline, base
 *         NULL with a capacity, misaligned base/stride/node_off, stride too small, capacity above
 *         CT_TIMER_MAX_CAPACITY), ENOMEM.
 */
struct ct_timer_wheel *ct_timer_wheel_create(const struct ct_timer_wheel_params *p);

/** Free a wheel (NULL is a no-op). Records are not touched. */
void ct_timer_wheel_free(struct ct_timer_wheel *w);

/**
 * Bytes a wheel of @p capacity records allocates, for memory accounting: the wheel itself, the
 * same for every capacity (nothing per record; the records and their embedded nodes are not
 * counted).
 */
size_t ct_timer_wheel_memsize(uint32_t capacity);

/** Mark every record's node unlinked and empty all slots; the clock becomes @p now. */
void ct_timer_wheel_reset(struct ct_timer_wheel *w, uint64_t now);

/**
 * Arm (or re-arm) the timer of record @p idx to fire at tick @p expire. An expire time at or
 * before the wheel's current tick fires on the next ct_timer_wheel_expire() call, whatever its
 * @p now. From then on the deadline callback may only report @p expire or later for @p idx.
 * @return 0, or -EINVAL if idx >= capacity.
 */
int ct_timer_wheel_start(struct ct_timer_wheel *w, uint32_t idx, uint64_t expire);

/** Disarm record @p idx's timer (no-op if not armed). @return 0, or -EINVAL if out of range. */
int ct_timer_wheel_stop(struct ct_timer_wheel *w, uint32_t idx);

/** @return 1 if record @p idx's timer is armed, 0 if not, -EINVAL if idx is out of range. */
int ct_timer_wheel_armed(const struct ct_timer_wheel *w, uint32_t idx);

/**
 * Advance the wheel to tick @p now and collect due timers (unlinked from the wheel, so no longer
 * armed). A @p now below the current tick does not move the clock back; pending timers are still
 * returned.
 * @param now  tick to advance to
 * @param out  array of at least @p max indices
 * @param max  most indices to return (0 only advances up to the first due tick)
 * @return number of indices written (<= max); call again while it returns max.
 */
unsigned int ct_timer_wheel_expire(struct ct_timer_wheel *w, uint64_t now, uint32_t *out,
                                   unsigned int max);

/** Current tick of the wheel (the last @p now it reached). */
uint64_t ct_timer_wheel_now(const struct ct_timer_wheel *w);

/** Number of armed timers (including those due but not yet returned). */
uint32_t ct_timer_wheel_count(const struct ct_timer_wheel *w);

#ifdef __cplusplus
}
#endif

#endif /* CT_TIMER_H */
