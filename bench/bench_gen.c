/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Traffic generators of synfin-bench (see bench_gen.h): the lifecycle, established and synflood
 * packet streams computed from (round, slot, seed) alone, the Ethernet/IPv4/TCP frame writer and
 * a classic-pcap loader (stdlib only). None of this code is inside the timed region.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct_tcp.h"

#include "bench_gen.h"

#define ETH_HLEN   14
#define IP_HLEN    20
#define TCP_HLEN   20
#define SYNOPT_LEN 12
#define FRAME_MIN  60

static uint32_t
mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

uint32_t
bench_frame_len(const struct bench_pkt *p)
{
	uint32_t l = ETH_HLEN + IP_HLEN + TCP_HLEN + (p->synopt ? SYNOPT_LEN : 0) + p->len;

	return l < FRAME_MIN ? FRAME_MIN : l;
}

static void
put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v & 0xff;
}

static void
put32(uint8_t *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b + 2, v & 0xffff);
}

uint32_t
bench_frame_write(uint8_t *buf, const struct bench_pkt *p)
{
	static const uint8_t eth[ETH_HLEN] = {0x02, 0, 0, 0, 0,    0x02, 0x02,
	                                      0,    0, 0, 0, 0x01, 0x08, 0x00};
	static const uint8_t synopt[SYNOPT_LEN] = {2, 4, 0x05, 0xb4, 4, 2, 1, 1, 1, 3, 3, 7};
	uint32_t optlen = p->synopt ? SYNOPT_LEN : 0;
	uint32_t iplen = IP_HLEN + TCP_HLEN + optlen + p->len;
	uint32_t flen = bench_frame_len(p);
	uint8_t *ip = buf + ETH_HLEN;
	uint8_t *tcp = ip + IP_HLEN;
	uint32_t sum = 0;

	memcpy(buf, eth, ETH_HLEN);
	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, (uint16_t)iplen);
	put16(ip + 4, 0);
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 6;
	put16(ip + 10, 0);
	put32(ip + 12, p->src);
	put32(ip + 16, p->dst);
	for (int i = 0; i < IP_HLEN; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	put16(ip + 10, (uint16_t)~sum);

	put16(tcp, p->sport);
	put16(tcp + 2, p->dport);
	put32(tcp + 4, p->seq);
	put32(tcp + 8, p->ack);
	tcp[12] = (uint8_t)(((TCP_HLEN + optlen) / 4) << 4);
	tcp[13] = p->flags;
	put16(tcp + 14, p->win);
	put16(tcp + 16, 0); /* checksum: the tracker does not verify it */
	put16(tcp + 18, 0);
	if (optlen)
		memcpy(tcp + TCP_HLEN, synopt, SYNOPT_LEN);
	/* Payload and padding bytes are left as they are: nothing reads them. */
	return flen;
}

/* Endpoints of slot @p i in generation @p g (the client is always the smaller address). */
static void
endpoints(const struct bench_gen *g, uint32_t i, uint64_t gen, struct bench_pkt *p)
{
	uint32_t h = mix32(i ^ g->seed);

	p->src = 0x0a000000u | ((i * 0x9e3779u + g->seed) & 0xffffffu); /* 10/8, a bijection */
	p->sport = (uint16_t)(1024 + (gen + h) % 64000);
	p->dst = 0xc0000201u + (i & 3); /* 192.0.2.1-4 */
	p->dport = (i & 4) ? 443 : 80;
}

static void
swap_dir(struct bench_pkt *p)
{
	uint32_t a = p->src;
	uint16_t q = p->sport;

	p->src = p->dst;
	p->dst = a;
	p->sport = p->dport;
	p->dport = q;
}

/* Phase @p ph of the lifecycle of slot @p i, generation @p gen, client ISN c, server ISN s. */
static void
phase_pkt(const struct bench_gen *g, uint32_t i, uint64_t gen, unsigned int ph, uint32_t c,
          uint32_t s, struct bench_pkt *p)
{
	uint32_t L = g->payload;

	endpoints(g, i, gen, p);
	p->len = 0;
	p->synopt = 0;
	p->win = 512;
	switch (ph) {
	case 0: /* client SYN */
		p->flags = CT_TCPF_SYN;
		p->seq = c;
		p->ack = 0;
		p->win = 65535;
		p->synopt = 1;
		break;
	case 1: /* server SYN+ACK */
		swap_dir(p);
		p->flags = CT_TCPF_SYN | CT_TCPF_ACK;
		p->seq = s;
		p->ack = c + 1;
		p->win = 65535;
		p->synopt = 1;
		break;
	case 2: /* client ACK */
		p->flags = CT_TCPF_ACK;
		p->seq = c + 1;
		p->ack = s + 1;
		break;
	case 3: /* client data */
		p->flags = CT_TCPF_PSH | CT_TCPF_ACK;
		p->seq = c + 1;
		p->ack = s + 1;
		p->len = (uint16_t)L;
		break;
	case 4: /* client FIN */
		p->flags = CT_TCPF_FIN | CT_TCPF_ACK;
		p->seq = c + 1 + L;
		p->ack = s + 1;
		break;
	case 5: /* server ACK of data + FIN */
		swap_dir(p);
		p->flags = CT_TCPF_ACK;
		p->seq = s + 1;
		p->ack = c + L + 2;
		break;
	case 6: /* server FIN */
		swap_dir(p);
		p->flags = CT_TCPF_FIN | CT_TCPF_ACK;
		p->seq = s + 1;
		p->ack = c + L + 2;
		break;
	default: /* client's last ACK: the flow enters TIME_WAIT */
		p->flags = CT_TCPF_ACK;
		p->seq = c + L + 2;
		p->ack = s + 2;
		break;
	}
}

/* ISNs of the client and the server of slot @p i, generation @p gen. */
static void
isns(const struct bench_gen *g, uint32_t i, uint64_t gen, uint32_t *c, uint32_t *s)
{
	*c = mix32((uint32_t)(gen * 2654435761u) ^ mix32(i + g->seed));
	*s = mix32(*c ^ 0x5bd1e995u);
}

/* Packet @p k (0-based, counting across generations) of lifecycle slot @p i. */
static void
lifecycle_pkt(const struct bench_gen *g, uint32_t i, uint64_t k, struct bench_pkt *p)
{
	uint64_t gen = k / BENCH_PHASES;
	uint32_t c, s;

	isns(g, i, gen, &c, &s);
	phase_pkt(g, i, gen, (unsigned int)(k % BENCH_PHASES), c, s, p);
}

/* Round @p r (>= 0) of established flow @p i: data alternating client / server. */
static void
established_pkt(const struct bench_gen *g, uint32_t i, uint64_t r, struct bench_pkt *p)
{
	uint32_t c, s;
	uint32_t L = g->payload;
	uint32_t kc = (uint32_t)((r + 1) / 2); /* client segments sent before this one (or incl.) */
	uint32_t ks = (uint32_t)(r / 2);

	isns(g, i, 0, &c, &s);
	endpoints(g, i, 0, p);
	p->flags = CT_TCPF_PSH | CT_TCPF_ACK;
	p->win = 512;
	p->synopt = 0;
	p->len = (uint16_t)L;
	if (r % 2 == 0) {
		p->seq = c + 1 + kc * L;
		p->ack = s + 1 + ks * L;
	} else {
		swap_dir(p);
		p->seq = s + 1 + ks * L;
		p->ack = c + 1 + kc * L;
	}
}

void
bench_gen_init(struct bench_gen *g, int mode, uint32_t n, uint32_t seed, uint16_t payload,
               double flood_ratio)
{
	memset(g, 0, sizeof(*g));
	g->mode = mode;
	g->n = n;
	g->seed = seed;
	g->payload = payload;
	g->flood_ratio = flood_ratio;
	g->rng = 0x9e3779b97f4a7c15ull ^ seed;
	if (mode == BENCH_W_ESTABLISHED) {
		g->warm_left = 3ull * n;
	} else {
		/* Slot i emits i % 8 packets during the 7 warm-up rounds. */
		g->warm_left = (uint64_t)(n / 8) * 28;
		for (uint32_t i = 0; i < n % 8; i++)
			g->warm_left += i;
	}
}

void
bench_gen_no_stagger(struct bench_gen *g)
{
	g->no_stagger = 1;
	g->warm_left = 0;
}

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

struct bench_tag
bench_gen_next(struct bench_gen *g, struct bench_pkt *p)
{
	struct bench_tag t = {.slot = UINT32_MAX, .phase = 0xff};

	t.warmup = g->warm_left > 0;
	if (g->mode == BENCH_W_SYNFLOOD && !t.warmup && g->flood_acc >= 1.0) {
		uint64_t x = xorshift(&g->rng);

		g->flood_acc -= 1.0;
		p->src = 0x64400000u | (uint32_t)(x & 0x3fffff); /* 100.64/10 */
		p->sport = (uint16_t)(1024 + (x >> 32) % 64000);
		p->dst = 0xc0000201u + (uint32_t)((x >> 48) & 3);
		p->dport = 80;
		p->seq = (uint32_t)(x >> 16);
		p->ack = 0;
		p->win = 65535;
		p->len = 0;
		p->flags = CT_TCPF_SYN;
		p->synopt = 1;
		t.flood = 1;
		return t;
	}
	if (g->mode == BENCH_W_ESTABLISHED) {
		uint32_t i = g->slot;

		if (g->round < 3) {
			lifecycle_pkt(g, i, g->round, p); /* handshake of generation 0 */
		} else {
			established_pkt(g, i, g->round - 3, p);
		}
		t.slot = i;
		t.phase = (uint8_t)(g->round < 3 ? g->round : 3);
		if (++g->slot == g->n) {
			g->slot = 0;
			g->round++;
		}
	} else {
		uint32_t i;
		uint64_t start;

		/* Skip slots that have not started yet (warm-up rounds only). */
		for (;;) {
			i = g->slot;
			start = g->no_stagger ? 0 : 7 - (i % 8);
			if (g->round >= start)
				break;
			if (++g->slot == g->n) {
				g->slot = 0;
				g->round++;
			}
		}
		uint64_t k = g->round - start;

		lifecycle_pkt(g, i, k, p);
		t.slot = i;
		t.phase = (uint8_t)(k % BENCH_PHASES);
		if (++g->slot == g->n) {
			g->slot = 0;
			g->round++;
		}
		if (g->mode == BENCH_W_SYNFLOOD && !t.warmup)
			g->flood_acc += g->flood_ratio / (1.0 - g->flood_ratio);
	}
	if (g->warm_left)
		g->warm_left--;
	return t;
}

/* ---- classic pcap ---- */

static uint32_t
rd32(const uint8_t *b, int swap)
{
	uint32_t v;

	memcpy(&v, b, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/* Offset of the TCP header of an Ethernet frame, or -1 (handles VLAN tags, IPv4, IPv6 without
 * extension headers). */
static int32_t
tcp_offset(const uint8_t *f, uint32_t len)
{
	uint32_t o = 12;
	uint16_t et;

	for (;;) {
		if (len < o + 2)
			return -1;
		et = (uint16_t)(f[o] << 8 | f[o + 1]);
		if (et != 0x8100 && et != 0x88a8)
			break;
		o += 4;
	}
	o += 2;
	if (et == 0x0800) {
		if (len < o + 20 || f[o + 9] != 6 || (f[o + 6] & 0x3f) || f[o + 7])
			return -1;
		o += (uint32_t)(f[o] & 0xf) * 4;
	} else if (et == 0x86dd) {
		if (len < o + 40 || f[o + 6] != 6)
			return -1;
		o += 40;
	} else {
		return -1;
	}
	return len >= o + 20 ? (int32_t)o : -1;
}

int
bench_pcap_load(const char *path, struct bench_pcap *pc)
{
	FILE *fp = fopen(path, "rb");
	uint8_t gh[24], ph[16];
	uint32_t magic;
	int swap, nano;
	uint64_t cap = 0, ncap = 0, used = 0, ts0 = 0;
	long fsz;

	memset(pc, 0, sizeof(*pc));
	if (fp == NULL) {
		fprintf(stderr, "pcap %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fread(gh, 1, sizeof(gh), fp) != sizeof(gh)) {
		fprintf(stderr, "pcap %s: short global header\n", path);
		goto fail;
	}
	memcpy(&magic, gh, 4);
	switch (magic) {
	case 0xa1b2c3d4:
		swap = 0;
		nano = 0;
		break;
	case 0xd4c3b2a1:
		swap = 1;
		nano = 0;
		break;
	case 0xa1b23c4d:
		swap = 0;
		nano = 1;
		break;
	case 0x4d3cb2a1:
		swap = 1;
		nano = 1;
		break;
	default:
		fprintf(stderr,
		        "pcap %s: not a classic pcap (magic %08x; pcapng is not supported)\n", path,
		        magic);
		goto fail;
	}
	if (rd32(gh + 20, swap) != 1) {
		fprintf(stderr, "pcap %s: link type %u, only Ethernet (1) is supported\n", path,
		        rd32(gh + 20, swap));
		goto fail;
	}
	fseek(fp, 0, SEEK_END);
	fsz = ftell(fp);
	fseek(fp, 24, SEEK_SET);
	pc->data = malloc(fsz > 0 ? (size_t)fsz : 1);
	if (pc->data == NULL)
		goto oom;
	while (fread(ph, 1, sizeof(ph), fp) == sizeof(ph)) {
		uint32_t incl = rd32(ph + 8, swap);
		uint64_t ts = (uint64_t)rd32(ph, swap) * 1000000000ull +
		              (uint64_t)rd32(ph + 4, swap) * (nano ? 1 : 1000);

		if (incl > 262144 || used + incl > (uint64_t)fsz) {
			fprintf(stderr, "pcap %s: bad record length %u\n", path, incl);
			goto fail;
		}
		if (fread(pc->data + used, 1, incl, fp) != incl) {
			fprintf(stderr, "pcap %s: truncated record %u (ignored)\n", path,
			        pc->count);
			break;
		}
		if (pc->count == ncap) {
			ncap = ncap ? ncap * 2 : 1024;
			void *a = realloc(pc->off, ncap * sizeof(*pc->off));
			void *b = realloc(pc->len, ncap * sizeof(*pc->len));
			void *c = realloc(pc->ts_ns, ncap * sizeof(*pc->ts_ns));
			void *d = realloc(pc->tcp_off, ncap * sizeof(*pc->tcp_off));

			if (a)
				pc->off = a;
			if (b)
				pc->len = b;
			if (c)
				pc->ts_ns = c;
			if (d)
				pc->tcp_off = d;
			if (!a || !b || !c || !d)
				goto oom;
		}
		if (pc->count == 0)
			ts0 = ts;
		pc->off[pc->count] = used;
		pc->len[pc->count] = incl;
		pc->ts_ns[pc->count] = ts >= ts0 ? ts - ts0 : 0;
		pc->tcp_off[pc->count] = tcp_offset(pc->data + used, incl);
		if (pc->ts_ns[pc->count] > pc->span_ns)
			pc->span_ns = pc->ts_ns[pc->count];
		used += incl;
		pc->count++;
	}
	(void)cap;
	fclose(fp);
	if (pc->count == 0) {
		fprintf(stderr, "pcap %s: no packets\n", path);
		bench_pcap_free(pc);
		return -1;
	}
	return 0;
oom:
	fprintf(stderr, "pcap %s: out of memory\n", path);
fail:
	fclose(fp);
	bench_pcap_free(pc);
	return -1;
}

void
bench_pcap_free(struct bench_pcap *pc)
{
	free(pc->data);
	free(pc->off);
	free(pc->len);
	free(pc->ts_ns);
	free(pc->tcp_off);
	memset(pc, 0, sizeof(*pc));
}

int
bench_pcap_write(const char *path, struct bench_gen *g, uint64_t npkts, int skip_warm,
                 uint32_t us_per_pkt)
{
	const uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
	uint8_t frame[256];
	FILE *fp = fopen(path, "wb");
	uint64_t us = 0;

	if (fp == NULL || fwrite(gh, sizeof(gh), 1, fp) != 1) {
		fprintf(stderr, "pcap %s: %s\n", path, strerror(errno));
		if (fp)
			fclose(fp);
		return -1;
	}
	memset(frame, 0, sizeof(frame));
	while (npkts > 0) {
		struct bench_pkt p;
		struct bench_tag t = bench_gen_next(g, &p);
		uint32_t len, ph[4];

		if (t.warmup && skip_warm)
			continue;
		len = bench_frame_write(frame, &p);
		ph[0] = (uint32_t)(us / 1000000);
		ph[1] = (uint32_t)(us % 1000000);
		ph[2] = len;
		ph[3] = len;
		if (fwrite(ph, sizeof(ph), 1, fp) != 1 || fwrite(frame, len, 1, fp) != 1) {
			fprintf(stderr, "pcap %s: %s\n", path, strerror(errno));
			fclose(fp);
			return -1;
		}
		us += us_per_pkt;
		npkts--;
	}
	return fclose(fp) == 0 ? 0 : -1;
}
