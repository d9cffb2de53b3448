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
 * kept inside the wheel). The wheel also keeps the low 32 bits of each timer's deadline in an
 * array of its own (4 bytes per record, ct_timer_wheel_memsize()), read only when a timer
 * cascades to a lower level; the record itself carries nothing but the 8-byte node.
 *
 * Thread-safety: none; one wheel belongs to one lcore (the writer of its flow table).
 *
 * Design: the clock is a plain tick counter passed in by the caller (TSC-derived in production,
 * packet capture time in replay); the wheel never reads a clock itself. CT_TIMER_LEVELS levels of
 * CT_TIMER_SLOTS slots cover 2^32 ticks: level L holds the timers due in [2^(8L), 2^(8(L+1)))
 * ticks from the wheel's current tick, in the slot of bits 8L..8L+7 of their deadline; when a
 * level wraps, the next level's current slot is cascaded down (re-filed by its exact deadline).
 * ct_timer_wheel_expire() advances from event to event (it jumps over ticks where no slot is
 * drained or cascaded, found with one occupancy bitmap per level), moves due timers to a pending
 * list and returns at most `max` of them per call, so a poll loop stays bounded; the remainder
 * comes out first on the next call, and the wheel does not advance past a tick until everything
 * due at it has been returned.
 *
 * Exactness: a timer armed for tick T is returned by the first ct_timer_wheel_expire() call whose
 * @p now is >= T (or by the calls right after it, when `max` bounds that call), never by a call
 * whose @p now is < T. Timers armed for future ticks come out in deadline order; a timer started
 * with a deadline already past joins the pending ones (first come, first out).
 *
 * Range: a deadline more than 2^32 - 1 ticks after the wheel's current tick is clamped to
 * current + 2^32 - 1: that timer fires early (about 49.7 days early-or-less at 1 ms ticks), and
 * the caller, who re-checks its own deadline when a timer fires (lazy re-arm), starts it again.
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

/** Longest distance from the current tick that a deadline keeps exactly (2^32 - 1 ticks). */
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
 * Create a wheel for records [0, capacity) and mark every record's node unlinked (the records'
 * other bytes are not touched).
 * @param capacity  number of records (<= CT_TIMER_MAX_CAPACITY; 0 is allowed)
 * @param base      address of record 0 (may be NULL only when capacity is 0)
 * @param stride    size of one record in bytes (>= node_off + sizeof(struct ct_timer_node))
 * @param node_off  offset of the struct ct_timer_node inside a record (4-byte aligned)
 * @param now       current tick
 * @return the wheel, or NULL with errno set: EINVAL (bad argument), ENOMEM.
 */
struct ct_timer_wheel *ct_timer_wheel_create(uint32_t capacity, void *base, size_t stride,
                                             size_t node_off, uint64_t now);

/** Free a wheel (NULL is a no-op). Records are not touched. */
void ct_timer_wheel_free(struct ct_timer_wheel *w);

/**
 * Bytes a wheel of @p capacity records allocates (the wheel itself and its deadline array),
 * for memory accounting. The records and their embedded nodes are not counted.
 */
size_t ct_timer_wheel_memsize(uint32_t capacity);

/** Mark every record's node unlinked and empty all slots; the clock becomes @p now. */
void ct_timer_wheel_reset(struct ct_timer_wheel *w, uint64_t now);

/**
 * Arm (or re-arm) the timer of record @p idx to fire at tick @p expire. An expire time at or
 * before the wheel's current tick fires on the next ct_timer_wheel_expire() call, whatever its
 * @p now. A deadline beyond current tick + CT_TIMER_RANGE is clamped to it (fires early).
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
