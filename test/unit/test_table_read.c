/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the flow table's reader API and memory (lib/table): unpublished records are
 * invisible, deleted positions are not reused while a reader is online, an add waits for readers
 * only when every free position is in its grace period; the memory per flow, everything
 * included, is at most 128 B (checked against the DPDK heap's own accounting), and a table of
 * 16 M flows can be created and used. Each test runs in its own Criterion child process, which
 * starts EAL without hugepages in the suite's init.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_rcu_qsbr.h>

#include "ct_table.h"
#include "table_helpers.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

TestSuite(table, .init = eal_up, .fini = eal_down);
TestSuite(table_big, .init = eal_up_big, .fini = eal_down);

Test(table, readers_see_only_armed_flows_and_copies_of_their_records)
{
	struct ct_table *t = mk("t_read", 100, 0);
	struct ct_flow_key k = key_of(3), got;
	struct ct_flow f;
	uint32_t next = 0, n = 0;

	cr_assert_eq(ct_table_reader_register(t, 0), 0);
	int32_t pos = table_add(t, &k, 0);
	ct_table_flow(t, (uint32_t)pos)->tcp.state = CT_S_SYN_SENT;
	ct_table_flow(t, (uint32_t)pos)->bytes_lo[1] = 77;
	cr_assert_eq(ct_table_read_key(t, &k, &f), -ENOENT, "visible before ct_table_arm()");
	cr_assert_eq(ct_table_read_next(t, &next, &got, &f), -ENOENT);
	ct_table_arm(t, (uint32_t)pos, 0);
	for (uint32_t i = 10; i < 20; i++)
		add_flow(t, i, CT_S_ESTABLISHED, 0);

	cr_assert_eq(ct_table_read_key(t, &k, &f), 0);
	cr_assert_eq(f.bytes_lo[1], 77);
	cr_assert_eq(f.tcp.state, CT_S_SYN_SENT);
	next = 0;
	while (ct_table_read_next(t, &next, &got, &f) == 0) {
		const struct ct_flow_key *kp = &got;
		int32_t p;

		cr_assert_eq(lookup_bulk(t, &kp, 1, &p), 1,
		             "read_next gave a key not in the table");
		cr_assert_eq(p + 1, (int32_t)next);
		n++;
	}
	cr_assert_eq(n, 11);
	cr_assert_eq(next, ct_table_positions(t));

	ct_table_del(t, (uint32_t)pos);
	cr_assert_eq(ct_table_read_key(t, &k, &f), -ENOENT, "visible after delete");
	cr_assert_eq(ct_table_reader_unregister(t, 0), 0);
	ct_table_free(t);
}

/*
 * Reader 0 stays online without reporting a quiescent state: the positions the writer deletes
 * meanwhile must not come back from ct_table_add(). With 8 flows and 7 positions in their grace
 * period all 15 positions are taken, so the next delete + add (run by a writer thread) has to wait
 * until the reader reports; then it gets one of the reclaimed positions.
 */
struct late_writer {
	struct ct_table *t;
	uint32_t del; /* flow deleted */
	uint32_t add; /* flow added */
	int32_t pos;
	bool done; /* atomic */
};

static void *
late_writer_main(void *arg)
{
	struct late_writer *w = arg;

	ct_table_del(w->t, (uint32_t)lookup(w->t, w->del));
	w->pos = add_flow(w->t, w->add, CT_S_ESTABLISHED, 2);
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
	return NULL;
}

Test(table, deleted_positions_are_not_reused_while_a_reader_is_online)
{
	struct ct_table *t = mk("t_qsbr", 8, 0); /* 15 positions, 8 usable, 7 in grace */
	struct late_writer w = {.t = t, .del = 7, .add = 200};
	bool deleted[16] = {false};
	pthread_t th;

	cr_assert_eq(ct_table_positions(t), 15);
	cr_assert_eq(ct_table_capacity(t), 8);
	cr_assert_eq(ct_table_reader_register(t, 0), 0);
	for (uint32_t i = 0; i < 8; i++)
		cr_assert_geq(add_flow(t, i, CT_S_ESTABLISHED, 0), 0);
	for (uint32_t i = 0; i < 7; i++) {
		int32_t old = lookup(t, i);

		ct_table_del(t, (uint32_t)old);
		deleted[old] = true;
		ct_table_expire(t, 1, 64); /* tries to reclaim: the reader holds it back */
		int32_t pos = add_flow(t, 100 + i, CT_S_ESTABLISHED, 1);
		cr_assert_geq(pos, 0);
		cr_assert_not(deleted[pos], "position %d reused inside the grace period", pos);
	}
	cr_assert_eq(pthread_create(&th, NULL, late_writer_main, &w), 0);
	usleep(200000);
	cr_assert_not(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE),
	              "the writer reused a position without waiting for the reader");
	rte_rcu_qsbr_quiescent(ct_table_qsbr(t), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE));
	cr_assert_geq(w.pos, 0);
	cr_assert(deleted[w.pos], "position %d: expected a reclaimed one", w.pos);
	cr_assert_eq(ct_table_count(t), 8);
	cr_assert_eq(ct_table_reader_unregister(t, 0), 0);
	ct_table_free(t);
}

/*
 * Deleted positions count against the positions, not against a fixed queue: with 1023 positions
 * the capacity leaves R = 7 to grace periods while the defer queue holds up to Q = 15. With a
 * reader online and silent, a full table can delete and re-add 7 flows without waiting; an 8th
 * delete still does not wait (the queue has room), but the add after it would need a position in
 * its grace period, so it waits for the reader and then gets a reclaimed one.
 */
Test(table, add_waits_for_readers_only_when_every_free_position_is_in_grace)
{
	struct ct_table *t = mk("t_acct", 1000, 0);
	struct late_writer w = {.t = t, .del = 7, .add = 200000};
	uint32_t cap = ct_table_capacity(t);
	bool *deleted = calloc(ct_table_positions(t), sizeof(*deleted));
	pthread_t th;

	cr_assert_not_null(deleted);
	cr_assert_eq(ct_table_positions(t), 1023);
	cr_assert_eq(cap, 1016);
	cr_assert_eq(ct_table_reader_register(t, 0), 0);
	for (uint32_t i = 0; i < cap; i++)
		cr_assert_geq(add_flow(t, i, CT_S_ESTABLISHED, 0), 0, "flow %u", i);
	for (uint32_t i = 8; i < 15; i++) {
		int32_t old = lookup(t, i);

		ct_table_del(t, (uint32_t)old);
		deleted[old] = true;
		int32_t pos = add_flow(t, 100000 + i, CT_S_ESTABLISHED, 1);
		cr_assert_geq(pos, 0);
		cr_assert_not(deleted[pos], "position %d reused inside the grace period", pos);
	}
	/* Deleting flow 7 does not wait; adding flow 200000 does (late_writer_main). */
	cr_assert_eq(pthread_create(&th, NULL, late_writer_main, &w), 0);
	usleep(200000);
	cr_assert_not(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE),
	              "the writer reused a position without waiting for the reader");
	cr_assert_eq(ct_table_count(t), cap - 1, "the delete went through without waiting");
	rte_rcu_qsbr_quiescent(ct_table_qsbr(t), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_geq(w.pos, 0);
	cr_assert(deleted[w.pos], "position %d: expected a reclaimed one", w.pos);
	cr_assert_eq(ct_table_count(t), cap);
	cr_assert_eq(ct_table_reader_unregister(t, 0), 0);
	free(deleted);
	ct_table_free(t);
}

/*
 * The target: at most 128 B of memory per flow of capacity, everything included (rte_hash, records,
 * bitmap, FIFO, defer queue, QSBR variable, timer wheel). The DPDK-heap part must match what the
 * heap really handed out; the wheel adds a fixed few KiB (nothing per record).
 */
Test(table, mem_per_flow_at_1m_is_at_most_128_bytes_and_matches_the_heap)
{
	struct rte_malloc_socket_stats before, after;

	cr_assert_eq(rte_malloc_get_socket_stats(0, &before), 0);
	struct ct_table *t = mk("t_mem", 1000000, 0);
	cr_assert_eq(rte_malloc_get_socket_stats(0, &after), 0);

	double own = ct_table_mem_per_flow_heap(t), total = ct_table_mem_per_flow(t);
	double heap = (double)(after.heap_allocsz_bytes - before.heap_allocsz_bytes) /
	              ct_table_capacity(t);

	printf("table of %u flows (%u positions): %.2f B/flow in total (%.2f B in the DPDK heap, "
	       "%.2f measured there)\n",
	       ct_table_capacity(t), ct_table_positions(t), total, own, heap);
	cr_assert_geq(ct_table_capacity(t), 1000000);
	cr_assert_leq(total, 128.0, "%.2f B per flow", total);
	cr_assert_geq(total, own);
	cr_assert_lt(total - own, 0.05, "the wheel costs nothing per flow");
	cr_assert_leq(heap, own + 0.05, "heap %.3f > computed %.3f", heap, own);
	cr_assert_geq(heap, own - 0.05, "heap %.3f < computed %.3f", heap, own);
	ct_table_free(t);
}

Test(table_big, capacity_of_16m_flows_can_be_created_and_used)
{
	struct ct_table *t = mk("t_16m", 16000000, 0);

	cr_assert_geq(ct_table_capacity(t), 16000000);
	printf("16M table: %u flows, %.2f B/flow (%.2f in the DPDK heap)\n", ct_table_capacity(t),
	       ct_table_mem_per_flow(t), ct_table_mem_per_flow_heap(t));
	cr_assert_leq(ct_table_mem_per_flow(t), 128.0);
	if (!UNDER_ASAN || getenv("CT_TEST_BIG") != NULL) {
		for (uint32_t i = 0; i < 100000; i++)
			cr_assert_geq(add_flow(t, i * 97, CT_S_ESTABLISHED, 0), 0);
		cr_assert_eq(ct_table_count(t), 100000);
	}
	ct_table_free(t);
}

/*
 * 1.25 bucket entries per position, two buckets per key: a table filled to its capacity with
 * established flows refuses none of them (an entry moves to its other bucket when both of a new
 * key's are full), and every flow is still found.
 */
Test(table_big, table_of_1m_fills_to_capacity_without_a_refusal)
{
	struct ct_table *t = mk("t_fill", 1000000, 0);
	uint32_t cap = ct_table_capacity(t);

	for (uint32_t i = 0; i < cap; i++)
		cr_assert_geq(add_flow(t, i * 2654435761u, CT_S_ESTABLISHED, 0), 0, "flow %u", i);
	cr_assert_eq(ct_table_count(t), cap);
	cr_assert_eq(st.flows_refused, 0);
	for (uint32_t i = 0; i < cap; i += 7)
		cr_assert_geq(lookup(t, i * 2654435761u), 0, "flow %u lost", i);
	ct_table_free(t);
}

/* A record's cold part: zeroed by the add, kept with the record, copied right after it. */
Test(table, cold_part_is_zeroed_on_add_and_read_with_the_record)
{
	struct ct_table_params p = params("t_cold", 100, 0);
	struct {
		struct ct_flow hot;
		uint64_t cold;
	} copy;
	struct ct_flow_key k = key_of(5);
	struct ct_table *t;
	int32_t pos;

	p.rec.cold_size = sizeof(uint64_t);
	t = ct_table_create(&p);
	cr_assert_not_null(t);
	cr_assert_eq(ct_table_reader_register(t, 0), 0);
	pos = add_flow(t, 5, CT_S_ESTABLISHED, 0);
	cr_assert_geq(pos, 0);
	cr_assert_eq(*(uint64_t *)ct_table_cold(t, (uint32_t)pos), 0);
	*(uint64_t *)ct_table_cold(t, (uint32_t)pos) = 0x1122334455667788ull;
	cr_assert_eq(ct_table_read_key(t, &k, &copy), 0);
	cr_assert_eq(copy.cold, 0x1122334455667788ull);
	cr_assert_eq(copy.hot.tcp.state, CT_S_ESTABLISHED);
	ct_table_del(t, (uint32_t)pos);
	for (uint32_t i = 0; i < 2 * ct_table_positions(t); i++) { /* reuse every position */
		int32_t q = add_flow(t, 1000 + i, CT_S_ESTABLISHED, 0);

		cr_assert_geq(q, 0);
		cr_assert_eq(*(uint64_t *)ct_table_cold(t, (uint32_t)q), 0, "position %d", q);
		ct_table_del(t, (uint32_t)q);
		rte_rcu_qsbr_quiescent(ct_table_qsbr(t), 0);
	}
	cr_assert_eq(ct_table_reader_unregister(t, 0), 0);
	ct_table_free(t);
}
