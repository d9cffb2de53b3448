/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin-replay: a paced pcap replayer for config/pktgen/run.sh (GEN=replay). It loads a classic
 * pcap into memory and sends it in a loop on every DPDK port it is given (a net_memif client,
 * usually) at a packet rate, for a time: each port on its own lcore (or all on the main lcore
 * when it is the only one), frames copied into fresh mbufs per burst, bursts spaced on the TSC
 * so that each port sends RATE / ports packets per second. A burst the port does not take in
 * full (its ring full: the receiver is slower) is retried, as pktgen does, so the stream loses
 * no packet and a rate sweep sees the receiver's limit as packets sent late, not as holes in the
 * connections. dpdk-testpmd cannot pace (it forwards as fast as it can); pktgen-dpdk paces in
 * percent of the link speed. Prints one line per second and port and a last line
 * `REPLAY offered=.. sent=.. late=.. seconds=.. tx_pps=..` (offered: rate x seconds); with
 * --linger it then keeps its ports up until SIGINT/SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "tl_pcap.h"

#define BURST_MAX 64
#define NB_DESC   1024
#define POOL_SIZE 16383

struct opts {
	const char *pcap;
	double rate; /* packets per second over all ports, 0: as fast as the ports take them */
	double seconds;
	unsigned int burst;
	unsigned int link_wait_s;
	bool linger; /* after sending, keep the ports up until a signal */
};

/* One port's sender (written by its lcore; read by the main lcore for the prints). */
struct sender {
	uint16_t port;
	unsigned int lcore;
	uint64_t sent;                 /* packets the port took */
	uint64_t late;                 /* packets due that could not be sent in time (ring full) */
	uint32_t next;                 /* next frame of the pcap */
	double tokens;                 /* packets due now */
	double late_frac;              /* the part of a packet late, not yet counted */
	uint64_t last;                 /* TSC of the last step */
	struct rte_mbuf *m[BURST_MAX]; /* a burst the port did not take in full */
	uint16_t m_first, m_n;         /* its unsent part */
} __rte_cache_aligned;

static struct opts o = {.burst = 32, .seconds = 10, .link_wait_s = 10};
static struct tl_pcap pc;
static struct rte_mempool *pool;
static struct sender snd[RTE_MAX_ETHPORTS];
static uint16_t nb_snd;
static volatile int quit;
static uint64_t t_start, t_end;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static int
parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {
	        {"pcap", required_argument, NULL, 'p'},
	        {"rate", required_argument, NULL, 'r'},
	        {"seconds", required_argument, NULL, 's'},
	        {"burst", required_argument, NULL, 'b'},
	        {"link-wait", required_argument, NULL, 'w'},
	        {"linger", no_argument, NULL, 'l'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.pcap = optarg;
			break;
		case 'r':
			o.rate = strtod(optarg, NULL);
			break;
		case 's':
			o.seconds = strtod(optarg, NULL);
			break;
		case 'b':
			o.burst = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'w':
			o.link_wait_s = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'l':
			o.linger = true;
			break;
		default:
			printf("Usage: synfin-replay [EAL options] -- --pcap FILE [--rate PPS (0: "
			       "as "
			       "fast as possible)]\n"
			       "       [--seconds S (default 10)] [--burst N (1..%d, default 32)] "
			       "[--link-wait S (default 10)] [--linger]\n",
			       BURST_MAX);
			return c == 'h' ? 1 : -1;
		}
	}
	if (o.pcap == NULL || o.rate < 0 || o.seconds <= 0 || o.burst == 0 || o.burst > BURST_MAX) {
		fprintf(stderr,
		        "synfin-replay: --pcap FILE is needed; rate >= 0, seconds > 0, "
		        "burst 1..%d\n",
		        BURST_MAX);
		return -1;
	}
	return 0;
}

/* Configure and start @p port (one RX queue, drained and freed; one TX queue). */
static int
port_start(uint16_t port)
{
	struct rte_eth_conf conf;
	uint16_t nrx = NB_DESC, ntx = NB_DESC;
	int ret;

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_configure(port, 1, 1, &conf);
	if (ret == 0)
		ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	if (ret == 0)
		ret = rte_eth_rx_queue_setup(port, 0, nrx, (unsigned int)rte_socket_id(), NULL,
		                             pool);
	if (ret == 0)
		ret = rte_eth_tx_queue_setup(port, 0, ntx, (unsigned int)rte_socket_id(), NULL);
	if (ret == 0)
		ret = rte_eth_dev_start(port);
	if (ret != 0)
		fprintf(stderr, "synfin-replay: port %u: %s\n", port, strerror(-ret));
	return ret;
}

/* Wait until every port's link is up (a memif client: connected to its server). */
static int
links_wait(void)
{
	uint64_t t0 = rte_get_tsc_cycles();

	for (;;) {
		uint16_t up = 0;

		for (uint16_t i = 0; i < nb_snd; i++) {
			struct rte_eth_link l;

			if (rte_eth_link_get_nowait(snd[i].port, &l) == 0 &&
			    l.link_status == RTE_ETH_LINK_UP)
				up++;
		}
		if (up == nb_snd)
			return 0;
		if (quit || rte_get_tsc_cycles() - t0 > o.link_wait_s * rte_get_tsc_hz()) {
			fprintf(stderr, "synfin-replay: %u of %u links up after %u s\n", up, nb_snd,
			        o.link_wait_s);
			return -ETIMEDOUT;
		}
		rte_delay_us_sleep(10000);
	}
}

/* Build up to @p n packets of the next frames into @p m. @return how many. */
static unsigned int
burst_build(struct sender *s, struct rte_mbuf **m, unsigned int n)
{
	if (rte_pktmbuf_alloc_bulk(pool, m, n) != 0)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		uint32_t f = s->next;
		uint32_t len = pc.len[f];
		uint32_t room = rte_pktmbuf_tailroom(m[i]);

		if (len > room)
			len = room;
		rte_memcpy(rte_pktmbuf_mtod(m[i], void *), pc.data + pc.off[f], len);
		m[i]->data_len = (uint16_t)len;
		m[i]->pkt_len = len;
		s->next = f + 1 == pc.count ? 0 : f + 1;
	}
	return n;
}

/*
 * One port, a token bucket: rate x elapsed packets become due, at most two bursts' worth (after a
 * stall the sender does not catch up: what it missed is late). A burst the port does not take in
 * full (its ring is full: the receiver is slower) is retried, as pktgen does, so the stream
 * keeps every packet and the receiver sets the pace; the packets that fell due meanwhile beyond
 * the bucket are counted late.
 */
static void
send_step(struct sender *s, uint64_t now, double per_tsc)
{
	struct rte_mbuf *rx[BURST_MAX];
	double cap = 2.0 * o.burst;
	uint16_t k, got;

	if (per_tsc > 0) {
		s->tokens += (double)(now - s->last) * per_tsc;
		if (s->tokens > cap) {
			uint64_t whole;

			s->late_frac += s->tokens - cap;
			whole = (uint64_t)s->late_frac;
			s->late_frac -= (double)whole;
			__atomic_store_n(&s->late, s->late + whole, __ATOMIC_RELAXED);
			s->tokens = cap;
		}
	}
	s->last = now;
	if (s->m_n == 0) {
		unsigned int n = o.burst;

		if (per_tsc > 0) {
			if (s->tokens < 1)
				return;
			if (s->tokens < n)
				n = (unsigned int)s->tokens;
			s->tokens -= n;
		}
		s->m_first = 0;
		s->m_n = (uint16_t)burst_build(s, s->m, n);
	}
	k = rte_eth_tx_burst(s->port, 0, s->m + s->m_first, s->m_n);
	s->m_first += k;
	s->m_n -= k;
	__atomic_store_n(&s->sent, s->sent + k, __ATOMIC_RELAXED);
	got = rte_eth_rx_burst(s->port, 0, rx, BURST_MAX);
	if (got)
		rte_pktmbuf_free_bulk(rx, got);
}

/* Per second: each port's TX and late rates; at the end the totals. */
static void
report(int final, uint64_t dt)
{
	static uint64_t last_sent[RTE_MAX_ETHPORTS], last_late[RTE_MAX_ETHPORTS];
	uint64_t sent = 0, late = 0;
	double hz = (double)rte_get_tsc_hz();

	for (uint16_t i = 0; i < nb_snd; i++) {
		uint64_t ss = __atomic_load_n(&snd[i].sent, __ATOMIC_RELAXED);
		uint64_t sl = __atomic_load_n(&snd[i].late, __ATOMIC_RELAXED);

		if (!final && dt > 0)
			printf("replay: port %u Tx-pps %.0f late-pps %.0f\n", snd[i].port,
			       (double)(ss - last_sent[i]) * hz / (double)dt,
			       (double)(sl - last_late[i]) * hz / (double)dt);
		last_sent[i] = ss;
		last_late[i] = sl;
		sent += ss;
		late += sl;
	}
	if (final) {
		uint64_t stop = RTE_MIN(rte_get_tsc_cycles(), t_end);
		double secs = (double)(stop - t_start) / hz;
		uint64_t offered = o.rate > 0 ? (uint64_t)(o.rate * secs) : sent;

		printf("REPLAY offered=%" PRIu64 " sent=%" PRIu64 " late=%" PRIu64
		       " seconds=%.3f tx_pps=%.0f\n",
		       offered, sent, late, secs, secs > 0 ? (double)sent / secs : 0.0);
	}
	fflush(stdout);
}

/*
 * Send on every port of this lcore until the end time or a signal; @p arg non-NULL on the main
 * lcore, which also prints the rates every second.
 */
static int
sender_loop(void *arg)
{
	unsigned int me = rte_lcore_id();
	double per_tsc = o.rate / nb_snd / (double)rte_get_tsc_hz();
	uint64_t hz = rte_get_tsc_hz(), prev = t_start, next = t_start + hz;
	bool mine = false;

	for (uint16_t i = 0; i < nb_snd; i++)
		mine |= snd[i].lcore == me;
	for (;;) {
		uint64_t now = rte_get_tsc_cycles();

		if (quit || now >= t_end)
			break;
		for (uint16_t i = 0; i < nb_snd; i++)
			if (snd[i].lcore == me)
				send_step(&snd[i], now, per_tsc);
		if (arg != NULL && now >= next) {
			report(0, now - prev);
			prev = now;
			next += hz;
		}
		if (!mine)
			rte_delay_us_sleep(1000);
	}
	return 0;
}

/* Launch the senders (the workers, or the main lcore alone) and print the totals. */
static void
run(void)
{
	unsigned int id;

	t_start = rte_get_tsc_cycles();
	t_end = t_start + (uint64_t)(o.seconds * (double)rte_get_tsc_hz());
	for (uint16_t i = 0; i < nb_snd; i++)
		snd[i].last = t_start;
	RTE_LCORE_FOREACH_WORKER(id)
	{
		rte_eal_remote_launch(sender_loop, NULL, id);
	}
	sender_loop(&o);
	rte_eal_mp_wait_lcore();
	report(1, 0);
	for (uint16_t i = 0; i < nb_snd; i++)
		if (snd[i].m_n)
			rte_pktmbuf_free_bulk(snd[i].m + snd[i].m_first, snd[i].m_n);
}

/* Lcore of the @p i-th port: the workers in turn, or the main lcore when there is none. */
static unsigned int
port_lcore(unsigned int i)
{
	unsigned int id, k = 0, n = rte_lcore_count() - 1;

	if (n == 0)
		return rte_get_main_lcore();
	RTE_LCORE_FOREACH_WORKER(id)
	{
		if (k++ == i % n)
			return id;
	}
	return rte_get_main_lcore();
}

int
main(int argc, char **argv)
{
	char err[256];
	int ret = rte_eal_init(argc, argv);

	if (ret < 0) {
		fprintf(stderr, "synfin-replay: EAL: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	argc -= ret;
	argv += ret;
	ret = parse_opts(argc, argv);
	if (ret != 0)
		return ret > 0 ? 0 : 2;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (tl_pcap_load(o.pcap, &pc, err, sizeof(err)) != 0) {
		fprintf(stderr, "synfin-replay: %s: %s\n", o.pcap, err);
		return 1;
	}
	pool = rte_pktmbuf_pool_create("replay", POOL_SIZE * RTE_MAX(1, rte_eth_dev_count_avail()),
	                               256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (pool == NULL || rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "synfin-replay: %s\n",
		        pool == NULL ? rte_strerror(rte_errno) : "no port (give a --vdev)");
		return 1;
	}
	RTE_ETH_FOREACH_DEV(ret)
	{
		struct sender *s = &snd[nb_snd];

		s->port = (uint16_t)ret;
		s->lcore = port_lcore(nb_snd);
		nb_snd++;
		if (port_start(s->port) != 0)
			return 1;
	}
	printf("synfin-replay: %s (%u frames), %u port%s, rate %.0f pps%s, %.1f s\n", o.pcap,
	       pc.count, nb_snd, nb_snd == 1 ? "" : "s", o.rate,
	       o.rate == 0 ? " (as fast as possible)" : "", o.seconds);
	fflush(stdout);
	if (links_wait() != 0)
		return 1;
	run();
	/* --linger: the receiver stops polling before this side disconnects (config/pktgen/run.sh:
	 * a memif peer that goes away under a polling lcore can fault it) */
	while (o.linger && !quit)
		rte_delay_ms(50);
	for (uint16_t i = 0; i < nb_snd; i++) {
		rte_eth_dev_stop(snd[i].port);
		rte_eth_dev_close(snd[i].port);
	}
	tl_pcap_free(&pc);
	rte_eal_cleanup();
	return 0;
}
