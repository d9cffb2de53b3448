/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-lcore pipeline (ct_worker_process_burst() on mbufs built in memory, EAL without
 * hugepages) as a whole: a connection's full lifecycle given in one burst ends in the same flow
 * record, verdicts and counters as the same packets given one per burst; both directions of a
 * connection (also when the client is the larger endpoint, a swapped key) hit one flow with the
 * right orientation; a SYN in TIME_WAIT re-creates the flow in place (same key, new client,
 * counters restarted), in its own burst or in the burst that closed the flow; and the counters
 * add up: every packet is TCP, untracked or malformed, every TCP segment accepted or INVALID,
 * the per-reason counters sum to their totals, created flows = live flows + expired ones. The
 * flows per state the worker keeps equal a count of a walk of its table through creations,
 * state changes, REOPEN, eviction, expiry and flush. Requests from other threads
 * (ct_worker_call()): test_worker_call.c.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "ct_parse.h"
#include "ct_stats.h"
#include "ct_table.h"
#include "ct_tcp.h"
#include "ct_worker.h"
#include "tl_eal.h"
#include "tl_frame.h"

#define TPS     1000 /* 1 tick = 1 ms */
#define NMBUF   511
#define MAX_FR  64
#define FR_SIZE 1100

#define FIN CT_TCPF_FIN
#define SYN CT_TCPF_SYN
#define RST CT_TCPF_RST
#define PSH CT_TCPF_PSH
#define ACK CT_TCPF_ACK

static struct rte_mempool *pool;

static void
eal_up(void)
{
	cr_assert_eq(tl_eal_up("test_worker", "0", 512), 0, "rte_eal_init: %s",
	             rte_strerror(rte_errno));
	pool = tl_pool_create("worker", NMBUF);
	cr_assert_not_null(pool, "mempool: %s", rte_strerror(rte_errno));
}

static void
eal_down(void)
{
	rte_mempool_free(pool);
	rte_eal_cleanup();
}

TestSuite(worker, .init = eal_up, .fini = eal_down, .timeout = 60);

static struct ct_worker *
worker_new(const char *name, uint32_t capacity)
{
	struct ct_worker_params p = {
	        .name = name,
	        .capacity = capacity,
	        .socket_id = SOCKET_ID_ANY,
	        .tcp = NULL,
	        .now = 1,
	};
	struct ct_worker *w = ct_worker_create(&p);

	cr_assert_not_null(w, "ct_worker_create: %s", rte_strerror(rte_errno));
	return w;
}

/* ---- frames ---- */

/* A list of frames of several connections. */
struct trace {
	struct tl_frame f[MAX_FR];
	unsigned int n;
};

/* One connection: endpoints (host order) and the next sequence number of each side. */
struct conn {
	uint32_t addr[2]; /* [0] client, [1] server */
	uint16_t port[2];
	uint32_t seq[2];
};

static uint32_t
ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

static struct conn
conn(uint32_t caddr, uint16_t cport, uint32_t saddr, uint16_t sport, uint32_t isn_c, uint32_t isn_s)
{
	struct conn c = {{caddr, saddr}, {cport, sport}, {isn_c, isn_s}};

	return c;
}

/* Append a raw IPv4/TCP frame sent by side @p from (0 client, 1 server) of @p c. */
static void
add_raw(struct trace *t, const struct conn *c, unsigned int from, uint8_t flags, uint32_t seq,
        uint32_t ack, uint16_t plen)
{
	cr_assert_lt(t->n, MAX_FR);
	cr_assert_leq(14u + 40u + plen, (unsigned int)FR_SIZE);
	cr_assert_gt(tl_frame_tcp4(&t->f[t->n++], c->addr[from], c->port[from], c->addr[!from],
	                           c->port[!from], flags, seq, ack, 65535, plen),
	             0);
}

/* Append the next in-sequence segment of side @p from, advancing its sequence number. */
static void
add(struct trace *t, struct conn *c, unsigned int from, uint8_t flags, uint16_t plen)
{
	add_raw(t, c, from, flags, c->seq[from], (flags & ACK) ? c->seq[!from] : 0, plen);
	c->seq[from] += plen + !!(flags & SYN) + !!(flags & FIN);
}

/* Handshake, data both ways, FIN from the client, FIN from the server, last ACK. */
static void
add_lifecycle(struct trace *t, struct conn *c)
{
	add(t, c, 0, SYN, 0);
	add(t, c, 1, SYN | ACK, 0);
	add(t, c, 0, ACK, 0);
	add(t, c, 0, PSH | ACK, 100);
	add(t, c, 1, PSH | ACK, 1000);
	add(t, c, 0, ACK, 0);
	add(t, c, 0, FIN | ACK, 0);
	add(t, c, 1, FIN | ACK, 0);
	add(t, c, 0, ACK, 0);
}

/* Frames [from, from + n) of @p t as bursts of @p burst packets at tick @p now. */
static void
run(struct ct_worker *w, const struct trace *t, unsigned int from, unsigned int n,
    unsigned int burst, uint64_t now, uint8_t *verdicts)
{
	struct rte_mbuf *m[MAX_FR];

	for (unsigned int i = 0; i < n; i++) {
		m[i] = tl_mbuf_from(pool, t->f[from + i].b, t->f[from + i].len, 0);
		cr_assert_not_null(m[i]);
	}
	for (unsigned int i = 0; i < n; i += burst) {
		uint16_t k = (uint16_t)(n - i < burst ? n - i : burst);

		ct_worker_process_burst(w, m + i, k, now, verdicts != NULL ? verdicts + i : NULL);
	}
	for (unsigned int i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

static void
run_all(struct ct_worker *w, const struct trace *t, unsigned int burst, uint8_t *verdicts)
{
	run(w, t, 0, t->n, burst, 100, verdicts);
}

/* The flow of @p c in @p w (copied), either direction's key; false when there is none. */
static bool
flow_of(struct ct_worker *w, const struct conn *c, unsigned int from, struct ct_flow *out)
{
	struct ct_flow_key k;
	const struct ct_flow_key *kp = &k;
	uint32_t a = htonl(c->addr[from]), b = htonl(c->addr[!from]);
	int32_t pos;

	cr_assert_eq(ct_flow_key_make(&k, 4, &a, &b, htons(c->port[from]), htons(c->port[!from]), 0,
	                              NULL),
	             0);
	pos = ct_table_lookup(ct_worker_table(w), kp, ct_table_hash(kp, sizeof(*kp)));
	if (pos < 0)
		return false;
	memcpy(out, ct_table_rec(ct_worker_table(w), (uint32_t)pos), sizeof(*out));
	return true;
}

/* Flow record without its timer links (their values depend on the wheel's history). */
static void
assert_same_flow(const struct ct_flow *a, const struct ct_flow *b)
{
	cr_assert_eq(memcmp(&a->tcp, &b->tcp, sizeof(a->tcp)), 0, "tracking state differs");
	cr_assert_eq(a->last_seen, b->last_seen);
	cr_assert_eq(a->pkts[0], b->pkts[0]);
	cr_assert_eq(a->pkts[1], b->pkts[1]);
	cr_assert_eq(ct_flow_bytes(a, 0), ct_flow_bytes(b, 0));
	cr_assert_eq(ct_flow_bytes(a, 1), ct_flow_bytes(b, 1));
	cr_assert_eq(a->invalid, b->invalid);
	cr_assert_eq(a->flags, b->flags);
}

static uint64_t
sum(const uint64_t *v, unsigned int n)
{
	uint64_t s = 0;

	for (unsigned int i = 0; i < n; i++)
		s += v[i];
	return s;
}

/* ---- tests ---- */

Test(worker, lifecycle_in_one_burst_equals_one_packet_per_burst)
{
	static struct trace t;
	struct conn c1 = conn(ip(10, 0, 0, 1), 40000, ip(10, 0, 0, 2), 80, 1000, 9000);
	struct conn c2 = conn(ip(10, 0, 0, 9), 50000, ip(10, 0, 0, 2), 443, 7000, 3000);
	struct ct_worker *one = worker_new("w_one", 1024), *many = worker_new("w_many", 1024);
	uint8_t v_one[MAX_FR], v_many[MAX_FR];
	struct ct_flow f_one, f_many;

	t.n = 0;
	add_lifecycle(&t, &c1);
	/* a second connection interleaved with a reopen of the first in the same burst */
	add_lifecycle(&t, &c2);
	c1.seq[0] += 100000;
	add(&t, &c1, 0, SYN, 0);
	add_raw(&t, &c2, 0, PSH | ACK, c2.seq[0] + 1000000000u, c2.seq[1], 10); /* INVALID */
	run_all(one, &t, MAX_FR, v_one);
	run_all(many, &t, 1, v_many);

	cr_assert_eq(memcmp(v_one, v_many, t.n), 0, "verdicts differ");
	cr_assert_eq(v_one[0], CT_WV_NEW);
	cr_assert_eq(v_one[t.n - 2], CT_WV_NEW, "SYN in TIME_WAIT: want the flow re-created");
	cr_assert_eq(v_one[t.n - 1], CT_WV_INVALID);
	cr_assert_eq(ct_table_count(ct_worker_table(one)), 2);
	cr_assert_eq(ct_table_count(ct_worker_table(many)), 2);
	cr_assert(flow_of(one, &c1, 0, &f_one) && flow_of(many, &c1, 0, &f_many));
	assert_same_flow(&f_one, &f_many);
	cr_assert_eq(f_one.tcp.state, CT_S_SYN_SENT);
	cr_assert(flow_of(one, &c2, 0, &f_one) && flow_of(many, &c2, 0, &f_many));
	assert_same_flow(&f_one, &f_many);
	cr_assert_eq(f_one.tcp.state, CT_S_TIME_WAIT);
	cr_assert_eq(f_one.tcp.tcp_state[CT_DIR_ORIG], CT_TCP_TIME_WAIT);
	cr_assert_eq(f_one.tcp.tcp_state[CT_DIR_REPLY], CT_TCP_CLOSED);
	cr_assert_eq(f_one.invalid, 1);
	cr_assert_eq(
	        memcmp(ct_worker_stats(one), ct_worker_stats(many), sizeof(struct ct_lcore_stats)),
	        0, "counters differ");
	ct_worker_free(one);
	ct_worker_free(many);
}

Test(worker, both_directions_hit_one_flow)
{
	static struct trace t;
	/* c1: client is the smaller endpoint; c2: the larger one (swapped key) */
	struct conn c1 = conn(ip(10, 0, 0, 1), 40000, ip(10, 0, 0, 2), 80, 1000, 9000);
	struct conn c2 = conn(ip(10, 0, 0, 9), 50000, ip(10, 0, 0, 2), 443, 7000, 3000);
	struct ct_worker *w = worker_new("w_dirs", 1024);
	struct ct_flow f, g;

	t.n = 0;
	add(&t, &c1, 0, SYN, 0);
	add(&t, &c2, 0, SYN, 0);
	add(&t, &c1, 1, SYN | ACK, 0);
	add(&t, &c2, 1, SYN | ACK, 0);
	add(&t, &c1, 0, ACK, 0);
	add(&t, &c2, 0, ACK, 0);
	add(&t, &c2, 1, PSH | ACK, 20);
	run_all(w, &t, 32, NULL);

	cr_assert_eq(ct_table_count(ct_worker_table(w)), 2, "want one flow per connection");
	cr_assert_eq(ct_worker_stats(w)->flows_created, 2);
	cr_assert_eq(ct_worker_stats(w)->invalid, 0);
	for (unsigned int i = 0; i < 2; i++) {
		const struct conn *c = i == 0 ? &c1 : &c2;

		cr_assert(flow_of(w, c, 0, &f), "client's key finds no flow");
		cr_assert(flow_of(w, c, 1, &g), "server's key finds no flow");
		cr_assert_eq(memcmp(&f, &g, sizeof(f)), 0, "the two keys find different flows");
		cr_assert_eq(f.tcp.state, CT_S_ESTABLISHED);
		cr_assert_eq(f.pkts[CT_DIR_ORIG], 2, "client packets");
		cr_assert_eq(f.pkts[CT_DIR_REPLY], i == 0 ? 1u : 2u, "server packets");
		cr_assert_eq(!!(f.flags & CT_FLOW_F_SWAPPED), i, "swapped bit: client is key[%u]",
		             i);
	}
	cr_assert(flow_of(w, &c2, 0, &f));
	cr_assert_eq(ct_flow_bytes(&f, CT_DIR_REPLY), 40 + 60, "server bytes (L3)");
	ct_worker_free(w);
}

Test(worker, syn_in_time_wait_reopens_and_replaces_the_flow)
{
	static struct trace t;
	struct conn c = conn(ip(10, 0, 0, 1), 40000, ip(10, 0, 0, 2), 80, 1000, 9000);
	struct ct_worker *w = worker_new("w_reopen", 1024);
	uint8_t v[MAX_FR];
	struct ct_flow f;
	unsigned int n0;

	t.n = 0;
	add_lifecycle(&t, &c);
	n0 = t.n;
	run(w, &t, 0, n0, 32, 100, NULL);
	cr_assert(flow_of(w, &c, 0, &f));
	cr_assert_eq(f.tcp.state, CT_S_TIME_WAIT);
	cr_assert_eq(ct_worker_stats(w)->flows_closed, 1);

	/* The server (CLOSED after LAST_ACK) opens again with a new ISN: it is the new client. */
	c.seq[1] += 500000;
	add(&t, &c, 1, SYN, 0);
	add(&t, &c, 0, SYN | ACK, 0);
	run(w, &t, n0, t.n - n0, 32, 200, v + n0);
	cr_assert_eq(v[n0], CT_WV_NEW, "SYN in TIME_WAIT: want REOPEN (a new flow)");
	cr_assert_eq(v[n0 + 1], CT_WV_ACCEPT);
	cr_assert_eq(ct_table_count(ct_worker_table(w)), 1, "the new flow replaces the old one");
	cr_assert_eq(ct_worker_stats(w)->flows_reopened, 1);
	cr_assert_eq(ct_worker_stats(w)->flows_created, 2);
	cr_assert(flow_of(w, &c, 0, &f));
	cr_assert_eq(f.tcp.state, CT_S_SYN_RECV);
	cr_assert(f.flags & CT_FLOW_F_SWAPPED, "the old server is the new flow's client");
	cr_assert_eq(f.tcp.tcp_state[CT_DIR_ORIG], CT_TCP_SYN_SENT);
	cr_assert_eq(f.tcp.tcp_state[CT_DIR_REPLY], CT_TCP_SYN_RCVD);
	cr_assert_eq(f.pkts[CT_DIR_ORIG], 1, "counters restart with the new flow");
	cr_assert_eq(f.pkts[CT_DIR_REPLY], 1);
	cr_assert_eq(f.last_seen, 200);
	cr_assert_eq(f.invalid, 0);
	cr_assert_eq(f.tcp.flags & CT_F_ASSURED, 0);
	ct_worker_free(w);
}

Test(worker, counters_add_up)
{
	static struct trace t;
	struct conn closed = conn(ip(10, 1, 0, 1), 40000, ip(10, 1, 0, 2), 80, 1000, 9000);
	struct conn reset = conn(ip(10, 1, 0, 3), 40001, ip(10, 1, 0, 2), 80, 2000, 8000);
	struct conn open = conn(ip(10, 1, 0, 4), 40002, ip(10, 1, 0, 2), 80, 3000, 7000);
	struct ct_worker *w = worker_new("w_count", 1024);
	const struct ct_lcore_stats *s = ct_worker_stats(w);
	struct tl_frame *udp;
	uint64_t expired = 0;

	t.n = 0;
	add_lifecycle(&t, &closed);
	add(&t, &reset, 0, SYN, 0);
	add(&t, &reset, 1, SYN | ACK, 0);
	add(&t, &reset, 0, ACK, 0);
	add(&t, &reset, 1, RST, 0);
	add(&t, &open, 0, SYN, 0);
	add(&t, &open, 1, SYN | ACK, 0);
	add(&t, &open, 0, ACK, 0);
	add_raw(&t, &open, 0, PSH | ACK, open.seq[0] + 1000000000u, open.seq[1], 1); /* INVALID */
	add_raw(&t, &open, 1, RST, open.seq[1] + 1000000000u, 0, 0);                 /* INVALID */
	add_raw(&t, &open, 0, SYN | FIN, open.seq[0], 0, 0); /* parse: flags_syn_fin */
	add_raw(&t, &open, 0, ACK, open.seq[0] - 200000u, open.seq[1],
	        0);                                  /* INVALID: seq_below_window */
	add_raw(&t, &closed, 1, SYN | ACK, 1, 1, 0); /* INVALID on TIME_WAIT */
	add_raw(&t, &reset, 0, FIN | ACK, 1, 1, 0);  /* whatever CLOSE says */
	udp = &t.f[t.n];
	add_raw(&t, &open, 0, ACK, 0, 0, 0);
	udp->b[14 + 9] = 1; /* ICMP router advertisement: passed untracked */
	udp->b[14 + 20] = 9;
	run_all(w, &t, 7, NULL);

	/* every packet has exactly one outcome */
	cr_assert_eq(s->rx_pkts, t.n);
	cr_assert_eq(s->tcp_pkts + s->not_tcp + s->parse_drop, s->rx_pkts);
	cr_assert_eq(s->not_tcp, 1);
	cr_assert_eq(s->parse_drop, 1);
	cr_assert_eq(s->parse[CT_PARSE_FLAGS_SYN_FIN], 1);
	cr_assert_eq(sum(s->parse, CT_PARSE_MAX), s->not_tcp + s->parse_drop);
	cr_assert_eq(s->accepted + s->invalid + s->flows_refused, s->tcp_pkts);
	cr_assert_eq(s->flows_refused, 0);
	cr_assert_eq(sum(s->reason, CT_R_MAX), s->invalid, "per-reason counters != INVALID");
	cr_assert_eq(s->reason[CT_R_OK], 0);
	cr_assert_geq(s->invalid, 4);
	cr_assert_eq(s->reason[CT_R_SEQ_ABOVE_WINDOW], 1);
	cr_assert_eq(s->reason[CT_R_SEQ_BELOW_WINDOW], 1);
	cr_assert_eq(s->reason[CT_R_RST_OUT_OF_WINDOW], 1);
	/* flows: 3 created, 2 closed (TIME_WAIT, CLOSE), all 3 still in the table */
	cr_assert_eq(s->flows_created, 3);
	cr_assert_eq(s->flows_closed, 2);
	cr_assert_eq(s->flows_reopened, 0);
	cr_assert_eq(ct_table_count(ct_worker_table(w)), 3);
	/* the per-flow INVALID counts are the global one minus the no-flow cases (none here) */
	{
		struct ct_flow f;
		uint64_t inv = 0;

		cr_assert(flow_of(w, &closed, 0, &f));
		inv += f.invalid;
		cr_assert(flow_of(w, &reset, 0, &f));
		inv += f.invalid;
		cr_assert_eq(f.tcp.state, CT_S_CLOSE);
		cr_assert(flow_of(w, &open, 0, &f));
		inv += f.invalid;
		cr_assert_eq(f.tcp.state, CT_S_ESTABLISHED);
		cr_assert_eq(inv, s->invalid);
	}
	/* time passes beyond every timeout: everything created expires, nothing else */
	for (uint64_t now = 1000; now <= 6ull * 24 * 3600 * TPS; now += 3600 * TPS)
		expired += ct_worker_tick(w, now);
	cr_assert_eq(expired, 3);
	cr_assert_eq(s->flows_expired, 3);
	cr_assert_eq(ct_table_count(ct_worker_table(w)), 0);
	cr_assert_eq(s->flows_created,
	             s->flows_expired + s->flows_flushed + ct_table_count(ct_worker_table(w)));
	ct_worker_free(w);
}

/* ---- flows per state ---- */

/* ct_worker_flows_by_state() against a count by state of a full walk of the worker's table. */
static void
assert_by_state_is_walk(struct ct_worker *w, const char *when)
{
	uint64_t kept[CT_CLASS_MAX], walked[CT_CLASS_MAX] = {0};
	struct ct_table *t = ct_worker_table(w);
	struct ct_flow_key k;
	struct ct_flow f;
	uint32_t next = 0, n = 0;

	while (ct_table_read_next(t, &next, &k, &f) == 0) {
		cr_assert_lt(f.tcp.state, CT_CLASS_MAX, "%s: state %u", when, f.tcp.state);
		walked[f.tcp.state]++;
		n++;
	}
	cr_assert_eq(n, ct_table_count(t), "%s: walk found %u flows, table counts %u", when, n,
	             ct_table_count(t));
	ct_worker_flows_by_state(w, kept);
	for (unsigned int s = 0; s < CT_CLASS_MAX; s++)
		cr_assert_eq(kept[s], walked[s], "%s: %s: worker keeps %" PRIu64 ", walk %" PRIu64,
		             when, ct_class_name(s), kept[s], walked[s]);
}

/* Creations, state changes and a REOPEN on three connections: c[0] ESTABLISHED, c[1] through
 * its whole life to TIME_WAIT and then re-opened, c[2] reset (CLOSE). */
static void
by_state_lifecycles(struct ct_worker *w, struct conn *c, uint64_t *now)
{
	static struct trace t;
	const struct ct_lcore_stats *s = ct_worker_stats(w);

	t.n = 0;
	add(&t, &c[0], 0, SYN, 0);
	add(&t, &c[0], 1, SYN | ACK, 0);
	add(&t, &c[0], 0, ACK, 0);
	add_lifecycle(&t, &c[1]);
	add(&t, &c[2], 0, SYN, 0);
	add(&t, &c[2], 1, SYN | ACK, 0);
	run(w, &t, 0, t.n, 5, *now, NULL);
	assert_by_state_is_walk(w, "handshakes");
	t.n = 0;
	add(&t, &c[2], 1, RST, 0);
	run(w, &t, 0, t.n, 32, *now, NULL);
	cr_assert_geq(s->state_changes, 8);
	assert_by_state_is_walk(w, "state changes");
	/* REOPEN: a SYN on the TIME_WAIT flow re-creates it in SYN_SENT */
	t.n = 0;
	c[1].seq[0] += 100000;
	add(&t, &c[1], 0, SYN, 0);
	run(w, &t, 0, t.n, 32, ++*now, NULL);
	cr_assert_eq(s->flows_reopened, 1);
	assert_by_state_is_walk(w, "reopen");
}

/* More SYNs than the small table holds, in one burst and one by one: evictions. */
static void
by_state_evictions(struct ct_worker *w, uint64_t *now)
{
	static struct trace t;
	uint32_t cap = ct_table_capacity(ct_worker_table(w));

	t.n = 0;
	for (unsigned int i = 0; i < cap + 4 && t.n < MAX_FR; i++) {
		struct conn c = conn(ip(10, 3, 0, (uint8_t)i), 50000, ip(10, 3, 1, 1), 80, i, 0);

		add(&t, &c, 0, SYN, 0);
	}
	run(w, &t, 0, t.n / 2, 32, ++*now, NULL);
	run(w, &t, t.n / 2, t.n - t.n / 2, 1, ++*now, NULL);
	cr_assert_gt(ct_worker_stats(w)->flows_evicted, 0, "the small table never evicted");
	assert_by_state_is_walk(w, "eviction");
}

Test(worker, flows_by_state_equal_a_walk_of_the_table)
{
	static struct trace t;
	struct ct_worker *w = worker_new("w_states", 8);
	const struct ct_lcore_stats *s = ct_worker_stats(w);
	struct conn c[3];
	uint64_t now = 100;
	uint32_t live;

	for (unsigned int i = 0; i < 3; i++)
		c[i] = conn(ip(10, 2, 0, (uint8_t)(2 * i + 1)), (uint16_t)(40000 + i),
		            ip(10, 2, 0, 2), 80, 1000 * (i + 1), 9000 - 1000 * i);
	by_state_lifecycles(w, c, &now);
	by_state_evictions(w, &now);
	/* expiry: past the embryonic and closing timeouts, not ESTABLISHED's */
	for (unsigned int i = 0; i < 6; i++) {
		now += 60 * TPS;
		while (ct_worker_tick(w, now) != 0)
			;
		assert_by_state_is_walk(w, "expiry");
	}
	cr_assert_gt(s->flows_expired, 0);
	cr_assert_geq(ct_table_count(ct_worker_table(w)), 1, "ESTABLISHED expired too early");
	/* flush, then traffic again */
	live = ct_table_count(ct_worker_table(w));
	cr_assert_eq(ct_worker_flush(w), live);
	cr_assert_eq(s->flows_flushed, live);
	cr_assert_eq(ct_table_count(ct_worker_table(w)), 0);
	assert_by_state_is_walk(w, "flush");
	t.n = 0;
	add(&t, &c[2], 0, SYN, 0);
	add(&t, &c[2], 1, SYN | ACK, 0);
	run(w, &t, 0, t.n, 32, ++now, NULL);
	cr_assert_eq(s->flows_created, s->flows_expired + s->flows_evicted + s->flows_flushed +
	                                       s->flows_reopened +
	                                       ct_table_count(ct_worker_table(w)));
	assert_by_state_is_walk(w, "after flush");
	ct_worker_free(w);
}

/* ---- flow-end records ---- */

/* A worker that queues flow-end records on a ring of @p ring records. */
static struct ct_worker *
worker_rec(const char *name, uint32_t capacity, unsigned int ring, struct rte_ring **r)
{
	char rname[32];
	struct ct_worker_params p = {
	        .name = name,
	        .capacity = capacity,
	        .socket_id = SOCKET_ID_ANY,
	        .now = 1,
	};
	struct ct_worker *w;

	snprintf(rname, sizeof(rname), "r_%s", name);
	*r = rte_ring_create_elem(rname, sizeof(struct ct_flow_end), ring, SOCKET_ID_ANY,
	                          RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	cr_assert_not_null(*r, "ring: %s", rte_strerror(rte_errno));
	p.records = *r;
	w = ct_worker_create(&p);
	cr_assert_not_null(w, "ct_worker_create: %s", rte_strerror(rte_errno));
	return w;
}

/* Take every queued record (at most @p max) into @p out. @return how many. */
static unsigned int
take(struct rte_ring *r, struct ct_flow_end *out, unsigned int max)
{
	return rte_ring_sc_dequeue_burst_elem(r, out, sizeof(*out), max, NULL);
}

static void
assert_history(const struct ct_flow_end *e, const char *want, enum ct_conn_state cs)
{
	char h[CT_HISTORY_SIZE];

	cr_expect_str_eq(ct_history_format(&e->ext.hist, h, sizeof(h)), want);
	cr_expect_str_eq(ct_conn_state_name(ct_history_conn_state_tcp(&e->ext.hist)),
	                 ct_conn_state_name(cs), "history %s", h);
}

Test(worker, records_closed_idle_and_the_cold_part)
{
	static struct trace t;
	struct conn a = conn(ip(10, 0, 0, 1), 40000, ip(10, 0, 0, 2), 80, 1000, 9000);
	struct conn b = conn(ip(10, 0, 0, 3), 40001, ip(10, 0, 0, 2), 80, 5000, 7000);
	struct ct_flow_end e[4];
	struct rte_ring *r;
	struct ct_worker *w = worker_rec("w_rec1", 1024, 64, &r);
	uint64_t now = 100;

	t.n = 0;
	add_lifecycle(&t, &a);
	add(&t, &b, 0, SYN, 0); /* never answered */
	run(w, &t, 0, t.n, 32, now, NULL);
	cr_assert_eq(take(r, e, 4), 0, "nothing ended yet");
	/* SYN_SENT ends after 120 s (idle), TIME_WAIT after 240 s (closed). */
	for (now = 100; now <= 100 + 241000; now += 500)
		ct_worker_tick(w, now);
	cr_assert_eq(take(r, e, 4), 2);
	cr_expect_eq(e[0].reason, CT_END_IDLE);
	assert_history(&e[0], "S", CT_CS_S0);
	cr_expect_eq(e[0].flow.pkts[CT_DIR_ORIG], 1);
	cr_expect_eq(e[0].flow.tcp.state, CT_S_SYN_SENT);
	cr_expect_eq(e[1].reason, CT_END_CLOSED);
	assert_history(&e[1], "ShADdFf", CT_CS_SF); /* the server sends no pure ACK */
	cr_expect_eq(e[1].flow.pkts[CT_DIR_ORIG], 6);
	cr_expect_eq(e[1].flow.pkts[CT_DIR_REPLY], 3);
	cr_expect_eq(e[1].ext.first_seen, 100);
	cr_expect_eq(e[1].flow.last_seen, 100);
	cr_expect_geq(e[1].end, 100 + 240000);
	cr_expect_eq(e[1].ext.tcp_flags[CT_DIR_ORIG], SYN | ACK | PSH | FIN);
	cr_expect_eq(e[1].ext.tcp_flags[CT_DIR_REPLY], SYN | ACK | PSH | FIN);
	cr_expect_eq(ntohs(e[1].key.port[0]) + ntohs(e[1].key.port[1]), 40000 + 80);
	{
		/* The export view: IPv4 addresses in 4 bytes, the client first. */
		static const uint8_t cli[4] = {10, 0, 0, 1}, srv[4] = {10, 0, 0, 2};
		struct ct_export_flow x;

		ct_flow_end_export(&e[1], &x, true);
		cr_expect_eq(memcmp(x.addr[CT_DIR_ORIG], cli, 4), 0, "client address");
		cr_expect_eq(memcmp(x.addr[CT_DIR_REPLY], srv, 4), 0, "server address");
		cr_expect_str_eq(x.fi.src, "10.0.0.1");
		cr_expect_eq(x.fi.dport, 80);
		cr_expect_str_eq(x.history, "ShADdFf");
		cr_expect_eq(x.conn_state, CT_CS_SF);
		cr_expect_eq(x.end_reason, CT_END_CLOSED);
		cr_expect_eq(x.tcp_flags[CT_DIR_REPLY], SYN | ACK | PSH | FIN);
	}
	cr_expect_eq(ct_worker_stats(w)->export_records, 2);
	cr_expect_eq(ct_worker_stats(w)->export_dropped, 0);
	ct_worker_free(w);
	rte_ring_free(r);
}

Test(worker, records_rst_reopen_flush_and_shutdown)
{
	static struct trace t;
	struct conn a = conn(ip(10, 0, 0, 1), 40000, ip(10, 0, 0, 2), 80, 1000, 9000);
	struct conn b = conn(ip(10, 0, 0, 4), 40002, ip(10, 0, 0, 2), 81, 3000, 0);
	struct conn c = conn(ip(10, 0, 0, 5), 40003, ip(10, 0, 0, 2), 80, 8000, 6000);
	struct ct_flow_end e[4];
	struct rte_ring *r;
	struct ct_worker *w = worker_rec("w_rec2", 1024, 64, &r);
	unsigned int n0;

	t.n = 0;
	/* b: SYN answered by RST+ACK: deleted at once (rejected), the RST counted on it. */
	add(&t, &b, 0, SYN, 0);
	add_raw(&t, &b, 1, RST | ACK, 0, 3001, 0);
	run(w, &t, 0, t.n, 32, 100, NULL);
	cr_assert_eq(take(r, e, 4), 1);
	cr_expect_eq(e[0].reason, CT_END_CLOSED);
	assert_history(&e[0], "Sr", CT_CS_REJ);
	cr_expect_eq(e[0].flow.pkts[CT_DIR_REPLY], 1, "the RST is on the record");

	/* a: a lifecycle, then the server opens again: the old flow ends, reopened. */
	n0 = t.n;
	add_lifecycle(&t, &a);
	a.seq[1] += 500000;
	add(&t, &a, 1, SYN, 0);
	run(w, &t, n0, t.n - n0, 32, 200, NULL);
	cr_assert_eq(take(r, e, 4), 1);
	cr_expect_eq(e[0].reason, CT_END_REOPENED);
	assert_history(&e[0], "ShADdFf", CT_CS_SF);

	/* c: established; flush ends it and the re-opened a. */
	n0 = t.n;
	add(&t, &c, 0, SYN, 0);
	add(&t, &c, 1, SYN | ACK, 0);
	add(&t, &c, 0, ACK, 0);
	run(w, &t, n0, t.n - n0, 32, 300, NULL);
	cr_assert_eq(ct_worker_flush(w), 2);
	cr_assert_eq(take(r, e, 4), 2);
	cr_expect_eq(e[0].reason, CT_END_FLUSHED);
	cr_expect_eq(e[1].reason, CT_END_FLUSHED);
	for (unsigned int i = 0; i < 2; i++)
		if (e[i].flow.tcp.state == CT_S_ESTABLISHED)
			assert_history(&e[i], "ShA", CT_CS_S1);
		else
			assert_history(&e[i], "S", CT_CS_S0); /* the new flow: the server's SYN */

	run(w, &t, n0, 1, 1, 400, NULL);
	cr_assert_eq(ct_worker_flush_end(w, CT_END_SHUTDOWN, false), 1);
	cr_assert_eq(take(r, e, 4), 1);
	cr_expect_eq(e[0].reason, CT_END_SHUTDOWN);
	cr_expect_eq(ct_worker_stats(w)->export_records, 5);
	ct_worker_free(w);
	rte_ring_free(r);
}

Test(worker, records_a_full_ring_drops_and_counts_never_the_packet)
{
	static struct trace t;
	struct ct_flow_end e[64];
	struct rte_ring *r;
	struct ct_worker *w = worker_rec("w_rec3", 1024, 16, &r);
	uint8_t v[MAX_FR];

	t.n = 0;
	for (unsigned int i = 0; i < 40; i++) {
		struct conn c = conn(ip(10, 1, 0, (uint8_t)i), (uint16_t)(1000 + i),
		                     ip(10, 0, 0, 2), 80, 1000 * i, 0);

		add(&t, &c, 0, SYN, 0);
	}
	run(w, &t, 0, t.n, 32, 100, v);
	for (unsigned int i = 0; i < t.n; i++)
		cr_assert_eq(v[i], CT_WV_NEW);
	cr_assert_eq(ct_worker_flush(w), 40);
	cr_expect_eq(take(r, e, 64), 16);
	cr_expect_eq(ct_worker_stats(w)->export_records, 16);
	cr_expect_eq(ct_worker_stats(w)->export_dropped, 24);
	ct_worker_free(w);
	rte_ring_free(r);
}

Test(worker, records_off_no_cold_part_and_no_counts)
{
	static struct trace t;
	struct conn a = conn(ip(10, 0, 0, 1), 40000, ip(10, 0, 0, 2), 80, 1000, 9000);
	struct rte_ring *r;
	struct ct_worker *on = worker_rec("w_rec4", 4096, 64, &r);
	struct ct_worker *off = worker_new("w_rec5", 4096);

	t.n = 0;
	add_lifecycle(&t, &a);
	run(off, &t, 0, t.n, 32, 100, NULL);
	cr_assert_eq(ct_worker_flush(off), 1);
	cr_expect_eq(ct_worker_stats(off)->export_records + ct_worker_stats(off)->export_dropped,
	             0);
	/* The cold part: 16 bytes per position more, only with records. */
	cr_expect_gt(ct_table_mem_per_flow(ct_worker_table(on)),
	             ct_table_mem_per_flow(ct_worker_table(off)) + 15.9);
	cr_expect_lt(ct_table_mem_per_flow(ct_worker_table(on)),
	             ct_table_mem_per_flow(ct_worker_table(off)) + 17.0);
	ct_worker_free(on);
	ct_worker_free(off);
	rte_ring_free(r);
}
