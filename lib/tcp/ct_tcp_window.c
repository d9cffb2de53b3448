/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sequence and window tracking per direction, after Guido van Rooij's "Real Stateful TCP Packet
 * Filtering in IP Filter" as implemented by netfilter's tcp_in_window(): each peer keeps end
 * (highest sequence sent), maxend (highest ack + window the other side allowed) and maxwin
 * (largest window it advertised), and a segment must satisfy four bounds:
 *   I    seq + len <= sender.maxend                      (else seq_above_window)
 *   II   seq >= sender.end - receiver.maxwin             (else seq_below_window)
 *   III  ack <= receiver.end                              (else ack_unsent)
 *   IV   ack >= receiver.end - MAXACKWINDOW(sender)       (else ack_too_old)
 * An RST must pass them even in liberal mode (else rst_out_of_window), and hit RCV.NXT exactly
 * unless its sender has unacknowledged data (else rst_inexact, RFC 5961 3.2). Bound III takes an
 * early ACK (a tap's reordering: up to the receiver's maxend, 66000 ahead at most), which moves
 * the receiver's end. Accepted segments update the three fields as netfilter does. Window scaling (RFC 7323) applies only when both SYNs
 * carried the option, and never to a SYN's own window. SACK blocks are not needed. After a peer's
 * FIN it can send no new sequence space: its bound I becomes seq + len <= end and its maxend slot
 * keeps its newest TSval instead (RFC 6191 check in ct_tcp_fsm.c).
 */
#include "ct_tcp.h"
#include "ct_tcp_priv.h"

/* Receiver states in which an RST must hit RCV.NXT exactly (RFC 5961 3.2). */
#define SYNCHRONIZED                                                                               \
	(1u << CT_TCP_SYN_RCVD | 1u << CT_TCP_ESTABLISHED | 1u << CT_TCP_FIN_WAIT_1 |              \
	 1u << CT_TCP_FIN_WAIT_2 | 1u << CT_TCP_CLOSE_WAIT | 1u << CT_TCP_CLOSING |                \
	 1u << CT_TCP_LAST_ACK)

/* netfilter: the lowest acceptable ack may lag the receiver's end by this much at least. */
#define MAXACKWINCONST CT_TCP_MAXACKWIN
/* RFC 7323 2.3: a shift above 14 is used as 14. */
#define WSCALE_MAX 14

static inline uint32_t
max_ack_window(const struct ct_tcp_peer *sender)
{
	return sender->maxwin > MAXACKWINCONST ? sender->maxwin : MAXACKWINCONST;
}

/* Scale of direction @p d's windows: only when both SYNs carried the option. */
static inline unsigned int
wscale(const struct ct_tcp *t, unsigned int d)
{
	return (t->peer_flags[0] & t->peer_flags[1] & CT_PEER_F_WSCALE) ? t->wscale[d] : 0;
}

/* Sender @p d's record from its SYN or SYN+ACK (netfilter's "initialize sender data"). */
CT_TCP_LOCAL void
syn_init(struct ct_tcp *t, unsigned int d, const struct ct_tcp_seg *seg, uint32_t end)
{
	uint8_t pf = t->peer_flags[d] &
	             (uint8_t) ~(CT_PEER_F_WSCALE | CT_PEER_F_SACK_PERM | CT_PEER_F_TS);

	t->peer[d].end = end;
	t->peer[d].maxend = end;
	t->peer[d].maxwin = seg->win != 0 ? seg->win : 1;
	t->wscale[d] = 0;
	if (seg->opts & CT_TCPO_WSCALE) {
		pf |= CT_PEER_F_WSCALE;
		t->wscale[d] = seg->wscale > WSCALE_MAX ? WSCALE_MAX : seg->wscale;
	}
	if (seg->opts & CT_TCPO_SACK_PERM)
		pf |= CT_PEER_F_SACK_PERM;
	if (seg->opts & CT_TCPO_TS)
		pf |= CT_PEER_F_TS;
	t->peer_flags[d] = pf | CT_PEER_F_SYN_SEEN;
}

CT_TCP_API void
ct_tcp_window_new_syn(struct ct_tcp *t, const struct ct_tcp_seg *seg)
{
	__builtin_memset(t, 0, sizeof(*t));
	syn_init(t, CT_DIR_ORIG, seg, seg->seq + seg->len + 1);
	t->peer[CT_DIR_REPLY].maxend = seg->seq + 1; /* the SYN's ISN + 1: see struct ct_tcp_peer */
}

CT_TCP_API void
ct_tcp_window_new_pickup(struct ct_tcp *t, const struct ct_tcp_seg *seg)
{
	uint32_t win;

	__builtin_memset(t, 0, sizeof(*t));
	/*
	 * netfilter's loose pickup: the sender's end and window from the segment, the receiver's
	 * end from its ack, SACK assumed. The window scale is unknown: assume the largest (14) on
	 * both sides so that the window bounds are upper bounds; the ack bounds stay exact.
	 */
	t->peer_flags[0] = t->peer_flags[1] = CT_PEER_F_WSCALE | CT_PEER_F_SACK_PERM;
	t->wscale[0] = t->wscale[1] = WSCALE_MAX;
	win = (uint32_t)seg->win << WSCALE_MAX;
	t->peer[0].end = seg->seq + seg->len;
	t->peer[0].maxwin = win != 0 ? win : 1;
	t->peer[0].maxend = t->peer[0].end + t->peer[0].maxwin;
	t->peer[1].end = seg->ack;
	t->peer[1].maxend = seg->ack;
}

/*
 * Bound I: the highest sequence number @p seg may reach. Before its sender's FIN, the receiver's
 * window (maxend). After it no new data (the FIN's end); but a segment without data or FIN
 * (an ACK) that RFC 9293 3.10.7.4 finds acceptable, inside the receiver's window beyond the
 * FIN, is taken: its sender may have counted data past its FIN that was refused here.
 */
static inline uint32_t
seq_limit(const struct ct_tcp_peer *s, const struct ct_tcp_peer *r, unsigned int sf,
          const struct ct_tcp_seg *seg)
{
	if (!(sf & CT_PEER_F_FIN_SEEN))
		return s->maxend;
	if (seg->len == 0 && !(seg->flags & (CT_TCPF_FIN | CT_TCPF_SYN)))
		return s->end + r->maxwin;
	return s->end;
}

/*
 * Bound III with a tap's reordering: an ack beyond the receiver's end is taken when the
 * receiver may have sent that much (up to its maxend: the window it was granted), at most one
 * MAXACKWINCONST ahead (a picked-up flow's windows are guesses), before its FIN (nothing follows
 * a FIN), and not on an RST whose sequence number is not exact (@p rst).
 */
static inline int
early_ack_ok(const struct ct_tcp_peer *r, unsigned int rf, uint32_t ack, unsigned int rst)
{
	return !rst && r->maxwin != 0 && !(rf & CT_PEER_F_FIN_SEEN) &&
	       !ct_seq_after(ack, r->maxend) && ack - r->end <= MAXACKWINCONST;
}

/* The outcome of first_segment(): go on with the bounds, or a verdict already. */
#define GO_ON CT_R_MAX

/*
 * First segment of direction @p dir (its peer record is still empty): a SYN or SYN+ACK
 * initialises it; an RST answers a SYN; otherwise the second direction of a picked-up flow.
 * @return GO_ON to check the bounds, or the verdict (CT_R_OK or a reason).
 */
CT_TCP_LOCAL enum ct_tcp_reason
first_segment(struct ct_tcp *t, unsigned int dir, const struct ct_tcp_seg *seg, uint32_t end)
{
	struct ct_tcp_peer *s = &t->peer[dir], *r = &t->peer[!dir];
	unsigned int ackf = !!(seg->flags & CT_TCPF_ACK);
	/* the peer's ISN + 1 while this record is unseen (picked up: the window the peer gave) */
	uint32_t isn1 = s->maxend;

	if (seg->flags & CT_TCPF_SYN) {
		syn_init(t, dir, seg, end);
		if (!ackf)
			return CT_R_OK; /* simultaneous open: nothing to check yet */
		/*
		 * A SYN+ACK that takes the data of a TFO SYN (RFC 7413): the server may send data,
		 * and its FIN, before the handshake ACK (4.2.2), within the SYN's window.
		 */
		if (t->flags & CT_F_PICKED_UP) {
			/* picked up from the client's ACK of this SYN+ACK: the window it gave */
			s->maxend = end + r->maxwin;
			if (ct_seq_after(isn1, s->maxend))
				s->maxend = isn1;
		} else if (seg->ack == r->end && isn1 != r->end) {
			s->maxend = end + r->maxwin;
		}
		return GO_ON;
	}
	if ((seg->flags & CT_TCPF_RST) && !(t->flags & CT_F_PICKED_UP)) {
		/* RST answering a SYN (RFC 9293 3.10.7.3): valid if it acks the SYN */
		return ackf && (seg->ack == r->end || seg->ack == isn1) ? CT_R_OK
		                                                        : CT_R_RST_OUT_OF_WINDOW;
	}
	if (!(t->flags & CT_F_PICKED_UP)) {
		/*
		 * From the SYN's target before its own SYN (LISTEN): only the bare ACK of that SYN
		 * (the split handshake, RFC 793 3.3's four-step open; its ack was checked as an ACK
		 * to SYN_SENT). Its record waits for its SYN.
		 */
		return seg->len == 0 ? CT_R_OK : CT_R_ACK_IN_LISTEN;
	}
	/* Second direction of a picked-up flow: history lost, take the segment's. */
	uint32_t swin = (uint32_t)seg->win << wscale(t, dir);

	s->end = end;
	s->maxwin = swin != 0 ? swin : 1;
	s->maxend = end + s->maxwin;
	if (ackf && seg->ack == r->end + 1)
		r->end++; /* reply to a keepalive */
	return GO_ON;
}

CT_TCP_WINDOW_API enum ct_tcp_reason
ct_tcp_window_check(struct ct_tcp *t, const struct ct_tcp_conf *conf, unsigned int dir,
                    const struct ct_tcp_seg *seg, unsigned int ev)
{
#ifdef CT_TCP_BPF
	/* a global BPF function is verified for any argument: NULL included */
	if (t == NULL || conf == NULL || seg == NULL)
		return CT_R_UNEXPECTED;
	dir &= 1;
	__asm__ volatile("" : "+r"(dir)); /* see DIR_OF() in ct_tcp_fsm.c */
#endif
	unsigned int rcv_state = t->tcp_state[!dir];
	struct ct_tcp_peer *s = &t->peer[dir], *r = &t->peer[!dir];
	uint8_t *sf = &t->peer_flags[dir], *rf = &t->peer_flags[!dir];
	unsigned int syn = !!(seg->flags & CT_TCPF_SYN), fin = !!(seg->flags & CT_TCPF_FIN);
	unsigned int rst = !!(seg->flags & CT_TCPF_RST), ackf = !!(seg->flags & CT_TCPF_ACK);
	uint32_t seq = seg->seq, ack = seg->ack, win = seg->win;
	uint32_t end = seq + seg->len + syn + fin;
	enum ct_tcp_reason res = CT_R_OK;

	/*
	 * An ACK to an endpoint in SYN_SENT must ack exactly its SYN (RFC 9293 3.10.7.3: else an
	 * RST answers it), with the SYN's data (a TFO server took it) or without (the server did
	 * not: RFC 7413 4.2; the client sends the data again after the handshake, so its end
	 * goes back to ISN + 1). A SYN+ACK in simultaneous open must ack the SYN too.
	 */
	if (ackf && !rst && rcv_state == CT_TCP_SYN_SENT && ack != r->end) {
		if (s->maxwin == 0 && ack == s->maxend)
			r->end = ack;
		else if (ev == CT_EV_SYNACK || s->maxwin == 0 ||
		         !early_ack_ok(r, *rf, ack, 0)) /* an early ACK (below) is taken */
			return ev == CT_EV_SYNACK ? CT_R_SYNACK_BAD_ACK : CT_R_ACK_SYN_UNANSWERED;
	}
	if (ev == CT_EV_SYNACK && rcv_state == CT_TCP_SYN_RCVD && ack != r->end)
		return CT_R_SYNACK_BAD_ACK;

	if (s->maxwin == 0) {
		res = first_segment(t, dir, seg, end);
		if (res != GO_ON)
			return res;
		res = CT_R_OK;
	} else if (ev == CT_EV_SYN && t->state == CT_S_SYN_SENT && ct_seq_after(end, s->end)) {
		/* netfilter: a SYN with a higher ISN restarts the client's tracking (re-connect) */
		syn_init(t, dir, seg, end);
		if (r->maxwin == 0)
			r->maxend = seq + 1;
	}

	if (!ackf || (rst && ack == 0))
		ack = r->end; /* no ACK (or a broken RST+ACK with ack 0): nothing to check */

	if (ct_seq_after(seq + seg->len, seq_limit(s, r, *sf, seg)))
		res = CT_R_SEQ_ABOVE_WINDOW;
	else if (r->maxwin != 0 && ct_seq_before(seq, s->end - r->maxwin))
		res = CT_R_SEQ_BELOW_WINDOW;
	else if (ct_seq_after(ack, r->end) && !early_ack_ok(r, *rf, ack, rst && seq != s->end))
		res = CT_R_ACK_UNSENT;
	else if (ct_seq_before(ack, r->end - max_ack_window(s)))
		res = CT_R_ACK_TOO_OLD;
	if (res != CT_R_OK) {
		if (rst)
			return CT_R_RST_OUT_OF_WINDOW;
		if (!conf->liberal && !(t->flags & CT_F_LIBERAL))
			return res;
	}
	/*
	 * RFC 5961 3.2: a synchronized receiver resets only on an RST at exactly RCV.NXT; one
	 * elsewhere in the window gets a challenge ACK, and the connection lives on (Linux 6.x
	 * nf_conntrack keeps its state too). RCV.NXT is the sender's end when nothing of it is
	 * unacknowledged; with data unacknowledged (in flight or lost) it lies somewhere below,
	 * and the RST is taken anywhere in the window as before.
	 */
	if (rst && seq != s->end && ((1u << rcv_state) & SYNCHRONIZED) &&
	    !(*sf & CT_PEER_F_DATA_UNACK))
		return CT_R_RST_INEXACT;

	/* Updates (netfilter), also in liberal mode so that FIN tracking keeps working. */
	if (!syn)
		win <<= wscale(t, dir);
	if (s->maxwin < win)
		s->maxwin = win;
	if (ct_seq_after(end, s->end) && !(*sf & CT_PEER_F_FIN_SEEN)) {
		s->end = end;
		*sf |= CT_PEER_F_DATA_UNACK;
	}
	/*
	 * An ACK of what the receiver may have sent (up to its maxend) but this tap has not seen
	 * yet: a capture or SPAN port delivered it before the segment it acks. Take the
	 * receiver's end to it, so that the acked segment, when it comes, is known as acked.
	 */
	if (res == CT_R_OK && ct_seq_after(ack, r->end)) {
		r->end = ack;
		if (fin)
			*sf |= CT_PEER_F_ACK_AHEAD;
	}
	if (!(*rf & CT_PEER_F_FIN_SEEN) && (r->maxwin != 0 || (t->flags & CT_F_PICKED_UP))) {
		if (r->maxwin != 0 && !(*sf & CT_PEER_F_FIN_SEEN) && ct_seq_after(end, s->maxend))
			r->maxwin += end - s->maxend;
		if (ct_seq_after(ack + win, r->maxend - 1)) {
			r->maxend = ack + win;
			if (win == 0)
				r->maxend++;
		}
	}
	if (ack == r->end)
		*rf &= (uint8_t)~CT_PEER_F_DATA_UNACK;
	if (fin)
		*sf |= CT_PEER_F_FIN_SEEN;
	if ((*sf & CT_PEER_F_FIN_SEEN) && (seg->opts & CT_TCPO_TS) &&
	    (!(*sf & CT_PEER_F_TS_LAST) || ct_seq_after(seg->tsval, s->ts_last))) {
		s->ts_last = seg->tsval;
		*sf |= CT_PEER_F_TS_LAST;
	}
	return CT_R_OK;
}
