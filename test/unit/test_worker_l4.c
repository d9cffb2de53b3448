/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pipeline (lib/worker) on packets that are not TCP, mbufs built in memory (EAL without
 * hugepages): a DNS-like query and answer is one UDP flow, replied but not assured; a UDP
 * stream is ASSURED once a packet comes more than 2 s after the first, and its timeout becomes
 * udp_stream; an echo request and its reply are one ICMP flow and a reply alone is INVALID; an
 * ICMP error is RELATED to the flow it quotes in either direction (a port unreachable ends
 * nothing and refreshes nothing), or INVALID when that flow is not tracked; GRE is one generic
 * flow; the counters add up; a full table evicts an UNREPLIED UDP flow before anything assured;
 * `set timeout udp` reaches the table's policy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "ct_l4.h"
#include "ct_parse.h"
#include "ct_stats.h"
#include "ct_table.h"
#include "ct_worker.h"
#include "tl_eal.h"
#include "tl_frame.h"

static struct rte_mempool *pool;
static struct ct_worker *w;

static void
eal_up(void)
{
	cr_assert_eq(tl_eal_up("test_worker_l4", "0", 512), 0, "rte_eal_init: %s",
	             rte_strerror(rte_errno));
	pool = tl_pool_create("worker_l4", 255);
	cr_assert_not_null(pool, "mempool: %s", rte_strerror(rte_errno));
}

static void
eal_down(void)
{
	rte_mempool_free(pool);
	rte_eal_cleanup();
}

TestSuite(worker_l4, .init = eal_up, .fini = eal_down, .timeout = 60);

static void
worker_up(uint32_t capacity)
{
	static unsigned int n;
	char name[16];
	struct ct_worker_params p = {.capacity = capacity, .socket_id = SOCKET_ID_ANY, .now = 1};

	snprintf(name, sizeof(name), "wl4_%u", n++);
	p.name = name;
	w = ct_worker_create(&p);
	cr_assert_not_null(w, "ct_worker_create: %s", rte_strerror(rte_errno));
}

/* One frame through the worker at @p now: its verdict. */
static uint8_t
run1(const struct tl_frame *f, uint64_t now)
{
	struct rte_mbuf *m = tl_mbuf_from(pool, f->b, f->len, 0);
	uint8_t v = 0xff;

	cr_assert_not_null(m);
	ct_worker_process_burst(w, &m, 1, now, &v);
	rte_pktmbuf_free(m);
	return v;
}

#define A 0x0a000001u /* 10.0.0.1: client */
#define B 0x0a000002u /* 10.0.0.2: server */
#define R 0x0a0000feu /* 10.0.0.254: a router */

static void
udp(struct tl_frame *f, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint16_t len)
{
	struct tl_frame_spec s;

	tl_frame_spec_v4(&s, src, sport, dst, dport);
	cr_assert_gt(tl_frame_udp(&s, f, len), 0);
}

static void
icmp(struct tl_frame *f, uint32_t src, uint32_t dst, uint8_t type, uint8_t code, uint16_t id,
     const struct tl_frame *quote, unsigned int qlen)
{
	struct tl_frame_spec s;

	tl_frame_spec_v4(&s, src, 0, dst, 0);
	cr_assert_gt(tl_frame_icmp(&s, f, type, code, id, 1, quote ? quote->b + quote->l3 : NULL,
	                           (uint16_t)(quote ? qlen : 56)),
	             0);
}

/* The flow whose key a frame's packet has (an ICMP error: the quoted one). */
static bool
flow_of(const struct tl_frame *f, struct ct_flow *out)
{
	struct ct_pkt p;
	int32_t pos;

	cr_assert_eq(ct_parse_pkt(f->b, f->len, NULL, &p), CT_PARSE_OK);
	pos = ct_table_lookup(ct_worker_table(w), &p.key, ct_table_hash(&p.key, sizeof(p.key)));
	if (pos < 0)
		return false;
	memcpy(out, ct_table_rec(ct_worker_table(w), (uint32_t)pos), sizeof(*out));
	return true;
}

static void
counters_add_up(void)
{
	const struct ct_lcore_stats *s = ct_worker_stats(w);
	uint64_t tracked =
	        s->tcp_pkts + s->udp_pkts + s->icmp_pkts + s->icmp_errors + s->other_pkts;
	uint64_t reasons = 0;

	cr_assert_eq(s->rx_pkts, tracked + s->not_tcp + s->parse_drop);
	cr_assert_eq(tracked, s->accepted + s->invalid + s->flows_refused + s->icmp_related);
	for (unsigned int r = 0; r < CT_R_MAX; r++)
		reasons += s->reason[r];
	for (unsigned int r = 0; r < CT_L4R_MAX; r++)
		reasons += s->l4reason[r];
	cr_assert_eq(reasons, s->invalid);
}

Test(worker_l4, dns_query_and_answer_is_one_replied_flow)
{
	struct tl_frame q, a;
	struct ct_flow f;
	uint64_t by[CT_CLASS_MAX];

	worker_up(64);
	udp(&q, A, 40000, B, 53, 30);
	udp(&a, B, 53, A, 40000, 120);
	cr_assert_eq(run1(&q, 100), CT_WV_NEW);
	cr_assert(flow_of(&q, &f));
	cr_assert_eq(f.l4.state, CT_L4S_UDP_UNREPLIED);
	cr_assert_eq(run1(&a, 130), CT_WV_ACCEPT);
	cr_assert(flow_of(&a, &f));
	cr_assert_eq(f.l4.state, CT_L4S_UDP_REPLIED);
	cr_assert_eq(f.pkts[CT_DIR_ORIG], 1);
	cr_assert_eq(f.pkts[CT_DIR_REPLY], 1);
	cr_assert_eq(ct_flow_bytes(&f, CT_DIR_ORIG), 20 + 8 + 30);
	cr_assert_eq(ct_flow_bytes(&f, CT_DIR_REPLY), 20 + 8 + 120);
	cr_assert_not(f.l4.flags & CT_F_ASSURED);
	cr_assert_eq(ct_flow_timeout_ms(&f, ct_worker_tcp_conf(w), ct_worker_l4_conf(w)), 30000);
	ct_worker_flows_by_state(w, by);
	cr_assert_eq(by[CT_L4S_UDP_REPLIED], 1);
	cr_assert_eq(ct_worker_stats(w)->udp_pkts, 2);
	counters_add_up();
	/* idle for the udp timeout: expired */
	cr_assert_eq(ct_worker_tick(w, 130 + 30000 + 1000), 1);
	cr_assert_not(flow_of(&q, &f));
	ct_worker_free(w);
}

Test(worker_l4, udp_stream_is_assured_after_two_seconds)
{
	struct tl_frame q, a;
	struct ct_flow f;

	worker_up(64);
	udp(&q, B, 5004, A, 5004, 160); /* the larger address first: a swapped key */
	udp(&a, A, 5004, B, 5004, 160);
	cr_assert_eq(run1(&q, 1000), CT_WV_NEW);
	cr_assert_eq(run1(&a, 1020), CT_WV_ACCEPT);
	cr_assert_eq(run1(&q, 1040), CT_WV_ACCEPT);
	cr_assert(flow_of(&q, &f));
	cr_assert_eq(f.l4.state, CT_L4S_UDP_REPLIED);
	cr_assert_eq(f.pkts[CT_DIR_ORIG], 2, "the first sender is the client");
	cr_assert_eq(run1(&a, 3001), CT_WV_ACCEPT);
	cr_assert(flow_of(&q, &f));
	cr_assert_eq(f.l4.state, CT_L4S_UDP_ASSURED);
	cr_assert(f.l4.flags & CT_F_ASSURED);
	cr_assert_eq(f.pkts[CT_DIR_REPLY], 2);
	/* the stream timeout (120 s) keeps it past the udp one (30 s) */
	ct_worker_tick(w, 3001 + 60000);
	cr_assert(flow_of(&q, &f));
	ct_worker_tick(w, 3001 + 121000);
	cr_assert_not(flow_of(&q, &f));
	ct_worker_free(w);
}

Test(worker_l4, echo_request_reply_and_a_lone_reply)
{
	struct tl_frame req, rep, lone;
	struct ct_flow f;

	worker_up(64);
	icmp(&req, A, B, 8, 0, 0x4242, NULL, 0);
	icmp(&rep, B, A, 0, 0, 0x4242, NULL, 0);
	icmp(&lone, B, A, 0, 0, 0x4343, NULL, 0);
	cr_assert_eq(run1(&req, 10), CT_WV_NEW);
	cr_assert_eq(run1(&rep, 11), CT_WV_ACCEPT);
	cr_assert(flow_of(&req, &f));
	cr_assert_eq(f.l4.state, CT_L4S_ICMP_REPLIED);
	cr_assert_eq(f.l4.icmp_type, 8);
	cr_assert_eq(f.pkts[CT_DIR_REPLY], 1);
	cr_assert_eq(run1(&lone, 12), CT_WV_INVALID);
	cr_assert_eq(ct_worker_stats(w)->l4reason[CT_L4R_ICMP_REPLY_NO_FLOW], 1);
	cr_assert_not(flow_of(&lone, &f));
	cr_assert_eq(ct_worker_stats(w)->icmp_pkts, 3);
	counters_add_up();
	ct_worker_free(w);
}

Test(worker_l4, port_unreachable_is_related_and_ends_nothing)
{
	struct tl_frame q, unreach, back, stray;
	struct ct_flow before, after;
	uint64_t by[CT_CLASS_MAX];

	worker_up(64);
	udp(&q, A, 40001, B, 33434, 12);
	icmp(&unreach, B, A, 3, 3, 0, &q, 28);
	cr_assert_eq(run1(&q, 100), CT_WV_NEW);
	cr_assert(flow_of(&q, &before));
	cr_assert_eq(run1(&unreach, 200), CT_WV_ACCEPT);
	cr_assert(flow_of(&q, &after));
	cr_assert(after.flags & CT_FLOW_F_RELATED);
	cr_assert_eq(after.l4.state, CT_L4S_UDP_UNREPLIED, "an error is no reply");
	cr_assert_eq(after.last_seen, before.last_seen, "an error refreshes no timer");
	cr_assert_eq(after.pkts[0] + after.pkts[1], 1);
	cr_assert_eq(ct_worker_stats(w)->icmp_related, 1);
	cr_assert_eq(ct_worker_stats(w)->icmp_errors, 1);
	/* an error about the other direction (a router's time exceeded on the reply) */
	udp(&back, B, 33434, A, 40001, 12);
	icmp(&unreach, R, B, 11, 0, 0, &back, 28);
	cr_assert_eq(run1(&unreach, 300), CT_WV_ACCEPT);
	cr_assert_eq(ct_worker_stats(w)->icmp_related, 2);
	/* an error about a flow nobody tracks */
	udp(&stray, A, 1, B, 2, 0);
	icmp(&unreach, B, A, 3, 3, 0, &stray, 28);
	cr_assert_eq(run1(&unreach, 400), CT_WV_INVALID);
	cr_assert_eq(ct_worker_stats(w)->l4reason[CT_L4R_ICMP_ERROR_UNTRACKED], 1);
	cr_assert_not(flow_of(&stray, &after), "an error never makes a flow");
	ct_worker_flows_by_state(w, by);
	cr_assert_eq(by[CT_L4S_UDP_UNREPLIED], 1);
	counters_add_up();
	ct_worker_free(w);
}

Test(worker_l4, packet_too_big_is_related_to_a_tcp_flow)
{
	struct tl_frame syn, ptb;
	struct ct_flow f;

	worker_up(64);
	cr_assert_gt(tl_frame_tcp4(&syn, A, 40000, B, 443, CT_TCPF_SYN, 1000, 0, 65535, 0), 0);
	icmp(&ptb, R, A, 3, 4, 0, &syn, 28);
	cr_assert_eq(run1(&syn, 1), CT_WV_NEW);
	cr_assert_eq(run1(&ptb, 2), CT_WV_ACCEPT);
	cr_assert(flow_of(&syn, &f));
	cr_assert(f.flags & CT_FLOW_F_RELATED);
	cr_assert_eq(f.tcp.state, CT_S_SYN_SENT);
	counters_add_up();
	ct_worker_free(w);
}

Test(worker_l4, gre_is_one_generic_flow)
{
	struct tl_frame_spec s;
	struct tl_frame out, in;
	struct ct_flow f;

	worker_up(64);
	tl_frame_spec_v4(&s, A, 0, B, 0);
	s.proto = 47;
	s.raw_l4 = 1;
	s.payload = 40;
	cr_assert_gt(tl_frame_build(&s, &out), 0);
	tl_frame_spec_v4(&s, B, 0, A, 0);
	s.proto = 47;
	s.raw_l4 = 1;
	s.payload = 40;
	cr_assert_gt(tl_frame_build(&s, &in), 0);
	cr_assert_eq(run1(&out, 1), CT_WV_NEW);
	cr_assert_eq(run1(&in, 2), CT_WV_ACCEPT);
	cr_assert(flow_of(&out, &f));
	cr_assert_eq(f.l4.state, CT_L4S_GENERIC_REPLIED);
	cr_assert_eq(ct_worker_stats(w)->other_pkts, 2);
	counters_add_up();
	ct_worker_free(w);
}

Test(worker_l4, a_full_table_evicts_unreplied_udp_before_assured_flows)
{
	struct tl_frame f1, f2;
	uint32_t cap, n = 0;
	struct ct_flow f;
	uint64_t now = 10;

	worker_up(64);
	cap = ct_table_capacity(ct_worker_table(w));
	/* assured UDP streams up to the high-water mark */
	while (ct_table_count(ct_worker_table(w)) + 1 < ct_table_high_water(ct_worker_table(w))) {
		udp(&f1, A, (uint16_t)(1000 + n), B, 9, 1);
		udp(&f2, B, 9, A, (uint16_t)(1000 + n), 1);
		run1(&f1, now);
		run1(&f2, now);
		n++;
	}
	now += 3000;
	for (uint32_t i = 0; i < n; i++) {
		udp(&f1, A, (uint16_t)(1000 + i), B, 9, 1);
		run1(&f1, now);
	}
	/* one unreplied probe, then more new flows than there is room for */
	udp(&f1, A, 7, B, 7, 1);
	cr_assert_eq(run1(&f1, now), CT_WV_NEW);
	for (uint32_t i = 0; ct_table_count(ct_worker_table(w)) < cap && i < cap; i++) {
		udp(&f2, A, (uint16_t)(20000 + i), B, 7, 1);
		run1(&f2, now + 1 + i);
	}
	udp(&f2, A, 30000, B, 7, 1);
	run1(&f2, now + 1000);
	cr_assert_geq(ct_worker_stats(w)->flows_evicted, 1);
	cr_assert_not(flow_of(&f1, &f), "the oldest unreplied flow went first");
	udp(&f1, A, 1000, B, 9, 1);
	cr_assert(flow_of(&f1, &f), "an assured stream stays");
	cr_assert_eq(f.l4.state, CT_L4S_UDP_ASSURED);
	ct_worker_free(w);
}

Test(worker_l4, set_timeout_udp_reaches_the_table)
{
	struct tl_frame q;
	struct ct_flow f;

	worker_up(64);
	cr_assert_eq(ct_worker_set_timeout(w, CT_WORKER_L4_TIMEOUT(CT_L4T_UDP), 500), 0);
	cr_assert_eq(ct_worker_set_timeout(w, CT_WORKER_L4_TIMEOUT(CT_L4T_MAX), 500), -EINVAL);
	cr_assert_eq(ct_worker_set_timeout(w, CT_WORKER_L4_TIMEOUT(CT_L4T_ICMP), 0), -ERANGE);
	cr_assert_eq(ct_worker_l4_conf(w)->ms[CT_L4T_UDP], 500);
	udp(&q, A, 1, B, 2, 0);
	cr_assert_eq(run1(&q, 100), CT_WV_NEW);
	ct_worker_tick(w, 400);
	cr_assert(flow_of(&q, &f));
	ct_worker_tick(w, 700);
	cr_assert_not(flow_of(&q, &f));
	ct_worker_free(w);
}
