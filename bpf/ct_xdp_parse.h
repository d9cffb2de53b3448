/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_XDP_PARSE_H
#define CT_XDP_PARSE_H

/**
 * @file
 * lib/parse's parser for XDP: Ethernet, up to two VLAN tags (802.1Q, 802.1ad, 0x9100), IPv4 with
 * options, IPv6 with extension headers, TCP with options, into lib/parse's canonical struct
 * ct_pkt, with the same rules, the same priority and the same reason (enum ct_parse_reason) for
 * every frame that is not a trackable TCP segment (lib/parse/ct_parse.c is the reference; the
 * differential tests replay the same frames through both).
 *
 * Thread-safety: stateless.
 *
 * Design: every read is a packet-pointer access behind a check the verifier sees. An XDP frame is
 * linear, so lib/parse's "headers span mbuf segments" (trunc_seg) never happens here. The IPv6
 * extension header walk and the TCP option walk are bounded loops: at most CT_XDP_EXT_MAX
 * extension headers (a longer chain counts as trunc_ext_hdr; lib/parse walks any number) and the
 * 40 bytes a TCP header can hold.
 */

#include <linux/bpf.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ct_parse.h"

/*
 * The XDP twin tracks TCP only: an IP packet of another protocol is passed and counted in
 * not_tcp, with no parse reason (the DPDK path tracks UDP, ICMP and the rest as flows).
 */
#define XP_NOT_TCP ((enum ct_parse_reason)CT_PARSE_MAX)

/** IPv6 extension headers walked at most. */
#define CT_XDP_EXT_MAX 8

#define XP_ETH_HLEN   14
#define XP_VLAN_HLEN  4
#define XP_IPV4_HLEN  20
#define XP_IPV6_HLEN  40
#define XP_TCP_HLEN   20
#define XP_PROTO_TCP  6
#define XP_WSCALE_MAX 14

/* Where the layers are (offsets from the frame's start). */
struct xp_hdrs {
	uint32_t l4, end, l3, src, dst; /* TCP header, datagram end, IP length, addresses */
	uint32_t lin;                   /* bytes in the linear part */
	uint16_t vlan;
	uint8_t family;
};

static __always_inline int
xp_is_vlan(uint16_t et)
{
	return et == 0x8100 || et == 0x88a8 || et == 0x9100;
}

static __always_inline int
xp_is_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60;
}

/* Bytes [off, off + n) are in the frame: the verifier sees it through the pointer compare. */
#define XP_IN(data, end, off, n) ((const uint8_t *)(data) + (off) + (n) <= (const uint8_t *)(end))

/*
 * lib/parse's NEED(): @p n bytes at @p off must exist in the frame (@p bound: its length, or the
 * datagram's end) or the frame gets @p reason; and they must be in the linear part [d, e) (a
 * multi-buffer frame's first buffer, which is all a direct access reaches), or it is trunc_seg,
 * lib/parse's "headers span mbuf segments". @p off <= @p bound.
 */
#define XP_NEED(d, e, off, n, bound, reason)                                                       \
	do {                                                                                       \
		if ((uint32_t)(n) > (uint32_t)(bound) - (uint32_t)(off))                           \
			return (reason);                                                           \
		if (!XP_IN(d, e, off, n))                                                          \
			return CT_PARSE_TRUNC_SEG;                                                 \
	} while (0)

static __always_inline uint16_t
xp_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static __always_inline uint32_t
xp_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Ethernet and up to two tags: the EtherType and the IP header's offset. */
static __always_inline enum ct_parse_reason
xp_l2(const uint8_t *d, const uint8_t *e, uint32_t len, uint32_t *off, uint16_t *et,
      struct xp_hdrs *h)
{
	XP_NEED(d, e, 0, XP_ETH_HLEN, len, CT_PARSE_TRUNC_ETH);
	*off = XP_ETH_HLEN;
	*et = xp_rd16(d + 12);
	h->vlan = 0;
	if (!xp_is_vlan(*et))
		return CT_PARSE_OK;
	XP_NEED(d, e, XP_ETH_HLEN, XP_VLAN_HLEN, len, CT_PARSE_TRUNC_VLAN);
	h->vlan = xp_rd16(d + XP_ETH_HLEN) & 0x0fff;
	*et = xp_rd16(d + XP_ETH_HLEN + 2);
	*off = XP_ETH_HLEN + XP_VLAN_HLEN;
	if (!xp_is_vlan(*et))
		return CT_PARSE_OK;
	XP_NEED(d, e, XP_ETH_HLEN + XP_VLAN_HLEN, XP_VLAN_HLEN, len, CT_PARSE_TRUNC_VLAN);
	*et = xp_rd16(d + XP_ETH_HLEN + XP_VLAN_HLEN + 2);
	*off = XP_ETH_HLEN + 2 * XP_VLAN_HLEN;
	return xp_is_vlan(*et) ? CT_PARSE_TOO_MANY_VLANS : CT_PARSE_OK;
}

static __always_inline enum ct_parse_reason
xp_ipv4(const uint8_t *d, const uint8_t *e, uint32_t len, uint32_t off, struct xp_hdrs *h)
{
	const uint8_t *ip = d + off;
	uint32_t ihl, tot, fo;

	XP_NEED(ip, e, 0, XP_IPV4_HLEN, len - off, CT_PARSE_TRUNC_IP);
	if ((ip[0] >> 4) != 4)
		return CT_PARSE_BAD_IP_VERSION;
	ihl = (ip[0] & 0x0fu) * 4u;
	if (ihl < XP_IPV4_HLEN)
		return CT_PARSE_BAD_IHL;
	if (ihl > len - off)
		return CT_PARSE_TRUNC_IP;
	if (ihl > h->lin - off)
		return CT_PARSE_TRUNC_SEG;
	tot = xp_rd16(ip + 2);
	if (tot < ihl || tot > len - off)
		return CT_PARSE_BAD_IP_LEN;
	if (ip[9] != XP_PROTO_TCP)
		return XP_NOT_TCP;
	fo = xp_rd16(ip + 6);
	if (fo & 0x3fff)
		return fo & 0x1fff ? CT_PARSE_FRAG_NONFIRST : CT_PARSE_FRAG_FIRST;
	h->l4 = off + ihl;
	h->end = off + tot;
	h->l3 = tot;
	h->src = off + 12;
	h->dst = off + 16;
	h->family = 4;
	return CT_PARSE_OK;
}

/* IPv6 extension headers from h->l4 (the first one's type is @p nh) up to TCP. */
static __always_inline enum ct_parse_reason
xp_ipv6_ext(const uint8_t *d, const uint8_t *e, struct xp_hdrs *h, uint8_t nh)
{
	uint32_t off = h->l4, hl;
	int first_frag = 0;

	for (int i = 0; i < CT_XDP_EXT_MAX; i++) {
		const uint8_t *x;
		uint16_t fo;

		if (nh == XP_PROTO_TCP) {
			h->l4 = off;
			return first_frag ? CT_PARSE_FRAG_FIRST : CT_PARSE_OK;
		}
		if (!xp_is_ext(nh))
			return XP_NOT_TCP;
		/* every extension header is 8 bytes at least, inside the payload */
		if (off > 0xffff || 8 > h->end - off)
			return CT_PARSE_TRUNC_EXT_HDR;
		x = d + (off & 0xffff);
		if (!XP_IN(x, e, 0, 8))
			return CT_PARSE_TRUNC_SEG;
		if (nh == 51) {
			hl = (x[1] + 2u) * 4u; /* AH, RFC 4302 */
		} else if (nh == 44) {
			fo = xp_rd16(x + 2);
			if (fo & 0xfff8)
				return x[0] == XP_PROTO_TCP || xp_is_ext(x[0])
				               ? CT_PARSE_FRAG_NONFIRST
				               : XP_NOT_TCP;
			first_frag |= fo & 1;
			hl = 8;
		} else {
			hl = (x[1] + 1u) * 8u;
		}
		if (hl > h->end - off)
			return CT_PARSE_TRUNC_EXT_HDR;
		if (hl > h->lin - off)
			return CT_PARSE_TRUNC_SEG;
		nh = x[0];
		off += hl;
	}
	if (nh == XP_PROTO_TCP) {
		h->l4 = off;
		return first_frag ? CT_PARSE_FRAG_FIRST : CT_PARSE_OK;
	}
	return xp_is_ext(nh) ? CT_PARSE_TRUNC_EXT_HDR : XP_NOT_TCP;
}

static __always_inline enum ct_parse_reason
xp_ipv6(const uint8_t *d, const uint8_t *e, uint32_t len, uint32_t off, struct xp_hdrs *h)
{
	const uint8_t *ip = d + off;
	uint32_t plen;

	XP_NEED(ip, e, 0, XP_IPV6_HLEN, len - off, CT_PARSE_TRUNC_IP);
	if ((ip[0] >> 4) != 6)
		return CT_PARSE_BAD_IP_VERSION;
	plen = xp_rd16(ip + 4);
	if (plen > len - off - XP_IPV6_HLEN)
		return CT_PARSE_BAD_IP_LEN;
	h->l4 = off + XP_IPV6_HLEN;
	h->end = h->l4 + plen;
	h->l3 = XP_IPV6_HLEN + plen > 0xffff ? 0xffff : XP_IPV6_HLEN + plen;
	h->src = off + 8;
	h->dst = off + 24;
	h->family = 6;
	if (ip[6] == XP_PROTO_TCP)
		return CT_PARSE_OK;
	return xp_ipv6_ext(d, e, h, ip[6]);
}

/* The option walk's state (a bpf_loop() callback's context). */
struct xp_optwalk {
	uint8_t o[80]; /* the options, copied out: indexed by a masked offset (< 64, + 10) */
	uint32_t i, n, tsval;
	uint8_t opts, wscale, broken;
};

/* One option of the walk. @return 1 to stop. */
static long
xp_opt_step(uint64_t k, void *arg)
{
	struct xp_optwalk *w = arg;
	const uint8_t *p;
	uint32_t ol;
	uint8_t kind;

	(void)k;
	if (w->i >= w->n)
		return 1;
	p = w->o + (w->i & 0x3f);
	kind = p[0];
	if (kind == 0)
		return 1;
	if (kind == 1) {
		w->i++;
		return 0;
	}
	if (w->n - w->i < 2)
		goto broken;
	ol = p[1];
	if (ol < 2 || ol > w->n - w->i)
		goto broken;
	if (kind == 2) {
		w->opts |= ol == 4 ? CT_TCPO_MSS : CT_TCPO_ODD;
	} else if (kind == 3) {
		if (ol != 3) {
			w->opts |= CT_TCPO_ODD;
		} else {
			w->opts |= CT_TCPO_WSCALE;
			w->wscale = p[2] > XP_WSCALE_MAX ? XP_WSCALE_MAX : p[2];
		}
	} else if (kind == 4) {
		w->opts |= ol == 2 ? CT_TCPO_SACK_PERM : CT_TCPO_ODD;
	} else if (kind == 5) {
		if (ol < 10 || (ol - 2) % 8 != 0)
			w->opts |= CT_TCPO_ODD;
	} else if (kind == 8) {
		if (ol != 10) {
			w->opts |= CT_TCPO_ODD;
		} else {
			w->opts |= CT_TCPO_TS;
			w->tsval = xp_rd32(p + 2);
		}
	}
	w->i += ol;
	return 0;
broken:
	w->broken = 1;
	return 1;
}

/*
 * TCP options (@p n bytes, 1..40, at offset @p off of the frame): lib/parse's tcp_opts(). A known
 * kind with an unexpected length sets CT_TCPO_ODD; only a broken list is a reason. Copied out of
 * the frame and walked by bpf_loop() (at most 40 steps: each takes a byte at least), so the
 * verifier checks one step, not every path through 40; a separate (global) BPF function, whose
 * stack is not added to the tracker's. @return an enum ct_parse_reason.
 */
__attribute__((noinline)) int
ct_xdp_tcp_opts(struct xdp_md *ctx, uint32_t off, uint32_t n, struct ct_tcp_seg *s)
{
	struct xp_optwalk w;
	uint32_t len;

	if (s == NULL || n == 0 || n > 40)
		return CT_PARSE_BAD_TCP_OPT; /* not reached */
	__asm__ volatile("" : "+r"(n));
	len = ((n - 1) & 63) + 1; /* n, in a form whose range the verifier sees */
	__builtin_memset(&w, 0, sizeof(w));
	if (bpf_xdp_load_bytes(ctx, off, w.o, len) != 0)
		return CT_PARSE_BAD_TCP_OPT; /* not reached: the options are inside the frame */
	if (len == 12 && xp_rd32(w.o) == 0x0101080a) {
		s->opts = CT_TCPO_TS;
		s->tsval = xp_rd32(w.o + 4);
		return CT_PARSE_OK;
	}
	w.n = len;
	bpf_loop(40, xp_opt_step, &w, 0);
	if (w.broken)
		return s->flags & (CT_TCPF_FIN | CT_TCPF_RST) ? CT_PARSE_BAD_TCP_OPT_FIN_RST
		                                              : CT_PARSE_BAD_TCP_OPT;
	s->opts = w.opts;
	s->wscale = w.wscale;
	s->tsval = w.tsval;
	return CT_PARSE_OK;
}

/*
 * Canonical key: the smaller (address, port) first, as lib/parse's key_fill4/6 (a byte-wise
 * compare of network-order addresses is their numeric compare). @p n: 4 or 16 address bytes.
 */
static __always_inline void
xp_key(struct ct_pkt *out, const uint8_t *src, const uint8_t *dst, uint16_t sp_be, uint16_t dp_be,
       const int n)
{
	struct ct_flow_key *k = &out->key;
	int i, diff = 0;
	uint8_t sw = 0;

	__builtin_memset(k, 0, sizeof(*k));
#pragma unroll
	for (i = 0; i < n; i++) {
		if (!diff && src[i] != dst[i]) {
			sw = src[i] > dst[i];
			diff = 1;
		}
	}
	if (!diff)
		sw = bpf_ntohs(sp_be) > bpf_ntohs(dp_be);
	if (n == 4) {
		k->addr[0][10] = k->addr[0][11] = 0xff;
		k->addr[1][10] = k->addr[1][11] = 0xff;
	}
#pragma unroll
	for (i = 0; i < n; i++) {
		k->addr[0][16 - n + i] = sw ? dst[i] : src[i];
		k->addr[1][16 - n + i] = sw ? src[i] : dst[i];
	}
	k->port[0] = sw ? dp_be : sp_be;
	k->port[1] = sw ? sp_be : dp_be;
	k->proto = XP_PROTO_TCP;
	k->family = n == 4 ? 4 : 6;
	out->swapped = sw;
}

/**
 * Parse the frame of @p ctx into @p out (lib/parse's ct_parse_pkt()).
 * A separate (global) BPF function: its stack is not added to the tracker's.
 * @return CT_PARSE_OK or the reason lib/parse gives the same frame (an enum ct_parse_reason).
 */
__attribute__((noinline)) int
ct_xdp_parse(struct xdp_md *ctx, int key_vlan, struct ct_pkt *out)
{
	const uint8_t *d = (const uint8_t *)(long)ctx->data;
	const uint8_t *e = (const uint8_t *)(long)ctx->data_end;
	uint32_t len = (uint32_t)bpf_xdp_get_buff_len(ctx), off, doff;
	const uint8_t *th, *src, *dst;
	enum ct_parse_reason r;
	struct xp_hdrs h;
	uint16_t et, sp, dp;

	h.lin = (uint32_t)(e - d);
	if (len < h.lin)
		len = h.lin; /* not reached: the linear part is part of the frame */
	r = xp_l2(d, e, len, &off, &et, &h);
	if (out == NULL)
		return CT_PARSE_TRUNC_ETH; /* not reached */
	if (r != CT_PARSE_OK)
		return r;
	if (et == 0x0800)
		r = xp_ipv4(d, e, len, off, &h);
	else if (et == 0x86dd)
		r = xp_ipv6(d, e, len, off, &h);
	else
		return CT_PARSE_NOT_IP;
	if (r != CT_PARSE_OK)
		return r;
	if (h.l4 > 0xffff || XP_TCP_HLEN > h.end - h.l4)
		return CT_PARSE_TRUNC_TCP;
	th = d + (h.l4 & 0xffff);
	if (!XP_IN(th, e, 0, XP_TCP_HLEN))
		return CT_PARSE_TRUNC_SEG;
	doff = (th[12] >> 4) * 4u;
	if (doff < XP_TCP_HLEN || doff > h.end - h.l4)
		return CT_PARSE_BAD_DOFF;
	if (doff > h.lin - h.l4)
		return CT_PARSE_TRUNC_SEG;
	if (ct_tcp_flag_rule(th[13]) != CT_TCPFR_OK)
		return CT_PARSE_FLAGS_OF(ct_tcp_flag_rule(th[13]));
	out->seg.seq = xp_rd32(th + 4);
	out->seg.ack = xp_rd32(th + 8);
	out->seg.win = xp_rd16(th + 14);
	out->seg.flags = th[13];
	out->seg.len = (uint16_t)(h.end - h.l4 - doff);
	out->seg.opts = 0;
	out->seg.wscale = 0;
	out->seg.tsval = 0;
	if (doff > XP_TCP_HLEN) {
		r = (enum ct_parse_reason)ct_xdp_tcp_opts(ctx, h.l4 + XP_TCP_HLEN,
		                                          doff - XP_TCP_HLEN, &out->seg);
		if (r != CT_PARSE_OK)
			return r;
	}
	sp = (uint16_t)(th[0] | th[1] << 8); /* network order, as stored in the key */
	dp = (uint16_t)(th[2] | th[3] << 8);
	src = d + (h.src & 0xffff);
	dst = d + (h.dst & 0xffff);
	if (h.family == 6) {
		if (!XP_IN(src, e, 0, 16) || !XP_IN(dst, e, 0, 16))
			return CT_PARSE_TRUNC_IP; /* not reached: the IPv6 header was checked */
		xp_key(out, src, dst, sp, dp, 16);
	} else {
		if (!XP_IN(src, e, 0, 4) || !XP_IN(dst, e, 0, 4))
			return CT_PARSE_TRUNC_IP; /* not reached: the IPv4 header was checked */
		xp_key(out, src, dst, sp, dp, 4);
	}
	out->key.vlan = key_vlan ? h.vlan : 0;
	out->l3_len = (uint16_t)h.l3;
	out->kind = CT_L4K_TCP;
	return CT_PARSE_OK;
}

#endif /* CT_XDP_PARSE_H */
