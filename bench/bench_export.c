/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin-bench --export: the consumer side of the worker's flow-end records, as synfin's
 * exporter thread does it (in batches, paced by lib/export's ct_export_pace), on another
 * core: take the records off the ring and drop them (ring), or also write each as a JSON line
 * to /dev/null (json), or encode IPFIX messages and send them over UDP to a socket on 127.0.0.1 that nobody reads (ipfix; the kernel drops them
 * once its buffer is full, the send still happens). The worker side (cold part, records,
 * enqueue) is what the benchmark's timed region measures. "records" has the worker keep and
 * build the records with no consumer at all: the ring fills, then every record is dropped
 * (counted) without being copied, which leaves the worker's own cost of records apart from
 * the ring's and the consumer thread's.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_pause.h>
#include <rte_ring.h>

#include "bench_export.h"
#include "ct_export.h"
#include "ct_ipfix.h"

#define BURST 64

static const char *const mode_names[BENCH_EXPORT_MAX] = {
        [BENCH_EXPORT_NONE] = "none",   [BENCH_EXPORT_RECORDS] = "records",
        [BENCH_EXPORT_RING] = "ring",   [BENCH_EXPORT_JSON] = "json",
        [BENCH_EXPORT_IPFIX] = "ipfix",
};

int
bench_export_mode(const char *s)
{
	for (int m = 0; m < BENCH_EXPORT_MAX; m++)
		if (strcmp(s, mode_names[m]) == 0)
			return m;
	return -1;
}

const char *
bench_export_name(int mode)
{
	return mode >= 0 && mode < BENCH_EXPORT_MAX ? mode_names[mode] : "?";
}

static void
ipfix_flush(struct bench_export *x)
{
	const uint8_t *msg;
	size_t len = ct_ipfix_finish(x->ipfix, &msg);

	if (len != 0 && send(x->sock, msg, len, 0) == (ssize_t)len)
		x->msgs++;
}

static void
consume(struct bench_export *x, const struct ct_flow_end *r)
{
	struct ct_export_flow e;

	if (x->mode == BENCH_EXPORT_RING)
		return;
	ct_flow_end_export(r, &e, x->mode == BENCH_EXPORT_JSON); /* as synfin: text for JSON */
	e.first_ms = r->ext.first_seen;
	e.last_ms = r->flow.last_seen;
	if (x->mode == BENCH_EXPORT_JSON) {
		ct_export_json_line(x->devnull, &e);
		return;
	}
	if (ct_ipfix_add_flow(x->ipfix, &e, 0) < 0) {
		ipfix_flush(x);
		ct_ipfix_add_flow(x->ipfix, &e, 0);
	}
}

static void *
consumer(void *arg)
{
	struct bench_export *x = arg;
	struct ct_flow_end r[BURST];
	struct ct_export_pace pace;
	unsigned int cap = rte_ring_get_capacity(x->ring);
	uint32_t taken = 0;

	ct_export_pace_init(&pace);
	for (;;) {
		/*
		 * Read stop before the ring: the worker queued its last record before stop was
		 * set, so an empty ring after stop is the end (stop read after an empty ring
		 * could leave records queued in between).
		 */
		int stop = __atomic_load_n(&x->stop, __ATOMIC_ACQUIRE);
		unsigned int n =
		        rte_ring_sc_dequeue_burst_elem(x->ring, r, sizeof(r[0]), BURST, NULL);

		for (unsigned int i = 0; i < n; i++)
			consume(x, &r[i]);
		x->consumed += n;
		taken += n;
		if (n == BURST)
			continue;
		if (x->mode == BENCH_EXPORT_IPFIX)
			ipfix_flush(x);
		if (stop)
			break;
		/* the ring is empty: sleep as synfin's exporter does (lib/export's pacing) */
		usleep(ct_export_pace_next(&pace, taken, cap));
		taken = 0;
	}
	return NULL;
}

int
bench_export_start(struct bench_export *x, int mode, unsigned int ring)
{
	static struct ct_ipfix ipfix;
	struct sockaddr_in sink = {.sin_family = AF_INET,
	                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sink);

	memset(x, 0, sizeof(*x));
	x->mode = mode;
	x->sock = x->sink = -1;
	if (mode == BENCH_EXPORT_NONE)
		return 0;
	x->ring = rte_ring_create_elem("bench_rec", sizeof(struct ct_flow_end), ring, SOCKET_ID_ANY,
	                               RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (x->ring == NULL)
		return -1;
	if (mode == BENCH_EXPORT_JSON && (x->devnull = fopen("/dev/null", "w")) == NULL)
		return -1;
	if (mode == BENCH_EXPORT_IPFIX) {
		x->sink = socket(AF_INET, SOCK_DGRAM, 0);
		x->sock = socket(AF_INET, SOCK_DGRAM, 0);
		if (x->sink < 0 || x->sock < 0 ||
		    bind(x->sink, (struct sockaddr *)&sink, sizeof(sink)) != 0 ||
		    getsockname(x->sink, (struct sockaddr *)&sink, &sl) != 0 ||
		    connect(x->sock, (struct sockaddr *)&sink, sizeof(sink)) != 0)
			return -1;
		x->ipfix = &ipfix;
		ct_ipfix_init(x->ipfix, 1);
		ct_ipfix_add_templates(x->ipfix, 0);
		ipfix_flush(x);
	}
	if (mode == BENCH_EXPORT_RECORDS)
		return 0;
	if (pthread_create(&x->thread, NULL, consumer, x) != 0)
		return -1;
	x->running = 1;
	return 0;
}

void
bench_export_stop(struct bench_export *x)
{
	if (x->running) {
		__atomic_store_n(&x->stop, 1, __ATOMIC_RELEASE);
		pthread_join(x->thread, NULL);
	}
	if (x->devnull != NULL)
		fclose(x->devnull);
	if (x->sock >= 0)
		close(x->sock);
	if (x->sink >= 0)
		close(x->sink);
	rte_ring_free(x->ring);
	x->ring = NULL;
}
