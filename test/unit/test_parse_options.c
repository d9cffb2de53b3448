/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the packet parser (lib/parse) on TCP options and flags: Linux's SYN options,
 * timestamps at any offset, window scale clamped to 14, SACK and unknown options skipped, options
 * after EOL ignored, malformed option lengths rejected; every one of the 256 flag bytes gets the
 * reason an independent golden rule gives it.
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

/* ---- TCP options ---- */

static enum ct_parse_reason
parse_opts(const uint8_t *o, unsigned int n, struct ct_pkt *p)
{
	struct tl_frame_spec s;

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
	struct tl_frame_spec s;

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
	struct tl_frame_spec s;
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
	struct tl_frame_spec s;
	struct ct_pkt p;

	spec_v6(&s);
	for (unsigned int i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		s.flags = t[i].flags;
		cr_assert_eq(parse_spec(&s, NULL, &p), t[i].want, "flags %#x", t[i].flags);
	}
}
