/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the packet parser (lib/parse): frames are built byte by byte from a small spec
 * (Ethernet, VLAN tags, IPv4 with options or IPv6 with extension headers, TCP with options),
 * then parsed. Covers the key and segment fields, canonical ordering of both directions, VLAN
 * keying and Ethernet padding. TCP options and flag bytes: test_parse_options.c; every parse
 * reason and truncation: test_parse_reasons.c.
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

/* ---- valid frames ---- */

Test(parse, ipv4_segment_fills_key_and_fields)
{
	struct tl_frame_spec s;
	struct ct_pkt p;
	static const uint8_t mapped_a[16] = {0, 0, 0,    0,    0,   0, 0, 0,
	                                     0, 0, 0xff, 0xff, 192, 0, 2, 1};
	static const uint8_t mapped_b[16] = {0, 0, 0,    0,    0,   0,  0,   0,
	                                     0, 0, 0xff, 0xff, 198, 51, 100, 2};

	spec_v4(&s);
	s.flags = CT_TCPF_ACK | CT_TCPF_PSH;
	s.payload = 100;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_OK);
	cr_assert(memcmp(p.key.addr[0], mapped_a, 16) == 0);
	cr_assert(memcmp(p.key.addr[1], mapped_b, 16) == 0);
	cr_assert_eq(p.key.port[0], htons(40000));
	cr_assert_eq(p.key.port[1], htons(80));
	cr_assert_eq(p.key.family, 4);
	cr_assert_eq(p.key.proto, IPPROTO_TCP);
	cr_assert_eq(p.key.vlan, 0);
	cr_assert_eq(p.swapped, 0);
	cr_assert_eq(p.kind, CT_L4K_TCP);
	cr_assert_eq(p.seg.seq, 0x11223344u);
	cr_assert_eq(p.seg.ack, 0x55667788u);
	cr_assert_eq(p.seg.win, 0xfedc);
	cr_assert_eq(p.seg.flags, CT_TCPF_ACK | CT_TCPF_PSH);
	cr_assert_eq(p.seg.len, 100);
	cr_assert_eq(p.seg.opts, 0);
	cr_assert_eq(p.seg.wscale, 0);
	cr_assert_eq(p.seg.tsval, 0);
	cr_assert_eq(p.l3_len, 20 + 20 + 100);
	expect_key(&p, &s, 0);
}

Test(parse, ipv4_options_are_skipped)
{
	struct tl_frame_spec s;
	struct ct_pkt p;

	spec_v4(&s);
	/* Router Alert (4 bytes), NOPs, a timestamp-ish unknown option, EOL */
	static const uint8_t opts[16] = {0x94, 4, 0, 0, 1, 1, 1, 0x44, 8, 5, 0, 0, 0, 0, 0, 0};
	memcpy(s.ipopt, opts, sizeof(opts));
	s.ipopt_len = sizeof(opts);
	s.payload = 7;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.len, 7);
	cr_assert_eq(p.seg.seq, 0x11223344u);
	cr_assert_eq(p.l3_len, 36 + 20 + 7);
	expect_key(&p, &s, 0);
}

Test(parse, ipv4_max_ihl_with_options)
{
	struct tl_frame_spec s;
	struct ct_pkt p;

	spec_v4(&s);
	memset(s.ipopt, 1, 40); /* 40 bytes of NOP: IHL 15 */
	s.ipopt_len = 40;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.l3_len, 80);
	cr_assert_eq(p.key.port[1], htons(80));
}

Test(parse, ipv6_segment_fills_key_and_fields)
{
	struct tl_frame_spec s;
	struct ct_pkt p;

	spec_v6(&s);
	s.payload = 33;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.key.family, 6);
	cr_assert(memcmp(p.key.addr[0], s.src, 16) == 0);
	cr_assert(memcmp(p.key.addr[1], s.dst, 16) == 0);
	cr_assert_eq(p.seg.len, 33);
	cr_assert_eq(p.l3_len, 40 + 20 + 33);
	cr_assert_eq(p.seg.ack, 0x55667788u);
	expect_key(&p, &s, 0);
}

static void
check_v6_ext(uint8_t type, unsigned int len)
{
	struct tl_frame_spec s;
	struct ct_pkt p;

	spec_v6(&s);
	spec_ext(&s, type, len);
	s.payload = 10;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_OK, "ext %u len %u", type, len);
	cr_assert_eq(p.seg.len, 10, "ext %u", type);
	cr_assert_eq(p.l3_len, 40 + len + 20 + 10);
	expect_key(&p, &s, 0);
}

Test(parse, ipv6_hop_by_hop_is_skipped)
{
	check_v6_ext(0, 8);
	check_v6_ext(0, 24);
}

Test(parse, ipv6_routing_header_is_skipped)
{
	check_v6_ext(43, 24);
}

Test(parse, ipv6_destination_options_are_skipped)
{
	check_v6_ext(60, 16);
}

Test(parse, ipv6_ah_is_skipped_by_its_length_rule)
{
	check_v6_ext(51, 24); /* payload length field 4: (4 + 2) * 4 */
	check_v6_ext(51, 12);
}

Test(parse, ipv6_atomic_fragment_is_parsed)
{
	check_v6_ext(44, 8); /* offset 0, M clear: RFC 6946 */
}

Test(parse, ipv6_extension_chain_is_skipped)
{
	struct tl_frame_spec s;
	struct ct_pkt p;

	spec_v6(&s);
	spec_ext(&s, 0, 8);
	spec_ext(&s, 60, 8);
	spec_ext(&s, 43, 24);
	spec_ext(&s, 44, 8);
	spec_ext(&s, 51, 16);
	spec_ext(&s, 60, 32);
	s.payload = 5;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.len, 5);
	cr_assert_eq(p.l3_len, 40 + 96 + 20 + 5);
}

Test(parse, ipv6_fragments_are_classified)
{
	struct tl_frame_spec s;
	struct ct_pkt p;

	spec_v6(&s);
	spec_ext(&s, 44, 8);
	s.frag6 = 1; /* offset 0, M */
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_FRAG_FIRST);
	s.frag6 = 185 << 3; /* offset 1480, last */
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_FRAG_NONFIRST);
	s.frag6 = 185 << 3 | 1;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_FRAG_NONFIRST);
	s.proto = IPPROTO_UDP; /* fragments of every protocol */
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_FRAG_NONFIRST);
	s.frag6 = 1;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_FRAG_FIRST);
}

Test(parse, ipv4_fragments_are_classified)
{
	struct tl_frame_spec s;
	struct ct_pkt p;

	spec_v4(&s);
	s.frag4 = 0x4000; /* DF only: not a fragment */
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_OK);
	s.frag4 = 0x2000; /* MF, offset 0 */
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_FRAG_FIRST);
	s.frag4 = 0x2000 | 185;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_FRAG_NONFIRST);
	s.frag4 = 185; /* last fragment */
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_FRAG_NONFIRST);
	s.proto = IPPROTO_UDP; /* fragments of every protocol */
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_FRAG_NONFIRST);
}

/* ---- VLAN ---- */

Test(parse, single_vlan_keyed_only_when_configured)
{
	struct tl_frame_spec s;
	struct ct_pkt p;
	struct ct_parse_conf on = {.key_vlan = true}, off = {.key_vlan = false};

	spec_v4(&s);
	s.ntags = 1;
	s.tpid[0] = 0x8100;
	s.tci[0] = 0xe000 | 123; /* PCP 7, DEI 0 */
	s.payload = 3;
	cr_assert_eq(parse_spec(&s, &on, &p), CT_PARSE_OK);
	cr_assert_eq(p.key.vlan, 123);
	cr_assert_eq(p.seg.len, 3);
	expect_key(&p, &s, 123);
	cr_assert_eq(parse_spec(&s, &off, &p), CT_PARSE_OK);
	cr_assert_eq(p.key.vlan, 0);
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.key.vlan, 0);
	expect_key(&p, &s, 0);
}

Test(parse, qinq_keys_by_outer_vlan)
{
	static const uint16_t outer_tpids[] = {0x88a8, 0x9100, 0x8100};
	struct ct_parse_conf on = {.key_vlan = true};
	struct tl_frame_spec s;
	struct ct_pkt p;

	for (unsigned int i = 0; i < 3; i++) {
		spec_v6(&s);
		s.ntags = 2;
		s.tpid[0] = outer_tpids[i];
		s.tci[0] = 0x1000 | 4000; /* DEI set */
		s.tpid[1] = 0x8100;
		s.tci[1] = 42;
		s.payload = 1;
		cr_assert_eq(parse_spec(&s, &on, &p), CT_PARSE_OK, "tpid %#x", outer_tpids[i]);
		cr_assert_eq(p.key.vlan, 4000);
		cr_assert_eq(p.seg.len, 1);
	}
}

Test(parse, three_tags_are_too_many)
{
	struct tl_frame_spec s;
	struct ct_pkt p;

	spec_v4(&s);
	s.ntags = 3;
	s.tpid[0] = 0x88a8;
	s.tpid[1] = 0x8100;
	s.tpid[2] = 0x8100;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_TOO_MANY_VLANS);
}

/* ---- canonical key ---- */

static void
check_both_directions(struct tl_frame_spec *s)
{
	struct tl_frame_spec r = *s;
	struct ct_pkt a, b;

	memcpy(r.src, s->dst, 16);
	memcpy(r.dst, s->src, 16);
	r.sport = s->dport;
	r.dport = s->sport;
	cr_assert_eq(parse_spec(s, NULL, &a), CT_PARSE_OK);
	cr_assert_eq(parse_spec(&r, NULL, &b), CT_PARSE_OK);
	cr_assert(memcmp(&a.key, &b.key, sizeof(a.key)) == 0, "directions give different keys");
	cr_assert_eq(a.swapped ^ b.swapped, 1);
}

Test(parse, both_directions_give_same_key_with_opposite_swapped)
{
	struct tl_frame_spec s;

	spec_v4(&s);
	check_both_directions(&s);
	spec_v6(&s);
	check_both_directions(&s);
	/* same address: ordered by port */
	spec_v4(&s);
	memcpy(s.dst, s.src, 4);
	check_both_directions(&s);
	spec_v6(&s);
	memcpy(s.dst, s.src, 16);
	s.sport = 0x0102; /* network-order compare: 0x0102 < 0x0201 */
	s.dport = 0x0201;
	check_both_directions(&s);
}

Test(parse, smaller_endpoint_is_stored_first)
{
	struct tl_frame_spec s;
	struct ct_pkt p;

	spec_v4(&s); /* 192.0.2.1 < 198.51.100.2 */
	memcpy(s.src, (uint8_t[4]){198, 51, 100, 2}, 4);
	memcpy(s.dst, (uint8_t[4]){192, 0, 2, 1}, 4);
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.swapped, 1);
	cr_assert_eq(p.key.addr[0][12], 192);
	cr_assert_eq(p.key.port[0], htons(80));
	cr_assert_eq(p.key.port[1], htons(40000));

	/* addresses differ only in the low 64 bits (second half of the compare) */
	spec_v6(&s);
	inet_pton(AF_INET6, "2001:db8::1:0:0:9", s.src);
	inet_pton(AF_INET6, "2001:db8::1:0:0:8", s.dst);
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.swapped, 1);
	cr_assert_eq(p.key.addr[0][15], 8);
	/* high half decides even when the low half says otherwise */
	inet_pton(AF_INET6, "2001:db8::ff", s.src);
	inet_pton(AF_INET6, "2001:db9::1", s.dst);
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.swapped, 0);
	/* equal address and port: not swapped */
	memcpy(s.dst, s.src, 16);
	s.dport = s.sport;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.swapped, 0);
}

Test(parse, key_make_rejects_bad_arguments)
{
	struct ct_flow_key k;
	uint8_t a[16] = {0};

	cr_assert_eq(ct_flow_key_make(&k, 5, a, a, 1, 2, 0, NULL), -EINVAL);
	cr_assert_eq(ct_flow_key_make(NULL, 4, a, a, 1, 2, 0, NULL), -EINVAL);
	cr_assert_eq(ct_flow_key_make(&k, 4, NULL, a, 1, 2, 0, NULL), -EINVAL);
	cr_assert_eq(ct_flow_key_make(&k, 6, a, a, 1, 2, 7, NULL), 0);
	cr_assert_eq(k.vlan, 7);
	cr_assert_eq(k.family, 6);
}

/* ---- lengths ---- */

Test(parse, ethernet_padding_is_not_payload)
{
	struct tl_frame_spec s;
	struct ct_pkt p;
	struct tl_frame f;

	spec_v4(&s);
	s.flags = CT_TCPF_SYN;
	s.pad = 6; /* 54-byte SYN padded to the 60-byte minimum */
	build(&s, &f);
	cr_assert_eq(f.len, 60);
	cr_assert_eq(parse_exact(f.b, f.len, UINT32_MAX, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.len, 0);
	cr_assert_eq(p.l3_len, 40);

	s.payload = 2;
	s.pad = 4;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.len, 2);

	spec_v6(&s);
	s.pad = 17;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.len, 0);
	cr_assert_eq(p.l3_len, 60);
}

Test(parse, ipv6_l3_len_saturates)
{
	enum { PLEN = 65535 };
	uint32_t len = 14 + 40 + PLEN;
	uint8_t *b = calloc(1, len);
	struct tl_frame_spec s;
	struct tl_frame f;
	struct ct_pkt p;

	cr_assert_not_null(b);
	spec_v6(&s);
	build(&s, &f);
	memcpy(b, f.b, f.len);
	b[f.l3 + 4] = PLEN >> 8;
	b[f.l3 + 5] = PLEN & 0xff;
	cr_assert_eq(ct_parse_pkt(b, len, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.l3_len, UINT16_MAX);
	cr_assert_eq(p.seg.len, PLEN - 20);
	free(b);
}
