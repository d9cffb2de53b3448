/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile traffic through the real per-packet pipeline (ct_worker_process_burst() on mbufs built
 * in memory, EAL without hugepages): every parse reason and every FSM INVALID reason is reached
 * by a crafted packet and counted, and no such packet creates or changes a flow; blind injection
 * (RFC 5961: out-of-window RST, SYN, data) never disturbs an established flow while an in-window
 * RST closes it; a full table refuses new flows and keeps tracking the existing ones through
 * their close; a SYN flood ten times the table size evicts only embryonic flows; a packet of a
 * flow evicted earlier in the same burst is not tracked on the evicted record; a soak of many
 * complete connections with short timeouts leaves no flow, balanced counters and every mbuf and
 * heap byte returned (SYNFIN_SOAK=<connections> for the long run, default 200000).
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

static void
eal_up(void)
{
	char *argv[] = {"test_hostile", "-l", "0",   "--no-huge",        "--no-pci",
	                "--no-shconf",  "-m", "512", "--log-level=error"};
	int argc = (int)(sizeof(argv) / sizeof(argv[0]));

	cr_assert_eq(rte_eal_init(argc, argv), argc - 1, "rte_eal_init: %s",
	             rte_strerror(rte_errno));
	pool = rte_pktmbuf_pool_create("hostile", NMBUF, 0, 0, RTE_PKTMBUF_HEADROOM + 2048,
	                               SOCKET_ID_ANY);
	cr_assert_not_null(pool, "mempool: %s", rte_strerror(rte_errno));
	conf = ct_tcp_conf_default;
}

static void
eal_down(void)
{
	ct_worker_free(w);
	w = NULL;
	rte_mempool_free(pool);
	rte_eal_cleanup();
}

TestSuite(hostile, .init = eal_up, .fini = eal_down, .timeout = 240);

static void
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

struct frame {
	uint8_t b[FRAME_SZ];
	uint32_t len;
	uint32_t split; /* 0: one segment; else bytes in the first of two */
};

/* One endpoint pair; seq numbers follow what each side sent. */
struct conn {
	uint32_t caddr, saddr; /* host order */
	uint16_t cport, sport;
	uint32_t cseq, sseq; /* next seq of client / server */
};

static void
conn_init(struct conn *c, uint32_t n)
{
	c->caddr = 0x0a000000u | (n & 0xffffff); /* 10.x.y.z */
	c->saddr = 0xc0000201u;                  /* 192.0.2.1 */
	c->cport = (uint16_t)(1024 + (n % 60000));
	c->sport = 80;
	c->cseq = 1000u + n * 7919u;
	c->sseq = 500000u + n * 104729u;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* IPv4/TCP frame from the client (from_server = 0) or the server; no options. */
static void
tcp4(struct frame *f, const struct conn *c, int from_server, uint8_t flags, uint32_t seq,
     uint32_t ack, uint16_t plen)
{
	uint8_t *ip = f->b + 14, *th = ip + 20;

	cr_assert_leq(14u + 40u + plen, (unsigned int)FRAME_SZ);
	memset(f, 0, sizeof(*f));
	f->b[0] = 0x02;
	f->b[6] = 0x02;
	put16(f->b + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(40 + plen));
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, from_server ? c->saddr : c->caddr);
	put32(ip + 16, from_server ? c->caddr : c->saddr);
	put16(th, from_server ? c->sport : c->cport);
	put16(th + 2, from_server ? c->cport : c->sport);
	put32(th + 4, seq);
	put32(th + 8, ack);
	th[12] = 5 << 4;
	th[13] = flags;
	put16(th + 14, 65535);
	f->len = 14 + 40 + plen;
}

/* Run frames through the worker as one burst; verdicts out (may be NULL). */
static void
run_burst(const struct frame *fr, unsigned int n, uint8_t *verdicts)
{
	struct rte_mbuf *m[64];
	unsigned int i;

	cr_assert(n <= 64);
	for (i = 0; i < n; i++) {
		uint32_t first = fr[i].split ? fr[i].split : fr[i].len;
		char *d;

		m[i] = rte_pktmbuf_alloc(pool);
		cr_assert_not_null(m[i]);
		d = rte_pktmbuf_append(m[i], (uint16_t)first);
		cr_assert(d != NULL || first == 0);
		memcpy(d, fr[i].b, first);
		if (first < fr[i].len) {
			struct rte_mbuf *m2 = rte_pktmbuf_alloc(pool);

			cr_assert_not_null(m2);
			d = rte_pktmbuf_append(m2, (uint16_t)(fr[i].len - first));
			memcpy(d, fr[i].b + first, fr[i].len - first);
			cr_assert_eq(rte_pktmbuf_chain(m[i], m2), 0);
		}
	}
	ct_worker_process_burst(w, m, (uint16_t)n, now, verdicts);
	for (i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

static uint8_t
run1(const struct frame *f)
{
	uint8_t v = 0xff;

	run_burst(f, 1, &v);
	return v;
}

/* Client/server segment at the tracked sequence numbers, advancing them. */
static uint8_t
seg(struct conn *c, int from_server, uint8_t flags, uint16_t plen)
{
	struct frame f;
	uint32_t *snd = from_server ? &c->sseq : &c->cseq;
	uint32_t rcv = from_server ? c->cseq : c->sseq;

	tcp4(&f, c, from_server, flags, *snd, (flags & ACK) ? rcv : 0, plen);
	*snd += plen + !!(flags & SYN) + !!(flags & FIN);
	return run1(&f);
}

static void
handshake(struct conn *c)
{
	cr_assert_eq(seg(c, 0, SYN, 0), CT_WV_NEW);
	cr_assert_eq(seg(c, 1, SYN | ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(seg(c, 0, ACK, 0), CT_WV_ACCEPT);
}

static void
conn_key(const struct conn *c, struct ct_flow_key *k)
{
	uint32_t s = htonl(c->caddr), d = htonl(c->saddr);

	cr_assert_eq(ct_flow_key_make(k, 4, &s, &d, htons(c->cport), htons(c->sport), 0, NULL), 0);
}

/* Copy of the flow of @p c; @return 0 or -ENOENT. */
static int
conn_flow(const struct conn *c, struct ct_flow *f)
{
	struct ct_flow_key k;

	conn_key(c, &k);
	return ct_table_read_key(ct_worker_table(w), &k, f);
}

static unsigned int
conn_state(const struct conn *c)
{
	struct ct_flow f;

	cr_assert_eq(conn_flow(c, &f), 0, "flow of %08x:%u not found", c->caddr, c->cport);
	return f.tcp.state;
}

/* The parts of a record a packet may change (the timer links are the table's business). */
static bool
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

static void
snap_take(struct snap *s)
{
	uint32_t next = 0;

	s->n = 0;
	while (s->n < 64 &&
	       ct_table_read_next(ct_worker_table(w), &next, &s->key[s->n], &s->flow[s->n]) == 0)
		s->n++;
	cr_assert_eq(s->n, ct_table_count(ct_worker_table(w)));
}

static void
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
static void
stats_balanced(void)
{
	const struct ct_lcore_stats *s = ct_worker_stats(w);
	uint64_t p = 0, r = 0;
	unsigned int i;

	for (i = 0; i < CT_PARSE_MAX; i++)
		p += s->parse[i];
	for (i = 0; i < CT_R_MAX; i++)
		r += s->reason[i];
	cr_assert_eq(s->rx_pkts, s->tcp_pkts + s->not_tcp + s->parse_drop);
	cr_assert_eq(s->tcp_pkts, s->accepted + s->invalid + s->flows_refused);
	cr_assert_eq(p, s->not_tcp + s->parse_drop);
	cr_assert_eq(r, s->invalid);
}

/* ---- (a) every parse reason, counted, changing nothing ---- */

/* A frame that parses to reason @p r, built on connection @p c's addresses where it is TCP. */
static void
malformed(struct frame *f, enum ct_parse_reason r, const struct conn *c)
{
	uint8_t *ip = f->b + 14, *th = ip + 20;

	tcp4(f, c, 0, ACK, c->cseq, c->sseq, 0);
	switch (r) {
	case CT_PARSE_TRUNC_ETH:
		f->len = 13;
		break;
	case CT_PARSE_TRUNC_VLAN:
		put16(f->b + 12, 0x8100);
		f->len = 16;
		break;
	case CT_PARSE_TOO_MANY_VLANS:
		memmove(f->b + 24, f->b + 12, 56);
		put16(f->b + 12, 0x88a8);
		put16(f->b + 16, 0x8100);
		put16(f->b + 20, 0x8100);
		f->len += 12;
		break;
	case CT_PARSE_NOT_IP:
		put16(f->b + 12, 0x0806);
		break;
	case CT_PARSE_TRUNC_IP:
		f->len = 14 + 19;
		break;
	case CT_PARSE_BAD_IP_VERSION:
		ip[0] = 0x65;
		break;
	case CT_PARSE_BAD_IHL:
		ip[0] = 0x44;
		break;
	case CT_PARSE_BAD_IP_LEN:
		put16(ip + 2, 41 + 20);
		break;
	case CT_PARSE_TRUNC_EXT_HDR: {
		/* IPv6, hop-by-hop header announced but the payload is 4 bytes */
		static const uint8_t v6[40] = {0x60, 0, 0, 0, 0, 4, 0, 64, 0x20, 1, 0xd, 0xb8};

		put16(f->b + 12, 0x86dd);
		memcpy(ip, v6, sizeof(v6));
		memset(ip + 40, 0, 4);
		f->len = 14 + 44;
		break;
	}
	case CT_PARSE_FRAG_FIRST:
		put16(ip + 6, 0x2000);
		break;
	case CT_PARSE_FRAG_NONFIRST:
		put16(ip + 6, 0x0010);
		break;
	case CT_PARSE_NOT_TCP:
		ip[9] = 17;
		break;
	case CT_PARSE_TRUNC_TCP:
		put16(ip + 2, 20 + 12);
		f->len = 14 + 32;
		break;
	case CT_PARSE_BAD_DOFF:
		th[12] = 4 << 4;
		break;
	case CT_PARSE_BAD_TCP_OPT:
		/* 4 option bytes: MSS announcing length 9 */
		th[12] = 6 << 4;
		th[20] = 2;
		th[21] = 9;
		put16(ip + 2, 44);
		f->len = 14 + 44;
		break;
	case CT_PARSE_BAD_TCP_OPT_FIN_RST:
		/* the same broken list on a FIN: counted apart (a close the tracker cannot see) */
		th[12] = 6 << 4;
		th[13] = FIN | ACK;
		th[20] = 2;
		th[21] = 9;
		put16(ip + 2, 44);
		f->len = 14 + 44;
		break;
	case CT_PARSE_FLAGS_NONE:
		th[13] = 0;
		break;
	case CT_PARSE_FLAGS_SYN_FIN:
		th[13] = SYN | FIN | ACK;
		break;
	case CT_PARSE_FLAGS_SYN_RST:
		th[13] = SYN | RST;
		break;
	case CT_PARSE_FLAGS_RST_FIN:
		th[13] = RST | FIN | ACK;
		break;
	case CT_PARSE_FLAGS_URG:
		th[13] = RST | URG;
		break;
	case CT_PARSE_FLAGS_FIN_NO_ACK:
		th[13] = FIN;
		break;
	case CT_PARSE_TRUNC_SEG:
		f->split = 14 + 20 + 10; /* TCP header continues in the second mbuf */
		break;
	default:
		cr_assert_fail("no frame for parse reason %u", r);
	}
}

Test(hostile, every_parse_reason_is_counted_and_changes_no_flow)
{
	struct conn c[3];
	struct snap before, after;
	unsigned int r, i;

	worker_up(64);
	for (i = 0; i < 3; i++) {
		conn_init(&c[i], i + 1);
		handshake(&c[i]);
	}
	snap_take(&before);
	for (r = CT_PARSE_OK + 1; r < CT_PARSE_MAX; r++) {
		struct frame f;
		uint64_t old = ct_worker_stats(w)->parse[r];
		uint8_t v;

		malformed(&f, (enum ct_parse_reason)r, &c[r % 3]);
		v = run1(&f);
		cr_assert_eq(ct_worker_stats(w)->parse[r], old + 1, "parse reason %s not counted",
		             ct_parse_reason_name(r));
		cr_assert(v == CT_WV_MALFORMED || v == CT_WV_PASS, "%s: verdict %u",
		          ct_parse_reason_name(r), v);
	}
	/* Also with a first packet of a new connection: still no flow. */
	for (r = CT_PARSE_OK + 1; r < CT_PARSE_MAX; r++) {
		struct conn n;
		struct frame f;

		conn_init(&n, 100 + r);
		malformed(&f, (enum ct_parse_reason)r, &n);
		run1(&f);
	}
	snap_take(&after);
	snap_same(&before, &after, "malformed packets");
	for (r = CT_PARSE_OK + 1; r < CT_PARSE_MAX; r++)
		cr_expect_eq(ct_worker_stats(w)->parse[r], 2, "%s counted %lu times",
		             ct_parse_reason_name(r), (unsigned long)ct_worker_stats(w)->parse[r]);
	cr_assert_eq(ct_worker_stats(w)->flows_created, 3);
	stats_balanced();
}

Test(hostile, odd_option_lengths_are_tracked_and_counted)
{
	struct conn c;
	struct frame f;
	uint8_t *th = f.b + 14 + 20;

	worker_up(64);
	conn_init(&c, 9);
	handshake(&c);
	/* an empty SACK option and an MSS of 3 bytes (Linux skips both): tracked, counted */
	tcp4(&f, &c, 0, PSH | ACK, c.cseq, c.sseq, 0);
	th[12] = 7 << 4;
	memcpy(th + 20, (const uint8_t[8]){1, 1, 5, 2, 2, 3, 5, 0}, 8);
	memset(f.b + 14 + 48, 0, 10);
	put16(f.b + 14 + 2, 20 + 28 + 10);
	f.len = 14 + 20 + 28 + 10;
	cr_assert_eq(run1(&f), CT_WV_ACCEPT);
	c.cseq += 10;
	cr_assert_eq(ct_worker_stats(w)->tcp_opt_odd, 1);
	cr_assert_eq(seg(&c, 1, ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(ct_worker_stats(w)->tcp_opt_odd, 1);
	cr_assert_eq(ct_worker_stats(w)->invalid, 0);
	cr_assert_eq(ct_worker_stats(w)->parse_drop, 0);
	stats_balanced();
}

/* ---- (a) every FSM INVALID reason, counted, changing nothing ---- */

/* Send @p f and require INVALID with reason @p want, the target flow (if any) unchanged. */
static void
expect_invalid(const struct frame *f, const struct conn *c, enum ct_tcp_reason want)
{
	struct ct_flow a, b;
	int had = conn_flow(c, &a);
	uint64_t old = ct_worker_stats(w)->reason[want];
	uint8_t v = run1(f);

	cr_assert_eq(v, CT_WV_INVALID, "%s: verdict %u", ct_tcp_reason_name(want), v);
	cr_assert_eq(ct_worker_stats(w)->reason[want], old + 1, "reason %s not counted",
	             ct_tcp_reason_name(want));
	cr_assert_eq(conn_flow(c, &b), had, "%s created or removed a flow",
	             ct_tcp_reason_name(want));
	if (had == 0)
		cr_assert(flow_same(&a, &b), "%s changed the flow", ct_tcp_reason_name(want));
}

Test(hostile, every_fsm_invalid_reason_is_counted_and_changes_no_flow)
{
	struct conn c, n;
	struct frame f;
	unsigned int r;

	conf.loose = false; /* an ACK without a flow starts none: no_flow_not_syn */
	worker_up(64);
	conn_init(&n, 50); /* never has a flow */
	tcp4(&f, &n, 1, SYN | ACK, 1, 2, 0);
	expect_invalid(&f, &n, CT_R_NO_FLOW_SYNACK);
	tcp4(&f, &n, 0, ACK, 1, 2, 0);
	expect_invalid(&f, &n, CT_R_NO_FLOW_NOT_SYN);
	tcp4(&f, &n, 0, RST | ACK, 1, 2, 0);
	expect_invalid(&f, &n, CT_R_NO_FLOW_RST);

	/* SYN_SENT: a SYN+ACK that does not ack the SYN; a FIN before the handshake. */
	conn_init(&c, 51);
	cr_assert_eq(seg(&c, 0, SYN, 0), CT_WV_NEW);
	tcp4(&f, &c, 1, SYN | ACK, c.sseq, c.cseq + 5, 0);
	expect_invalid(&f, &c, CT_R_SYNACK_BAD_ACK);
	tcp4(&f, &c, 1, FIN | ACK, c.sseq, c.cseq, 0);
	expect_invalid(&f, &c, CT_R_FIN_EARLY);
	/* the listener's data before its SYN (its bare ACK of the SYN is a split handshake) */
	tcp4(&f, &c, 1, PSH | ACK, c.sseq, c.cseq, 10);
	expect_invalid(&f, &c, CT_R_ACK_IN_LISTEN);
	tcp4(&f, &c, 1, ACK, c.sseq, c.cseq + 1, 0); /* acks more than the SYN */
	expect_invalid(&f, &c, CT_R_ACK_SYN_UNANSWERED);
	tcp4(&f, &c, 0, ACK, c.cseq, c.sseq + 1, 0); /* the client's ACK of no SYN+ACK */
	expect_invalid(&f, &c, CT_R_ACK_BEFORE_SYNACK);
	tcp4(&f, &c, 0, SYN | ACK, c.cseq - 1, c.sseq + 1, 0); /* to the listener */
	expect_invalid(&f, &c, CT_R_SYNACK_UNSOLICITED);
	cr_assert_eq(seg(&c, 1, SYN | ACK, 0), CT_WV_ACCEPT);
	tcp4(&f, &c, 1, SYN, c.sseq - 1, 0, 0); /* a bare SYN after its SYN+ACK */
	expect_invalid(&f, &c, CT_R_SYN_AFTER_SYNACK);
	cr_assert_eq(seg(&c, 0, ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(seg(&c, 0, PSH | ACK, 100), CT_WV_ACCEPT);
	cr_assert_eq(seg(&c, 1, ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(conn_state(&c), CT_S_ESTABLISHED);

	/* ESTABLISHED: the four window bounds, RST and SYN. */
	tcp4(&f, &c, 0, PSH | ACK, c.cseq + 200000, c.sseq, 10);
	expect_invalid(&f, &c, CT_R_SEQ_ABOVE_WINDOW);
	tcp4(&f, &c, 0, PSH | ACK, c.cseq - 200000, c.sseq, 10);
	expect_invalid(&f, &c, CT_R_SEQ_BELOW_WINDOW);
	tcp4(&f, &c, 0, ACK, c.cseq, c.sseq + 100000, 0); /* beyond what the server may send */
	expect_invalid(&f, &c, CT_R_ACK_UNSENT);
	tcp4(&f, &c, 0, ACK, c.cseq, c.sseq - 1000000, 0);
	expect_invalid(&f, &c, CT_R_ACK_TOO_OLD);
	tcp4(&f, &c, 1, RST, c.sseq + 1000000, 0, 0);
	expect_invalid(&f, &c, CT_R_RST_OUT_OF_WINDOW);
	tcp4(&f, &c, 1, RST, c.sseq + 10, 0, 0); /* in window, not at RCV.NXT: RFC 5961 */
	expect_invalid(&f, &c, CT_R_RST_INEXACT);
	tcp4(&f, &c, 0, SYN, c.cseq + 10, 0, 0);
	expect_invalid(&f, &c, CT_R_SYN_IN_WINDOW);

	/* TIME_WAIT: a SYN whose ISN is not beyond the old connection's; a SYN+ACK after a FIN. */
	cr_assert_eq(seg(&c, 0, FIN | ACK, 0), CT_WV_ACCEPT);
	tcp4(&f, &c, 1, SYN | ACK, c.sseq - 1, c.cseq, 0);
	expect_invalid(&f, &c, CT_R_SYNACK_LATE);
	cr_assert_eq(seg(&c, 1, FIN | ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(seg(&c, 0, ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(conn_state(&c), CT_S_TIME_WAIT);
	tcp4(&f, &c, 0, SYN, c.cseq - 50, 0, 0);
	expect_invalid(&f, &c, CT_R_TW_REOPEN_OLD_ISN);

	/*
	 * Simultaneous open, then a FIN from SYN_RCVD: it acks the peer's SYN, so the peer's ACK
	 * of it is valid (ackfin_early is unreachable now: a FIN moves its sender to FIN_WAIT_1
	 * and its receiver to ESTABLISHED at least, so no ACK of a FIN comes from an endpoint
	 * before ESTABLISHED).
	 */
	conn_init(&n, 52);
	tcp4(&f, &n, 0, SYN, n.cseq, 0, 0);
	cr_assert_eq(run1(&f), CT_WV_NEW);
	tcp4(&f, &n, 1, SYN, n.sseq, 0, 0);
	cr_assert_eq(run1(&f), CT_WV_ACCEPT);
	tcp4(&f, &n, 1, SYN | ACK, n.sseq, n.cseq + 1, 0);
	cr_assert_eq(run1(&f), CT_WV_ACCEPT);
	tcp4(&f, &n, 0, SYN | ACK, n.cseq, n.sseq + 1, 0);
	cr_assert_eq(run1(&f), CT_WV_ACCEPT); /* both SYN_RCVD */
	tcp4(&f, &n, 0, FIN | ACK, n.cseq + 1, n.sseq + 1, 0);
	cr_assert_eq(run1(&f), CT_WV_ACCEPT);
	tcp4(&f, &n, 1, ACK, n.sseq + 1, n.cseq + 2, 0);
	cr_assert_eq(run1(&f), CT_WV_ACCEPT);
	cr_assert_eq(conn_state(&n), CT_S_CLOSE_WAIT);

	/*
	 * Every reason but three is reachable through the pipeline: bad_flags (the parser refuses
	 * those combinations first, under parse_flags_*), unexpected (a corrupt record) and
	 * ackfin_early (above; the table keeps it for cells no valid sequence reaches).
	 */
	for (r = CT_R_OK + 1; r < CT_R_MAX; r++)
		if (r != CT_R_BAD_FLAGS && r != CT_R_UNEXPECTED && r != CT_R_ACKFIN_EARLY)
			cr_expect_gt(ct_worker_stats(w)->reason[r], 0,
			             "FSM reason %s never counted", ct_tcp_reason_name(r));
	cr_assert_eq(ct_worker_stats(w)->reason[CT_R_BAD_FLAGS], 0);
	cr_assert_eq(ct_worker_stats(w)->flows_created, 2);
	stats_balanced();
}

/* ---- (b) blind injection (RFC 5961) ---- */

Test(hostile, blind_rst_syn_and_data_never_disturb_an_established_flow)
{
	struct ct_flow a, b;
	struct conn c;
	struct frame f;
	uint32_t off[] = {70000, 1000000, 0x40000000, 0x80000000u, 0xc0000000u, (uint32_t)-70000};
	unsigned int i;

	worker_up(64);
	conn_init(&c, 7);
	handshake(&c);
	cr_assert_eq(seg(&c, 0, PSH | ACK, 500), CT_WV_ACCEPT);
	cr_assert_eq(seg(&c, 1, PSH | ACK, 1000), CT_WV_ACCEPT);
	cr_assert_eq(seg(&c, 0, ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(conn_flow(&c, &a), 0);

	for (i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		for (int side = 0; side < 2; side++) {
			uint32_t sq = (side ? c.sseq : c.cseq) + off[i];
			uint32_t ak = side ? c.cseq : c.sseq;

			tcp4(&f, &c, side, RST, sq, 0, 0);
			cr_assert_eq(run1(&f), CT_WV_INVALID, "RST at +%u", off[i]);
			tcp4(&f, &c, side, RST | ACK, sq, ak, 0);
			cr_assert_eq(run1(&f), CT_WV_INVALID, "RST+ACK at +%u", off[i]);
			tcp4(&f, &c, side, SYN, sq, 0, 0);
			cr_assert_eq(run1(&f), CT_WV_INVALID, "SYN at +%u", off[i]);
			tcp4(&f, &c, side, PSH | ACK, sq, ak, 100);
			cr_assert_eq(run1(&f), CT_WV_INVALID, "data at +%u", off[i]);
			tcp4(&f, &c, side, FIN | ACK, sq, ak, 0);
			cr_assert_eq(run1(&f), CT_WV_INVALID, "FIN at +%u", off[i]);
		}
	}
	/* In-window SYN (RFC 5961 4.2: never resets) */
	tcp4(&f, &c, 0, SYN, c.cseq, 0, 0);
	cr_assert_eq(run1(&f), CT_WV_INVALID);
	cr_assert_eq(conn_flow(&c, &b), 0);
	cr_assert(flow_same(&a, &b), "blind segments changed the established flow");
	cr_assert_eq(b.tcp.state, CT_S_ESTABLISHED);

	/* The flow still tracks normally, then an exact in-window RST closes it. */
	cr_assert_eq(seg(&c, 0, PSH | ACK, 10), CT_WV_ACCEPT);
	cr_assert_eq(seg(&c, 1, ACK, 0), CT_WV_ACCEPT);
	tcp4(&f, &c, 1, RST, c.sseq, 0, 0);
	cr_assert_eq(run1(&f), CT_WV_ACCEPT);
	cr_assert_eq(conn_state(&c), CT_S_CLOSE);
	stats_balanced();
}

Test(hostile, spoofed_rst_after_a_syn_deletes_the_flow_and_the_real_handshake_starts_afresh)
{
	struct ct_flow f;
	struct conn c, d;
	struct frame fr;

	worker_up(64);
	/* Linux deletes an entry whose only reply is an RST; the real SYN+ACK then has no entry
	 * and the client's ACK picks the connection up (loose), so one spoofed packet blocks
	 * nothing. */
	conn_init(&c, 60);
	cr_assert_eq(seg(&c, 0, SYN, 0), CT_WV_NEW);
	tcp4(&fr, &c, 1, RST | ACK, 0, c.cseq, 0);
	cr_assert_eq(run1(&fr), CT_WV_ACCEPT);
	cr_assert_eq(conn_flow(&c, &f), -ENOENT, "the flow survived the RST before any reply");
	cr_assert_eq(ct_worker_stats(w)->flows_rst_deleted, 1);
	cr_assert_eq(seg(&c, 1, SYN | ACK, 0), CT_WV_INVALID);
	cr_assert_eq(ct_worker_stats(w)->reason[CT_R_NO_FLOW_SYNACK], 1);
	cr_assert_eq(seg(&c, 0, ACK, 0), CT_WV_NEW);
	cr_assert_eq(seg(&c, 1, PSH | ACK, 10), CT_WV_ACCEPT);
	cr_assert_eq(seg(&c, 0, ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(conn_state(&c), CT_S_ESTABLISHED);
	/* A retransmitted SYN after such an RST starts a new flow at once. */
	conn_init(&d, 61);
	cr_assert_eq(seg(&d, 0, SYN, 0), CT_WV_NEW);
	tcp4(&fr, &d, 1, RST | ACK, 0, d.cseq, 0);
	cr_assert_eq(run1(&fr), CT_WV_ACCEPT);
	tcp4(&fr, &d, 0, SYN, d.cseq - 1, 0, 0);
	cr_assert_eq(run1(&fr), CT_WV_NEW);
	cr_assert_eq(seg(&d, 1, SYN | ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(seg(&d, 0, ACK, 0), CT_WV_ACCEPT);
	cr_assert_eq(conn_state(&d), CT_S_ESTABLISHED);
	cr_assert_eq(ct_worker_stats(w)->flows_rst_deleted, 2);
	cr_assert_eq(ct_table_count(ct_worker_table(w)), 2);
	stats_balanced();
}

/* ---- (c) table full ---- */

Test(hostile, full_table_refuses_new_flows_and_tracks_existing_ones_to_their_close)
{
	static struct conn c[1024];
	uint32_t cap, i;

	worker_up(64);
	cap = ct_table_capacity(ct_worker_table(w));
	cr_assert_leq(cap, 1024);
	for (i = 0; i < cap; i++) {
		conn_init(&c[i], i + 1);
		handshake(&c[i]);
	}
	cr_assert_eq(ct_table_count(ct_worker_table(w)), cap);
	for (i = 0; i < 3 * cap; i++) {
		struct conn n;

		conn_init(&n, 100000 + i);
		cr_assert_eq(seg(&n, 0, SYN, 0), CT_WV_REFUSED);
		cr_assert_eq(seg(&n, 0, ACK, 0), CT_WV_REFUSED); /* loose pick-up refused too */
	}
	cr_assert_eq(ct_worker_stats(w)->flows_refused, 6 * cap);
	cr_assert_eq(ct_worker_stats(w)->flows_evicted, 0);
	for (i = 0; i < cap; i++) {
		cr_assert_eq(seg(&c[i], 0, PSH | ACK, 100), CT_WV_ACCEPT);
		cr_assert_eq(seg(&c[i], 1, PSH | ACK, 200), CT_WV_ACCEPT);
		cr_assert_eq(seg(&c[i], 0, FIN | ACK, 0), CT_WV_ACCEPT);
		cr_assert_eq(conn_state(&c[i]), CT_S_FIN_WAIT);
		cr_assert_eq(seg(&c[i], 1, FIN | ACK, 0), CT_WV_ACCEPT);
		cr_assert_eq(seg(&c[i], 0, ACK, 0), CT_WV_ACCEPT);
		cr_assert_eq(conn_state(&c[i]), CT_S_TIME_WAIT);
	}
	cr_assert_eq(ct_worker_stats(w)->invalid, 0);
	cr_assert_eq(ct_worker_stats(w)->flows_closed, cap);
	cr_assert_eq(ct_table_count(ct_worker_table(w)), cap);
	stats_balanced();
}

/* ---- (d) SYN flood ---- */

static unsigned int
embryonic_count(void)
{
	uint32_t next = 0;
	unsigned int n = 0;
	struct ct_flow_key k;
	struct ct_flow f;

	while (ct_table_read_next(ct_worker_table(w), &next, &k, &f) == 0)
		n += f.tcp.state == CT_S_SYN_SENT || f.tcp.state == CT_S_SYN_RECV ||
		     f.tcp.state == CT_S_SYN_SENT2;
	return n;
}

Test(hostile, syn_flood_of_ten_times_the_table_evicts_only_embryonic_flows)
{
	static struct conn legit[1024];
	struct conn spoof;
	uint32_t cap, nlegit, i, k = 0, refused;
	struct frame fr[32];

	worker_up(256);
	cap = ct_table_capacity(ct_worker_table(w));
	nlegit = cap / 2;
	cr_assert_leq(nlegit, 1024);
	/* A quarter established before the flood, the rest connect during it. */
	for (i = 0; i < nlegit / 2; i++) {
		conn_init(&legit[i], i + 1);
		handshake(&legit[i]);
	}
	for (i = nlegit / 2; i < nlegit; i++)
		conn_init(&legit[i], i + 1);
	i = nlegit / 2;
	while (k < 10 * cap) {
		unsigned int j;

		/* 32 spoofed SYNs from random-looking sources, as one burst */
		for (j = 0; j < 32; j++, k++) {
			conn_init(&spoof, 0x800000 + k); /* 10.128.0.0/9: unique sources */
			tcp4(&fr[j], &spoof, 0, SYN, k * 2246822519u, 0, 0);
		}
		run_burst(fr, 32, NULL);
		now++;
		if (i < nlegit) {
			if (seg(&legit[i], 0, SYN, 0) != CT_WV_NEW)
				cr_assert_fail(
				        "legitimate SYN %u refused during the flood while %u of "
				        "the %u flows are embryonic (evictable)",
				        i, embryonic_count(), ct_table_count(ct_worker_table(w)));
			cr_assert_eq(seg(&legit[i], 1, SYN | ACK, 0), CT_WV_ACCEPT);
			cr_assert_eq(seg(&legit[i], 0, ACK, 0), CT_WV_ACCEPT);
			cr_assert_eq(seg(&legit[i], 0, PSH | ACK, 100), CT_WV_ACCEPT);
			i++;
		}
	}
	cr_assert_eq(i, nlegit, "the flood ended before every legitimate client connected");
	for (i = 0; i < nlegit; i++) {
		cr_assert_eq(conn_state(&legit[i]), CT_S_ESTABLISHED, "legitimate flow %u lost", i);
		cr_assert_eq(seg(&legit[i], 1, PSH | ACK, 10), CT_WV_ACCEPT);
		cr_assert_eq(seg(&legit[i], 0, ACK, 0), CT_WV_ACCEPT);
	}
	ct_worker_tick(w, now);
	refused = (uint32_t)ct_worker_stats(w)->flows_refused;
	cr_assert_eq(refused, 0, "%u SYNs refused although embryonic flows could be evicted",
	             refused);
	cr_assert_geq(ct_worker_stats(w)->flows_evicted, 10 * cap - cap, "evicted %lu",
	              (unsigned long)ct_worker_stats(w)->flows_evicted);
	/* the flood keeps the table at its high-water mark, below the capacity */
	cr_assert_eq(ct_table_count(ct_worker_table(w)), ct_table_high_water(ct_worker_table(w)));
	cr_assert_lt(ct_table_high_water(ct_worker_table(w)), cap);
	cr_assert_eq(ct_worker_stats(w)->invalid, 0);
	stats_balanced();
}

/* ---- same-burst eviction ---- */

Test(hostile, packet_of_a_flow_evicted_earlier_in_the_burst_is_not_tracked_on_its_old_record)
{
	struct conn c[64], x;
	struct frame fr[2];
	uint8_t v[2];
	uint32_t cap, i, next = 0, n = 0;
	struct ct_flow_key k;
	struct ct_flow f;

	worker_up(8);
	cap = ct_table_capacity(ct_worker_table(w));
	cr_assert_leq(cap, 64);
	for (i = 0; i < cap; i++) {
		conn_init(&c[i], i + 1);
		cr_assert_eq(seg(&c[i], 0, SYN, 0), CT_WV_NEW);
	}
	now++;
	/* One burst: a new SYN evicts c[0] (the oldest embryonic flow), then c[0]'s SYN+ACK. */
	conn_init(&x, 1000);
	tcp4(&fr[0], &x, 0, SYN, x.cseq, 0, 0);
	tcp4(&fr[1], &c[0], 1, SYN | ACK, c[0].sseq, c[0].cseq, 0);
	run_burst(fr, 2, v);
	cr_assert_eq(v[0], CT_WV_NEW);
	cr_assert_eq(conn_flow(&c[0], &f), -ENOENT, "evicted flow still present");
	/* c[0] no longer exists: its SYN+ACK finds no flow (as when sent in the next burst). */
	cr_expect_eq(v[1], CT_WV_INVALID, "SYN+ACK of the evicted flow: verdict %u", v[1]);
	cr_expect_eq(ct_worker_stats(w)->reason[CT_R_NO_FLOW_SYNACK], 1);
	while (ct_table_read_next(ct_worker_table(w), &next, &k, &f) == 0)
		n++;
	cr_assert_eq(n, ct_table_count(ct_worker_table(w)), "%u published records, count %u", n,
	             ct_table_count(ct_worker_table(w)));
	cr_assert_eq(conn_state(&x), CT_S_SYN_SENT);
}

/* ---- (e) soak ---- */

Test(hostile, soak_of_complete_connections_leaves_no_flow_and_balanced_counters)
{
	const char *env = getenv("SYNFIN_SOAK");
	uint64_t total = env != NULL ? strtoull(env, NULL, 0) : 200000;
	struct rte_malloc_socket_stats h0, h1;
	struct rte_mbuf *m[32];
	struct conn c[4];
	uint64_t done = 0, t_end;
	unsigned int i, s;
	/* The 8 segments of one connection: side, flags, payload length. */
	static const struct {
		uint8_t side, flags;
		uint16_t len;
	} life[8] = {
	        {0, SYN, 0},         {1, SYN | ACK, 0}, {0, ACK, 0},       {0, PSH | ACK, 64},
	        {1, PSH | ACK, 128}, {0, FIN | ACK, 0}, {1, FIN | ACK, 0}, {0, ACK, 0},
	};

	for (s = 0; s < CT_S_MAX; s++)
		conf.timeouts.ms[s] = 2000;
	conf.timeouts.ms[CT_S_TIME_WAIT] = 1000;
	cr_assert_eq(rte_malloc_get_socket_stats(0, &h0), 0);
	worker_up(1u << 14);
	for (i = 0; i < 32; i++) {
		m[i] = rte_pktmbuf_alloc(pool);
		cr_assert_not_null(m[i]);
	}
	/* Bursts of 32 packets: 4 connections' whole lives interleaved, 1 ms per burst. */
	while (done < total) {
		unsigned int n = 0;

		for (i = 0; i < 4; i++)
			conn_init(&c[i], (uint32_t)((done + i) % 0xfffff0) + 1);
		for (s = 0; s < 8; s++) {
			for (i = 0; i < 4; i++) {
				struct frame f;
				uint32_t *snd = life[s].side ? &c[i].sseq : &c[i].cseq;
				uint32_t rcv = life[s].side ? c[i].cseq : c[i].sseq;

				tcp4(&f, &c[i], life[s].side, life[s].flags, *snd,
				     (life[s].flags & ACK) ? rcv : 0, life[s].len);
				*snd += life[s].len + !!(life[s].flags & (SYN | FIN));
				rte_pktmbuf_reset(m[n]);
				memcpy(rte_pktmbuf_append(m[n], (uint16_t)f.len), f.b, f.len);
				n++;
			}
		}
		ct_worker_process_burst(w, m, (uint16_t)n, now, NULL);
		done += 4;
		now++;
		ct_worker_tick(w, now);
	}
	cr_assert_eq(ct_worker_stats(w)->flows_created, done);
	cr_assert_eq(ct_worker_stats(w)->flows_closed, done);
	cr_assert_eq(ct_worker_stats(w)->invalid, 0);
	cr_assert_eq(ct_worker_stats(w)->flows_refused, 0);
	cr_assert_eq(ct_worker_stats(w)->flows_evicted, 0);
	cr_assert_eq(ct_worker_stats(w)->flows_created, ct_worker_stats(w)->flows_expired +
	                                                        ct_worker_stats(w)->flows_evicted +
	                                                        ct_worker_stats(w)->flows_flushed +
	                                                        ct_table_count(ct_worker_table(w)));
	/* Past every timeout: the table drains. */
	t_end = now + 10 * TPS;
	while (now < t_end && ct_table_count(ct_worker_table(w)) > 0) {
		now += 100;
		while (ct_worker_tick(w, now) == 256)
			;
	}
	cr_assert_eq(ct_table_count(ct_worker_table(w)), 0);
	cr_assert_eq(ct_worker_stats(w)->flows_expired, done);
	stats_balanced();
	for (i = 0; i < 32; i++)
		rte_pktmbuf_free(m[i]);
	cr_assert_eq(rte_mempool_avail_count(pool), NMBUF, "mbufs leaked");
	ct_worker_free(w);
	w = NULL;
	cr_assert_eq(rte_malloc_get_socket_stats(0, &h1), 0);
	cr_assert_eq(h1.heap_allocsz_bytes, h0.heap_allocsz_bytes,
	             "DPDK heap: %zu bytes before, %zu after", h0.heap_allocsz_bytes,
	             h1.heap_allocsz_bytes);
}
