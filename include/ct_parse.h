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
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Parse outcomes. X-macro: (suffix, name, help). CT_PARSE_OK means a trackable TCP segment.
 * Reasons are counted per lcore; the FSM-level reasons are in ct_tcp.h.
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
	X(TRUNC_EXT_HDR, "trunc_ext_hdr", "frame ends inside an IPv6 extension header")            \
	X(FRAG_FIRST, "frag_first", "first fragment of a fragmented datagram (not tracked)")       \
	X(FRAG_NONFIRST, "frag_nonfirst", "non-first IP fragment (cannot be tracked)")             \
	X(NOT_TCP, "not_tcp", "IP payload is not TCP (passed, not tracked)")                       \
	X(TRUNC_TCP, "trunc_tcp", "frame ends inside the TCP header")                              \
	X(BAD_DOFF, "bad_doff", "TCP data offset below 5 or beyond the packet")                    \
	X(BAD_TCP_OPT, "bad_tcp_opt", "TCP option length runs past the header")                    \
	X(FLAGS_NONE, "flags_none", "TCP segment with no flags")                                   \
	X(FLAGS_SYN_FIN, "flags_syn_fin", "SYN and FIN together")                                  \
	X(FLAGS_SYN_RST, "flags_syn_rst", "SYN and RST together")                                  \
	X(FLAGS_XMAS, "flags_xmas", "FIN+PSH+URG (Xmas scan) or all flags")                        \
	X(FLAGS_FIN_NO_ACK, "flags_fin_no_ack", "FIN without ACK")

enum ct_parse_reason {
#define X(e, n, h) CT_PARSE_##e,
	CT_PARSE_REASONS(X)
#undef X
		CT_PARSE_MAX
};

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

/** Parser options. */
struct ct_parse_conf {
	bool key_vlan; /**< include the outer VLAN id in the key */
};

/** Result of parsing one frame. */
struct ct_pkt {
	struct ct_flow_key key;
	struct ct_tcp_seg seg;
	uint16_t l3_len;  /**< IP header + payload (bytes counted per flow) */
	uint8_t swapped;  /**< 1 when the packet's source is key endpoint [1] */
	uint8_t pad;
};

/**
 * Parse one frame starting at the Ethernet header.
 * @param data  frame bytes
 * @param len   frame length
 * @param conf  parser options (NULL: defaults)
 * @param out   filled when the result is CT_PARSE_OK (may be partially written otherwise)
 * @return CT_PARSE_OK or the reason the frame is not a trackable TCP segment.
 */
enum ct_parse_reason ct_parse_pkt(const uint8_t *data, uint32_t len,
				  const struct ct_parse_conf *conf, struct ct_pkt *out);

/**
 * Format a key's endpoint @p side (0 or 1) address as text ("192.0.2.1" or "2001:db8::1").
 * @return characters written (snprintf semantics), or -EINVAL.
 */
int ct_flow_key_addr_format(const struct ct_flow_key *key, unsigned int side, char *buf,
			    unsigned long size);

#ifdef __cplusplus
}
#endif

#endif /* CT_PARSE_H */
