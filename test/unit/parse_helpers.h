/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SYNFIN_TEST_PARSE_HELPERS_H
#define SYNFIN_TEST_PARSE_HELPERS_H

/**
 * @file
 * What the parser's unit tests (test_parse*.c) share: specs of a valid IPv4 or IPv6 segment for
 * test/lib's frame builder (192.0.2.1:40000 -> 198.51.100.2:80, payload bytes 0xa0, 0xa1, ...),
 * and parsing a copy of a frame in a buffer of exactly its size, so ASan sees any read past it.
 */

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ct_parse.h"
#include "tl_frame.h"

/* The payload bytes of every frame: 0xa0, 0xa1, ... */
static uint8_t payload_bytes[TL_FRAME_MAX];

static inline void
spec_v4(struct tl_frame_spec *s)
{
	static const uint8_t dmac[6] = {2, 0, 0, 0, 0, 2}, smac[6] = {2, 0, 0, 0, 0, 1};

	tl_frame_spec_v4(s, 0xc0000201, 40000, 0xc6336402, 80); /* 192.0.2.1 -> 198.51.100.2 */
	memcpy(s->dmac, dmac, 6);
	memcpy(s->smac, smac, 6);
	s->ip_id = 0x1234;
	s->seq = 0x11223344;
	s->ack = 0x55667788;
	s->win = 0xfedc;
	s->flags = CT_TCPF_ACK;
	for (unsigned int i = 0; i < sizeof(payload_bytes); i++)
		payload_bytes[i] = (uint8_t)(0xa0 + i);
	s->payload_data = payload_bytes;
}

static inline void
spec_v6(struct tl_frame_spec *s)
{
	spec_v4(s);
	s->family = 6;
	memset(s->src, 0, sizeof(s->src));
	memset(s->dst, 0, sizeof(s->dst));
	inet_pton(AF_INET6, "2001:db8::1", s->src);
	inet_pton(AF_INET6, "2001:db8::2", s->dst);
}

static inline void
spec_ext(struct tl_frame_spec *s, uint8_t type, unsigned int len)
{
	cr_assert_lt(s->n_ext, TL_IP6_EXT_MAX);
	s->ext_type[s->n_ext] = type;
	s->ext_len[s->n_ext] = len;
	s->n_ext++;
}

static inline void
build(const struct tl_frame_spec *s, struct tl_frame *f)
{
	long n = tl_frame_build(s, f);

	cr_assert_gt(n, 0, "frame not built: %ld", n);
}

/*
 * Parse a copy in a buffer of exactly @len bytes (so ASan catches any read beyond it); when
 * @seg_len < @len only the first @seg_len bytes exist and are given as the first segment
 * (ct_parse_pkt_seg()).
 */
static inline enum ct_parse_reason
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

static inline enum ct_parse_reason
parse_spec(const struct tl_frame_spec *s, const struct ct_parse_conf *conf, struct ct_pkt *out)
{
	struct tl_frame f;

	build(s, &f);
	memset(out, 0xaa, sizeof(*out)); /* every field must be written */
	return parse_exact(f.b, f.len, UINT32_MAX, conf, out);
}

static inline void
expect_key(const struct ct_pkt *p, const struct tl_frame_spec *s, uint16_t vlan)
{
	struct ct_flow_key want;
	uint8_t sw;

	cr_assert_eq(ct_flow_key_make(&want, s->family, s->src, s->dst, htons(s->sport),
	                              htons(s->dport), vlan, &sw),
	             0);
	cr_assert(memcmp(&p->key, &want, sizeof(want)) == 0, "key differs from ct_flow_key_make()");
	cr_assert_eq(p->swapped, sw);
}

#endif /* SYNFIN_TEST_PARSE_HELPERS_H */
