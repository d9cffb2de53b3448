/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/text and of the formats written with it, each against printf and inet_ntop
 * as the oracle: the number and IPv4 appends, the --flows-json members
 * (ct_report_flow_json_text) and the flow-end JSON line (ct_export_json_line) of random flows of
 * every class, byte for byte against the fprintf() formats they replaced (kept here), the
 * longest cases within the buffer sizes the headers promise, and the export view without its
 * text fields giving the same IPFIX records. No EAL.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ct_export.h"
#include "ct_ipfix.h"
#include "ct_parse.h"
#include "ct_report.h"
#include "ct_text.h"
#include "ct_worker.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A counter value: small, near a power of ten, or anything up to UINT64_MAX. */
static uint64_t
rnd_count(void)
{
	static const uint64_t edge[] = {0,
	                                9,
	                                10,
	                                99,
	                                100,
	                                999,
	                                1000,
	                                4294967295u,
	                                4294967296u,
	                                9999999999999999999u,
	                                10000000000000000000u,
	                                UINT64_MAX};

	switch (rnd() % 4) {
	case 0:
		return edge[rnd() % (sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return rnd() % 1000;
	case 2:
		return rnd() >> (rnd() % 64);
	default:
		return rnd();
	}
}

static char *
text_of(void (*put)(struct ct_text *, uint64_t), uint64_t v, char *buf, size_t size)
{
	struct ct_text t;

	ct_text_init(&t, buf, size - 1);
	put(&t, v);
	cr_assert(!t.full);
	buf[ct_text_len(&t, buf)] = '\0';
	return buf;
}

static void
put_u64(struct ct_text *t, uint64_t v)
{
	ct_text_u64(t, v);
}

static void
put_ms3(struct ct_text *t, uint64_t v)
{
	ct_text_u64_pad(t, v, 3);
}

Test(text, decimal_as_printf)
{
	char a[32], b[32];

	for (unsigned int i = 0; i < 200000; i++) {
		uint64_t v = rnd_count();

		snprintf(b, sizeof(b), "%" PRIu64, v);
		cr_assert_str_eq(text_of(put_u64, v, a, sizeof(a)), b);
		snprintf(b, sizeof(b), "%03" PRIu64, v);
		cr_assert_str_eq(text_of(put_ms3, v, a, sizeof(a)), b);
	}
}

Test(text, ip4_as_inet_ntop)
{
	char a[CT_TEXT_IP4_LEN + 1], b[INET_ADDRSTRLEN];
	uint8_t ip[4];

	for (unsigned int i = 0; i < 300000; i++) {
		uint32_t v = (uint32_t)rnd();

		if (i < 256 * 4) { /* every value in every position, the others random */
			memcpy(ip, &v, 4);
			ip[i / 256] = (uint8_t)(i % 256);
		} else {
			memcpy(ip, &v, 4);
		}
		a[ct_text_ip4_format(ip, a)] = '\0';
		cr_assert_not_null(inet_ntop(AF_INET, ip, b, sizeof(b)));
		cr_assert_str_eq(a, b);
	}
	memset(ip, 255, 4);
	cr_assert_eq(ct_text_ip4_format(ip, a), CT_TEXT_IP4_LEN);
}

Test(text, full_writes_nothing_more)
{
	char buf[8];
	struct ct_text t;

	ct_text_init(&t, buf, sizeof(buf));
	ct_text_lit(&t, "abcde");
	ct_text_u64(&t, 123); /* 8 bytes exactly */
	cr_assert(!t.full);
	cr_assert_eq(memcmp(buf, "abcde123", 8), 0);
	ct_text_char(&t, 'x');
	cr_assert(t.full);
	ct_text_init(&t, buf, 4);
	ct_text_lit(&t, "ab");
	ct_text_str(&t, "cde"); /* does not fit: nothing of it written, nor later */
	ct_text_char(&t, 'z');
	cr_assert(t.full);
	cr_assert_eq(ct_text_len(&t, buf), 2);
}

/* ---- the formats that were printf()s, as they were ---- */

static void
ref_json_fields(FILE *f, const struct ct_report_flow *fi)
{
	fprintf(f, "\"proto\":\"%s\",", ct_report_proto_name(fi->proto));
	if (fi->proto != IPPROTO_TCP)
		fprintf(f, "\"protonum\":%u,", fi->proto);
	if (ct_report_has_ports(fi->proto))
		fprintf(f, "\"orig\":{\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u}",
		        fi->src, fi->sport, fi->dst, fi->dport);
	else if (ct_report_is_icmp(fi->proto))
		fprintf(f,
		        "\"orig\":{\"src\":\"%s\",\"dst\":\"%s\",\"type\":%u,\"code\":%u,"
		        "\"id\":%u}",
		        fi->src, fi->dst, fi->icmp_type, fi->icmp_code, fi->icmp_id);
	else
		fprintf(f, "\"orig\":{\"src\":\"%s\",\"dst\":\"%s\"}", fi->src, fi->dst);
	fprintf(f, ",\"vlan\":%u,\"state\":\"%s\"", fi->vlan, ct_class_name(fi->state));
	if (fi->proto == IPPROTO_TCP)
		fprintf(f, ",\"client_state\":\"%s\",\"server_state\":\"%s\"",
		        ct_tcp_state_name(fi->client_state), ct_tcp_state_name(fi->server_state));
	fprintf(f,
	        ",\"packets\":{\"orig\":%" PRIu64 ",\"reply\":%" PRIu64
	        "},\"bytes\":{\"orig\":%" PRIu64 ",\"reply\":%" PRIu64
	        "},\"invalid\":%u,\"picked_up\":%s,\"assured\":%s,"
	        "\"expires_in_s\":%u,\"lcore\":%u",
	        fi->pkts[CT_DIR_ORIG], fi->pkts[CT_DIR_REPLY], fi->bytes[CT_DIR_ORIG],
	        fi->bytes[CT_DIR_REPLY], fi->invalid, fi->picked_up ? "true" : "false",
	        fi->assured ? "true" : "false", fi->expires_in_s, fi->lcore);
}

static void
ref_ms(FILE *f, const char *name, uint64_t ms)
{
	fprintf(f, ",\"%s\":%" PRIu64 ".%03u", name, ms / 1000, (unsigned int)(ms % 1000));
}

static void
ref_json_line(FILE *f, const struct ct_export_flow *e)
{
	uint64_t dur = e->last_ms >= e->first_ms ? e->last_ms - e->first_ms : 0;

	fputc('{', f);
	ref_json_fields(f, &e->fi);
	fprintf(f, ",\"history\":\"%s\",\"conn_state\":\"%s\",\"end_reason\":\"%s\"", e->history,
	        ct_conn_state_name(e->conn_state), ct_end_reason_name(e->end_reason));
	ref_ms(f, "first_seen", e->first_ms);
	ref_ms(f, "last_seen", e->last_ms);
	ref_ms(f, "duration_s", dur);
	fputs("}\n", f);
}

/* An address as the reports hold it: what ct_flow_key_addr_format() writes for a key. */
static void
rnd_addr(char *out, size_t size, uint8_t family)
{
	struct ct_flow_key k;

	memset(&k, 0, sizeof(k));
	k.family = family;
	for (unsigned int i = 0; i < 16; i++)
		k.addr[0][i] = (rnd() % 3 == 0) ? 0 : (uint8_t)rnd();
	cr_assert_gt(ct_flow_key_addr_format(&k, 0, out, size), 0);
}

static void
rnd_flow(struct ct_report_flow *fi)
{
	static const uint8_t protos[] = {
	        IPPROTO_TCP, IPPROTO_TCP,  IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6,
	        IPPROTO_GRE, IPPROTO_SCTP, 50,          253};

	memset(fi, 0, sizeof(*fi));
	fi->proto = protos[rnd() % sizeof(protos)];
	fi->family = (rnd() & 1) ? 4 : 6;
	rnd_addr(fi->src, sizeof(fi->src), fi->family);
	rnd_addr(fi->dst, sizeof(fi->dst), fi->family);
	fi->sport = (uint16_t)rnd();
	fi->dport = (uint16_t)rnd();
	fi->icmp_type = (uint8_t)rnd();
	fi->icmp_code = (uint8_t)rnd();
	fi->icmp_id = (uint16_t)rnd();
	fi->state = (uint8_t)(rnd() % CT_CLASS_MAX);
	fi->client_state = (uint8_t)(rnd() % CT_TCP_STATE_MAX);
	fi->server_state = (uint8_t)(rnd() % CT_TCP_STATE_MAX);
	fi->picked_up = rnd() & 1;
	fi->assured = rnd() & 1;
	fi->vlan = (uint16_t)(rnd() % 4096);
	for (unsigned int d = 0; d < CT_DIR_MAX; d++) {
		fi->pkts[d] = rnd_count();
		fi->bytes[d] = rnd_count();
	}
	fi->invalid = (uint32_t)rnd_count();
	fi->expires_in_s = (uint32_t)rnd_count();
	fi->lcore = (unsigned int)(rnd() % 1024);
}

static void
rnd_export(struct ct_export_flow *e)
{
	static const char *const hist[] = {"", "S", "ShADadFf", "ShAaDdFfRr", "SHADFRshadfr"};

	memset(e, 0, sizeof(*e));
	rnd_flow(&e->fi);
	e->first_ms = rnd_count();
	e->last_ms = (rnd() & 3) ? e->first_ms + rnd() % 100000000 : rnd_count();
	e->end_reason = (uint8_t)(rnd() % CT_END_MAX);
	e->conn_state = (uint8_t)(rnd() % CT_CS_MAX);
	snprintf(e->history, sizeof(e->history), "%s", hist[rnd() % 5]);
}

static char *
memfile(void (*write)(FILE *, const void *), const void *arg, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	cr_assert_not_null(f);
	write(f, arg);
	cr_assert_eq(fclose(f), 0);
	return buf;
}

static void
w_ref_fields(FILE *f, const void *a)
{
	ref_json_fields(f, a);
}

static void
w_fields(FILE *f, const void *a)
{
	ct_report_flow_json_fields(f, a);
}

static void
w_ref_line(FILE *f, const void *a)
{
	ref_json_line(f, a);
}

static void
w_line(FILE *f, const void *a)
{
	cr_assert_eq(ct_export_json_line(f, a), 0);
}

/* What @p write and its printf reference @p ref write for @p arg are the same. @return length. */
static size_t
same_as_printf(void (*write)(FILE *, const void *), void (*ref)(FILE *, const void *),
               const void *arg)
{
	size_t la, lb;
	char *a = memfile(write, arg, &la);
	char *b = memfile(ref, arg, &lb);

	cr_assert_str_eq(a, b);
	cr_assert_eq(la, lb);
	free(a);
	free(b);
	return la;
}

Test(text, flows_json_members_as_printf)
{
	struct ct_report_flow fi;

	for (unsigned int i = 0; i < 50000; i++) {
		rnd_flow(&fi);
		same_as_printf(w_fields, w_ref_fields, &fi);
	}
}

Test(text, flow_end_line_as_printf)
{
	struct ct_export_flow e;

	for (unsigned int i = 0; i < 50000; i++) {
		rnd_export(&e);
		same_as_printf(w_line, w_ref_line, &e);
	}
}

/* Every member at its longest: the buffer sizes of ct_report.h and ct_export.h hold it. */
Test(text, longest_line_fits)
{
	struct ct_export_flow e;
	size_t longest_state = 0, longest_tcp = 0;
	uint8_t ls = 0, lt = 0;

	for (unsigned int s = 0; s < CT_CLASS_MAX; s++)
		if (strlen(ct_class_name(s)) > longest_state)
			longest_state = strlen(ct_class_name(s)), ls = (uint8_t)s;
	for (unsigned int s = 0; s < CT_TCP_STATE_MAX; s++)
		if (strlen(ct_tcp_state_name(s)) > longest_tcp)
			longest_tcp = strlen(ct_tcp_state_name(s)), lt = (uint8_t)s;
	memset(&e, 0, sizeof(e));
	snprintf(e.fi.src, sizeof(e.fi.src), "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
	snprintf(e.fi.dst, sizeof(e.fi.dst), "%s", e.fi.src);
	e.fi.proto = IPPROTO_TCP;
	e.fi.family = 6;
	e.fi.sport = e.fi.dport = e.fi.vlan = UINT16_MAX;
	e.fi.state = ls;
	e.fi.client_state = e.fi.server_state = lt;
	e.fi.picked_up = false; /* "false" is longer than "true" */
	e.fi.assured = false;
	for (unsigned int d = 0; d < CT_DIR_MAX; d++)
		e.fi.pkts[d] = e.fi.bytes[d] = UINT64_MAX;
	e.fi.invalid = e.fi.expires_in_s = e.fi.lcore = UINT32_MAX;
	e.first_ms = 0;
	e.last_ms = UINT64_MAX;
	memset(e.history, 'S', CT_HISTORY_LEN);
	e.conn_state = CT_CS_RSTOS0;
	e.end_reason = CT_END_REOPENED;
	for (unsigned int r = 0; r < CT_END_MAX; r++)
		if (strlen(ct_end_reason_name(r)) > strlen(ct_end_reason_name(e.end_reason)))
			e.end_reason = (uint8_t)r;

	size_t line = same_as_printf(w_line, w_ref_line, &e);
	size_t fields = same_as_printf(w_fields, w_ref_fields, &e.fi);

	cr_assert_lt(line, CT_EXPORT_JSON_LINE_MAX, "%zu", line);
	cr_assert_lt(fields, CT_REPORT_JSON_FIELDS_MAX, "%zu", fields);
}

/* ---- the export view without its text fields (IPFIX only) ---- */

static void
put_ipfix(const struct ct_export_flow *e, uint8_t *out, size_t *len)
{
	static struct ct_ipfix x;
	const uint8_t *msg;

	ct_ipfix_init(&x, 7);
	cr_assert_eq(ct_ipfix_add_flow(&x, e, 1700000000), 0);
	*len = ct_ipfix_finish(&x, &msg);
	memcpy(out, msg, *len);
}

Test(text, ipfix_needs_no_text)
{
	for (unsigned int i = 0; i < 20000; i++) {
		struct ct_flow_end r;
		struct ct_export_flow a, b;
		uint8_t ma[512], mb[512];
		size_t la, lb;

		for (size_t k = 0; k < sizeof(r); k++)
			((uint8_t *)&r)[k] = (uint8_t)rnd();
		r.key.family = (rnd() & 1) ? 4 : 6;
		r.key.proto = (uint8_t)((rnd() & 1) ? IPPROTO_TCP : rnd());
		r.flow.tcp.state = (uint8_t)(rnd() % CT_CLASS_MAX);
		r.reason = (uint8_t)(rnd() % CT_END_MAX);
		ct_flow_end_export(&r, &a, true);
		ct_flow_end_export(&r, &b, false);
		cr_assert_str_eq(b.fi.src, "");
		cr_assert_str_eq(b.history, "");
		/* the same fields apart from the text ones */
		memcpy(b.fi.src, a.fi.src, sizeof(a.fi.src));
		memcpy(b.fi.dst, a.fi.dst, sizeof(a.fi.dst));
		cr_assert_eq(memcmp(&a.fi, &b.fi, sizeof(a.fi)), 0);
		cr_assert_eq(memcmp(a.addr, b.addr, sizeof(a.addr)), 0);
		cr_assert_eq(memcmp(a.tcp_flags, b.tcp_flags, sizeof(a.tcp_flags)), 0);
		cr_assert_eq(a.end_reason, b.end_reason);
		cr_assert_eq(a.first_ms, b.first_ms);
		put_ipfix(&a, ma, &la);
		put_ipfix(&b, mb, &lb);
		cr_assert_eq(la, lb);
		cr_assert_eq(memcmp(ma, mb, la), 0, "record %u", i);
	}
}
