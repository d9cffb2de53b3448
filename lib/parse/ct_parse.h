/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_PARSE_H
#define CT_PARSE_H

/**
 * @file
 * Packet parsing: Ethernet / 802.1Q / QinQ, IPv4 (options), IPv6 (extension headers), TCP with
 * options, into a canonical bidirectional flow key plus the segment fields the tracker needs.
 *
 * Thread-safety: stateless; safe from any thread.
 *
 * Design: ct_parse_pkt() works on a plain byte buffer (no EAL dependency) so it is unit-tested
 * and fuzzed without DPDK; ct_parse_mbuf() in ct_parse_mbuf.h wraps it for rte_mbuf. Every
 * packet that is not a trackable TCP segment gets exactly one reason from CT_PARSE_REASONS.
 * The flow key is canonical: the endpoint with the smaller (address, port) is stored first, and
 * the result's `swapped` bit says whether the packet's source is the second endpoint, so both
 * directions of a connection produce the same key.
 *
 * Bounds: every header must lie inside the frame; the IP length (IPv4 total length, IPv6 payload
 * length) bounds what follows the IP header, so Ethernet padding after the datagram is ignored
 * and the payload length comes from the IP header, never from the frame length.
 * Fragments of non-TCP datagrams count as CT_PARSE_NOT_TCP; an IPv6 "atomic fragment" (fragment
 * header with offset 0 and M clear, RFC 6946) is an unfragmented datagram and is parsed.
 * Reason priority for a TCP segment: header bounds, then flags (ct_parse_pkt() checks the flag
 * byte before the options), then options. An option of a known kind with an unexpected length
 * (an empty SACK, MSS of 3 bytes, ...) is ignored as the Linux stack ignores it, and the segment
 * is tracked with CT_TCPO_ODD set; only a broken list (a length below 2 or past the header) is
 * a reason, a distinct one on a FIN or RST.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Parse outcomes. X-macro: (suffix, name, help). CT_PARSE_OK means a trackable TCP segment.
 * Reasons are counted per lcore; the FSM-level reasons are in ct_tcp.h. The flag reasons are
 * lib/tcp's flag rules (CT_TCP_FLAG_RULES), in their order: one table decides for the parser
 * and the FSM.
 */
#define CT_PARSE_REASONS(X)                                                                        \
	X(OK, "ok", "TCP segment parsed")                                                          \
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
	X(NOT_TCP, "not_tcp", "IP payload is not TCP (passed, not tracked)")                       \
	X(TRUNC_TCP, "trunc_tcp", "frame ends inside the TCP header")                              \
	X(BAD_DOFF, "bad_doff", "TCP data offset below 5 or beyond the packet")                    \
	X(BAD_TCP_OPT, "bad_tcp_opt",                                                              \
	  "TCP option list broken: a length below 2 or past the header")                           \
	X(BAD_TCP_OPT_FIN_RST, "bad_tcp_opt_fin_rst",                                              \
	  "TCP option list broken on a FIN or RST (not tracked: that close goes unseen)")          \
	CT_TCP_FLAG_RULES(X, FLAGS_)                                                               \
	X(TRUNC_SEG, "trunc_seg", "headers span mbuf segments (not tracked)")

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
	uint8_t proto;    /**< IPPROTO_TCP */
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
	struct ct_tcp_seg seg; /**< seq/ack/win in host order; len from the IP length */
	uint16_t l3_len;       /**< IP header + payload (bytes counted per flow), saturated */
	uint8_t swapped;       /**< 1 when the packet's source is key endpoint [1] */
	uint8_t pad;
};

/**
 * Parse one frame starting at the Ethernet header.
 * @param data  frame bytes (no alignment needed)
 * @param len   frame length
 * @param conf  parser options (NULL: defaults)
 * @param out   filled when the result is CT_PARSE_OK (may be partially written otherwise)
 * @return CT_PARSE_OK or the reason the frame is not a trackable TCP segment.
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
 * @return CT_PARSE_OK or the reason the frame is not a trackable TCP segment.
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
