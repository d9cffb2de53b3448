/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control operations of synfin (synfin.h) used by the command line and telemetry, and the
 * statistics printing (periodic and final). Every read of a flow table goes through its reader
 * API: the calling thread registers once on each table's QSBR variable with an id of its own,
 * stays offline while idle, goes online for one operation and reports quiescent every few dozen
 * flows, so the workers' deferred frees never wait on a thread that is blocked in a read(2).
 * Nothing here writes a worker's state: flush, timeouts and stop/start are functions each worker
 * runs itself between bursts (ct_worker_call()), acknowledged or timed out with one message.
 * Counters are never written here: `clear stats` keeps a baseline that later reads subtract.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include "config_keys.h"
#include "ct_table.h"
#include "ct_worker.h"
#include "synfin.h"

/* Flows read between two quiescent reports. */
#define QUIESCE_EVERY 64

static __thread int tls_reader = -1;

int
sf_reader_id(struct synfin *sf)
{
	if (tls_reader < 0) {
		unsigned int id = __atomic_fetch_add(&sf->reader_ids, 1, __ATOMIC_RELAXED);

		for (unsigned int i = 0; i < sf->nb_lcores; i++) {
			struct ct_table *t = ct_worker_table(sf->lcores[i].w);

			if (ct_table_reader_register(t, id) < 0)
				return -EINVAL;
			rte_rcu_qsbr_thread_offline(ct_table_qsbr(t), id);
		}
		tls_reader = (int)id;
	}
	return tls_reader;
}

static void
reader_online(struct synfin *sf, int id)
{
	for (unsigned int i = 0; i < sf->nb_lcores; i++)
		rte_rcu_qsbr_thread_online(ct_table_qsbr(ct_worker_table(sf->lcores[i].w)),
		                           (unsigned int)id);
}

static void
reader_quiescent(struct synfin *sf, int id)
{
	for (unsigned int i = 0; i < sf->nb_lcores; i++)
		rte_rcu_qsbr_quiescent(ct_table_qsbr(ct_worker_table(sf->lcores[i].w)),
		                       (unsigned int)id);
}

static void
reader_offline(struct synfin *sf, int id)
{
	for (unsigned int i = 0; i < sf->nb_lcores; i++)
		rte_rcu_qsbr_thread_offline(ct_table_qsbr(ct_worker_table(sf->lcores[i].w)),
		                            (unsigned int)id);
}

void
sf_flow_info(const struct sf_lcore *lc, const struct ct_flow_key *k, const struct ct_flow *f,
             struct ct_report_flow *fi)
{
	uint32_t tmo = (uint32_t)ct_worker_ticks_from_ms(
	        ct_flow_timeout_ms(f, ct_worker_tcp_conf(lc->w), ct_worker_l4_conf(lc->w)));
	uint32_t now = (uint32_t)__atomic_load_n(&lc->now, __ATOMIC_RELAXED);
	int64_t left = (int32_t)(f->last_seen + tmo - now);

	ct_flow_report(k, f, fi);
	fi->expires_in_s = left <= 0 ? 0 : (uint32_t)((left + CT_WORKER_HZ - 1) / CT_WORKER_HZ);
	fi->lcore = lc->lcore_id;
}

int
sf_flows_walk_raw(struct synfin *sf, sf_flow_raw_cb cb, void *arg)
{
	int id = sf_reader_id(sf);
	int ret = 0;

	if (id < 0)
		return id;
	reader_online(sf, id);
	for (unsigned int i = 0; ret == 0 && i < sf->nb_lcores; i++) {
		struct sf_lcore *lc = &sf->lcores[i];
		struct ct_flow_key k;
		struct sf_flow_copy c;
		uint32_t next = 0;
		unsigned int n = 0;

		while (ret == 0 && ct_table_read_next(ct_worker_table(lc->w), &next, &k, &c) == 0) {
			ret = cb(arg, lc, &k, &c);
			if (++n % QUIESCE_EVERY == 0)
				reader_quiescent(sf, id);
		}
	}
	reader_offline(sf, id);
	return ret;
}

struct walk_arg {
	int (*cb)(void *arg, const struct ct_report_flow *fi);
	void *arg;
};

static int
walk_one(void *arg, const struct sf_lcore *lc, const struct ct_flow_key *k,
         const struct sf_flow_copy *c)
{
	const struct walk_arg *a = arg;
	struct ct_report_flow fi;

	sf_flow_info(lc, k, &c->flow, &fi);
	return a->cb(a->arg, &fi);
}

int
sf_flows_walk(struct synfin *sf, int (*cb)(void *arg, const struct ct_report_flow *fi), void *arg)
{
	struct walk_arg a = {cb, arg};

	return sf_flows_walk_raw(sf, walk_one, &a);
}

void
sf_flows_by_state(struct synfin *sf, uint64_t *n)
{
	uint64_t one[CT_CLASS_MAX];

	memset(n, 0, CT_CLASS_MAX * sizeof(*n));
	for (unsigned int i = 0; i < sf->nb_lcores; i++) {
		ct_worker_flows_by_state(sf->lcores[i].w, one);
		for (unsigned int st = 0; st < CT_CLASS_MAX; st++)
			n[st] += one[st];
	}
}

/*
 * A counter another lcore writes with plain increments: read whole (relaxed atomic load), the
 * race intended and hidden from ThreadSanitizer as ct_stats_read() does.
 */
__attribute__((no_sanitize("thread"))) static inline uint64_t
counter_read(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* @p acc += lcore @p lc's application counters, minus their `clear stats` baseline if asked. */
static void
app_stats_add(struct synfin *sf, struct sf_lcore_stats *acc, const struct sf_lcore *lc,
              bool since_clear)
{
	const struct sf_lcore_stats *b = &lc->app_base;

#define X(n, h) acc->n += counter_read(&lc->app.n) - (since_clear ? b->n : 0);
	SF_LCORE_COUNTERS(X)
#undef X
	for (uint16_t p = 0; p < sf->nb_ports; p++) {
#define X(n, h)                                                                                    \
	acc->port[p].n += counter_read(&lc->app.port[p].n) - (since_clear ? b->port[p].n : 0);
		SF_PORT_COUNTERS(X)
#undef X
	}
}

void
sf_stats_sum(struct synfin *sf, struct ct_lcore_stats *out, struct sf_lcore_stats *app,
             bool since_clear)
{
	memset(out, 0, sizeof(*out));
	if (app != NULL)
		memset(app, 0, sizeof(*app));
	for (unsigned int i = 0; i < sf->nb_lcores; i++) {
		const struct sf_lcore *lc = &sf->lcores[i];
		struct ct_lcore_stats s;

		ct_stats_read(&s, ct_worker_stats(lc->w));
		if (since_clear)
			ct_stats_sub(&s, &lc->base);
		ct_stats_add(out, &s);
		if (app != NULL)
			app_stats_add(sf, app, lc, since_clear);
	}
}

/* ---- printing ---- */

/* Per second, from a difference of counters over @p tsc TSC cycles (0 when no time passed). */
static double
per_s(uint64_t diff, uint64_t tsc)
{
	return tsc == 0 ? 0.0 : (double)diff * (double)rte_get_tsc_hz() / (double)tsc;
}

/* A device counter since `clear stats`; a device that zeroed its counters since (net_memif
 * does when its peer leaves) counts from zero. */
static uint64_t
dev_since(uint64_t now, uint64_t base)
{
	return now >= base ? now - base : now;
}

/*
 * One port, testpmd's layout: RX/TX packets and bytes are synfin's own (summed over the lcores,
 * kept across a device's counter reset), missed/errors/nombuf the device's; then the rates since
 * this printer's previous sample of the port (since the start for the first one).
 */
static void
print_port(struct synfin *sf, FILE *f, uint16_t port, struct sf_rate_sample *prev,
           const struct sf_lcore_stats *raw, const struct sf_lcore_stats *shown)
{
	struct rte_eth_stats st;
	const struct rte_eth_stats *b = &sf->port_base[port];
	const struct sf_port_stats *c = &shown->port[port], *now = &raw->port[port];
	const struct sf_port_stats *was = &prev->port[port];
	uint64_t tsc = rte_get_tsc_cycles();
	uint64_t dt = tsc - (prev->port_tsc[port] ? prev->port_tsc[port] : sf->start_tsc);

	if (rte_eth_stats_get(port, &st) != 0)
		memset(&st, 0, sizeof(st));
	fprintf(f,
	        "\n  ######################## NIC statistics for port %-2u "
	        "#########################\n",
	        port);
	fprintf(f,
	        "  RX-packets: %-10" PRIu64 " RX-missed: %-10" PRIu64 " RX-bytes:  %" PRIu64 "\n",
	        c->rx_pkts, dev_since(st.imissed, b->imissed), c->rx_bytes);
	fprintf(f, "  RX-errors: %" PRIu64 "\n", dev_since(st.ierrors, b->ierrors));
	fprintf(f, "  RX-nombuf:  %-10" PRIu64 "\n", dev_since(st.rx_nombuf, b->rx_nombuf));
	fprintf(f,
	        "  TX-packets: %-10" PRIu64 " TX-errors: %-10" PRIu64 " TX-bytes:  %" PRIu64 "\n",
	        c->tx_pkts, dev_since(st.oerrors, b->oerrors), c->tx_bytes);
	fprintf(f, "\n  Throughput (since last show)\n");
	fprintf(f, "  Rx-pps: %12.0f          Rx-bps: %12.0f\n",
	        per_s(now->rx_pkts - was->rx_pkts, dt),
	        8 * per_s(now->rx_bytes - was->rx_bytes, dt));
	fprintf(f, "  Tx-pps: %12.0f          Tx-bps: %12.0f\n",
	        per_s(now->tx_pkts - was->tx_pkts, dt),
	        8 * per_s(now->tx_bytes - was->tx_bytes, dt));
	fprintf(f,
	        "  ############################################################################\n");
	prev->port_tsc[port] = tsc;
	prev->port[port] = *now;
}

/* Print the ports (every one when @p port is SF_PORT_ALL), rates from @p user's samples. */
static void
print_ports(struct synfin *sf, FILE *f, uint16_t port, enum sf_rate_user user)
{
	struct ct_lcore_stats s;
	struct sf_lcore_stats raw, shown;

	sf_stats_sum(sf, &s, &raw, false);
	sf_stats_sum(sf, &s, &shown, true);
	for (uint16_t p = 0; p < sf->nb_ports; p++)
		if (port == SF_PORT_ALL || p == port)
			print_port(sf, f, p, &sf->rate[user], &raw, &shown);
}

/* The change of the counters since @p prev (then updated) or the start, and the seconds taken. */
static double
tracker_delta(struct synfin *sf, struct ct_lcore_stats *d, struct sf_rate_sample *prev)
{
	struct ct_lcore_stats now;
	uint64_t tsc = rte_get_tsc_cycles();
	uint64_t dt = tsc - (prev->tracker_tsc ? prev->tracker_tsc : sf->start_tsc);

	sf_stats_sum(sf, &now, NULL, false);
	*d = now;
	ct_stats_sub(d, &prev->tracker);
	prev->tracker_tsc = tsc;
	prev->tracker = now;
	return (double)dt / (double)rte_get_tsc_hz();
}

static void
print_tracker(struct synfin *sf, FILE *f, enum sf_rate_user user)
{
	struct ct_lcore_stats s, d;
	struct sf_lcore_stats tx;
	uint64_t by_state[CT_CLASS_MAX];
	struct ct_report_stats r = {.s = &s, .d = &d, .by_state = by_state};

	sf_stats_sum(sf, &s, &tx, true);
	sf_flows_by_state(sf, by_state);
	for (unsigned int i = 0; i < sf->nb_lcores; i++)
		r.capacity += ct_table_capacity(ct_worker_table(sf->lcores[i].w));
	r.show_tx = sf->cfg.mode == SF_MODE_INLINE;
	r.tx_pkts = tx.tx_pkts;
	r.tx_dropped = tx.tx_dropped;
	r.seconds = tracker_delta(sf, &d, &sf->rate[user]);
	ct_report_stats_block(f, &r);
}

void
sf_print_all_stats(struct synfin *sf, FILE *f)
{
	print_ports(sf, f, SF_PORT_ALL, SF_RATE_PERIODIC);
	print_tracker(sf, f, SF_RATE_PERIODIC);
	fflush(f);
}

/* ---- control operations ---- */

int
sf_show_stats(struct synfin *sf, FILE *f)
{
	print_tracker(sf, f, SF_RATE_CLI);
	return 0;
}

int
sf_show_port_stats(struct synfin *sf, FILE *f, uint16_t port)
{
	if (port == SF_PORT_ALL && sf->nb_ports == 0) {
		fprintf(f, "no ports\n");
		return 0;
	}
	if (port != SF_PORT_ALL && port >= sf->nb_ports)
		return -ENODEV;
	print_ports(sf, f, port, SF_RATE_CLI);
	return 0;
}

int
sf_show_lcores(struct synfin *sf, FILE *f)
{
	for (unsigned int i = 0; i < sf->nb_lcores; i++) {
		const struct sf_lcore *lc = &sf->lcores[i];
		struct ct_lcore_stats s;

		ct_stats_read(&s, ct_worker_stats(lc->w));
		ct_stats_sub(&s, &lc->base);
		fprintf(f,
		        "lcore %u (socket %u)%s: flows %u/%u, rx %" PRIu64 " pkts, clock %" PRIu64
		        " ms, queues:",
		        lc->lcore_id, rte_lcore_to_socket_id(lc->lcore_id),
		        sf->single ? " main" : "", ct_table_count(ct_worker_table(lc->w)),
		        ct_table_capacity(ct_worker_table(lc->w)), s.rx_pkts,
		        __atomic_load_n(&lc->now, __ATOMIC_RELAXED));
		for (unsigned int q = 0; q < lc->nb_rxq; q++)
			fprintf(f, " port%u/q%u", lc->rxq[q].port, lc->rxq[q].queue);
		fprintf(f, "%s\n", lc->nb_rxq ? "" : " none");
	}
	return 0;
}

struct list_arg {
	FILE *f;
	int state;
	uint32_t limit;
	uint32_t n;
};

static int
list_one(void *arg, const struct ct_report_flow *fi)
{
	struct list_arg *a = arg;

	if (a->state >= 0 && fi->state != a->state)
		return 0;
	ct_report_flow_line(a->f, fi);
	a->n++;
	return a->limit != 0 && a->n >= a->limit ? 1 : 0;
}

int
sf_show_flows(struct synfin *sf, FILE *f, int state, uint32_t limit)
{
	struct list_arg a = {.f = f, .state = state, .limit = limit};

	if (state >= CT_CLASS_MAX || state < -1) {
		fprintf(f, "show flows: no flow state %d\n", state);
		return -EINVAL;
	}
	if (sf_flows_walk(sf, list_one, &a) < 0)
		return -EINVAL;
	fprintf(f, "%u flow%s shown\n", a.n, a.n == 1 ? "" : "s");
	return 0;
}

int
sf_show_flow(struct synfin *sf, FILE *f, const struct ct_flow_key *key)
{
	int id = sf_reader_id(sf);
	int ret = -ENOENT;

	if (id < 0)
		return id;
	reader_online(sf, id);
	for (unsigned int i = 0; i < sf->nb_lcores; i++) {
		struct sf_lcore *lc = &sf->lcores[i];
		struct sf_flow_copy c;
		const struct ct_flow *fl = &c.flow;
		struct ct_report_flow fi;

		if (ct_table_read_key(ct_worker_table(lc->w), key, &c) != 0)
			continue;
		sf_flow_info(lc, key, fl, &fi);
		ct_report_flow_line(f, &fi);
		fprintf(f,
		        "  lcore %u, packets orig %" PRIu64 " reply %" PRIu64
		        ", bytes orig %" PRIu64 " reply %" PRIu64 ", invalid %u, expires in %u s\n",
		        fi.lcore, fi.pkts[0], fi.pkts[1], fi.bytes[0], fi.bytes[1], fi.invalid,
		        fi.expires_in_s);
		if (sf_export_on(sf)) {
			char h[CT_HISTORY_SIZE];

			fprintf(f, "  history %s\n", ct_history_format(&c.ext.hist, h, sizeof(h)));
		}
		for (unsigned int d = 0; !ct_class_is_l4(fl->tcp.state) && d < CT_DIR_MAX; d++)
			fprintf(f, "  %s: end %u maxend %u maxwin %u wscale %u flags 0x%02x\n",
			        d == CT_DIR_ORIG ? "client" : "server", fl->tcp.peer[d].end,
			        fl->tcp.peer[d].maxend, fl->tcp.peer[d].maxwin, fl->tcp.wscale[d],
			        fl->tcp.peer_flags[d]);
		ret = 0;
		break;
	}
	reader_offline(sf, id);
	return ret;
}

int
sf_show_config(struct synfin *sf, FILE *f)
{
	sf_config_print(&sf->cfg, f);
	fprintf(f, "# %u worker lcore%s, %u port%s, %s, forwarding %s\n", sf->nb_lcores,
	        sf->nb_lcores == 1 ? "" : "s", sf->nb_ports, sf->nb_ports == 1 ? "" : "s",
	        sf->single ? "main lcore runs the worker loop" : "main lcore controls",
	        sf->forwarding ? "on" : "off");
	return 0;
}

/*
 * Run @p fn on every worker, with @p arg (or, when @p arg is NULL, the worker's own struct
 * sf_lcore); one error line for the first that does not answer in time.
 */
static int
call_all(struct synfin *sf, FILE *f, const char *what, ct_worker_call_t fn, void *arg)
{
	int ret = 0;

	for (unsigned int i = 0; i < sf->nb_lcores; i++) {
		int r = ct_worker_call(sf->lcores[i].w, fn, arg != NULL ? arg : &sf->lcores[i],
		                       SF_CALL_TIMEOUT_MS);

		if (r == -ETIMEDOUT && ret == 0 && f != NULL)
			fprintf(f, "%s: lcore %u did not answer within %u ms\n", what,
			        sf->lcores[i].lcore_id, SF_CALL_TIMEOUT_MS);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

int
sf_set_timeout(struct synfin *sf, const char *state, uint32_t ms)
{
	struct ct_worker_timeout r = {.state = 0, .ms = ms};
	int st = sf_config_timeout_parse(state);

	if (st < 0)
		return -EINVAL;
	if (ms == 0 || ms > CT_WORKER_TIMEOUT_MS_MAX)
		return -ERANGE;
	r.state = (unsigned int)st;
	/* The configuration the control plane shows; each worker changes its own copy. */
	if (r.state < CT_S_MAX)
		__atomic_store_n(&sf->cfg.tcp.timeouts.ms[r.state], r.ms, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&sf->cfg.l4.ms[r.state - CT_S_MAX], r.ms, __ATOMIC_RELAXED);
	return call_all(sf, stdout, "set timeout", ct_worker_req_timeout, &r);
}

int
sf_set_stats_period(struct synfin *sf, uint32_t s)
{
	__atomic_store_n(&sf->cfg.stats_period, s, __ATOMIC_RELAXED);
	sf->stats_tsc = rte_get_tsc_cycles();
	return 0;
}

int
sf_clear_stats(struct synfin *sf)
{
	for (unsigned int i = 0; i < sf->nb_lcores; i++) {
		struct sf_lcore *lc = &sf->lcores[i];

		struct sf_lcore_stats *b = &lc->app_base;

		ct_stats_read(&lc->base, ct_worker_stats(lc->w));
#define X(n, h) b->n = counter_read(&lc->app.n);
		SF_LCORE_COUNTERS(X)
#undef X
		for (uint16_t p = 0; p < sf->nb_ports; p++) {
#define X(n, h) b->port[p].n = counter_read(&lc->app.port[p].n);
			SF_PORT_COUNTERS(X)
#undef X
		}
	}
	for (uint16_t p = 0; p < sf->nb_ports; p++)
		if (rte_eth_stats_get(p, &sf->port_base[p]) != 0)
			memset(&sf->port_base[p], 0, sizeof(sf->port_base[p]));
	return 0;
}

int
sf_flush_flows(struct synfin *sf)
{
	uint32_t n; /* each worker's count, not shown */

	return call_all(sf, stdout, "flush flows", ct_worker_req_flush, &n);
}

/* Runs on the worker: @p arg is its struct sf_lcore; the new state is the app's. */
static int
do_forward_on(struct ct_worker *w, void *arg)
{
	(void)w;
	((struct sf_lcore *)arg)->forwarding = true;
	return 0;
}

static int
do_forward_off(struct ct_worker *w, void *arg)
{
	(void)w;
	((struct sf_lcore *)arg)->forwarding = false;
	return 0;
}

int
sf_start(struct synfin *sf)
{
	if (sf->forwarding)
		return -EALREADY;
	sf->forwarding = true;
	return call_all(sf, stdout, "start", do_forward_on, NULL);
}

int
sf_stop(struct synfin *sf)
{
	if (!sf->forwarding)
		return -EALREADY;
	sf->forwarding = false;
	return call_all(sf, stdout, "stop", do_forward_off, NULL);
}

void
sf_quit(struct synfin *sf)
{
	sf->exit_code = 0;
	sf->quit = true;
}
