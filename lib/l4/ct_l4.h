/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_L4_H
#define CT_L4_H

/**
 * @file
 * Tracking of the flows that are not TCP, with Linux nf_conntrack's semantics: UDP (UNREPLIED,
 * then replied, then ASSURED as a stream), ICMP/ICMPv6 echo (request, reply) and every other IP
 * protocol by addresses and protocol number; ICMP errors are not flows but RELATED to the flow
 * they quote (the worker finds it by the quoted header's key).
 *
 * Thread-safety: none needed; a struct ct_l4 belongs to one flow of one lcore. All functions are
 * pure with respect to their arguments.
 *
 * Design: a non-TCP flow's record overlays struct ct_tcp with struct ct_l4 (32 bytes each), its
 * state byte and flag byte at the same offsets, so one byte is every flow's table class: the
 * L4 states continue the conntrack state numbering (CT_S_MAX upwards, enum ct_class up to
 * CT_CLASS_MAX). One X-macro (CT_L4_STATES) gives each state its name, its timeout and whether
 * it is embryonic (evicted first when the table is full: Linux's early_drop takes flows that are
 * not ASSURED). Timeouts have Linux's sysctl names and defaults (CT_L4_TIMEOUTS). No EAL.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Kinds of tracked packet (struct ct_pkt::kind, set by the parser). X-macro: (suffix, name).
 * TCP is 0. ICMP_ERROR packets carry the key of the flow they quote and never make one.
 */
#define CT_L4_KINDS(X)                                                                             \
	X(TCP, "tcp")                                                                              \
	X(UDP, "udp")                                                                              \
	X(ICMP_REQUEST, "icmp_request")                                                            \
	X(ICMP_REPLY, "icmp_reply")                                                                \
	X(ICMP_ERROR, "icmp_error")                                                                \
	X(OTHER, "other")

enum ct_l4_kind {
#define X(e, n) CT_L4K_##e,
	CT_L4_KINDS(X)
#undef X
	        CT_L4K_MAX
};

/**
 * Timeouts of the non-TCP flows: X(suffix, name, seconds, source). The names are the keys of
 * the [timeouts] section and of `set timeout`; the defaults are Linux's (v6.x sysctls
 * net.netfilter.nf_conntrack_<name>_timeout; icmp serves ICMPv6 too, as both are 30 s there).
 */
#define CT_L4_TIMEOUTS(X)                                                                          \
	X(UDP, "udp", 30, "nf_conntrack_udp_timeout")                                              \
	X(UDP_STREAM, "udp_stream", 120, "nf_conntrack_udp_timeout_stream")                        \
	X(ICMP, "icmp", 30, "nf_conntrack_icmp_timeout, nf_conntrack_icmpv6_timeout")              \
	X(GENERIC, "generic", 600, "nf_conntrack_generic_timeout")

enum ct_l4_timeout {
#define X(e, n, s, src) CT_L4T_##e,
	CT_L4_TIMEOUTS(X)
#undef X
	        CT_L4T_MAX
};

/**
 * States of the non-TCP flows: X(suffix, name, timeout, embryonic, help). They follow the
 * conntrack states (enum ct_state) in one numbering, the table's classes.
 */
#define CT_L4_STATES(X)                                                                            \
	X(UDP_UNREPLIED, "UDP_UNREPLIED", UDP, 1, "UDP, one direction seen")                       \
	X(UDP_REPLIED, "UDP_REPLIED", UDP, 1,                                                      \
	  "UDP, both directions seen, not yet a stream (Linux: seen reply, not ASSURED)")          \
	X(UDP_ASSURED, "UDP_ASSURED", UDP_STREAM, 0,                                               \
	  "UDP stream: a packet more than 2 s after the first, the reply seen (ASSURED)")          \
	X(ICMP_UNREPLIED, "ICMP_UNREPLIED", ICMP, 1, "ICMP echo, request seen")                    \
	X(ICMP_REPLIED, "ICMP_REPLIED", ICMP, 0, "ICMP echo, reply seen")                          \
	X(GENERIC_UNREPLIED, "GENERIC_UNREPLIED", GENERIC, 1, "other protocol, one direction")     \
	X(GENERIC_REPLIED, "GENERIC_REPLIED", GENERIC, 0, "other protocol, both directions")

/** Flow classes: the conntrack states of TCP, then the L4 states. */
enum ct_class {
	CT_L4S_FIRST = CT_S_MAX - 1, /* so that the first L4 state is CT_S_MAX */
#define X(e, n, t, emb, h) CT_L4S_##e,
	CT_L4_STATES(X)
#undef X
	        CT_CLASS_MAX
};

/** A UDP flow seen both ways becomes a stream (ASSURED) on a packet later than this (Linux). */
#define CT_L4_UDP_STREAM_MS 2000

/** Flag of struct ct_l4::flags (CT_F_ASSURED is ct_tcp.h's, the same bit as on TCP flows). */
#define CT_L4_F_SEEN_REPLY 0x08 /**< a packet of the reply direction was seen */

/** The tracking state of a non-TCP flow: overlays struct ct_tcp in the flow record. */
struct ct_l4 {
	uint32_t created_ms; /**< clock of the first packet (the UDP stream rule), wraps */
	uint8_t icmp_type;   /**< ICMP echo: the request's type (8, or 128 for ICMPv6) */
	uint8_t icmp_code;   /**< ICMP echo: the request's code */
	uint8_t pad[24];
	uint8_t state; /**< enum ct_class: same offset as struct ct_tcp::state */
	uint8_t flags; /**< CT_F_ASSURED, CT_L4_F_SEEN_REPLY: same offset as struct ct_tcp::flags */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct ct_l4) == sizeof(struct ct_tcp), "ct_l4 overlays ct_tcp");
_Static_assert(__builtin_offsetof(struct ct_l4, state) == __builtin_offsetof(struct ct_tcp, state),
               "one class byte for every flow");
_Static_assert(__builtin_offsetof(struct ct_l4, flags) == __builtin_offsetof(struct ct_tcp, flags),
               "one flag byte for every flow");
_Static_assert(CT_CLASS_MAX <= 32, "classes fit the table's policy");
_Static_assert((CT_L4_F_SEEN_REPLY & (CT_F_PICKED_UP | CT_F_ASSURED | CT_F_LIBERAL)) == 0,
               "L4 flags do not collide with TCP's");
#endif

/** What the L4 tracker needs of a non-TCP packet (overlays struct ct_tcp_seg in struct ct_pkt). */
struct ct_l4_seg {
	uint8_t icmp_type; /**< ICMP kinds: the type */
	uint8_t icmp_code; /**< ICMP kinds: the code */
	uint8_t proto;     /**< ICMP_ERROR: the quoted packet's protocol */
	uint8_t pad;
	uint16_t len; /**< bytes after the L4 header (UDP: the UDP length's payload; else the IP
	                   payload after the first 8 bytes of ICMP, the whole payload otherwise) */
};

/**
 * Why a non-TCP packet is INVALID: X(suffix, name, help). Counted as invalid_<name>.
 */
#define CT_L4_REASONS(X)                                                                           \
	X(OK, "ok", "packet accepted")                                                             \
	X(ICMP_REPLY_NO_FLOW, "icmp_reply_no_flow",                                                \
	  "ICMP echo reply without a tracked request (Linux: INVALID)")                            \
	X(ICMP_ERROR_UNTRACKED, "icmp_error_untracked",                                            \
	  "ICMP error quoting a flow that is not tracked (Linux: INVALID)")                        \
	X(KIND_MISMATCH, "kind_mismatch", "packet kind does not fit the flow's protocol")          \
	X(L4_UNEXPECTED, "l4_unexpected", "flow record holds an L4 state out of range")

enum ct_l4_reason {
#define X(e, n, h) CT_L4R_##e,
	CT_L4_REASONS(X)
#undef X
	        CT_L4R_MAX
};

/** Per-timeout milliseconds, indexed by enum ct_l4_timeout. */
struct ct_l4_conf {
	uint32_t ms[CT_L4T_MAX];
};

/** Linux's defaults (CT_L4_TIMEOUTS). */
extern const struct ct_l4_conf ct_l4_conf_default;

/** True for the classes of non-TCP flows. */
static inline bool
ct_class_is_l4(unsigned int c)
{
	return c >= CT_S_MAX && c < CT_CLASS_MAX;
}

/** Name of a class: a conntrack state's (ct_state_name()) or an L4 state's ("?" if none). */
const char *ct_class_name(unsigned int c);

/** One-line help of an L4 class ("" for the TCP states, "?" if out of range). */
const char *ct_class_help(unsigned int c);

/**
 * Parse a class name as ct_state_parse() parses state names (case-insensitive, '-' or '_').
 * @return enum ct_class value, or -EINVAL.
 */
int ct_class_parse(const char *name);

/** The timeout of an L4 class (enum ct_l4_timeout), or -EINVAL for any other class. */
int ct_class_l4_timeout(unsigned int c);

/** Bit c set for every embryonic L4 class c (the TCP ones are the worker's choice). */
uint32_t ct_l4_embryonic_mask(void);

/** Name of an L4 timeout ("udp", ...; "?" if out of range). */
const char *ct_l4_timeout_name(unsigned int t);

/** Parse an L4 timeout name (case-insensitive, '-' or '_'). @return enum ct_l4_timeout or -EINVAL. */
int ct_l4_timeout_parse(const char *name);

/** Name of an L4 reason ("?" if out of range). */
const char *ct_l4_reason_name(unsigned int r);

/** One-line help of an L4 reason. */
const char *ct_l4_reason_help(unsigned int r);

/** Name of a packet kind ("?" if out of range). */
const char *ct_l4_kind_name(unsigned int k);

/**
 * Start a flow with its first packet (the sender becomes CT_DIR_ORIG).
 * @param l       record to initialise (every byte written on NEW)
 * @param kind    enum ct_l4_kind: UDP, ICMP_REQUEST or OTHER start a flow
 * @param seg     the packet's L4 fields
 * @param now_ms  the clock, milliseconds (wraps)
 * @param reason  set to CT_L4R_OK, or the reason of an INVALID verdict
 * @return CT_VERDICT_NEW, or CT_VERDICT_INVALID (an echo reply, an error, TCP; l untouched).
 */
enum ct_verdict ct_l4_new(struct ct_l4 *l, unsigned int kind, const struct ct_l4_seg *seg,
                          uint32_t now_ms, enum ct_l4_reason *reason);

/**
 * Track one packet of a non-TCP flow.
 * @param l       the flow's state (updated only on ACCEPT)
 * @param kind    the packet's kind (must fit the flow's protocol)
 * @param dir     CT_DIR_ORIG or CT_DIR_REPLY
 * @param now_ms  the clock, milliseconds (wraps)
 * @param reason  set to CT_L4R_OK, or the reason of an INVALID verdict
 * @return CT_VERDICT_ACCEPT or CT_VERDICT_INVALID (l untouched).
 */
enum ct_verdict ct_l4_track(struct ct_l4 *l, unsigned int kind, enum ct_dir dir, uint32_t now_ms,
                            enum ct_l4_reason *reason);

/** Timeout in milliseconds of the flow's class (relaxed load: `set timeout` may change it). */
static inline uint32_t
ct_l4_timeout_ms(const struct ct_l4 *l, const struct ct_l4_conf *conf)
{
	int t = ct_class_l4_timeout(l->state);

	return t < 0 ? 0 : __atomic_load_n(&conf->ms[t], __ATOMIC_RELAXED);
}

#ifdef __cplusplus
}
#endif

#endif /* CT_L4_H */
