/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP state machine of a middlebox that sees both directions: the constant transition table
 * fsm[role][event][endpoint state] (netfilter's shape, RFC 9293 states per endpoint as in pf),
 * the classification of a segment into at most two events, the mapping of the two endpoint
 * states onto Linux nf_conntrack's state names, ct_tcp_new()/ct_tcp_track(), and the Graphviz
 * rendering of the table. Sequence/window tracking is in ct_tcp_window.c, timeouts and names in
 * ct_tcp_timeouts.c. Pure C: no DPDK, no allocation, no global written.
 *
 * Per-endpoint state graph (RFC 9293 Figure 5), annotated with the evidence a middlebox uses.
 * "X sends e" = a segment of event class e from endpoint X was seen; "X gets e" = the peer sent it.
 * The receiving endpoint only moves when the segment proves something about it: its SYN or FIN
 * was acknowledged, or the handshake ACK that it certainly receives. The sender moves on what it
 * sends, and on what its ACK field proves it received (ACKFIN = an ACK covering the peer's FIN).
 *
 *                               +---------+   client: ct_tcp_new(SYN) / sends SYN after RST,
 *          RST seen, either way |  CLOSED |---------------------------------------------\
 *     (from every state) ------>+---------+  in TIME_WAIT: CT_VERDICT_REOPEN (new flow)  |
 *                                  |                                                     |
 *              server: ct_tcp_new  |                                                     |
 *              (the SYN's target)  V                                                     V
 *                               +---------+          sends SYN (simultaneous open)   +--------+
 *                               |  LISTEN |----------------------------------------->|  SYN   |
 *                               +---------+                                          |  SENT  |
 *                                  |  sends SYN+ACK                                  +--------+
 *                                  V                                                   |   |
 *  +--------+  sends SYN+ACK (simultaneous open: its ACK field proves it got the SYN)   |   |
 *  |  SYN   |<-----------------------------------------------------------------------+   |
 *  |  RCVD  |                                                                            |
 *  +--------+  gets the handshake ACK, or sends an ACK (simultaneous open)               |
 *      |   \---------------------------------------\                                     |
 *      | sends FIN                                 V      sends the ACK of the SYN+ACK   |
 *      |                                      +---------+<------------------------------+
 *      |                                      |  ESTAB  |
 *      |                                      +---------+
 *      |                      sends FIN       |         |  sends ACKFIN (acks the peer's FIN)
 *      V                     /----------------/         \-------------------\
 *  +---------+<-------------/                                                V
 *  |  FIN    |  sends FIN2 (its FIN crosses the peer's)                +---------+
 *  | WAIT-1  |--------------------------\  ESTAB sends FIN2 --\         |  CLOSE  |
 *  +---------+  gets FIN2 / sends ACKFIN |                    |         |  WAIT   |
 *      | gets ACKFIN                     V                    V         +---------+
 *      | (its FIN acked)            +---------+<--------------/              | sends FIN
 *      V                            | CLOSING |                              V
 *  +---------+                      +---------+                         +---------+
 *  |FINWAIT-2|                           | gets ACKFIN                  | LAST-ACK|
 *  +---------+                           V                              +---------+
 *      | sends ACKFIN               +---------+                              | gets ACKFIN
 *      \--------------------------->|TIME-WAIT|                              V
 *                                   +---------+                         +---------+
 *                                                                       | CLOSED  |
 *                                                                       +---------+
 * Retransmissions (SYN in SYN_SENT, SYN+ACK in SYN_RCVD/ESTAB, FIN in any state after the FIN,
 * ACK of the FIN in TIME_WAIT/CLOSED) are accepted without a state change.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ct_tcp.h"
#include "ct_tcp_priv.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define sCL CT_TCP_CLOSED
#define sLI CT_TCP_LISTEN
#define sSS CT_TCP_SYN_SENT
#define sSR CT_TCP_SYN_RCVD
#define sES CT_TCP_ESTABLISHED
#define sF1 CT_TCP_FIN_WAIT_1
#define sF2 CT_TCP_FIN_WAIT_2
#define sCW CT_TCP_CLOSE_WAIT
#define sCG CT_TCP_CLOSING
#define sLA CT_TCP_LAST_ACK
#define sTW CT_TCP_TIME_WAIT
#define sIV CT_CELL_INVALID
#define sIG CT_CELL_IGNORE
#define sRE CT_CELL_REOPEN

/*
 * The transition table: new state of one endpoint, given whether it sent (SND) or receives (RCV)
 * the segment, the event class and its current state. sIV = INVALID, sIG = valid, no change,
 * sRE = SYN that may reopen (decided by the TIME_WAIT rules in ct_tcp_track()).
 * Event classes (classify()): SYN = SYN without ACK; SYNACK; FIN = FIN+ACK while the peer sent no
 * FIN; FIN2 = FIN+ACK that does not ack the peer's already seen FIN (the FINs crossed);
 * ACK = ACK (with or without data) that does not cover the peer's FIN; ACKFIN = ACK whose ack
 * number covers the peer's FIN; RST; NONE = none of SYN/FIN/RST/ACK.
 */
/* clang-format off */
static const uint8_t fsm[CT_ROLE_MAX][CT_EV_MAX][CT_TCP_STATE_MAX] = {
[CT_ROLE_SND] = {
/* sender              sCL  sLI  sSS  sSR  sES  sF1  sF2  sCW  sCG  sLA  sTW */
[CT_EV_SYN]    =     { sRE, sSS, sIG, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sRE },
	/*
	 * sCL: SYN after RST or from the closed side of TIME_WAIT: reopen candidate
	 * sLI: the server sends its own SYN: simultaneous open (RFC 9293 Figure 8)
	 * sSS: retransmitted SYN
	 * sSR: a bare SYN after having sent SYN+ACK: no such step in RFC 9293
	 * sES..sLA: SYN on a synchronized connection (RFC 5961 4.2: challenge ACK)
	 * sTW: SYN from the TIME_WAIT side: reopen candidate (RFC 9293 3.10.7.4, RFC 6191)
	 */
[CT_EV_SYNACK] =     { sIV, sSR, sSR, sIG, sIG, sIV, sIV, sIV, sIV, sIV, sIV },
	/*
	 * sCL: no SYN+ACK without a live connection
	 * sLI: the server answers the SYN (passive open)
	 * sSS: simultaneous open: answering the peer's SYN proves it got it
	 * sSR: retransmitted SYN+ACK
	 * sES: retransmitted SYN+ACK (the handshake ACK was lost)
	 * sF1..sTW: too late for a SYN+ACK
	 */
[CT_EV_FIN]    =     { sIG, sIV, sIV, sF1, sF1, sIG, sIG, sLA, sIG, sIG, sIG },
	/*
	 * sCL: FIN in flight when the RST or the last ACK was seen: accept, stay closed
	 * sLI, sSS: no FIN before the handshake
	 * sSR: close from SYN_RCVD (RFC 9293 3.10.4: to FIN_WAIT_1)
	 * sES: active close
	 * sF1, sF2, sCG, sLA, sTW: retransmitted FIN
	 * sCW: passive close: the second FIN
	 */
[CT_EV_FIN2]   =     { sIG, sIV, sIV, sCG, sCG, sCG, sIG, sLA, sIG, sIG, sIG },
	/*
	 * sCL: stale FIN: accept, stay closed
	 * sLI, sSS: no FIN before the handshake
	 * sSR, sES: its FIN crosses the peer's, which reaches it in FIN_WAIT_1: CLOSING
	 * sF1: its (retransmitted) FIN, the peer's FIN seen since: CLOSING
	 * sF2: retransmitted FIN (its FIN was acked already)
	 * sCW: the second FIN of a passive close, carrying an old ack
	 * sCG, sLA, sTW: retransmitted FIN
	 */
[CT_EV_ACK]    =     { sIG, sIV, sES, sES, sIG, sIG, sIG, sIG, sIG, sIG, sIG },
	/*
	 * sCL: in-flight segment after RST: accept, stay closed
	 * sLI: a listener sends no ACK
	 * sSS: the handshake ACK (the receiver's cell requires SYN_RCVD)
	 * sSR: simultaneous open: its ACK after both SYN+ACKs
	 * sES..sTW: data, window updates, duplicate ACKs
	 */
[CT_EV_ACKFIN] =     { sIG, sIV, sIV, sIV, sCW, sCG, sTW, sIG, sIG, sIG, sIG },
	/*
	 * sCL: retransmitted last ACK from the side that closed after LAST_ACK
	 * sLI, sSS, sSR: cannot ack a FIN before the handshake completed
	 * sES: acks the peer's FIN: passive close, CLOSE_WAIT
	 * sF1: acks the peer's FIN while its own is unacked: CLOSING
	 * sF2: acks the peer's FIN after its own was acked: TIME_WAIT
	 * sCW, sCG, sLA, sTW: duplicate ACK of the FIN
	 */
[CT_EV_RST]    =     { sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
	/* every state: an in-window RST aborts the connection (RFC 9293 3.10.7) */
[CT_EV_NONE]   =     { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
	/* every state: a segment without SYN, ACK or RST is never valid (RFC 9293 3.10.7.4) */
},
[CT_ROLE_RCV] = {
/* receiver            sCL  sLI  sSS  sSR  sES  sF1  sF2  sCW  sCG  sLA  sTW */
[CT_EV_SYN]    =     { sIG, sIG, sIG, sIG, sIV, sIV, sIV, sIV, sIV, sIV, sIG },
	/*
	 * sCL, sTW: a reopen is decided on the sender's cell
	 * sLI: retransmitted SYN
	 * sSS: simultaneous open: it moves when its SYN+ACK shows it got the SYN
	 * sSR: retransmitted SYN (its SYN+ACK may be lost)
	 * sES..sLA: SYN on a synchronized connection (RFC 5961 4.2)
	 */
[CT_EV_SYNACK] =     { sIV, sIV, sIG, sIG, sIG, sIV, sIV, sIV, sIV, sIV, sIV },
	/*
	 * sCL: no SYN+ACK without a live connection
	 * sLI: a listener sent nothing a SYN+ACK could answer
	 * sSS: it moves when it sends the handshake ACK
	 * sSR: simultaneous open: both stay in SYN_RCVD until an ACK
	 * sES: retransmitted SYN+ACK
	 * sF1..sTW: too late for a SYN+ACK
	 */
[CT_EV_FIN]    =     { sIG, sIV, sIV, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sIG },
	/*
	 * sCL: stale FIN: stay closed
	 * sLI, sSS: no FIN before the handshake
	 * sSR..sTW: the receiver moves when it acks the FIN (ACKFIN), not before
	 */
[CT_EV_FIN2]   =     { sIG, sIV, sIV, sIG, sIG, sCG, sIG, sIG, sIG, sIG, sIG },
	/*
	 * sLI, sSS: no FIN before the handshake
	 * sF1: gets the peer's FIN while its own is unacked: CLOSING (simultaneous close)
	 * others: retransmitted or stale FINs, no change
	 */
[CT_EV_ACK]    =     { sIG, sIV, sIV, sES, sIG, sIG, sIG, sIG, sIG, sIG, sIG },
	/*
	 * sCL: in-flight segment after RST
	 * sLI: nothing to ack for a listener
	 * sSS: a bare ACK acks no SYN of a SYN_SENT endpoint (that needs a SYN+ACK)
	 * sSR: the handshake ACK: ESTABLISHED
	 * sES..sTW: data and ACKs
	 */
[CT_EV_ACKFIN] =     { sIG, sIV, sIV, sIV, sIG, sF2, sIG, sIG, sTW, sCL, sIG },
	/*
	 * sCL: duplicate last ACK
	 * sLI, sSS, sSR: no FIN can have been sent yet
	 * sES, sCW: no FIN of its own (unreachable: classify() needs that FIN)
	 * sF1: its FIN acked: FIN_WAIT_2
	 * sF2, sTW: duplicate ACK of its FIN
	 * sCG: its FIN acked after the FINs crossed: TIME_WAIT
	 * sLA: its FIN acked: CLOSED
	 */
[CT_EV_RST]    =     { sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
	/* every state: an in-window RST aborts the connection for both endpoints */
[CT_EV_NONE]   =     { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
	/* every state: never valid */
},
};
/* clang-format on */

/* Reason of an INVALID that the table (not the sequence checks) decided, per event class. */
static const uint8_t table_reason[CT_EV_MAX] = {
        [CT_EV_SYN] = CT_R_SYN_IN_WINDOW, [CT_EV_SYNACK] = CT_R_UNEXPECTED,
        [CT_EV_FIN] = CT_R_UNEXPECTED,    [CT_EV_FIN2] = CT_R_UNEXPECTED,
        [CT_EV_ACK] = CT_R_UNEXPECTED,    [CT_EV_ACKFIN] = CT_R_UNEXPECTED,
        [CT_EV_RST] = CT_R_UNEXPECTED,    [CT_EV_NONE] = CT_R_UNEXPECTED,
};

static const char *const event_names[CT_EV_MAX] = {
#define X(e, s) [CT_EV_##e] = s,
        CT_TCP_EVENTS(X)
#undef X
};

int
ct_tcp_fsm_cell(unsigned int role, unsigned int ev, unsigned int state)
{
	if (role >= CT_ROLE_MAX || ev >= CT_EV_MAX || state >= CT_TCP_STATE_MAX)
		return -1;
	return fsm[role][ev][state];
}

const char *
ct_tcp_event_name(unsigned int ev)
{
	return ev < CT_EV_MAX ? event_names[ev] : "?";
}

/*
 * Conntrack state from the two endpoint states. The endpoint that is further along decides
 * (rank), with Linux's names; two SYN_SENT endpoints are Linux's SYN_SENT2:
 *
 *   rank  endpoint state        conntrack state   (the pair takes the higher-ranked endpoint)
 *   9     TIME_WAIT             TIME_WAIT         (the other is CLOSED, CLOSING or TIME_WAIT)
 *   8     CLOSED                CLOSE             (after RST; CLOSED+TIME_WAIT is TIME_WAIT)
 *   7     LAST_ACK, CLOSING     LAST_ACK          (second FIN seen)
 *   6     CLOSE_WAIT, FW_2      CLOSE_WAIT        (first FIN acked)
 *   5     FIN_WAIT_1            FIN_WAIT          (first FIN seen)
 *   4     ESTABLISHED           ESTABLISHED
 *   3     SYN_RCVD              SYN_RECV
 *   2     SYN_SENT              SYN_SENT          (SYN_SENT + SYN_SENT: SYN_SENT2)
 *   1     LISTEN                NONE
 *
 * Pairs reached by the table, with what Linux shows for the same packets:
 *   SYN_SENT/LISTEN SYN_SENT; SYN_SENT/SYN_RCVD SYN_RECV; SYN_SENT/SYN_SENT SYN_SENT2;
 *   SYN_RCVD/SYN_SENT and SYN_RCVD/SYN_RCVD SYN_RECV; ESTAB/ESTAB ESTABLISHED;
 *   FIN_WAIT_1/ESTAB FIN_WAIT; FIN_WAIT_2/CLOSE_WAIT CLOSE_WAIT; FIN_WAIT_2/LAST_ACK and
 *   CLOSING/CLOSING LAST_ACK; TIME_WAIT/CLOSED, TIME_WAIT/CLOSING, TIME_WAIT/TIME_WAIT
 *   TIME_WAIT; CLOSED/CLOSED CLOSE (and the mirror of each pair).
 */
static const uint8_t rank[CT_TCP_STATE_MAX] = {
        [CT_TCP_CLOSED] = 8,     [CT_TCP_LISTEN] = 1,      [CT_TCP_SYN_SENT] = 2,
        [CT_TCP_SYN_RCVD] = 3,   [CT_TCP_ESTABLISHED] = 4, [CT_TCP_FIN_WAIT_1] = 5,
        [CT_TCP_FIN_WAIT_2] = 6, [CT_TCP_CLOSE_WAIT] = 6,  [CT_TCP_CLOSING] = 7,
        [CT_TCP_LAST_ACK] = 7,   [CT_TCP_TIME_WAIT] = 9,
};

static const uint8_t ct_of[CT_TCP_STATE_MAX] = {
        [CT_TCP_CLOSED] = CT_S_CLOSE,
        [CT_TCP_LISTEN] = CT_S_NONE,
        [CT_TCP_SYN_SENT] = CT_S_SYN_SENT,
        [CT_TCP_SYN_RCVD] = CT_S_SYN_RECV,
        [CT_TCP_ESTABLISHED] = CT_S_ESTABLISHED,
        [CT_TCP_FIN_WAIT_1] = CT_S_FIN_WAIT,
        [CT_TCP_FIN_WAIT_2] = CT_S_CLOSE_WAIT,
        [CT_TCP_CLOSE_WAIT] = CT_S_CLOSE_WAIT,
        [CT_TCP_CLOSING] = CT_S_LAST_ACK,
        [CT_TCP_LAST_ACK] = CT_S_LAST_ACK,
        [CT_TCP_TIME_WAIT] = CT_S_TIME_WAIT,
};

enum ct_state
ct_state_from_tcp(enum ct_tcp_state client, enum ct_tcp_state server)
{
	unsigned int c = (unsigned int)client, s = (unsigned int)server;

	if (c >= CT_TCP_STATE_MAX || s >= CT_TCP_STATE_MAX)
		return CT_S_NONE;
	if (c == CT_TCP_SYN_SENT && s == CT_TCP_SYN_SENT)
		return CT_S_SYN_SENT2;
	return (enum ct_state)ct_of[rank[c] >= rank[s] ? c : s];
}

#define EV_BAD CT_EV_MAX

/*
 * Event classes of a segment, in a fixed priority (netfilter's get_conntrack_index()):
 * RST, SYN, SYN+ACK, FIN, ACK, NONE; impossible combinations (RST with SYN or FIN, SYN with FIN,
 * FIN without ACK) are EV_BAD. With a flow (@p t), ACK and FIN are refined by what the ack
 * number covers: an ACK whose ack equals the end of the peer's FIN is ACKFIN (evidence that the
 * sender got the FIN), and a FIN+ACK that acks the peer's FIN is two events, ACKFIN then FIN
 * (it got the peer's FIN, then closed its side: RFC 9293 processes the ACK field before the FIN
 * bit, 3.10.7.4). A FIN that does not ack the peer's seen FIN is FIN2 (the two FINs crossed).
 * @return the number of events written to @p ev (1 or 2).
 */
static unsigned int
classify(const struct ct_tcp *t, unsigned int dir, const struct ct_tcp_seg *seg, uint8_t ev[2])
{
	unsigned int f = seg->flags & (CT_TCPF_FIN | CT_TCPF_SYN | CT_TCPF_RST | CT_TCPF_ACK);
	unsigned int peer_fin, acks_fin;

	if (f & CT_TCPF_RST) {
		ev[0] = (f & (CT_TCPF_SYN | CT_TCPF_FIN)) ? EV_BAD : CT_EV_RST;
		return 1;
	}
	if (f & CT_TCPF_SYN) {
		ev[0] = (f & CT_TCPF_FIN) ? EV_BAD : (f & CT_TCPF_ACK) ? CT_EV_SYNACK : CT_EV_SYN;
		return 1;
	}
	if (!(f & CT_TCPF_ACK)) {
		ev[0] = (f & CT_TCPF_FIN) ? EV_BAD : CT_EV_NONE;
		return 1;
	}
	peer_fin = t != NULL && (t->peer_flags[!dir] & CT_PEER_F_FIN_SEEN);
	acks_fin = peer_fin && seg->ack == t->peer[!dir].end;
	if (f & CT_TCPF_FIN) {
		if (acks_fin) {
			ev[0] = CT_EV_ACKFIN;
			ev[1] = CT_EV_FIN;
			return 2;
		}
		ev[0] = peer_fin ? CT_EV_FIN2 : CT_EV_FIN;
		return 1;
	}
	ev[0] = acks_fin ? CT_EV_ACKFIN : CT_EV_ACK;
	return 1;
}

static inline enum ct_verdict
invalid(enum ct_tcp_reason *reason, enum ct_tcp_reason r)
{
	*reason = r;
	return CT_VERDICT_INVALID;
}

enum ct_verdict
ct_tcp_new(struct ct_tcp *t, const struct ct_tcp_conf *conf, const struct ct_tcp_seg *seg,
           enum ct_tcp_reason *reason)
{
	uint8_t ev[2];

	classify(NULL, CT_DIR_ORIG, seg, ev);
	switch (ev[0]) {
	case CT_EV_SYN:
		ct_tcp_window_new_syn(t, seg);
		t->tcp_state[CT_DIR_ORIG] = CT_TCP_SYN_SENT;
		t->tcp_state[CT_DIR_REPLY] = CT_TCP_LISTEN;
		t->state = CT_S_SYN_SENT;
		break;
	case CT_EV_ACK:
		if (!conf->loose)
			return invalid(reason, CT_R_NO_FLOW_NOT_SYN);
		ct_tcp_window_new_pickup(t, seg);
		t->tcp_state[CT_DIR_ORIG] = CT_TCP_ESTABLISHED;
		t->tcp_state[CT_DIR_REPLY] = CT_TCP_ESTABLISHED;
		t->state = CT_S_ESTABLISHED;
		t->flags = CT_F_PICKED_UP | CT_F_LIBERAL;
		break;
	case CT_EV_SYNACK:
		return invalid(reason, CT_R_NO_FLOW_SYNACK);
	case CT_EV_RST:
	case CT_EV_FIN:
		return invalid(reason, CT_R_NO_FLOW_RST);
	case CT_EV_NONE:
		return invalid(reason, CT_R_NO_FLOW_NOT_SYN);
	default:
		return invalid(reason, CT_R_BAD_FLAGS);
	}
	*reason = CT_R_OK;
	return CT_VERDICT_NEW;
}

/*
 * SYN on a closed flow (sRE). In CLOSE (after RST) it always reopens. In TIME_WAIT it reopens
 * when its ISN is beyond the sequence space the sender used in the old connection (RFC 9293
 * 3.10.7.4 / RFC 1122 4.2.2.13), or, when both peers negotiated timestamps, when its TSval is
 * newer than the sender's last one (RFC 6191). The middlebox accepts if either holds: the
 * endpoint makes the final decision and a stricter check would only break legal reconnects.
 */
static enum ct_verdict
reopen(const struct ct_tcp *t, unsigned int dir, const struct ct_tcp_seg *seg,
       enum ct_tcp_reason *reason)
{
	unsigned int pf = t->peer_flags[dir];

	if (t->state == CT_S_TIME_WAIT && !ct_seq_after(seg->seq, t->peer[dir].end)) {
		unsigned int ts_both = t->peer_flags[0] & t->peer_flags[1] & CT_PEER_F_TS;

		if (!ts_both || !(seg->opts & CT_TCPO_TS) || !(pf & CT_PEER_F_TS_LAST) ||
		    !ct_seq_after(seg->tsval, t->peer[dir].ts_last))
			return invalid(reason, CT_R_TW_REOPEN_OLD_ISN);
	}
	*reason = CT_R_OK;
	return CT_VERDICT_REOPEN;
}

enum ct_verdict
ct_tcp_track(struct ct_tcp *t, const struct ct_tcp_conf *conf, enum ct_dir dir,
             const struct ct_tcp_seg *seg, enum ct_tcp_reason *reason)
{
	unsigned int d = (unsigned int)dir & 1;
	unsigned int snd = t->tcp_state[d], rcv = t->tcp_state[!d];
	unsigned int i, n, a, b;
	enum ct_tcp_reason r;
	struct ct_tcp nt;
	uint8_t ev[2];

	n = classify(t, d, seg, ev);
	if (unlikely(ev[0] == EV_BAD))
		return invalid(reason, CT_R_BAD_FLAGS);
	if (unlikely(snd >= CT_TCP_STATE_MAX || rcv >= CT_TCP_STATE_MAX))
		return invalid(reason, CT_R_UNEXPECTED);

	/* The table for both endpoints, events in classify()'s order. */
	for (i = 0; i < n; i++) {
		a = fsm[CT_ROLE_SND][ev[i]][snd];
		b = fsm[CT_ROLE_RCV][ev[i]][rcv];
		if (unlikely(a == sRE))
			return reopen(t, d, seg, reason);
		if (unlikely(a == sIV || b == sIV))
			return invalid(reason, (enum ct_tcp_reason)table_reason[ev[i]]);
		snd = a == sIG ? snd : a;
		rcv = b == sIG ? rcv : b;
	}

	/* Sequence checks and updates on a copy: nothing is written unless all pass. */
	nt = *t;
	r = ct_tcp_window_check(&nt, conf, d, seg, ev[0], (unsigned int)t->tcp_state[!d]);
	if (unlikely(r != CT_R_OK))
		return invalid(reason, r);

	if (snd != t->tcp_state[d] || rcv != t->tcp_state[!d]) {
		nt.tcp_state[d] = (uint8_t)snd;
		nt.tcp_state[!d] = (uint8_t)rcv;
		nt.state =
		        (uint8_t)ct_state_from_tcp((enum ct_tcp_state)nt.tcp_state[CT_DIR_ORIG],
		                                   (enum ct_tcp_state)nt.tcp_state[CT_DIR_REPLY]);
	}
	/* Linux: ASSURED on a valid segment that keeps or makes ESTABLISHED after a reply. */
	if (nt.state == CT_S_ESTABLISHED &&
	    (t->state == CT_S_SYN_RECV || t->state == CT_S_ESTABLISHED) && t->peer[0].maxwin != 0 &&
	    t->peer[1].maxwin != 0)
		nt.flags |= CT_F_ASSURED;
	/* A picked-up flow is liberal until both directions were seen. */
	if ((nt.flags & CT_F_LIBERAL) && nt.peer[0].maxwin != 0 && nt.peer[1].maxwin != 0)
		nt.flags &= (uint8_t)~CT_F_LIBERAL;
	*t = nt;
	*reason = CT_R_OK;
	return CT_VERDICT_ACCEPT;
}

/* ---- Graphviz rendering of the table ---- */

struct out {
	char *buf;
	unsigned long size;
	unsigned long len;
};

static void __attribute__((format(printf, 2, 3))) out_printf(struct out *o, const char *fmt, ...)
{
	char *p = o->len < o->size ? o->buf + o->len : NULL;
	unsigned long room = o->len < o->size ? o->size - o->len : 0;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(p, room, fmt, ap);
	va_end(ap);
	if (k > 0)
		o->len += (unsigned long)k;
}

int
ct_tcp_fsm_dot(char *buf, unsigned long size)
{
	static const char *const role_tag[CT_ROLE_MAX] = {"snd", "rcv"};
	struct out o = {buf, size, 0};
	unsigned int from, to, role, ev;

	if (buf == NULL && size != 0)
		return -EINVAL;
	if (size != 0)
		buf[0] = '\0';
	out_printf(&o,
	           "// Generated by ct_tcp_fsm_dot() from lib/tcp/ct_tcp_fsm.c: do not edit.\n"
	           "digraph ct_tcp_fsm {\n"
	           "\tlabel=\"synfin: RFC 9293 endpoint states, edges from fsm[role][event][state]"
	           " (snd = the endpoint sent the segment, rcv = it receives it)\";\n"
	           "\tlabelloc=t;\n\tnewrank=true;\n"
	           "\tnode [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
	           "\tedge [fontname=\"Helvetica\", fontsize=10];\n");
	for (from = 0; from < CT_TCP_STATE_MAX; from++)
		out_printf(&o, "\t%s;\n", ct_tcp_state_name(from));
	out_printf(&o, "\tREOPEN [shape=ellipse, style=dashed, label=\"REOPEN\\n(new flow)\"];\n");
	for (from = 0; from < CT_TCP_STATE_MAX; from++) {
		for (to = 0; to <= CT_CELL_REOPEN; to++) {
			unsigned int k = 0, only_rst = 1;

			if (to == from || to == CT_CELL_INVALID || to == CT_CELL_IGNORE)
				continue;
			for (role = 0; role < CT_ROLE_MAX; role++) {
				for (ev = 0; ev < CT_EV_MAX; ev++) {
					if (fsm[role][ev][from] != to)
						continue;
					if (k++ == 0)
						out_printf(&o, "\t%s -> %s [label=\"",
						           ct_tcp_state_name(from),
						           to == CT_CELL_REOPEN
						                   ? "REOPEN"
						                   : ct_tcp_state_name(to));
					else
						out_printf(&o, "\\n");
					out_printf(&o, "%s %s", role_tag[role], event_names[ev]);
					only_rst &= ev == CT_EV_RST;
				}
			}
			if (k != 0)
				out_printf(&o, "\"%s];\n",
				           to == CT_CELL_REOPEN
				                   ? ", style=dashed"
				                   : (only_rst ? ", color=gray50" : ""));
		}
	}
	out_printf(&o, "}\n");
	return o.len > 0x7fffffffUL ? -EINVAL : (int)o.len;
}
