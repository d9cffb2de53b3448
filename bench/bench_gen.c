/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Traffic generators of synfin-bench (see bench_gen.h): the lifecycle, established, synflood and
 * mixed packet streams computed from (round, slot, seed) alone, and the frame writer and pcap I/O on
 * test/lib's builder and pcap code. None of this code is inside the timed region.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct_tcp.h"
#include "tl_frame.h"
#include "tl_pcap.h"

#include "bench_gen.h"

#define ETH_HLEN   14
#define IP_HLEN    20
#define TCP_HLEN   20
#define L4_HLEN    8 /* UDP header; ICMP echo header */
#define SYNOPT_LEN 12
#define FRAME_MIN  60
#define FRAME_MAX  (ETH_HLEN + 65535)

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

static int
is_tcp(const struct bench_pkt *p)
{
	return p->proto == 0 || p->proto == BENCH_PROTO_TCP;
}

uint32_t
bench_frame_len(const struct bench_pkt *p)
{
	uint32_t l = ETH_HLEN + IP_HLEN + p->len +
	             (is_tcp(p) ? TCP_HLEN + (p->synopt ? SYNOPT_LEN : 0) : L4_HLEN);

	return l < FRAME_MIN ? FRAME_MIN : l;
}

/* The UDP or ICMP echo header at @p h (the payload after it is zeros already). */
static void
l4_header_write(uint8_t *h, const struct bench_pkt *p)
{
	if (p->proto == BENCH_PROTO_UDP) {
		tl_udp_hdr(h, p->sport, p->dport, p->len);
		return;
	}
	tl_icmp_hdr(h, p->flags, 0, p->sport, (uint16_t)p->seq);
	tl_put16(h + 2, tl_csum_fold(tl_csum_add(0, h, L4_HLEN))); /* zero payload adds nothing */
}

uint32_t
bench_frame_write(uint8_t *buf, const struct bench_pkt *p)
{
	static const uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x02}, smac[6] = {0x02, 0, 0, 0, 0, 0x01};
	static const uint8_t synopt[SYNOPT_LEN] = {2, 4, 0x05, 0xb4, 4, 2, 1, 1, 1, 3, 3, 7};
	struct tl_frame_spec s;

	tl_frame_spec_v4(&s, p->src, p->sport, p->dst, p->dport);
	memcpy(s.dmac, dmac, 6);
	memcpy(s.smac, smac, 6);
	s.frag4 = 0x4000; /* DF */
	s.min_len = FRAME_MIN;
	s.csum = TL_CSUM_IP; /* the TCP checksum stays 0: the tracker does not verify it */
	if (!is_tcp(p)) {
		struct tl_frame_off off;
		long n;

		s.proto = p->proto;
		s.raw_l4 = 1;
		s.payload = L4_HLEN + p->len;
		n = tl_frame_write(&s, buf, bench_frame_len(p), &off);
		if (n > 0)
			l4_header_write(buf + off.l4, p);
		return (uint32_t)n;
	}
	s.seq = p->seq;
	s.ack = p->ack;
	s.flags = p->flags;
	s.win = p->win;
	if (p->synopt) {
		memcpy(s.tcpopt, synopt, SYNOPT_LEN);
		s.tcpopt_len = SYNOPT_LEN;
	}
	s.payload = p->len;
	return (uint32_t)tl_frame_write(&s, buf, bench_frame_len(p), NULL);
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
	p->proto = BENCH_PROTO_TCP;
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

/*
 * Phase @p ph of a mixed workload's UDP or ICMP flow of slot @p i, generation @p gen: even
 * phases are the client's requests, odd ones the server's responses. UDP: client port from the
 * generation, server port 53. ICMP echo: the identifier from the generation, sequence numbers
 * 1..4.
 */
static void
l4_phase_pkt(const struct bench_gen *g, uint32_t i, uint64_t gen, unsigned int ph, uint8_t proto,
             struct bench_pkt *p)
{
	endpoints(g, i, gen, p);
	p->proto = proto;
	p->seq = 0;
	p->ack = 0;
	p->win = 0;
	p->synopt = 0;
	p->len = g->payload;
	if (proto == BENCH_PROTO_UDP) {
		p->flags = 0;
		p->dport = 53;
		if (ph & 1)
			swap_dir(p);
		return;
	}
	p->flags = (ph & 1) ? 0 : 8; /* echo reply / echo request */
	p->seq = ph / 2 + 1;
	p->dport = 0;
	if (ph & 1) { /* the reply: addresses swapped, the identifier kept */
		uint32_t a = p->src;

		p->src = p->dst;
		p->dst = a;
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
	uint8_t proto = bench_gen_slot_proto(g, i);
	uint32_t c, s;

	if (proto != BENCH_PROTO_TCP) {
		l4_phase_pkt(g, i, gen, (unsigned int)(k % BENCH_PHASES), proto, p);
		return;
	}
	isns(g, i, gen, &c, &s);
	phase_pkt(g, i, gen, (unsigned int)(k % BENCH_PHASES), c, s, p);
}

/* ISN step between two uses of a tuple of a loopable generator: 2^32 / uses per pass. */
static uint32_t
loop_step(const struct bench_gen *g)
{
	return (uint32_t)((UINT64_C(1) << 32) / (g->loop_gens / g->loop_tuples));
}

/*
 * Packet @p k (0-based, counting across connections) of loopable slot @p i: connection
 * k / 8 uses tuple (k / 8) % tuples for the (k / 8 / tuples)-th time in the pass, its ISNs that
 * many steps after the tuple's first ones. The wrap to the first use of the next pass is one
 * step plus 2^32 mod uses, still below 2^31 for 3 uses or more.
 */
static void
loop_pkt(const struct bench_gen *g, uint32_t i, uint64_t k, struct bench_pkt *p)
{
	uint64_t conn = k / BENCH_PHASES;
	uint32_t t = (uint32_t)(conn % g->loop_tuples);
	uint32_t use = (uint32_t)(conn / g->loop_tuples);
	uint32_t c, s;

	isns(g, i, t, &c, &s);
	c += use * loop_step(g);
	s += use * loop_step(g);
	phase_pkt(g, i, t, (unsigned int)(k % BENCH_PHASES), c, s, p);
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
	g->mix = (struct bench_mix){.tcp = 100};
	if (mode == BENCH_W_ESTABLISHED) {
		g->warm_left = 3ull * n;
	} else {
		/* Slot i emits i % 8 packets during the 7 warm-up rounds. */
		g->warm_left = (uint64_t)(n / 8) * 28;
		for (uint32_t i = 0; i < n % 8; i++)
			g->warm_left += i;
	}
}

int
bench_gen_mix(struct bench_gen *g, struct bench_mix mix)
{
	if (g->mode != BENCH_W_MIXED || mix.tcp + mix.udp + mix.icmp != 100)
		return -1;
	g->mix = mix;
	return 0;
}

uint8_t
bench_gen_slot_proto(const struct bench_gen *g, uint32_t i)
{
	uint32_t r;

	if (g->mode != BENCH_W_MIXED)
		return BENCH_PROTO_TCP;
	r = mix32(i * 0x85ebca6bu ^ g->seed) % 100;
	if (r < g->mix.tcp)
		return BENCH_PROTO_TCP;
	return r < (uint32_t)g->mix.tcp + g->mix.udp ? BENCH_PROTO_UDP : BENCH_PROTO_ICMP;
}

void
bench_gen_no_stagger(struct bench_gen *g)
{
	g->no_stagger = 1;
	g->warm_left = 0;
}

int
bench_gen_loopable(struct bench_gen *g, uint32_t gens, uint32_t tuples)
{
	uint32_t uses = tuples ? gens / tuples : 0;

	if (g->mode != BENCH_W_LIFECYCLE && g->mode != BENCH_W_SYNFLOOD)
		return -1;
	if (tuples == 0 || tuples > 64000 || gens % tuples != 0 || uses < 3 || uses > 65536)
		return -1;
	g->loop_gens = gens;
	g->loop_tuples = tuples;
	if (loop_step(g) <= (uint32_t)g->payload + 2)
		return -1;
	g->loop_left = (uint64_t)g->n * gens * BENCH_PHASES;
	g->warm_left = 0;
	return 0;
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
		p->proto = BENCH_PROTO_TCP;
		t.flood = 1;
		t.proto = BENCH_PROTO_TCP;
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
		t.proto = BENCH_PROTO_TCP;
		if (++g->slot == g->n) {
			g->slot = 0;
			g->round++;
		}
	} else {
		uint32_t i;
		uint64_t start;

		uint64_t span = g->loop_gens ? (uint64_t)g->loop_gens * BENCH_PHASES : UINT64_MAX;

		/* Skip slots that have not started yet (warm-up rounds) or have finished their
		 * connections (the last rounds of a loopable pass). */
		for (;;) {
			i = g->slot;
			start = g->no_stagger ? 0 : 7 - (i % 8);
			if (g->round >= start && g->round - start < span)
				break;
			if (++g->slot == g->n) {
				g->slot = 0;
				g->round++;
			}
		}
		uint64_t k = g->round - start;

		if (g->loop_gens) {
			loop_pkt(g, i, k, p);
			g->loop_left--;
		} else {
			lifecycle_pkt(g, i, k, p);
		}
		t.slot = i;
		t.phase = (uint8_t)(k % BENCH_PHASES);
		t.proto = p->proto;
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

/* ---- classic pcap (test/lib) ---- */

int
bench_pcap_load(const char *path, struct tl_pcap *pc)
{
	char err[256];

	if (tl_pcap_load(path, pc, err, sizeof(err)) != 0) {
		fprintf(stderr, "pcap %s: %s\n", path, err);
		return -1;
	}
	if (pc->truncated)
		fprintf(stderr, "pcap %s: truncated record %u (ignored)\n", path, pc->count);
	return 0;
}

int64_t
bench_pcap_write(const char *path, struct bench_gen *g, uint64_t npkts, int skip_warm,
                 uint32_t us_per_pkt)
{
	static uint8_t frame[FRAME_MAX];
	struct tl_pcap_out out;
	uint64_t us = 0, n = 0;
	int ret = tl_pcap_out_create(&out, path, 65535);

	if (ret != 0) {
		fprintf(stderr, "pcap %s: %s\n", path, strerror(-ret));
		return -1;
	}
	while (npkts > 0 && !bench_gen_done(g)) {
		struct bench_pkt p;
		struct bench_tag t = bench_gen_next(g, &p);
		uint32_t len;

		if (t.warmup && skip_warm)
			continue;
		len = bench_frame_len(&p);
		if (len > sizeof(frame) || bench_frame_write(frame, &p) != len ||
		    tl_pcap_out_add(&out, us, frame, len) != 0) {
			fprintf(stderr, "pcap %s: cannot write a frame of %u bytes\n", path, len);
			tl_pcap_out_free(&out);
			return -1;
		}
		us += us_per_pkt;
		npkts--;
		n++;
	}
	return tl_pcap_out_free(&out) == 0 ? (int64_t)n : -1;
}
