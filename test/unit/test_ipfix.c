/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the IPFIX encoder (lib/export/ct_ipfix.h). Every message is taken apart by a
 * decoder of its own (RFC 7011 section 3: header, sets, template records, data records) that
 * knows nothing of the encoder, and checked against the templates and values written out here:
 * the field specifiers with their enterprise bits and RFC 5103's PEN 29305, the records of an
 * IPv4 TCP, an IPv6 UDP and ICMP echo flows, the sequence number across messages, the "no room"
 * path and the message size limit. No EAL.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ct_ipfix.h"

#define T_NOW  1700000100u
#define DOMAIN 0x01020304u

/* ---- an independent decoder ---- */

#define MAX_FIELDS 32
#define MAX_SETS   64
#define MAX_RECS   64

struct dec_field {
	uint16_t id; /* without the enterprise bit */
	uint16_t len;
	bool ent;
	uint32_t pen;
};

struct dec_tmpl {
	uint16_t id; /* 0: unused slot */
	unsigned int n;
	struct dec_field f[MAX_FIELDS];
};

/* Templates known to the collector, kept across messages (UDP: RFC 7011 section 8.4). */
struct session {
	struct dec_tmpl t[4];
};

struct dec_rec {
	const struct dec_tmpl *t;
	const uint8_t *p;
};

struct dec_msg {
	uint16_t version, length;
	uint32_t export_time, seq, domain;
	unsigned int nsets;
	uint16_t set_id[MAX_SETS], set_len[MAX_SETS];
	unsigned int nrecs;
	struct dec_rec rec[MAX_RECS];
};

static uint64_t
be(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static struct dec_tmpl *
tmpl_slot(struct session *s, uint16_t id, bool add)
{
	for (unsigned int i = 0; i < 4; i++)
		if (s->t[i].id == id)
			return &s->t[i];
	if (!add)
		return NULL;
	for (unsigned int i = 0; i < 4; i++)
		if (s->t[i].id == 0)
			return &s->t[i];
	cr_assert_fail("more than 4 templates");
	return NULL;
}

static size_t
tmpl_rec_len(const struct dec_tmpl *t)
{
	size_t n = 0;

	for (unsigned int i = 0; i < t->n; i++)
		n += t->f[i].len;
	return n;
}

static void
decode_templates(struct session *s, const uint8_t *p, size_t n)
{
	while (n > 0) {
		cr_assert_geq(n, 4, "template record header cut");
		uint16_t id = (uint16_t)be(p, 2), cnt = (uint16_t)be(p + 2, 2);
		struct dec_tmpl *t = tmpl_slot(s, id, true);

		cr_assert_geq(id, 256, "template id %u below 256", id);
		cr_assert_leq(cnt, MAX_FIELDS);
		p += 4, n -= 4;
		t->id = id;
		t->n = cnt;
		for (unsigned int i = 0; i < cnt; i++) {
			struct dec_field *f = &t->f[i];

			cr_assert_geq(n, 4, "field specifier cut");
			f->id = be(p, 2) & 0x7fff;
			f->ent = (p[0] & 0x80) != 0;
			f->len = (uint16_t)be(p + 2, 2);
			f->pen = 0;
			cr_assert_neq(f->len, 0xffff, "no variable-length fields expected");
			p += 4, n -= 4;
			if (f->ent) {
				cr_assert_geq(n, 4, "enterprise number cut");
				f->pen = (uint32_t)be(p, 4);
				p += 4, n -= 4;
			}
		}
	}
}

/* Decode message @p m of @p n bytes, asserting it is well formed. */
static void
decode(struct session *s, const uint8_t *m, size_t n, struct dec_msg *d)
{
	memset(d, 0, sizeof(*d));
	cr_assert_geq(n, 16, "message shorter than its header");
	cr_assert_leq(n, CT_IPFIX_MSG_MAX, "message of %zu bytes", n);
	d->version = (uint16_t)be(m, 2);
	d->length = (uint16_t)be(m + 2, 2);
	d->export_time = (uint32_t)be(m + 4, 4);
	d->seq = (uint32_t)be(m + 8, 4);
	d->domain = (uint32_t)be(m + 12, 4);
	cr_assert_eq(d->version, 10);
	cr_assert_eq(d->length, n, "header length %u, message %zu bytes", d->length, n);
	for (size_t off = 16; off < n;) {
		cr_assert_geq(n - off, 4, "set header cut");
		uint16_t id = (uint16_t)be(m + off, 2), len = (uint16_t)be(m + off + 2, 2);

		cr_assert_geq(len, 4, "set length %u", len);
		cr_assert_leq(len, n - off, "set of %u bytes past the message's end", len);
		cr_assert_lt(d->nsets, MAX_SETS);
		d->set_id[d->nsets] = id;
		d->set_len[d->nsets++] = len;
		if (id == 2) {
			decode_templates(s, m + off + 4, len - 4u);
		} else {
			const struct dec_tmpl *t = tmpl_slot(s, id, false);

			cr_assert_geq(id, 256, "set id %u", id);
			cr_assert_not_null(t, "data set %u before its template", id);
			size_t rl = tmpl_rec_len(t);

			cr_assert_eq((len - 4u) % rl, 0, "set %u: %u bytes, records of %zu", id,
			             len - 4u, rl);
			for (size_t r = off + 4; r < off + len; r += rl) {
				cr_assert_lt(d->nrecs, MAX_RECS);
				d->rec[d->nrecs].t = t;
				d->rec[d->nrecs++].p = m + r;
			}
		}
		off += len;
	}
}

/* Bytes of field @p id (reverse: enterprise 29305) of record @p r, asserting its length. */
static const uint8_t *
rec_field(const struct dec_rec *r, uint16_t id, bool reverse, uint16_t len)
{
	const uint8_t *p = r->p;

	for (unsigned int i = 0; i < r->t->n; i++) {
		const struct dec_field *f = &r->t->f[i];

		if (f->id == id && f->ent == reverse) {
			cr_assert_eq(f->len, len, "field %u%s: %u bytes", id, reverse ? "r" : "",
			             f->len);
			return p;
		}
		p += f->len;
	}
	cr_assert_fail("field %u%s not in template %u", id, reverse ? "r" : "", r->t->id);
	return NULL;
}

static uint64_t
rec_int(const struct dec_rec *r, uint16_t id, bool reverse, uint16_t len)
{
	return be(rec_field(r, id, reverse, len), len);
}

/* ---- the expectations ---- */

struct want_field {
	uint16_t id, len;
	bool reverse;
};

static const struct want_field want_v4[] = {
        {8, 4, false},   /* sourceIPv4Address */
        {12, 4, false},  /* destinationIPv4Address */
        {7, 2, false},   /* sourceTransportPort */
        {11, 2, false},  /* destinationTransportPort */
        {4, 1, false},   /* protocolIdentifier */
        {152, 8, false}, /* flowStartMilliseconds */
        {153, 8, false}, /* flowEndMilliseconds */
        {1, 8, false},   /* octetDeltaCount */
        {2, 8, false},   /* packetDeltaCount */
        {6, 2, false},   /* tcpControlBits (RFC 7125: 2 bytes) */
        {136, 1, false}, /* flowEndReason */
        {1, 8, true},    /* reverse octetDeltaCount */
        {2, 8, true},    /* reverse packetDeltaCount */
        {6, 2, true},    /* reverse tcpControlBits */
};

static const struct want_field want_v6[] = {
        {27, 16, false}, /* sourceIPv6Address */
        {28, 16, false}, /* destinationIPv6Address */
        {7, 2, false},   /* sourceTransportPort */
        {11, 2, false},  /* destinationTransportPort */
        {4, 1, false},   /* protocolIdentifier */
        {152, 8, false}, /* flowStartMilliseconds */
        {153, 8, false}, /* flowEndMilliseconds */
        {1, 8, false},   /* octetDeltaCount */
        {2, 8, false},   /* packetDeltaCount */
        {6, 2, false},   /* tcpControlBits (RFC 7125: 2 bytes) */
        {136, 1, false}, /* flowEndReason */
        {1, 8, true},    /* reverse octetDeltaCount */
        {2, 8, true},    /* reverse packetDeltaCount */
        {6, 2, true},    /* reverse tcpControlBits */
};

static void
check_template(const struct session *s, uint16_t id, const struct want_field *w, unsigned int n)
{
	const struct dec_tmpl *t = tmpl_slot((struct session *)s, id, false);

	cr_assert_not_null(t, "template %u missing", id);
	cr_assert_eq(t->n, n, "template %u: %u fields", id, t->n);
	for (unsigned int i = 0; i < n; i++) {
		cr_expect_eq(t->f[i].id, w[i].id, "template %u field %u: id %u, want %u", id, i,
		             t->f[i].id, w[i].id);
		cr_expect_eq(t->f[i].len, w[i].len, "template %u field %u: len %u", id, i,
		             t->f[i].len);
		cr_expect_eq(t->f[i].ent, w[i].reverse, "template %u field %u: enterprise bit", id,
		             i);
		cr_expect_eq(t->f[i].pen, w[i].reverse ? 29305u : 0u,
		             "template %u field %u: PEN %u", id, i, t->f[i].pen);
	}
}

static struct ct_export_flow
tcp4_flow(void)
{
	struct ct_export_flow e;

	memset(&e, 0, sizeof(e));
	e.fi.proto = IPPROTO_TCP;
	e.fi.family = 4;
	e.fi.sport = 40000;
	e.fi.dport = 443;
	e.fi.pkts[CT_DIR_ORIG] = 10;
	e.fi.pkts[CT_DIR_REPLY] = 0x100000008ull; /* needs all 8 bytes */
	e.fi.bytes[CT_DIR_ORIG] = 1500;
	e.fi.bytes[CT_DIR_REPLY] = 0x123456789abull;
	memcpy(e.addr[CT_DIR_ORIG], (const uint8_t[]){10, 1, 2, 3}, 4);
	memcpy(e.addr[CT_DIR_REPLY], (const uint8_t[]){192, 0, 2, 80}, 4);
	e.first_ms = 1700000000123ull;
	e.last_ms = 1700000005456ull;
	e.tcp_flags[CT_DIR_ORIG] = 0x1b;  /* FIN SYN PSH ACK */
	e.tcp_flags[CT_DIR_REPLY] = 0x16; /* SYN RST ACK */
	e.end_reason = CT_END_CLOSED;
	return e;
}

static struct ct_export_flow
udp6_flow(void)
{
	struct ct_export_flow e;
	static const uint8_t c[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	static const uint8_t s[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, [14] = 0xab, [15] = 2};

	memset(&e, 0, sizeof(e));
	e.fi.proto = IPPROTO_UDP;
	e.fi.family = 6;
	e.fi.sport = 5353;
	e.fi.dport = 53;
	e.fi.pkts[CT_DIR_ORIG] = 3;
	e.fi.pkts[CT_DIR_REPLY] = 2;
	e.fi.bytes[CT_DIR_ORIG] = 300;
	e.fi.bytes[CT_DIR_REPLY] = 512;
	memcpy(e.addr[CT_DIR_ORIG], c, 16);
	memcpy(e.addr[CT_DIR_REPLY], s, 16);
	e.first_ms = 1700000001000ull;
	e.last_ms = 1700000031000ull;
	e.tcp_flags[CT_DIR_ORIG] = 0x12; /* not TCP: must not be exported */
	e.tcp_flags[CT_DIR_REPLY] = 0x12;
	e.end_reason = CT_END_IDLE;
	return e;
}

static struct ct_export_flow
icmp4_flow(void)
{
	struct ct_export_flow e;

	memset(&e, 0, sizeof(e));
	e.fi.proto = IPPROTO_ICMP;
	e.fi.family = 4;
	e.fi.sport = 1234; /* ports of a non-port protocol: ignored */
	e.fi.dport = 5678;
	e.fi.icmp_type = 8;
	e.fi.icmp_code = 0;
	e.fi.icmp_id = 77;
	e.fi.pkts[CT_DIR_ORIG] = 4;
	e.fi.pkts[CT_DIR_REPLY] = 4;
	e.fi.bytes[CT_DIR_ORIG] = 336;
	e.fi.bytes[CT_DIR_REPLY] = 336;
	memcpy(e.addr[CT_DIR_ORIG], (const uint8_t[]){10, 0, 0, 1}, 4);
	memcpy(e.addr[CT_DIR_REPLY], (const uint8_t[]){10, 0, 0, 2}, 4);
	e.first_ms = 1700000002000ull;
	e.last_ms = 1700000002300ull;
	e.end_reason = CT_END_FLUSHED;
	return e;
}

/* Finish the open message and decode it. */
static size_t
finish_decode(struct ct_ipfix *x, struct session *s, struct dec_msg *d)
{
	const uint8_t *m = NULL;
	size_t n = ct_ipfix_finish(x, &m);

	cr_assert_gt(n, 0, "no message open");
	cr_assert_eq(m, x->buf);
	decode(s, m, n, d);
	return n;
}

/* ---- tests ---- */

Test(ipfix, header_carries_version_length_time_sequence_domain)
{
	struct ct_ipfix x;
	struct session s = {0};
	struct dec_msg d;

	ct_ipfix_init(&x, DOMAIN);
	cr_assert_eq(ct_ipfix_add_templates(&x, T_NOW), 0);
	size_t n = finish_decode(&x, &s, &d);

	cr_expect_eq(d.version, 10);
	cr_expect_eq(d.length, n);
	cr_expect_eq(d.export_time, T_NOW);
	cr_expect_eq(d.seq, 0);
	cr_expect_eq(d.domain, DOMAIN);
}

Test(ipfix, finish_without_message_gives_nothing)
{
	struct ct_ipfix x;
	const uint8_t *m = NULL;

	ct_ipfix_init(&x, 1);
	cr_expect_eq(ct_ipfix_finish(&x, &m), 0);
	cr_assert_eq(ct_ipfix_add_templates(&x, T_NOW), 0);
	cr_assert_gt(ct_ipfix_finish(&x, &m), 0);
	cr_expect_eq(ct_ipfix_finish(&x, &m), 0, "a finished message is not finished again");
}

Test(ipfix, template_set_lists_both_templates_with_reverse_elements)
{
	struct ct_ipfix x;
	struct session s = {0};
	struct dec_msg d;

	ct_ipfix_init(&x, DOMAIN);
	cr_assert_eq(ct_ipfix_add_templates(&x, T_NOW), 0);
	size_t n = finish_decode(&x, &s, &d);

	cr_assert_eq(d.nsets, 1);
	cr_expect_eq(d.set_id[0], 2);
	/* 4 set header + 2 * (4 record header + 11 * 4 + 3 * 8 with PEN) */
	cr_expect_eq(d.set_len[0], 148);
	cr_expect_eq(n, 16 + 148);
	/* the raw bytes of the first template's header and its first reverse specifier */
	const uint8_t *m = x.buf;

	cr_expect_eq(be(m + 20, 2), 256);
	cr_expect_eq(be(m + 22, 2), 14);
	cr_expect_eq(be(m + 24 + 11 * 4, 4), 0x80010008u, "reverse octetDeltaCount, 8 bytes");
	cr_expect_eq(be(m + 24 + 11 * 4 + 4, 4), 29305u);
	check_template(&s, 256, want_v4, sizeof(want_v4) / sizeof(want_v4[0]));
	check_template(&s, 257, want_v6, sizeof(want_v6) / sizeof(want_v6[0]));
}

Test(ipfix, ipv4_tcp_record_values)
{
	struct ct_ipfix x;
	struct session s = {0};
	struct dec_msg d;
	struct ct_export_flow e = tcp4_flow();

	ct_ipfix_init(&x, DOMAIN);
	cr_assert_eq(ct_ipfix_add_templates(&x, T_NOW), 0);
	cr_assert_eq(ct_ipfix_add_flow(&x, &e, T_NOW), 0);
	finish_decode(&x, &s, &d);

	cr_assert_eq(d.nsets, 2);
	cr_expect_eq(d.set_id[1], 256);
	cr_expect_eq(d.set_len[1], 4 + 66);
	cr_assert_eq(d.nrecs, 1);
	const struct dec_rec *r = &d.rec[0];

	cr_expect_eq(be(rec_field(r, 8, false, 4), 4), 0x0a010203u);
	cr_expect_eq(be(rec_field(r, 12, false, 4), 4), 0xc0000250u);
	cr_expect_eq(rec_int(r, 7, false, 2), 40000);
	cr_expect_eq(rec_int(r, 11, false, 2), 443);
	cr_expect_eq(rec_int(r, 4, false, 1), 6);
	cr_expect_eq(rec_int(r, 152, false, 8), 1700000000123ull);
	cr_expect_eq(rec_int(r, 153, false, 8), 1700000005456ull);
	cr_expect_eq(rec_int(r, 1, false, 8), 1500);
	cr_expect_eq(rec_int(r, 2, false, 8), 10);
	cr_expect_eq(rec_int(r, 6, false, 2), 0x1b);
	cr_expect_eq(rec_int(r, 136, false, 1), 3, "closed: end of flow detected");
	cr_expect_eq(rec_int(r, 1, true, 8), 0x123456789abull);
	cr_expect_eq(rec_int(r, 2, true, 8), 0x100000008ull);
	cr_expect_eq(rec_int(r, 6, true, 2), 0x16);
}

Test(ipfix, ipv6_udp_record_values)
{
	struct ct_ipfix x;
	struct session s = {0};
	struct dec_msg d;
	struct ct_export_flow e = udp6_flow();
	static const uint8_t c[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t sv[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0, 0,    0,
	                               0,    0,    0,    0,    0,    0, 0xab, 2};

	ct_ipfix_init(&x, DOMAIN);
	cr_assert_eq(ct_ipfix_add_templates(&x, T_NOW), 0);
	cr_assert_eq(ct_ipfix_add_flow(&x, &e, T_NOW), 0);
	finish_decode(&x, &s, &d);

	cr_assert_eq(d.nsets, 2);
	cr_expect_eq(d.set_id[1], 257);
	cr_expect_eq(d.set_len[1], 4 + 90);
	cr_assert_eq(d.nrecs, 1);
	const struct dec_rec *r = &d.rec[0];

	cr_expect_eq(memcmp(rec_field(r, 27, false, 16), c, 16), 0);
	cr_expect_eq(memcmp(rec_field(r, 28, false, 16), sv, 16), 0);
	cr_expect_eq(rec_int(r, 7, false, 2), 5353);
	cr_expect_eq(rec_int(r, 11, false, 2), 53);
	cr_expect_eq(rec_int(r, 4, false, 1), 17);
	cr_expect_eq(rec_int(r, 152, false, 8), 1700000001000ull);
	cr_expect_eq(rec_int(r, 153, false, 8), 1700000031000ull);
	cr_expect_eq(rec_int(r, 1, false, 8), 300);
	cr_expect_eq(rec_int(r, 2, false, 8), 3);
	cr_expect_eq(rec_int(r, 6, false, 2), 0, "UDP has no TCP flags");
	cr_expect_eq(rec_int(r, 136, false, 1), 1, "idle timeout");
	cr_expect_eq(rec_int(r, 1, true, 8), 512);
	cr_expect_eq(rec_int(r, 2, true, 8), 2);
	cr_expect_eq(rec_int(r, 6, true, 2), 0);
}

Test(ipfix, icmp_echo_puts_type_and_code_in_destination_port)
{
	struct ct_ipfix x;
	struct session s = {0};
	struct dec_msg d;
	struct ct_export_flow e4 = icmp4_flow(), e6 = udp6_flow(), other = icmp4_flow();

	e6.fi.proto = IPPROTO_ICMPV6;
	e6.fi.icmp_type = 128;
	e6.fi.icmp_code = 3; /* not an echo code, but shows where the code goes */
	other.fi.proto = 47; /* GRE: no ports */
	other.fi.icmp_type = 8;
	ct_ipfix_init(&x, DOMAIN);
	cr_assert_eq(ct_ipfix_add_templates(&x, T_NOW), 0);
	cr_assert_eq(ct_ipfix_add_flow(&x, &e4, T_NOW), 0);
	cr_assert_eq(ct_ipfix_add_flow(&x, &e6, T_NOW), 0);
	cr_assert_eq(ct_ipfix_add_flow(&x, &other, T_NOW), 0);
	finish_decode(&x, &s, &d);

	cr_assert_eq(d.nrecs, 3);
	const struct dec_rec *r = &d.rec[0];

	cr_expect_eq(r->t->id, 256);
	cr_expect_eq(be(rec_field(r, 8, false, 4), 4), 0x0a000001u);
	cr_expect_eq(be(rec_field(r, 12, false, 4), 4), 0x0a000002u);
	cr_expect_eq(rec_int(r, 4, false, 1), 1);
	cr_expect_eq(rec_int(r, 7, false, 2), 0);
	cr_expect_eq(rec_int(r, 11, false, 2), 0x0800, "echo request: type 8, code 0");
	cr_expect_eq(rec_int(r, 2, false, 8), 4);
	cr_expect_eq(rec_int(r, 1, false, 8), 336);
	cr_expect_eq(rec_int(r, 2, true, 8), 4);
	cr_expect_eq(rec_int(r, 1, true, 8), 336);
	cr_expect_eq(rec_int(r, 6, false, 2), 0);
	cr_expect_eq(rec_int(r, 136, false, 1), 4, "flushed: forced end");

	r = &d.rec[1];
	cr_expect_eq(r->t->id, 257);
	cr_expect_eq(rec_int(r, 4, false, 1), 58);
	cr_expect_eq(rec_int(r, 7, false, 2), 0);
	cr_expect_eq(rec_int(r, 11, false, 2), 128 << 8 | 3);

	r = &d.rec[2];
	cr_expect_eq(rec_int(r, 4, false, 1), 47);
	cr_expect_eq(rec_int(r, 7, false, 2), 0);
	cr_expect_eq(rec_int(r, 11, false, 2), 0, "no ports, no ICMP: 0");
}

Test(ipfix, a_set_closes_when_another_set_id_starts)
{
	struct ct_ipfix x;
	struct session s = {0};
	struct dec_msg d;
	struct ct_export_flow v4 = tcp4_flow(), v6 = udp6_flow();

	ct_ipfix_init(&x, DOMAIN);
	cr_assert_eq(ct_ipfix_add_templates(&x, T_NOW), 0);
	cr_assert_eq(ct_ipfix_add_flow(&x, &v4, T_NOW), 0);
	cr_assert_eq(ct_ipfix_add_flow(&x, &v4, T_NOW), 0);
	cr_assert_eq(ct_ipfix_add_flow(&x, &v6, T_NOW), 0);
	cr_assert_eq(ct_ipfix_add_flow(&x, &v4, T_NOW), 0);
	size_t n = finish_decode(&x, &s, &d);

	static const uint16_t ids[] = {2, 256, 257, 256};
	static const uint16_t lens[] = {148, 4 + 2 * 66, 4 + 90, 4 + 66};

	cr_assert_eq(d.nsets, 4);
	for (unsigned int i = 0; i < 4; i++) {
		cr_expect_eq(d.set_id[i], ids[i], "set %u: id %u", i, d.set_id[i]);
		cr_expect_eq(d.set_len[i], lens[i], "set %u: length %u", i, d.set_len[i]);
	}
	cr_expect_eq(n, 16 + 148 + 136 + 94 + 70);
	cr_expect_eq(d.nrecs, 4);
}

Test(ipfix, sequence_counts_data_records_of_earlier_messages)
{
	struct ct_ipfix x;
	struct session s = {0};
	struct dec_msg d;
	struct ct_export_flow v4 = tcp4_flow(), v6 = udp6_flow();

	ct_ipfix_init(&x, DOMAIN);
	cr_assert_eq(ct_ipfix_add_templates(&x, T_NOW), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ct_ipfix_add_flow(&x, &v4, T_NOW), 0);
	finish_decode(&x, &s, &d);
	cr_expect_eq(d.seq, 0);
	cr_expect_eq(d.nrecs, 3);

	cr_assert_eq(ct_ipfix_add_flow(&x, &v6, T_NOW + 1), 0);
	cr_assert_eq(ct_ipfix_add_flow(&x, &v4, T_NOW + 1), 0);
	finish_decode(&x, &s, &d);
	cr_expect_eq(d.seq, 3);
	cr_expect_eq(d.export_time, T_NOW + 1);
	cr_expect_eq(d.nrecs, 2);
	cr_expect_eq(d.set_id[0], 257, "no template set in the second message");

	cr_assert_eq(ct_ipfix_add_templates(&x, T_NOW + 2), 0);
	finish_decode(&x, &s, &d);
	cr_expect_eq(d.seq, 5);

	cr_assert_eq(ct_ipfix_add_flow(&x, &v4, T_NOW + 3), 0);
	finish_decode(&x, &s, &d);
	cr_expect_eq(d.seq, 5, "template records are not counted");
}

/* Room a record of @p rec_len bytes needs in the open message: its set's header if new. */
static size_t
need(const struct dec_msg *d, uint16_t set_id, size_t rec_len)
{
	bool same = d->nsets > 0 && d->set_id[d->nsets - 1] == set_id;

	return rec_len + (same ? 0 : 4);
}

Test(ipfix, full_message_refuses_record_and_stays_intact)
{
	struct ct_ipfix x;
	struct session s = {0};
	struct dec_msg d;
	struct ct_export_flow v4 = tcp4_flow();
	static uint8_t before[CT_IPFIX_MSG_MAX];
	unsigned int n = 0;

	ct_ipfix_init(&x, DOMAIN);
	cr_assert_eq(ct_ipfix_add_templates(&x, T_NOW), 0);
	while (ct_ipfix_add_flow(&x, &v4, T_NOW) == 0) {
		v4.fi.sport++;
		n++;
		cr_assert_lt(n, 100, "never refused");
	}
	/* 16 + 148 + 4 + 18 * 66 = 1356: a nineteenth record (66) would pass 1400 */
	cr_expect_eq(n, 18);
	size_t len = x.len;

	memcpy(before, x.buf, len);
	cr_expect_eq(ct_ipfix_add_templates(&x, T_NOW), -1);
	cr_expect_eq(x.len, len);
	cr_expect_eq(memcmp(before, x.buf, len), 0, "refusals changed the message");

	size_t mlen = finish_decode(&x, &s, &d);

	cr_expect_eq(mlen, len);
	cr_expect_eq(d.nrecs, 18);
	cr_expect_gt(len + need(&d, 256, 66), CT_IPFIX_MSG_MAX, "refused a record that fit");
	cr_expect_eq(d.seq, 0);
	cr_expect_eq(rec_int(&d.rec[17], 7, false, 2), 40000 + 17);

	/* the refused record goes into the next message */
	cr_assert_eq(ct_ipfix_add_flow(&x, &v4, T_NOW), 0);
	finish_decode(&x, &s, &d);
	cr_expect_eq(d.seq, 18);
	cr_assert_eq(d.nrecs, 1);
	cr_expect_eq(rec_int(&d.rec[0], 7, false, 2), 40000 + 18);
}

/* Add templates (k == 0) or flow f[k % 3]. */
static int
add(struct ct_ipfix *x, const struct ct_export_flow *f, unsigned int k)
{
	return k == 0 ? ct_ipfix_add_templates(x, T_NOW) : ct_ipfix_add_flow(x, &f[k % 3], T_NOW);
}

Test(ipfix, messages_never_exceed_the_limit)
{
	struct ct_ipfix x;
	struct session s = {0};
	struct dec_msg d;
	struct ct_export_flow f[3] = {tcp4_flow(), udp6_flow(), icmp4_flow()};
	uint32_t added = 0, decoded = 0, msgs = 0;
	uint32_t rng = 12345;

	ct_ipfix_init(&x, DOMAIN);
	cr_assert_eq(ct_ipfix_add_templates(&x, T_NOW), 0);
	for (int op = 0; op < 2000; op++) {
		rng = rng * 1103515245u + 12345u;
		unsigned int k = (rng >> 16) % 16;

		if (add(&x, f, k) != 0) {
			finish_decode(&x, &s, &d);
			cr_expect_eq(d.seq, decoded);
			decoded += d.nrecs;
			msgs++;
			cr_assert_eq(add(&x, f, k), 0, "refused in an empty message");
		}
		cr_assert_leq(x.len, CT_IPFIX_MSG_MAX);
		added += k != 0;
	}
	finish_decode(&x, &s, &d);
	cr_expect_eq(d.seq, decoded);
	decoded += d.nrecs;
	cr_expect_eq(decoded, added);
	cr_expect_gt(msgs, 10);
}
