/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX encoder (ct_ipfix.h): RFC 7011 messages of one template set and data sets, records as
 * RFC 5103 biflows. One table of information elements gives both the templates and the order in
 * which a data record's values are written, so the two cannot disagree. Every integer is
 * written byte by byte, big endian.
 */

#include <stdbool.h>
#include <string.h>

#include "ct_ipfix.h"

#define VERSION          10
#define MSG_HDR_LEN      16
#define SET_HDR_LEN      4
#define SET_ID_TEMPLATES 2
#define ENTERPRISE_BIT   0x8000u
#define PEN_REVERSE      29305u /* RFC 5103 section 6.1: reverse information elements */

/* IANA information element ids. */
enum {
	IE_OCTET_DELTA_COUNT = 1,
	IE_PACKET_DELTA_COUNT = 2,
	IE_PROTOCOL_IDENTIFIER = 4,
	IE_TCP_CONTROL_BITS = 6,
	IE_SOURCE_TRANSPORT_PORT = 7,
	IE_SOURCE_IPV4_ADDRESS = 8,
	IE_DESTINATION_TRANSPORT_PORT = 11,
	IE_DESTINATION_IPV4_ADDRESS = 12,
	IE_SOURCE_IPV6_ADDRESS = 27,
	IE_DESTINATION_IPV6_ADDRESS = 28,
	IE_FLOW_END_REASON = 136,
	IE_FLOW_START_MILLISECONDS = 152,
	IE_FLOW_END_MILLISECONDS = 153,
};

/* The field specifiers of both templates, in record order. */
static const struct ie {
	uint16_t id[2]; /* in the IPv4 and the IPv6 template */
	uint8_t len[2]; /* bytes in each */
	bool reverse;   /* RFC 5103 reverse element: enterprise bit, PEN_REVERSE */
} ies[] = {
        {{IE_SOURCE_IPV4_ADDRESS, IE_SOURCE_IPV6_ADDRESS}, {4, 16}, false},
        {{IE_DESTINATION_IPV4_ADDRESS, IE_DESTINATION_IPV6_ADDRESS}, {4, 16}, false},
        {{IE_SOURCE_TRANSPORT_PORT, IE_SOURCE_TRANSPORT_PORT}, {2, 2}, false},
        {{IE_DESTINATION_TRANSPORT_PORT, IE_DESTINATION_TRANSPORT_PORT}, {2, 2}, false},
        {{IE_PROTOCOL_IDENTIFIER, IE_PROTOCOL_IDENTIFIER}, {1, 1}, false},
        {{IE_FLOW_START_MILLISECONDS, IE_FLOW_START_MILLISECONDS}, {8, 8}, false},
        {{IE_FLOW_END_MILLISECONDS, IE_FLOW_END_MILLISECONDS}, {8, 8}, false},
        {{IE_OCTET_DELTA_COUNT, IE_OCTET_DELTA_COUNT}, {8, 8}, false},
        {{IE_PACKET_DELTA_COUNT, IE_PACKET_DELTA_COUNT}, {8, 8}, false},
        /* RFC 7125: two bytes, the header's flags field */
        {{IE_TCP_CONTROL_BITS, IE_TCP_CONTROL_BITS}, {2, 2}, false},
        {{IE_FLOW_END_REASON, IE_FLOW_END_REASON}, {1, 1}, false},
        {{IE_OCTET_DELTA_COUNT, IE_OCTET_DELTA_COUNT}, {8, 8}, true},
        {{IE_PACKET_DELTA_COUNT, IE_PACKET_DELTA_COUNT}, {8, 8}, true},
        {{IE_TCP_CONTROL_BITS, IE_TCP_CONTROL_BITS}, {2, 2}, true},
};

#define NIES (sizeof(ies) / sizeof(ies[0]))

static const uint16_t template_id[2] = {CT_IPFIX_TEMPLATE_V4, CT_IPFIX_TEMPLATE_V6};

/* Write the low @p n bytes of @p v at @p p, most significant first. */
static uint8_t *
put(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = n; i > 0; i--) {
		p[i - 1] = (uint8_t)v;
		v >>= 8;
	}
	return p + n;
}

/* Bytes of one data record of template @p t (0: IPv4, 1: IPv6). */
static size_t
record_len(unsigned int t)
{
	size_t n = 0;

	for (size_t i = 0; i < NIES; i++)
		n += ies[i].len[t];
	return n;
}

/* Bytes of one template record. */
static size_t
template_len(void)
{
	size_t n = 4;

	for (size_t i = 0; i < NIES; i++)
		n += ies[i].reverse ? 8 : 4;
	return n;
}

/* Fill in the open set's length and close it. */
static void
close_set(struct ct_ipfix *x)
{
	if (x->set_off == 0)
		return;
	put(x->buf + x->set_off + 2, x->len - x->set_off, 2);
	x->set_off = 0;
	x->set_id = 0;
}

/*
 * Room for @p n bytes in a set @p set_id: opens the message and the set as needed and returns
 * where the bytes go, or NULL, with nothing changed, if the message has no room.
 */
static uint8_t *
reserve(struct ct_ipfix *x, uint16_t set_id, size_t n, uint32_t now_s)
{
	size_t len = x->len ? x->len : MSG_HDR_LEN;
	bool new_set = x->set_off == 0 || x->set_id != set_id;
	uint8_t *p;

	if (len + (new_set ? SET_HDR_LEN : 0) + n > CT_IPFIX_MSG_MAX)
		return NULL;
	if (x->len == 0) {
		p = put(x->buf, VERSION, 2);
		p = put(p, 0, 2);     /* length: ct_ipfix_finish() */
		p = put(p, now_s, 4); /* export time */
		p = put(p, 0, 4);     /* sequence number: ct_ipfix_finish() */
		put(p, x->domain, 4);
		x->len = MSG_HDR_LEN;
		x->nrec = 0;
	}
	if (new_set) {
		close_set(x);
		x->set_off = (uint16_t)x->len;
		x->set_id = set_id;
		put(put(x->buf + x->len, set_id, 2), 0, 2);
		x->len += SET_HDR_LEN;
	}
	p = x->buf + x->len;
	x->len += n;
	return p;
}

void
ct_ipfix_init(struct ct_ipfix *x, uint32_t domain)
{
	memset(x, 0, sizeof(*x));
	x->domain = domain;
}

int
ct_ipfix_add_templates(struct ct_ipfix *x, uint32_t now_s)
{
	uint8_t *p = reserve(x, SET_ID_TEMPLATES, 2 * template_len(), now_s);

	if (p == NULL)
		return -1;
	for (unsigned int t = 0; t < 2; t++) {
		p = put(p, template_id[t], 2);
		p = put(p, NIES, 2);
		for (size_t i = 0; i < NIES; i++) {
			p = put(p, ies[i].id[t] | (ies[i].reverse ? ENTERPRISE_BIT : 0), 2);
			p = put(p, ies[i].len[t], 2);
			if (ies[i].reverse)
				p = put(p, PEN_REVERSE, 4);
		}
	}
	return 0;
}

/* Write field @p ie of template @p t (0: IPv4, 1: IPv6) of @p e at @p p. */
static uint8_t *
field(uint8_t *p, const struct ct_export_flow *e, const struct ie *ie, unsigned int t)
{
	const struct ct_report_flow *fi = &e->fi;
	unsigned int d = ie->reverse ? CT_DIR_REPLY : CT_DIR_ORIG;
	uint64_t v = 0;

	switch (ie->id[t]) {
	case IE_SOURCE_IPV4_ADDRESS:
	case IE_SOURCE_IPV6_ADDRESS:
		memcpy(p, e->addr[CT_DIR_ORIG], ie->len[t]);
		return p + ie->len[t];
	case IE_DESTINATION_IPV4_ADDRESS:
	case IE_DESTINATION_IPV6_ADDRESS:
		memcpy(p, e->addr[CT_DIR_REPLY], ie->len[t]);
		return p + ie->len[t];
	case IE_SOURCE_TRANSPORT_PORT:
		v = ct_report_has_ports(fi->proto) ? fi->sport : 0;
		break;
	case IE_DESTINATION_TRANSPORT_PORT:
		if (ct_report_has_ports(fi->proto))
			v = fi->dport;
		else if (ct_report_is_icmp(fi->proto)) /* type << 8 | code, as nfdump reads it */
			v = (uint16_t)(fi->icmp_type << 8 | fi->icmp_code);
		break;
	case IE_PROTOCOL_IDENTIFIER:
		v = fi->proto;
		break;
	case IE_FLOW_START_MILLISECONDS:
		v = e->first_ms;
		break;
	case IE_FLOW_END_MILLISECONDS:
		v = e->last_ms;
		break;
	case IE_OCTET_DELTA_COUNT:
		v = fi->bytes[d];
		break;
	case IE_PACKET_DELTA_COUNT:
		v = fi->pkts[d];
		break;
	case IE_TCP_CONTROL_BITS:
		v = fi->proto == IPPROTO_TCP ? e->tcp_flags[d] : 0;
		break;
	case IE_FLOW_END_REASON:
		v = ct_end_reason_ipfix(e->end_reason);
		break;
	}
	return put(p, v, ie->len[t]);
}

int
ct_ipfix_add_flow(struct ct_ipfix *x, const struct ct_export_flow *e, uint32_t now_s)
{
	unsigned int t = e->fi.family == 6;
	uint8_t *p = reserve(x, template_id[t], record_len(t), now_s);

	if (p == NULL)
		return -1;
	for (size_t i = 0; i < NIES; i++)
		p = field(p, e, &ies[i], t);
	x->nrec++;
	return 0;
}

size_t
ct_ipfix_finish(struct ct_ipfix *x, const uint8_t **out)
{
	size_t len = x->len;

	*out = x->buf;
	if (len == 0)
		return 0;
	close_set(x);
	put(x->buf + 2, len, 2);
	put(x->buf + 8, x->seq, 4);
	x->seq += x->nrec;
	x->nrec = 0;
	x->len = 0;
	return len;
}
