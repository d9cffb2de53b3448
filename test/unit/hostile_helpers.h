/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SYNFIN_TEST_HOSTILE_HELPERS_H
#define SYNFIN_TEST_HOSTILE_HELPERS_H

/**
 * @file
 * What the hostile-traffic tests (test_hostile.c, test_hostile_load.c) share: EAL and an mbuf
 * pool, one worker at a time, connections whose sequence numbers follow what each side sent,
 * frames run through ct_worker_process_burst() one burst at a time, and checks on the flows
 * (a snapshot of the table, unchanged) and the counters (the pipeline's identities).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "ct_parse.h"
#include "ct_stats.h"
#include "ct_table.h"
#include "ct_tcp.h"
#include "ct_worker.h"
#include "tl_eal.h"
#include "tl_frame.h"

#define TPS      1000 /* ticks per second: 1 ms */
#define FRAME_SZ 1600
#define NMBUF    1023

#define FIN CT_TCPF_FIN
#define SYN CT_TCPF_SYN
#define RST CT_TCPF_RST
#define PSH CT_TCPF_PSH
#define ACK CT_TCPF_ACK
#define URG CT_TCPF_URG

static struct rte_mempool *pool;
static struct ct_worker *w;
static struct ct_tcp_conf conf;
static uint64_t now = 1000;

static inline void
eal_up(void)
{
	cr_assert_eq(tl_eal_up("test_hostile", "0", 512), 0, "rte_eal_init: %s",
	             rte_strerror(rte_errno));
	pool = tl_pool_create("hostile", NMBUF);
	cr_assert_not_null(pool, "mempool: %s", rte_strerror(rte_errno));
	conf = ct_tcp_conf_default;
}

static inline void
eal_down(void)
{
	ct_worker_free(w);
	w = NULL;
	rte_mempool_free(pool);
	rte_eal_cleanup();
}

static inline void
worker_up(uint32_t capacity)
{
	struct ct_worker_params p = {
	        .name = "hostile",
	        .capacity = capacity,
	        .socket_id = SOCKET_ID_ANY,
	        .tcp = &conf,
	        .now = now,
	};

	w = ct_worker_create(&p);
	cr_assert_not_null(w, "ct_worker_create: %s", rte_strerror(rte_errno));
}

/* ---- frames ---- */

/* One endpoint pair; seq numbers follow what each side sent. */
struct conn {
	uint32_t caddr, saddr; /* host order */
	uint16_t cport, sport;
	uint32_t cseq, sseq; /* next seq of client / server */
};

static inline void
conn_init(struct conn *c, uint32_t n)
{
	c->caddr = 0x0a000000u | (n & 0xffffff); /* 10.x.y.z */
	c->saddr = 0xc0000201u;                  /* 192.0.2.1 */
	c->cport = (uint16_t)(1024 + (n % 60000));
	c->sport = 80;
	c->cseq = 1000u + n * 7919u;
	c->sseq = 500000u + n * 104729u;
}

/* IPv4/TCP frame from the client (from_server = 0) or the server; no options. */
static inline void
tcp4(struct tl_frame *f, const struct conn *c, int from_server, uint8_t flags, uint32_t seq,
     uint32_t ack, uint16_t plen)
{
	cr_assert_leq(14u + 40u + plen, (unsigned int)FRAME_SZ);
	cr_assert_gt(tl_frame_tcp4(f, from_server ? c->saddr : c->caddr,
	                           from_server ? c->sport : c->cport,
	                           from_server ? c->caddr : c->saddr,
	                           from_server ? c->cport : c->sport, flags, seq, ack, 65535, plen),
	             0);
}

/* Run frames through the worker as one burst; verdicts out (may be NULL). */
static inline void
run_burst(const struct tl_frame *fr, unsigned int n, uint8_t *verdicts)
{
	struct rte_mbuf *m[64];
	unsigned int i;

	cr_assert(n <= 64);
	for (i = 0; i < n; i++) {
		m[i] = tl_mbuf_from(pool, fr[i].b, fr[i].len, fr[i].split);
		cr_assert_not_null(m[i]);
	}
	ct_worker_process_burst(w, m, (uint16_t)n, now, verdicts);
	for (i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

static inline uint8_t
run1(const struct tl_frame *f)
{
	uint8_t v = 0xff;

	run_burst(f, 1, &v);
	return v;
}

/* Client/server segment at the tracked sequence numbers, advancing them. */
static inline uint8_t
seg(struct conn *c, int from_server, uint8_t flags, uint16_t plen)
{
	struct tl_frame f;
	uint32_t *snd = from_server ? &c->sseq : &c->cseq;
	uint32_t rcv = from_server ? c->cseq : c->sseq;

	tcp4(&f, c, from_server, flags, *snd, (flags & ACK) ? rcv : 0, plen);
	*snd += plen + !!(flags & SYN) + !!(flags & FIN);
	return run1(&f);
}

static inline void
handshake(struct conn *c)
{
	cr_assert_eq(seg(c, 0, SYN, 0), CT_WV_NEW);
	cr_assert_eq(seg(c, 1, SYN | ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(seg(c, 0, ACK, 0), CT_WV_ACCEPT);
}

static inline void
conn_key(const struct conn *c, struct ct_flow_key *k)
{
	uint32_t s = htonl(c->caddr), d = htonl(c->saddr);

	cr_assert_eq(ct_flow_key_make(k, 4, &s, &d, htons(c->cport), htons(c->sport), 0, NULL), 0);
}

/* Copy of the flow of @p c; @return 0 or -ENOENT. */
static inline int
conn_flow(const struct conn *c, struct ct_flow *f)
{
	struct ct_flow_key k;

	conn_key(c, &k);
	return ct_table_read_key(ct_worker_table(w), &k, f);
}

static inline unsigned int
conn_state(const struct conn *c)
{
	struct ct_flow f;

	cr_assert_eq(conn_flow(c, &f), 0, "flow of %08x:%u not found", c->caddr, c->cport);
	return f.tcp.state;
}

/* The parts of a record a packet may change (the timer links are the table's business). */
static inline bool
flow_same(const struct ct_flow *a, const struct ct_flow *b)
{
	return memcmp(&a->tcp, &b->tcp, sizeof(a->tcp)) == 0 && a->last_seen == b->last_seen &&
	       a->pkts[0] == b->pkts[0] && a->pkts[1] == b->pkts[1] &&
	       ct_flow_bytes(a, 0) == ct_flow_bytes(b, 0) &&
	       ct_flow_bytes(a, 1) == ct_flow_bytes(b, 1) && a->flags == b->flags;
}

/* Every flow of the table: keys and records, in position order. */
struct snap {
	unsigned int n;
	struct ct_flow_key key[64];
	struct ct_flow flow[64];
};

static inline void
snap_take(struct snap *s)
{
	uint32_t next = 0;

	s->n = 0;
	while (s->n < 64 &&
	       ct_table_read_next(ct_worker_table(w), &next, &s->key[s->n], &s->flow[s->n]) == 0)
		s->n++;
	cr_assert_eq(s->n, ct_table_count(ct_worker_table(w)));
}

static inline void
snap_same(const struct snap *a, const struct snap *b, const char *what)
{
	cr_assert_eq(a->n, b->n, "%s: %u flows before, %u after", what, a->n, b->n);
	for (unsigned int i = 0; i < a->n; i++) {
		cr_assert(memcmp(&a->key[i], &b->key[i], sizeof(a->key[i])) == 0, "%s: flow %u",
		          what, i);
		cr_assert(flow_same(&a->flow[i], &b->flow[i]), "%s: flow %u changed", what, i);
	}
}

/* Counter identities of the pipeline. */
static inline void
stats_balanced(void)
{
	const struct ct_lcore_stats *s = ct_worker_stats(w);
	uint64_t p = 0, r = 0;
	unsigned int i;

	for (i = 0; i < CT_PARSE_MAX; i++)
		p += s->parse[i];
	for (i = 0; i < CT_R_MAX; i++)
		r += s->reason[i];
	cr_assert_eq(s->rx_pkts, s->tcp_pkts + s->udp_pkts + s->icmp_pkts + s->icmp_errors +
	                                 s->other_pkts + s->not_tcp + s->parse_drop);
	cr_assert_eq(s->tcp_pkts + s->udp_pkts + s->icmp_pkts + s->icmp_errors + s->other_pkts,
	             s->accepted + s->invalid + s->flows_refused + s->icmp_related);
	cr_assert_eq(p, s->not_tcp + s->parse_drop);
	cr_assert_eq(r, s->invalid);
}

#endif /* SYNFIN_TEST_HOSTILE_HELPERS_H */
