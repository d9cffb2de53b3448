/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP state machine of a middlebox that sees both directions: the flag rules, the constant
 * transition table fsm[event][role][endpoint state] (netfilter's shape, RFC 9293 states per
 * endpoint as in pf, a reason in every INVALID cell), the classification of a segment into at
 * most two events, the mapping of the two endpoint states onto Linux nf_conntrack's state names,
 * and ct_tcp_new()/ct_tcp_track(). Sequence/window tracking is in ct_tcp_window.c, timeouts and
 * names in ct_tcp_timeouts.c, the Graphviz drawing of the table in ct_tcp_dot.c. Pure C: no libc
 * call, no allocation, no global written.
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
#include <stddef.h>

#include "ct_tcp.h"
#include "ct_tcp_priv.h"

/* Out of the per-packet function on the host (its registers stay the hot path's); inlined in BPF. */
#ifndef CT_TCP_COLD
#define CT_TCP_COLD __attribute__((noinline, cold))
#endif

/*
 * Indices the BPF verifier can bound: in a BPF build (CT_TCP_BPF) the table's dimensions are
 * padded to powers of two and every index is masked, a no-op for the values the table holds (the
 * verifier cannot know them); on the host the table is exact and nothing is masked.
 */
#ifdef CT_TCP_BPF
#define FSM_EV_DIM  8
#define FSM_ST_DIM  16
#define IDX(x, dim) bpf_idx((x), (dim)-1)
/*
 * The compiler knows the values and would drop the mask; the barrier keeps it for the verifier.
 * Barrier after a mask (bpf_idx(x, 0) after x & 1, the direction): the compiler no longer knows
 * the range, so it adds an index to a stack address instead of or-ing it in (the verifier
 * refuses bit operations on pointers).
 */
static inline __attribute__((always_inline)) unsigned int
bpf_idx(unsigned int x, unsigned int mask)
{
	__asm__ volatile("" : "+r"(x));
	return mask ? x & mask : x;
}
#define DIR_OF(dir) bpf_idx((unsigned int)(dir)&1, 0)
#else
#define FSM_EV_DIM  CT_EV_MAX
#define FSM_ST_DIM  CT_TCP_STATE_MAX
#define IDX(x, dim) (x)
#define DIR_OF(dir) ((unsigned int)(dir)&1)
#endif
_Static_assert(FSM_EV_DIM >= CT_EV_MAX && FSM_ST_DIM >= CT_TCP_STATE_MAX, "table dimensions");

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Flag rules (ct_tcp.h), by the bits FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10, URG 0x20, computed
 * at compile time from the priority list of CT_TCP_FLAG_RULES.
 */
#define F_FIN     CT_TCPF_FIN
#define F_SYN     CT_TCPF_SYN
#define F_RST     CT_TCPF_RST
#define F_ACK     CT_TCPF_ACK
#define F_URG     CT_TCPF_URG
#define HAS(f, m) (((f) & (m)) == (m))
#define FLAG_RULE(f)                                                                               \
	(!((f) & (F_SYN | F_RST | F_ACK | F_FIN)) ? CT_TCPFR_NONE                                  \
	 : HAS(f, F_SYN | F_FIN)                  ? CT_TCPFR_SYN_FIN                               \
	 : HAS(f, F_SYN | F_RST)                  ? CT_TCPFR_SYN_RST                               \
	 : HAS(f, F_RST | F_FIN)                  ? CT_TCPFR_RST_FIN                               \
	 : ((f) & (F_FIN | F_ACK)) == F_FIN       ? CT_TCPFR_FIN_NO_ACK                            \
	 : HAS(f, F_URG) && HAS(f, F_SYN | F_ACK) ? CT_TCPFR_URG                                   \
	 : HAS(f, F_URG) && ((f)&F_RST)           ? CT_TCPFR_URG                                   \
	                                          : CT_TCPFR_OK)
#define FR4(b)  FLAG_RULE(b), FLAG_RULE((b) + 1), FLAG_RULE((b) + 2), FLAG_RULE((b) + 3)
#define FR16(b) FR4(b), FR4((b) + 4), FR4((b) + 8), FR4((b) + 12)
const uint8_t ct_tcp_flag_rules[64] = {FR16(0), FR16(16), FR16(32), FR16(48)};

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
#define sIG CT_CELL_IGNORE
#define sRE CT_CELL_REOPEN
/* INVALID cells, each with the reason it counts under. */
#define iSW CT_CELL_INVALID_R(CT_R_SYN_IN_WINDOW)
#define iSA CT_CELL_INVALID_R(CT_R_SYN_AFTER_SYNACK)
#define iSU CT_CELL_INVALID_R(CT_R_SYNACK_UNSOLICITED)
#define iSL CT_CELL_INVALID_R(CT_R_SYNACK_LATE)
#define iFE CT_CELL_INVALID_R(CT_R_FIN_EARLY)
#define iAB CT_CELL_INVALID_R(CT_R_ACK_BEFORE_SYNACK)
#define iAF CT_CELL_INVALID_R(CT_R_ACKFIN_EARLY)

/*
 * The transition table: new state of one endpoint, given the event class, whether the endpoint
 * sent (SND) or receives (RCV) the segment, and its current state. The two rows of an event sit
 * together, so one segment's effect on both endpoints reads as one block. i?? = INVALID with the
 * reason the alias names (above), sIG = valid, no change, sRE = SYN that may reopen (decided by
 * the TIME_WAIT rules in ct_tcp_track()).
 * Event classes (classify()): SYN = SYN without ACK; SYNACK; FIN = FIN+ACK while the peer sent no
 * FIN; FIN2 = FIN+ACK that does not ack the peer's already seen FIN (the FINs crossed);
 * ACK = ACK (with or without data) that does not cover the peer's FIN; ACKFIN = ACK whose ack
 * number covers the peer's FIN; RST. Flag combinations outside ct_tcp_flag_rules[] never get here.
 */
/* clang-format off */
static const uint8_t fsm[FSM_EV_DIM][CT_ROLE_MAX][FSM_ST_DIM] = {
/*                         sCL  sLI  sSS  sSR  sES  sF1  sF2  sCW  sCG  sLA  sTW */
[CT_EV_SYN] = {
	[CT_ROLE_SND] =  { sRE, sSS, sIG, iSA, iSW, iSW, iSW, iSW, iSW, iSW, sRE },
	[CT_ROLE_RCV] =  { sIG, sIG, sIG, sIG, iSW, iSW, iSW, iSW, iSW, iSW, sIG },
	/*
	 * snd sCL: SYN after RST or from the closed side of TIME_WAIT: reopen candidate
	 * snd sLI: the server sends its own SYN: simultaneous open (RFC 9293 Figure 8)
	 * snd sSS: retransmitted SYN
	 * snd sSR: a bare SYN after having sent SYN+ACK: no such step in RFC 9293
	 * snd/rcv sES..sLA: SYN on a synchronized connection (RFC 5961 4.2: challenge ACK)
	 * snd sTW: SYN from the TIME_WAIT side: reopen candidate (RFC 9293 3.10.7.4, RFC 6191)
	 * rcv sCL, sTW: a reopen is decided on the sender's cell
	 * rcv sLI: retransmitted SYN; rcv sSS: simultaneous open, it moves when its SYN+ACK shows
	 * it got the SYN; rcv sSR: retransmitted SYN (its SYN+ACK may be lost)
	 */
},
[CT_EV_SYNACK] = {
	[CT_ROLE_SND] =  { iSU, sSR, sSR, sIG, sIG, iSL, iSL, iSL, iSL, iSL, iSL },
	[CT_ROLE_RCV] =  { iSU, iSU, sIG, sIG, sIG, iSL, iSL, iSL, iSL, iSL, iSL },
	/*
	 * snd/rcv sCL: no SYN+ACK without a live connection
	 * snd sLI: the server answers the SYN (passive open)
	 * snd sSS: simultaneous open: answering the peer's SYN proves it got it
	 * snd sSR, sES: retransmitted SYN+ACK (the handshake ACK may be lost)
	 * snd/rcv sF1..sTW: too late for a SYN+ACK
	 * rcv sLI: a listener sent no SYN that a SYN+ACK could answer
	 * rcv sSS: it moves when it sends the handshake ACK; rcv sSR: simultaneous open, both stay
	 * in SYN_RCVD until an ACK; rcv sES: retransmitted SYN+ACK
	 */
},
[CT_EV_FIN] = {
	[CT_ROLE_SND] =  { sIG, iFE, sF1, sF1, sF1, sIG, sIG, sLA, sIG, sIG, sIG },
	[CT_ROLE_RCV] =  { sIG, iFE, sIG, sES, sIG, sIG, sIG, sIG, sIG, sIG, sIG },
	/*
	 * snd/rcv sCL: FIN in flight when the RST or the last ACK was seen: accept, stay closed
	 * snd/rcv sLI: no FIN from or to an endpoint that has not sent its SYN
	 * snd sSS: its FIN+ACK acks the peer's SYN+ACK: the handshake ACK and a close in one
	 * segment (RFC 9293 3.10.7.3 then 3.10.4): FIN_WAIT_1 (the receiver's cell needs SYN_RCVD,
	 * or a TFO server that closed from SYN_RCVD)
	 * snd sSR: close from SYN_RCVD (RFC 9293 3.10.4: to FIN_WAIT_1; RFC 7413 4.2.2: a TFO
	 * server may do so before the handshake ACK); snd sES: active close
	 * snd sF1, sF2, sCG, sLA, sTW: retransmitted FIN; snd sCW: passive close, the second FIN
	 * rcv sSS: a TFO server's FIN from SYN_RCVD (RFC 7413 4.2.2): the client moves when it
	 * acks it
	 * rcv sSR: the FIN+ACK acks its SYN: the handshake ACK (RFC 9293 3.10.7.4), ESTABLISHED
	 * rcv sES..sTW: the receiver moves when it acks the FIN (ACKFIN), not before
	 */
},
[CT_EV_FIN2] = {
	[CT_ROLE_SND] =  { sIG, iFE, sCG, sCG, sCG, sCG, sIG, sLA, sIG, sIG, sIG },
	[CT_ROLE_RCV] =  { sIG, iFE, iFE, sIG, sIG, sCG, sIG, sIG, sIG, sIG, sIG },
	/*
	 * snd/rcv sCL: stale FIN: accept, stay closed
	 * snd/rcv sLI: no FIN from or to an endpoint that has not sent its SYN
	 * snd sSS: handshake ACK and FIN in one segment while a TFO server's FIN (sent from
	 * SYN_RCVD) is unacked: the FINs crossed, CLOSING
	 * rcv sSS: an endpoint in SYN_SENT has sent no FIN that a FIN2 could cross (unreachable)
	 * snd sSR, sES: its FIN crosses the peer's, which reaches it in FIN_WAIT_1: CLOSING
	 * snd sF1: its (retransmitted) FIN, the peer's FIN seen since: CLOSING
	 * snd sF2: retransmitted FIN (its FIN was acked already)
	 * snd sCW: the second FIN of a passive close, carrying an old ack
	 * snd sCG, sLA, sTW: retransmitted FIN
	 * rcv sF1: gets the peer's FIN while its own is unacked: CLOSING (simultaneous close)
	 * rcv others: retransmitted or stale FINs, no change
	 */
},
[CT_EV_ACK] = {
	[CT_ROLE_SND] =  { sIG, sIG, sES, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sIG },
	[CT_ROLE_RCV] =  { sIG, iAB, sIG, sES, sIG, sIG, sIG, sIG, sIG, sIG, sIG },
	/*
	 * snd/rcv sCL: in-flight segment after RST: accept, stay closed
	 * snd sLI: the bare ACK of the peer's SYN before its own SYN: the split handshake, RFC
	 * 9293 3.3's four-step open (RFC 793 3.3: "steps 2 and 3 can be combined"), Linux's
	 * "ignore"; only a bare ACK of exactly that SYN (the window check: ack_in_listen)
	 * snd sSS: the handshake ACK (with the peer in SYN_RCVD; to a peer in SYN_SENT it is the
	 * ACK half of its split SYN+ACK)
	 * snd sSR: proves nothing new: a TFO server's data before the handshake ACK (RFC 7413
	 * 4.2.2), the ACK answering an unacceptable segment (RFC 9293 3.10.7.4), or in
	 * simultaneous open the ACK after the peer's SYN+ACK; it moves when the peer acks its SYN
	 * snd/rcv sES..sTW: data, window updates, duplicate ACKs
	 * rcv sLI: nothing to ack for a listener that has not answered
	 * rcv sSS: it moves when it sends its handshake ACK (a TFO server's data, a split
	 * handshake's ACK of its SYN); the ack must be exactly its SYN's (ack_syn_unanswered)
	 * rcv sSR: the handshake ACK: ESTABLISHED
	 */
},
[CT_EV_ACKFIN] = {
	[CT_ROLE_SND] =  { sIG, iAF, sCW, iAF, sCW, sCG, sTW, sIG, sIG, sIG, sIG },
	[CT_ROLE_RCV] =  { sIG, iAF, iAF, iAF, sIG, sF2, sIG, sIG, sTW, sCL, sIG },
	/*
	 * snd sCL: retransmitted last ACK from the side that closed after LAST_ACK
	 * snd sSS: its first ACK after the SYN+ACK also covers a TFO server's FIN sent from
	 * SYN_RCVD (RFC 7413 4.2.2): ESTABLISHED, then CLOSE_WAIT
	 * snd sLI, rcv sLI, sSS, sSR: no FIN to ack (its sender would be in FIN_WAIT_1 or later)
	 * snd sSR: the peer's FIN, acking its SYN, made it ESTABLISHED (rcv sSR on FIN)
	 * snd sES: acks the peer's FIN: passive close, CLOSE_WAIT
	 * snd sF1: acks the peer's FIN while its own is unacked: CLOSING
	 * snd sF2: acks the peer's FIN after its own was acked: TIME_WAIT
	 * snd sCW, sCG, sLA, sTW: duplicate ACK of the FIN
	 * rcv sCL: duplicate last ACK; rcv sES, sCW: no FIN of its own (unreachable: classify()
	 * needs that FIN); rcv sF1: its FIN acked: FIN_WAIT_2; rcv sF2, sTW: duplicate ACK of its
	 * FIN; rcv sCG: its FIN acked after the FINs crossed: TIME_WAIT; rcv sLA: its FIN acked:
	 * CLOSED
	 */
},
[CT_EV_RST] = {
	[CT_ROLE_SND] =  { sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
	[CT_ROLE_RCV] =  { sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
	/* every state: an in-window RST aborts the connection for both endpoints (RFC 9293 3.10.7) */
},
};
/* clang-format on */

#ifndef CT_TCP_BPF /* control-side helpers: not in a BPF program */
static const char *const event_names[CT_EV_MAX] = {
#define X(e, s) [CT_EV_##e] = s,
        CT_TCP_EVENTS(X)
#undef X
};

int
ct_tcp_fsm_cell(unsigned int role, unsigned int ev, unsigned int state)
{
	unsigned int c;

	if (role >= CT_ROLE_MAX || ev >= CT_EV_MAX || state >= CT_TCP_STATE_MAX)
		return -1;
	c = fsm[ev][role][state];
	return c >= CT_CELL_INVALID ? CT_CELL_INVALID : (int)c;
}

int
ct_tcp_fsm_cell_reason(unsigned int role, unsigned int ev, unsigned int state)
{
	unsigned int c;

	if (role >= CT_ROLE_MAX || ev >= CT_EV_MAX || state >= CT_TCP_STATE_MAX)
		return -1;
	c = fsm[ev][role][state];
	return c >= CT_CELL_INVALID ? (int)(c - CT_CELL_INVALID) : CT_R_OK;
}

const char *
ct_tcp_event_name(unsigned int ev)
{
	return ev < CT_EV_MAX ? event_names[ev] : "?";
}
#endif

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

CT_TCP_API enum ct_state
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
 * RST, SYN, SYN+ACK, FIN, ACK; a combination that breaks a flag rule (ct_tcp_flag_rules[], the
 * table the parser uses too) is EV_BAD. With a flow (@p t), ACK and FIN are refined by what the ack
 * number covers: an ACK whose ack equals the end of the peer's FIN is ACKFIN (evidence that the
 * sender got the FIN), and a FIN+ACK that acks the peer's FIN is two events, ACKFIN then FIN
 * (it got the peer's FIN, then closed its side: RFC 9293 processes the ACK field before the FIN
 * bit, 3.10.7.4). A FIN that does not ack the peer's seen FIN is FIN2 (the two FINs crossed).
 * @return the number of events written to @p ev (1 or 2).
 */
CT_TCP_LOCAL unsigned int
classify(const struct ct_tcp *t, unsigned int dir, const struct ct_tcp_seg *seg, uint8_t ev[2])
{
	unsigned int f = seg->flags;
	unsigned int peer_fin, acks_fin;

	if (unlikely(ct_tcp_flag_rule(seg->flags) != CT_TCPFR_OK)) {
		ev[0] = EV_BAD;
		return 1;
	}
	if (f & CT_TCPF_RST) {
		ev[0] = CT_EV_RST;
		return 1;
	}
	if (f & CT_TCPF_SYN) {
		ev[0] = (f & CT_TCPF_ACK) ? CT_EV_SYNACK : CT_EV_SYN;
		return 1;
	}
	/* Valid and neither RST nor SYN: ACK, with or without FIN. */
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

CT_TCP_API enum ct_verdict
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
CT_TCP_LOCAL enum ct_verdict
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

/*
 * The client acks a SYN+ACK this tap has not seen (lost on the way to it, or delivered before
 * the SYN, when no flow existed): in loose mode the flow is picked up from this segment, as
 * ct_tcp_new() picks up a flow from an ACK without one (Linux would keep SYN_SENT until its
 * timeout, then pick the connection up), and the segment itself (a FIN, say) is tracked on that
 * flow in a second pass of ct_tcp_track() (a jump back, not a recursion: BPF has none). The
 * picked-up flow is ESTABLISHED on both sides, so that pass cannot ask for a resync again.
 */
CT_TCP_LOCAL CT_TCP_COLD void
resync_pickup(struct ct_tcp *nt, const struct ct_tcp_seg *seg)
{
	ct_tcp_window_new_pickup(nt, seg);
	nt->tcp_state[CT_DIR_ORIG] = CT_TCP_ESTABLISHED;
	nt->tcp_state[CT_DIR_REPLY] = CT_TCP_ESTABLISHED;
	nt->state = CT_S_ESTABLISHED;
	nt->flags = CT_F_PICKED_UP | CT_F_LIBERAL;
	nt->peer[CT_DIR_ORIG].end = seg->seq;
}

CT_TCP_API enum ct_verdict
ct_tcp_track(struct ct_tcp *t0, const struct ct_tcp_conf *conf, enum ct_dir dir,
             const struct ct_tcp_seg *seg, enum ct_tcp_reason *reason)
{
	unsigned int d = DIR_OF(dir), resynced = 0;
	unsigned int snd, rcv, i, n, a, b, pre;
	struct ct_tcp nt, picked, *t = t0;
	enum ct_tcp_reason r;
	uint8_t ev[2];

again: /* t is t0, or after a resync the flow picked up from this segment (picked) */
	snd = t->tcp_state[d];
	rcv = t->tcp_state[!d];
	n = classify(t, d, seg, ev);
	if (unlikely(ev[0] == EV_BAD))
		return invalid(reason, CT_R_BAD_FLAGS);
	if (unlikely(snd >= CT_TCP_STATE_MAX || rcv >= CT_TCP_STATE_MAX))
		return invalid(reason, CT_R_UNEXPECTED);
	/*
	 * A first FIN whose end the peer has acked already: that ACK reached the tap before the
	 * FIN (ct_tcp_window.c took this sender's end to it). When it came with the peer's own
	 * FIN (CT_PEER_F_ACK_AHEAD), the peer closed after it got this FIN: the order was this
	 * FIN, then the peer's ACKFIN and FIN, from the ESTABLISHED the peer left (not crossing
	 * FINs). Otherwise the peer's ACKFIN is applied after this segment's events.
	 */
	pre = unlikely(seg->flags & CT_TCPF_FIN) && !(t->peer_flags[d] & CT_PEER_F_FIN_SEEN) &&
	      t->peer[d].maxwin != 0 && !ct_seq_after(seg->seq + seg->len + 1, t->peer[d].end);
	if (unlikely(pre) && (t->peer_flags[!d] & CT_PEER_F_ACK_AHEAD) && rcv == sF1 &&
	    ev[0] == CT_EV_FIN2) {
		ev[0] = CT_EV_FIN;
		rcv = sES;
		pre = 2;
	}

	/* The table for both endpoints, events in classify()'s order. */
	for (i = 0; i < n; i++) {
		a = fsm[IDX(ev[i], FSM_EV_DIM)][CT_ROLE_SND][IDX(snd, FSM_ST_DIM)];
		b = fsm[IDX(ev[i], FSM_EV_DIM)][CT_ROLE_RCV][IDX(rcv, FSM_ST_DIM)];
		if (unlikely(a == sRE))
			return reopen(t, d, seg, reason);
		/* The sender's cell names the reason first, then the receiver's. */
		if (unlikely(a >= CT_CELL_INVALID))
			return invalid(reason, (enum ct_tcp_reason)(a - CT_CELL_INVALID));
		if (unlikely(b >= CT_CELL_INVALID)) {
			if (rcv == sLI && snd == sSS && conf->loose && !resynced) {
				resync_pickup(&picked, seg);
				t = &picked;
				resynced = 1;
				goto again;
			}
			return invalid(reason, (enum ct_tcp_reason)(b - CT_CELL_INVALID));
		}
		snd = a == sIG ? snd : a;
		rcv = b == sIG ? rcv : b;
	}
	/* The peer's events of a pre-acked FIN (above), with the roles reversed. */
	for (i = 0; unlikely(i < pre); i++) {
		unsigned int e = i == 0 ? CT_EV_ACKFIN : CT_EV_FIN;

		a = fsm[e][CT_ROLE_SND][IDX(rcv, FSM_ST_DIM)];
		b = fsm[e][CT_ROLE_RCV][IDX(snd, FSM_ST_DIM)];
		if (a >= CT_CELL_INVALID || b >= CT_CELL_INVALID)
			break;
		rcv = a == sIG ? rcv : a;
		snd = b == sIG ? snd : b;
	}

	/* Sequence checks and updates on a copy: nothing is written unless all pass. */
	nt = *t;
	r = ct_tcp_window_check(&nt, conf, d, seg, ev[0]);
	if (unlikely(r != CT_R_OK))
		return invalid(reason, r);
	/*
	 * A valid RST while the reply direction was never seen (the only answer to a SYN, or the
	 * client aborting its own connect): Linux nf_conntrack_tcp_packet() kills such an entry at
	 * once, so that the real SYN+ACK or a retransmitted SYN that follows starts afresh.
	 */
	if (unlikely(ev[0] == CT_EV_RST) && t->peer[CT_DIR_REPLY].maxwin == 0) {
		*reason = CT_R_OK;
		return CT_VERDICT_DELETE;
	}

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
	*t0 = nt;
	*reason = CT_R_OK;
	return CT_VERDICT_ACCEPT;
}
