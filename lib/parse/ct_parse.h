/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_PARSE_H
#define CT_PARSE_H

/**
 * @file
 * Packet parsing: Ethernet / 802.1Q / QinQ, IPv4 (options), IPv6 (extension headers), then TCP
 * with options, UDP, ICMP/ICMPv6 (echo, and errors with the packet they quote) or any other IP
 * protocol, into a canonical bidirectional flow key plus the fields the trackers need.
 *
 * Thread-safety: stateless; safe from any thread.
 *
 * Design: ct_parse_pkt() works on a plain byte buffer (no EAL dependency) so it is unit-tested
 * and fuzzed without DPDK; ct_parse_mbuf() in ct_parse_mbuf.h wraps it for rte_mbuf. Every
 * packet that is not trackable gets exactly one reason from CT_PARSE_REASONS; a trackable one
 * gets its kind (enum ct_l4_kind). Keys: TCP and UDP by addresses and ports; ICMP echo by
 * addresses, identifier, request type and which endpoint asked (port[0] = id, port[1] =
 * side << 8 | request type, so either endpoint's own echo session is its own flow, as Linux's
 * tuple has them); other protocols by addresses and protocol (ports 0). An ICMP error carries
 * the key of the packet it quotes (made as if that packet were parsed), so the flow it is
 * RELATED to is found by the same lookup, whichever direction the quoted packet went.
 * The flow key is canonical: the endpoint with the smaller (address, port) is stored first, and
 * the result's `swapped` bit says whether the packet's source is the second endpoint, so both
 * directions of a connection produce the same key.
 *
 * Bounds: every header must lie inside the frame; the IP length (IPv4 total length, IPv6 payload
 * length) bounds what follows the IP header, so Ethernet padding after the datagram is ignored
 * and the payload length comes from the IP header, never from the frame length.
 * Fragments are not tracked (CT_PARSE_FRAG_*, passed); an IPv6 "atomic fragment" (fragment
 * header with offset 0 and M clear, RFC 6946) is an unfragmented datagram and is parsed.
 * Reason priority for a TCP segment: header bounds, then flags (ct_parse_pkt() checks the flag
 * byte before the options), then options. An option of a known kind with an unexpected length
 * (an empty SACK, MSS of 3 bytes, ...) is ignored as the Linux stack ignores it, and the segment
 * is tracked with CT_TCPO_ODD set; only a broken list (a length below 2 or past the header) is
 * a reason, a distinct one on a FIN or RST.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct_l4.h"
#include "ct_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Parse outcomes. X-macro: (suffix, name, help). CT_PARSE_OK means a trackable packet.
 * Reasons are counted per lcore; the FSM-level reasons are in ct_tcp.h. The flag reasons are
 * lib/tcp's flag rules (CT_TCP_FLAG_RULES), in their order: one table decides for the parser
 * and the FSM.
 */
#define CT_PARSE_REASONS(X)                                                                        \
	X(OK, "ok", "packet parsed")                                                               \
	X(TRUNC_ETH, "trunc_eth", "frame shorter than an Ethernet header")                         \
	X(TRUNC_VLAN, "trunc_vlan", "frame ends inside a VLAN tag")                                \
	X(TOO_MANY_VLANS, "too_many_vlans", "more than two VLAN tags")                             \
	X(NOT_IP, "not_ip", "EtherType is neither IPv4 nor IPv6 (passed, not tracked)")            \
	X(TRUNC_IP, "trunc_ip", "frame ends inside the IP header")                                 \
	X(BAD_IP_VERSION, "bad_ip_version", "IP version field does not match the EtherType")       \
	X(BAD_IHL, "bad_ihl", "IPv4 header length below 20 bytes")                                 \
	X(BAD_IP_LEN, "bad_ip_len", "IP total/payload length beyond the frame or below header")    \
	X(TRUNC_EXT_HDR, "trunc_ext_hdr", "IPv6 payload ends inside an extension header")          \
	X(FRAG_FIRST, "frag_first", "first fragment of a fragmented datagram (not tracked)")       \
	X(FRAG_NONFIRST, "frag_nonfirst", "non-first IP fragment (cannot be tracked)")             \
	X(TRUNC_TCP, "trunc_tcp", "frame ends inside the TCP header")                              \
	X(BAD_DOFF, "bad_doff", "TCP data offset below 5 or beyond the packet")                    \
	X(BAD_TCP_OPT, "bad_tcp_opt",                                                              \
	  "TCP option list broken: a length below 2 or past the header")                           \
	X(BAD_TCP_OPT_FIN_RST, "bad_tcp_opt_fin_rst",                                              \
	  "TCP option list broken on a FIN or RST (not tracked: that close goes unseen)")          \
	CT_TCP_FLAG_RULES(X, FLAGS_)                                                               \
	X(TRUNC_SEG, "trunc_seg", "headers span mbuf segments (not tracked)")                      \
	X(TRUNC_UDP, "trunc_udp", "frame ends inside the UDP header")                              \
	X(BAD_UDP_LEN, "bad_udp_len",                                                              \
	  "UDP length below 8 or beyond the IP payload (Linux: INVALID)")                          \
	X(TRUNC_ICMP, "trunc_icmp", "ICMP message shorter than its 8-byte header")                 \
	X(ICMP_UNTRACKED, "icmp_untracked",                                                        \
	  "ICMP type neither a query with a reply nor an error (passed, not tracked)")             \
	X(TRUNC_ICMP_INNER, "trunc_icmp_inner",                                                    \
	  "ICMP error quotes less than an IP header and the ports (or ICMP header) after it")      \
	X(BAD_ICMP_INNER, "bad_icmp_inner",                                                        \
	  "ICMP error quotes a broken IP header, another family, or an ICMP message not a query")  \
	X(ICMP_INNER_FRAG, "icmp_inner_frag", "ICMP error quotes a non-first fragment (no ports)")

enum ct_parse_reason {
#define X(e, n, h) CT_PARSE_##e,
	CT_PARSE_REASONS(X)
#undef X
	        CT_PARSE_MAX
};

/** Parse reason of a broken flag rule (@p rule != CT_TCPFR_OK). */
#define CT_PARSE_FLAGS_OF(rule)                                                                    \
	((enum ct_parse_reason)(CT_PARSE_FLAGS_NONE - CT_TCPFR_NONE + (rule)))

#ifndef __cplusplus
_Static_assert(CT_PARSE_FLAGS_OF(CT_TCPFR_URG) == CT_PARSE_FLAGS_URG,
               "the parser's flag reasons follow lib/tcp's flag rules");
#endif

/**
 * True for the reasons of packets passed untracked as normal traffic (not IP, IP fragments,
 * ICMP types that are neither queries nor errors); every other reason is a malformed packet.
 */
static inline bool
ct_parse_untracked(unsigned int r)
{
	return r == CT_PARSE_NOT_IP || r == CT_PARSE_FRAG_FIRST || r == CT_PARSE_FRAG_NONFIRST ||
	       r == CT_PARSE_ICMP_UNTRACKED;
}

/** Name of a parse reason ("?" if out of range). */
const char *ct_parse_reason_name(unsigned int r);
/** One-line help of a parse reason. */
const char *ct_parse_reason_help(unsigned int r);

/**
 * Canonical bidirectional flow key, 40 bytes, hashed as a whole (padding is always zero).
 * IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d) so one key type serves both families.
 * addr[0]/port[0] is the smaller endpoint (memcmp of address, then port).
 */
struct ct_flow_key {
	uint8_t addr[2][16];
	uint16_t port[2]; /**< network byte order */
	uint16_t vlan;    /**< outer VLAN id when keying by VLAN is on, else 0 */
	uint8_t proto;    /**< IP protocol (an ICMP error: the quoted packet's) */
	uint8_t family;   /**< 4 or 6 */
};
#ifndef __cplusplus
_Static_assert(sizeof(struct ct_flow_key) == 40, "ct_flow_key must have no padding");
#endif

/** Parser options. */
struct ct_parse_conf {
	bool key_vlan; /**< include the outer VLAN id in the key */
};

/** Result of parsing one frame: 64 bytes. */
struct ct_pkt {
	struct ct_flow_key key;
	union {
		struct ct_tcp_seg
		        seg;         /**< TCP: seq/ack/win in host order; len from the IP length */
		struct ct_l4_seg l4; /**< the other kinds */
	};
	uint16_t l3_len; /**< IP header + payload (bytes counted per flow), saturated */
	uint8_t swapped; /**< 1 when the packet's source is key endpoint [1] (ICMP echo: the
	                      reply's, whatever the addresses; an error: the quoted packet's) */
	uint8_t kind;    /**< enum ct_l4_kind (CT_L4K_TCP = 0) */
};
#ifndef __cplusplus
_Static_assert(sizeof(struct ct_pkt) == 64, "a parsed packet is one cache line");
#endif

/**
 * Parse one frame starting at the Ethernet header.
 * @param data  frame bytes (no alignment needed)
 * @param len   frame length
 * @param conf  parser options (NULL: defaults)
 * @param out   filled when the result is CT_PARSE_OK (may be partially written otherwise)
 * @return CT_PARSE_OK or the reason the frame is not trackable.
 */
enum ct_parse_reason ct_parse_pkt(const uint8_t *data, uint32_t len,
                                  const struct ct_parse_conf *conf, struct ct_pkt *out);

/**
 * Parse a frame of which only the first @p seg_len bytes are contiguous (first mbuf segment).
 * Lengths are checked against @p pkt_len; a header that is inside the packet but not inside the
 * first @p seg_len bytes gives CT_PARSE_TRUNC_SEG. With seg_len == pkt_len this is ct_parse_pkt().
 * @param data     first segment's bytes
 * @param seg_len  bytes readable at @p data
 * @param pkt_len  whole frame length (>= seg_len; a smaller value is taken as seg_len)
 * @param conf     parser options (NULL: defaults)
 * @param out      filled when the result is CT_PARSE_OK
 * @return CT_PARSE_OK or the reason the frame is not trackable.
 */
enum ct_parse_reason ct_parse_pkt_seg(const uint8_t *data, uint32_t seg_len, uint32_t pkt_len,
                                      const struct ct_parse_conf *conf, struct ct_pkt *out);

/**
 * Build the canonical key of a TCP packet from its addresses and ports, as ct_parse_pkt() does
 * (for tests, tools and control-plane lookups).
 * @param k         key to fill (every byte written)
 * @param family    4 (src/dst point to 4 bytes) or 6 (16 bytes)
 * @param src       packet source address, network order
 * @param dst       packet destination address, network order
 * @param sport_be  source port, network order
 * @param dport_be  destination port, network order
 * @param vlan      VLAN id to key by (0 when VLAN keying is off)
 * @param swapped   if not NULL, set to 1 when the source is endpoint [1], else 0
 * @return 0, or -EINVAL for a NULL pointer or a family other than 4 or 6.
 */
int ct_flow_key_make(struct ct_flow_key *k, int family, const void *src, const void *dst,
                     uint16_t sport_be, uint16_t dport_be, uint16_t vlan, uint8_t *swapped);

/**
 * Build the canonical key of a packet of IP protocol @p proto as ct_parse_pkt() does, for UDP
 * and the other protocols (ports given as 0 for a protocol without them). For ICMP (1 with
 * family 4, 58 with 6) use ct_flow_key_make_icmp(). Parameters and return as ct_flow_key_make().
 */
int ct_flow_key_make_proto(struct ct_flow_key *k, int family, uint8_t proto, const void *src,
                           const void *dst, uint16_t sport_be, uint16_t dport_be, uint16_t vlan,
                           uint8_t *swapped);

/**
 * Build the key of an ICMP/ICMPv6 query flow as ct_parse_pkt() does for the packet: @p type is
 * the packet's (a request or its reply: 8/0, 13/14, 15/16, 17/18; ICMPv6 128/129, 139/140),
 * @p id_be its identifier in network order.
 * @return 0, or -EINVAL (NULL pointer, bad family, a type that is no query or reply).
 */
int ct_flow_key_make_icmp(struct ct_flow_key *k, int family, const void *src, const void *dst,
                          uint8_t type, uint16_t id_be, uint16_t vlan, uint8_t *swapped);

/**
 * The request type of an ICMP query or reply type (8 for 8 and 0; ICMPv6 (@p family 6) 128 for
 * 128 and 129, ...), with *@p is_reply set, or -1 for a type that is neither.
 */
int ct_icmp_query_type(int family, uint8_t type, bool *is_reply);

/** The reply type of a query flow's request type @p req (8 -> 0, 128 -> 129; -1 if none). */
int ct_icmp_reply_type(int family, uint8_t req);

/**
 * Format a key's endpoint @p side (0 or 1) address as text ("192.0.2.1" or "2001:db8::1"); keys
 * of family 4 print their IPv4-mapped address as a dotted quad.
 * @return characters written (snprintf semantics), or -EINVAL.
 */
int ct_flow_key_addr_format(const struct ct_flow_key *key, unsigned int side, char *buf,
                            unsigned long size);

#ifdef __cplusplus
}
#endif

#endif /* CT_PARSE_H */
