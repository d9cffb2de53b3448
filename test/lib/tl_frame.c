/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The frame builder of tl_frame.h: a spec written out header by header into a caller's buffer
 * (Ethernet, VLAN tags, IPv4 or IPv6 with extension headers, TCP, payload, trailer), then the
 * checksums the spec asks for over the finished bytes.
 */
#include <errno.h>
#include <string.h>

#include "ct_tcp.h"
#include "tl_frame.h"

#define ETH_LEN 14
#define IP4_LEN 20
#define IP6_LEN 40
#define TCP_LEN 20
#define IP_MAX  65535u

/* Bytes an IPv6 extension header of @p type, declared @p n bytes long, takes in the frame: the
 * declared length, but never less than the fields written. */
static unsigned int
ext_bytes(uint8_t type, unsigned int n)
{
	unsigned int hdr = type == 44 ? 8 : 2;

	return n > hdr ? n : hdr;
}

static int
spec_ok(const struct tl_frame_spec *s)
{
	if (s->ntags < 0 || s->ntags > TL_VLAN_MAX || s->n_ext < 0 || s->n_ext > TL_IP6_EXT_MAX)
		return 0;
	if (s->ipopt_len > TL_OPT_MAX || s->ipopt_len % 4 || s->tcpopt_len > TL_OPT_MAX ||
	    s->tcpopt_len % 4)
		return 0;
	return s->family == 4 || s->family == 6;
}

static unsigned int
tcp_len(const struct tl_frame_spec *s)
{
	return s->raw_l4 ? s->payload : TCP_LEN + s->tcpopt_len + s->payload;
}

/* Bytes of the IP header (options and extension headers included). */
static size_t
ip_hdr_len(const struct tl_frame_spec *s)
{
	size_t n = s->family == 4 ? IP4_LEN + s->ipopt_len : IP6_LEN;

	if (s->family == 6)
		for (int i = 0; i < s->n_ext; i++)
			n += ext_bytes(s->ext_type[i], s->ext_len[i]);
	return n;
}

size_t
tl_frame_len(const struct tl_frame_spec *s)
{
	size_t n = ETH_LEN + 4u * (unsigned int)s->ntags + ip_hdr_len(s) + tcp_len(s) + s->pad;

	return n < s->min_len ? s->min_len : n;
}

uint32_t
tl_csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

uint16_t
tl_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The IPv4 header at @p ip (options included). @return its length. */
static size_t
put_ip4(const struct tl_frame_spec *s, uint8_t *ip)
{
	size_t ihl = IP4_LEN + s->ipopt_len;

	memset(ip, 0, IP4_LEN);
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	tl_put16(ip + 2, (uint16_t)(ihl + tcp_len(s)));
	tl_put16(ip + 4, s->ip_id);
	tl_put16(ip + 6, s->frag4);
	ip[8] = s->ttl;
	ip[9] = s->proto;
	memcpy(ip + 12, s->src, 4);
	memcpy(ip + 16, s->dst, 4);
	memcpy(ip + IP4_LEN, s->ipopt, s->ipopt_len);
	if (s->csum & TL_CSUM_IP)
		tl_put16(ip + 10, tl_csum_fold(tl_csum_add(0, ip, ihl)));
	return ihl;
}

/* The IPv6 header and its extension headers at @p ip. @return their length. */
static size_t
put_ip6(const struct tl_frame_spec *s, uint8_t *ip)
{
	unsigned int ext_total = 0;
	uint8_t *p = ip + IP6_LEN;

	for (int i = 0; i < s->n_ext; i++)
		ext_total += s->ext_len[i];
	memset(ip, 0, IP6_LEN);
	tl_put32(ip, 0x60000000);
	tl_put16(ip + 4, (uint16_t)(ext_total + tcp_len(s)));
	ip[6] = s->n_ext ? s->ext_type[0] : s->proto;
	ip[7] = s->ttl;
	memcpy(ip + 8, s->src, 16);
	memcpy(ip + 24, s->dst, 16);
	for (int i = 0; i < s->n_ext; i++) {
		uint8_t t = s->ext_type[i];
		unsigned int n = s->ext_len[i], len = ext_bytes(t, n);

		memset(p, 0, len); /* Pad1 options / reserved */
		p[0] = i + 1 < s->n_ext ? s->ext_type[i + 1] : s->proto;
		if (t == 51) /* AH: 4-byte units, minus 2 */
			p[1] = (uint8_t)(n / 4 - 2);
		else if (t != 44) /* 8-byte units, minus 1; the fragment header's is reserved */
			p[1] = (uint8_t)(n / 8 - 1);
		if (t == 44) {
			tl_put16(p + 2, s->frag6);
			tl_put32(p + 4, 0xabcdef01);
		}
		p += len;
	}
	return (size_t)(p - ip);
}

/* TCP checksum of the segment at @p th over the pseudo-header of @p s. */
static uint16_t
tcp_csum(const struct tl_frame_spec *s, const uint8_t *th)
{
	unsigned int alen = s->family == 4 ? 4 : 16, n = tcp_len(s);
	uint32_t sum = tl_csum_add(0, s->src, alen);

	sum = tl_csum_add(sum, s->dst, alen);
	sum += s->proto;
	sum += n >> 16; /* IPv6: 32-bit upper-layer length */
	sum += n & 0xffff;
	return tl_csum_fold(tl_csum_add(sum, th, n));
}

/* The TCP header, options and payload at @p th. */
static void
put_tcp(const struct tl_frame_spec *s, uint8_t *th)
{
	memset(th, 0, TCP_LEN);
	tl_put16(th, s->sport);
	tl_put16(th + 2, s->dport);
	tl_put32(th + 4, s->seq);
	tl_put32(th + 8, s->ack);
	th[12] = (uint8_t)((TCP_LEN + s->tcpopt_len) / 4 << 4);
	th[13] = s->flags;
	tl_put16(th + 14, s->win);
	memcpy(th + TCP_LEN, s->tcpopt, s->tcpopt_len);
	if (s->payload_data != NULL)
		memcpy(th + TCP_LEN + s->tcpopt_len, s->payload_data, s->payload);
	else
		memset(th + TCP_LEN + s->tcpopt_len, 0, s->payload);
	if (s->csum & TL_CSUM_TCP)
		tl_put16(th + 16, tcp_csum(s, th));
}

long
tl_frame_write(const struct tl_frame_spec *s, uint8_t *buf, size_t size, struct tl_frame_off *off)
{
	size_t len, o = 12;
	uint32_t l3, l4;

	if (!spec_ok(s))
		return -EINVAL;
	if (ip_hdr_len(s) + tcp_len(s) - (s->family == 6 ? IP6_LEN : 0) > IP_MAX)
		return -EMSGSIZE;
	len = tl_frame_len(s);
	if (len > size)
		return -ENOSPC;
	memcpy(buf, s->dmac, 6);
	memcpy(buf + 6, s->smac, 6);
	for (int i = 0; i < s->ntags; i++, o += 4) {
		tl_put16(buf + o, s->tpid[i]);
		tl_put16(buf + o + 2, s->tci[i]);
	}
	tl_put16(buf + o, s->family == 4 ? 0x0800 : 0x86dd);
	l3 = (uint32_t)(o + 2);
	l4 = l3 + (uint32_t)(s->family == 4 ? put_ip4(s, buf + l3) : put_ip6(s, buf + l3));
	if (!s->raw_l4)
		put_tcp(s, buf + l4);
	else if (s->payload_data != NULL)
		memcpy(buf + l4, s->payload_data, s->payload);
	else
		memset(buf + l4, 0, s->payload);
	o = l4 + tcp_len(s);
	memset(buf + o, 0, len - o); /* trailer and padding */
	if (off != NULL) {
		off->l3 = l3;
		off->l4 = l4;
		off->hdr_end = s->raw_l4 ? l4 : l4 + TCP_LEN + s->tcpopt_len;
	}
	return (long)len;
}

long
tl_frame_build(const struct tl_frame_spec *s, struct tl_frame *f)
{
	struct tl_frame_off off;
	long n = tl_frame_write(s, f->b, sizeof(f->b), &off);

	f->len = n > 0 ? (uint32_t)n : 0;
	f->l3 = off.l3;
	f->l4 = off.l4;
	f->hdr_end = off.hdr_end;
	f->split = 0;
	return n;
}

void
tl_frame_spec_v4(struct tl_frame_spec *s, uint32_t src, uint16_t sport, uint32_t dst,
                 uint16_t dport)
{
	memset(s, 0, sizeof(*s));
	s->family = 4;
	tl_put32(s->src, src);
	tl_put32(s->dst, dst);
	s->sport = sport;
	s->dport = dport;
	s->ttl = 64;
	s->proto = 6;
}

void
tl_frame_spec_v6(struct tl_frame_spec *s, const uint8_t *src, uint16_t sport, const uint8_t *dst,
                 uint16_t dport)
{
	memset(s, 0, sizeof(*s));
	s->family = 6;
	memcpy(s->src, src, 16);
	memcpy(s->dst, dst, 16);
	s->sport = sport;
	s->dport = dport;
	s->ttl = 64;
	s->proto = 6;
}

long
tl_frame_tcp4(struct tl_frame *f, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
              uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, uint16_t plen)
{
	struct tl_frame_spec s;

	tl_frame_spec_v4(&s, src, sport, dst, dport);
	s.dmac[0] = s.smac[0] = 0x02;
	s.flags = flags;
	s.seq = seq;
	s.ack = ack;
	s.win = win;
	s.payload = plen;
	return tl_frame_build(&s, f);
}

size_t
tl_tcp_opts_linux(uint8_t *o, uint8_t opts, uint16_t mss, uint8_t wscale, uint32_t tsval,
                  uint32_t tsecr)
{
	size_t n = 0;

	if (opts & CT_TCPO_MSS) {
		o[n++] = 2;
		o[n++] = 4;
		tl_put16(o + n, mss);
		n += 2;
	}
	if ((opts & CT_TCPO_SACK_PERM) && (opts & CT_TCPO_TS)) {
		o[n++] = 4;
		o[n++] = 2;
	} else if (opts & (CT_TCPO_SACK_PERM | CT_TCPO_TS)) {
		o[n++] = 1;
		o[n++] = 1;
		if (!(opts & CT_TCPO_TS)) {
			o[n++] = 4;
			o[n++] = 2;
		}
	}
	if (opts & CT_TCPO_TS) {
		o[n++] = 8;
		o[n++] = 10;
		tl_put32(o + n, tsval);
		tl_put32(o + n + 4, tsecr);
		n += 8;
	}
	if (opts & CT_TCPO_WSCALE) {
		o[n++] = 1;
		o[n++] = 3;
		o[n++] = 3;
		o[n++] = wscale;
	}
	return n;
}

long
tl_frame_udp(struct tl_frame_spec *s, struct tl_frame *f, uint16_t plen)
{
	uint8_t b[TL_FRAME_MAX];

	if (plen > sizeof(b) - 8)
		return -ENOSPC;
	tl_udp_hdr(b, s->sport, s->dport, plen);
	memset(b + 8, 0, plen);
	s->proto = 17;
	s->raw_l4 = 1;
	s->payload = 8u + plen;
	s->payload_data = b;
	return tl_frame_build(s, f);
}

long
tl_frame_icmp(struct tl_frame_spec *s, struct tl_frame *f, uint8_t type, uint8_t code, uint16_t id,
              uint16_t seq, const uint8_t *body, uint16_t body_len)
{
	uint8_t b[TL_FRAME_MAX];

	if (body_len > sizeof(b) - 8)
		return -ENOSPC;
	tl_icmp_hdr(b, type, code, id, seq);
	if (body != NULL)
		memcpy(b + 8, body, body_len);
	else
		memset(b + 8, 0, body_len);
	s->proto = s->family == 4 ? 1 : 58;
	s->raw_l4 = 1;
	s->payload = 8u + body_len;
	s->payload_data = b;
	return tl_frame_build(s, f);
}
