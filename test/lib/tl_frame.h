/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TL_FRAME_H
#define TL_FRAME_H

/**
 * @file
 * Frame builder of the tests, tools and benchmarks: one description (struct tl_frame_spec) of an
 * Ethernet frame with up to three VLAN tags, an IPv4 header with options or an IPv6 header with
 * extension headers, and a TCP header with options and a payload, written out byte by byte with
 * the IPv4 and TCP checksums when asked. Everything a caller does not set stays zero (a zero
 * MAC, TTL, window, checksum), so a test states exactly the bytes it cares about; a frame that
 * cannot exist (an IP length above 65535) or does not fit is refused.
 *
 * Thread-safety: none needed (pure functions). No DPDK, no allocation.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TL_FRAME_MAX   2048 /**< bytes of struct tl_frame */
#define TL_VLAN_MAX    3    /**< VLAN tags a spec may carry */
#define TL_IP6_EXT_MAX 6    /**< IPv6 extension headers a spec may carry */
#define TL_OPT_MAX     40   /**< bytes of IPv4 or TCP options */

/** Checksums to compute (struct tl_frame_spec::csum); others stay 0. */
#define TL_CSUM_IP  0x01 /**< IPv4 header checksum */
#define TL_CSUM_TCP 0x02 /**< TCP checksum (IPv4 or IPv6 pseudo-header) */

/** One frame. Addresses and the IPv4/IPv6 option bytes are in network order, numbers in host
 *  order. */
struct tl_frame_spec {
	uint8_t dmac[6], smac[6];
	int ntags;                        /**< VLAN tags, outermost first */
	uint16_t tpid[TL_VLAN_MAX];       /**< 0x8100, 0x88a8, ... */
	uint16_t tci[TL_VLAN_MAX];        /**< PCP, DEI, VLAN id */
	int family;                       /**< 4 or 6 */
	uint8_t src[16], dst[16];         /**< IPv4 uses the first 4 bytes */
	uint8_t proto;                    /**< IP protocol of the TCP header (6; another to test) */
	uint8_t ttl;                      /**< IPv4 TTL / IPv6 hop limit */
	uint16_t ip_id;                   /**< IPv4 identification */
	uint16_t frag4;                   /**< IPv4 flags + fragment offset field (0x4000: DF) */
	uint8_t ipopt[TL_OPT_MAX];        /**< IPv4 options */
	unsigned int ipopt_len;           /**< a multiple of 4 */
	int n_ext;                        /**< IPv6 extension headers, in order */
	uint8_t ext_type[TL_IP6_EXT_MAX]; /**< 0, 43, 60 (8-byte units), 44 (fragment), 51 (AH) */
	unsigned int ext_len[TL_IP6_EXT_MAX]; /**< bytes, valid for the type */
	uint16_t frag6;                       /**< fragment header's offset/M field */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags; /**< TCP flag byte (CT_TCPF_*) */
	uint16_t win;  /**< raw window field */
	uint8_t tcpopt[TL_OPT_MAX];
	unsigned int tcpopt_len;     /**< a multiple of 4 */
	unsigned int payload;        /**< TCP payload bytes */
	const uint8_t *payload_data; /**< NULL: zeros */
	unsigned int pad;            /**< zero bytes after the datagram (Ethernet trailer) */
	unsigned int min_len;        /**< zero-pad the frame to at least this many bytes */
	unsigned int csum;           /**< TL_CSUM_* */
	unsigned int raw_l4; /**< 1: no TCP header; the payload is all that follows the IP header
	                          (UDP, ICMP: tl_frame_udp(), tl_frame_icmp()) */
};

/** Where the headers of a built frame start. */
struct tl_frame_off {
	uint32_t l3;      /**< IP header */
	uint32_t l4;      /**< TCP header */
	uint32_t hdr_end; /**< end of the TCP header (options included): the payload */
};

/** A built frame in a fixed buffer, with its offsets. */
struct tl_frame {
	uint8_t b[TL_FRAME_MAX];
	uint32_t len;
	uint32_t l3, l4, hdr_end; /**< struct tl_frame_off */
	uint32_t split;           /**< for tl_mbuf_from(): bytes in the first segment, 0: one */
};

/** Zero @p s, then IPv4 with @p src and @p dst (host order), TCP ports, TTL 64, protocol TCP. */
void tl_frame_spec_v4(struct tl_frame_spec *s, uint32_t src, uint16_t sport, uint32_t dst,
                      uint16_t dport);

/** Zero @p s, then IPv6 with @p src and @p dst (16 bytes each), TCP ports, hop limit 64. */
void tl_frame_spec_v6(struct tl_frame_spec *s, const uint8_t *src, uint16_t sport,
                      const uint8_t *dst, uint16_t dport);

/** Bytes tl_frame_write() needs for @p s. */
size_t tl_frame_len(const struct tl_frame_spec *s);

/**
 * Write the frame of @p s into @p buf.
 * @param off  if not NULL, receives the header offsets
 * @return the frame length, -EMSGSIZE (the IP datagram would exceed 65535 bytes), -ENOSPC (it
 *         does not fit @p size bytes) or -EINVAL (more tags, options or extension headers than
 *         a spec holds, a length that is not a multiple of 4, a family other than 4 or 6).
 */
long tl_frame_write(const struct tl_frame_spec *s, uint8_t *buf, size_t size,
                    struct tl_frame_off *off);

/** tl_frame_write() into @p f (split 0). @return as tl_frame_write(). */
long tl_frame_build(const struct tl_frame_spec *s, struct tl_frame *f);

/**
 * The plain IPv4/TCP frame most tests send: MACs 02:00:00:00:00:00 both, TTL 64, no options,
 * no checksums, @p plen zero payload bytes, into @p f. @return as tl_frame_write().
 */
long tl_frame_tcp4(struct tl_frame *f, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                   uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, uint16_t plen);

/**
 * A UDP datagram of @p plen zero bytes with @p s's addresses and ports (s->sport, s->dport) into
 * @p f: sets s->proto 17 and the raw payload. @return as tl_frame_write().
 */
long tl_frame_udp(struct tl_frame_spec *s, struct tl_frame *f, uint16_t plen);

/**
 * An ICMP (family 4) or ICMPv6 (6) message with @p s's addresses: type, code, zero checksum, then
 * @p id and @p seq (the rest-of-header word of a query; of an error, 0 and 0 or an MTU), and
 * @p body_len bytes of @p body (NULL: zeros; an error's quoted packet). @return as
 * tl_frame_write().
 */
long tl_frame_icmp(struct tl_frame_spec *s, struct tl_frame *f, uint8_t type, uint8_t code,
                   uint16_t id, uint16_t seq, const uint8_t *body, uint16_t body_len);

/**
 * TCP options of a SYN in Linux's order: MSS, SACK-permitted, timestamps, NOP, window scale
 * (with SACK-permitted but no timestamps: NOP, NOP, SACK-permitted), each present when its
 * CT_TCPO_* bit is in @p opts, into @p o (TL_OPT_MAX bytes). @return bytes written.
 */
size_t tl_tcp_opts_linux(uint8_t *o, uint8_t opts, uint16_t mss, uint8_t wscale, uint32_t tsval,
                         uint32_t tsecr);

/** One's complement sum of @p len bytes added to @p sum (not folded). */
uint32_t tl_csum_add(uint32_t sum, const void *p, size_t len);

/** Fold and complement a one's complement sum: the checksum field. */
uint16_t tl_csum_fold(uint32_t sum);

/** Store @p v big-endian at @p p. */
static inline void
tl_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/** Store @p v big-endian at @p p. */
static inline void
tl_put32(uint8_t *p, uint32_t v)
{
	tl_put16(p, (uint16_t)(v >> 16));
	tl_put16(p + 2, (uint16_t)v);
}

/** The 8-byte UDP header at @p h: ports, length 8 + @p plen, checksum 0 (none, IPv4). */
static inline void
tl_udp_hdr(uint8_t *h, uint16_t sport, uint16_t dport, uint16_t plen)
{
	tl_put16(h, sport);
	tl_put16(h + 2, dport);
	tl_put16(h + 4, (uint16_t)(8 + plen));
	tl_put16(h + 6, 0);
}

/** The 8-byte header of an ICMP query at @p h: type, code, checksum 0, @p id and @p seq. */
static inline void
tl_icmp_hdr(uint8_t *h, uint8_t type, uint8_t code, uint16_t id, uint16_t seq)
{
	h[0] = type;
	h[1] = code;
	tl_put16(h + 2, 0);
	tl_put16(h + 4, id);
	tl_put16(h + 6, seq);
}

#ifdef __cplusplus
}
#endif

#endif /* TL_FRAME_H */
