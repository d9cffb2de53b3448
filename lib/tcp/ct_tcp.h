/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_TCP_H
#define CT_TCP_H

/**
 * @file
 * TCP connection state machine for a middlebox that sees both directions.
 *
 * Purpose: given the segments of one TCP connection in the order a middlebox observes them,
 * keep the RFC 9293 state of each endpoint (client = initiator, server = responder), a
 * conntrack-level state with Linux nf_conntrack's names derived from the two endpoint states,
 * and per-direction sequence/window tracking (Rooij's four bounds, as in netfilter), and return a
 * verdict with a reason for every segment.
 *
 * Thread-safety: none needed. A struct ct_tcp belongs to one flow, which belongs to one lcore;
 * all functions are pure with respect to their arguments (no globals written).
 *
 * Design: the transitions are a constant table indexed [role][event][endpoint state]
 * (role = the endpoint sent or received the segment); see lib/tcp/ct_tcp_fsm.c for the table,
 * its reasons and the ASCII state graph, and docs/fsm.md for the model. The flag sanity check, the
 * table lookup and the sequence checks all run before anything is written: a segment that fails
 * one of them is CT_VERDICT_INVALID with a reason and leaves struct ct_tcp byte-for-byte
 * unchanged. No EAL dependency, no allocation, no globals written.
 *
 * Directions: CT_DIR_ORIG is the client (sent the first SYN, or the first packet seen when a
 * flow is picked up mid-stream); CT_DIR_REPLY is the server.
 */

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Storage class of the per-packet functions (ct_tcp_new(), ct_tcp_track(), the window checks):
 * empty (external functions) on the host; a BPF program that includes lib/tcp's .c files
 * (bpf/ct_xdp.bpf.c) defines it as `static inline __attribute__((always_inline))` first, so
 * the same code is inlined there.
 */
#ifndef CT_TCP_API
#define CT_TCP_API
#endif
/** Storage class of lib/tcp's file-local per-packet helpers (static; inlined in BPF). */
#ifndef CT_TCP_LOCAL
#define CT_TCP_LOCAL static
#endif

/** Direction of a segment relative to the flow's initiator. */
enum ct_dir {
	CT_DIR_ORIG = 0, /**< client -> server */
	CT_DIR_REPLY,    /**< server -> client */
	CT_DIR_MAX
};

/** RFC 9293 endpoint states. X-macro: (enum suffix, printable name). */
#define CT_TCP_STATES(X)                                                                           \
	X(CLOSED, "CLOSED")                                                                        \
	X(LISTEN, "LISTEN")                                                                        \
	X(SYN_SENT, "SYN_SENT")                                                                    \
	X(SYN_RCVD, "SYN_RCVD")                                                                    \
	X(ESTABLISHED, "ESTABLISHED")                                                              \
	X(FIN_WAIT_1, "FIN_WAIT_1")                                                                \
	X(FIN_WAIT_2, "FIN_WAIT_2")                                                                \
	X(CLOSE_WAIT, "CLOSE_WAIT")                                                                \
	X(CLOSING, "CLOSING")                                                                      \
	X(LAST_ACK, "LAST_ACK")                                                                    \
	X(TIME_WAIT, "TIME_WAIT")

enum ct_tcp_state {
#define X(e, s) CT_TCP_##e,
	CT_TCP_STATES(X)
#undef X
	        CT_TCP_STATE_MAX
};

/** Conntrack-level states, named as Linux nf_conntrack prints them (conntrack -L). */
#define CT_STATES(X)                                                                               \
	X(NONE, "NONE")                                                                            \
	X(SYN_SENT, "SYN_SENT")                                                                    \
	X(SYN_RECV, "SYN_RECV")                                                                    \
	X(ESTABLISHED, "ESTABLISHED")                                                              \
	X(FIN_WAIT, "FIN_WAIT")                                                                    \
	X(CLOSE_WAIT, "CLOSE_WAIT")                                                                \
	X(LAST_ACK, "LAST_ACK")                                                                    \
	X(TIME_WAIT, "TIME_WAIT")                                                                  \
	X(CLOSE, "CLOSE")                                                                          \
	X(SYN_SENT2, "SYN_SENT2")

enum ct_state {
#define X(e, s) CT_S_##e,
	CT_STATES(X)
#undef X
	        CT_S_MAX
};

/** Verdict for one segment. */
enum ct_verdict {
	CT_VERDICT_ACCEPT = 0, /**< valid; state may have changed */
	CT_VERDICT_INVALID,    /**< failed a check; flow state untouched; see reason */
	CT_VERDICT_NEW,        /**< only from ct_tcp_new(): a new flow starts with this segment */
	CT_VERDICT_REOPEN,     /**< SYN in TIME_WAIT/CLOSE that legally reopens: caller restarts
				    the flow with ct_tcp_new() and this segment */
	CT_VERDICT_DELETE,     /**< valid RST while the reply direction was never seen: the
				    caller deletes the flow at once (Linux nf_ct_kill), t untouched */
	CT_VERDICT_MAX
};

/**
 * Why a segment is INVALID (or, for ACCEPT, CT_R_OK). X-macro: (suffix, name, help).
 * Every reason feeds its own counter in the stats.
 */
#define CT_TCP_REASONS(X)                                                                          \
	X(OK, "ok", "segment accepted")                                                            \
	X(NO_FLOW_SYNACK, "no_flow_synack", "SYN+ACK/other non-SYN without a flow (strict mode)")  \
	X(NO_FLOW_NOT_SYN, "no_flow_not_syn", "first packet is not a SYN and loose mode is off")   \
	X(NO_FLOW_RST, "no_flow_rst", "RST or FIN without a flow never creates one")               \
	X(BAD_FLAGS, "bad_flags",                                                                  \
	  "flag combination of ct_tcp_flag_rule() (parsed: parse_flags_*)")                        \
	X(SEQ_ABOVE_WINDOW, "seq_above_window", "segment end beyond receiver's window (bound I)")  \
	X(SEQ_BELOW_WINDOW, "seq_below_window", "segment start before window (bound II)")          \
	X(ACK_UNSENT, "ack_unsent", "ACK for data never sent (bound III)")                         \
	X(ACK_TOO_OLD, "ack_too_old", "ACK below the acceptable range (bound IV)")                 \
	X(RST_OUT_OF_WINDOW, "rst_out_of_window", "RST sequence outside the window")               \
	X(RST_INEXACT, "rst_inexact",                                                              \
	  "RST in the window but not at the expected sequence: state kept for the endpoint's "     \
	  "challenge ACK (RFC 5961 3.2)")                                                          \
	X(SYN_IN_WINDOW, "syn_in_window", "SYN on a synchronized connection (RFC 5961 4.2)")       \
	X(SYN_AFTER_SYNACK, "syn_after_synack", "bare SYN from an endpoint that sent its SYN+ACK") \
	X(SYNACK_UNSOLICITED, "synack_unsolicited", "SYN+ACK to an endpoint that sent no SYN")     \
	X(SYNACK_LATE, "synack_late", "SYN+ACK after a FIN")                                       \
	X(SYNACK_BAD_ACK, "synack_bad_ack", "SYN+ACK does not acknowledge the SYN")                \
	X(FIN_EARLY, "fin_early", "FIN before the handshake completed")                            \
	X(ACK_IN_LISTEN, "ack_in_listen", "ACK from the listener before its SYN+ACK")              \
	X(ACK_BEFORE_SYNACK, "ack_before_synack", "ACK to the listener before its SYN+ACK")        \
	X(ACK_SYN_UNANSWERED, "ack_syn_unanswered",                                                \
	  "bare ACK to an endpoint whose SYN is unanswered")                                       \
	X(ACKFIN_EARLY, "ackfin_early", "ACK of a FIN before the handshake completed")             \
	X(TW_REOPEN_OLD_ISN, "tw_reopen_old_isn",                                                  \
	  "SYN in TIME_WAIT with an ISN not beyond the old connection")                            \
	X(UNEXPECTED, "unexpected", "flow record holds an endpoint state out of range")

enum ct_tcp_reason {
#define X(e, n, h) CT_R_##e,
	CT_TCP_REASONS(X)
#undef X
	        CT_R_MAX
};

/** TCP flag bits as in the header byte. */
#define CT_TCPF_FIN 0x01
#define CT_TCPF_SYN 0x02
#define CT_TCPF_RST 0x04
#define CT_TCPF_PSH 0x08
#define CT_TCPF_ACK 0x10
#define CT_TCPF_URG 0x20
#define CT_TCPF_ECE 0x40
#define CT_TCPF_CWR 0x80

/**
 * Which flag combinations a segment may carry, decided on FIN, SYN, RST, ACK and URG (PSH, ECE
 * and CWR never matter): exactly the nine that Linux nf_conntrack accepts (tcp_valid_flags[] in
 * net/netfilter/nf_conntrack_proto_tcp.c), SYN, SYN+URG, SYN+ACK, RST, RST+ACK, FIN+ACK,
 * FIN+ACK+URG, ACK, ACK+URG. Any other combination breaks the first rule below that applies;
 * the parser counts it under that rule's name (parse_flags_*) and the FSM refuses it
 * (CT_R_BAD_FLAGS). X-macro: (P##suffix, name, help), in priority order; P is a prefix for the
 * enum names of the user (empty here, FLAGS_ in the parser's reasons).
 */
#define CT_TCP_FLAG_RULES(X, P)                                                                    \
	X(P##NONE, "flags_none", "none of SYN, ACK, RST, FIN")                                     \
	X(P##SYN_FIN, "flags_syn_fin", "SYN and FIN together")                                     \
	X(P##SYN_RST, "flags_syn_rst", "SYN and RST together")                                     \
	X(P##RST_FIN, "flags_rst_fin", "RST and FIN together")                                     \
	X(P##FIN_NO_ACK, "flags_fin_no_ack", "FIN without ACK")                                    \
	X(P##URG, "flags_urg", "URG on a SYN+ACK or an RST")

/** Flag rules: CT_TCPFR_OK, or the rule a combination breaks. */
enum ct_tcp_flag_rule {
	CT_TCPFR_OK = 0,
#define X(e, n, h) CT_TCPFR_##e,
	CT_TCP_FLAG_RULES(X, )
#undef X
	        CT_TCPFR_MAX
};

/** The rules, one entry per combination of the flag bits 0x37 (FIN SYN RST ACK URG). */
extern const uint8_t ct_tcp_flag_rules[64];

/** Rule a flag byte breaks, or CT_TCPFR_OK (one table lookup). */
static inline enum ct_tcp_flag_rule
ct_tcp_flag_rule(uint8_t flags)
{
	return (enum ct_tcp_flag_rule)ct_tcp_flag_rules[flags & 0x37];
}

/** Option presence bits in struct ct_tcp_seg::opts. */
#define CT_TCPO_WSCALE    0x01
#define CT_TCPO_SACK_PERM 0x02
#define CT_TCPO_TS        0x04
#define CT_TCPO_MSS       0x08
#define CT_TCPO_ODD       0x10 /**< an option of a known kind had an unexpected length: ignored */

/** The fields of one TCP segment the tracker needs (filled by the parser). */
struct ct_tcp_seg {
	uint32_t seq;
	uint32_t ack;
	uint32_t tsval; /**< valid when opts & CT_TCPO_TS */
	uint16_t win;   /**< raw (unscaled) window field */
	uint16_t len;   /**< payload length in bytes */
	uint8_t flags;  /**< CT_TCPF_* */
	uint8_t opts;   /**< CT_TCPO_* */
	uint8_t wscale; /**< valid when opts & CT_TCPO_WSCALE */
};

/** Per-direction sequence tracking (netfilter's ip_ct_tcp_state, trimmed). */
struct ct_tcp_peer {
	uint32_t end; /**< highest seq + len (+SYN/FIN) sent: td_end */
	union {
		/**
		 * highest ack + window seen from the other side: td_maxend (until this peer's FIN).
		 * While this peer is unseen (maxwin 0) in a flow started by a SYN, the slot keeps
		 * the other peer's ISN + 1, which a SYN+ACK refusing a TFO SYN's data acks
		 * (RFC 7413 4.2): no extra memory for Fast Open.
		 */
		uint32_t maxend;
		/**
		 * After this peer's FIN (CT_PEER_F_FIN_SEEN) it can send no new sequence space, so
		 * td_maxend is dead; the slot then keeps this peer's newest TSval (valid when
		 * CT_PEER_F_TS_LAST) for the RFC 6191 TIME_WAIT reopen check.
		 */
		uint32_t ts_last;
	};
	uint32_t maxwin; /**< largest (scaled) window this peer advertised: td_maxwin; 0 = unseen */
};

/** Peer flag bits (struct ct_tcp::peer_flags). */
#define CT_PEER_F_WSCALE     0x01 /**< its SYN carried window scale (applies if both did) */
#define CT_PEER_F_SACK_PERM  0x02 /**< SACK-permitted in its SYN */
#define CT_PEER_F_TS         0x04 /**< timestamps in its SYN */
#define CT_PEER_F_FIN_SEEN   0x08 /**< this peer sent a FIN */
#define CT_PEER_F_SYN_SEEN   0x10 /**< this peer sent a SYN */
#define CT_PEER_F_DATA_UNACK 0x20 /**< this peer has unacknowledged data */
#define CT_PEER_F_TS_LAST    0x40 /**< ct_tcp_peer::ts_last is valid (see there) */
#define CT_PEER_F_ACK_AHEAD  0x80 /**< its FIN acked beyond the other peer's end (tap reorder) */

/** Flow flag bits (struct ct_tcp::flags). */
#define CT_F_PICKED_UP 0x01 /**< first seen mid-stream (loose mode) */
#define CT_F_ASSURED   0x02 /**< traffic seen both ways after the handshake */
#define CT_F_LIBERAL   0x04 /**< window checks disabled for this flow */

/**
 * Tracking state of one connection: 32 bytes, embedded first in the flow record.
 * Index [CT_DIR_ORIG] is the client, [CT_DIR_REPLY] the server.
 */
struct ct_tcp {
	struct ct_tcp_peer peer[CT_DIR_MAX];
	uint8_t tcp_state[CT_DIR_MAX];  /**< enum ct_tcp_state per endpoint */
	uint8_t wscale[CT_DIR_MAX];     /**< window scale each peer announced */
	uint8_t peer_flags[CT_DIR_MAX]; /**< CT_PEER_F_* */
	uint8_t state;                  /**< enum ct_state, derived from tcp_state[] */
	uint8_t flags;                  /**< CT_F_* */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct ct_tcp) == 32, "struct ct_tcp is embedded in a 64-byte flow record");
#endif

/** Per-conntrack-state timeouts in milliseconds, indexed by enum ct_state. */
struct ct_tcp_timeouts {
	uint32_t ms[CT_S_MAX];
};

/** Tracker configuration, shared read-only by all flows of an lcore. */
struct ct_tcp_conf {
	bool loose;   /**< pick up flows mid-stream from a plain ACK (Linux default: on) */
	bool liberal; /**< skip window checks (only RST still needs to be in window) */
	bool predict; /**< header prediction (ct_tcp_predict(); default on; off: differential tests) */
	struct ct_tcp_timeouts timeouts;
};

/** Default timeouts (sources in lib/tcp/ct_tcp_timeouts.c and docs/fsm.md). */
extern const struct ct_tcp_timeouts ct_tcp_timeouts_default;

/** Defaults: loose on, liberal off, timeouts of ct_tcp_timeouts_default. */
extern const struct ct_tcp_conf ct_tcp_conf_default;

/** Name of an RFC 9293 endpoint state ("?" if out of range). */
const char *ct_tcp_state_name(unsigned int s);
/** Name of a conntrack state as Linux prints it ("?" if out of range). */
const char *ct_state_name(unsigned int s);
/** Name of a reason (for counters and logs; "?" if out of range). */
const char *ct_tcp_reason_name(unsigned int r);
/** One-line help of a reason. */
const char *ct_tcp_reason_help(unsigned int r);
/**
 * Parse a state name (conntrack name, case-insensitive, '-' or '_').
 * @return enum ct_state value, or -EINVAL.
 */
int ct_state_parse(const char *name);
/**
 * Write the names of the states a user can set (all but NONE), lower case and space separated
 * ("syn_sent syn_recv ... syn_sent2"), into @p buf: the list an error message about a state
 * name shows. The text is cut to @p size - 1 characters and always terminated (size > 0).
 * @return length of the whole list, as snprintf() counts it.
 */
int ct_state_format_names(char *buf, unsigned long size);

/**
 * Decide whether @p seg may start a new flow and, if so, initialise @p t.
 * A SYN (without ACK/RST/FIN) starts a flow in SYN_SENT; with conf->loose, an ACK-bearing
 * segment without SYN/RST starts a picked-up flow in ESTABLISHED (CT_F_PICKED_UP).
 * The segment's sender becomes CT_DIR_ORIG.
 * @return CT_VERDICT_NEW (t initialised) or CT_VERDICT_INVALID with *reason set (t untouched).
 */
CT_TCP_API enum ct_verdict ct_tcp_new(struct ct_tcp *t, const struct ct_tcp_conf *conf,
                                      const struct ct_tcp_seg *seg, enum ct_tcp_reason *reason);

/**
 * Track one segment of an existing flow.
 * @param t     the flow's tracking state (updated only when the verdict is ACCEPT)
 * @param conf  configuration
 * @param dir   CT_DIR_ORIG or CT_DIR_REPLY
 * @param seg   the segment
 * @param reason set to CT_R_OK or the reason of an INVALID verdict
 * @return CT_VERDICT_ACCEPT, CT_VERDICT_INVALID, CT_VERDICT_REOPEN (t untouched; the caller
 *         re-creates the flow from this SYN with ct_tcp_new()), or CT_VERDICT_DELETE (t
 *         untouched; a valid RST before any reply: the caller deletes the flow, and a later
 *         segment of the connection starts a new one, as in Linux).
 */
CT_TCP_API enum ct_verdict ct_tcp_track(struct ct_tcp *t, const struct ct_tcp_conf *conf,
                                        enum ct_dir dir, const struct ct_tcp_seg *seg,
                                        enum ct_tcp_reason *reason);

/** The lowest acceptable ack may lag the receiver's end by this much at least (netfilter). */
#define CT_TCP_MAXACKWIN 66000

/**
 * Header prediction (Linux tcp_rcv_established()'s idea, for a middlebox): the common segment of
 * an established connection, an ACK with or without data, in order, inside every bound, with no
 * FIN seen and no state change, is checked and recorded with a handful of compares and stores.
 * @return true when @p seg was such a segment: it is accepted (CT_VERDICT_ACCEPT, CT_R_OK) and
 *         @p t updated exactly as ct_tcp_track() would; false (t untouched): call ct_tcp_track().
 *         Never true without conf->predict (differential tests: test/unit/test_tcp_predict.c).
 */
static inline bool
ct_tcp_predict(struct ct_tcp *t, const struct ct_tcp_conf *conf, enum ct_dir dir,
               const struct ct_tcp_seg *seg)
{
	unsigned int d = (unsigned int)dir & 1;
	struct ct_tcp_peer *s = &t->peer[d], *r = &t->peer[!d];
	uint32_t end, lag, win;

	/* Most segments that are not predicted fail here: a handshake or a close. */
	if (t->state != CT_S_ESTABLISHED ||
	    (seg->flags & (CT_TCPF_FIN | CT_TCPF_SYN | CT_TCPF_RST | CT_TCPF_ACK | CT_TCPF_URG)) !=
	            CT_TCPF_ACK)
		return false;
	end = seg->seq + seg->len;
	lag = s->maxwin > CT_TCP_MAXACKWIN ? s->maxwin : CT_TCP_MAXACKWIN;
	if (!(t->tcp_state[0] == CT_TCP_ESTABLISHED && t->tcp_state[1] == CT_TCP_ESTABLISHED &&
	      !((t->peer_flags[0] | t->peer_flags[1]) &
	        (CT_PEER_F_FIN_SEEN | CT_PEER_F_ACK_AHEAD)) &&
	      !(t->flags & CT_F_LIBERAL) && s->maxwin != 0 &&
	      (int32_t)r->maxwin > 0 && /* bound II at seq == end; maxwin may grow past 2^31 */
	      seg->seq == s->end && (int32_t)(end - s->maxend) <= 0 &&     /* bounds I, II */
	      (int32_t)(seg->ack - r->end) <= 0 &&                         /* bound III */
	      (int32_t)(seg->ack - (r->end - lag)) >= 0 && conf->predict)) /* bound IV */
		return false;
	win =
	        (uint32_t)seg->win
	        << ((t->peer_flags[0] & t->peer_flags[1] & CT_PEER_F_WSCALE) ? t->wscale[d] : 0);
	if (s->maxwin < win)
		s->maxwin = win;
	if ((int32_t)(end - s->end) > 0) {
		s->end = end;
		t->peer_flags[d] |= CT_PEER_F_DATA_UNACK;
	}
	if ((int32_t)(seg->ack + win - (r->maxend - 1)) > 0)
		r->maxend = seg->ack + win + (win == 0);
	if (seg->ack == r->end)
		t->peer_flags[!d] &= (uint8_t)~CT_PEER_F_DATA_UNACK;
	t->flags |= CT_F_ASSURED;
	return true;
}

/** ct_tcp_predict(), else ct_tcp_track(): the per-packet entry. Same contract as ct_tcp_track(). */
static inline enum ct_verdict
ct_tcp_track_fast(struct ct_tcp *t, const struct ct_tcp_conf *conf, enum ct_dir dir,
                  const struct ct_tcp_seg *seg, enum ct_tcp_reason *reason)
{
	if (__builtin_expect(ct_tcp_predict(t, conf, dir, seg), 1)) {
		*reason = CT_R_OK;
		return CT_VERDICT_ACCEPT;
	}
	return ct_tcp_track(t, conf, dir, seg, reason);
}

/**
 * Conntrack state implied by a pair of endpoint states (the mapping used by ct_tcp_track()).
 */
CT_TCP_API enum ct_state ct_state_from_tcp(enum ct_tcp_state client, enum ct_tcp_state server);

/**
 * Timeout in milliseconds for the flow's current conntrack state.
 *
 * The timeouts may be changed while workers run (synfin's `set timeout`, from a control
 * thread): each value is read with a relaxed atomic load, and writers store it with
 * __atomic_store_n(..., __ATOMIC_RELAXED). Each timeout is an independent value (no ordering
 * with other data is needed), so relaxed is enough; on x86-64 and arm64 it is a plain load.
 */
static inline uint32_t
ct_tcp_timeout(const struct ct_tcp *t, const struct ct_tcp_conf *conf)
{
	return __atomic_load_n(&conf->timeouts.ms[t->state], __ATOMIC_RELAXED);
}

/**
 * Write the transition table as a Graphviz dot graph into @p buf.
 * @return number of characters that the full graph needs (like snprintf), or -EINVAL.
 */
int ct_tcp_fsm_dot(char *buf, unsigned long size);

#ifdef __cplusplus
}
#endif

#endif /* CT_TCP_H */
