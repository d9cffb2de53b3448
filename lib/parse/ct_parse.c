/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet parser: walks Ethernet, up to two VLAN tags, IPv4 (with options) or IPv6 (with extension
 * headers) and TCP (with options), UDP, ICMP/ICMPv6 (with the header an error quotes) or another
 * protocol in a byte buffer, and produces the canonical bidirectional flow key and the fields the
 * trackers need, or exactly one reason why the frame is not trackable. TCP over untagged IPv4
 * takes a fast path that checks nothing of the other protocols. Per-packet hot path: no allocation, no syscalls, unaligned-safe loads
 * (memcpy), one bounds check per header on the fast path; the cold path decides between a real
 * truncation and headers that span mbuf segments. Flag sanity is one lookup in lib/tcp's flag
 * rule table (ct_tcp_flag_rule()), the one the FSM uses too.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "ct_parse.h"
#include "ct_text.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define ETH_HLEN       14
#define VLAN_HLEN      4
#define IPV4_HLEN      20
#define IPV6_HLEN      40
#define TCP_HLEN       20
#define ETH_P_IPV4     0x0800
#define ETH_P_IPV6     0x86dd
#define ETH_P_8021Q    0x8100
#define ETH_P_8021AD   0x88a8
#define ETH_P_QINQ9100 0x9100
#define PROTO_TCP      6
#define PROTO_ICMP     1
#define PROTO_UDP      17
#define PROTO_ICMPV6   58
#define UDP_HLEN       8
#define ICMP_HLEN      8
#define EXT_HOPOPTS    0
#define EXT_ROUTING    43
#define EXT_FRAGMENT   44
#define EXT_AH         51
#define EXT_DSTOPTS    60
#define TCPOPT_EOL     0
#define TCPOPT_NOP     1
#define TCPOPT_MSS     2
#define TCPOPT_WSCALE  3
#define TCPOPT_SACKP   4
#define TCPOPT_SACK    5
#define TCPOPT_TS      8
#define WSCALE_MAX     14 /* RFC 7323 2.3 */

static const char *const reason_names[CT_PARSE_MAX] = {
#define X(e, n, h) [CT_PARSE_##e] = n,
        CT_PARSE_REASONS(X)
#undef X
};

static const char *const reason_helps[CT_PARSE_MAX] = {
#define X(e, n, h) [CT_PARSE_##e] = h,
        CT_PARSE_REASONS(X)
#undef X
};

const char *
ct_parse_reason_name(unsigned int r)
{
	return r < CT_PARSE_MAX ? reason_names[r] : "?";
}

const char *
ct_parse_reason_help(unsigned int r)
{
	return r < CT_PARSE_MAX ? reason_helps[r] : "?";
}

static inline uint16_t
rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return be16toh(v);
}

static inline uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static inline uint64_t
rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

/*
 * Require @n bytes at offset @off, where @avail bytes are readable and @bound bytes exist in the
 * packet (avail <= bound, off <= avail). Subtraction form: no overflow for any length.
 */
#define NEED(off, n, avail, bound, reason)                                                         \
	do {                                                                                       \
		if (unlikely((n) > (avail) - (off)))                                               \
			return (n) > (bound) - (off) ? (reason) : CT_PARSE_TRUNC_SEG;              \
	} while (0)

static inline int
is_vlan_tpid(uint16_t et)
{
	return et == ETH_P_8021Q || et == ETH_P_8021AD || et == ETH_P_QINQ9100;
}

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Order by (address, port) as memcmp would on network-order bytes; returns swapped. */
static inline uint8_t
key_fill4(struct ct_flow_key *k, const uint8_t *src, const uint8_t *dst, uint16_t sp_be,
          uint16_t dp_be)
{
	uint32_t s = rd32(src), d = rd32(dst);
	uint8_t sw = s > d || (s == d && be16toh(sp_be) > be16toh(dp_be));
	const uint8_t *a0 = sw ? dst : src, *a1 = sw ? src : dst;

	memcpy(k->addr[0], v4mapped_prefix, sizeof(v4mapped_prefix));
	memcpy(&k->addr[0][12], a0, 4);
	memcpy(k->addr[1], v4mapped_prefix, sizeof(v4mapped_prefix));
	memcpy(&k->addr[1][12], a1, 4);
	k->port[0] = sw ? dp_be : sp_be;
	k->port[1] = sw ? sp_be : dp_be;
	return sw;
}

static inline uint8_t
key_fill6(struct ct_flow_key *k, const uint8_t *src, const uint8_t *dst, uint16_t sp_be,
          uint16_t dp_be)
{
	uint64_t sh = rd64(src), dh = rd64(dst), sl = rd64(src + 8), dl = rd64(dst + 8);
	uint8_t sw =
	        sh > dh || (sh == dh && (sl > dl || (sl == dl && be16toh(sp_be) > be16toh(dp_be))));
	const uint8_t *a0 = sw ? dst : src, *a1 = sw ? src : dst;

	memcpy(k->addr[0], a0, 16);
	memcpy(k->addr[1], a1, 16);
	k->port[0] = sw ? dp_be : sp_be;
	k->port[1] = sw ? sp_be : dp_be;
	return sw;
}

int
ct_flow_key_make_proto(struct ct_flow_key *k, int family, uint8_t proto, const void *src,
                       const void *dst, uint16_t sport_be, uint16_t dport_be, uint16_t vlan,
                       uint8_t *swapped)
{
	uint8_t sw;

	if (k == NULL || src == NULL || dst == NULL)
		return -EINVAL;
	if (family == 4)
		sw = key_fill4(k, src, dst, sport_be, dport_be);
	else if (family == 6)
		sw = key_fill6(k, src, dst, sport_be, dport_be);
	else
		return -EINVAL;
	k->vlan = vlan;
	k->proto = proto;
	k->family = (uint8_t)family;
	if (swapped != NULL)
		*swapped = sw;
	return 0;
}

int
ct_flow_key_make(struct ct_flow_key *k, int family, const void *src, const void *dst,
                 uint16_t sport_be, uint16_t dport_be, uint16_t vlan, uint8_t *swapped)
{
	return ct_flow_key_make_proto(k, family, PROTO_TCP, src, dst, sport_be, dport_be, vlan,
	                              swapped);
}

/*
 * ICMP queries and their replies (RFC 792, RFC 4443, RFC 4620), as Linux pairs them:
 * echo 8/0, timestamp 13/14, information 15/16, address mask 17/18; ICMPv6 echo 128/129 and
 * node information 139/140. Index: the request type; value: its reply's type + 1 (0: none).
 */
static const uint8_t icmp4_reply_of[19] = {
        [8] = 0 + 1, [13] = 14 + 1, [15] = 16 + 1, [17] = 18 + 1};

int
ct_icmp_reply_type(int family, uint8_t req)
{
	if (family == 4)
		return req < sizeof(icmp4_reply_of) && icmp4_reply_of[req] ? icmp4_reply_of[req] - 1
		                                                           : -1;
	if (family == 6)
		return req == 128 || req == 139 ? req + 1 : -1;
	return -1;
}

int
ct_icmp_query_type(int family, uint8_t type, bool *is_reply)
{
	*is_reply = false;
	if (ct_icmp_reply_type(family, type) >= 0)
		return type;
	*is_reply = true;
	if (family == 4) {
		if (type == 0)
			return 8;
		if (type == 14 || type == 16 || type == 18)
			return type - 1;
	} else if (family == 6 && (type == 129 || type == 140)) {
		return type - 1;
	}
	*is_reply = false;
	return -1;
}

/*
 * Key of an ICMP query flow: addresses in canonical order, port[0] = the identifier, port[1] =
 * the asking endpoint's side << 8 | the request type. The asker is the source of a request and
 * the destination of a reply (side 0 when both addresses are equal). @return swapped: 1 for the
 * packets of the responder (its source is endpoint [1], or a reply when the addresses are equal).
 */
static inline uint8_t
key_fill_icmp(struct ct_flow_key *k, int family, const uint8_t *src, const uint8_t *dst,
              uint8_t req, bool reply, uint16_t id_be)
{
	uint8_t sw = family == 4 ? key_fill4(k, src, dst, 0, 0) : key_fill6(k, src, dst, 0, 0);
	uint8_t side;

	if (memcmp(k->addr[0], k->addr[1], 16) == 0)
		side = 0;
	else
		side = reply ? sw ^ 1 : sw;
	k->port[0] = id_be;
	k->port[1] = htobe16((uint16_t)(side << 8 | req));
	return (uint8_t)(reply ^ side);
}

int
ct_flow_key_make_icmp(struct ct_flow_key *k, int family, const void *src, const void *dst,
                      uint8_t type, uint16_t id_be, uint16_t vlan, uint8_t *swapped)
{
	bool reply;
	int req;
	uint8_t sw;

	if (k == NULL || src == NULL || dst == NULL || (family != 4 && family != 6))
		return -EINVAL;
	req = ct_icmp_query_type(family, type, &reply);
	if (req < 0)
		return -EINVAL;
	sw = key_fill_icmp(k, family, src, dst, (uint8_t)req, reply, id_be);
	k->vlan = vlan;
	k->proto = family == 4 ? PROTO_ICMP : PROTO_ICMPV6;
	k->family = (uint8_t)family;
	if (swapped != NULL)
		*swapped = sw;
	return 0;
}

/*
 * Skip IPv6 extension headers from *l4 (the first one's type is @nh) up to the first header that
 * is none, inside @end (the payload end) of which @avail bytes are readable. Each header is at
 * least 8 bytes, so the walk is bounded by the payload length. On CT_PARSE_OK (and on
 * CT_PARSE_FRAG_FIRST: a first fragment) *l4 is that header's offset and *proto its type.
 */
static enum ct_parse_reason
ipv6_skip_ext(const uint8_t *p, uint32_t avail, uint32_t end, uint32_t *l4, uint8_t nh,
              uint8_t *proto)
{
	uint32_t off = *l4, hl;
	int first_frag = 0;
	uint16_t fo;

	for (;;) {
		switch (nh) {
		default:
			*l4 = off;
			*proto = nh;
			return first_frag ? CT_PARSE_FRAG_FIRST : CT_PARSE_OK;
		case EXT_HOPOPTS:
		case EXT_ROUTING:
		case EXT_DSTOPTS:
			NEED(off, 8u, avail, end, CT_PARSE_TRUNC_EXT_HDR);
			hl = (p[off + 1] + 1u) * 8u;
			break;
		case EXT_AH: /* RFC 4302: length in 4-byte units minus 2 */
			NEED(off, 8u, avail, end, CT_PARSE_TRUNC_EXT_HDR);
			hl = (p[off + 1] + 2u) * 4u;
			break;
		case EXT_FRAGMENT:
			NEED(off, 8u, avail, end, CT_PARSE_TRUNC_EXT_HDR);
			fo = rd16(p + off + 2);
			if (fo & 0xfff8) /* offset != 0: no upper-layer header here */
				return CT_PARSE_FRAG_NONFIRST;
			first_frag |= fo & 1; /* M clear too: atomic fragment, RFC 6946 */
			hl = 8u;
			break;
		}
		NEED(off, hl, avail, end, CT_PARSE_TRUNC_EXT_HDR);
		nh = p[off];
		off += hl;
	}
}

/*
 * TCP options: the common "NOP NOP TS" first, then the generic walk. A known kind with an
 * unexpected length is skipped by its length and noted (CT_TCPO_ODD), as the Linux stack skips
 * it (tcp_parse_options() takes an option only at its exact length); unknown kinds are skipped.
 * Only a broken list, which no stack can walk on, is a reason.
 */
static __attribute__((noinline)) enum ct_parse_reason
tcp_opts_walk(const uint8_t *o, uint32_t n, struct ct_tcp_seg *s)
{
	uint32_t i = 0, ol;
	uint8_t kind;

	while (i < n) {
		kind = o[i];
		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (unlikely(n - i < 2))
			goto broken;
		ol = o[i + 1];
		if (unlikely(ol < 2 || ol > n - i))
			goto broken;
		switch (kind) {
		case TCPOPT_MSS:
			s->opts |= ol == 4 ? CT_TCPO_MSS : CT_TCPO_ODD;
			break;
		case TCPOPT_WSCALE:
			if (unlikely(ol != 3)) {
				s->opts |= CT_TCPO_ODD;
				break;
			}
			s->opts |= CT_TCPO_WSCALE;
			s->wscale = o[i + 2] > WSCALE_MAX ? WSCALE_MAX : o[i + 2];
			break;
		case TCPOPT_SACKP:
			s->opts |= ol == 2 ? CT_TCPO_SACK_PERM : CT_TCPO_ODD;
			break;
		case TCPOPT_SACK: /* 1 to 4 blocks of 8 bytes; skipped (an empty one too) */
			if (unlikely(ol < 10 || (ol - 2) % 8 != 0))
				s->opts |= CT_TCPO_ODD;
			break;
		case TCPOPT_TS:
			if (unlikely(ol != 10)) {
				s->opts |= CT_TCPO_ODD;
				break;
			}
			s->opts |= CT_TCPO_TS;
			s->tsval = rd32(o + i + 2);
			break;
		default: /* unknown kinds (TFO cookie, MPTCP, MD5, ...) are skipped by their length */
			break;
		}
		i += ol;
	}
	return CT_PARSE_OK;
broken:
	return s->flags & (CT_TCPF_FIN | CT_TCPF_RST) ? CT_PARSE_BAD_TCP_OPT_FIN_RST
	                                              : CT_PARSE_BAD_TCP_OPT;
}

static inline enum ct_parse_reason
tcp_opts(const uint8_t *o, uint32_t n, struct ct_tcp_seg *s)
{
	if (likely(n == 12 && rd32(o) == 0x0101080a)) {
		s->opts = CT_TCPO_TS;
		s->tsval = rd32(o + 4);
		return CT_PARSE_OK;
	}
	return tcp_opts_walk(o, n, s);
}

/* Where the layers of a frame are, as far as it has been walked. */
struct hdrs {
	const uint8_t *src, *dst; /* IP addresses */
	uint32_t l4;              /* offset of the TCP header */
	uint32_t end;             /* offset of the end of the IP datagram */
	uint32_t avail;           /* readable bytes: min(end, seg_len) */
	uint32_t l3;              /* IP header + payload length (bytes counted per flow) */
	uint16_t vlan;            /* outer VLAN id, 0 if untagged */
	uint8_t family;           /* 4 or 6 */
	uint8_t proto;            /* IP protocol of the header at l4 */
};

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Ethernet and up to two VLAN tags: the EtherType after them and the offset of the IP header. */
ALWAYS_INLINE enum ct_parse_reason
parse_l2(const uint8_t *p, uint32_t seg_len, uint32_t pkt_len, uint32_t *off, uint16_t *et,
         struct hdrs *h)
{
	NEED(0u, (uint32_t)ETH_HLEN, seg_len, pkt_len, CT_PARSE_TRUNC_ETH);
	*off = ETH_HLEN;
	*et = rd16(p + 12);
	h->vlan = 0;
	if (!is_vlan_tpid(*et))
		return CT_PARSE_OK;
	NEED(*off, (uint32_t)VLAN_HLEN, seg_len, pkt_len, CT_PARSE_TRUNC_VLAN);
	h->vlan = rd16(p + *off) & 0x0fff;
	*et = rd16(p + *off + 2);
	*off += VLAN_HLEN;
	if (likely(!is_vlan_tpid(*et)))
		return CT_PARSE_OK;
	NEED(*off, (uint32_t)VLAN_HLEN, seg_len, pkt_len, CT_PARSE_TRUNC_VLAN);
	*et = rd16(p + *off + 2);
	*off += VLAN_HLEN;
	return unlikely(is_vlan_tpid(*et)) ? CT_PARSE_TOO_MANY_VLANS : CT_PARSE_OK;
}

/* IPv4 header at @p off, with options; fragments are not tracked (whatever their protocol). */
ALWAYS_INLINE enum ct_parse_reason
parse_ipv4(const uint8_t *p, uint32_t seg_len, uint32_t pkt_len, uint32_t off, struct hdrs *h)
{
	const uint8_t *ip = p + off;
	uint32_t ihl, tot;

	NEED(off, (uint32_t)IPV4_HLEN, seg_len, pkt_len, CT_PARSE_TRUNC_IP);
	if (unlikely((ip[0] >> 4) != 4))
		return CT_PARSE_BAD_IP_VERSION;
	ihl = (ip[0] & 0x0fu) * 4u;
	if (unlikely(ihl < IPV4_HLEN))
		return CT_PARSE_BAD_IHL;
	NEED(off, ihl, seg_len, pkt_len, CT_PARSE_TRUNC_IP);
	tot = rd16(ip + 2);
	if (unlikely(tot < ihl || tot > pkt_len - off))
		return CT_PARSE_BAD_IP_LEN;
	if (unlikely(rd16(ip + 6) & 0x3fff)) /* MF or offset; DF is fine */
		return rd16(ip + 6) & 0x1fff ? CT_PARSE_FRAG_NONFIRST : CT_PARSE_FRAG_FIRST;
	h->l4 = off + ihl;
	h->end = off + tot;
	h->l3 = tot;
	h->src = ip + 12;
	h->dst = ip + 16;
	h->family = 4;
	h->proto = ip[9];
	return CT_PARSE_OK;
}

/* IPv6 header at @p off and its extension headers up to the upper-layer header. */
ALWAYS_INLINE enum ct_parse_reason
parse_ipv6(const uint8_t *p, uint32_t seg_len, uint32_t pkt_len, uint32_t off, struct hdrs *h)
{
	const uint8_t *ip = p + off;
	uint32_t plen;

	NEED(off, (uint32_t)IPV6_HLEN, seg_len, pkt_len, CT_PARSE_TRUNC_IP);
	if (unlikely((ip[0] >> 4) != 6))
		return CT_PARSE_BAD_IP_VERSION;
	plen = rd16(ip + 4);
	if (unlikely(plen > pkt_len - off - IPV6_HLEN))
		return CT_PARSE_BAD_IP_LEN;
	h->l4 = off + IPV6_HLEN;
	h->end = h->l4 + plen;
	h->l3 = IPV6_HLEN + plen > UINT16_MAX ? UINT16_MAX : IPV6_HLEN + plen;
	h->src = ip + 8;
	h->dst = ip + 24;
	h->family = 6;
	h->proto = ip[6];
	if (likely(ip[6] == PROTO_TCP))
		return CT_PARSE_OK;
	return ipv6_skip_ext(p, h->end < seg_len ? h->end : seg_len, h->end, &h->l4, ip[6],
	                     &h->proto);
}

/*
 * Fast path, the common frame: untagged IPv4 without options (version/IHL byte 0x45),
 * unfragmented TCP, IP total length holding at least a TCP header and inside the frame,
 * Ethernet + IP + TCP headers in the segment. The general path would take the same branches
 * with these values; any other frame (or a failed check) takes that path, which gives its reason.
 * @return true with @p h filled for such a frame.
 */
ALWAYS_INLINE bool
fast_ipv4(const uint8_t *p, uint32_t seg_len, uint32_t pkt_len, struct hdrs *h)
{
	uint32_t l3;

	if (!(seg_len >= ETH_HLEN + IPV4_HLEN + TCP_HLEN && rd16(p + 12) == ETH_P_IPV4 &&
	      p[ETH_HLEN] == 0x45 && p[ETH_HLEN + 9] == PROTO_TCP &&
	      !(rd16(p + ETH_HLEN + 6) & 0x3fff)))
		return false;
	l3 = rd16(p + ETH_HLEN + 2);
	if (!(l3 >= IPV4_HLEN + TCP_HLEN && l3 <= pkt_len - ETH_HLEN))
		return false;
	h->l4 = ETH_HLEN + IPV4_HLEN;
	h->end = ETH_HLEN + l3;
	h->avail = h->end < seg_len ? h->end : seg_len; /* >= l4 + TCP_HLEN */
	h->l3 = l3;
	h->src = p + ETH_HLEN + 12;
	h->dst = p + ETH_HLEN + 16;
	h->vlan = 0;
	h->family = 4;
	h->proto = PROTO_TCP;
	return true;
}

/* TCP header (the flag rules, then the options) and the flow key. */
ALWAYS_INLINE enum ct_parse_reason
parse_tcp(const uint8_t *p, const struct hdrs *h, const struct ct_parse_conf *conf,
          struct ct_pkt *out)
{
	const uint8_t *th = p + h->l4;
	uint32_t doff = (th[12] >> 4) * 4u;
	enum ct_parse_reason r;
	uint16_t sp_be, dp_be;

	if (unlikely(doff < TCP_HLEN || doff > h->end - h->l4))
		return CT_PARSE_BAD_DOFF;
	if (unlikely(doff > h->avail - h->l4))
		return CT_PARSE_TRUNC_SEG;
	if (unlikely(ct_tcp_flag_rule(th[13]) != CT_TCPFR_OK))
		return CT_PARSE_FLAGS_OF(ct_tcp_flag_rule(th[13]));

	out->seg.seq = rd32(th + 4);
	out->seg.ack = rd32(th + 8);
	out->seg.win = rd16(th + 14);
	out->seg.flags = th[13];
	out->seg.len = (uint16_t)(h->end - h->l4 - doff);
	out->seg.opts = 0;
	out->seg.wscale = 0;
	out->seg.tsval = 0;
	if (doff > TCP_HLEN) {
		r = tcp_opts(th + TCP_HLEN, doff - TCP_HLEN, &out->seg);
		if (unlikely(r != CT_PARSE_OK))
			return r;
	}

	memcpy(&sp_be, th, sizeof(sp_be));
	memcpy(&dp_be, th + 2, sizeof(dp_be));
	if (h->family == 4)
		out->swapped = key_fill4(&out->key, h->src, h->dst, sp_be, dp_be);
	else
		out->swapped = key_fill6(&out->key, h->src, h->dst, sp_be, dp_be);
	out->key.vlan = conf != NULL && conf->key_vlan ? h->vlan : 0;
	out->key.proto = PROTO_TCP;
	out->key.family = h->family;
	out->l3_len = (uint16_t)h->l3;
	out->kind = CT_L4K_TCP;
	return CT_PARSE_OK;
}

/* The fields every non-TCP kind sets. */
static inline void
l4_out(const struct hdrs *h, const struct ct_parse_conf *conf, uint8_t proto, uint8_t kind,
       struct ct_pkt *out)
{
	out->key.vlan = conf != NULL && conf->key_vlan ? h->vlan : 0;
	out->key.proto = proto;
	out->key.family = h->family;
	out->l3_len = (uint16_t)h->l3;
	out->kind = kind;
}

/* Addresses and ports (0 for a protocol without them) into the key; @return swapped. */
static inline uint8_t
key_fill(struct ct_flow_key *k, int family, const uint8_t *src, const uint8_t *dst, uint16_t sp_be,
         uint16_t dp_be)
{
	return family == 4 ? key_fill4(k, src, dst, sp_be, dp_be)
	                   : key_fill6(k, src, dst, sp_be, dp_be);
}

/* UDP header: its length must hold the header and fit the IP payload (Linux udp_error()). */
static enum ct_parse_reason
parse_udp(const uint8_t *p, const struct hdrs *h, const struct ct_parse_conf *conf,
          struct ct_pkt *out)
{
	const uint8_t *uh = p + h->l4;
	uint16_t sp_be, dp_be;
	uint32_t ulen;

	NEED(h->l4, (uint32_t)UDP_HLEN, h->avail, h->end, CT_PARSE_TRUNC_UDP);
	ulen = rd16(uh + 4);
	if (unlikely(ulen < UDP_HLEN || ulen > h->end - h->l4))
		return CT_PARSE_BAD_UDP_LEN;
	memcpy(&sp_be, uh, sizeof(sp_be));
	memcpy(&dp_be, uh + 2, sizeof(dp_be));
	memset(&out->l4, 0, sizeof(out->l4));
	out->l4.len = (uint16_t)(ulen - UDP_HLEN);
	out->swapped = key_fill(&out->key, h->family, h->src, h->dst, sp_be, dp_be);
	l4_out(h, conf, PROTO_UDP, CT_L4K_UDP, out);
	return CT_PARSE_OK;
}

/* ICMP types that are errors about a packet they quote (Linux: icmp_error(), icmpv6_error()). */
static inline bool
icmp_is_error(int family, uint8_t type)
{
	if (family == 6)
		return type < 128; /* RFC 4443 2.1 */
	/* unreachable, source quench, redirect, time exceeded, parameter problem */
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/*
 * The packet an ICMP error quotes, from @p off to the outer datagram's end: its IP header (the
 * outer family's), then the ports of TCP/UDP (4 bytes), the header of an ICMP query (8 bytes) or
 * nothing (other protocols); its key goes to @p out as if it were parsed itself. The quoted
 * packet's own lengths are not checked: an error quotes a prefix of it.
 */
static enum ct_parse_reason
parse_icmp_inner(const uint8_t *p, const struct hdrs *h, uint32_t off,
                 const struct ct_parse_conf *conf, struct ct_pkt *out)
{
	const uint8_t *ip = p + off, *src, *dst;
	uint32_t l4, need;
	uint16_t sp_be = 0, dp_be = 0;
	uint8_t proto;
	enum ct_parse_reason r;

	if (h->family == 4) {
		uint32_t ihl;

		NEED(off, (uint32_t)IPV4_HLEN, h->avail, h->end, CT_PARSE_TRUNC_ICMP_INNER);
		ihl = (ip[0] & 0x0fu) * 4u;
		if (unlikely((ip[0] >> 4) != 4 || ihl < IPV4_HLEN))
			return CT_PARSE_BAD_ICMP_INNER;
		NEED(off, ihl, h->avail, h->end, CT_PARSE_TRUNC_ICMP_INNER);
		if (unlikely(rd16(ip + 6) & 0x1fff))
			return CT_PARSE_ICMP_INNER_FRAG;
		proto = ip[9];
		src = ip + 12;
		dst = ip + 16;
		l4 = off + ihl;
	} else {
		NEED(off, (uint32_t)IPV6_HLEN, h->avail, h->end, CT_PARSE_TRUNC_ICMP_INNER);
		if (unlikely((ip[0] >> 4) != 6))
			return CT_PARSE_BAD_ICMP_INNER;
		src = ip + 8;
		dst = ip + 24;
		l4 = off + IPV6_HLEN;
		r = ipv6_skip_ext(p, h->avail, h->end, &l4, ip[6], &proto);
		if (r == CT_PARSE_FRAG_NONFIRST)
			return CT_PARSE_ICMP_INNER_FRAG;
		if (r == CT_PARSE_TRUNC_EXT_HDR)
			return CT_PARSE_TRUNC_ICMP_INNER;
		if (r != CT_PARSE_OK && r != CT_PARSE_FRAG_FIRST)
			return r; /* CT_PARSE_TRUNC_SEG */
	}
	if (proto == PROTO_TCP || proto == PROTO_UDP)
		need = 4;
	else if (proto == (h->family == 4 ? PROTO_ICMP : PROTO_ICMPV6))
		need = ICMP_HLEN;
	else
		need = 0;
	NEED(l4, need, h->avail, h->end, CT_PARSE_TRUNC_ICMP_INNER);
	if (need == ICMP_HLEN) {
		bool reply;
		int req = ct_icmp_query_type(h->family, p[l4], &reply);
		uint16_t id_be;

		if (req < 0)
			return CT_PARSE_BAD_ICMP_INNER; /* an error about an error, or no query */
		memcpy(&id_be, p + l4 + 4, sizeof(id_be));
		out->swapped =
		        key_fill_icmp(&out->key, h->family, src, dst, (uint8_t)req, reply, id_be);
	} else {
		if (need != 0) {
			memcpy(&sp_be, p + l4, sizeof(sp_be));
			memcpy(&dp_be, p + l4 + 2, sizeof(dp_be));
		}
		out->swapped = key_fill(&out->key, h->family, src, dst, sp_be, dp_be);
	}
	l4_out(h, conf, proto, CT_L4K_ICMP_ERROR, out);
	out->l4.proto = proto;
	return CT_PARSE_OK;
}

/* ICMP/ICMPv6: a query or its reply is a packet of its flow, an error one about another flow. */
static enum ct_parse_reason
parse_icmp(const uint8_t *p, const struct hdrs *h, const struct ct_parse_conf *conf,
           struct ct_pkt *out)
{
	const uint8_t *ih = p + h->l4;
	uint16_t id_be;
	bool reply;
	int req;

	NEED(h->l4, (uint32_t)ICMP_HLEN, h->avail, h->end, CT_PARSE_TRUNC_ICMP);
	memset(&out->l4, 0, sizeof(out->l4));
	out->l4.icmp_type = ih[0];
	out->l4.icmp_code = ih[1];
	out->l4.len = (uint16_t)(h->end - h->l4 - ICMP_HLEN);
	if (icmp_is_error(h->family, ih[0]))
		return parse_icmp_inner(p, h, h->l4 + ICMP_HLEN, conf, out);
	req = ct_icmp_query_type(h->family, ih[0], &reply);
	if (req < 0)
		return CT_PARSE_ICMP_UNTRACKED;
	memcpy(&id_be, ih + 4, sizeof(id_be));
	out->swapped =
	        key_fill_icmp(&out->key, h->family, h->src, h->dst, (uint8_t)req, reply, id_be);
	l4_out(h, conf, h->proto, reply ? CT_L4K_ICMP_REPLY : CT_L4K_ICMP_REQUEST, out);
	return CT_PARSE_OK;
}

/* Any other protocol: by addresses and protocol number. */
static enum ct_parse_reason
parse_other(const struct hdrs *h, const struct ct_parse_conf *conf, struct ct_pkt *out)
{
	memset(&out->l4, 0, sizeof(out->l4));
	out->l4.len = (uint16_t)(h->end - h->l4);
	out->swapped = key_fill(&out->key, h->family, h->src, h->dst, 0, 0);
	l4_out(h, conf, h->proto, CT_L4K_OTHER, out);
	return CT_PARSE_OK;
}

/* The header after IP when it is not TCP. */
static enum ct_parse_reason
parse_not_tcp(const uint8_t *p, const struct hdrs *h, const struct ct_parse_conf *conf,
              struct ct_pkt *out)
{
	if (h->proto == PROTO_UDP)
		return parse_udp(p, h, conf, out);
	if (h->proto == (h->family == 4 ? PROTO_ICMP : PROTO_ICMPV6))
		return parse_icmp(p, h, conf, out);
	return parse_other(h, conf, out);
}

/*
 * Every frame the fast path does not take. Its own struct hdrs: the fast path's stays in
 * registers although this one's address goes to the functions of the other protocols.
 */
static __attribute__((noinline, cold)) enum ct_parse_reason
parse_general(const uint8_t *p, uint32_t seg_len, uint32_t pkt_len,
              const struct ct_parse_conf *conf, struct ct_pkt *out)
{
	enum ct_parse_reason r;
	struct hdrs h;
	uint32_t off;
	uint16_t et;

	r = parse_l2(p, seg_len, pkt_len, &off, &et, &h);
	if (unlikely(r != CT_PARSE_OK))
		return r;
	if (likely(et == ETH_P_IPV4))
		r = parse_ipv4(p, seg_len, pkt_len, off, &h);
	else if (likely(et == ETH_P_IPV6))
		r = parse_ipv6(p, seg_len, pkt_len, off, &h);
	else
		return CT_PARSE_NOT_IP;
	if (unlikely(r != CT_PARSE_OK))
		return r;
	h.avail = h.end < seg_len ? h.end : seg_len;
	if (unlikely(h.proto != PROTO_TCP))
		return parse_not_tcp(p, &h, conf, out);
	NEED(h.l4, (uint32_t)TCP_HLEN, h.avail, h.end, CT_PARSE_TRUNC_TCP);
	return parse_tcp(p, &h, conf, out);
}

ALWAYS_INLINE enum ct_parse_reason
parse(const uint8_t *p, uint32_t seg_len, uint32_t pkt_len, const struct ct_parse_conf *conf,
      struct ct_pkt *out)
{
	struct hdrs h;

	if (likely(fast_ipv4(p, seg_len, pkt_len, &h)))
		return parse_tcp(p, &h, conf, out);
	return parse_general(p, seg_len, pkt_len, conf, out);
}

enum ct_parse_reason
ct_parse_pkt(const uint8_t *data, uint32_t len, const struct ct_parse_conf *conf,
             struct ct_pkt *out)
{
	return parse(data, len, len, conf, out);
}

enum ct_parse_reason
ct_parse_pkt_seg(const uint8_t *data, uint32_t seg_len, uint32_t pkt_len,
                 const struct ct_parse_conf *conf, struct ct_pkt *out)
{
	return parse(data, seg_len, pkt_len < seg_len ? seg_len : pkt_len, conf, out);
}

int
ct_flow_key_addr_format(const struct ct_flow_key *key, unsigned int side, char *buf,
                        unsigned long size)
{
	char tmp[INET6_ADDRSTRLEN];
	size_t n;

	if (key == NULL || side > 1 || (buf == NULL && size != 0))
		return -EINVAL;
	if (key->family == 4) {
		/* what inet_ntop() writes, without its cost (once per flow shown) */
		n = ct_text_ip4_format(&key->addr[side][12], tmp);
	} else if (key->family == 6) {
		if (inet_ntop(AF_INET6, key->addr[side], tmp, sizeof(tmp)) == NULL)
			return -EINVAL;
		n = strlen(tmp);
	} else {
		return -EINVAL;
	}
	if (size != 0) { /* snprintf()'s contract: truncated, NUL-terminated, full length back */
		size_t c = n < size - 1 ? n : size - 1;

		memcpy(buf, tmp, c);
		buf[c] = '\0';
	}
	return (int)n;
}
