/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile traffic through the real per-packet pipeline (ct_worker_process_burst() on mbufs built
 * in memory, EAL without hugepages): every parse reason and every FSM INVALID reason is reached
 * by a crafted packet and counted, and no such packet creates or changes a flow; blind injection
 * (RFC 5961: out-of-window RST, SYN, data) never disturbs an established flow while an in-window
 * RST closes it. Load (a full table, a SYN flood, the soak): test_hostile_load.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "ct_parse.h"
#include "ct_stats.h"
#include "ct_table.h"
#include "ct_tcp.h"
#include "ct_worker.h"
#include "hostile_helpers.h"
#include "tl_frame.h"

TestSuite(hostile, .init = eal_up, .fini = eal_down, .timeout = 240);

/* ---- (a) every parse reason, counted, changing nothing ---- */

/* A frame that parses to reason @p r, built on connection @p c's addresses where it is TCP. */
static void
malformed(struct tl_frame *f, enum ct_parse_reason r, const struct conn *c)
{
	uint8_t *ip = f->b + 14, *th = ip + 20;

	tcp4(f, c, 0, ACK, c->cseq, c->sseq, 0);
	switch (r) {
	case CT_PARSE_TRUNC_ETH:
		f->len = 13;
		break;
	case CT_PARSE_TRUNC_VLAN:
		tl_put16(f->b + 12, 0x8100);
		f->len = 16;
		break;
	case CT_PARSE_TOO_MANY_VLANS:
		memmove(f->b + 24, f->b + 12, 56);
		tl_put16(f->b + 12, 0x88a8);
		tl_put16(f->b + 16, 0x8100);
		tl_put16(f->b + 20, 0x8100);
		f->len += 12;
		break;
	case CT_PARSE_NOT_IP:
		tl_put16(f->b + 12, 0x0806);
		break;
	case CT_PARSE_TRUNC_IP:
		f->len = 14 + 19;
		break;
	case CT_PARSE_BAD_IP_VERSION:
		ip[0] = 0x65;
		break;
	case CT_PARSE_BAD_IHL:
		ip[0] = 0x44;
		break;
	case CT_PARSE_BAD_IP_LEN:
		tl_put16(ip + 2, 41 + 20);
		break;
	case CT_PARSE_TRUNC_EXT_HDR: {
		/* IPv6, hop-by-hop header announced but the payload is 4 bytes */
		static const uint8_t v6[40] = {0x60, 0, 0, 0, 0, 4, 0, 64, 0x20, 1, 0xd, 0xb8};

		tl_put16(f->b + 12, 0x86dd);
		memcpy(ip, v6, sizeof(v6));
		memset(ip + 40, 0, 4);
		f->len = 14 + 44;
		break;
	}
	case CT_PARSE_FRAG_FIRST:
		tl_put16(ip + 6, 0x2000);
		break;
	case CT_PARSE_FRAG_NONFIRST:
		tl_put16(ip + 6, 0x0010);
		break;
	case CT_PARSE_ICMP_UNTRACKED:
		ip[9] = 1;
		th[0] = 9; /* router advertisement */
		break;
	case CT_PARSE_TRUNC_UDP:
		ip[9] = 17;
		tl_put16(ip + 2, 20 + 6);
		f->len = 14 + 26;
		break;
	case CT_PARSE_BAD_UDP_LEN:
		ip[9] = 17;
		tl_put16(th + 4, 7);
		break;
	case CT_PARSE_TRUNC_ICMP:
		ip[9] = 1;
		tl_put16(ip + 2, 20 + 7);
		f->len = 14 + 27;
		break;
	case CT_PARSE_TRUNC_ICMP_INNER:
	case CT_PARSE_BAD_ICMP_INNER:
	case CT_PARSE_ICMP_INNER_FRAG:
		/* a destination unreachable quoting 28 bytes (10 when cut) of IPv4/UDP */
		ip[9] = 1;
		memset(th, 0, 8 + 28);
		th[0] = 3;
		th[1] = 3;
		th[8] = r == CT_PARSE_BAD_ICMP_INNER ? 0x65 : 0x45;
		th[8 + 9] = 17;
		if (r == CT_PARSE_ICMP_INNER_FRAG)
			tl_put16(th + 8 + 6, 185);
		tl_put16(ip + 2, r == CT_PARSE_TRUNC_ICMP_INNER ? 20 + 8 + 10 : 20 + 8 + 28);
		f->len = 14 + (r == CT_PARSE_TRUNC_ICMP_INNER ? 20 + 8 + 10 : 20 + 8 + 28);
		break;
	case CT_PARSE_TRUNC_TCP:
		tl_put16(ip + 2, 20 + 12);
		f->len = 14 + 32;
		break;
	case CT_PARSE_BAD_DOFF:
		th[12] = 4 << 4;
		break;
	case CT_PARSE_BAD_TCP_OPT:
		/* 4 option bytes: MSS announcing length 9 */
		th[12] = 6 << 4;
		th[20] = 2;
		th[21] = 9;
		tl_put16(ip + 2, 44);
		f->len = 14 + 44;
		break;
	case CT_PARSE_BAD_TCP_OPT_FIN_RST:
		/* the same broken list on a FIN: counted apart (a close the tracker cannot see) */
		th[12] = 6 << 4;
		th[13] = FIN | ACK;
		th[20] = 2;
		th[21] = 9;
		tl_put16(ip + 2, 44);
		f->len = 14 + 44;
		break;
	case CT_PARSE_FLAGS_NONE:
		th[13] = 0;
		break;
	case CT_PARSE_FLAGS_SYN_FIN:
		th[13] = SYN | FIN | ACK;
		break;
	case CT_PARSE_FLAGS_SYN_RST:
		th[13] = SYN | RST;
		break;
	case CT_PARSE_FLAGS_RST_FIN:
		th[13] = RST | FIN | ACK;
		break;
	case CT_PARSE_FLAGS_URG:
		th[13] = RST | URG;
		break;
	case CT_PARSE_FLAGS_FIN_NO_ACK:
		th[13] = FIN;
		break;
	case CT_PARSE_TRUNC_SEG:
		f->split = 14 + 20 + 10; /* TCP header continues in the second mbuf */
		break;
	default:
		cr_assert_fail("no frame for parse reason %u", r);
	}
}

Test(hostile, every_parse_reason_is_counted_and_changes_no_flow)
{
	struct conn c[3];
	struct snap before, after;
	unsigned int r, i;

	worker_up(64);
	for (i = 0; i < 3; i++) {
		conn_init(&c[i], i + 1);
		handshake(&c[i]);
	}
	snap_take(&before);
	for (r = CT_PARSE_OK + 1; r < CT_PARSE_MAX; r++) {
		struct tl_frame f;
		uint64_t old = ct_worker_stats(w)->parse[r];
		uint8_t v;

		malformed(&f, (enum ct_parse_reason)r, &c[r % 3]);
		v = run1(&f);
		cr_assert_eq(ct_worker_stats(w)->parse[r], old + 1, "parse reason %s not counted",
		             ct_parse_reason_name(r));
		cr_assert(v == CT_WV_MALFORMED || v == CT_WV_PASS, "%s: verdict %u",
		          ct_parse_reason_name(r), v);
	}
	/* Also with a first packet of a new connection: still no flow. */
	for (r = CT_PARSE_OK + 1; r < CT_PARSE_MAX; r++) {
		struct conn n;
		struct tl_frame f;

		conn_init(&n, 100 + r);
		malformed(&f, (enum ct_parse_reason)r, &n);
		run1(&f);
	}
	snap_take(&after);
	snap_same(&before, &after, "malformed packets");
	for (r = CT_PARSE_OK + 1; r < CT_PARSE_MAX; r++)
		cr_expect_eq(ct_worker_stats(w)->parse[r], 2, "%s counted %lu times",
		             ct_parse_reason_name(r), (unsigned long)ct_worker_stats(w)->parse[r]);
	cr_assert_eq(ct_worker_stats(w)->flows_created, 3);
	stats_balanced();
}

Test(hostile, odd_option_lengths_are_tracked_and_counted)
{
	struct conn c;
	struct tl_frame f;
	uint8_t *th = f.b + 14 + 20;

	worker_up(64);
	conn_init(&c, 9);
	handshake(&c);
	/* an empty SACK option and an MSS of 3 bytes (Linux skips both): tracked, counted */
	tcp4(&f, &c, 0, PSH | ACK, c.cseq, c.sseq, 0);
	th[12] = 7 << 4;
	memcpy(th + 20, (const uint8_t[8]){1, 1, 5, 2, 2, 3, 5, 0}, 8);
	memset(f.b + 14 + 48, 0, 10);
	tl_put16(f.b + 14 + 2, 20 + 28 + 10);
	f.len = 14 + 20 + 28 + 10;
	cr_assert_eq(run1(&f), CT_WV_ACCEPT);
	c.cseq += 10;
	cr_assert_eq(ct_worker_stats(w)->tcp_opt_odd, 1);
	cr_assert_eq(seg(&c, 1, ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(ct_worker_stats(w)->tcp_opt_odd, 1);
	cr_assert_eq(ct_worker_stats(w)->invalid, 0);
	cr_assert_eq(ct_worker_stats(w)->parse_drop, 0);
	stats_balanced();
}

/* ---- (a) every FSM INVALID reason, counted, changing nothing ---- */

/* Send @p f and require INVALID with reason @p want, the target flow (if any) unchanged. */
static void
expect_invalid(const struct tl_frame *f, const struct conn *c, enum ct_tcp_reason want)
{
	struct ct_flow a, b;
	int had = conn_flow(c, &a);
	uint64_t old = ct_worker_stats(w)->reason[want];
	uint8_t v = run1(f);

	cr_assert_eq(v, CT_WV_INVALID, "%s: verdict %u", ct_tcp_reason_name(want), v);
	cr_assert_eq(ct_worker_stats(w)->reason[want], old + 1, "reason %s not counted",
	             ct_tcp_reason_name(want));
	cr_assert_eq(conn_flow(c, &b), had, "%s created or removed a flow",
	             ct_tcp_reason_name(want));
	if (had == 0)
		cr_assert(flow_same(&a, &b), "%s changed the flow", ct_tcp_reason_name(want));
}

Test(hostile, every_fsm_invalid_reason_is_counted_and_changes_no_flow)
{
	struct conn c, n;
	struct tl_frame f;
	unsigned int r;

	conf.loose = false; /* an ACK without a flow starts none: no_flow_not_syn */
	worker_up(64);
	conn_init(&n, 50); /* never has a flow */
	tcp4(&f, &n, 1, SYN | ACK, 1, 2, 0);
	expect_invalid(&f, &n, CT_R_NO_FLOW_SYNACK);
	tcp4(&f, &n, 0, ACK, 1, 2, 0);
	expect_invalid(&f, &n, CT_R_NO_FLOW_NOT_SYN);
	tcp4(&f, &n, 0, RST | ACK, 1, 2, 0);
	expect_invalid(&f, &n, CT_R_NO_FLOW_RST);

	/* SYN_SENT: a SYN+ACK that does not ack the SYN; a FIN before the handshake. */
	conn_init(&c, 51);
	cr_assert_eq(seg(&c, 0, SYN, 0), CT_WV_NEW);
	tcp4(&f, &c, 1, SYN | ACK, c.sseq, c.cseq + 5, 0);
	expect_invalid(&f, &c, CT_R_SYNACK_BAD_ACK);
	tcp4(&f, &c, 1, FIN | ACK, c.sseq, c.cseq, 0);
	expect_invalid(&f, &c, CT_R_FIN_EARLY);
	/* the listener's data before its SYN (its bare ACK of the SYN is a split handshake) */
	tcp4(&f, &c, 1, PSH | ACK, c.sseq, c.cseq, 10);
	expect_invalid(&f, &c, CT_R_ACK_IN_LISTEN);
	tcp4(&f, &c, 1, ACK, c.sseq, c.cseq + 1, 0); /* acks more than the SYN */
	expect_invalid(&f, &c, CT_R_ACK_SYN_UNANSWERED);
	tcp4(&f, &c, 0, ACK, c.cseq, c.sseq + 1, 0); /* the client's ACK of no SYN+ACK */
	expect_invalid(&f, &c, CT_R_ACK_BEFORE_SYNACK);
	tcp4(&f, &c, 0, SYN | ACK, c.cseq - 1, c.sseq + 1, 0); /* to the listener */
	expect_invalid(&f, &c, CT_R_SYNACK_UNSOLICITED);
	cr_assert_eq(seg(&c, 1, SYN | ACK, 0), CT_WV_ACCEPT);
	tcp4(&f, &c, 1, SYN, c.sseq - 1, 0, 0); /* a bare SYN after its SYN+ACK */
	expect_invalid(&f, &c, CT_R_SYN_AFTER_SYNACK);
	cr_assert_eq(seg(&c, 0, ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(seg(&c, 0, PSH | ACK, 100), CT_WV_ACCEPT);
	cr_assert_eq(seg(&c, 1, ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(conn_state(&c), CT_S_ESTABLISHED);

	/* ESTABLISHED: the four window bounds, RST and SYN. */
	tcp4(&f, &c, 0, PSH | ACK, c.cseq + 200000, c.sseq, 10);
	expect_invalid(&f, &c, CT_R_SEQ_ABOVE_WINDOW);
	tcp4(&f, &c, 0, PSH | ACK, c.cseq - 200000, c.sseq, 10);
	expect_invalid(&f, &c, CT_R_SEQ_BELOW_WINDOW);
	tcp4(&f, &c, 0, ACK, c.cseq, c.sseq + 100000, 0); /* beyond what the server may send */
	expect_invalid(&f, &c, CT_R_ACK_UNSENT);
	tcp4(&f, &c, 0, ACK, c.cseq, c.sseq - 1000000, 0);
	expect_invalid(&f, &c, CT_R_ACK_TOO_OLD);
	tcp4(&f, &c, 1, RST, c.sseq + 1000000, 0, 0);
	expect_invalid(&f, &c, CT_R_RST_OUT_OF_WINDOW);
	tcp4(&f, &c, 1, RST, c.sseq + 10, 0, 0); /* in window, not at RCV.NXT: RFC 5961 */
	expect_invalid(&f, &c, CT_R_RST_INEXACT);
	tcp4(&f, &c, 0, SYN, c.cseq + 10, 0, 0);
	expect_invalid(&f, &c, CT_R_SYN_IN_WINDOW);

	/* TIME_WAIT: a SYN whose ISN is not beyond the old connection's; a SYN+ACK after a FIN. */
	cr_assert_eq(seg(&c, 0, FIN | ACK, 0), CT_WV_ACCEPT);
	tcp4(&f, &c, 1, SYN | ACK, c.sseq - 1, c.cseq, 0);
	expect_invalid(&f, &c, CT_R_SYNACK_LATE);
	cr_assert_eq(seg(&c, 1, FIN | ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(seg(&c, 0, ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(conn_state(&c), CT_S_TIME_WAIT);
	tcp4(&f, &c, 0, SYN, c.cseq - 50, 0, 0);
	expect_invalid(&f, &c, CT_R_TW_REOPEN_OLD_ISN);

	/*
	 * Simultaneous open, then a FIN from SYN_RCVD: it acks the peer's SYN, so the peer's ACK
	 * of it is valid (ackfin_early is unreachable now: a FIN moves its sender to FIN_WAIT_1
	 * and its receiver to ESTABLISHED at least, so no ACK of a FIN comes from an endpoint
	 * before ESTABLISHED).
	 */
	conn_init(&n, 52);
	tcp4(&f, &n, 0, SYN, n.cseq, 0, 0);
	cr_assert_eq(run1(&f), CT_WV_NEW);
	tcp4(&f, &n, 1, SYN, n.sseq, 0, 0);
	cr_assert_eq(run1(&f), CT_WV_ACCEPT);
	tcp4(&f, &n, 1, SYN | ACK, n.sseq, n.cseq + 1, 0);
	cr_assert_eq(run1(&f), CT_WV_ACCEPT);
	tcp4(&f, &n, 0, SYN | ACK, n.cseq, n.sseq + 1, 0);
	cr_assert_eq(run1(&f), CT_WV_ACCEPT); /* both SYN_RCVD */
	tcp4(&f, &n, 0, FIN | ACK, n.cseq + 1, n.sseq + 1, 0);
	cr_assert_eq(run1(&f), CT_WV_ACCEPT);
	tcp4(&f, &n, 1, ACK, n.sseq + 1, n.cseq + 2, 0);
	cr_assert_eq(run1(&f), CT_WV_ACCEPT);
	cr_assert_eq(conn_state(&n), CT_S_CLOSE_WAIT);

	/*
	 * Every reason but three is reachable through the pipeline: bad_flags (the parser refuses
	 * those combinations first, under parse_flags_*), unexpected (a corrupt record) and
	 * ackfin_early (above; the table keeps it for cells no valid sequence reaches).
	 */
	for (r = CT_R_OK + 1; r < CT_R_MAX; r++)
		if (r != CT_R_BAD_FLAGS && r != CT_R_UNEXPECTED && r != CT_R_ACKFIN_EARLY)
			cr_expect_gt(ct_worker_stats(w)->reason[r], 0,
			             "FSM reason %s never counted", ct_tcp_reason_name(r));
	cr_assert_eq(ct_worker_stats(w)->reason[CT_R_BAD_FLAGS], 0);
	cr_assert_eq(ct_worker_stats(w)->flows_created, 2);
	stats_balanced();
}

/* ---- (b) blind injection (RFC 5961) ---- */

Test(hostile, blind_rst_syn_and_data_never_disturb_an_established_flow)
{
	struct ct_flow a, b;
	struct conn c;
	struct tl_frame f;
	uint32_t off[] = {70000, 1000000, 0x40000000, 0x80000000u, 0xc0000000u, (uint32_t)-70000};
	unsigned int i;

	worker_up(64);
	conn_init(&c, 7);
	handshake(&c);
	cr_assert_eq(seg(&c, 0, PSH | ACK, 500), CT_WV_ACCEPT);
	cr_assert_eq(seg(&c, 1, PSH | ACK, 1000), CT_WV_ACCEPT);
	cr_assert_eq(seg(&c, 0, ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(conn_flow(&c, &a), 0);

	for (i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		for (int side = 0; side < 2; side++) {
			uint32_t sq = (side ? c.sseq : c.cseq) + off[i];
			uint32_t ak = side ? c.cseq : c.sseq;

			tcp4(&f, &c, side, RST, sq, 0, 0);
			cr_assert_eq(run1(&f), CT_WV_INVALID, "RST at +%u", off[i]);
			tcp4(&f, &c, side, RST | ACK, sq, ak, 0);
			cr_assert_eq(run1(&f), CT_WV_INVALID, "RST+ACK at +%u", off[i]);
			tcp4(&f, &c, side, SYN, sq, 0, 0);
			cr_assert_eq(run1(&f), CT_WV_INVALID, "SYN at +%u", off[i]);
			tcp4(&f, &c, side, PSH | ACK, sq, ak, 100);
			cr_assert_eq(run1(&f), CT_WV_INVALID, "data at +%u", off[i]);
			tcp4(&f, &c, side, FIN | ACK, sq, ak, 0);
			cr_assert_eq(run1(&f), CT_WV_INVALID, "FIN at +%u", off[i]);
		}
	}
	/* In-window SYN (RFC 5961 4.2: never resets) */
	tcp4(&f, &c, 0, SYN, c.cseq, 0, 0);
	cr_assert_eq(run1(&f), CT_WV_INVALID);
	cr_assert_eq(conn_flow(&c, &b), 0);
	cr_assert(flow_same(&a, &b), "blind segments changed the established flow");
	cr_assert_eq(b.tcp.state, CT_S_ESTABLISHED);

	/* The flow still tracks normally, then an exact in-window RST closes it. */
	cr_assert_eq(seg(&c, 0, PSH | ACK, 10), CT_WV_ACCEPT);
	cr_assert_eq(seg(&c, 1, ACK, 0), CT_WV_ACCEPT);
	tcp4(&f, &c, 1, RST, c.sseq, 0, 0);
	cr_assert_eq(run1(&f), CT_WV_ACCEPT);
	cr_assert_eq(conn_state(&c), CT_S_CLOSE);
	stats_balanced();
}

Test(hostile, spoofed_rst_after_a_syn_deletes_the_flow_and_the_real_handshake_starts_afresh)
{
	struct ct_flow f;
	struct conn c, d;
	struct tl_frame fr;

	worker_up(64);
	/* Linux deletes an entry whose only reply is an RST; the real SYN+ACK then has no entry
	 * and the client's ACK picks the connection up (loose), so one spoofed packet blocks
	 * nothing. */
	conn_init(&c, 60);
	cr_assert_eq(seg(&c, 0, SYN, 0), CT_WV_NEW);
	tcp4(&fr, &c, 1, RST | ACK, 0, c.cseq, 0);
	cr_assert_eq(run1(&fr), CT_WV_ACCEPT);
	cr_assert_eq(conn_flow(&c, &f), -ENOENT, "the flow survived the RST before any reply");
	cr_assert_eq(ct_worker_stats(w)->flows_rst_deleted, 1);
	cr_assert_eq(seg(&c, 1, SYN | ACK, 0), CT_WV_INVALID);
	cr_assert_eq(ct_worker_stats(w)->reason[CT_R_NO_FLOW_SYNACK], 1);
	cr_assert_eq(seg(&c, 0, ACK, 0), CT_WV_NEW);
	cr_assert_eq(seg(&c, 1, PSH | ACK, 10), CT_WV_ACCEPT);
	cr_assert_eq(seg(&c, 0, ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(conn_state(&c), CT_S_ESTABLISHED);
	/* A retransmitted SYN after such an RST starts a new flow at once. */
	conn_init(&d, 61);
	cr_assert_eq(seg(&d, 0, SYN, 0), CT_WV_NEW);
	tcp4(&fr, &d, 1, RST | ACK, 0, d.cseq, 0);
	cr_assert_eq(run1(&fr), CT_WV_ACCEPT);
	tcp4(&fr, &d, 0, SYN, d.cseq - 1, 0, 0);
	cr_assert_eq(run1(&fr), CT_WV_NEW);
	cr_assert_eq(seg(&d, 1, SYN | ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(seg(&d, 0, ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(conn_state(&d), CT_S_ESTABLISHED);
	cr_assert_eq(ct_worker_stats(w)->flows_rst_deleted, 2);
	cr_assert_eq(ct_table_count(ct_worker_table(w)), 2);
	stats_balanced();
}
