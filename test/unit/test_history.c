/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/history: the letters of each kind of segment, the history string (order of
 * first occurrence, each letter once per direction, case by direction), every conn_state rule
 * (Zeek's meanings), and the flow-end JSON line of lib/export. No EAL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ct_export.h"
#include "ct_history.h"

#define O CT_DIR_ORIG
#define R CT_DIR_REPLY

/* One segment: direction, TCP flags, payload length. */
struct seg {
	unsigned int dir;
	uint8_t flags;
	uint16_t len;
};

#define SYN    CT_TCPF_SYN
#define ACK    CT_TCPF_ACK
#define FIN    CT_TCPF_FIN
#define RST    CT_TCPF_RST
#define PSH    CT_TCPF_PSH
#define SYNACK (CT_TCPF_SYN | CT_TCPF_ACK)

static struct ct_history
replay(const struct seg *s, size_t n)
{
	struct ct_history h = {0};

	for (size_t i = 0; i < n; i++)
		ct_history_add(&h, s[i].dir, ct_history_tcp_letters(s[i].flags, s[i].len));
	return h;
}

static void
check(const struct seg *s, size_t n, const char *want_hist, enum ct_conn_state want_cs)
{
	struct ct_history h = replay(s, n);
	char buf[CT_HISTORY_SIZE];

	ct_history_format(&h, buf, sizeof(buf));
	cr_expect_str_eq(buf, want_hist);
	cr_expect_str_eq(ct_conn_state_name(ct_history_conn_state_tcp(&h)),
	                 ct_conn_state_name(want_cs), "history %s", buf);
}

#define CHECK(segs, hist, cs) check(segs, sizeof(segs) / sizeof(segs[0]), hist, cs)

Test(history, letters)
{
	cr_expect_eq(ct_history_tcp_letters(SYN, 0), 1u << CT_H_SYN);
	cr_expect_eq(ct_history_tcp_letters(SYNACK, 0), 1u << CT_H_SYNACK);
	cr_expect_eq(ct_history_tcp_letters(ACK, 0), 1u << CT_H_ACK);
	cr_expect_eq(ct_history_tcp_letters(ACK | PSH, 10), 1u << CT_H_DATA);
	cr_expect_eq(ct_history_tcp_letters(FIN | ACK, 0), 1u << CT_H_FIN);
	cr_expect_eq(ct_history_tcp_letters(FIN | ACK, 5), 1u << CT_H_DATA | 1u << CT_H_FIN);
	cr_expect_eq(ct_history_tcp_letters(RST | ACK, 0), 1u << CT_H_RST);
	cr_expect_eq(ct_history_tcp_letters(SYN, 20), 1u << CT_H_SYN | 1u << CT_H_DATA, "TFO");
	cr_expect_eq(ct_history_tcp_letters(0, 0), 0u, "no flags, no payload: no letter");
}

Test(history, full_lifecycle_sf)
{
	static const struct seg s[] = {
	        {O, SYN, 0},       {R, SYNACK, 0},     {O, ACK, 0}, {O, ACK | PSH, 100},
	        {R, ACK, 0},       {R, ACK | PSH, 50}, {O, ACK, 0}, {O, FIN | ACK, 0},
	        {R, FIN | ACK, 0}, {O, ACK, 0},
	};

	CHECK(s, "ShADadFf", CT_CS_SF);
}

Test(history, each_letter_once_per_direction)
{
	static const struct seg s[] = {
	        {O, SYN, 0},       {O, SYN, 0},       {R, SYNACK, 0},    {R, SYNACK, 0},
	        {O, ACK, 0},       {O, ACK | PSH, 1}, {O, ACK | PSH, 1}, {R, ACK | PSH, 1},
	        {R, ACK | PSH, 1}, {O, ACK, 0},
	};
	struct ct_history h = replay(s, sizeof(s) / sizeof(s[0]));

	CHECK(s, "ShADd", CT_CS_S1);
	cr_expect(ct_history_seen(&h, O, CT_H_DATA));
	cr_expect(!ct_history_seen(&h, R, CT_H_ACK), "the responder sent no pure ACK");
}

Test(history, longest)
{
	static const struct seg s[] = {
	        {O, SYN, 0},       {R, SYN, 0},       {R, SYNACK, 0},    {O, SYNACK, 0},
	        {O, ACK, 0},       {R, ACK, 0},       {O, PSH | ACK, 1}, {R, PSH | ACK, 1},
	        {O, FIN | ACK, 0}, {R, FIN | ACK, 0}, {O, RST, 0},       {R, RST, 0},
	};
	struct ct_history h = replay(s, sizeof(s) / sizeof(s[0]));
	char small[4];

	CHECK(s, "SshHAaDdFfRr", CT_CS_RSTO);
	cr_expect_str_eq(ct_history_format(&h, small, sizeof(small)), "Ssh",
	                 "truncated, NUL-ended");
}

/*
 * ct_history_add() (the word at a time form the worker runs) against ct_history_append() (one
 * byte at a time): the same 8 bytes after every step of 20000 random sequences of letter masks,
 * several letters at once included.
 */
Test(history, add_matches_append)
{
	uint64_t x = 0x9e3779b97f4a7c15u;

	for (int seqs = 0; seqs < 20000; seqs++) {
		struct ct_history a = {0}, b = {0};
		int len = 1 + (int)(x % 24);

		for (int i = 0; i < len; i++) {
			unsigned int dir, letters;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			dir = (unsigned int)(x >> 8) & 1;
			/* mostly one letter, sometimes two or three, sometimes bits above F..R */
			letters = 1u << (x >> 16) % CT_H_MAX;
			if ((x >> 24) % 4 == 0)
				letters |= 1u << (x >> 28) % CT_H_MAX | 1u << (x >> 32) % CT_H_MAX;
			if ((x >> 40) % 16 == 0)
				letters |= 0xc0u;
			ct_history_add(&a, dir, letters);
			ct_history_append(&b, dir, letters);
			cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0,
			             "sequence %d step %d: dir %u letters %#x", seqs, i, dir,
			             letters);
		}
	}
}

Test(history, attempts)
{
	static const struct seg s0[] = {{O, SYN, 0}, {O, SYN, 0}};
	static const struct seg rej[] = {{O, SYN, 0}, {R, RST | ACK, 0}};
	static const struct seg rstos0[] = {{O, SYN, 0}, {O, RST, 0}};
	static const struct seg sh[] = {{O, SYN, 0}, {O, FIN, 0}};
	static const struct seg oth_reply[] = {{O, SYN, 0}, {R, ACK, 0}};

	CHECK(s0, "S", CT_CS_S0);
	CHECK(rej, "Sr", CT_CS_REJ);
	CHECK(rstos0, "SR", CT_CS_RSTOS0);
	CHECK(sh, "SF", CT_CS_SH);
	CHECK(oth_reply, "Sa", CT_CS_OTH);
}

Test(history, established_ends)
{
	static const struct seg s1[] = {{O, SYN, 0}, {R, SYNACK, 0}, {O, ACK, 0}};
	static const struct seg s2[] = {
	        {O, SYN, 0}, {R, SYNACK, 0}, {O, ACK, 0}, {O, FIN | ACK, 0}};
	static const struct seg s3[] = {
	        {O, SYN, 0}, {R, SYNACK, 0}, {O, ACK, 0}, {R, FIN | ACK, 0}};
	static const struct seg rsto[] = {{O, SYN, 0}, {R, SYNACK, 0}, {O, RST, 0}, {R, RST, 0}};
	static const struct seg rstr[] = {{O, SYN, 0}, {R, SYNACK, 0}, {O, ACK, 0}, {R, RST, 0}};

	CHECK(s1, "ShA", CT_CS_S1);
	CHECK(s2, "ShAF", CT_CS_S2);
	CHECK(s3, "ShAf", CT_CS_S3);
	CHECK(rsto, "ShRr", CT_CS_RSTO);
	CHECK(rstr, "ShAr", CT_CS_RSTR);
}

Test(history, responder_half_and_midstream)
{
	static const struct seg rstrh[] = {{R, SYNACK, 0}, {R, RST, 0}};
	static const struct seg shr[] = {{R, SYNACK, 0}, {R, FIN | ACK, 0}};
	static const struct seg mid[] = {{O, ACK | PSH, 10}, {R, ACK, 0}, {O, FIN | ACK, 0}};
	static const struct seg none[] = {{O, 0, 0}};

	CHECK(rstrh, "hr", CT_CS_RSTRH);
	CHECK(shr, "hf", CT_CS_SHR);
	CHECK(mid, "DaF", CT_CS_OTH);
	CHECK(none, "", CT_CS_OTH);
}

Test(history, l4_conn_state)
{
	cr_expect_eq(ct_history_conn_state_l4(0), CT_CS_S0);
	cr_expect_eq(ct_history_conn_state_l4(3), CT_CS_SF);
	cr_expect_str_eq(ct_conn_state_name(CT_CS_MAX), "?");
	cr_expect_str_eq(ct_conn_state_name(CT_CS_RSTOS0), "RSTOS0");
}

Test(history, json_line)
{
	struct ct_export_flow e;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	memset(&e, 0, sizeof(e));
	snprintf(e.fi.src, sizeof(e.fi.src), "10.0.0.1");
	snprintf(e.fi.dst, sizeof(e.fi.dst), "10.0.0.2");
	e.fi.proto = 6;
	e.fi.family = 4;
	e.fi.sport = 40000;
	e.fi.dport = 80;
	e.fi.state = CT_S_TIME_WAIT;
	e.fi.pkts[O] = 5;
	e.fi.pkts[R] = 4;
	e.fi.bytes[O] = 300;
	e.fi.bytes[R] = 1234;
	e.first_ms = 1700000000123;
	e.last_ms = 1700000002100;
	e.end_reason = CT_END_CLOSED;
	e.conn_state = CT_CS_SF;
	snprintf(e.history, sizeof(e.history), "ShADadFf");
	cr_assert_eq(ct_export_json_line(f, &e), 0);
	fclose(f);
	static const char head[] =
	        "{\"proto\":\"tcp\",\"orig\":{\"src\":\"10.0.0.1\",\"sport\":40000,";

	cr_expect(strncmp(buf, head, sizeof(head) - 1) == 0, "%s", buf);
	cr_expect_not_null(strstr(buf,
	                          "\"packets\":{\"orig\":5,\"reply\":4},\"bytes\":{\"orig\":300,"
	                          "\"reply\":1234}"),
	                   "%s", buf);
	cr_expect_not_null(strstr(buf, ",\"history\":\"ShADadFf\",\"conn_state\":\"SF\","
	                               "\"end_reason\":\"closed\",\"first_seen\":1700000000.123,"
	                               "\"last_seen\":1700000002.100,\"duration_s\":1.977}\n"),
	                   "%s", buf);
	cr_expect_eq(strchr(buf, '\n'), buf + len - 1, "one line");
	free(buf);
}

Test(history, end_reasons)
{
	cr_expect_str_eq(ct_end_reason_name(CT_END_IDLE), "idle");
	cr_expect_eq(ct_end_reason_ipfix(CT_END_IDLE), 1);
	cr_expect_eq(ct_end_reason_ipfix(CT_END_CLOSED), 3);
	cr_expect_eq(ct_end_reason_ipfix(CT_END_SHUTDOWN), 4);
	cr_expect_eq(ct_end_reason_ipfix(CT_END_EVICTED), 5);
	cr_expect_str_eq(ct_end_reason_name(CT_END_MAX), "?");
}

/*
 * The exporter's pace (ct_export_pace_next) against a worker queuing @p rate records per µs
 * into a ring of @p size: the sleeps stay within their bounds, and after a few passes a ring
 * holds between an eighth and a half of its size at each pass, or the sleep sits at a bound.
 */
static void
pace_run(double rate, uint32_t size, uint32_t start_us)
{
	struct ct_export_pace p = {.us = start_us};
	uint32_t us = start_us;

	for (unsigned int i = 0; i < 40; i++) {
		double q = rate * us;
		uint32_t peak = q > size ? size : (uint32_t)q; /* a full ring drops the rest */

		us = ct_export_pace_next(&p, peak, size);
		cr_assert(us >= CT_EXPORT_PACE_MIN_US && us <= CT_EXPORT_PACE_MAX_US, "%u", us);
		if (i >= 12) {
			double held = rate * us;

			cr_assert(held <= size / 2 || us == CT_EXPORT_PACE_MIN_US, "rate %g: %g",
			          rate, held);
			cr_assert(held >= size / 8 || us == CT_EXPORT_PACE_MAX_US, "rate %g: %g",
			          rate, held);
		}
	}
}

Test(export, pace_follows_the_record_rate)
{
	struct ct_export_pace p;

	ct_export_pace_init(&p);
	cr_assert_eq(p.us, 1000);
	for (unsigned int i = 0; i < 10; i++) /* idle: up to the longest sleep, and there */
		ct_export_pace_next(&p, 0, 16384);
	cr_assert_eq(p.us, CT_EXPORT_PACE_MAX_US);
	cr_assert_eq(ct_export_pace_next(&p, 16384, 16384), CT_EXPORT_PACE_MAX_US / 2);
	/* records per µs: none, 100 K/s, 1 M/s, 4 M/s, 100 M/s (faster than the shortest sleep) */
	static const double rates[] = {0, 0.1, 1, 4, 100};

	for (unsigned int r = 0; r < sizeof(rates) / sizeof(rates[0]); r++)
		for (uint32_t start = CT_EXPORT_PACE_MIN_US; start <= CT_EXPORT_PACE_MAX_US;
		     start *= 2) {
			pace_run(rates[r], 16384, start);
			pace_run(rates[r], 64, start); /* the smallest ring export-ring allows */
		}
}
