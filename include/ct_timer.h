/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_TIMER_H
#define CT_TIMER_H

/**
 * @file
 * Hierarchical timing wheel (Varghese & Lauck scheme 7) over an external array of records.
 *
 * Purpose: per-lcore expiry of flows. Timers are identified by the index of the record they are
 * embedded in; each record holds a struct ct_timer_node (two 32-bit links), so the wheel adds no
 * memory per timer and start/stop are O(1) (doubly linked circular lists; slot heads are
 * sentinel nodes with indices >= capacity).
 *
 * Thread-safety: none; one wheel belongs to one lcore (the writer of its flow table).
 *
 * Design: the clock is a plain tick counter passed in by the caller (TSC-derived in production,
 * packet capture time in replay); the wheel never reads a clock itself. CT_TIMER_LEVELS levels of
 * CT_TIMER_SLOTS slots cover 2^32 ticks; longer timeouts are clamped to the last level and come
 * back early, which the caller's lazy re-arm handles. ct_timer_wheel_expire() advances tick by
 * tick (cascading higher levels as they wrap) and returns at most `max` due indices per call, so
 * a poll loop stays bounded; the remainder comes out on the next call. No EAL dependency.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CT_TIMER_LEVELS   4
#define CT_TIMER_SLOT_BITS 8
#define CT_TIMER_SLOTS    (1u << CT_TIMER_SLOT_BITS)

/** "not linked" marker for struct ct_timer_node links. */
#define CT_TIMER_NONE UINT32_MAX

/** Links embedded in each record; both CT_TIMER_NONE when the timer is not armed. */
struct ct_timer_node {
	uint32_t next;
	uint32_t prev;
};

struct ct_timer_wheel;

/**
 * Create a wheel for records [0, capacity).
 * @param capacity  number of records (< 2^32 - 1 - CT_TIMER_LEVELS * CT_TIMER_SLOTS)
 * @param base      address of record 0
 * @param stride    size of one record in bytes
 * @param node_off  offset of the struct ct_timer_node inside a record
 * @param now       current tick
 * @return the wheel, or NULL with errno set (EINVAL, ENOMEM).
 */
struct ct_timer_wheel *ct_timer_wheel_create(uint32_t capacity, void *base, size_t stride,
					     size_t node_off, uint64_t now);

/** Free a wheel (NULL is a no-op). Records are not touched. */
void ct_timer_wheel_free(struct ct_timer_wheel *w);

/** Mark every record's node unlinked and empty all slots; the clock becomes @p now. */
void ct_timer_wheel_reset(struct ct_timer_wheel *w, uint64_t now);

/**
 * Arm (or re-arm) the timer of record @p idx to fire at tick @p expire. An expire time at or
 * before the wheel's current tick fires on the next ct_timer_wheel_expire() call.
 * @return 0, or -EINVAL if idx >= capacity.
 */
int ct_timer_wheel_start(struct ct_timer_wheel *w, uint32_t idx, uint64_t expire);

/** Disarm record @p idx's timer (no-op if not armed). @return 0, or -EINVAL. */
int ct_timer_wheel_stop(struct ct_timer_wheel *w, uint32_t idx);

/** @return 1 if record @p idx's timer is armed, 0 if not, -EINVAL if idx is out of range. */
int ct_timer_wheel_armed(const struct ct_timer_wheel *w, uint32_t idx);

/**
 * Advance the wheel to tick @p now and collect due timers (unlinked from the wheel).
 * @param out  array of at least @p max indices
 * @return number of indices written (<= max); call again while it returns max.
 */
unsigned int ct_timer_wheel_expire(struct ct_timer_wheel *w, uint64_t now, uint32_t *out,
				   unsigned int max);

/** Current tick of the wheel (the last @p now it reached). */
uint64_t ct_timer_wheel_now(const struct ct_timer_wheel *w);

/** Number of armed timers. */
uint32_t ct_timer_wheel_count(const struct ct_timer_wheel *w);

#ifdef __cplusplus
}
#endif

#endif /* CT_TIMER_H */
