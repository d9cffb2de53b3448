/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Concurrency test of the worker's control plane, as synfin's control thread drives it. A worker
 * thread (EAL lcore 1) loops: ct_worker_serve(), then, while its forwarding flag is on (its own,
 * written only through requests), ct_worker_process_burst() on bursts of complete TCP
 * connections (SYN, SYN+ACK, ACK, data, FIN, ACK, FIN, ACK; 64 flows at a time interleaved, each
 * two connections, the second re-opening the first from TIME_WAIT; then the next 64 of 6144
 * flows, more than the table holds; and two lone SYNs of a scan per burst, which stay embryonic)
 * in mbufs of a mempool that it rewrites and reuses, and ct_worker_tick() as its clock advances
 * (one tick per burst). The control thread (the main lcore), for at least 2 s and 64 rounds,
 * asks through ct_worker_call(): flush, set timeout, stop and start; between them it reads the
 * counters, the flows per state and walks the table with the reader API (a QSBR reader,
 * quiescent every 32 records, offline while it waits on a call or idles). Checks: every call
 * returns 0 (none timed out); stopped, a flush leaves the table empty (count, per-state counts
 * and a walk all 0) until forwarding starts again; the timeout set is the one
 * ct_worker_tcp_conf() reports afterwards; counters only grow; the flows per state equal a walk
 * of the table whenever the worker is stopped. Built in the 'tsan' suite under
 * -Dtsan_tests=true (its own program, conc_test.h), in 'unit' otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "conc_test.h"
#include "ct_stats.h"
#include "ct_table.h"
#include "ct_tcp.h"
#include "ct_worker.h"
#include "tl_eal.h"
#include "tl_frame.h"

#define NFLOWS     6144 /* more than the table holds: it fills, evicts and refuses */
#define WIN        64   /* flows active at a time: each sends two connections, then the next 64 */
#define CAPACITY   500  /* 504 once rounded */
#define BURST      32
#define STEPS      8              /* packets of one connection */
#define SCANS      2              /* lone SYNs per burst */
#define RUN_NS     2000000000ull  /* at least this long */
#define RUN_MAX_NS 30000000000ull /* and at least MIN_ROUNDS rounds, unless this is over */
#define MIN_ROUNDS 64
#define READER     0 /* QSBR thread id of the control thread */
#define CALL_MS    5000

/* ---- traffic ---- */

/* One flow of the generator: its connection's ISNs and the next step of its lifecycle. */
struct gen_flow {
	uint32_t isn[2]; /* client, server */
	uint8_t step;
};

/* Packet @p f->step of flow @p id's connection into @p fr (then the next step). @return its
 * length, 0 if it could not be built. */
static uint16_t
gen_next(struct gen_flow *f, unsigned int id, struct tl_frame *fr)
{
	static const struct {
		uint8_t from, flags;
		uint32_t seq, ack; /* past each side's ISN */
		uint16_t len;
	} life[STEPS] = {
	        {0, CT_TCPF_SYN, 0, 0, 0},
	        {1, CT_TCPF_SYN | CT_TCPF_ACK, 0, 1, 0},
	        {0, CT_TCPF_ACK, 1, 1, 0},
	        {0, CT_TCPF_PSH | CT_TCPF_ACK, 1, 1, 100},
	        {0, CT_TCPF_FIN | CT_TCPF_ACK, 101, 1, 0},
	        {1, CT_TCPF_ACK, 1, 102, 0},
	        {1, CT_TCPF_FIN | CT_TCPF_ACK, 1, 102, 0},
	        {0, CT_TCPF_ACK, 102, 2, 0},
	};
	uint32_t addr[2] = {0x0a000000u | id, 0xcb000001u};
	uint16_t port[2] = {(uint16_t)(10000 + id % 50000), 443};
	unsigned int k = f->step, s = life[k].from;
	long len;

	len = tl_frame_tcp4(fr, addr[s], port[s], addr[!s], port[!s], life[k].flags,
	                    f->isn[s] + life[k].seq, k == 0 ? 0 : f->isn[!s] + life[k].ack, 65535,
	                    life[k].len);
	if (++f->step == STEPS) { /* the next connection re-opens the flow from TIME_WAIT */
		f->step = 0;
		f->isn[0] += 1000000;
		f->isn[1] += 7000000;
	}
	return len > 0 ? (uint16_t)len : 0;
}

/* ---- the worker thread ---- */

struct wctx {
	struct ct_worker *w;
	struct rte_mempool *pool;
	struct gen_flow flows[NFLOWS];
	unsigned int base, pos; /* the active flows: base .. base + WIN - 1; packets sent by them */
	uint32_t scans;         /* lone SYNs sent */
	bool fwd;      /* forwarding: read and written by the worker thread only (requests) */
	bool stop;     /* atomic: the control thread ends the test */
	uint64_t busy; /* atomic: bursts processed, written at the end */
	int errs;      /* atomic: the worker's own failures, written at the end */
	bool done;     /* release-stored last by the worker */
};

/* The flow that sends next: the active ones in turn, each two whole connections (the second
 * re-opens the first from TIME_WAIT), then the next WIN flows. */
static unsigned int
gen_flow_id(struct wctx *c)
{
	unsigned int id = c->base + c->pos % WIN;

	if (++c->pos == WIN * 2 * STEPS) {
		c->pos = 0;
		c->base = (c->base + WIN) % NFLOWS;
	}
	return id;
}

/* A lone SYN of a scan: flows that stay embryonic (SYN_SENT), fill the table and get evicted. */
static uint16_t
scan_syn(struct wctx *c, struct tl_frame *fr)
{
	uint32_t n = c->scans++;
	long len = tl_frame_tcp4(fr, 0x0b000000u | (n & 0xffffff), (uint16_t)(1024 + n % 60000),
	                         0xcb000002u, 80, CT_TCPF_SYN, n * 2654435761u, 0, 65535, 0);

	return len > 0 ? (uint16_t)len : 0;
}

static int
worker_main(void *arg)
{
	struct wctx *c = arg;
	struct rte_mbuf *m[BURST];
	uint64_t now = 1, bursts = 0;
	int errs = 0;

	if (rte_pktmbuf_alloc_bulk(c->pool, m, BURST) != 0)
		errs++;
	while (errs == 0 && !__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		ct_worker_serve(c->w);
		if (!c->fwd)
			continue;
		for (unsigned int i = 0; i < BURST; i++) { /* the same mbufs, rewritten */
			unsigned int id = i < BURST - SCANS ? gen_flow_id(c) : NFLOWS;
			struct tl_frame fr;
			uint16_t len =
			        id < NFLOWS ? gen_next(&c->flows[id], id, &fr) : scan_syn(c, &fr);

			if (len == 0 || tl_mbuf_set(m[i], fr.b, len) != 0) {
				errs++;
				break;
			}
		}
		ct_worker_process_burst(c->w, m, BURST, ++now, NULL);
		ct_worker_tick(c->w, now);
		bursts++;
	}
	rte_pktmbuf_free_bulk(m, BURST);
	__atomic_store_n(&c->busy, bursts, __ATOMIC_RELAXED);
	__atomic_store_n(&c->errs, errs, __ATOMIC_RELAXED);
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	return 0;
}

/* Requests, run on the worker thread (start and stop: arg is the struct wctx). */
static int
set_forwarding(struct ct_worker *w, void *arg, bool on)
{
	struct wctx *c = arg;

	if (c->w != w)
		return -EINVAL;
	c->fwd = on;
	return 0;
}

static int
do_start(struct ct_worker *w, void *arg)
{
	return set_forwarding(w, arg, true);
}

static int
do_stop(struct ct_worker *w, void *arg)
{
	return set_forwarding(w, arg, false);
}

/* ---- the control thread ---- */

struct control {
	struct wctx *c;
	struct rte_rcu_qsbr *v;
	uint64_t last[CT_STATS_N]; /* counters at the previous read */
	uint64_t calls, walks, walked, flushed, stopped_checks;
};

/* A request, offline meanwhile (a reader that waits must not hold back the worker's frees). */
static void
call(struct control *k, ct_worker_call_t fn, void *arg, const char *what)
{
	int ret;

	rte_rcu_qsbr_thread_offline(k->v, READER);
	ret = ct_worker_call(k->c->w, fn, arg, CALL_MS);
	rte_rcu_qsbr_thread_online(k->v, READER);
	CHECK(ret == 0, "%s: ct_worker_call returned %d", what, ret);
	k->calls++;
}

/* Counters only grow. */
static void
read_counters(struct control *k)
{
	struct ct_lcore_stats s;

	ct_stats_read(&s, ct_worker_stats(k->c->w)); /* the reader's copy (racy by design) */
	for (unsigned int i = 0; i < CT_STATS_N; i++) {
		uint64_t v = ct_stats_get(&s, i);

		CHECK(v >= k->last[i], "counter %s went back from %" PRIu64 " to %" PRIu64,
		      ct_stats_name(i), k->last[i], v);
		k->last[i] = v;
	}
}

/* Walk the table; @return flows per state of the walk into @p n, and the flows seen. */
static uint32_t
walk(struct control *k, uint64_t *n)
{
	struct ct_table *t = ct_worker_table(k->c->w);
	struct ct_flow_key key;
	struct ct_flow f;
	uint32_t next = 0, seen = 0;

	memset(n, 0, CT_CLASS_MAX * sizeof(*n));
	while (ct_table_read_next(t, &next, &key, &f) == 0) {
		CHECK(f.tcp.state < CT_CLASS_MAX, "state %u", f.tcp.state);
		n[f.tcp.state]++;
		if (++seen % 32 == 0)
			rte_rcu_qsbr_quiescent(k->v, READER);
	}
	rte_rcu_qsbr_quiescent(k->v, READER);
	CHECK(seen <= ct_table_positions(t), "a walk read %u records of %u positions", seen,
	      ct_table_positions(t));
	k->walks++;
	k->walked += seen;
	return seen;
}

/* Reads while the worker forwards: counters, flows per state, a walk. */
static void
read_all(struct control *k)
{
	uint64_t by_state[CT_CLASS_MAX], walked[CT_CLASS_MAX], sum = 0;

	read_counters(k);
	ct_worker_flows_by_state(k->c->w, by_state);
	for (unsigned int s = 0; s < CT_CLASS_MAX; s++)
		sum += by_state[s];
	CHECK(sum <= ct_table_capacity(ct_worker_table(k->c->w)), "%" PRIu64 " flows", sum);
	walk(k, walked);
}

/* Stopped: nothing moves, so the flows per state, the count and a walk agree exactly; a flush
 * then leaves nothing until forwarding starts again. */
static void
stop_flush_start(struct control *k)
{
	struct ct_table *t = ct_worker_table(k->c->w);
	uint64_t by_state[CT_CLASS_MAX], walked[CT_CLASS_MAX];
	uint32_t flushed = UINT32_MAX, count;

	call(k, do_stop, k->c, "stop");
	count = ct_table_count(t);
	CHECK(walk(k, walked) == count, "stopped: the walk and the count differ");
	ct_worker_flows_by_state(k->c->w, by_state);
	CHECK(memcmp(by_state, walked, sizeof(walked)) == 0, "stopped: flows per state != walk");
	call(k, ct_worker_req_flush, &flushed, "flush");
	CHECK(flushed == count, "flush deleted %u of %u flows", flushed, count);
	CHECK(ct_table_count(t) == 0, "after a flush: %u flows", ct_table_count(t));
	ct_worker_flows_by_state(k->c->w, by_state);
	for (unsigned int s = 0; s < CT_CLASS_MAX; s++)
		CHECK(by_state[s] == 0, "after a flush: %" PRIu64 " flows in %s", by_state[s],
		      ct_class_name(s));
	CHECK(walk(k, walked) == 0, "after a flush: the walk finds flows");
	read_counters(k);
	k->flushed += flushed;
	k->stopped_checks++;
	call(k, do_start, k->c, "start");
}

/* Set a timeout through a call; the worker's configuration reports it afterwards. */
static void
set_timeout(struct control *k, unsigned int round)
{
	static const uint8_t states[] = {CT_S_ESTABLISHED, CT_S_FIN_WAIT, CT_S_TIME_WAIT,
	                                 CT_S_CLOSE};
	/* 5 to 65 ms (ticks): flows expire between two flushes, even slowed down by TSan */
	struct ct_worker_timeout r = {.state = states[round / 2 % 4], .ms = 5 + round % 13 * 5};
	const struct ct_tcp_conf *conf = ct_worker_tcp_conf(k->c->w);
	uint32_t got;

	call(k, ct_worker_req_timeout, &r, "set timeout");
	got = __atomic_load_n(&conf->timeouts.ms[r.state], __ATOMIC_RELAXED);
	CHECK(got == r.ms, "timeout of %s: set %u ms, reported %u", ct_state_name(r.state), r.ms,
	      got);
}

/* Idle for @p ms, offline as an idle control thread is. */
static void
pause_offline(struct control *k, unsigned int ms)
{
	struct timespec ts = {.tv_nsec = (long)ms * 1000000};

	rte_rcu_qsbr_thread_offline(k->v, READER);
	nanosleep(&ts, NULL);
	rte_rcu_qsbr_thread_online(k->v, READER);
}

static void
eal_up(void)
{
	conc_eal_up("test_worker_control");
}

static void
eal_down(void)
{
	conc_eal_down();
}

static void
control_plane_calls_while_the_worker_forwards(void)
{
	static struct wctx c;
	struct ct_worker_params wp = {
	        .name = "w_ctl", .capacity = CAPACITY, .socket_id = SOCKET_ID_ANY, .now = 1};
	struct control k = {.c = &c};
	unsigned int lcore = rte_get_next_lcore(-1, 1, 0), round = 0;
	uint64_t t0, t;

	for (unsigned int i = 0; i < NFLOWS; i++) {
		c.flows[i].isn[0] = i * 7919u;
		c.flows[i].isn[1] = i * 104729u;
	}
	c.w = ct_worker_create(&wp);
	CHECK(c.w != NULL, "ct_worker_create: %s", rte_strerror(rte_errno));
	c.pool = tl_pool_create("ctl", 2 * BURST - 1);
	CHECK(c.pool != NULL, "mempool: %s", rte_strerror(rte_errno));
	k.v = ct_table_qsbr(ct_worker_table(c.w));
	CHECK(ct_table_reader_register(ct_worker_table(c.w), READER) == 0, "register");
	CHECK(rte_eal_remote_launch(worker_main, &c, lcore) == 0, "launch on lcore %u", lcore);

	call(&k, do_start, &c, "start");
	/*
	 * First let the scans fill the table until it evicts (under TSan the worker is slow and the
	 * control loop's flushes would otherwise keep the table below its high-water mark), so the
	 * requests below also meet a worker that evicts.
	 */
	for (t0 = conc_now_ns(); conc_now_ns() - t0 < RUN_MAX_NS;) {
		struct ct_lcore_stats now;

		ct_stats_read(&now, ct_worker_stats(c.w));
		if (now.flows_evicted > 0)
			break;
		pause_offline(&k, 10);
	}
	t0 = conc_now_ns();
	while ((t = conc_now_ns() - t0) < RUN_NS || (round < MIN_ROUNDS && t < RUN_MAX_NS)) {
		pause_offline(&k, 1 + round % 8); /* let traffic fill the table and time pass */
		read_all(&k);
		switch (round++ % 8) {
		case 0:
			stop_flush_start(&k);
			break;
		case 4: {
			uint32_t n;

			call(&k, ct_worker_req_flush, &n, "flush");
			k.flushed += n;
			break;
		}
		case 2:
		case 6:
			call(&k, do_stop, &c, "stop");
			read_all(&k);
			call(&k, do_start, &c, "start");
			break;
		default:
			set_timeout(&k, round);
			break;
		}
	}
	rte_rcu_qsbr_thread_offline(k.v, READER);
	__atomic_store_n(&c.stop, true, __ATOMIC_RELAXED);
	CHECK(rte_eal_wait_lcore(lcore) == 0, "worker failed");
	while (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE)) /* EAL's wait is not instrumented */
		;
	read_counters(&k);

	const struct ct_lcore_stats *s = ct_worker_stats(c.w);
	uint64_t bursts = __atomic_load_n(&c.busy, __ATOMIC_RELAXED);

	printf("table: %u positions, capacity %u\n", ct_table_positions(ct_worker_table(c.w)),
	       ct_table_capacity(ct_worker_table(c.w)));
	printf("control: %" PRIu64 " calls, %" PRIu64 " walks (%" PRIu64 " flows), %" PRIu64
	       " stopped checks, %" PRIu64 " flushed; worker: %" PRIu64 " bursts, %" PRIu64
	       " created, %" PRIu64 " reopened, %" PRIu64 " expired, %" PRIu64 " evicted\n",
	       k.calls, k.walks, k.walked, k.stopped_checks, k.flushed, bursts, s->flows_created,
	       s->flows_reopened, s->flows_expired, s->flows_evicted);
	CHECK(__atomic_load_n(&c.errs, __ATOMIC_RELAXED) == 0, "the worker could not build bursts");
	/* The run must have exercised what it claims to. */
	CHECK(k.stopped_checks >= 5, "stop/flush/start rounds");
	CHECK(bursts >= 100, "bursts");
	CHECK(s->flows_flushed == k.flushed, "flushed %" PRIu64 ", counted %" PRIu64, k.flushed,
	      s->flows_flushed);
	CHECK(k.flushed > 0 && s->flows_reopened > 0 && s->state_changes > 0, "traffic");
	CHECK(s->flows_expired > 0 && s->flows_evicted > 0, "expiry and eviction");
	CHECK(NFLOWS > ct_table_capacity(ct_worker_table(c.w)), "the table never fills");
	CHECK(ct_table_reader_unregister(ct_worker_table(c.w), READER) == 0, "unregister");
	ct_worker_free(c.w);
	rte_mempool_free(c.pool);
}

CONC_TEST(worker_control, control_plane_calls_while_the_worker_forwards, eal_up, eal_down)
