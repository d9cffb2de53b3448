/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the parser (lib/parse) on the packets that are not TCP: UDP keys and lengths;
 * ICMP/ICMPv6 queries keyed by addresses, identifier, request type and asking side, so both
 * directions of an echo meet and the responder's own echo does not; ICMP errors carrying the key
 * of the packet they quote, whichever direction it went (the matching of an error to its flow);
 * other protocols by addresses and protocol number. Buffers of exactly the frame's size (ASan).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ct_l4.h"
#include "ct_parse.h"
#include "parse_helpers.h"
#include "tl_frame.h"

static enum ct_parse_reason
parse_frame(const struct tl_frame *f, struct ct_pkt *p)
{
	return parse_exact(f->b, f->len, UINT32_MAX, NULL, p);
}

/* The spec of 192.0.2.1:40000 -> 198.51.100.2:53, or the other way round. */
static void
udp_spec(struct tl_frame_spec *s, bool back)
{
	spec_v4(s);
	s->dport = 53;
	if (back) {
		uint8_t a[16];

		memcpy(a, s->src, 16);
		memcpy(s->src, s->dst, 16);
		memcpy(s->dst, a, 16);
		s->sport = 53;
		s->dport = 40000;
	}
}

Test(parse_l4, udp_both_directions_one_key)
{
	struct tl_frame_spec s;
	struct tl_frame f;
	struct ct_pkt a, b;

	udp_spec(&s, false);
	cr_assert_gt(tl_frame_udp(&s, &f, 33), 0);
	cr_assert_eq(parse_frame(&f, &a), CT_PARSE_OK);
	cr_assert_eq(a.kind, CT_L4K_UDP);
	cr_assert_eq(a.key.proto, IPPROTO_UDP);
	cr_assert_eq(a.l4.len, 33);
	cr_assert_eq(a.l3_len, 20 + 8 + 33);
	udp_spec(&s, true);
	cr_assert_gt(tl_frame_udp(&s, &f, 100), 0);
	cr_assert_eq(parse_frame(&f, &b), CT_PARSE_OK);
	cr_assert_eq(memcmp(&a.key, &b.key, sizeof(a.key)), 0);
	cr_assert_neq(a.swapped, b.swapped);
}

Test(parse_l4, udp_length_must_fit)
{
	struct tl_frame_spec s;
	struct tl_frame f;
	struct ct_pkt p;

	udp_spec(&s, false);
	cr_assert_gt(tl_frame_udp(&s, &f, 10), 0);
	f.b[f.l4 + 4] = 0;
	f.b[f.l4 + 5] = 7;
	cr_assert_eq(parse_frame(&f, &p), CT_PARSE_BAD_UDP_LEN);
	f.b[f.l4 + 5] = 8; /* shorter than the IP payload: fine (Linux takes it too) */
	cr_assert_eq(parse_frame(&f, &p), CT_PARSE_OK);
	cr_assert_eq(p.l4.len, 0);
}

static void
icmp4(struct tl_frame *f, uint32_t src, uint32_t dst, uint8_t type, uint16_t id)
{
	struct tl_frame_spec s;

	tl_frame_spec_v4(&s, src, 0, dst, 0);
	cr_assert_gt(tl_frame_icmp(&s, f, type, 0, id, 1, NULL, 56), 0);
}

Test(parse_l4, echo_request_and_reply_one_key_and_directions)
{
	struct tl_frame f;
	struct ct_pkt q, r, own;

	icmp4(&f, 0xc6336402, 0xc0000201, 8, 0x1234); /* the larger address asks */
	cr_assert_eq(parse_frame(&f, &q), CT_PARSE_OK);
	cr_assert_eq(q.kind, CT_L4K_ICMP_REQUEST);
	cr_assert_eq(q.l4.icmp_type, 8);
	cr_assert_eq(q.key.proto, IPPROTO_ICMP);
	cr_assert_eq(q.key.port[0], htons(0x1234));
	icmp4(&f, 0xc0000201, 0xc6336402, 0, 0x1234);
	cr_assert_eq(parse_frame(&f, &r), CT_PARSE_OK);
	cr_assert_eq(r.kind, CT_L4K_ICMP_REPLY);
	cr_assert_eq(memcmp(&q.key, &r.key, sizeof(q.key)), 0);
	cr_assert_eq(q.swapped, 1);
	cr_assert_eq(r.swapped, 0);
	/* the other endpoint pinging with the same id is a flow of its own (Linux's tuple) */
	icmp4(&f, 0xc0000201, 0xc6336402, 8, 0x1234);
	cr_assert_eq(parse_frame(&f, &own), CT_PARSE_OK);
	cr_assert_neq(memcmp(&q.key, &own.key, sizeof(q.key)), 0);
	/* a timestamp request with the same id is another flow too */
	icmp4(&f, 0xc6336402, 0xc0000201, 13, 0x1234);
	cr_assert_eq(parse_frame(&f, &own), CT_PARSE_OK);
	cr_assert_neq(memcmp(&q.key, &own.key, sizeof(q.key)), 0);
}

Test(parse_l4, echo_to_self_orients_by_type)
{
	struct tl_frame f;
	struct ct_pkt q, r;

	icmp4(&f, 0x7f000001, 0x7f000001, 8, 7);
	cr_assert_eq(parse_frame(&f, &q), CT_PARSE_OK);
	icmp4(&f, 0x7f000001, 0x7f000001, 0, 7);
	cr_assert_eq(parse_frame(&f, &r), CT_PARSE_OK);
	cr_assert_eq(memcmp(&q.key, &r.key, sizeof(q.key)), 0);
	cr_assert_eq(q.swapped, 0);
	cr_assert_eq(r.swapped, 1);
}

Test(parse_l4, key_make_functions_agree_with_the_parser)
{
	struct tl_frame_spec s;
	struct tl_frame f;
	struct ct_flow_key k;
	struct ct_pkt p;
	uint32_t a = htonl(0xc0000201), b = htonl(0xc6336402);
	uint8_t sw;

	udp_spec(&s, false);
	cr_assert_gt(tl_frame_udp(&s, &f, 1), 0);
	cr_assert_eq(parse_frame(&f, &p), CT_PARSE_OK);
	cr_assert_eq(
	        ct_flow_key_make_proto(&k, 4, IPPROTO_UDP, &b, &a, htons(53), htons(40000), 0, &sw),
	        0);
	cr_assert_eq(memcmp(&k, &p.key, sizeof(k)), 0);
	cr_assert_eq(sw, !p.swapped);
	icmp4(&f, 0xc0000201, 0xc6336402, 8, 99);
	cr_assert_eq(parse_frame(&f, &p), CT_PARSE_OK);
	cr_assert_eq(ct_flow_key_make_icmp(&k, 4, &b, &a, 0, htons(99), 0, &sw), 0);
	cr_assert_eq(memcmp(&k, &p.key, sizeof(k)), 0);
	cr_assert_eq(sw, !p.swapped);
	cr_assert_eq(ct_flow_key_make_icmp(&k, 4, &b, &a, 3, htons(99), 0, &sw), -EINVAL);
	cr_assert_eq(ct_icmp_reply_type(4, 8), 0);
	cr_assert_eq(ct_icmp_reply_type(6, 128), 129);
	cr_assert_eq(ct_icmp_reply_type(4, 0), -1);
}

/* An ICMP error from @p from about the first @p n bytes of frame @p q's IP datagram. */
static void
icmp_error(struct tl_frame *f, int family, const uint8_t *from, const uint8_t *to, uint8_t type,
           uint8_t code, const struct tl_frame *q, unsigned int n)
{
	struct tl_frame_spec s;

	spec_v4(&s);
	s.family = family;
	memcpy(s.src, from, 16);
	memcpy(s.dst, to, 16);
	cr_assert_gt(tl_frame_icmp(&s, f, type, code, 0, 0, q->b + q->l3, (uint16_t)n), 0);
}

Test(parse_l4, port_unreachable_carries_the_quoted_flows_key_either_way)
{
	struct tl_frame_spec s;
	struct tl_frame q, f;
	struct ct_pkt flow, err;
	uint8_t router[16] = {203, 0, 113, 9};

	for (int back = 0; back < 2; back++) {
		udp_spec(&s, back);
		cr_assert_gt(tl_frame_udp(&s, &q, 40), 0);
		cr_assert_eq(parse_frame(&q, &flow), CT_PARSE_OK);
		/* from the destination host (port unreachable) and from a router on the path */
		icmp_error(&f, 4, s.dst, s.src, 3, 3, &q, 28);
		cr_assert_eq(parse_frame(&f, &err), CT_PARSE_OK);
		cr_assert_eq(err.kind, CT_L4K_ICMP_ERROR);
		cr_assert_eq(err.l4.icmp_type, 3);
		cr_assert_eq(err.l4.icmp_code, 3);
		cr_assert_eq(err.l4.proto, IPPROTO_UDP);
		cr_assert_eq(memcmp(&err.key, &flow.key, sizeof(err.key)), 0);
		icmp_error(&f, 4, router, s.src, 11, 0, &q, 20 + 8 + 40);
		cr_assert_eq(parse_frame(&f, &err), CT_PARSE_OK);
		cr_assert_eq(memcmp(&err.key, &flow.key, sizeof(err.key)), 0);
	}
}

Test(parse_l4, errors_about_tcp_echo_and_gre_have_their_keys)
{
	struct tl_frame_spec s;
	struct tl_frame q, f;
	struct ct_pkt flow, err;
	uint8_t router[16] = {203, 0, 113, 9};

	spec_v4(&s); /* a TCP segment: packet too big / fragmentation needed */
	build(&s, &q);
	cr_assert_eq(parse_frame(&q, &flow), CT_PARSE_OK);
	icmp_error(&f, 4, router, s.src, 3, 4, &q, 28);
	cr_assert_eq(parse_frame(&f, &err), CT_PARSE_OK);
	cr_assert_eq(err.key.proto, IPPROTO_TCP);
	cr_assert_eq(memcmp(&err.key, &flow.key, sizeof(err.key)), 0);

	icmp4(&q, 0xc0000201, 0xc6336402, 8, 4242); /* time exceeded about an echo request */
	cr_assert_eq(parse_frame(&q, &flow), CT_PARSE_OK);
	icmp_error(&f, 4, router, s.src, 11, 0, &q, 28);
	cr_assert_eq(parse_frame(&f, &err), CT_PARSE_OK);
	cr_assert_eq(memcmp(&err.key, &flow.key, sizeof(err.key)), 0);

	spec_v4(&s); /* GRE: only the addresses and the protocol matter */
	s.proto = 47;
	s.raw_l4 = 1;
	s.payload = 4;
	build(&s, &q);
	cr_assert_eq(parse_frame(&q, &flow), CT_PARSE_OK);
	cr_assert_eq(flow.kind, CT_L4K_OTHER);
	cr_assert_eq(flow.key.proto, 47);
	cr_assert_eq(flow.key.port[0] | flow.key.port[1], 0);
	icmp_error(&f, 4, router, s.src, 3, 1, &q, 20);
	cr_assert_eq(parse_frame(&f, &err), CT_PARSE_OK);
	cr_assert_eq(memcmp(&err.key, &flow.key, sizeof(err.key)), 0);
}

Test(parse_l4, error_about_an_error_is_refused)
{
	struct tl_frame_spec s;
	struct tl_frame q, f, e;
	struct ct_pkt p;
	uint8_t router[16] = {203, 0, 113, 9};

	udp_spec(&s, false);
	cr_assert_gt(tl_frame_udp(&s, &q, 4), 0);
	icmp_error(&e, 4, s.dst, s.src, 3, 3, &q, 28);
	icmp_error(&f, 4, router, s.dst, 11, 0, &e, 20 + 8);
	cr_assert_eq(parse_frame(&f, &p), CT_PARSE_BAD_ICMP_INNER);
}

Test(parse_l4, icmpv6_echo_and_packet_too_big_through_extension_headers)
{
	struct tl_frame_spec s;
	struct tl_frame q, f;
	struct ct_pkt flow, err, r;
	uint8_t router[16];

	inet_pton(AF_INET6, "2001:db8:ffff::1", router);
	spec_v6(&s);
	cr_assert_gt(tl_frame_icmp(&s, &q, 128, 0, 77, 1, NULL, 32), 0);
	cr_assert_eq(parse_frame(&q, &flow), CT_PARSE_OK);
	cr_assert_eq(flow.kind, CT_L4K_ICMP_REQUEST);
	cr_assert_eq(flow.key.proto, 58);
	spec_v6(&s);
	memcpy(s.src, flow.key.addr[1], 16);
	memcpy(s.dst, flow.key.addr[0], 16);
	cr_assert_gt(tl_frame_icmp(&s, &f, 129, 0, 77, 1, NULL, 32), 0);
	cr_assert_eq(parse_frame(&f, &r), CT_PARSE_OK);
	cr_assert_eq(r.kind, CT_L4K_ICMP_REPLY);
	cr_assert_eq(memcmp(&r.key, &flow.key, sizeof(r.key)), 0);

	spec_v6(&s); /* a UDP datagram behind a destination options header */
	spec_ext(&s, 60, 8);
	cr_assert_gt(tl_frame_udp(&s, &q, 1400), 0);
	cr_assert_eq(parse_frame(&q, &flow), CT_PARSE_OK);
	icmp_error(&f, 6, router, s.src, 2, 0, &q, 40 + 8 + 8);
	cr_assert_eq(parse_frame(&f, &err), CT_PARSE_OK);
	cr_assert_eq(err.kind, CT_L4K_ICMP_ERROR);
	cr_assert_eq(memcmp(&err.key, &flow.key, sizeof(err.key)), 0);
	icmp_error(&f, 6, router, s.src, 2, 0, &q, 40 + 4); /* the ports cut */
	cr_assert_eq(parse_frame(&f, &err), CT_PARSE_TRUNC_ICMP_INNER);
	cr_assert_gt(tl_frame_icmp(&s, &f, 135, 0, 0, 0, NULL, 16), 0); /* NS: not tracked */
	cr_assert_eq(parse_frame(&f, &err), CT_PARSE_ICMP_UNTRACKED);
	cr_assert(ct_parse_untracked(CT_PARSE_ICMP_UNTRACKED));
	cr_assert_not(ct_parse_untracked(CT_PARSE_TRUNC_ICMP_INNER));
}

Test(parse_l4, esp_over_ipv6_is_a_generic_flow)
{
	struct tl_frame_spec s;
	struct tl_frame f;
	struct ct_pkt p;

	spec_v6(&s);
	s.proto = 50;
	s.raw_l4 = 1;
	s.payload = 64;
	build(&s, &f);
	cr_assert_eq(parse_frame(&f, &p), CT_PARSE_OK);
	cr_assert_eq(p.kind, CT_L4K_OTHER);
	cr_assert_eq(p.key.proto, 50);
	cr_assert_eq(p.key.family, 6);
	cr_assert_eq(p.l4.len, 64);
}

Test(parse_l4, every_truncation_of_an_icmp_error_is_a_reason_never_a_read_past)
{
	struct tl_frame_spec s;
	struct tl_frame q, f;
	struct ct_pkt p;

	udp_spec(&s, false);
	cr_assert_gt(tl_frame_udp(&s, &q, 4), 0);
	icmp_error(&f, 4, s.dst, s.src, 3, 3, &q, 28);
	for (uint32_t len = 0; len < f.len; len++) {
		enum ct_parse_reason r = parse_exact(f.b, len, UINT32_MAX, NULL, &p);

		cr_assert_neq(r, CT_PARSE_OK, "cut at %u parsed", len);
		r = parse_exact(f.b, f.len, len, NULL, &p); /* first segment of len bytes */
		if (len < 14 + 20 + 8 + 20 + 4)             /* up to the quoted ports */
			cr_assert_eq(r, CT_PARSE_TRUNC_SEG, "seg %u: %s", len,
			             ct_parse_reason_name(r));
		else
			cr_assert_eq(r, CT_PARSE_OK, "seg %u: %s", len, ct_parse_reason_name(r));
	}
}
