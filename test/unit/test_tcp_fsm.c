/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the TCP state machine (lib/tcp): every cell of the transition table against a
 * golden expectation written independently from RFC 9293 (3.3.2 Figure 5 and the event
 * processing of 3.10) plus the middlebox evidence rule, the conntrack state mapping, behaviour of
 * ct_tcp_new()/ct_tcp_track() step by step, names and parsing, timeouts, and the dot rendering.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ct_tcp.h"
#include "../../lib/tcp/ct_tcp_priv.h" /* internal: table cells, event names */
#include "tcp_helpers.h"

/* ---- golden expectation of the table ---- */

enum { G_SND = CT_ROLE_SND, G_RCV = CT_ROLE_RCV };
#define CL CT_TCP_CLOSED
#define LI CT_TCP_LISTEN
#define SS CT_TCP_SYN_SENT
#define SR CT_TCP_SYN_RCVD
#define ES CT_TCP_ESTABLISHED
#define F1 CT_TCP_FIN_WAIT_1
#define F2 CT_TCP_FIN_WAIT_2
#define CW CT_TCP_CLOSE_WAIT
#define CG CT_TCP_CLOSING
#define LA CT_TCP_LAST_ACK
#define TW CT_TCP_TIME_WAIT

struct move {
	unsigned char role, ev, from, to;
};

/*
 * State changes, from RFC 9293. The middlebox evidence rule: an endpoint's state changes on what
 * it sends (including what its ACK field proves it received) and, as receiver, only when its own
 * SYN or FIN is acknowledged (the handshake ACK, an ACK covering its FIN) or on RST.
 */
static const struct move moves[] = {
        /* 3.10.1 OPEN on a passive socket / simultaneous open (Fig. 8): LISTEN sends SYN */
        {G_SND, CT_EV_SYN, LI, SS},
        /* 3.10.7.2 LISTEN: SYN received, SYN,ACK sent, to SYN-RECEIVED */
        {G_SND, CT_EV_SYNACK, LI, SR},
        /* 3.10.7.3 SYN-SENT: SYN without ACK received, SYN,ACK sent, to SYN-RECEIVED */
        {G_SND, CT_EV_SYNACK, SS, SR},
        /* 3.10.7.3 SYN-SENT: SYN,ACK received, ACK sent, to ESTABLISHED */
        {G_SND, CT_EV_ACK, SS, ES},
        /* 3.10.7.4 SYN-RECEIVED: acceptable ACK received, to ESTABLISHED */
        {G_RCV, CT_EV_ACK, SR, ES},
        /*
         * An ACK sent from SYN-RECEIVED proves no ACK of its own SYN: RFC 7413 4.2.2 (a TFO
         * server's data before the handshake ACK), RFC 9293 3.10.7.4 (the ACK answering an
         * unacceptable segment). Its SYN is acked by the peer's next segment (rcv ACK/FIN).
         */
        /* 3.10.4 CLOSE: SYN-RECEIVED and ESTABLISHED send FIN, to FIN-WAIT-1 */
        {G_SND, CT_EV_FIN, SR, F1},
        {G_SND, CT_EV_FIN, ES, F1},
        /*
         * 3.10.7.3 SYN-SENT gets SYN,ACK (ESTABLISHED) and 3.10.4 closes: the handshake ACK
         * carried by its FIN; 3.10.7.4 on the other side: that ACK of its SYN makes a
         * SYN-RECEIVED endpoint ESTABLISHED.
         */
        {G_SND, CT_EV_FIN, SS, F1},
        {G_RCV, CT_EV_FIN, SR, ES},
        /* ... and when a TFO server's FIN (RFC 7413 4.2.2, from SYN-RECEIVED) crossed it */
        {G_SND, CT_EV_FIN2, SS, CG},
        /* ... or the SYN-SENT endpoint's first ACK covers that FIN: ESTABLISHED, CLOSE-WAIT */
        {G_SND, CT_EV_ACKFIN, SS, CW},
        /* 3.10.4 CLOSE in CLOSE-WAIT: FIN sent, to LAST-ACK */
        {G_SND, CT_EV_FIN, CW, LA},
        /* crossing FINs (Fig. 13): the sender's FIN, then the peer's FIN arrives in FIN-WAIT-1 */
        {G_SND, CT_EV_FIN2, SR, CG},
        {G_SND, CT_EV_FIN2, ES, CG},
        {G_SND, CT_EV_FIN2, F1, CG},
        {G_SND, CT_EV_FIN2, CW, LA},
        /* 3.10.7.4 eighth: FIN-WAIT-1 receives a FIN while its own is unacked: CLOSING */
        {G_RCV, CT_EV_FIN2, F1, CG},
        /* 3.10.7.4 eighth, evidenced by the ACK of the FIN: ESTABLISHED -> CLOSE-WAIT */
        {G_SND, CT_EV_ACKFIN, ES, CW},
        /* ... FIN-WAIT-1 -> CLOSING, FIN-WAIT-2 -> TIME-WAIT */
        {G_SND, CT_EV_ACKFIN, F1, CG},
        {G_SND, CT_EV_ACKFIN, F2, TW},
        /* 3.10.7.4 fifth: own FIN acknowledged */
        {G_RCV, CT_EV_ACKFIN, F1, F2},
        {G_RCV, CT_EV_ACKFIN, CG, TW},
        {G_RCV, CT_EV_ACKFIN, LA, CL},
};

struct cellref {
	unsigned char role, ev, state, reason;
};

/*
 * Segments that cannot occur in a state (RFC 9293 3.10.7 and RFC 5961 4.2), each with the rule
 * it breaks, as a counter should name it.
 */
#define SW CT_R_SYN_IN_WINDOW
#define SA CT_R_SYN_AFTER_SYNACK
#define SU CT_R_SYNACK_UNSOLICITED
#define SL CT_R_SYNACK_LATE
#define FE CT_R_FIN_EARLY
#define AB CT_R_ACK_BEFORE_SYNACK
#define AF CT_R_ACKFIN_EARLY
static const struct cellref invalids[] = {
        /* SYN on a synchronized connection, by either endpoint (RFC 5961 4.2) */
        {G_SND, CT_EV_SYN, ES, SW},
        {G_SND, CT_EV_SYN, F1, SW},
        {G_SND, CT_EV_SYN, F2, SW},
        {G_SND, CT_EV_SYN, CW, SW},
        {G_SND, CT_EV_SYN, CG, SW},
        {G_SND, CT_EV_SYN, LA, SW},
        {G_RCV, CT_EV_SYN, ES, SW},
        {G_RCV, CT_EV_SYN, F1, SW},
        {G_RCV, CT_EV_SYN, F2, SW},
        {G_RCV, CT_EV_SYN, CW, SW},
        {G_RCV, CT_EV_SYN, CG, SW},
        {G_RCV, CT_EV_SYN, LA, SW},
        /* a bare SYN from an endpoint that already answered with SYN,ACK */
        {G_SND, CT_EV_SYN, SR, SA},
        /* SYN,ACK: never without a connection, never to a listener, never after a FIN */
        {G_SND, CT_EV_SYNACK, CL, SU},
        {G_RCV, CT_EV_SYNACK, CL, SU},
        {G_RCV, CT_EV_SYNACK, LI, SU},
        {G_SND, CT_EV_SYNACK, F1, SL},
        {G_SND, CT_EV_SYNACK, F2, SL},
        {G_SND, CT_EV_SYNACK, CW, SL},
        {G_SND, CT_EV_SYNACK, CG, SL},
        {G_SND, CT_EV_SYNACK, LA, SL},
        {G_SND, CT_EV_SYNACK, TW, SL},
        {G_RCV, CT_EV_SYNACK, F1, SL},
        {G_RCV, CT_EV_SYNACK, F2, SL},
        {G_RCV, CT_EV_SYNACK, CW, SL},
        {G_RCV, CT_EV_SYNACK, CG, SL},
        {G_RCV, CT_EV_SYNACK, LA, SL},
        {G_RCV, CT_EV_SYNACK, TW, SL},
        /*
         * FIN from or to an endpoint that has sent no SYN; a FIN crossing a FIN of a SYN-SENT
         * endpoint, which has sent none. A FIN to SYN-SENT is valid: a TFO server's, sent
         * from SYN-RECEIVED (RFC 7413 4.2.2).
         */
        {G_SND, CT_EV_FIN, LI, FE},
        {G_RCV, CT_EV_FIN, LI, FE},
        {G_SND, CT_EV_FIN2, LI, FE},
        {G_RCV, CT_EV_FIN2, LI, FE},
        {G_RCV, CT_EV_FIN2, SS, FE},
        /*
         * ACK: a listener gets none (it has sent nothing to ack). It may send one: the bare ACK
         * of the SYN of RFC 793 3.3's four-step open (the window check requires exactly
         * that). An ACK to SYN-SENT is valid when it acks its SYN (3.10.7.3; the window check
         * requires that): a TFO server's data, a split handshake.
         */
        {G_RCV, CT_EV_ACK, LI, AB},
        /* an ACK of a FIN that was never sent: the FIN's sender would be in FIN-WAIT-1 */
        {G_SND, CT_EV_ACKFIN, LI, AF},
        {G_SND, CT_EV_ACKFIN, SR, AF},
        {G_RCV, CT_EV_ACKFIN, LI, AF},
        {G_RCV, CT_EV_ACKFIN, SS, AF},
        {G_RCV, CT_EV_ACKFIN, SR, AF},
};

/* The reason the golden gives a cell: that of its entry in invalids[], CT_R_OK otherwise. */
static int
golden_reason(unsigned int role, unsigned int ev, unsigned int st)
{
	for (unsigned int i = 0; i < sizeof(invalids) / sizeof(invalids[0]); i++)
		if (invalids[i].role == role && invalids[i].ev == ev && invalids[i].state == st)
			return invalids[i].reason;
	return CT_R_OK;
}

static int
golden(unsigned int role, unsigned int ev, unsigned int st)
{
	unsigned int i;

	/* 3.10.7: an acceptable RST closes the connection in every state, for both ends */
	if (ev == CT_EV_RST)
		return CL;
	/* 3.10.7.4 / RFC 6191: a new SYN from a closed or TIME-WAIT end may start a new incarnation */
	if (role == G_SND && ev == CT_EV_SYN && (st == CL || st == TW))
		return CT_CELL_REOPEN;
	for (i = 0; i < sizeof(moves) / sizeof(moves[0]); i++)
		if (moves[i].role == role && moves[i].ev == ev && moves[i].from == st)
			return moves[i].to;
	if (golden_reason(role, ev, st) != CT_R_OK)
		return CT_CELL_INVALID;
	/* everything else: retransmissions, duplicate ACKs, data: valid, no change */
	return CT_CELL_IGNORE;
}

static const char *
cell_name(int c)
{
	if (c == CT_CELL_INVALID)
		return "sIV";
	if (c == CT_CELL_IGNORE)
		return "sIG";
	if (c == CT_CELL_REOPEN)
		return "sRE";
	return ct_tcp_state_name((unsigned int)c);
}

Test(fsm_table, every_cell_matches_the_rfc9293_golden)
{
	unsigned int role, ev, st, n = 0, bad = 0;

	for (role = 0; role < CT_ROLE_MAX; role++)
		for (ev = 0; ev < CT_EV_MAX; ev++)
			for (st = 0; st < CT_TCP_STATE_MAX; st++) {
				int got = ct_tcp_fsm_cell(role, ev, st),
				    want = golden(role, ev, st);
				int got_r = ct_tcp_fsm_cell_reason(role, ev, st),
				    want_r = golden_reason(role, ev, st);

				n++;
				if (got_r != want_r) {
					bad++;
					cr_log_error("%s %s in %s: table reason %s, golden %s",
					             role == G_SND ? "snd" : "rcv",
					             ct_tcp_event_name(ev), ct_tcp_state_name(st),
					             ct_tcp_reason_name((unsigned int)got_r),
					             ct_tcp_reason_name((unsigned int)want_r));
				}
				if (got != want) {
					bad++;
					cr_log_error("%s %s in %s: table %s, golden %s",
					             role == G_SND ? "snd" : "rcv",
					             ct_tcp_event_name(ev), ct_tcp_state_name(st),
					             cell_name(got), cell_name(want));
				}
			}
	cr_assert_eq(n, CT_ROLE_MAX * CT_EV_MAX * CT_TCP_STATE_MAX);
	cr_assert_eq(bad, 0, "%u of %u cells differ from the golden", bad, n);
}

Test(fsm_table, cell_out_of_range_is_refused)
{
	cr_expect_eq(ct_tcp_fsm_cell(CT_ROLE_MAX, 0, 0), -1);
	cr_expect_eq(ct_tcp_fsm_cell(0, CT_EV_MAX, 0), -1);
	cr_expect_eq(ct_tcp_fsm_cell(0, 0, CT_TCP_STATE_MAX), -1);
	cr_expect_str_eq(ct_tcp_event_name(CT_EV_ACKFIN), "ACKFIN");
	cr_expect_str_eq(ct_tcp_event_name(CT_EV_MAX), "?");
}

/* ---- conntrack state mapping ---- */

Test(fsm_mapping, endpoint_pairs_map_to_linux_names)
{
	static const struct {
		unsigned char c, s, ct;
	} pairs[] = {
	        {SS, LI, CT_S_SYN_SENT},   {SS, SR, CT_S_SYN_RECV},  {SS, SS, CT_S_SYN_SENT2},
	        {SR, SS, CT_S_SYN_RECV},   {SR, SR, CT_S_SYN_RECV},  {ES, ES, CT_S_ESTABLISHED},
	        {F1, ES, CT_S_FIN_WAIT},   {ES, F1, CT_S_FIN_WAIT},  {F2, CW, CT_S_CLOSE_WAIT},
	        {CW, F2, CT_S_CLOSE_WAIT}, {F2, LA, CT_S_LAST_ACK},  {LA, F2, CT_S_LAST_ACK},
	        {CG, CG, CT_S_LAST_ACK},   {TW, CL, CT_S_TIME_WAIT}, {CL, TW, CT_S_TIME_WAIT},
	        {TW, CG, CT_S_TIME_WAIT},  {TW, TW, CT_S_TIME_WAIT}, {CL, CL, CT_S_CLOSE},
	        {LI, LI, CT_S_NONE},
	};
	unsigned int i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		cr_expect_eq(ct_state_from_tcp(pairs[i].c, pairs[i].s), pairs[i].ct,
		             "%s/%s: got %s want %s", ct_tcp_state_name(pairs[i].c),
		             ct_tcp_state_name(pairs[i].s),
		             ct_state_name(ct_state_from_tcp(pairs[i].c, pairs[i].s)),
		             ct_state_name(pairs[i].ct));
}

Test(fsm_mapping, mapping_is_symmetric_and_total)
{
	unsigned int c, s;

	for (c = 0; c < CT_TCP_STATE_MAX; c++)
		for (s = 0; s < CT_TCP_STATE_MAX; s++) {
			enum ct_state a = ct_state_from_tcp(c, s), b = ct_state_from_tcp(s, c);

			cr_expect_lt((unsigned int)a, CT_S_MAX);
			cr_expect_eq(a, b, "%u/%u", c, s);
		}
	cr_expect_eq(ct_state_from_tcp(CT_TCP_STATE_MAX, ES), CT_S_NONE);
}

/* ---- behaviour ---- */

static struct ct_tcp t;
static const struct ct_tcp_conf *conf = &ct_tcp_conf_default;

static void
expect_states(unsigned int c, unsigned int s, unsigned int ct)
{
	cr_expect_eq(t.tcp_state[CT_DIR_ORIG], c, "client %s want %s",
	             ct_tcp_state_name(t.tcp_state[0]), ct_tcp_state_name(c));
	cr_expect_eq(t.tcp_state[CT_DIR_REPLY], s, "server %s want %s",
	             ct_tcp_state_name(t.tcp_state[1]), ct_tcp_state_name(s));
	cr_expect_eq(t.state, ct, "ct %s want %s", ct_state_name(t.state), ct_state_name(ct));
}

Test(fsm, struct_is_32_bytes)
{
	cr_assert_eq(sizeof(struct ct_tcp), 32);
}

Test(fsm, syn_starts_a_flow_in_syn_sent)
{
	struct ct_tcp_seg syn = seg_make(CT_TCPF_SYN, C_ISN, 0, 0, 65535);
	enum ct_tcp_reason r = CT_R_MAX;

	cr_assert_eq(ct_tcp_new(&t, conf, &syn, &r), CT_VERDICT_NEW);
	cr_expect_eq(r, CT_R_OK);
	expect_states(SS, LI, CT_S_SYN_SENT);
	cr_expect_eq(t.flags, 0);
}

Test(fsm, synack_in_syn_sent_gives_syn_recv)
{
	struct ct_tcp_seg syn = seg_make(CT_TCPF_SYN, C_ISN, 0, 0, 65535);
	enum ct_tcp_reason r;

	ct_tcp_new(&t, conf, &syn, &r);
	cr_assert_eq(
	        step(&t, conf, CT_DIR_REPLY, CT_TCPF_SYN | CT_TCPF_ACK, S_ISN, C_ISN + 1, 0, &r),
	        CT_VERDICT_ACCEPT);
	expect_states(SS, SR, CT_S_SYN_RECV);
}

Test(fsm, ack_of_synack_gives_established_and_assured)
{
	cr_assert_eq(handshake(&t, conf), 0);
	expect_states(ES, ES, CT_S_ESTABLISHED);
	cr_expect(t.flags & CT_F_ASSURED);
}

Test(fsm, fin_gives_fin_wait_then_its_ack_close_wait)
{
	cr_assert_eq(handshake(&t, conf), 0);
	cr_assert_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_FIN | CT_TCPF_ACK, C_ISN + 1, S_ISN + 1, 0,
	                  NULL),
	             CT_VERDICT_ACCEPT);
	expect_states(F1, ES, CT_S_FIN_WAIT);
	cr_assert_eq(step(&t, conf, CT_DIR_REPLY, CT_TCPF_ACK, S_ISN + 1, C_ISN + 2, 0, NULL),
	             CT_VERDICT_ACCEPT);
	expect_states(F2, CW, CT_S_CLOSE_WAIT);
}

Test(fsm, ack_below_the_fin_does_not_ack_it)
{
	cr_assert_eq(handshake(&t, conf), 0);
	step(&t, conf, CT_DIR_ORIG, CT_TCPF_FIN | CT_TCPF_ACK, C_ISN + 1, S_ISN + 1, 0, NULL);
	cr_assert_eq(step(&t, conf, CT_DIR_REPLY, CT_TCPF_ACK, S_ISN + 1, C_ISN + 1, 0, NULL),
	             CT_VERDICT_ACCEPT);
	expect_states(F1, ES, CT_S_FIN_WAIT);
}

Test(fsm, finack_acking_peer_fin_applies_ackfin_then_fin)
{
	cr_assert_eq(handshake(&t, conf), 0);
	step(&t, conf, CT_DIR_ORIG, CT_TCPF_FIN | CT_TCPF_ACK, C_ISN + 1, S_ISN + 1, 0, NULL);
	cr_assert_eq(step(&t, conf, CT_DIR_REPLY, CT_TCPF_FIN | CT_TCPF_ACK, S_ISN + 1, C_ISN + 2,
	                  0, NULL),
	             CT_VERDICT_ACCEPT);
	/* ACKFIN: server ESTABLISHED -> CLOSE_WAIT, client FIN_WAIT_1 -> FIN_WAIT_2; FIN: LAST_ACK */
	expect_states(F2, LA, CT_S_LAST_ACK);
	cr_assert_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_ACK, C_ISN + 2, S_ISN + 2, 0, NULL),
	             CT_VERDICT_ACCEPT);
	expect_states(TW, CL, CT_S_TIME_WAIT);
}

Test(fsm, crossing_fins_give_closing_both)
{
	cr_assert_eq(handshake(&t, conf), 0);
	step(&t, conf, CT_DIR_ORIG, CT_TCPF_FIN | CT_TCPF_ACK, C_ISN + 1, S_ISN + 1, 0, NULL);
	cr_assert_eq(step(&t, conf, CT_DIR_REPLY, CT_TCPF_FIN | CT_TCPF_ACK, S_ISN + 1, C_ISN + 1,
	                  0, NULL),
	             CT_VERDICT_ACCEPT);
	expect_states(CG, CG, CT_S_LAST_ACK);
}

Test(fsm, rst_priority_over_other_flags_and_bad_combinations)
{
	enum ct_tcp_reason r;

	cr_assert_eq(handshake(&t, conf), 0);
	cr_expect_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_RST | CT_TCPF_SYN, C_ISN + 1, 0, 0, &r),
	             CT_VERDICT_INVALID);
	cr_expect_eq(r, CT_R_BAD_FLAGS);
	cr_expect_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_RST | CT_TCPF_FIN | CT_TCPF_ACK, C_ISN + 1,
	                  S_ISN + 1, 0, &r),
	             CT_VERDICT_INVALID);
	cr_expect_eq(r, CT_R_BAD_FLAGS);
	cr_expect_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_SYN | CT_TCPF_FIN, C_ISN + 1, 0, 0, &r),
	             CT_VERDICT_INVALID);
	cr_expect_eq(r, CT_R_BAD_FLAGS);
	cr_expect_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_RST | CT_TCPF_ACK | CT_TCPF_PSH, C_ISN + 1,
	                  S_ISN + 1, 0, &r),
	             CT_VERDICT_ACCEPT);
	expect_states(CL, CL, CT_S_CLOSE);
}

Test(fsm, invalid_segment_leaves_the_flow_byte_identical)
{
	struct ct_tcp before;
	enum ct_tcp_reason r;

	cr_assert_eq(handshake(&t, conf), 0);
	before = t;
	cr_expect_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_SYN, 5, 0, 0, &r), CT_VERDICT_INVALID);
	cr_expect_eq(r, CT_R_SYN_IN_WINDOW);
	cr_expect_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_ACK, C_ISN + 1, S_ISN + 90000, 0, &r),
	             CT_VERDICT_INVALID);
	cr_expect_eq(r, CT_R_ACK_UNSENT);
	cr_expect_eq(memcmp(&before, &t, sizeof(t)), 0);
}

Test(fsm, new_flow_refusals_leave_the_struct_untouched)
{
	static const struct {
		uint8_t flags;
		bool loose;
		enum ct_tcp_reason r;
	} cases[] = {
	        {CT_TCPF_SYN | CT_TCPF_ACK, true, CT_R_NO_FLOW_SYNACK},
	        {CT_TCPF_RST, true, CT_R_NO_FLOW_RST},
	        {CT_TCPF_FIN | CT_TCPF_ACK, true, CT_R_NO_FLOW_RST},
	        {CT_TCPF_ACK, false, CT_R_NO_FLOW_NOT_SYN},
	        {0, true, CT_R_BAD_FLAGS}, /* no SYN, ACK or RST: breaks a flag rule */
	        {CT_TCPF_SYN | CT_TCPF_RST, true, CT_R_BAD_FLAGS},
	        {CT_TCPF_FIN, true, CT_R_BAD_FLAGS},
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ct_tcp_conf c = ct_tcp_conf_default;
		struct ct_tcp_seg s = seg_make(cases[i].flags, 1, 2, 0, 100);
		struct ct_tcp x, y;
		enum ct_tcp_reason r = CT_R_MAX;

		c.loose = cases[i].loose;
		memset(&x, 0x5a, sizeof(x));
		y = x;
		cr_expect_eq(ct_tcp_new(&x, &c, &s, &r), CT_VERDICT_INVALID, "case %u", i);
		cr_expect_eq(r, cases[i].r, "case %u: %s", i, ct_tcp_reason_name(r));
		cr_expect_eq(memcmp(&x, &y, sizeof(x)), 0, "case %u wrote", i);
	}
}

Test(fsm, loose_pickup_starts_established_picked_up)
{
	struct ct_tcp_seg a = seg_make(CT_TCPF_ACK | CT_TCPF_PSH, C_ISN + 1, S_ISN + 1, 10, 500);
	enum ct_tcp_reason r;

	cr_assert_eq(ct_tcp_new(&t, conf, &a, &r), CT_VERDICT_NEW);
	expect_states(ES, ES, CT_S_ESTABLISHED);
	cr_expect(t.flags & CT_F_PICKED_UP);
	cr_expect(t.flags & CT_F_LIBERAL);
	cr_expect_eq(t.peer[0].end, C_ISN + 11);
	cr_expect_eq(t.peer[1].end, S_ISN + 1);
	cr_expect_eq(t.peer[1].maxwin, 0, "reply direction not seen yet");
	cr_expect_eq(step(&t, conf, CT_DIR_REPLY, CT_TCPF_ACK, S_ISN + 1, C_ISN + 11, 0, &r),
	             CT_VERDICT_ACCEPT);
	cr_expect_eq(t.flags & CT_F_LIBERAL, 0, "strict once both directions were seen");
	cr_expect_eq(t.flags & CT_F_ASSURED, 0, "assured only on the next segment (Linux)");
	cr_expect_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_ACK, C_ISN + 11, S_ISN + 1, 0, &r),
	             CT_VERDICT_ACCEPT);
	cr_expect(t.flags & CT_F_ASSURED);
}

Test(fsm, syn_in_time_wait_with_higher_isn_reopens_without_touching)
{
	struct ct_tcp before;
	enum ct_tcp_reason r;

	cr_assert_eq(handshake(&t, conf), 0);
	step(&t, conf, CT_DIR_ORIG, CT_TCPF_FIN | CT_TCPF_ACK, C_ISN + 1, S_ISN + 1, 0, NULL);
	step(&t, conf, CT_DIR_REPLY, CT_TCPF_FIN | CT_TCPF_ACK, S_ISN + 1, C_ISN + 2, 0, NULL);
	step(&t, conf, CT_DIR_ORIG, CT_TCPF_ACK, C_ISN + 2, S_ISN + 2, 0, NULL);
	expect_states(TW, CL, CT_S_TIME_WAIT);
	before = t;
	cr_expect_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_SYN, C_ISN + 2, 0, 0, &r),
	             CT_VERDICT_INVALID);
	cr_expect_eq(r, CT_R_TW_REOPEN_OLD_ISN);
	cr_expect_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_SYN, C_ISN + 3, 0, 0, &r),
	             CT_VERDICT_REOPEN);
	cr_expect_eq(r, CT_R_OK);
	cr_expect_eq(memcmp(&before, &t, sizeof(t)), 0);
}

Test(fsm, rst_before_any_reply_deletes_the_flow_untouched)
{
	struct ct_tcp_seg syn = seg_make(CT_TCPF_SYN, C_ISN, 0, 0, 65535);
	struct ct_tcp before;
	enum ct_tcp_reason r;

	/* Linux kills such an entry (nf_conntrack_tcp_packet: RST without IPS_SEEN_REPLY) */
	cr_assert_eq(ct_tcp_new(&t, conf, &syn, &r), CT_VERDICT_NEW);
	before = t;
	cr_expect_eq(step(&t, conf, CT_DIR_REPLY, CT_TCPF_RST | CT_TCPF_ACK, 0, C_ISN + 1, 0, &r),
	             CT_VERDICT_DELETE);
	cr_expect_eq(r, CT_R_OK);
	cr_expect_eq(step(&t, conf, CT_DIR_ORIG, CT_TCPF_RST, C_ISN + 1, 0, 0, &r),
	             CT_VERDICT_DELETE);
	cr_expect_eq(memcmp(&before, &t, sizeof(t)), 0);
	/* an invalid one stays INVALID; once the reply was seen, an RST closes */
	cr_expect_eq(step(&t, conf, CT_DIR_REPLY, CT_TCPF_RST | CT_TCPF_ACK, 0, C_ISN + 7, 0, &r),
	             CT_VERDICT_INVALID);
	cr_assert_eq(handshake(&t, conf), 0);
	cr_expect_eq(step(&t, conf, CT_DIR_REPLY, CT_TCPF_RST, S_ISN + 1, 0, 0, &r),
	             CT_VERDICT_ACCEPT);
	expect_states(CL, CL, CT_S_CLOSE);
}

Test(fsm, track_is_deterministic_on_copies)
{
	struct ct_tcp a, b;
	enum ct_tcp_reason ra, rb;
	uint32_t i;

	cr_assert_eq(handshake(&t, conf), 0);
	for (i = 0; i < 200; i++) {
		uint8_t flags = (uint8_t)(i * 37u);
		uint32_t seq = C_ISN + (i * 7919u) % 70000u, ack = S_ISN + (i * 104729u) % 3u;
		enum ct_verdict va, vb;

		a = b = t;
		va = step(&a, conf, (enum ct_dir)(i & 1), flags, seq, ack, (uint16_t)(i % 5), &ra);
		vb = step(&b, conf, (enum ct_dir)(i & 1), flags, seq, ack, (uint16_t)(i % 5), &rb);
		cr_expect_eq(va, vb);
		cr_expect_eq(ra, rb);
		cr_expect_eq(memcmp(&a, &b, sizeof(a)), 0);
		cr_expect_eq(a.state, ct_state_from_tcp(a.tcp_state[0], a.tcp_state[1]));
		cr_expect_eq(va == CT_VERDICT_ACCEPT, ra == CT_R_OK);
	}
}

/* ---- names, parsing, timeouts, dot ---- */

Test(fsm_names, names_come_from_the_enums)
{
	cr_expect_str_eq(ct_tcp_state_name(CT_TCP_FIN_WAIT_2), "FIN_WAIT_2");
	cr_expect_str_eq(ct_tcp_state_name(CT_TCP_STATE_MAX), "?");
	cr_expect_str_eq(ct_state_name(CT_S_SYN_SENT2), "SYN_SENT2");
	cr_expect_str_eq(ct_state_name(CT_S_MAX), "?");
	cr_expect_str_eq(ct_tcp_reason_name(CT_R_RST_OUT_OF_WINDOW), "rst_out_of_window");
	cr_expect_str_eq(ct_tcp_reason_name(CT_R_MAX), "?");
	cr_expect_str_eq(ct_tcp_reason_help(CT_R_OK), "segment accepted");
	cr_expect_str_eq(ct_tcp_reason_help(CT_R_MAX), "?");
}

Test(fsm_names, state_parse_accepts_case_and_dash)
{
	cr_expect_eq(ct_state_parse("ESTABLISHED"), CT_S_ESTABLISHED);
	cr_expect_eq(ct_state_parse("time-wait"), CT_S_TIME_WAIT);
	cr_expect_eq(ct_state_parse("Syn_Sent2"), CT_S_SYN_SENT2);
	cr_expect_eq(ct_state_parse("syn_sent"), CT_S_SYN_SENT);
	cr_expect_eq(ct_state_parse("SYN_SENT_"), -EINVAL);
	cr_expect_eq(ct_state_parse("SYN"), -EINVAL);
	cr_expect_eq(ct_state_parse(""), -EINVAL);
	cr_expect_eq(ct_state_parse(NULL), -EINVAL);
}

Test(fsm_timeouts, defaults_follow_linux_and_rfc9293)
{
	const uint32_t *s = ct_tcp_timeouts_default.ms; /* milliseconds */

	cr_expect_eq(s[CT_S_SYN_SENT], 120 * 1000);
	cr_expect_eq(s[CT_S_SYN_RECV], 60 * 1000);
	cr_expect_eq(s[CT_S_ESTABLISHED], 432000 * 1000);
	cr_expect_eq(s[CT_S_FIN_WAIT], 120 * 1000);
	cr_expect_eq(s[CT_S_CLOSE_WAIT], 60 * 1000);
	cr_expect_eq(s[CT_S_LAST_ACK], 30 * 1000);
	cr_expect_eq(s[CT_S_TIME_WAIT], 240 * 1000);
	cr_expect_eq(s[CT_S_CLOSE], 10 * 1000);
	cr_expect_eq(s[CT_S_SYN_SENT2], 120 * 1000);
	cr_expect_eq(s[CT_S_NONE], 30 * 1000);
	cr_expect_eq(memcmp(&ct_tcp_conf_default.timeouts, &ct_tcp_timeouts_default,
	                    sizeof(ct_tcp_timeouts_default)),
	             0);
	cr_expect(ct_tcp_conf_default.loose);
	cr_expect(!ct_tcp_conf_default.liberal);
	cr_assert_eq(handshake(&t, conf), 0);
	cr_expect_eq(ct_tcp_timeout(&t, conf), 432000 * 1000);
}

Test(fsm_dot, dot_is_drawn_from_the_table)
{
	static char buf[1 << 16];
	int n = ct_tcp_fsm_dot(buf, sizeof(buf)), k;
	char small[16];

	cr_assert_gt(n, 0);
	cr_assert_lt(n, (int)sizeof(buf));
	cr_expect_eq((size_t)n, strlen(buf));
	cr_expect(strstr(buf, "digraph ct_tcp_fsm {") != NULL);
	cr_expect(strstr(buf, "LISTEN -> SYN_RCVD [label=\"snd SYNACK\"]") != NULL);
	cr_expect(strstr(buf, "LAST_ACK -> CLOSED [label=\"snd RST\\nrcv ACKFIN\\nrcv RST\", "
	                      "color=gray50]") == NULL);
	cr_expect(strstr(buf, "LAST_ACK -> CLOSED [label=\"snd RST\\nrcv ACKFIN\\nrcv RST\"];") !=
	          NULL);
	cr_expect(strstr(buf, "TIME_WAIT -> REOPEN") != NULL);
	cr_expect(strstr(buf, "ESTABLISHED -> ESTABLISHED") == NULL, "no self loops");
	/* like snprintf: truncated output still returns the full length */
	k = ct_tcp_fsm_dot(small, sizeof(small));
	cr_expect_eq(k, n);
	cr_expect_eq(strlen(small), sizeof(small) - 1);
	cr_expect_eq(ct_tcp_fsm_dot(NULL, 0), n);
	cr_expect_eq(ct_tcp_fsm_dot(NULL, 5), -EINVAL);
}
