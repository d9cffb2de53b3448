/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port setup: every ethdev port (PCI or --vdev) gets the requested RX queues spread by a
 * symmetric Toeplitz RSS key (0x6d5a repeated, so both directions of a connection hash to the
 * same queue and hence the same lcore) over IP and TCP, one TX queue per worker lcore for inline
 * mode, an mbuf pool per NUMA socket, promiscuous mode, and RX timestamps when the tracker runs
 * on the packet clock. A port that cannot do RSS falls back to one queue with a warning; a port
 * that cannot timestamp with --clock=packet is an error.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "ct_worker.h"
#include "synfin.h"

#define NB_RXD       1024
#define NB_TXD       1024
#define MBUF_CACHE   256
#define RSS_KEY_MAX  128
#define RSS_KEY_SIZE 40

static struct rte_mempool *
pool_for(struct synfin *sf, int socket, unsigned int nb_mbufs)
{
	char name[RTE_MEMPOOL_NAMESIZE];

	if (socket < 0 || socket >= RTE_MAX_NUMA_NODES)
		socket = 0;
	if (sf->pool[socket] != NULL)
		return sf->pool[socket];
	snprintf(name, sizeof(name), "sf_mbuf_s%d", socket);
	sf->pool[socket] = rte_pktmbuf_pool_create(name, nb_mbufs, MBUF_CACHE, 0,
	                                           RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (sf->pool[socket] == NULL)
		fprintf(stderr, "synfin: cannot create an mbuf pool of %u on socket %d: %s\n",
		        nb_mbufs, socket, rte_strerror(rte_errno));
	return sf->pool[socket];
}

/* Symmetric RSS over IP/TCP into @p conf (key in @p key); @return the RX queues to use. */
static uint16_t
rss_setup(struct synfin *sf, uint16_t port, const struct rte_eth_dev_info *info, uint16_t rxq,
          struct rte_eth_conf *conf, uint8_t *key)
{
	uint64_t hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP) & info->flow_type_rss_offloads;
	unsigned int klen = info->hash_key_size ? info->hash_key_size : RSS_KEY_SIZE;

	if (rxq <= 1)
		return rxq;
	if (hf == 0 || klen > RSS_KEY_MAX) {
		fprintf(stderr,
		        "synfin: warning: port %u (%s) cannot spread IP/TCP by RSS; using 1 RX "
		        "queue instead of %u\n",
		        port, info->driver_name, rxq);
		return 1;
	}
	for (unsigned int i = 0; i < klen; i += 2) {
		key[i] = 0x6d;
		if (i + 1 < klen)
			key[i + 1] = 0x5a;
	}
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	conf->rx_adv_conf.rss_conf.rss_key = key;
	conf->rx_adv_conf.rss_conf.rss_key_len = (uint8_t)klen;
	conf->rx_adv_conf.rss_conf.rss_hf = hf;
	sf->rss[port] = true;
	return rxq;
}

/* RX timestamps for --clock=packet. @return 0, or -ENOTSUP (message printed). */
static int
timestamp_setup(struct synfin *sf, uint16_t port, const struct rte_eth_dev_info *info,
                struct rte_eth_conf *conf)
{
	/* net_pcap (DPDK 22.11) stamps every packet with its capture time in microseconds since
	 * the epoch without advertising the offload. */
	bool pcap = strcmp(info->driver_name, "net_pcap") == 0;

	if (sf->cfg.clock != SF_CLOCK_PACKET)
		return 0;
	if (!pcap && !(info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP)) {
		fprintf(stderr,
		        "synfin: port %u (%s) cannot timestamp received packets; --clock=packet "
		        "needs RX timestamps (use --clock=tsc)\n",
		        port, info->driver_name);
		return -ENOTSUP;
	}
	if (info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP)
		conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
	return 0;
}

/* RX and TX queues of a configured port. @return 0 or -errno (message printed). */
static int
queues_setup(uint16_t port, uint16_t rxq, uint16_t txq, const struct rte_eth_dev_info *info,
             uint64_t rx_offloads, struct rte_mempool *pool)
{
	uint16_t nb_rxd = NB_RXD, nb_txd = NB_TXD;
	int socket = rte_eth_dev_socket_id(port);
	unsigned int sock = socket < 0 ? 0 : (unsigned int)socket;
	int ret;

	rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	for (uint16_t q = 0; q < rxq; q++) {
		struct rte_eth_rxconf rxc = info->default_rxconf;

		rxc.offloads = rx_offloads;
		ret = rte_eth_rx_queue_setup(port, q, nb_rxd, sock, &rxc, pool);
		if (ret != 0) {
			fprintf(stderr, "synfin: port %u: RX queue %u setup: %s\n", port, q,
			        strerror(-ret));
			return ret;
		}
	}
	for (uint16_t q = 0; q < txq; q++) {
		ret = rte_eth_tx_queue_setup(port, q, nb_txd, sock, NULL);
		if (ret != 0) {
			fprintf(stderr, "synfin: port %u: TX queue %u setup: %s\n", port, q,
			        strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int
port_init(struct synfin *sf, uint16_t port, unsigned int nb_mbufs)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	struct rte_mempool *pool;
	uint8_t key[RSS_KEY_MAX];
	uint16_t rxq = sf->cfg.rxq, txq;
	int ret;

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_info_get(port, &info);
	if (ret != 0) {
		fprintf(stderr, "synfin: port %u: cannot get device info: %s\n", port,
		        strerror(-ret));
		return ret;
	}
	if (rxq > info.max_rx_queues) {
		fprintf(stderr,
		        "synfin: warning: port %u (%s) has at most %u RX queues, using %u\n", port,
		        info.driver_name, info.max_rx_queues, info.max_rx_queues);
		rxq = info.max_rx_queues;
	}
	rxq = rss_setup(sf, port, &info, rxq, &conf, key);
	ret = timestamp_setup(sf, port, &info, &conf);
	if (ret != 0)
		return ret;
	txq = sf->cfg.mode == SF_MODE_INLINE ? (uint16_t)sf->nb_lcores : 1;
	if (txq > info.max_tx_queues) {
		fprintf(stderr, "synfin: port %u (%s) has %u TX queues, %u lcores need one each\n",
		        port, info.driver_name, info.max_tx_queues, txq);
		return -EINVAL;
	}
	ret = rte_eth_dev_configure(port, rxq, txq, &conf);
	if (ret != 0) {
		fprintf(stderr, "synfin: port %u (%s): configure with %u RX / %u TX queues: %s\n",
		        port, info.driver_name, rxq, txq, strerror(-ret));
		return ret;
	}
	pool = pool_for(sf, rte_eth_dev_socket_id(port), nb_mbufs);
	if (pool == NULL)
		return -ENOMEM;
	ret = queues_setup(port, rxq, txq, &info, conf.rxmode.offloads, pool);
	if (ret != 0)
		return ret;
	ret = rte_eth_dev_start(port);
	if (ret != 0) {
		fprintf(stderr, "synfin: port %u: start: %s\n", port, strerror(-ret));
		return ret;
	}
	ret = rte_eth_promiscuous_enable(port);
	if (ret != 0 && ret != -ENOTSUP)
		fprintf(stderr, "synfin: warning: port %u: promiscuous mode: %s\n", port,
		        strerror(-ret));
	sf->nb_rxq[port] = rxq;
	sf->nb_txq[port] = txq;
	return 0;
}

int
sf_ports_init(struct synfin *sf)
{
	uint16_t n = rte_eth_dev_count_avail();
	unsigned int nb_mbufs;
	uint64_t flag;
	int ret;

	sf->ts_dynfield = -1;
	if (n == 0) {
		fprintf(stderr, "synfin: no ports: bind a NIC to DPDK or add --vdev "
		                "(e.g. --vdev=net_pcap0,rx_pcap=file.pcap)\n");
		return -ENODEV;
	}
	if (sf->cfg.clock == SF_CLOCK_PACKET) {
		ret = rte_mbuf_dyn_rx_timestamp_register(&sf->ts_dynfield, &flag);
		if (ret != 0) {
			fprintf(stderr, "synfin: cannot register the RX timestamp field: %s\n",
			        rte_strerror(rte_errno));
			return -rte_errno;
		}
		/* Units: net_pcap gives microseconds since the epoch; hardware PMDs give device
		 * clock ticks, also taken as microseconds here (not calibrated). */
		sf->ts_div = 1000000 / CT_WORKER_HZ;
	}
	for (uint16_t p = 0; p < n; p++) {
		if (!rte_eth_dev_is_valid_port(p)) {
			fprintf(stderr, "synfin: ports must be numbered 0..%u\n", n - 1);
			return -ENODEV;
		}
	}
	/* RX rings + TX rings + per-lcore caches and bursts, per port. */
	nb_mbufs = n * (sf->cfg.rxq * NB_RXD + (sf->nb_lcores + 1) * NB_TXD) +
	           sf->nb_lcores * (MBUF_CACHE + SF_BURST_MAX) + 4096;
	for (uint16_t p = 0; p < n; p++) {
		ret = port_init(sf, p, nb_mbufs);
		if (ret != 0)
			return ret;
		sf->nb_ports = p + 1;
	}
	return 0;
}

void
sf_ports_close(struct synfin *sf)
{
	for (uint16_t p = 0; p < sf->nb_ports; p++) {
		int ret = rte_eth_dev_stop(p);

		if (ret != 0)
			fprintf(stderr, "synfin: port %u: stop: %s\n", p, strerror(-ret));
		rte_eth_dev_close(p);
	}
	sf->nb_ports = 0;
}
