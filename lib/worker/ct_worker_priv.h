/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_WORKER_PRIV_H
#define CT_WORKER_PRIV_H

/**
 * @file
 * Internals of lib/worker shared by ct_worker.c (the pipeline) and ct_worker_ctl.c (requests,
 * accessors, the table policy): the worker struct and its request slot. Not for use outside
 * lib/worker.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_spinlock.h>

#include "ct_worker.h"

/* Counters of flows per class: a power of two above CT_CLASS_MAX (ct_l4.h: at most 32). */
#define BY_STATE_SLOTS 32
_Static_assert(CT_CLASS_MAX <= BY_STATE_SLOTS, "every class has its counter");

/* States of the request slot. */
enum slot_state { SLOT_IDLE = 0, SLOT_POSTED, SLOT_RUNNING, SLOT_DONE };

/* One request at a time: posted by another thread, run and acknowledged by the worker. */
struct ct_worker_slot {
	uint32_t state; /* enum slot_state: posted with release, taken with acquire */
	int ret;        /* fn's result, valid in SLOT_DONE */
	ct_worker_call_t fn;
	void *arg;
	rte_spinlock_t lock; /* serializes the threads that post */
} __rte_cache_aligned;

struct ct_worker {
	struct ct_lcore_stats stats; /* counters: this lcore writes, others read racily */
	struct ct_table *table;
	struct ct_tcp_conf tcp;     /* the FSM's configuration (timeouts written by this lcore) */
	struct ct_l4_conf l4;       /* L4 timeouts (written by this lcore) */
	struct ct_parse_conf parse; /* parser options */
	struct ct_table_policy policy;     /* the table's: timeout per class in ticks, embryonic */
	uint64_t now;                      /* last tick seen by process_burst or tick */
	uint32_t by_state[BY_STATE_SLOTS]; /* flows per class (written here, read racily) */
	struct rte_ring *records;          /* flow-end records, or NULL (no cold part either) */
	uint8_t end_reason;                /* enum ct_end_reason of the next ct_table_del()/flush */
	bool end_wait;                     /* a full records ring is waited on, not dropped */
	struct ct_worker_slot slot;        /* requests from other threads */
} __rte_cache_aligned;

/* ct_worker_ctl.c: the table policy from the FSM's and the L4 tracker's timeouts. */
void ct_worker_policy_init(struct ct_worker *w);

/* ct_worker_ctl.c: the table's end callback: a flow left the table. */
void ct_worker_flow_end(void *arg, uint32_t pos, const void *rec, enum ct_table_end why);

/* Whether conntrack state @p s is a closing one (CLOSE, TIME_WAIT); false for every L4 class. */
static inline int
ct_worker_closing(unsigned int s)
{
	return s == CT_S_CLOSE || s == CT_S_TIME_WAIT;
}

/* The cold part of the flow at @p pos (records on). */
static inline struct ct_flow_ext *
ct_worker_ext(struct ct_worker *w, uint32_t pos)
{
	return ct_table_cold(w->table, pos);
}

/* Count a flow into (+1) or out of (-1) its state. */
static inline void
ct_worker_count_state(struct ct_worker *w, unsigned int state, int delta)
{
	uint32_t *n = &w->by_state[state & (BY_STATE_SLOTS - 1)]; /* a mask, not a division */

	__atomic_store_n(n, *n + (uint32_t)delta, __ATOMIC_RELAXED);
}

#endif /* CT_WORKER_PRIV_H */
