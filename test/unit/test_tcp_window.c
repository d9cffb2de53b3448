/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the sequence/window tracking of lib/tcp: each of Rooij's four bounds at its exact
 * boundary (last accepted value and first refused one), the updates of end/maxend/maxwin, window
 * scaling (negotiated, one-sided, SYN windows, shift clamp), the RST rules (in liberal mode too,
 * RST answering a SYN), the post-FIN limit and the TSval kept for RFC 6191.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "ct_tcp.h"
#include "tcp_helpers.h"

static struct ct_tcp t;
static const struct ct_tcp_conf *conf = &ct_tcp_conf_default;

/* After handshake(): C may send up to C_ISN + 1 + 65535, S's window lower edge for C's data is
 * C_ISN + 1 - 65535; acks of S data must be in [S_ISN + 1 - 66000, S_ISN + 1]. */
#define C_MAXEND (C_ISN + 1 + 65535)
#define C_LOW    (C_ISN + 1 - 65535)
#define S_END    (S_ISN + 1)

static void
setup(void)
{
	cr_assert_eq(handshake(&t, conf), 0);
}

static enum ct_tcp_reason
try_seg(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t len, enum ct_dir d)
{
	struct ct_tcp copy = t;
	enum ct_tcp_reason r = CT_R_MAX;
	enum ct_verdict v = step(&copy, conf, d, flags, seq, ack, len, &r);

	/* a valid RST before any reply deletes the flow (DELETE): also CT_R_OK */
	cr_expect_eq(v == CT_VERDICT_ACCEPT || v == CT_VERDICT_DELETE, r == CT_R_OK);
	return r;
}

Test(window, handshake_sets_netfilter_fields, .init = setup)
{
	cr_expect_eq(t.peer[0].end, C_ISN + 1);
	cr_expect_eq(t.peer[0].maxend, C_MAXEND);
	cr_expect_eq(t.peer[0].maxwin, 65535);
	cr_expect_eq(t.peer[1].end, S_END);
	cr_expect_eq(t.peer[1].maxend, S_END + 65535);
	cr_expect_eq(t.peer[1].maxwin, 65535);
	cr_expect(t.peer_flags[0] & CT_PEER_F_SYN_SEEN);
	cr_expect(t.peer_flags[1] & CT_PEER_F_SYN_SEEN);
}

Test(window, bound1_seq_plus_len_up_to_maxend, .init = setup)
{
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_MAXEND - 1000, S_END, 1000, CT_DIR_ORIG), CT_R_OK);
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_MAXEND - 999, S_END, 1000, CT_DIR_ORIG),
	             CT_R_SEQ_ABOVE_WINDOW);
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_MAXEND, S_END, 0, CT_DIR_ORIG), CT_R_OK);
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_MAXEND + 1, S_END, 0, CT_DIR_ORIG),
	             CT_R_SEQ_ABOVE_WINDOW);
}

Test(window, bound2_seq_not_below_end_minus_receiver_maxwin, .init = setup)
{
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_LOW, S_END, 10, CT_DIR_ORIG), CT_R_OK);
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_LOW - 1, S_END, 10, CT_DIR_ORIG),
	             CT_R_SEQ_BELOW_WINDOW);
}

Test(window, bound3_ack_not_beyond_receiver_end, .init = setup)
{
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_ISN + 1, S_END, 0, CT_DIR_ORIG), CT_R_OK);
	/* beyond S's end but within what S may send (its maxend, at most 66000 ahead): an ACK
	 * delivered by the tap before the segment it acks; beyond that, data never sent */
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_ISN + 1, S_END + 1, 0, CT_DIR_ORIG), CT_R_OK);
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_ISN + 1, S_END + 65535, 0, CT_DIR_ORIG), CT_R_OK);
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_ISN + 1, S_END + 65536, 0, CT_DIR_ORIG),
	             CT_R_ACK_UNSENT);
	/* an RST's ack is taken ahead only when its sequence number is exact */
	cr_expect_eq(try_seg(CT_TCPF_RST | CT_TCPF_ACK, C_ISN + 1, S_END + 1, 0, CT_DIR_ORIG),
	             CT_R_OK);
	cr_expect_eq(try_seg(CT_TCPF_RST | CT_TCPF_ACK, C_ISN + 2, S_END + 1, 0, CT_DIR_ORIG),
	             CT_R_RST_OUT_OF_WINDOW);
}

Test(window, bound4_ack_lag_is_max_of_maxwin_and_66000, .init = setup)
{
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_ISN + 1, S_END - 66000, 0, CT_DIR_ORIG), CT_R_OK);
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_ISN + 1, S_END - 66001, 0, CT_DIR_ORIG),
	             CT_R_ACK_TOO_OLD);
}

Test(window, bounds_work_across_sequence_wrap)
{
	struct ct_tcp_seg syn = seg_make(CT_TCPF_SYN, 0xfffffff0u, 0, 0, 65535);
	enum ct_tcp_reason r;

	cr_assert_eq(ct_tcp_new(&t, conf, &syn, &r), CT_VERDICT_NEW);
	cr_assert_eq(step(&t, conf, CT_DIR_REPLY, CT_TCPF_SYN | CT_TCPF_ACK, 0xffffff00u,
	                  0xfffffff1u, 0, &r),
	             CT_VERDICT_ACCEPT);
	cr_assert_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_ACK, 0xfffffff1u, 0xffffff01u, 1000, &r),
	             CT_VERDICT_ACCEPT);
	cr_expect_eq(t.peer[0].end, 0xfffffff1u + 1000);
	cr_expect_eq(
	        step(&t, conf, CT_DIR_REPLY, CT_TCPF_ACK, 0xffffff01u, 0xfffffff1u + 65536, 0, &r),
	        CT_VERDICT_INVALID);
	cr_expect_eq(r, CT_R_ACK_UNSENT);
	cr_expect_eq(
	        step(&t, conf, CT_DIR_REPLY, CT_TCPF_ACK, 0xffffff01u, 0xfffffff1u + 1000, 0, &r),
	        CT_VERDICT_ACCEPT);
	cr_expect_eq(t.peer[0].maxend, 0xfffffff1u + 1000 + 65535);
}

Test(window, accepted_data_updates_end_maxend_and_unacked_flag, .init = setup)
{
	cr_assert_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_ACK, C_ISN + 1, S_END, 500, NULL),
	             CT_VERDICT_ACCEPT);
	cr_expect_eq(t.peer[0].end, C_ISN + 501);
	cr_expect(t.peer_flags[0] & CT_PEER_F_DATA_UNACK);
	cr_assert_eq(step(&t, conf, CT_DIR_REPLY, CT_TCPF_ACK, S_END, C_ISN + 501, 0, NULL),
	             CT_VERDICT_ACCEPT);
	cr_expect_eq(t.peer[0].maxend, C_ISN + 501 + 65535);
	cr_expect_eq(t.peer_flags[0] & CT_PEER_F_DATA_UNACK, 0);
	/* a smaller window never takes back what was granted */
	cr_assert_eq(step(&t, conf, CT_DIR_REPLY, CT_TCPF_ACK, S_END, C_ISN + 501, 0, NULL),
	             CT_VERDICT_ACCEPT);
	cr_expect_eq(t.peer[0].maxend, C_ISN + 501 + 65535);
}

static void
open_with(uint8_t cws, int c_has, uint8_t sws, int s_has, uint16_t synack_win)
{
	struct ct_tcp_seg syn = seg_make(CT_TCPF_SYN, C_ISN, 0, 0, 65535);
	struct ct_tcp_seg sa = seg_make(CT_TCPF_SYN | CT_TCPF_ACK, S_ISN, C_ISN + 1, 0, synack_win);
	enum ct_tcp_reason r;

	if (c_has) {
		syn.opts |= CT_TCPO_WSCALE;
		syn.wscale = cws;
	}
	if (s_has) {
		sa.opts |= CT_TCPO_WSCALE;
		sa.wscale = sws;
	}
	cr_assert_eq(ct_tcp_new(&t, conf, &syn, &r), CT_VERDICT_NEW);
	cr_assert_eq(ct_tcp_track(&t, conf, CT_DIR_REPLY, &sa, &r), CT_VERDICT_ACCEPT);
}

Test(window, syn_window_is_never_scaled)
{
	open_with(7, 1, 7, 1, 100);
	cr_expect_eq(t.peer[0].maxend, C_ISN + 1 + 100);
	cr_expect_eq(t.peer[1].maxwin, 100);
}

Test(window, negotiated_scale_applies_to_later_windows)
{
	struct ct_tcp_seg a = seg_make(CT_TCPF_ACK, C_ISN + 1, S_END, 0, 1024);
	enum ct_tcp_reason r;

	open_with(7, 1, 3, 1, 100);
	cr_assert_eq(ct_tcp_track(&t, conf, CT_DIR_ORIG, &a, &r), CT_VERDICT_ACCEPT);
	cr_expect_eq(t.peer[1].maxend, S_END + (1024u << 7));
	cr_expect_eq(t.peer[0].maxwin, 1024u << 7);
	a = seg_make(CT_TCPF_ACK, S_END, C_ISN + 1, 0, 1024);
	cr_assert_eq(ct_tcp_track(&t, conf, CT_DIR_REPLY, &a, &r), CT_VERDICT_ACCEPT);
	cr_expect_eq(t.peer[0].maxend, C_ISN + 1 + (1024u << 3));
}

Test(window, one_sided_scale_is_not_applied)
{
	struct ct_tcp_seg a = seg_make(CT_TCPF_ACK, C_ISN + 1, S_END, 0, 1024);
	enum ct_tcp_reason r;

	open_with(7, 1, 0, 0, 100);
	cr_assert_eq(ct_tcp_track(&t, conf, CT_DIR_ORIG, &a, &r), CT_VERDICT_ACCEPT);
	cr_expect_eq(t.peer[1].maxend, S_END + 1024);
}

Test(window, scale_above_14_is_used_as_14)
{
	open_with(200, 1, 15, 1, 100);
	cr_expect_eq(t.wscale[0], 14);
	cr_expect_eq(t.wscale[1], 14);
}

Test(window, large_scaled_window_widens_bound4, .init = setup)
{
	struct ct_tcp_seg a;
	enum ct_tcp_reason r;

	open_with(7, 1, 7, 1, 65535);
	a = seg_make(CT_TCPF_ACK, C_ISN + 1, S_END, 0, 1024); /* C's maxwin: 131072 */
	cr_assert_eq(ct_tcp_track(&t, conf, CT_DIR_ORIG, &a, &r), CT_VERDICT_ACCEPT);
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_ISN + 1, S_END - 131072, 0, CT_DIR_ORIG), CT_R_OK);
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_ISN + 1, S_END - 131073, 0, CT_DIR_ORIG),
	             CT_R_ACK_TOO_OLD);
}

Test(window, rst_answering_syn_must_ack_the_syn)
{
	struct ct_tcp_seg syn = seg_make(CT_TCPF_SYN, C_ISN, 0, 0, 65535);
	enum ct_tcp_reason r;
	struct ct_tcp start;

	cr_assert_eq(ct_tcp_new(&t, conf, &syn, &r), CT_VERDICT_NEW);
	start = t;
	cr_expect_eq(try_seg(CT_TCPF_RST | CT_TCPF_ACK, 0, C_ISN + 1, 0, CT_DIR_REPLY), CT_R_OK);
	cr_expect_eq(try_seg(CT_TCPF_RST | CT_TCPF_ACK, 0, C_ISN + 2, 0, CT_DIR_REPLY),
	             CT_R_RST_OUT_OF_WINDOW);
	cr_expect_eq(try_seg(CT_TCPF_RST | CT_TCPF_ACK, 0, C_ISN, 0, CT_DIR_REPLY),
	             CT_R_RST_OUT_OF_WINDOW);
	cr_expect_eq(try_seg(CT_TCPF_RST, 0, 0, 0, CT_DIR_REPLY), CT_R_RST_OUT_OF_WINDOW);
	cr_expect_eq(memcmp(&start, &t, sizeof(t)), 0);
}

Test(window, rst_bounds_are_the_seq_bounds, .init = setup)
{
	/* in the window but not at the receiver's RCV.NXT (C's end): RFC 5961 challenge ACK */
	cr_expect_eq(try_seg(CT_TCPF_RST, C_MAXEND, 0, 0, CT_DIR_ORIG), CT_R_RST_INEXACT);
	cr_expect_eq(try_seg(CT_TCPF_RST, C_MAXEND + 1, 0, 0, CT_DIR_ORIG), CT_R_RST_OUT_OF_WINDOW);
	cr_expect_eq(try_seg(CT_TCPF_RST, C_LOW, 0, 0, CT_DIR_ORIG), CT_R_RST_INEXACT);
	cr_expect_eq(try_seg(CT_TCPF_RST, C_LOW - 1, 0, 0, CT_DIR_ORIG), CT_R_RST_OUT_OF_WINDOW);
	cr_expect_eq(try_seg(CT_TCPF_RST, C_ISN + 1, 0, 0, CT_DIR_ORIG), CT_R_OK);
	cr_expect_eq(try_seg(CT_TCPF_RST, C_ISN + 2, 0, 0, CT_DIR_ORIG), CT_R_RST_INEXACT);
	/* with data of C unacknowledged, RCV.NXT is unknown below C's end: anywhere in window */
	cr_assert_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_ACK, C_ISN + 1, S_END, 100, NULL),
	             CT_VERDICT_ACCEPT);
	cr_expect_eq(try_seg(CT_TCPF_RST, C_ISN + 50, 0, 0, CT_DIR_ORIG), CT_R_OK);
	cr_assert_eq(step(&t, conf, CT_DIR_REPLY, CT_TCPF_ACK, S_END, C_ISN + 101, 0, NULL),
	             CT_VERDICT_ACCEPT);
	cr_expect_eq(try_seg(CT_TCPF_RST, C_ISN + 50, 0, 0, CT_DIR_ORIG), CT_R_RST_INEXACT);
	cr_expect_eq(try_seg(CT_TCPF_RST, C_ISN + 101, 0, 0, CT_DIR_ORIG), CT_R_OK);
	/* RST+ACK with ack 0 (broken stacks, netfilter): the ack is not checked */
	cr_expect_eq(try_seg(CT_TCPF_RST | CT_TCPF_ACK, C_ISN + 101, 0, 0, CT_DIR_ORIG), CT_R_OK);
	cr_expect_eq(try_seg(CT_TCPF_RST | CT_TCPF_ACK, C_ISN + 101, S_END + 70000, 0, CT_DIR_ORIG),
	             CT_R_RST_OUT_OF_WINDOW);
}

Test(window, liberal_skips_window_checks_but_not_for_rst, .init = setup)
{
	struct ct_tcp_conf lib = ct_tcp_conf_default;
	struct ct_tcp copy = t;
	enum ct_tcp_reason r;

	lib.liberal = true;
	cr_expect_eq(step(&copy, &lib, CT_DIR_ORIG, CT_TCPF_ACK, C_MAXEND, S_END + 5, 100, &r),
	             CT_VERDICT_ACCEPT);
	cr_expect_eq(copy.peer[0].end, C_MAXEND + 100, "liberal still tracks the sequence");
	copy = t;
	cr_expect_eq(step(&copy, &lib, CT_DIR_ORIG, CT_TCPF_RST, C_MAXEND + 1, 0, 0, &r),
	             CT_VERDICT_INVALID);
	cr_expect_eq(r, CT_R_RST_OUT_OF_WINDOW);
}

Test(window, no_new_data_after_fin, .init = setup)
{
	cr_assert_eq(
	        step(&t, conf, CT_DIR_ORIG, CT_TCPF_FIN | CT_TCPF_ACK, C_ISN + 1, S_END, 10, NULL),
	        CT_VERDICT_ACCEPT);
	cr_expect_eq(t.peer[0].end, C_ISN + 12);
	cr_expect(t.peer_flags[0] & CT_PEER_F_FIN_SEEN);
	/* retransmission of data + FIN: fine; anything beyond the FIN: above the window */
	cr_expect_eq(try_seg(CT_TCPF_FIN | CT_TCPF_ACK, C_ISN + 1, S_END, 10, CT_DIR_ORIG),
	             CT_R_OK);
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_ISN + 12, S_END, 0, CT_DIR_ORIG), CT_R_OK);
	cr_expect_eq(try_seg(CT_TCPF_ACK, C_ISN + 12, S_END, 1, CT_DIR_ORIG),
	             CT_R_SEQ_ABOVE_WINDOW);
	cr_expect_eq(try_seg(CT_TCPF_RST, C_ISN + 12, 0, 0, CT_DIR_ORIG), CT_R_OK);
}

Test(window, fin_sender_keeps_its_newest_tsval)
{
	struct ct_tcp_seg syn = seg_make(CT_TCPF_SYN, C_ISN, 0, 0, 65535);
	struct ct_tcp_seg s;
	enum ct_tcp_reason r;

	syn.opts = CT_TCPO_TS;
	syn.tsval = 10;
	cr_assert_eq(ct_tcp_new(&t, conf, &syn, &r), CT_VERDICT_NEW);
	cr_expect(t.peer_flags[0] & CT_PEER_F_TS);
	s = seg_make(CT_TCPF_SYN | CT_TCPF_ACK, S_ISN, C_ISN + 1, 0, 65535);
	cr_assert_eq(ct_tcp_track(&t, conf, CT_DIR_REPLY, &s, &r), CT_VERDICT_ACCEPT);
	s = seg_make(CT_TCPF_ACK, C_ISN + 1, S_END, 0, 65535);
	s.opts = CT_TCPO_TS;
	s.tsval = 11;
	cr_assert_eq(ct_tcp_track(&t, conf, CT_DIR_ORIG, &s, &r), CT_VERDICT_ACCEPT);
	cr_expect_eq(t.peer_flags[0] & CT_PEER_F_TS_LAST, 0, "kept only after the FIN");
	s = seg_make(CT_TCPF_FIN | CT_TCPF_ACK, C_ISN + 1, S_END, 0, 65535);
	s.opts = CT_TCPO_TS;
	s.tsval = 20;
	cr_assert_eq(ct_tcp_track(&t, conf, CT_DIR_ORIG, &s, &r), CT_VERDICT_ACCEPT);
	cr_expect(t.peer_flags[0] & CT_PEER_F_TS_LAST);
	cr_expect_eq(t.peer[0].ts_last, 20);
	s = seg_make(CT_TCPF_ACK, C_ISN + 2, S_END, 0, 65535);
	s.opts = CT_TCPO_TS;
	s.tsval = 15; /* older (reordered): kept value stays the newest */
	cr_assert_eq(ct_tcp_track(&t, conf, CT_DIR_ORIG, &s, &r), CT_VERDICT_ACCEPT);
	cr_expect_eq(t.peer[0].ts_last, 20);
	s.tsval = 25;
	cr_assert_eq(ct_tcp_track(&t, conf, CT_DIR_ORIG, &s, &r), CT_VERDICT_ACCEPT);
	cr_expect_eq(t.peer[0].ts_last, 25);
	cr_expect_eq(t.peer_flags[1] & CT_PEER_F_TS_LAST, 0);
}

Test(window, pickup_assumes_max_scale_and_initialises_like_netfilter)
{
	struct ct_tcp_seg a = seg_make(CT_TCPF_ACK, 5000, 9000, 100, 2);
	enum ct_tcp_reason r;

	cr_assert_eq(ct_tcp_new(&t, conf, &a, &r), CT_VERDICT_NEW);
	cr_expect_eq(t.peer[0].end, 5100);
	cr_expect_eq(t.peer[0].maxwin, 2u << 14);
	cr_expect_eq(t.peer[0].maxend, 5100 + (2u << 14));
	cr_expect_eq(t.peer[1].end, 9000);
	cr_expect_eq(t.peer[1].maxend, 9000);
	cr_expect_eq(t.peer[1].maxwin, 0);
	cr_expect_eq(t.wscale[0], 14);
	/* reply to a keepalive (ack = end + 1) bumps the client's end (netfilter) */
	a = seg_make(CT_TCPF_ACK, 9000, 5101, 0, 3);
	cr_assert_eq(ct_tcp_track(&t, conf, CT_DIR_REPLY, &a, &r), CT_VERDICT_ACCEPT);
	cr_expect_eq(t.peer[0].end, 5101);
	cr_expect_eq(t.peer[1].maxwin, 3u << 14);
}
