/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness of the packet parser (lib/parse): ct_parse_pkt() and ct_parse_pkt_seg() on
 * arbitrary bytes, each given a heap buffer of exactly the bytes it may read so that ASan
 * reports any read past them. Checks the parser's contract on every input: a reason in range
 * with a name; on CT_PARSE_OK a canonical key (endpoint [0] <= endpoint [1] as (address, port)),
 * IPv4 keys IPv4-mapped, VLAN 0 unless VLAN keying is on, payload length within the frame and
 * the IP length; the same result whatever the VLAN option (except the key's VLAN); and for a
 * frame split at a byte chosen from the input, the split parse gives the whole-frame result or
 * CT_PARSE_TRUNC_SEG. The output is pre-filled with different patterns on each call, so a field
 * the parser forgets to write shows up as a mismatch. Any violation aborts (a crash for libFuzzer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct_parse.h"
#include "fuzz_check.h"

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int
endpoint_cmp(const struct ct_flow_key *k)
{
	int c = memcmp(k->addr[0], k->addr[1], 16);
	unsigned int p0, p1;
	uint8_t b0[2], b1[2];

	/* Ports are network order: compare their bytes, independent of host endianness. */
	memcpy(b0, &k->port[0], 2);
	memcpy(b1, &k->port[1], 2);
	p0 = (unsigned int)b0[0] << 8 | b0[1];
	p1 = (unsigned int)b1[0] << 8 | b1[1];
	if (c != 0)
		return c;
	return p0 < p1 ? -1 : p0 > p1;
}

/*
 * The nine flag combinations Linux nf_conntrack accepts (tcp_valid_flags[]), decided on FIN,
 * SYN, RST, ACK and URG (PSH, ECE, CWR never matter); written out here independently of
 * lib/tcp's rule table, which the parser uses.
 */
static int
flags_valid(uint8_t flags)
{
	switch (flags & 0x37) {
	case 0x02: /* SYN */
	case 0x22: /* SYN+URG */
	case 0x12: /* SYN+ACK */
	case 0x04: /* RST */
	case 0x14: /* RST+ACK */
	case 0x11: /* FIN+ACK */
	case 0x31: /* FIN+ACK+URG */
	case 0x10: /* ACK */
	case 0x30: /* ACK+URG */
		return 1;
	default:
		return 0;
	}
}

static void
check_ok(const struct ct_pkt *pkt, uint32_t len, int key_vlan)
{
	const struct ct_flow_key *k = &pkt->key;
	char buf[64];

	CHECK(pkt->kind < CT_L4K_MAX);
	CHECK(k->family == 4 || k->family == 6);
	CHECK(pkt->swapped <= 1 && pkt->l3_len <= len);
	if (pkt->kind != CT_L4K_TCP) {
		/* lib/l4's kinds: not TCP, and UDP only for UDP; ICMP kinds for ICMP/ICMPv6 */
		CHECK(k->proto != 6 || pkt->kind == CT_L4K_ICMP_ERROR);
		if (pkt->kind == CT_L4K_UDP)
			CHECK(k->proto == 17);
		return;
	}
	CHECK(endpoint_cmp(k) <= 0);
	CHECK(k->proto == 6);
	CHECK(k->family == 4 || k->family == 6);
	if (k->family == 4) {
		CHECK(memcmp(k->addr[0], v4mapped, sizeof(v4mapped)) == 0);
		CHECK(memcmp(k->addr[1], v4mapped, sizeof(v4mapped)) == 0);
	}
	if (!key_vlan)
		CHECK(k->vlan == 0);
	CHECK(k->vlan <= 0x0fff);
	CHECK(pkt->swapped <= 1);
	CHECK(pkt->seg.len <= len);
	CHECK(pkt->l3_len <= len);
	/* IP header (20 or 40) + TCP header (20) + payload fit in the IP length. */
	if (pkt->l3_len < UINT16_MAX)
		CHECK((uint32_t)pkt->seg.len + 20u + (k->family == 4 ? 20u : 40u) <= pkt->l3_len);
	/* Flags the parser refuses never come out as OK. */
	CHECK(pkt->seg.flags & 0x3f);
	CHECK(flags_valid(pkt->seg.flags));
	CHECK((pkt->seg.flags & 0x03) != 0x03); /* SYN+FIN */
	CHECK((pkt->seg.flags & 0x06) != 0x06); /* SYN+RST */
	CHECK((pkt->seg.flags & 0x11) != 0x01); /* FIN without ACK */
	if (!(pkt->seg.opts & CT_TCPO_WSCALE))
		CHECK(pkt->seg.wscale == 0);
	for (unsigned int side = 0; side < 2; side++) {
		int n = ct_flow_key_addr_format(k, side, buf, sizeof(buf));

		CHECK(n > 0 && n < (int)sizeof(buf));
		CHECK(strlen(buf) == (size_t)n);
	}
}

/* Field by field (struct ct_tcp_seg has a padding byte the parser need not write); the TCP
 * fields for TCP, lib/l4's for the other kinds. */
static int
pkt_eq(const struct ct_pkt *a, const struct ct_pkt *b)
{
	if (memcmp(&a->key, &b->key, sizeof(a->key)) != 0 || a->l3_len != b->l3_len ||
	    a->swapped != b->swapped || a->kind != b->kind)
		return 0;
	if (a->kind != CT_L4K_TCP)
		return a->l4.icmp_type == b->l4.icmp_type && a->l4.icmp_code == b->l4.icmp_code &&
		       a->l4.proto == b->l4.proto && a->l4.len == b->l4.len;
	return a->seg.seq == b->seg.seq && a->seg.ack == b->seg.ack &&
	       a->seg.tsval == b->seg.tsval && a->seg.win == b->seg.win &&
	       a->seg.len == b->seg.len && a->seg.flags == b->seg.flags &&
	       a->seg.opts == b->seg.opts && a->seg.wscale == b->seg.wscale;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ct_parse_conf conf_vlan = {.key_vlan = true};
	struct ct_pkt p0, p1, p2;
	enum ct_parse_reason r0, r1, r2;
	uint32_t len, split;
	uint8_t *seg;

	if (size < 1 || size > 65536 + 64)
		return -1;
	/* First byte: where to split the frame for the multi-segment path. */
	len = (uint32_t)size - 1;
	split = len == 0 ? 0 : (uint32_t)((uint64_t)data[0] * (len + 1) / 256);
	data++;

	memset(&p0, 0xa5, sizeof(p0));
	r0 = ct_parse_pkt(data, len, NULL, &p0);
	CHECK((unsigned int)r0 < CT_PARSE_MAX);
	CHECK(r0 != CT_PARSE_TRUNC_SEG);
	CHECK(strcmp(ct_parse_reason_name(r0), "?") != 0);
	CHECK(ct_parse_reason_help(r0) != NULL);
	if (r0 == CT_PARSE_OK)
		check_ok(&p0, len, 0);

	/* VLAN keying changes the key's vlan field only. */
	memset(&p1, 0x5a, sizeof(p1));
	r1 = ct_parse_pkt(data, len, &conf_vlan, &p1);
	CHECK(r1 == r0);
	if (r1 == CT_PARSE_OK) {
		check_ok(&p1, len, 1);
		p1.key.vlan = 0;
		CHECK(pkt_eq(&p0, &p1));
	}

	/* Only the first `split` bytes readable: same answer, or TRUNC_SEG. */
	seg = malloc(split ? split : 1);
	CHECK(seg != NULL);
	memcpy(seg, data, split);
	memset(&p2, 0x3c, sizeof(p2));
	r2 = ct_parse_pkt_seg(seg, split, len, NULL, &p2);
	CHECK(r2 == r0 || r2 == CT_PARSE_TRUNC_SEG);
	if (r2 == CT_PARSE_OK)
		CHECK(pkt_eq(&p0, &p2));
	if (split == len)
		CHECK(r2 == r0);
	free(seg);
	return 0;
}
