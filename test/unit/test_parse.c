/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the packet parser (lib/parse): frames are built byte by byte from a small spec
 * (Ethernet, VLAN tags, IPv4 with options or IPv6 with extension headers, TCP with options),
 * then parsed. Covers the key and segment fields, canonical ordering of both directions, VLAN
 * keying, Ethernet padding, TCP options, every flag byte, every parse reason (a table of crafted
 * frames that must reach all of CT_PARSE_REASONS), and truncation at every length with buffers
 * allocated to the exact size so ASan sees any read past the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ct_parse.h"

#define MAX_FRAME 2048
#define MAX_EXT   6

struct spec {
	int family; /* 4 or 6 */
	int ntags;
	uint16_t tpid[3];
	uint16_t tci[3];
	uint8_t src[16], dst[16]; /* IPv4 uses the first 4 bytes */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t win;
	uint8_t flags;
	uint8_t proto;
	uint16_t frag4; /* IPv4 flags + fragment offset field */
	uint8_t ipopt[40];
	unsigned int ipopt_len; /* multiple of 4 */
	int next;               /* IPv6 extension headers, in order */
	uint8_t ext_type[MAX_EXT];
	unsigned int ext_len[MAX_EXT]; /* bytes, valid for the type */
	uint16_t frag6;                /* fragment header offset/M field */
	uint8_t tcpopt[40];
	unsigned int tcpopt_len; /* multiple of 4 */
	unsigned int payload;
	unsigned int pad; /* Ethernet trailer after the datagram */
};

struct frame {
	uint8_t b[MAX_FRAME];
	uint32_t len;
	uint32_t l3, l4, hdr_end; /* offsets: IP header, TCP header, end of TCP header */
};

static void
put8(struct frame *f, uint8_t v)
{
	cr_assert_lt(f->len, MAX_FRAME);
	f->b[f->len++] = v;
}

static void
put16(struct frame *f, uint16_t v)
{
	put8(f, (uint8_t)(v >> 8));
	put8(f, (uint8_t)v);
}

static void
put32(struct frame *f, uint32_t v)
{
	put16(f, (uint16_t)(v >> 16));
	put16(f, (uint16_t)v);
}

static void
putn(struct frame *f, const uint8_t *p, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		put8(f, p[i]);
}

static void
spec_v4(struct spec *s)
{
	static const uint8_t a[4] = {192, 0, 2, 1}, b[4] = {198, 51, 100, 2};

	memset(s, 0, sizeof(*s));
	s->family = 4;
	memcpy(s->src, a, 4);
	memcpy(s->dst, b, 4);
	s->sport = 40000;
	s->dport = 80;
	s->seq = 0x11223344;
	s->ack = 0x55667788;
	s->win = 0xfedc;
	s->flags = CT_TCPF_ACK;
	s->proto = IPPROTO_TCP;
}

static void
spec_v6(struct spec *s)
{
	spec_v4(s);
	s->family = 6;
	inet_pton(AF_INET6, "2001:db8::1", s->src);
	inet_pton(AF_INET6, "2001:db8::2", s->dst);
}

static void
spec_ext(struct spec *s, uint8_t type, unsigned int len)
{
	cr_assert_lt(s->next, MAX_EXT);
	s->ext_type[s->next] = type;
	s->ext_len[s->next] = len;
	s->next++;
}

static void
build(const struct spec *s, struct frame *f)
{
	static const uint8_t mac[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
	unsigned int tcp_len = 20 + s->tcpopt_len + s->payload, ext_total = 0;

	memset(f, 0, sizeof(*f));
	putn(f, mac, sizeof(mac));
	for (int i = 0; i < s->ntags; i++) {
		put16(f, s->tpid[i]);
		put16(f, s->tci[i]);
	}
	put16(f, s->family == 4 ? 0x0800 : 0x86dd);
	f->l3 = f->len;
	if (s->family == 4) {
		unsigned int ihl = 20 + s->ipopt_len;

		put8(f, (uint8_t)(0x40 | ihl / 4));
		put8(f, 0);
		put16(f, (uint16_t)(ihl + tcp_len));
		put16(f, 0x1234);
		put16(f, s->frag4);
		put8(f, 64);
		put8(f, s->proto);
		put16(f, 0);
		putn(f, s->src, 4);
		putn(f, s->dst, 4);
		putn(f, s->ipopt, s->ipopt_len);
	} else {
		for (int i = 0; i < s->next; i++)
			ext_total += s->ext_len[i];
		put32(f, 0x60000000);
		put16(f, (uint16_t)(ext_total + tcp_len));
		put8(f, s->next ? s->ext_type[0] : s->proto);
		put8(f, 64);
		putn(f, s->src, 16);
		putn(f, s->dst, 16);
		for (int i = 0; i < s->next; i++) {
			uint8_t t = s->ext_type[i];
			unsigned int n = s->ext_len[i], start = f->len;

			put8(f, i + 1 < s->next ? s->ext_type[i + 1] : s->proto);
			if (t == 51)
				put8(f, (uint8_t)(n / 4 - 2));
			else if (t == 44)
				put8(f, 0);
			else
				put8(f, (uint8_t)(n / 8 - 1));
			if (t == 44) {
				put16(f, s->frag6);
				put32(f, 0xabcdef01);
			}
			while (f->len < start + n)
				put8(f, 0); /* Pad1 options / reserved */
		}
	}
	f->l4 = f->len;
	put16(f, s->sport);
	put16(f, s->dport);
	put32(f, s->seq);
	put32(f, s->ack);
	put8(f, (uint8_t)((20 + s->tcpopt_len) / 4 << 4));
	put8(f, s->flags);
	put16(f, s->win);
	put16(f, 0);
	put16(f, 0);
	putn(f, s->tcpopt, s->tcpopt_len);
	f->hdr_end = f->len;
	for (unsigned int i = 0; i < s->payload; i++)
		put8(f, (uint8_t)(0xa0 + i));
	for (unsigned int i = 0; i < s->pad; i++)
		put8(f, 0);
}

/*
 * Parse a copy in a buffer of exactly @len bytes (so ASan catches any read beyond it); when
 * @seg_len < @len only the first @seg_len bytes exist and are given as the first segment
 * (ct_parse_pkt_seg()).
 */
static enum ct_parse_reason
parse_exact(const uint8_t *b, uint32_t len, uint32_t seg_len, const struct ct_parse_conf *conf,
            struct ct_pkt *out)
{
	uint32_t n = seg_len < len ? seg_len : len; /* bytes the parser may read */
	uint8_t *copy = malloc(n ? n : 1);
	enum ct_parse_reason r;

	cr_assert_not_null(copy);
	memcpy(copy, b, n);
	if (seg_len >= len)
		r = ct_parse_pkt(copy, len, conf, out);
	else
		r = ct_parse_pkt_seg(copy, seg_len, len, conf, out);
	free(copy);
	return r;
}

static enum ct_parse_reason
parse_spec(const struct spec *s, const struct ct_parse_conf *conf, struct ct_pkt *out)
{
	struct frame f;

	build(s, &f);
	memset(out, 0xaa, sizeof(*out)); /* every field must be written */
	return parse_exact(f.b, f.len, UINT32_MAX, conf, out);
}

static void
expect_key(const struct ct_pkt *p, const struct spec *s, uint16_t vlan)
{
	struct ct_flow_key want;
	uint8_t sw;

	cr_assert_eq(ct_flow_key_make(&want, s->family, s->src, s->dst, htons(s->sport),
	                              htons(s->dport), vlan, &sw),
	             0);
	cr_assert(memcmp(&p->key, &want, sizeof(want)) == 0, "key differs from ct_flow_key_make()");
	cr_assert_eq(p->swapped, sw);
}

/* ---- valid frames ---- */

Test(parse, ipv4_segment_fills_key_and_fields)
{
	struct spec s;
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
	cr_assert_eq(p.pad, 0);
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
	struct spec s;
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
	struct spec s;
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
	struct spec s;
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
	struct spec s;
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
	struct spec s;
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
	struct spec s;
	struct ct_pkt p;

	spec_v6(&s);
	spec_ext(&s, 44, 8);
	s.frag6 = 1; /* offset 0, M */
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_FRAG_FIRST);
	s.frag6 = 185 << 3; /* offset 1480, last */
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_FRAG_NONFIRST);
	s.frag6 = 185 << 3 | 1;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_FRAG_NONFIRST);
	s.proto = IPPROTO_UDP;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_NOT_TCP);
	s.frag6 = 1;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_NOT_TCP);
}

Test(parse, ipv4_fragments_are_classified)
{
	struct spec s;
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
	s.proto = IPPROTO_UDP;
	cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_NOT_TCP);
}

/* ---- VLAN ---- */

Test(parse, single_vlan_keyed_only_when_configured)
{
	struct spec s;
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
	struct spec s;
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
	struct spec s;
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
check_both_directions(struct spec *s)
{
	struct spec r = *s;
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
	struct spec s;

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
	struct spec s;
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
	struct spec s;
	struct ct_pkt p;
	struct frame f;

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
	struct spec s;
	struct frame f;
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

/* ---- TCP options ---- */

static enum ct_parse_reason
parse_opts(const uint8_t *o, unsigned int n, struct ct_pkt *p)
{
	struct spec s;

	spec_v4(&s);
	s.flags = CT_TCPF_SYN;
	memcpy(s.tcpopt, o, n);
	s.tcpopt_len = (n + 3) & ~3u; /* zero fill is EOL */
	return parse_spec(&s, NULL, p);
}

Test(parse, linux_syn_options_are_parsed)
{
	/* MSS 1460, SACK_PERM, TS 0x01020304/0, NOP, WS 7 */
	static const uint8_t o[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2,
	                            3, 4, 0,    0,    0, 0, 1, 3,  3, 7};
	struct ct_pkt p;

	cr_assert_eq(parse_opts(o, sizeof(o), &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.opts, CT_TCPO_MSS | CT_TCPO_SACK_PERM | CT_TCPO_TS | CT_TCPO_WSCALE);
	cr_assert_eq(p.seg.wscale, 7);
	cr_assert_eq(p.seg.tsval, 0x01020304u);
}

Test(parse, nop_nop_timestamp_is_parsed)
{
	static const uint8_t o[] = {1, 1, 8, 10, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1};
	struct ct_pkt p;

	cr_assert_eq(parse_opts(o, sizeof(o), &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.opts, CT_TCPO_TS);
	cr_assert_eq(p.seg.tsval, 0xdeadbeefu);
}

Test(parse, timestamp_at_odd_offset_is_parsed)
{
	static const uint8_t o[] = {1, 8, 10, 0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 1, 1};
	struct ct_pkt p;

	cr_assert_eq(parse_opts(o, sizeof(o), &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.opts, CT_TCPO_TS);
	cr_assert_eq(p.seg.tsval, 0xcafebabeu);
}

Test(parse, window_scale_is_clamped_to_14)
{
	static const uint8_t o15[] = {3, 3, 15, 0};
	static const uint8_t o14[] = {3, 3, 14, 0};
	static const uint8_t o255[] = {1, 3, 3, 255};
	struct ct_pkt p;

	cr_assert_eq(parse_opts(o15, sizeof(o15), &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.opts, CT_TCPO_WSCALE);
	cr_assert_eq(p.seg.wscale, 14);
	cr_assert_eq(parse_opts(o14, sizeof(o14), &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.wscale, 14);
	cr_assert_eq(parse_opts(o255, sizeof(o255), &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.wscale, 14);
}

Test(parse, sack_and_unknown_options_are_skipped)
{
	/* NOP NOP SACK(2 blocks), unknown kind 30 len 4, SACK_PERM, NOP NOP */
	static const uint8_t o[] = {1, 1, 5, 18, 0, 0, 0,  1, 0, 0, 0, 2, 0, 0,
	                            0, 3, 0, 0,  0, 4, 30, 4, 9, 9, 4, 2, 1, 1};
	struct ct_pkt p;

	cr_assert_eq(parse_opts(o, sizeof(o), &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.opts, CT_TCPO_SACK_PERM);
}

Test(parse, options_after_eol_are_ignored)
{
	static const uint8_t o[] = {2, 4, 5, 0xb4, 0, 3, 3, 7, 0xff, 0xff, 0xff, 0xff};
	struct ct_pkt p;

	cr_assert_eq(parse_opts(o, sizeof(o), &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.opts, CT_TCPO_MSS);
}

Test(parse, broken_option_lists_are_rejected)
{
	static const struct {
		uint8_t o[8];
		unsigned int n;
		const char *what;
	} bad[] = {
	        {{2, 0, 0, 0}, 4, "length 0"},
	        {{2, 1, 0, 0}, 4, "length 1"},
	        {{1, 1, 1, 2}, 4, "kind in the last byte without a length"},
	        {{1, 8, 10, 0, 0, 0, 0, 0}, 8, "length past the header"},
	        {{30, 9, 0, 0, 0, 0, 0, 0}, 8, "unknown option past the header"},
	};
	struct ct_pkt p;
	struct spec s;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse_opts(bad[i].o, bad[i].n, &p), CT_PARSE_BAD_TCP_OPT, "%s",
		             bad[i].what);
	/* the same lists on a FIN or an RST: counted apart, a close the tracker cannot see */
	for (unsigned int f = 0; f < 2; f++)
		for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			spec_v4(&s);
			s.flags = f ? CT_TCPF_RST : CT_TCPF_FIN | CT_TCPF_ACK;
			memcpy(s.tcpopt, bad[i].o, bad[i].n);
			s.tcpopt_len = (bad[i].n + 3) & ~3u;
			cr_assert_eq(parse_spec(&s, NULL, &p), CT_PARSE_BAD_TCP_OPT_FIN_RST,
			             "%s %s", f ? "RST" : "FIN", bad[i].what);
		}
}

Test(parse, odd_option_lengths_are_skipped_and_noted)
{
	/* Lengths the Linux stack skips (tcp_parse_options takes an option only at its length) */
	static const struct {
		uint8_t o[12];
		unsigned int n;
		uint8_t opts;
		const char *what;
	} odd[] = {
	        {{2, 3, 5, 0}, 4, 0, "MSS length 3"},
	        {{3, 4, 7, 0}, 4, 0, "WS length 4"},
	        {{4, 3, 0, 0}, 4, 0, "SACK_PERM length 3"},
	        {{8, 8, 0, 0, 0, 0, 0, 0}, 8, 0, "TS length 8"},
	        {{5, 6, 0, 0, 0, 0, 0, 0}, 8, 0, "SACK length 6"},
	        {{1, 1, 5, 2}, 4, 0, "empty SACK"},
	        {{5, 2, 2, 4, 5, 0xb4, 1, 1}, 8, CT_TCPO_MSS, "empty SACK, then MSS"},
	        {{8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 12, 0, "TS length 12"},
	};
	/* unknown kinds, of any length, are skipped without a note: TFO cookie, MPTCP, MD5 */
	static const uint8_t unknown[] = {34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 30, 2, 19, 3, 0, 1};
	struct ct_pkt p;

	for (unsigned int i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		cr_assert_eq(parse_opts(odd[i].o, odd[i].n, &p), CT_PARSE_OK, "%s", odd[i].what);
		cr_expect_eq(p.seg.opts, odd[i].opts | CT_TCPO_ODD, "%s: opts %#x", odd[i].what,
		             p.seg.opts);
	}
	cr_assert_eq(parse_opts(unknown, sizeof(unknown), &p), CT_PARSE_OK);
	cr_expect_eq(p.seg.opts, 0);
}

/* ---- flags ---- */

/*
 * The flag combinations Linux nf_conntrack accepts (tcp_valid_flags[] of
 * net/netfilter/nf_conntrack_proto_tcp.c, PSH, ECE and CWR masked), and for the others the
 * first rule they break, in the documented priority (lib/tcp/ct_tcp.h).
 */
static enum ct_parse_reason
golden_flags(uint8_t f)
{
	static const uint8_t linux_valid[] = {
	        0x02, 0x22, 0x12, /* SYN, SYN+URG, SYN+ACK */
	        0x04, 0x14,       /* RST, RST+ACK */
	        0x11, 0x31,       /* FIN+ACK, FIN+ACK+URG */
	        0x10, 0x30,       /* ACK, ACK+URG */
	};
	bool fin = f & 0x01, syn = f & 0x02, rst = f & 0x04, ack = f & 0x10;
	uint8_t m = f & 0x37;

	for (unsigned int i = 0; i < sizeof(linux_valid); i++)
		if (m == linux_valid[i])
			return CT_PARSE_OK;
	if (!(fin || syn || rst || ack))
		return CT_PARSE_FLAGS_NONE;
	if (syn && fin)
		return CT_PARSE_FLAGS_SYN_FIN;
	if (syn && rst)
		return CT_PARSE_FLAGS_SYN_RST;
	if (rst && fin)
		return CT_PARSE_FLAGS_RST_FIN;
	if (fin && !ack)
		return CT_PARSE_FLAGS_FIN_NO_ACK;
	return CT_PARSE_FLAGS_URG; /* SYN+ACK+URG, RST+URG, RST+ACK+URG */
}

Test(parse, every_flag_byte_gets_its_reason)
{
	struct spec s;
	struct ct_pkt p;

	spec_v4(&s);
	for (unsigned int f = 0; f < 256; f++) {
		s.flags = (uint8_t)f;
		enum ct_parse_reason r = parse_spec(&s, NULL, &p);
		cr_assert_eq(r, golden_flags((uint8_t)f), "flags %#x: %s", f,
		             ct_parse_reason_name(r));
		if (r == CT_PARSE_OK)
			cr_assert_eq(p.seg.flags, f);
	}
}

Test(parse, flag_spot_checks)
{
	static const struct {
		uint8_t flags;
		enum ct_parse_reason want;
	} t[] = {
	        {0x00, CT_PARSE_FLAGS_NONE},
	        {0xc0, CT_PARSE_FLAGS_NONE},
	        {0x08, CT_PARSE_FLAGS_NONE},       /* PSH alone */
	        {0x20, CT_PARSE_FLAGS_NONE},       /* URG alone */
	        {0x29, CT_PARSE_FLAGS_FIN_NO_ACK}, /* FIN+PSH+URG (Xmas scan) */
	        {0x39, CT_PARSE_OK},               /* FIN+PSH+URG with ACK: Linux accepts it */
	        {0x3f, CT_PARSE_FLAGS_SYN_FIN},
	        {0xff, CT_PARSE_FLAGS_SYN_FIN},
	        {0x32, CT_PARSE_FLAGS_URG}, /* SYN+ACK+URG */
	        {0x24, CT_PARSE_FLAGS_URG}, /* RST+URG */
	        {0x15, CT_PARSE_FLAGS_RST_FIN},
	        {0x03, CT_PARSE_FLAGS_SYN_FIN},
	        {0x13, CT_PARSE_FLAGS_SYN_FIN},
	        {0x06, CT_PARSE_FLAGS_SYN_RST},
	        {0x16, CT_PARSE_FLAGS_SYN_RST},
	        {0x01, CT_PARSE_FLAGS_FIN_NO_ACK},
	        {0x09, CT_PARSE_FLAGS_FIN_NO_ACK},
	        {0x05, CT_PARSE_FLAGS_RST_FIN},
	        {0x02, CT_PARSE_OK},
	        {0x12, CT_PARSE_OK},
	        {0xc2, CT_PARSE_OK},
	        {0x11, CT_PARSE_OK},
	        {0x04, CT_PARSE_OK},
	        {0x14, CT_PARSE_OK},
	        {0x18, CT_PARSE_OK},
	        {0x19, CT_PARSE_OK},
	};
	struct spec s;
	struct ct_pkt p;

	spec_v6(&s);
	for (unsigned int i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		s.flags = t[i].flags;
		cr_assert_eq(parse_spec(&s, NULL, &p), t[i].want, "flags %#x", t[i].flags);
	}
}

/* ---- every reason ---- */

struct rcase {
	const char *name;
	enum ct_parse_reason want;
	void (*make)(struct frame *f, uint32_t *seg_len);
};

static void
mk_ok(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	(void)seg_len;
	spec_v4(&s);
	build(&s, f);
}

static void
mk_trunc_eth(struct frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->len = 13;
}

static void
mk_trunc_vlan(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	(void)seg_len;
	spec_v4(&s);
	s.ntags = 2;
	s.tpid[0] = 0x88a8;
	s.tpid[1] = 0x8100;
	build(&s, f);
	f->len = 14 + 4 + 3; /* inside the second tag */
}

static void
mk_too_many_vlans(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	(void)seg_len;
	spec_v4(&s);
	s.ntags = 3;
	s.tpid[0] = s.tpid[1] = s.tpid[2] = 0x8100;
	build(&s, f);
}

static void
mk_not_ip(struct frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[12] = 0x08;
	f->b[13] = 0x06; /* ARP */
}

static void
mk_trunc_ip(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	(void)seg_len;
	spec_v6(&s);
	build(&s, f);
	f->len = 14 + 39;
}

static void
mk_trunc_ip_options(struct frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[14] = 0x4f; /* IHL 60 in a 54-byte frame */
}

static void
mk_bad_ip_version(struct frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[14] = 0x65;
}

static void
mk_bad_ip_version6(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	(void)seg_len;
	spec_v6(&s);
	build(&s, f);
	f->b[14] = 0x40;
}

static void
mk_bad_ihl(struct frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[14] = 0x44;
}

static void
mk_bad_ip_len_long(struct frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[17] += 1; /* total length one beyond the frame */
}

static void
mk_bad_ip_len_short(struct frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[16] = 0;
	f->b[17] = 19; /* below the header */
}

static void
mk_bad_ip_len6(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	(void)seg_len;
	spec_v6(&s);
	build(&s, f);
	f->b[14 + 5] += 1;
}

static void
mk_trunc_ext_hdr(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	(void)seg_len;
	spec_v6(&s);
	spec_ext(&s, 0, 8);
	build(&s, f);
	f->b[f->l3 + 40 + 1] = 3; /* claims 32 bytes, only 28 left in the payload */
}

static void
mk_trunc_ext_hdr_frag(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	(void)seg_len;
	spec_v6(&s);
	spec_ext(&s, 44, 8);
	build(&s, f);
	/* payload length 4: the fragment header itself does not fit */
	f->b[f->l3 + 4] = 0;
	f->b[f->l3 + 5] = 4;
}

static void
mk_frag_first(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	(void)seg_len;
	spec_v4(&s);
	s.frag4 = 0x2000;
	build(&s, f);
}

static void
mk_frag_nonfirst(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	(void)seg_len;
	spec_v6(&s);
	spec_ext(&s, 44, 8);
	s.frag6 = 8 << 3;
	build(&s, f);
}

static void
mk_not_tcp(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	(void)seg_len;
	spec_v4(&s);
	s.proto = IPPROTO_UDP;
	build(&s, f);
}

static void
mk_not_tcp6(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	(void)seg_len;
	spec_v6(&s);
	spec_ext(&s, 60, 8);
	s.proto = 58; /* ICMPv6 after destination options */
	build(&s, f);
}

static void
mk_trunc_tcp(struct frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[17] = 20 + 19; /* IP length ends inside the TCP header; frame is longer */
}

static void
mk_bad_doff_small(struct frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[14 + 20 + 12] = 4 << 4;
}

static void
mk_bad_doff_large(struct frame *f, uint32_t *seg_len)
{
	mk_ok(f, seg_len);
	f->b[14 + 20 + 12] = 6 << 4;
}

static void
mk_bad_tcp_opt(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	(void)seg_len;
	spec_v4(&s);
	s.tcpopt[0] = 2;
	s.tcpopt[1] = 6;
	s.tcpopt_len = 4;
	build(&s, f);
}

static void
mk_bad_tcp_opt_fin(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	(void)seg_len;
	spec_v4(&s);
	s.flags = CT_TCPF_FIN | CT_TCPF_ACK;
	s.tcpopt[0] = 2;
	s.tcpopt[1] = 6;
	s.tcpopt_len = 4;
	build(&s, f);
}

static void
mk_flags(struct frame *f, uint8_t flags)
{
	struct spec s;

	spec_v6(&s);
	s.flags = flags;
	build(&s, f);
}

static void
mk_flags_none(struct frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_flags(f, 0);
}

static void
mk_flags_syn_fin(struct frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_flags(f, CT_TCPF_SYN | CT_TCPF_FIN);
}

static void
mk_flags_syn_rst(struct frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_flags(f, CT_TCPF_SYN | CT_TCPF_RST);
}

static void
mk_flags_rst_fin(struct frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_flags(f, CT_TCPF_RST | CT_TCPF_FIN | CT_TCPF_ACK);
}

static void
mk_flags_urg(struct frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_flags(f, CT_TCPF_SYN | CT_TCPF_ACK | CT_TCPF_URG);
}

static void
mk_flags_fin_no_ack(struct frame *f, uint32_t *seg_len)
{
	(void)seg_len;
	mk_flags(f, CT_TCPF_FIN);
}

static void
mk_trunc_seg(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

	spec_v4(&s);
	s.payload = 100;
	build(&s, f);
	*seg_len = f->l4 + 10; /* TCP header continues in the next segment */
}

static void
mk_trunc_seg_ext(struct frame *f, uint32_t *seg_len)
{
	struct spec s;

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
        {"UDP", CT_PARSE_NOT_TCP, mk_not_tcp},
        {"ICMPv6 after dstopts", CT_PARSE_NOT_TCP, mk_not_tcp6},
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
};

#define NCASES (sizeof(rcases) / sizeof(rcases[0]))

static enum ct_parse_reason
run_case(const struct rcase *c)
{
	struct frame f;
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
truncate_everywhere(const struct spec *s, const char *what)
{
	struct frame f;
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
		struct frame g = f;
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
	struct spec s;

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
	struct spec s;
	struct frame f;
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
