/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The exporter: one control thread that drains the flow-end records every worker queues on its
 * ring (lib/worker: single producer, single consumer; a full ring drops the record in the worker
 * and counts export_dropped), turns each into a struct ct_export_flow (text addresses, Unix
 * milliseconds, history string, conn_state) and writes it to --flow-log as a JSON line and to
 * --ipfix as an IPFIX data record. IPFIX messages go out as UDP datagrams when full and at the
 * end of every pass that added records; templates at start and every ipfix-template-period
 * seconds (RFC 7011 section 8.4: UDP exporters resend them). At shutdown the thread drains what
 * is left, then the flows still open are written with end reason `shutdown` from the tables
 * (the workers have stopped), so the counters and the final listings stay those of the run.
 */

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "ct_export.h"
#include "ct_ipfix.h"
#include "synfin.h"

/* Records taken from a ring at once. */
#define DRAIN_BURST 64
/* Records per pass before the outputs are flushed. */
#define PASS_MAX 4096

struct exporter {
	struct synfin *sf;
	FILE *log;          /* --flow-log, or NULL */
	bool log_is_stdout; /* not closed */
	int sock;           /* --ipfix: connected UDP socket, or -1 */
	struct ct_ipfix ipfix;
	uint64_t next_templates_tsc;
	pthread_t thread;
	bool running;      /* the thread was started */
	bool stop;         /* asked to stop (release/acquire) */
	uint64_t written;  /* records written */
	uint64_t shutdown; /* of which still open at exit */
	uint64_t msgs;     /* IPFIX messages sent */
	uint64_t send_errors;
	int log_error;                 /* errno of the first write error of the log, 0 if none */
	struct ct_export_pace pace;    /* the sleep between passes (lib/export) */
	uint32_t taken[RTE_MAX_LCORE]; /* per ring: records taken since the last sleep */
};

static struct exporter ex = {.sock = -1};

static uint32_t
unix_s(void)
{
	return (uint32_t)time(NULL);
}

/* Send the IPFIX message being built, if any. */
static void
ipfix_send(struct exporter *x)
{
	const uint8_t *msg;
	size_t len = ct_ipfix_finish(&x->ipfix, &msg);

	if (len == 0)
		return;
	if (send(x->sock, msg, len, 0) == (ssize_t)len)
		x->msgs++;
	else
		x->send_errors++;
}

static void
ipfix_templates(struct exporter *x)
{
	if (ct_ipfix_add_templates(&x->ipfix, unix_s()) < 0) {
		ipfix_send(x);
		ct_ipfix_add_templates(&x->ipfix, unix_s());
	}
	x->next_templates_tsc =
	        rte_get_tsc_cycles() + rte_get_tsc_hz() * x->sf->cfg.ipfix_template_s;
}

/*
 * The export view of a record of lcore @p lc that ended at 64-bit tick @p end; the text fields
 * only for the JSON log (@p text).
 */
static void
convert(const struct synfin *sf, const struct sf_lcore *lc, const struct ct_flow_end *r,
        uint64_t end, bool text, struct ct_export_flow *e)
{
	ct_flow_end_export(r, e, text);
	e->fi.lcore = lc->lcore_id;
	e->first_ms = sf_clock_unix_ms(sf, ct_tick64(end, r->ext.first_seen));
	e->last_ms = sf_clock_unix_ms(sf, ct_tick64(end, r->flow.last_seen));
}

static void
write_one(struct exporter *x, const struct ct_export_flow *e)
{
	if (x->log != NULL && ct_export_json_line(x->log, e) < 0 && x->log_error == 0)
		x->log_error = errno != 0 ? errno : EIO;
	if (x->sock >= 0 && ct_ipfix_add_flow(&x->ipfix, e, unix_s()) < 0) {
		ipfix_send(x);
		if (ct_ipfix_add_flow(&x->ipfix, e, unix_s()) < 0)
			x->send_errors++;
	}
	x->written++;
}

static void
flush_outputs(struct exporter *x)
{
	if (x->log != NULL)
		fflush(x->log);
	if (x->sock >= 0)
		ipfix_send(x);
}

/*
 * Drain every ring once (up to PASS_MAX records in all). *@p more: a ring may hold more.
 * @return records written.
 */
static unsigned int
drain_pass(struct exporter *x, bool *more)
{
	struct synfin *sf = x->sf;
	struct ct_flow_end recs[DRAIN_BURST];
	unsigned int total = 0, n;

	*more = false;
	for (unsigned int i = 0; i < sf->nb_lcores; i++) {
		const struct sf_lcore *lc = &sf->lcores[i];

		do {
			uint64_t now;

			n = rte_ring_sc_dequeue_burst_elem(lc->records, recs, sizeof(recs[0]),
			                                   DRAIN_BURST, NULL);
			/* The worker stored its clock before it queued these. */
			now = __atomic_load_n(&lc->now, __ATOMIC_RELAXED);
			for (unsigned int k = 0; k < n; k++) {
				struct ct_export_flow e;

				convert(sf, lc, &recs[k], ct_tick64(now, recs[k].end),
				        x->log != NULL, &e);
				write_one(x, &e);
			}
			total += n;
			x->taken[i] += n;
		} while (n == DRAIN_BURST && total < PASS_MAX);
		if (n == DRAIN_BURST)
			*more = true;
	}
	return total;
}

/* After the rings were emptied: the sleep before the next pass (lib/export's pacing). */
static uint32_t
pace(struct exporter *x)
{
	const struct synfin *sf = x->sf;
	uint32_t peak = 0, size = UINT32_MAX;

	for (unsigned int i = 0; i < sf->nb_lcores; i++) {
		unsigned int cap = rte_ring_get_capacity(sf->lcores[i].records);

		peak = x->taken[i] > peak ? x->taken[i] : peak;
		size = cap < size ? cap : size;
		x->taken[i] = 0;
	}
	return ct_export_pace_next(&x->pace, peak, size);
}

static void *
export_thread(void *arg)
{
	struct exporter *x = arg;
	bool more;

	ct_export_pace_init(&x->pace);
	while (!__atomic_load_n(&x->stop, __ATOMIC_ACQUIRE)) {
		if (x->sock >= 0 && rte_get_tsc_cycles() >= x->next_templates_tsc) {
			ipfix_templates(x);
			ipfix_send(x);
		}
		if (drain_pass(x, &more) != 0)
			flush_outputs(x);
		/* Take the records in batches, not one by one as the workers queue them. */
		if (!more)
			usleep(pace(x));
	}
	do
		drain_pass(x, &more);
	while (more);
	flush_outputs(x);
	return NULL;
}

/*
 * Split --ipfix HOST:PORT ([IPv6]:PORT) into @p host (size HOST_MAX) and @p port (1..65535).
 * @return 0, or -1 with one message printed.
 */
#define HOST_MAX 256
static int
ipfix_split(const char *spec, char *host, char *port)
{
	const char *colon = strrchr(spec, ':'), *h = spec;
	unsigned long p;
	size_t hl;
	char *end;

	if (colon == NULL || colon[1] == '\0' || colon == spec) {
		fprintf(stderr, "synfin: --ipfix %s: expected HOST:PORT (or [IPv6]:PORT)\n", spec);
		return -1;
	}
	p = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || p == 0 || p > 65535 || colon[1] < '0' || colon[1] > '9') {
		fprintf(stderr, "synfin: --ipfix %s: the port must be a number in 1..65535\n",
		        spec);
		return -1;
	}
	hl = (size_t)(colon - spec);
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		h = spec + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= HOST_MAX) {
		fprintf(stderr, "synfin: --ipfix %s: no host, or a host name too long\n", spec);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, 6, "%lu", p);
	return 0;
}

int
sf_export_check(const struct sf_config *cfg)
{
	char host[HOST_MAX], port[6];

	return cfg->ipfix != NULL && ipfix_split(cfg->ipfix, host, port) < 0 ? -EINVAL : 0;
}

/* Open --ipfix HOST:PORT ([v6]:PORT) as a connected UDP socket. @return 0 or -1 (printed). */
static int
ipfix_open(struct exporter *x, const char *spec)
{
	char host[HOST_MAX], port[6];
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_protocol = IPPROTO_UDP};
	struct addrinfo *res = NULL, *a;
	int err;

	if (ipfix_split(spec, host, port) < 0)
		return -1;
	err = getaddrinfo(host, port, &hints, &res);
	if (err != 0) {
		fprintf(stderr, "synfin: --ipfix %s: %s\n", spec, gai_strerror(err));
		return -1;
	}
	for (a = res; a != NULL; a = a->ai_next) {
		x->sock = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
		if (x->sock < 0)
			continue;
		if (connect(x->sock, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(x->sock);
		x->sock = -1;
	}
	err = errno;
	freeaddrinfo(res);
	if (x->sock < 0) {
		fprintf(stderr, "synfin: --ipfix %s: cannot open a UDP socket to it: %s\n", spec,
		        strerror(err));
		return -1;
	}
	return 0;
}

int
sf_export_start(struct synfin *sf)
{
	struct exporter *x = &ex;

	if (!sf_export_on(sf))
		return 0;
	x->sf = sf;
	if (sf->cfg.flow_log != NULL) {
		x->log_is_stdout = strcmp(sf->cfg.flow_log, "-") == 0;
		x->log = x->log_is_stdout ? stdout : fopen(sf->cfg.flow_log, "w");
		if (x->log == NULL) {
			fprintf(stderr, "synfin: --flow-log %s: %s\n", sf->cfg.flow_log,
			        strerror(errno));
			return -errno;
		}
	}
	if (sf->cfg.ipfix != NULL) {
		if (ipfix_open(x, sf->cfg.ipfix) < 0)
			return -EINVAL;
		ct_ipfix_init(&x->ipfix, 1);
		ipfix_templates(x);
		ipfix_send(x);
	}
	if (rte_ctrl_thread_create(&x->thread, "sf-export", NULL, export_thread, x) != 0) {
		fprintf(stderr, "synfin: cannot start the exporter thread\n");
		return -EAGAIN;
	}
	x->running = true;
	return 0;
}

/* Close the flow log (not stdout) and the IPFIX socket; a failing fclose is a log error. */
static void
outputs_close(struct exporter *x)
{
	if (x->log != NULL && !x->log_is_stdout && fclose(x->log) != 0 && x->log_error == 0)
		x->log_error = errno;
	x->log = NULL;
	if (x->sock >= 0)
		close(x->sock);
	x->sock = -1;
}

/* A flow still open at shutdown. */
static int
open_flow(void *arg, const struct sf_lcore *lc, const struct ct_flow_key *k,
          const struct sf_flow_copy *c)
{
	struct exporter *x = arg;
	uint64_t now = __atomic_load_n(&lc->now, __ATOMIC_RELAXED);
	struct ct_flow_end r = {.flow = c->flow,
	                        .key = *k,
	                        .ext = c->ext,
	                        .end = (uint32_t)now,
	                        .reason = CT_END_SHUTDOWN};
	struct ct_export_flow e;

	convert(x->sf, lc, &r, now, x->log != NULL, &e);
	write_one(x, &e);
	x->shutdown++;
	return 0;
}

void
sf_export_stop(struct synfin *sf)
{
	struct exporter *x = &ex;
	struct ct_lcore_stats s;

	if (!x->running) { /* start failed: close what it opened */
		outputs_close(x);
		return;
	}
	__atomic_store_n(&x->stop, true, __ATOMIC_RELEASE);
	pthread_join(x->thread, NULL);
	x->running = false;
	sf_flows_walk_raw(sf, open_flow, x);
	flush_outputs(x);
	sf_stats_sum(sf, &s, NULL, false);
	printf("synfin: exported %" PRIu64 " flow records (%" PRIu64 " open at exit), %" PRIu64
	       " dropped (ring full)",
	       x->written, x->shutdown, s.export_dropped);
	if (x->sock >= 0)
		printf(", %" PRIu64 " IPFIX messages to %s, %" PRIu64 " send errors", x->msgs,
		       sf->cfg.ipfix, x->send_errors);
	printf("\n");
	outputs_close(x);
	if (x->log_error != 0) {
		fprintf(stderr, "synfin: --flow-log %s: %s\n", sf->cfg.flow_log,
		        strerror(x->log_error));
		sf->exit_code = 1;
	}
	fflush(stdout);
}
