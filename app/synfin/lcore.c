/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker lcores: one ct_worker (flow table, counters) per lcore other than the main one, or the
 * main lcore itself when it is the only one (-l 0), in which case it also does the control work
 * (stats printing, idle exit) between bursts. Each worker polls its (port, queue) pairs, tracks
 * the packets, frees them (monitor) or forwards them to the paired port (inline, 0<->1, 2<->3,
 * dropping INVALID segments with --drop-invalid), advances its timers when its clock moves, and
 * between bursts runs the requests control threads post (ct_worker_serve(): flush, timeouts,
 * stop/start), so only the lcore itself writes its worker's and its context's state. The clock is the worker's (CT_WORKER_HZ ticks
 * per second): TSC-derived, or the RX timestamps in ticks since the first packet the application
 * saw (monotonic per lcore; a burst is tracked in runs of packets of one tick).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include "ct_worker.h"
#include "synfin.h"

/* Packet clock origin: first timestamp (ticks) seen by any lcore, + 1 (0 = not yet). */
static uint64_t clock_origin;
static uint64_t tsc_per_tick;
/* TSC clock: the tick and the Unix time in milliseconds at start. */
static uint64_t start_tick, start_unix_ms;

static inline uint64_t
tsc_ticks(uint64_t tsc)
{
	return tsc / tsc_per_tick;
}

int
sf_lcores_init(struct synfin *sf)
{
	unsigned int id, n = 0;
	uint64_t now;

	tsc_per_tick = rte_get_tsc_hz() / CT_WORKER_HZ;
	if (tsc_per_tick == 0)
		tsc_per_tick = 1;
	now = sf->cfg.clock == SF_CLOCK_TSC ? tsc_ticks(rte_get_tsc_cycles()) : 0;
	if (sf->cfg.clock == SF_CLOCK_TSC) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		start_tick = now;
		start_unix_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	}
	RTE_LCORE_FOREACH_WORKER(id)
	{
		sf->lcores[n].lcore_id = id;
		n++;
	}
	if (n == 0) {
		sf->lcores[0].lcore_id = rte_get_main_lcore();
		sf->single = 1;
		n = 1;
	}
	sf->nb_lcores = n;
	for (unsigned int i = 0; i < n; i++) {
		struct sf_lcore *lc = &sf->lcores[i];
		struct ct_worker_params p;
		char name[CT_TABLE_NAMESIZE];

		if (sf_export_on(sf)) {
			snprintf(name, sizeof(name), "sf_rec%u", lc->lcore_id);
			lc->records = rte_ring_create_elem(
			        name, sizeof(struct ct_flow_end), sf->cfg.export_ring,
			        (int)rte_lcore_to_socket_id(lc->lcore_id),
			        RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
			if (lc->records == NULL) {
				fprintf(stderr,
				        "synfin: lcore %u: cannot create a ring of %u flow-end "
				        "records: %s\n",
				        lc->lcore_id, sf->cfg.export_ring, rte_strerror(rte_errno));
				return -ENOMEM;
			}
		}
		snprintf(name, sizeof(name), "sf_ct%u", lc->lcore_id);
		p = (struct ct_worker_params){
		        .name = name,
		        .capacity = sf->cfg.table_size,
		        .socket_id = (int)rte_lcore_to_socket_id(lc->lcore_id),
		        .tcp = &sf->cfg.tcp,
		        .l4 = &sf->cfg.l4,
		        .parse = {.key_vlan = sf->cfg.vlan_key},
		        .now = now,
		        .records = lc->records,
		};
		lc->idx = i;
		lc->txq = (uint16_t)i;
		lc->now = now;
		lc->forwarding = true;
		lc->w = ct_worker_create(&p);
		if (lc->w == NULL) {
			fprintf(stderr,
			        "synfin: lcore %u: cannot create a flow table of %u flows: %s\n",
			        lc->lcore_id, sf->cfg.table_size, rte_strerror(rte_errno));
			return -ENOMEM;
		}
	}
	return 0;
}

void
sf_lcores_free(struct synfin *sf)
{
	for (unsigned int i = 0; i < sf->nb_lcores; i++) {
		ct_worker_free(sf->lcores[i].w);
		sf->lcores[i].w = NULL;
		rte_ring_free(sf->lcores[i].records);
		sf->lcores[i].records = NULL;
	}
}

uint64_t
sf_clock_unix_ms(const struct synfin *sf, uint64_t tick)
{
	uint64_t origin;

	if (sf->cfg.clock == SF_CLOCK_TSC)
		return tick - start_tick + start_unix_ms;
	/* packet clock: tick 1 is the first timestamp seen (clock_origin - 1, milliseconds) */
	origin = __atomic_load_n(&clock_origin, __ATOMIC_RELAXED);
	return origin == 0 ? tick : tick + origin - 2;
}

/* Spread every (port, queue) over the workers, round-robin. */
static int
assign_queues(struct synfin *sf)
{
	unsigned int k = 0;

	for (uint16_t p = 0; p < sf->nb_ports; p++)
		for (uint16_t q = 0; q < sf->nb_rxq[p]; q++, k++) {
			struct sf_lcore *lc = &sf->lcores[k % sf->nb_lcores];

			if (lc->nb_rxq == SF_MAX_RXQ_PER_LCORE) {
				fprintf(stderr, "synfin: more than %u queues per lcore\n",
				        SF_MAX_RXQ_PER_LCORE);
				return -E2BIG;
			}
			lc->rxq[lc->nb_rxq].port = p;
			lc->rxq[lc->nb_rxq].queue = q;
			lc->nb_rxq++;
		}
	for (unsigned int i = 0; i < sf->nb_lcores; i++) {
		const struct sf_lcore *lc = &sf->lcores[i];

		printf("synfin: lcore %u%s polls", lc->lcore_id, sf->single ? " (main)" : "");
		for (unsigned int q = 0; q < lc->nb_rxq; q++)
			printf(" port%u/q%u", lc->rxq[q].port, lc->rxq[q].queue);
		printf("%s\n", lc->nb_rxq ? "" : " nothing");
	}
	fflush(stdout);
	if (k < sf->nb_lcores)
		fprintf(stderr, "synfin: warning: %u lcores but %u RX queues: %u lcores idle\n",
		        sf->nb_lcores, k, sf->nb_lcores - k);
	return 0;
}

/* Packet clock: the tick of one packet's RX timestamp since the origin, never below @p floor. */
static inline uint64_t
packet_tick(struct synfin *sf, const struct rte_mbuf *m, uint64_t floor)
{
	uint64_t ticks =
	        *RTE_MBUF_DYNFIELD(m, sf->ts_dynfield, rte_mbuf_timestamp_t *) / sf->ts_div;
	uint64_t origin = __atomic_load_n(&clock_origin, __ATOMIC_RELAXED), now;

	if (unlikely(origin == 0)) {
		uint64_t zero = 0;

		__atomic_compare_exchange_n(&clock_origin, &zero, ticks + 1, false,
		                            __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		origin = __atomic_load_n(&clock_origin, __ATOMIC_RELAXED);
	}
	now = ticks + 1 >= origin ? ticks + 1 - origin + 1 : floor;
	return now > floor ? now : floor;
}

/*
 * Packet clock: the burst in runs of packets of the same tick, each tracked at its own time and
 * the timers advanced before it, so a replay sees time move packet by packet (to the ms) as a
 * live run does, whatever the burst size: a UDP stream's 2 s, a flow's first and last packet.
 */
static void
track_packet_clock(struct synfin *sf, struct sf_lcore *lc, struct rte_mbuf **pkts, uint16_t n,
                   uint8_t *verdicts)
{
	uint16_t i = 0;

	while (i < n) {
		uint64_t now = packet_tick(sf, pkts[i], lc->now);
		uint16_t j = i + 1;

		while (j < n && packet_tick(sf, pkts[j], now) == now)
			j++;
		if (now != lc->now) {
			__atomic_store_n(&lc->now, now, __ATOMIC_RELAXED);
			ct_worker_tick(lc->w, now);
		}
		ct_worker_process_burst(lc->w, pkts + i, j - i, now, verdicts + i);
		i = j;
	}
}

/*
 * Free (monitor) or forward (inline) a tracked burst. The bytes sent are summed before
 * rte_eth_tx_burst(), which may free what it sends, minus those of the packets it did not take.
 */
static inline void
output(struct synfin *sf, struct sf_lcore *lc, uint16_t port, struct rte_mbuf **pkts, uint16_t n,
       const uint8_t *verdicts)
{
	struct sf_lcore_stats *st = &lc->app;
	uint16_t out_port = port ^ 1, k = 0, sent;
	uint64_t bytes = 0;

	if (sf->cfg.mode == SF_MODE_MONITOR) {
		rte_pktmbuf_free_bulk(pkts, n);
		return;
	}
	if (out_port >= sf->nb_ports)
		out_port = port;
	for (uint16_t i = 0; i < n; i++) {
		if (sf->cfg.drop_invalid && verdicts[i] == CT_WV_INVALID) {
			rte_pktmbuf_free(pkts[i]);
			st->tx_dropped++;
			continue;
		}
		bytes += pkts[i]->pkt_len;
		pkts[k++] = pkts[i];
	}
	sent = rte_eth_tx_burst(out_port, lc->txq, pkts, k);
	st->tx_pkts += sent;
	if (sent < k) {
		st->tx_dropped += k - sent;
		for (uint16_t i = sent; i < k; i++)
			bytes -= pkts[i]->pkt_len;
		rte_pktmbuf_free_bulk(pkts + sent, k - sent);
	}
	st->port[out_port].tx_pkts += sent;
	st->port[out_port].tx_bytes += bytes;
}

/* The worker loop; with @p control the main lcore's control work runs between bursts. */
static int
worker_loop(struct synfin *sf, struct sf_lcore *lc, bool control)
{
	struct rte_mbuf *pkts[SF_BURST_MAX];
	uint8_t verdicts[SF_BURST_MAX];
	const uint16_t burst = sf->cfg.burst;
	const bool pclock = sf->cfg.clock == SF_CLOCK_PACKET;
	/* The tracker counts every packet's bytes: its rx_bytes before and after a burst give the
	 * port's bytes without a second pass over the mbufs. */
	const struct ct_lcore_stats *ts = ct_worker_stats(lc->w);
	uint64_t last_tick = lc->now;

	__atomic_store_n(&lc->last_rx_tsc, rte_get_tsc_cycles(), __ATOMIC_RELAXED);
	while (!sf->quit) {
		uint64_t tsc = rte_get_tsc_cycles();
		uint64_t now = lc->now;

		ct_worker_serve(lc->w);
		if (lc->forwarding) {
			for (unsigned int q = 0; q < lc->nb_rxq; q++) {
				uint16_t port = lc->rxq[q].port;
				uint16_t n = rte_eth_rx_burst(port, lc->rxq[q].queue, pkts, burst);

				if (n == 0)
					continue;
				__atomic_store_n(&lc->last_rx_tsc, tsc, __ATOMIC_RELAXED);
				uint64_t rx_bytes = ts->rx_bytes;

				if (pclock) {
					track_packet_clock(sf, lc, pkts, n, verdicts);
					now = lc->now;
				} else {
					now = tsc_ticks(tsc);
					__atomic_store_n(&lc->now, now, __ATOMIC_RELAXED);
					ct_worker_process_burst(lc->w, pkts, n, now, verdicts);
				}
				lc->app.port[port].rx_pkts += n;
				lc->app.port[port].rx_bytes += ts->rx_bytes - rx_bytes;
				output(sf, lc, port, pkts, n, verdicts);
			}
		}
		if (!pclock) {
			now = tsc_ticks(tsc);
			__atomic_store_n(&lc->now, now, __ATOMIC_RELAXED);
		}
		if (now != last_tick) {
			last_tick = now;
			ct_worker_tick(lc->w, now);
		}
		if (control)
			sf_control_poll(sf, tsc);
	}
	return 0;
}

static int
worker_main(void *arg)
{
	struct synfin *sf = arg;
	unsigned int id = rte_lcore_id();

	for (unsigned int i = 0; i < sf->nb_lcores; i++)
		if (sf->lcores[i].lcore_id == id)
			return worker_loop(sf, &sf->lcores[i], false);
	return 0;
}

bool
sf_idle_for(struct synfin *sf, uint64_t ms)
{
	uint64_t tsc = rte_get_tsc_cycles();

	for (unsigned int i = 0; i < sf->nb_lcores; i++) {
		uint64_t last = __atomic_load_n(&sf->lcores[i].last_rx_tsc, __ATOMIC_RELAXED);

		if (last == 0 || tsc - last < ms * (rte_get_tsc_hz() / 1000))
			return false;
	}
	return true;
}

void
sf_control_poll(struct synfin *sf, uint64_t tsc)
{
	static uint64_t next;
	uint32_t period;

	if (tsc < next)
		return;
	next = tsc + tsc_per_tick;
	period = __atomic_load_n(&sf->cfg.stats_period, __ATOMIC_RELAXED);
	if (period != 0 && tsc - sf->stats_tsc >= period * rte_get_tsc_hz()) {
		sf->stats_tsc = tsc;
		sf_print_all_stats(sf, stdout);
		fflush(stdout);
	}
	if (sf->cfg.idle_exit_ms != 0 && !__atomic_load_n(&sf->cli_busy, __ATOMIC_ACQUIRE) &&
	    sf_idle_for(sf, sf->cfg.idle_exit_ms)) {
		sf->exit_code = 0;
		sf->quit = true;
	}
}

void
sf_lcores_run(struct synfin *sf)
{
	if (assign_queues(sf) < 0) {
		sf->exit_code = 1;
		sf->quit = true;
		return;
	}
	sf->start_tsc = rte_get_tsc_cycles();
	sf->stats_tsc = sf->start_tsc;
	if (sf->single) {
		worker_loop(sf, &sf->lcores[0], true);
		return;
	}
	for (unsigned int i = 0; i < sf->nb_lcores; i++)
		rte_eal_remote_launch(worker_main, sf, sf->lcores[i].lcore_id);
	while (!sf->quit) {
		rte_delay_us_sleep(1000);
		sf_control_poll(sf, rte_get_tsc_cycles());
	}
	rte_eal_mp_wait_lcore();
}
