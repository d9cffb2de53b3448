/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the packet parser (lib/parse) on broken frames: a table of crafted frames that
 * must reach every one of CT_PARSE_REASONS, truncation at every length with buffers allocated
 * to the exact size (ASan sees any read past the end), reason names and key formatting, and the
 * rte_mbuf front end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ct_parse.h"
#include "parse_helpers.h"
#include "tl_frame.h"

/* ---- every reason ---- */

struct rcase {
	const char *name;
	enum ct_parse_reason want;
	void (*make)(struct tl_frame *f, uint32_t *seg_len);
};

static void
mk_ok(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v4(&s);
	build(&s, f);
}

static void
mk_trunc_eth(struct tl_frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->len = 13;
}

static void
mk_trunc_vlan(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v4(&s);
	s.ntags = 2;
	s.tpid[0] = 0x88a8;
	s.tpid[1] = 0x8100;
	build(&s, f);
	f->len = 14 + 4 + 3; /* inside the second tag */
}

static void
mk_too_many_vlans(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v4(&s);
	s.ntags = 3;
	s.tpid[0] = s.tpid[1] = s.tpid[2] = 0x8100;
	build(&s, f);
}

static void
mk_not_ip(struct tl_frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[12] = 0x08;
	f->b[13] = 0x06; /* ARP */
}

static void
mk_trunc_ip(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v6(&s);
	build(&s, f);
	f->len = 14 + 39;
}

static void
mk_trunc_ip_options(struct tl_frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[14] = 0x4f; /* IHL 60 in a 54-byte frame */
}

static void
mk_bad_ip_version(struct tl_frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[14] = 0x65;
}

static void
mk_bad_ip_version6(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v6(&s);
	build(&s, f);
	f->b[14] = 0x40;
}

static void
mk_bad_ihl(struct tl_frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[14] = 0x44;
}

static void
mk_bad_ip_len_long(struct tl_frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[17] += 1; /* total length one beyond the frame */
}

static void
mk_bad_ip_len_short(struct tl_frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[16] = 0;
	f->b[17] = 19; /* below the header */
}

static void
mk_bad_ip_len6(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v6(&s);
	build(&s, f);
	f->b[14 + 5] += 1;
}

static void
mk_trunc_ext_hdr(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v6(&s);
	spec_ext(&s, 0, 8);
	build(&s, f);
	f->b[f->l3 + 40 + 1] = 3; /* claims 32 bytes, only 28 left in the payload */
}

static void
mk_trunc_ext_hdr_frag(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v6(&s);
	spec_ext(&s, 44, 8);
	build(&s, f);
	/* payload length 4: the fragment header itself does not fit */
	f->b[f->l3 + 4] = 0;
	f->b[f->l3 + 5] = 4;
}

static void
mk_frag_first(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v4(&s);
	s.frag4 = 0x2000;
	build(&s, f);
}

static void
mk_frag_nonfirst(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v6(&s);
	spec_ext(&s, 44, 8);
	s.frag6 = 8 << 3;
	build(&s, f);
}

static void
mk_icmp_untracked(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v4(&s);
	cr_assert_gt(tl_frame_icmp(&s, f, 9, 0, 0, 0, NULL, 8), 0); /* router advertisement */
}

static void
mk_icmp_untracked6(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v6(&s);
	spec_ext(&s, 60, 8);
	cr_assert_gt(tl_frame_icmp(&s, f, 135, 0, 0, 0, NULL, 16), 0); /* neighbour solicitation */
}

static void
mk_trunc_udp(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v4(&s);
	cr_assert_gt(tl_frame_udp(&s, f, 20), 0);
	f->b[17] = 20 + 6; /* IP length ends inside the UDP header */
}

static void
mk_bad_udp_len(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v4(&s);
	cr_assert_gt(tl_frame_udp(&s, f, 20), 0);
	f->b[f->l4 + 5] = 29; /* UDP length beyond the IP payload (28) */
}

static void
mk_trunc_icmp(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v4(&s);
	cr_assert_gt(tl_frame_icmp(&s, f, 8, 0, 1, 1, NULL, 0), 0);
	f->b[17] = 20 + 7;
}

/* A destination unreachable quoting @p n bytes of an IPv4/UDP header, with @p patch applied. */
static void
mk_unreach(struct tl_frame *f, unsigned int n, unsigned int at, uint8_t val)
{
	struct tl_frame_spec s, q;
	struct tl_frame inner;

	spec_v4(&q);
	cr_assert_gt(tl_frame_udp(&q, &inner, 4), 0);
	if (at < n)
		inner.b[inner.l3 + at] = val;
	spec_v4(&s);
	cr_assert_gt(tl_frame_icmp(&s, f, 3, 3, 0, 0, inner.b + inner.l3, (uint16_t)n), 0);
}

static void
mk_trunc_icmp_inner(struct tl_frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_unreach(f, 20 + 3, 99, 0); /* the ports cut */
}

static void
mk_bad_icmp_inner(struct tl_frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_unreach(f, 28, 0, 0x65); /* version 6 inside ICMPv4 */
}

static void
mk_icmp_inner_frag(struct tl_frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_unreach(f, 28, 7, 185); /* fragment offset 185 */
}

static void
mk_trunc_tcp(struct tl_frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[17] = 20 + 19; /* IP length ends inside the TCP header; frame is longer */
}

static void
mk_bad_doff_small(struct tl_frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[14 + 20 + 12] = 4 << 4;
}

static void
mk_bad_doff_large(struct tl_frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[14 + 20 + 12] = 6 << 4;
}

static void
mk_bad_tcp_opt(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v4(&s);
	s.tcpopt[0] = 2;
	s.tcpopt[1] = 6;
	s.tcpopt_len = 4;
	build(&s, f);
}

static void
mk_bad_tcp_opt_fin(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	(void)seg_len;
	spec_v4(&s);
	s.flags = CT_TCPF_FIN | CT_TCPF_ACK;
	s.tcpopt[0] = 2;
	s.tcpopt[1] = 6;
	s.tcpopt_len = 4;
	build(&s, f);
}

static void
mk_flags(struct tl_frame *f, uint8_t flags)
{
	struct tl_frame_spec s;

	spec_v6(&s);
	s.flags = flags;
	build(&s, f);
}

static void
mk_flags_none(struct tl_frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_flags(f, 0);
}

static void
mk_flags_syn_fin(struct tl_frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_flags(f, CT_TCPF_SYN | CT_TCPF_FIN);
}

static void
mk_flags_syn_rst(struct tl_frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_flags(f, CT_TCPF_SYN | CT_TCPF_RST);
}

static void
mk_flags_rst_fin(struct tl_frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_flags(f, CT_TCPF_RST | CT_TCPF_FIN | CT_TCPF_ACK);
}

static void
mk_flags_urg(struct tl_frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_flags(f, CT_TCPF_SYN | CT_TCPF_ACK | CT_TCPF_URG);
}

static void
mk_flags_fin_no_ack(struct tl_frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_flags(f, CT_TCPF_FIN);
}

static void
mk_trunc_seg(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	spec_v4(&s);
	s.payload = 100;
	build(&s, f);
	*seg_len = f->l4 + 10; /* TCP header continues in the next segment */
}

static void
mk_trunc_seg_ext(struct tl_frame *f, uint32_t *seg_len)
{
	struct tl_frame_spec s;

	spec_v6(&s);
	spec_ext(&s, 0, 16);
	s.payload = 100;
	build(&s, f);
	*seg_len = f->l3 + 40 + 12;
}

static const struct rcase rcases[] = {
        {"valid IPv4", CT_PARSE_OK, mk_ok},
        {"13-byte frame", CT_PARSE_TRUNC_ETH, mk_trunc_eth},
        {"frame ends in second tag", CT_PARSE_TRUNC_VLAN, mk_trunc_vlan},
        {"three tags", CT_PARSE_TOO_MANY_VLANS, mk_too_many_vlans},
        {"ARP", CT_PARSE_NOT_IP, mk_not_ip},
        {"IPv6 header cut", CT_PARSE_TRUNC_IP, mk_trunc_ip},
        {"IHL beyond frame", CT_PARSE_TRUNC_IP, mk_trunc_ip_options},
        {"version 6 in IPv4", CT_PARSE_BAD_IP_VERSION, mk_bad_ip_version},
        {"version 4 in IPv6", CT_PARSE_BAD_IP_VERSION, mk_bad_ip_version6},
        {"IHL 4", CT_PARSE_BAD_IHL, mk_bad_ihl},
        {"total length past frame", CT_PARSE_BAD_IP_LEN, mk_bad_ip_len_long},
        {"total length below IHL", CT_PARSE_BAD_IP_LEN, mk_bad_ip_len_short},
        {"payload length past frame", CT_PARSE_BAD_IP_LEN, mk_bad_ip_len6},
        {"hop-by-hop past payload", CT_PARSE_TRUNC_EXT_HDR, mk_trunc_ext_hdr},
        {"fragment header past payload", CT_PARSE_TRUNC_EXT_HDR, mk_trunc_ext_hdr_frag},
        {"IPv4 MF", CT_PARSE_FRAG_FIRST, mk_frag_first},
        {"IPv6 offset 64", CT_PARSE_FRAG_NONFIRST, mk_frag_nonfirst},
        {"ICMP router advertisement", CT_PARSE_ICMP_UNTRACKED, mk_icmp_untracked},
        {"ICMPv6 NS after dstopts", CT_PARSE_ICMP_UNTRACKED, mk_icmp_untracked6},
        {"IP length inside TCP header", CT_PARSE_TRUNC_TCP, mk_trunc_tcp},
        {"data offset 4", CT_PARSE_BAD_DOFF, mk_bad_doff_small},
        {"data offset past packet", CT_PARSE_BAD_DOFF, mk_bad_doff_large},
        {"MSS length 6", CT_PARSE_BAD_TCP_OPT, mk_bad_tcp_opt},
        {"MSS length 6 on a FIN", CT_PARSE_BAD_TCP_OPT_FIN_RST, mk_bad_tcp_opt_fin},
        {"no flags", CT_PARSE_FLAGS_NONE, mk_flags_none},
        {"SYN+FIN", CT_PARSE_FLAGS_SYN_FIN, mk_flags_syn_fin},
        {"SYN+RST", CT_PARSE_FLAGS_SYN_RST, mk_flags_syn_rst},
        {"RST+FIN+ACK", CT_PARSE_FLAGS_RST_FIN, mk_flags_rst_fin},
        {"SYN+ACK+URG", CT_PARSE_FLAGS_URG, mk_flags_urg},
        {"FIN alone", CT_PARSE_FLAGS_FIN_NO_ACK, mk_flags_fin_no_ack},
        {"TCP header in second segment", CT_PARSE_TRUNC_SEG, mk_trunc_seg},
        {"extension header in second segment", CT_PARSE_TRUNC_SEG, mk_trunc_seg_ext},
        {"IP length inside UDP header", CT_PARSE_TRUNC_UDP, mk_trunc_udp},
        {"UDP length past IP payload", CT_PARSE_BAD_UDP_LEN, mk_bad_udp_len},
        {"ICMP header cut", CT_PARSE_TRUNC_ICMP, mk_trunc_icmp},
        {"unreachable quoting 3 port bytes", CT_PARSE_TRUNC_ICMP_INNER, mk_trunc_icmp_inner},
        {"unreachable quoting IPv6 in ICMPv4", CT_PARSE_BAD_ICMP_INNER, mk_bad_icmp_inner},
        {"unreachable quoting a fragment", CT_PARSE_ICMP_INNER_FRAG, mk_icmp_inner_frag},
};

#define NCASES (sizeof(rcases) / sizeof(rcases[0]))

static enum ct_parse_reason
run_case(const struct rcase *c)
{
	struct tl_frame f;
	struct ct_pkt p;
	uint32_t seg_len = UINT32_MAX;

	c->make(&f, &seg_len);
	return parse_exact(f.b, f.len, seg_len, NULL, &p);
}

Test(parse, crafted_frames_get_their_reason)
{
	for (unsigned int i = 0; i < NCASES; i++) {
		enum ct_parse_reason r = run_case(&rcases[i]);

		cr_expect_eq(r, rcases[i].want, "%s: got %s, want %s", rcases[i].name,
		             ct_parse_reason_name(r), ct_parse_reason_name(rcases[i].want));
	}
}

Test(parse, every_reason_is_reached_by_a_crafted_frame)
{
	bool seen[CT_PARSE_MAX] = {false};

	for (unsigned int i = 0; i < NCASES; i++) {
		enum ct_parse_reason r = run_case(&rcases[i]);

		cr_assert_lt((unsigned int)r, CT_PARSE_MAX);
		if (r == rcases[i].want)
			seen[r] = true;
	}
	for (unsigned int r = 0; r < CT_PARSE_MAX; r++)
		cr_expect(seen[r], "no crafted frame reaches reason %s", ct_parse_reason_name(r));
}

/* ---- truncation never reads out of bounds ---- */

static void
truncate_everywhere(const struct tl_frame_spec *s, const char *what)
{
	struct tl_frame f;
	struct ct_pkt p;

	build(s, &f);
	cr_assert_eq(parse_exact(f.b, f.len, UINT32_MAX, NULL, &p), CT_PARSE_OK, "%s whole", what);
	for (uint32_t len = 0; len < f.len; len++) {
		enum ct_parse_reason r = parse_exact(f.b, len, UINT32_MAX, NULL, &p);

		cr_assert_neq(r, CT_PARSE_OK, "%s cut at %u parsed", what, len);
		cr_assert_lt((unsigned int)r, CT_PARSE_MAX);
	}
	/* cut the datagram at every byte after the IP header, IP length fixed up to match */
	for (uint32_t len = f.l3 + (s->family == 4 ? 20 + s->ipopt_len : 40); len < f.hdr_end;
	     len++) {
		struct tl_frame g = f;
		uint32_t iplen = s->family == 4 ? len - f.l3 : len - f.l3 - 40;
		uint32_t at = f.l3 + (s->family == 4 ? 2 : 4);
		enum ct_parse_reason r;

		g.b[at] = (uint8_t)(iplen >> 8);
		g.b[at + 1] = (uint8_t)iplen;
		r = parse_exact(g.b, len, UINT32_MAX, NULL, &p);
		cr_assert(r == CT_PARSE_TRUNC_TCP || r == CT_PARSE_TRUNC_EXT_HDR ||
		                  r == CT_PARSE_BAD_DOFF,
		          "%s datagram cut at %u: %s", what, len, ct_parse_reason_name(r));
	}
	/* split into two segments at every byte: headers must be in the first one */
	for (uint32_t seg = 0; seg < f.len; seg++) {
		enum ct_parse_reason r = parse_exact(f.b, f.len, seg, NULL, &p);

		if (seg >= f.hdr_end)
			cr_assert_eq(r, CT_PARSE_OK, "%s split at %u", what, seg);
		else
			cr_assert_eq(r, CT_PARSE_TRUNC_SEG, "%s split at %u: %s", what, seg,
			             ct_parse_reason_name(r));
	}
}

Test(parse, truncation_at_every_length_is_rejected_in_bounds)
{
	static const uint8_t tcpo[] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2,
	                               3, 4, 0, 0,    0, 0, 1, 3,  3, 7};
	struct tl_frame_spec s;

	spec_v4(&s);
	s.payload = 9;
	truncate_everywhere(&s, "IPv4");

	spec_v4(&s);
	memset(s.ipopt, 1, 12);
	s.ipopt_len = 12;
	memcpy(s.tcpopt, tcpo, sizeof(tcpo));
	s.tcpopt_len = sizeof(tcpo);
	s.ntags = 2;
	s.tpid[0] = 0x88a8;
	s.tpid[1] = 0x8100;
	s.payload = 3;
	truncate_everywhere(&s, "QinQ IPv4 with options");

	spec_v6(&s);
	spec_ext(&s, 0, 8);
	spec_ext(&s, 43, 24);
	spec_ext(&s, 44, 8);
	spec_ext(&s, 51, 12);
	spec_ext(&s, 60, 16);
	memcpy(s.tcpopt, tcpo, sizeof(tcpo));
	s.tcpopt_len = sizeof(tcpo);
	s.ntags = 1;
	s.tpid[0] = 0x8100;
	s.payload = 4;
	truncate_everywhere(&s, "VLAN IPv6 with extension headers");
}

/* ---- names and formatting ---- */

Test(parse, reason_names_are_unique_and_helped)
{
	for (unsigned int r = 0; r < CT_PARSE_MAX; r++) {
		cr_assert_gt(strlen(ct_parse_reason_name(r)), 0);
		cr_assert_gt(strlen(ct_parse_reason_help(r)), 0);
		for (unsigned int q = 0; q < r; q++)
			cr_assert_str_neq(ct_parse_reason_name(r), ct_parse_reason_name(q));
	}
	cr_assert_str_eq(ct_parse_reason_name(CT_PARSE_OK), "ok");
	cr_assert_str_eq(ct_parse_reason_name(CT_PARSE_TRUNC_SEG), "trunc_seg");
	cr_assert_str_eq(ct_parse_reason_name(CT_PARSE_MAX), "?");
	cr_assert_str_eq(ct_parse_reason_help(CT_PARSE_MAX), "?");
}

Test(parse, key_addresses_format_as_text)
{
	struct ct_flow_key k;
	uint8_t a4[4] = {10, 0, 0, 2}, b4[4] = {10, 0, 0, 1}, a6[16], b6[16];
	char buf[64];

	ct_flow_key_make(&k, 4, a4, b4, htons(1), htons(2), 0, NULL);
	cr_assert_eq(ct_flow_key_addr_format(&k, 0, buf, sizeof(buf)), 8);
	cr_assert_str_eq(buf, "10.0.0.1");
	cr_assert_eq(ct_flow_key_addr_format(&k, 1, buf, sizeof(buf)), 8);
	cr_assert_str_eq(buf, "10.0.0.2");
	cr_assert_eq(ct_flow_key_addr_format(&k, 1, buf, 4), 8); /* snprintf semantics */
	cr_assert_str_eq(buf, "10.");
	cr_assert_eq(ct_flow_key_addr_format(&k, 1, NULL, 0), 8);
	cr_assert_eq(ct_flow_key_addr_format(&k, 2, buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(ct_flow_key_addr_format(NULL, 0, buf, sizeof(buf)), -EINVAL);

	inet_pton(AF_INET6, "2001:db8::1", a6);
	inet_pton(AF_INET6, "::ffff:10.0.0.1", b6);
	ct_flow_key_make(&k, 6, a6, b6, htons(1), htons(2), 0, NULL);
	cr_assert_eq(ct_flow_key_addr_format(&k, 0, buf, sizeof(buf)), 15);
	cr_assert_str_eq(buf, "::ffff:10.0.0.1");
	ct_flow_key_addr_format(&k, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "2001:db8::1");
	k.family = 5;
	cr_assert_eq(ct_flow_key_addr_format(&k, 0, buf, sizeof(buf)), -EINVAL);
}

/* ---- rte_mbuf front end (compiled when the test sees DPDK's headers; needs no EAL) ---- */
#if __has_include(<rte_mbuf.h>)
#include "ct_parse_mbuf.h"

Test(parse, mbuf_front_end_checks_first_segment)
{
	struct rte_mbuf m;
	struct tl_frame_spec s;
	struct tl_frame f;
	struct ct_pkt p;

	spec_v4(&s);
	s.payload = 100;
	build(&s, &f);
	memset(&m, 0, sizeof(m));
	m.buf_addr = f.b;
	m.data_off = 0;
	m.nb_segs = 1;
	m.data_len = (uint16_t)f.len;
	m.pkt_len = f.len;
	cr_assert_eq(ct_parse_mbuf(&m, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.len, 100);
	m.nb_segs = 2; /* payload in a second segment: still parsed */
	m.data_len = (uint16_t)f.hdr_end;
	cr_assert_eq(ct_parse_mbuf(&m, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.len, 100);
	m.data_len = (uint16_t)(f.hdr_end - 1); /* TCP header continues in the second */
	cr_assert_eq(ct_parse_mbuf(&m, NULL, &p), CT_PARSE_TRUNC_SEG);
}
#endif
