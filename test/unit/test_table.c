/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the flow table (lib/table): add, lookup (single and bulk of 64), delete, both
 * directions of a parsed connection reaching one flow, the table-full policy (the oldest embryonic
 * flow is evicted; with only established flows new ones are refused and nothing is disturbed),
 * exact expiry and lazy re-arm (by the wheel at cascade time, and by the expiry path for a flow
 * touched in its last ticks) including the 32-bit last_seen wrap, flush, the reader API
 * (unpublished records invisible, deleted positions not reused while a reader is online, an add
 * waiting for readers only when every free position is in its grace period), and the memory per
 * flow, everything included (<= 128 B, checked against the DPDK heap's own accounting). Each
 * test runs in its own Criterion child process, which starts EAL without hugepages in the suite's
 * init.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_rcu_qsbr.h>

#include "ct_parse.h"
#include "ct_table.h"
#include "ct_worker.h" /* struct ct_flow: a 64-byte record with a class byte (tcp.state) */
#include "tl_eal.h"
#include "tl_frame.h"

#define TPS 1000 /* ticks per second in these tests: 1 ms */

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

static void
eal_up_mem(unsigned int mem_mb)
{
	cr_assert_eq(tl_eal_up("test_table", "0", mem_mb), 0, "rte_eal_init: %s",
	             rte_strerror(rte_errno));
}

static void
eal_up(void)
{
	eal_up_mem(512);
}

static void
eal_up_big(void)
{
	eal_up_mem(2600);
}

static void
eal_down(void)
{
	rte_eal_cleanup();
}

TestSuite(table, .init = eal_up, .fini = eal_down);
TestSuite(table_big, .init = eal_up_big, .fini = eal_down);

/* Timeouts: distinct per state so a wrong state lookup shows. */
static struct ct_tcp_conf conf = {
        .timeouts = {.ms = {[CT_S_NONE] = 5000,
                            [CT_S_SYN_SENT] = 120000,
                            [CT_S_SYN_RECV] = 60000,
                            [CT_S_ESTABLISHED] = 300000,
                            [CT_S_FIN_WAIT] = 120000,
                            [CT_S_CLOSE_WAIT] = 60000,
                            [CT_S_LAST_ACK] = 30000,
                            [CT_S_TIME_WAIT] = 240000,
                            [CT_S_CLOSE] = 10000,
                            [CT_S_SYN_SENT2] = 120000}},
};

/*
 * The owner's side, as the worker does it: records are struct ct_flow, the class is the
 * conntrack state, the policy gives each state its timeout (ms = ticks here) and marks the
 * handshake states embryonic; the table counts into st and reports every end into ends[].
 */
static struct ct_lcore_stats st;
static struct ct_table_policy pol;
static unsigned int ends[CT_TABLE_END_MAX];

static void
on_end(void *arg, uint32_t pos, const void *rec, enum ct_table_end why)
{
	(void)arg;
	(void)pos;
	(void)rec;
	ends[why]++;
}

static struct ct_table_params
params(const char *name, uint32_t capacity, uint64_t now)
{
	memset(&pol, 0, sizeof(pol));
	for (unsigned int s = 0; s < CT_S_MAX; s++)
		pol.timeout[s] = conf.timeouts.ms[s] * TPS / 1000;
	pol.embryonic = 1u << CT_S_SYN_SENT | 1u << CT_S_SYN_RECV | 1u << CT_S_SYN_SENT2;
	return (struct ct_table_params){
	        .name = name,
	        .capacity = capacity,
	        .socket_id = SOCKET_ID_ANY,
	        .key_len = sizeof(struct ct_flow_key),
	        .rec = {.size = sizeof(struct ct_flow),
	                .node_off = offsetof(struct ct_flow, tm),
	                .last_seen_off = offsetof(struct ct_flow, last_seen),
	                .class_off = offsetof(struct ct_flow, tcp.state)},
	        .policy = &pol,
	        .stats = &st,
	        .on_end = on_end,
	        .now = now,
	};
}

static struct ct_table *
mk(const char *name, uint32_t capacity, uint64_t now)
{
	struct ct_table_params p = params(name, capacity, now);
	struct ct_table *t = ct_table_create(&p);

	cr_assert_not_null(t, "ct_table_create: %s", rte_strerror(rte_errno));
	memset(&st, 0, sizeof(st));
	memset(ends, 0, sizeof(ends));
	return t;
}

#define ct_table_flow(t, pos) ((struct ct_flow *)ct_table_rec((t), (pos)))

static uint32_t
sig_of(const struct ct_flow_key *k)
{
	return ct_table_hash(k, sizeof(*k));
}

/* Add @p k unless present (-EEXIST), as the worker does after a lookup miss. */
static int32_t
table_add(struct ct_table *t, const struct ct_flow_key *k, uint64_t now)
{
	unsigned int evicted;

	if (ct_table_lookup(t, k, sig_of(k)) >= 0)
		return -EEXIST;
	return ct_table_add(t, k, sig_of(k), now, &evicted);
}

/* ct_table_lookup_bulk() with the keys' signatures. */
static int
lookup_bulk(struct ct_table *t, const struct ct_flow_key **kp, unsigned int n, int32_t *pos)
{
	uint32_t sigs[CT_TABLE_BULK_MAX];

	for (unsigned int i = 0; i < n && i < CT_TABLE_BULK_MAX; i++)
		sigs[i] = sig_of(kp[i]);
	return ct_table_lookup_bulk(t, (const void *const *)kp, sigs, n, pos);
}

/* Canonical IPv4 key of flow number i (distinct for distinct i). */
static struct ct_flow_key
key_of(uint32_t i)
{
	struct ct_flow_key k;

	memset(&k, 0, sizeof(k));
	k.addr[0][10] = k.addr[0][11] = 0xff;
	k.addr[1][10] = k.addr[1][11] = 0xff;
	k.addr[0][12] = 10;
	memcpy(&k.addr[0][13], (uint8_t[]){(uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i}, 3);
	k.addr[1][12] = 192;
	k.addr[1][13] = 168;
	k.port[0] = htons((uint16_t)(1024 + (i & 0x7fff)));
	k.port[1] = htons(80);
	k.proto = 6;
	k.family = 4;
	return k;
}

static int32_t
add_flow(struct ct_table *t, uint32_t i, uint8_t state, uint64_t now)
{
	struct ct_flow_key k = key_of(i);
	int32_t pos = table_add(t, &k, now);

	if (pos >= 0) {
		ct_table_flow(t, (uint32_t)pos)->tcp.state = state;
		ct_table_arm(t, (uint32_t)pos, now);
	}
	return pos;
}

static int32_t
lookup(struct ct_table *t, uint32_t i)
{
	struct ct_flow_key k = key_of(i);
	const struct ct_flow_key *kp = &k;
	int32_t pos;

	cr_assert_geq(lookup_bulk(t, &kp, 1, &pos), 0);
	return pos;
}

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
