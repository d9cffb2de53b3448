/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of test/lib's pure-C helpers, which every other test builds on: frames of the
 * builder parse back (lib/parse) to the fields they were built from, IPv4 and IPv6, with VLAN
 * tags, extension headers and options; the IPv4 and TCP checksums verify (summed here by a
 * second, word-wise implementation); Linux's SYN option order byte for byte; impossible frames
 * are refused; a pcap written and loaded again gives the same frames and timestamps, loads in
 * the other byte order and in nanoseconds too, and broken files are refused with a reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "ct_parse.h"
#include "ct_tcp.h"
#include "tl_frame.h"
#include "tl_pcap.h"

/* One's complement sum of 16-bit big-endian words (@p len even), folded. */
static uint16_t
sum16(const uint8_t *p, size_t len, uint32_t start)
{
	uint64_t s = start;

	for (size_t i = 0; i < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The TCP checksum of a built frame verifies: header + pseudo-header sum to 0xffff. */
static void
assert_tcp_csum(const struct tl_frame *f, const struct tl_frame_spec *s)
{
	unsigned int alen = s->family == 4 ? 4 : 16, tlen = f->len - f->l4;
	uint8_t pseudo[40] = {0};
	uint8_t seg[TL_FRAME_MAX + 1] = {0};

	memcpy(pseudo, s->src, alen);
	memcpy(pseudo + alen, s->dst, alen);
	pseudo[2 * alen + 1] = 6;
	pseudo[2 * alen + 2] = (uint8_t)(tlen >> 8);
	pseudo[2 * alen + 3] = (uint8_t)tlen;
	memcpy(seg, f->b + f->l4, tlen);
	cr_assert_eq(sum16(seg, (tlen + 1) & ~1u, sum16(pseudo, 2 * alen + 4, 0)), 0xffff,
	             "TCP checksum does not verify");
}

Test(testlib, ipv4_frame_with_checksums_parses_to_its_spec)
{
	struct tl_frame_spec s;
	struct tl_frame f;
	struct ct_pkt p;
	long n;

	tl_frame_spec_v4(&s, 0xc0000201, 40000, 0xc6336402, 443);
	s.seq = 123456789;
	s.ack = 987654321;
	s.flags = CT_TCPF_ACK | CT_TCPF_PSH;
	s.win = 29200;
	s.payload = 101; /* odd: the checksum pads */
	s.csum = TL_CSUM_IP | TL_CSUM_TCP;
	n = tl_frame_build(&s, &f);
	cr_assert_eq(n, 14 + 20 + 20 + 101);
	cr_assert_eq((size_t)n, tl_frame_len(&s));
	cr_assert_eq(f.l3, 14);
	cr_assert_eq(f.l4, 34);
	cr_assert_eq(f.hdr_end, 54);
	cr_assert_eq(sum16(f.b + f.l3, 20, 0), 0xffff, "IPv4 header checksum does not verify");
	assert_tcp_csum(&f, &s);
	cr_assert_eq(ct_parse_pkt(f.b, f.len, NULL, &p), CT_PARSE_OK);
	cr_assert_eq(p.seg.seq, 123456789u);
	cr_assert_eq(p.seg.ack, 987654321u);
	cr_assert_eq(p.seg.win, 29200);
	cr_assert_eq(p.seg.len, 101);
	cr_assert_eq(p.seg.flags, CT_TCPF_ACK | CT_TCPF_PSH);
	cr_assert_eq(p.l3_len, 20 + 20 + 101);
}

Test(testlib, ipv6_frame_with_tags_extensions_and_options_parses_to_its_spec)
{
	uint8_t a[16], b[16];
	struct tl_frame_spec s;
	struct ct_parse_conf conf = {.key_vlan = true};
	struct tl_frame f;
	struct ct_pkt p;

	inet_pton(AF_INET6, "2001:db8::1", a);
	inet_pton(AF_INET6, "2001:db8::2", b);
	tl_frame_spec_v6(&s, a, 40000, b, 80);
	s.ntags = 2;
	s.tpid[0] = 0x88a8;
	s.tci[0] = 100;
	s.tpid[1] = 0x8100;
	s.tci[1] = 200;
	s.n_ext = 2;
	s.ext_type[0] = 0; /* hop-by-hop */
	s.ext_len[0] = 8;
	s.ext_type[1] = 60; /* destination options */
	s.ext_len[1] = 16;
	s.flags = CT_TCPF_SYN;
	s.seq = 1000;
	s.win = 65535;
	s.tcpopt_len = (unsigned int)tl_tcp_opts_linux(
	        s.tcpopt, CT_TCPO_MSS | CT_TCPO_SACK_PERM | CT_TCPO_TS | CT_TCPO_WSCALE, 1440, 7,
	        0x01020304, 0);
	s.csum = TL_CSUM_TCP;
	cr_assert_gt(tl_frame_build(&s, &f), 0);
	cr_assert_eq(f.l3, 14 + 8);
	cr_assert_eq(f.l4, 14 + 8 + 40 + 24);
	cr_assert_eq(f.hdr_end, f.l4 + 20 + 20);
	assert_tcp_csum(&f, &s);
	cr_assert_eq(ct_parse_pkt(f.b, f.len, &conf, &p), CT_PARSE_OK);
	cr_assert_eq(p.key.family, 6);
	cr_assert_eq(p.key.vlan, 100, "keyed by the outer tag");
	cr_assert_eq(p.seg.flags, CT_TCPF_SYN);
	cr_assert_eq(p.seg.opts, CT_TCPO_MSS | CT_TCPO_SACK_PERM | CT_TCPO_TS | CT_TCPO_WSCALE);
	cr_assert_eq(p.seg.wscale, 7);
	cr_assert_eq(p.seg.tsval, 0x01020304u);
}

Test(testlib, linux_syn_options_are_written_in_linux_order)
{
	static const uint8_t all[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0,
	                                0, 9, 0,    0,    0, 5, 1, 3,  3, 7};
	static const uint8_t no_ts[12] = {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 2};
	uint8_t o[TL_OPT_MAX];

	cr_assert_eq(
	        tl_tcp_opts_linux(o, CT_TCPO_MSS | CT_TCPO_SACK_PERM | CT_TCPO_TS | CT_TCPO_WSCALE,
	                          1460, 7, 9, 5),
	        sizeof(all));
	cr_assert_eq(memcmp(o, all, sizeof(all)), 0);
	cr_assert_eq(tl_tcp_opts_linux(o, CT_TCPO_MSS | CT_TCPO_SACK_PERM | CT_TCPO_WSCALE, 1460, 2,
	                               0, 0),
	             sizeof(no_ts));
	cr_assert_eq(memcmp(o, no_ts, sizeof(no_ts)), 0);
	cr_assert_eq(tl_tcp_opts_linux(o, 0, 1460, 2, 0, 0), 0);
}

Test(testlib, impossible_frames_are_refused)
{
	static uint8_t big[70000];
	struct tl_frame_spec s;

	tl_frame_spec_v4(&s, 1, 1, 2, 2);
	s.payload = 65535 - 40 + 1;
	cr_assert_eq(tl_frame_write(&s, big, sizeof(big), NULL), -EMSGSIZE);
	s.payload = 65535 - 40;
	cr_assert_eq(tl_frame_write(&s, big, sizeof(big), NULL), 14 + 65535);
	cr_assert_eq(tl_frame_write(&s, big, 1000, NULL), -ENOSPC);
	s.payload = 0;
	s.tcpopt_len = 6;
	cr_assert_eq(tl_frame_write(&s, big, sizeof(big), NULL), -EINVAL);
	s.tcpopt_len = 0;
	s.ntags = TL_VLAN_MAX + 1;
	cr_assert_eq(tl_frame_write(&s, big, sizeof(big), NULL), -EINVAL);
	s.ntags = 0;
	s.family = 5;
	cr_assert_eq(tl_frame_write(&s, big, sizeof(big), NULL), -EINVAL);
	s.family = 4;
	s.min_len = 60;
	cr_assert_eq(tl_frame_write(&s, big, sizeof(big), NULL), 60, "padded to the minimum");
}

/* ---- pcap ---- */

static void
tmp_path(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "/tmp/synfin-testlib-%d-%s.pcap", (int)getpid(), what);
}

Test(testlib, pcap_written_then_loaded_gives_the_same_frames)
{
	struct tl_pcap_out out;
	struct tl_pcap pc;
	char path[128], err[128] = "";
	uint8_t fr[3][100];

	tmp_path(path, sizeof(path), "rt");
	for (unsigned int i = 0; i < 3; i++)
		for (unsigned int j = 0; j < sizeof(fr[i]); j++)
			fr[i][j] = (uint8_t)(i * 31 + j);
	cr_assert_eq(tl_pcap_out_create(&out, path, 65535), 0);
	cr_assert_eq(tl_pcap_out_add(&out, 1700000000000000ull, fr[0], 60), 0);
	cr_assert_eq(tl_pcap_out_add(&out, 1700000000001500ull, fr[1], 100), 0);
	cr_assert_eq(tl_pcap_out_add(&out, 1700000002000000ull, fr[2], 1), 0);
	cr_assert_eq(tl_pcap_out_free(&out), 0);
	cr_assert_eq(tl_pcap_load(path, &pc, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pc.count, 3);
	cr_assert_eq(pc.truncated, 0);
	cr_assert_eq(pc.len[0], 60);
	cr_assert_eq(pc.len[1], 100);
	cr_assert_eq(pc.len[2], 1);
	cr_assert_eq(memcmp(pc.data + pc.off[1], fr[1], 100), 0);
	cr_assert_eq(pc.data[pc.off[2]], fr[2][0]);
	cr_assert_eq(pc.ts_ns[0], 0);
	cr_assert_eq(pc.ts_ns[1], 1500000);
	cr_assert_eq(pc.span_ns, 2000000000ull);
	tl_pcap_free(&pc);
	unlink(path);
}

/* Write raw bytes to @p path. */
static void
put_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	cr_assert_not_null(fp);
	cr_assert_eq(fwrite(data, 1, len, fp), len);
	cr_assert_eq(fclose(fp), 0);
}

Test(testlib, pcap_loads_either_byte_order_and_nanoseconds_and_refuses_broken_files)
{
	/* big-endian nanosecond file: one 2-byte record at 1 s + 5 ns, one at 1 s + 7 ns */
	static const uint8_t be_ns[] = {
	        0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
	        0,    0,    0,    1,    0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0,    2,
	        0xab, 0xcd, 0,    0,    0, 1, 0, 0, 0, 7, 0, 0, 0, 2, 0, 0, 0, 2, 0x12, 0x34,
	};
	uint8_t bad[sizeof(be_ns)];
	struct tl_pcap pc;
	char path[128], err[128] = "";

	tmp_path(path, sizeof(path), "be");
	put_file(path, be_ns, sizeof(be_ns));
	cr_assert_eq(tl_pcap_load(path, &pc, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pc.count, 2);
	cr_assert_eq(pc.ts_ns[1], 2);
	cr_assert_eq(pc.data[pc.off[1] + 1], 0x34);
	tl_pcap_free(&pc);
	/* cut inside the second record: the first stays, the second is left out */
	put_file(path, be_ns, sizeof(be_ns) - 1);
	cr_assert_eq(tl_pcap_load(path, &pc, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pc.count, 1);
	cr_assert_eq(pc.truncated, 1);
	tl_pcap_free(&pc);
	memcpy(bad, be_ns, sizeof(bad));
	bad[0] = 0x0a; /* pcapng's magic starts so */
	put_file(path, bad, sizeof(bad));
	cr_assert_eq(tl_pcap_load(path, &pc, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not a classic pcap") != NULL, "%s", err);
	memcpy(bad, be_ns, sizeof(bad));
	bad[23] = 113; /* Linux cooked capture */
	put_file(path, bad, sizeof(bad));
	cr_assert_eq(tl_pcap_load(path, &pc, err, sizeof(err)), -1);
	cr_assert(strstr(err, "link type 113") != NULL, "%s", err);
	put_file(path, be_ns, 24); /* header only */
	cr_assert_eq(tl_pcap_load(path, &pc, err, sizeof(err)), -1);
	cr_assert(strstr(err, "no packets") != NULL, "%s", err);
	unlink(path);
	cr_assert_eq(tl_pcap_load(path, &pc, err, sizeof(err)), -1);
}
