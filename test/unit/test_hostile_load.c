/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile load through the real per-packet pipeline (ct_worker_process_burst() on mbufs built in
 * memory, EAL without hugepages): a full table refuses new flows and keeps tracking the existing
 * ones through their close; a SYN flood ten times the table size evicts only embryonic flows; a
 * packet of a flow evicted earlier in the same burst is not tracked on the evicted record; a
 * soak of many complete connections with short timeouts leaves no flow, balanced counters and
 * every mbuf and heap byte returned (SYNFIN_SOAK=<connections> for the long run, default
 * 200000).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "ct_parse.h"
#include "ct_stats.h"
#include "ct_table.h"
#include "ct_tcp.h"
#include "ct_worker.h"
#include "hostile_helpers.h"
#include "tl_frame.h"

TestSuite(hostile, .init = eal_up, .fini = eal_down, .timeout = 240);

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
	struct tl_frame fr[32];

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
	struct tl_frame fr[2];
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
				struct tl_frame f;
				uint32_t *snd = life[s].side ? &c[i].sseq : &c[i].cseq;
				uint32_t rcv = life[s].side ? c[i].cseq : c[i].sseq;

				tcp4(&f, &c[i], life[s].side, life[s].flags, *snd,
				     (life[s].flags & ACK) ? rcv : 0, life[s].len);
				*snd += life[s].len + !!(life[s].flags & (SYN | FIN));
				cr_assert_eq(tl_mbuf_set(m[n], f.b, (uint16_t)f.len), 0);
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
