/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's side that is not per packet: creation, the flow table's policy (class = conntrack
 * state or L4 state, a timeout per class, the handshake states and the unassured L4 states
 * embryonic) and its end callback (which keeps
 * the per-state counts), timeouts, flush, the accessors other threads read, and the request slot
 * through which another thread has the worker run a function between bursts. The slot holds one
 * request: the poster stores it with release order and waits; the worker takes it with an
 * acquire compare-and-swap, runs it, stores the result and acknowledges with release order. A
 * poster that gives up takes its request back with a compare-and-swap, so a request runs exactly
 * once or not at all, never after its caller has returned.
 */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_spinlock.h>

#include "ct_worker_priv.h"

static uint32_t
ticks_of(uint32_t ms)
{
	return (uint32_t)ct_worker_ticks_from_ms(ms);
}

void
ct_worker_policy_init(struct ct_worker *w)
{
	memset(&w->policy, 0, sizeof(w->policy));
	for (unsigned int s = 0; s < CT_S_MAX; s++)
		w->policy.timeout[s] = ticks_of(w->tcp.timeouts.ms[s]);
	for (unsigned int c = CT_S_MAX; c < CT_CLASS_MAX; c++)
		w->policy.timeout[c] = ticks_of(w->l4.ms[ct_class_l4_timeout(c)]);
	w->policy.embryonic = 1u << CT_S_SYN_SENT | 1u << CT_S_SYN_RECV | 1u << CT_S_SYN_SENT2 |
	                      ct_l4_embryonic_mask();
}

/* Queue the record of the flow ending at @p pos. */
static void
record_end(struct ct_worker *w, uint32_t pos, const struct ct_flow *f, enum ct_table_end why)
{
	struct ct_flow_end e;

	switch (why) {
	case CT_TABLE_END_EXPIRED:
		e.reason = ct_worker_closing(f->tcp.state) ? CT_END_CLOSED : CT_END_IDLE;
		break;
	case CT_TABLE_END_EVICTED:
		e.reason = CT_END_EVICTED;
		break;
	default: /* deleted or flushed: the caller said why */
		e.reason = w->end_reason;
		break;
	}
	e.flow = *f;
	memcpy(&e.key, ct_table_key(w->table, pos), sizeof(e.key));
	e.ext = *ct_worker_ext(w, pos);
	e.end = (uint32_t)w->now;
	memset(e.pad, 0, sizeof(e.pad));
	while (rte_ring_sp_enqueue_elem(w->records, &e, sizeof(e)) != 0) {
		if (!w->end_wait) {
			w->stats.export_dropped++;
			return;
		}
		rte_pause();
	}
	w->stats.export_records++;
}

void
ct_worker_flow_end(void *arg, uint32_t pos, const void *rec, enum ct_table_end why)
{
	struct ct_worker *w = arg;
	const struct ct_flow *f = rec;

	ct_worker_count_state(w, f->tcp.state, -1);
	if (w->records != NULL)
		record_end(w, pos, f, why);
}

struct ct_worker *
ct_worker_create(const struct ct_worker_params *p)
{
	struct ct_table_params tp;
	struct ct_worker *w;

	if (p == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (p->tcp != NULL)
		for (unsigned int s = 0; s < CT_S_MAX; s++)
			if (p->tcp->timeouts.ms[s] > CT_WORKER_TIMEOUT_MS_MAX) {
				rte_errno = EINVAL;
				return NULL;
			}
	if (p->l4 != NULL)
		for (unsigned int t = 0; t < CT_L4T_MAX; t++)
			if (p->l4->ms[t] > CT_WORKER_TIMEOUT_MS_MAX) {
				rte_errno = EINVAL;
				return NULL;
			}
	w = rte_zmalloc_socket("ct_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, p->socket_id);
	if (w == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	w->tcp = p->tcp != NULL ? *p->tcp : ct_tcp_conf_default;
	w->l4 = p->l4 != NULL ? *p->l4 : ct_l4_conf_default;
	w->parse = p->parse;
	w->now = p->now;
	w->records = p->records;
	rte_spinlock_init(&w->slot.lock);
	ct_worker_policy_init(w);
	tp = (struct ct_table_params){
	        .name = p->name,
	        .capacity = p->capacity,
	        .socket_id = p->socket_id,
	        .key_len = sizeof(struct ct_flow_key),
	        .rec =
	                {
	                        .size = sizeof(struct ct_flow),
	                        .node_off = offsetof(struct ct_flow, tm),
	                        .last_seen_off = offsetof(struct ct_flow, last_seen),
	                        .class_off = offsetof(struct ct_flow, tcp.state),
	                        .cold_size = p->records != NULL ? sizeof(struct ct_flow_ext) : 0,
	                },
	        .policy = &w->policy,
	        .stats = &w->stats,
	        .on_end = ct_worker_flow_end,
	        .end_arg = w,
	        .now = p->now,
	};
	w->table = ct_table_create(&tp);
	if (w->table == NULL) {
		int err = rte_errno;

		rte_free(w);
		rte_errno = err;
		return NULL;
	}
	return w;
}

void
ct_worker_free(struct ct_worker *w)
{
	if (w == NULL)
		return;
	ct_table_free(w->table);
	rte_free(w);
}

uint32_t
ct_worker_flush(struct ct_worker *w)
{
	return ct_worker_flush_end(w, CT_END_FLUSHED, false);
}

uint32_t
ct_worker_flush_end(struct ct_worker *w, enum ct_end_reason reason, bool wait)
{
	uint32_t n;

	w->end_reason = (uint8_t)reason;
	w->end_wait = wait;
	n = ct_table_flush(w->table);
	w->end_wait = false;
	return n;
}

int
ct_worker_set_timeout(struct ct_worker *w, unsigned int state, uint32_t ms)
{
	if (state >= CT_WORKER_L4_TIMEOUT(CT_L4T_MAX))
		return -EINVAL;
	if (ms == 0 || ms > CT_WORKER_TIMEOUT_MS_MAX)
		return -ERANGE;
	if (state < CT_S_MAX) {
		__atomic_store_n(&w->tcp.timeouts.ms[state], ms, __ATOMIC_RELAXED);
		w->policy.timeout[state] = ticks_of(ms);
		return 0;
	}
	__atomic_store_n(&w->l4.ms[state - CT_S_MAX], ms, __ATOMIC_RELAXED);
	for (unsigned int c = CT_S_MAX; c < CT_CLASS_MAX; c++)
		if (ct_class_l4_timeout(c) == (int)(state - CT_S_MAX))
			w->policy.timeout[c] = ticks_of(ms);
	return 0;
}

int
ct_worker_req_flush(struct ct_worker *w, void *arg)
{
	uint32_t n = ct_worker_flush(w);

	if (arg != NULL)
		*(uint32_t *)arg = n;
	return 0;
}

int
ct_worker_req_timeout(struct ct_worker *w, void *arg)
{
	const struct ct_worker_timeout *r = arg;

	return ct_worker_set_timeout(w, r->state, r->ms);
}

/* ---- read from any thread ---- */

const struct ct_lcore_stats *
ct_worker_stats(const struct ct_worker *w)
{
	return &w->stats;
}

struct ct_table *
ct_worker_table(const struct ct_worker *w)
{
	return w->table;
}

void
ct_worker_flows_by_state(const struct ct_worker *w, uint64_t *n)
{
	for (unsigned int s = 0; s < CT_CLASS_MAX; s++)
		n[s] = __atomic_load_n(&w->by_state[s], __ATOMIC_RELAXED);
}

const struct ct_tcp_conf *
ct_worker_tcp_conf(const struct ct_worker *w)
{
	return &w->tcp;
}

const struct ct_l4_conf *
ct_worker_l4_conf(const struct ct_worker *w)
{
	return &w->l4;
}

/* ---- requests ---- */

int
ct_worker_call(struct ct_worker *w, ct_worker_call_t fn, void *arg, uint32_t timeout_ms)
{
	struct ct_worker_slot *s = &w->slot;
	uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz() / 1000 * timeout_ms;
	uint32_t st;
	int ret;

	rte_spinlock_lock(&s->lock);
	s->fn = fn;
	s->arg = arg;
	__atomic_store_n(&s->state, SLOT_POSTED, __ATOMIC_RELEASE);
	for (;;) {
		st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		if (st == SLOT_DONE)
			break;
		if (st == SLOT_POSTED && rte_get_timer_cycles() > deadline) {
			uint32_t want = SLOT_POSTED;

			/* Take it back unless the worker has just taken it. */
			if (__atomic_compare_exchange_n(&s->state, &want, SLOT_IDLE, false,
			                                __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
				rte_spinlock_unlock(&s->lock);
				return -ETIMEDOUT;
			}
			continue; /* RUNNING: the worker finishes it */
		}
		rte_delay_us_sleep(50);
	}
	ret = s->ret;
	__atomic_store_n(&s->state, SLOT_IDLE, __ATOMIC_RELAXED);
	rte_spinlock_unlock(&s->lock);
	return ret;
}

int
ct_worker_serve(struct ct_worker *w)
{
	struct ct_worker_slot *s = &w->slot;
	uint32_t want = SLOT_POSTED;

	if (likely(__atomic_load_n(&s->state, __ATOMIC_RELAXED) != SLOT_POSTED))
		return 0;
	if (!__atomic_compare_exchange_n(&s->state, &want, SLOT_RUNNING, false, __ATOMIC_ACQUIRE,
	                                 __ATOMIC_RELAXED))
		return 0; /* taken back by a poster that gave up */
	s->ret = s->fn(w, s->arg);
	__atomic_store_n(&s->state, SLOT_DONE, __ATOMIC_RELEASE);
	return 1;
}
