/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the flow table (lib/table): add, lookup (single and bulk of 64), delete, both
 * directions of a parsed connection reaching one flow, the table-full policy (the oldest embryonic
 * flow is evicted; with only established flows new ones are refused and nothing is disturbed),
 * exact expiry and lazy re-arm (by the wheel at cascade time, and by the expiry path for a flow
 * touched in its last ticks) including the 32-bit last_seen wrap, and flush. The reader API and
 * the memory per flow: test_table_read.c. Each test runs in its own Criterion child process,
 * which starts EAL without hugepages in the suite's init.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ct_parse.h"
#include "ct_table.h"
#include "table_helpers.h"
#include "tl_frame.h"

TestSuite(table, .init = eal_up, .fini = eal_down);

Test(table, add_then_lookup_finds_the_flow_and_del_removes_it)
{
	struct ct_table *t = mk("t_basic", 100, 0);
	int32_t pos = add_flow(t, 7, CT_S_ESTABLISHED, 0);

	cr_assert_geq(pos, 0);
	cr_assert_eq(ct_table_count(t), 1);
	cr_assert_eq(lookup(t, 7), pos);
	cr_assert_eq(lookup(t, 8), -ENOENT);
	cr_assert_eq(ct_table_flow(t, (uint32_t)pos)->tcp.state, CT_S_ESTABLISHED);

	struct ct_flow_key k = key_of(7);
	cr_assert_eq(table_add(t, &k, 0), -EEXIST);
	cr_assert_eq(ct_table_count(t), 1);

	ct_table_del(t, (uint32_t)pos);
	cr_assert_eq(lookup(t, 7), -ENOENT);
	cr_assert_eq(ct_table_count(t), 0);
	cr_assert_eq(st.flows_created, 1);
	cr_assert_eq(ends[CT_TABLE_END_DELETED], 1);
	ct_table_del(t, (uint32_t)pos); /* second delete of the same position: ignored */
	cr_assert_eq(ends[CT_TABLE_END_DELETED], 1);
	ct_table_free(t);
}

Test(table, add_gives_a_zeroed_record_with_last_seen_now)
{
	struct ct_table *t = mk("t_zero", 100, 0);
	struct ct_flow_key k = key_of(1);
	int32_t pos = table_add(t, &k, 0x123456789ull);
	struct ct_flow *f = ct_table_flow(t, (uint32_t)pos);

	cr_assert_eq(f->last_seen, 0x23456789u);
	cr_assert_eq(f->tcp.state, CT_S_NONE);
	cr_assert_eq(f->pkts[0] | f->pkts[1] | f->bytes_lo[0] | f->bytes_lo[1], 0);
	cr_assert_eq(f->flags, 0);
	ct_table_free(t);
}

/* Ethernet (zero MACs) + IPv4 + TCP frame from (sa, sp) to (da, dp): seq 1, ack 2. */
static uint32_t
frame(uint8_t *b, uint32_t sa, uint16_t sp, uint32_t da, uint16_t dp, uint8_t flags)
{
	struct tl_frame_spec s;
	long n;

	tl_frame_spec_v4(&s, sa, sp, da, dp);
	s.flags = flags;
	s.seq = 1;
	s.ack = 2;
	s.win = 0xff00;
	n = tl_frame_write(&s, b, 64, NULL);
	cr_assert_eq(n, 54);
	return (uint32_t)n;
}

Test(table, both_directions_of_a_parsed_connection_find_the_same_flow)
{
	struct ct_table *t = mk("t_dirs", 100, 0);
	uint8_t b[64];
	struct ct_pkt syn, synack;

	/* Client 198.51.100.7:40000 is the larger endpoint: the key stores it second. */
	cr_assert_eq(ct_parse_pkt(b, frame(b, 0xc6336407, 40000, 0xc0000201, 443, CT_TCPF_SYN),
	                          NULL, &syn),
	             CT_PARSE_OK);
	cr_assert_eq(ct_parse_pkt(b,
	                          frame(b, 0xc0000201, 443, 0xc6336407, 40000,
	                                CT_TCPF_SYN | CT_TCPF_ACK),
	                          NULL, &synack),
	             CT_PARSE_OK);
	cr_assert_neq(syn.swapped, synack.swapped);

	int32_t pos = table_add(t, &syn.key, 0);
	cr_assert_geq(pos, 0);
	ct_table_arm(t, (uint32_t)pos, 0);

	const struct ct_flow_key *kp = &synack.key;
	int32_t found;
	cr_assert_eq(lookup_bulk(t, &kp, 1, &found), 1);
	cr_assert_eq(found, pos);
	cr_assert_eq(table_add(t, &synack.key, 0), -EEXIST);
	ct_table_free(t);
}

Test(table, lookup_bulk_of_64_keys_reports_each_hit_and_miss)
{
	struct ct_table *t = mk("t_bulk", 1000, 0);
	struct ct_flow_key keys[64];
	const struct ct_flow_key *kp[64];
	int32_t want[64], pos[64];

	for (uint32_t i = 0; i < 64; i++) {
		keys[i] = key_of(i);
		kp[i] = &keys[i];
		want[i] = i % 3 == 0 ? -ENOENT : add_flow(t, i, CT_S_ESTABLISHED, 0);
	}
	cr_assert_eq(lookup_bulk(t, kp, 64, pos), 64 - 22);
	for (unsigned int i = 0; i < 64; i++)
		cr_assert_eq(pos[i], want[i], "key %u: %d != %d", i, pos[i], want[i]);
	cr_assert_eq(lookup_bulk(t, kp, 65, pos), -EINVAL);
	cr_assert_eq(lookup_bulk(t, kp, 0, pos), -EINVAL);
	ct_table_free(t);
}

Test(table, capacity_is_at_least_the_request_and_fits_positions)
{
	struct ct_table *t = mk("t_cap", 100, 0);

	cr_assert_geq(ct_table_capacity(t), 100);
	cr_assert_eq(ct_table_positions(t), 127);
	cr_assert_lt(ct_table_capacity(t), ct_table_positions(t));
	ct_table_free(t);

	struct ct_table_params p = params("t_bad", 0, 0);
	cr_assert_null(ct_table_create(&p));
	cr_assert_eq(rte_errno, EINVAL);
	p.capacity = 10;
	p.name = "name_far_too_long_for_a_table";
	cr_assert_null(ct_table_create(&p));
	cr_assert_eq(rte_errno, EINVAL);
	p.name = "t_bad";
	pol.timeout[CT_S_ESTABLISHED] = 300 * 10000000u; /* 300 s of 0.1 us ticks: over 2^31 */
	cr_assert_null(ct_table_create(&p));
	cr_assert_eq(rte_errno, EINVAL);
	p = params("t_bad", 10, 0);
	p.key_len = 41; /* keys are copied in 8-byte words */
	cr_assert_null(ct_table_create(&p));
	cr_assert_eq(rte_errno, EINVAL);
	p = params("t_bad", 10, 0);
	p.rec.class_off = 64; /* outside the record */
	cr_assert_null(ct_table_create(&p));
	cr_assert_eq(rte_errno, EINVAL);
}

Test(table, same_name_twice_gives_eexist)
{
	struct ct_table *t = mk("t_dup", 100, 0);
	struct ct_table_params p = params("t_dup", 100, 0);

	cr_assert_null(ct_table_create(&p));
	cr_assert_eq(rte_errno, EEXIST);
	ct_table_free(t);
}

/*
 * Fill: established flows, then the last 12: three created embryonic that became established
 * (stale FIFO entries), then SYN_RECV, ESTABLISHED, SYN_SENT, ESTABLISHED, SYN_SENT2, ... A new
 * flow must evict the SYN_RECV one (the oldest flow still embryonic) and nothing else; the next
 * new flow the SYN_SENT one after it.
 */
Test(table, table_at_high_water_evicts_the_oldest_embryonic_flow)
{
	static const uint8_t last[12] = {CT_S_SYN_SENT,    CT_S_SYN_SENT,    CT_S_SYN_RECV,
	                                 CT_S_SYN_RECV,    CT_S_ESTABLISHED, CT_S_SYN_SENT,
	                                 CT_S_ESTABLISHED, CT_S_SYN_SENT2,   CT_S_ESTABLISHED,
	                                 CT_S_SYN_SENT,    CT_S_FIN_WAIT,    CT_S_SYN_RECV};
	struct ct_table *t = mk("t_evict", 100, 0);
	uint32_t hw = ct_table_high_water(t), base = hw - 12;

	for (uint32_t i = 0; i < hw; i++) {
		uint8_t st = i < base ? CT_S_ESTABLISHED : last[i - base];
		int32_t pos = add_flow(t, i, st, 0);

		cr_assert_geq(pos, 0, "flow %u of %u: %d", i, hw, pos);
		if (i >= base && i < base + 3)
			ct_table_flow(t, (uint32_t)pos)->tcp.state = CT_S_ESTABLISHED;
	}
	cr_assert_eq(ct_table_count(t), hw);
	cr_assert_geq(add_flow(t, 1000000, CT_S_SYN_SENT, 1), 0);
	cr_assert_eq(st.flows_evicted, 1);
	cr_assert_eq(ct_table_count(t), hw);
	cr_assert_eq(lookup(t, base + 3), -ENOENT);
	for (uint32_t i = 0; i < hw; i++)
		if (i != base + 3)
			cr_assert_geq(lookup(t, i), 0, "flow %u lost", i);

	cr_assert_geq(add_flow(t, 1000001, CT_S_SYN_SENT, 2), 0);
	cr_assert_eq(lookup(t, base + 5), -ENOENT);
	cr_assert_geq(lookup(t, base + 4), 0);
	cr_assert_geq(lookup(t, 1000000), 0);
	cr_assert_eq(st.flows_evicted, 2);
	cr_assert_eq(st.flows_refused, 0);
	ct_table_free(t);
}

/* More embryonic flows than the FIFO holds: the newest are still evictable, oldest first. */
Test(table, table_of_embryonic_flows_at_high_water_evicts_one_per_new_flow)
{
	struct ct_table *t = mk("t_synflood", 1000, 0);
	uint32_t hw = ct_table_high_water(t);

	cr_assert_lt(hw, ct_table_capacity(t));

	for (uint32_t i = 0; i < hw; i++)
		cr_assert_geq(add_flow(t, i, CT_S_SYN_SENT, 0), 0);
	for (uint32_t i = 0; i < 100; i++)
		cr_assert_geq(add_flow(t, 100000 + i, CT_S_SYN_SENT, 1), 0, "new flow %u", i);
	cr_assert_eq(st.flows_evicted, 100);
	cr_assert_eq(st.flows_refused, 0);
	cr_assert_eq(ct_table_count(t), hw);
	for (uint32_t i = 0; i < 100; i++)
		cr_assert_geq(lookup(t, 100000 + i), 0);
	ct_table_free(t);
}

Test(table, full_table_of_established_flows_refuses_new_flows_and_keeps_all)
{
	struct ct_table *t = mk("t_refuse", 100, 0);
	uint32_t cap = ct_table_capacity(t);

	for (uint32_t i = 0; i < cap; i++)
		cr_assert_geq(add_flow(t, i, CT_S_ESTABLISHED, 0), 0);
	for (uint32_t i = 0; i < 5; i++) {
		struct ct_flow_key k = key_of(5000 + i);

		cr_assert_eq(table_add(t, &k, 1), -ENOSPC);
	}
	cr_assert_eq(st.flows_refused, 5);
	cr_assert_eq(st.flows_evicted, 0);
	cr_assert_eq(ct_table_count(t), cap);
	cr_assert_gt(cap, ct_table_high_water(t)); /* established flows go past high water */
	for (uint32_t i = 0; i < cap; i++)
		cr_assert_geq(lookup(t, i), 0, "flow %u lost", i);
	/* Room again after one delete. */
	ct_table_del(t, (uint32_t)lookup(t, 0));
	cr_assert_geq(add_flow(t, 5000, CT_S_SYN_SENT, 2), 0);
	ct_table_free(t);
}

Test(table, idle_flow_expires_exactly_at_last_seen_plus_timeout)
{
	struct ct_table *t = mk("t_exp", 100, 1000);
	int32_t pos = add_flow(t, 1, CT_S_ESTABLISHED, 1000);
	uint64_t dl = 1000 + 300 * TPS;

	cr_assert_eq(ct_table_expire(t, dl - 1, 64), 0);
	cr_assert_eq(lookup(t, 1), pos);
	cr_assert_eq(ct_table_expire(t, dl, 64), 1);
	cr_assert_eq(lookup(t, 1), -ENOENT);
	cr_assert_eq(ct_table_count(t), 0);
	cr_assert_eq(st.flows_expired, 1);
	cr_assert_eq(st.flows_rearmed, 0);
	ct_table_free(t);
}

/*
 * A packet only moves last_seen. The timer (300 s: filed in a high level of the wheel) is re-filed
 * for the new deadline by the wheel's deadline callback when it cascades: it never fires at the
 * first deadline, so nothing is re-armed by the expiry path.
 */
Test(table, touched_flow_is_refiled_at_cascade_and_survives_its_first_deadline)
{
	struct ct_table *t = mk("t_lazy", 100, 0);
	int32_t a = add_flow(t, 1, CT_S_ESTABLISHED, 0);

	add_flow(t, 2, CT_S_ESTABLISHED, 0);
	ct_table_flow(t, (uint32_t)a)->last_seen = 100 * TPS;
	cr_assert_eq(ct_table_expire(t, 300 * TPS, 64), 1); /* flow 2 */
	cr_assert_eq(lookup(t, 2), -ENOENT);
	cr_assert_eq(lookup(t, 1), a);
	cr_assert_eq(st.flows_rearmed, 0, "re-filed by the wheel, not fired");
	cr_assert_eq(ct_table_expire(t, 400 * TPS - 1, 64), 0);
	cr_assert_eq(ct_table_expire(t, 400 * TPS, 64), 1);
	cr_assert_eq(lookup(t, 1), -ENOENT);
	cr_assert_eq(st.flows_expired, 2);
	ct_table_free(t);
}

/*
 * A packet after the timer's last cascade (its final 256 ticks, level 0): the timer fires at the
 * old deadline, the expiry path finds the flow not due and re-arms it for the new one.
 */
Test(table, flow_touched_in_its_last_ticks_fires_and_is_rearmed_by_expiry)
{
	struct ct_table *t = mk("t_rearm", 100, 0);
	int32_t a = add_flow(t, 1, CT_S_ESTABLISHED, 0);
	uint64_t touch = 300 * TPS - 100;

	cr_assert_eq(ct_table_expire(t, touch - 1, 64), 0); /* past the last cascade */
	ct_table_flow(t, (uint32_t)a)->last_seen = (uint32_t)touch;
	cr_assert_eq(ct_table_expire(t, 300 * TPS, 64), 0);
	cr_assert_eq(st.flows_rearmed, 1);
	cr_assert_eq(lookup(t, 1), a);
	cr_assert_eq(ct_table_expire(t, touch + 300 * TPS - 1, 64), 0);
	cr_assert_eq(ct_table_expire(t, touch + 300 * TPS, 64), 1);
	cr_assert_eq(lookup(t, 1), -ENOENT);
	ct_table_free(t);
}

Test(table, time_wait_expires_at_240s_within_one_tick)
{
	struct ct_table *t = mk("t_tw", 100, 0);
	int32_t pos = add_flow(t, 1, CT_S_ESTABLISHED, 0);
	struct ct_flow *f = ct_table_flow(t, (uint32_t)pos);
	uint64_t closed = 100 * TPS + 17; /* the last ACK of the close */

	cr_assert_eq(ct_table_expire(t, closed - 1, 1000), 0);
	f->last_seen = (uint32_t)closed;
	f->tcp.state = CT_S_TIME_WAIT;
	ct_table_arm(t, (uint32_t)pos, closed); /* the deadline moved earlier: re-arm */
	cr_assert_eq(ct_table_expire(t, closed + 240 * TPS - 1, 1000), 0);
	cr_assert_eq(lookup(t, 1), pos);
	cr_assert_eq(ct_table_expire(t, closed + 240 * TPS, 1000), 1);
	cr_assert_eq(lookup(t, 1), -ENOENT);
	ct_table_free(t);
}

Test(table, expiry_is_exact_across_the_32_bit_wrap_of_last_seen)
{
	uint64_t start = (UINT64_C(1) << 32) * 3 - 2 * TPS; /* 2 s before a wrap */
	struct ct_table *t = mk("t_wrap", 100, start);
	int32_t a = add_flow(t, 1, CT_S_LAST_ACK, start); /* 30 s */
	int32_t b = add_flow(t, 2, CT_S_LAST_ACK, start);

	cr_assert_eq(ct_table_flow(t, (uint32_t)a)->last_seen, UINT32_MAX - 2 * TPS + 1);
	/* Flow 2 sees a packet after the wrap: last_seen is small again. */
	ct_table_flow(t, (uint32_t)b)->last_seen = (uint32_t)(start + 5 * TPS);
	cr_assert_eq(ct_table_expire(t, start + 30 * TPS - 1, 64), 0);
	cr_assert_eq(ct_table_expire(t, start + 30 * TPS, 64), 1);
	cr_assert_eq(lookup(t, 1), -ENOENT);
	cr_assert_eq(lookup(t, 2), b);
	cr_assert_eq(ct_table_expire(t, start + 35 * TPS - 1, 64), 0);
	cr_assert_eq(ct_table_expire(t, start + 35 * TPS, 64), 1);
	cr_assert_eq(ct_table_count(t), 0);
	ct_table_free(t);
}

Test(table, expire_processes_at_most_max_timers_per_call)
{
	struct ct_table *t = mk("t_max", 1000, 0);

	for (uint32_t i = 0; i < 200; i++)
		add_flow(t, i, CT_S_CLOSE, 0);
	cr_assert_eq(ct_table_expire(t, 10 * TPS, 150), 150);
	cr_assert_eq(ct_table_count(t), 50);
	cr_assert_eq(ct_table_expire(t, 10 * TPS, 150), 50);
	cr_assert_eq(ct_table_count(t), 0);
	ct_table_free(t);
}

Test(table, flush_deletes_every_flow_including_unarmed_ones)
{
	struct ct_table *t = mk("t_flush", 1000, 0);
	struct ct_flow_key k = key_of(999);

	for (uint32_t i = 0; i < 500; i++)
		add_flow(t, i, CT_S_ESTABLISHED, 0);
	cr_assert_geq(table_add(t, &k, 0), 0); /* never armed */
	cr_assert_eq(ct_table_flush(t), 501);
	cr_assert_eq(ct_table_count(t), 0);
	cr_assert_eq(st.flows_flushed, 501);
	cr_assert_eq(ends[CT_TABLE_END_FLUSHED], 501);
	for (uint32_t i = 0; i < 500; i += 7)
		cr_assert_eq(lookup(t, i), -ENOENT);
	cr_assert_eq(ct_table_expire(t, 1000 * TPS, 1000), 0); /* timers were stopped */
	/* Every position comes back. */
	for (uint32_t i = 0; i < ct_table_capacity(t); i++)
		cr_assert_geq(add_flow(t, 10000 + i, CT_S_ESTABLISHED, 1), 0);
	ct_table_free(t);
}

/*
 * A class change re-files the timer only when the new timeout is shorter: to a longer class
 * (SYN_RECV 60 s -> ESTABLISHED 300 s) the timer stays where it was and is re-filed lazily (at
 * its cascade), the flow still expiring exactly at its new deadline; to a shorter class
 * (ESTABLISHED -> LAST_ACK 30 s) it is re-filed at once.
 */
Test(table, class_change_rearms_only_for_a_shorter_timeout_and_expiry_stays_exact)
{
	struct ct_table *t = mk("t_reclass", 100, 0);
	int32_t a = add_flow(t, 1, CT_S_SYN_RECV, 0), b = add_flow(t, 2, CT_S_ESTABLISHED, 0);
	struct ct_flow *fa = ct_table_flow(t, (uint32_t)a), *fb = ct_table_flow(t, (uint32_t)b);
	uint64_t now = 10 * TPS;

	fa->last_seen = (uint32_t)now;
	fa->tcp.state = CT_S_ESTABLISHED;
	ct_table_rearm(t, (uint32_t)a, now, CT_S_SYN_RECV);
	fb->last_seen = (uint32_t)now;
	fb->tcp.state = CT_S_LAST_ACK;
	ct_table_rearm(t, (uint32_t)b, now, CT_S_ESTABLISHED);
	cr_assert_eq(ct_table_expire(t, now + 30 * TPS - 1, 64), 0);
	cr_assert_eq(ct_table_expire(t, now + 30 * TPS, 64), 1, "LAST_ACK: re-filed at once");
	cr_assert_eq(lookup(t, 2), -ENOENT);
	cr_assert_eq(ct_table_expire(t, 60 * TPS, 64), 0, "the old SYN_RECV deadline passes");
	cr_assert_eq(lookup(t, 1), a);
	cr_assert_eq(ct_table_expire(t, now + 300 * TPS - 1, 1000), 0);
	cr_assert_eq(ct_table_expire(t, now + 300 * TPS, 64), 1);
	cr_assert_eq(lookup(t, 1), -ENOENT);
	ct_table_free(t);
}
