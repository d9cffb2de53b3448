/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BENCH_EXPORT_H
#define BENCH_EXPORT_H

/**
 * @file
 * synfin-bench --export MODE: a ring of flow-end records for the worker and a consumer thread
 * that drains it as synfin's exporter would (bench_export.c).
 */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "ct_worker.h"

enum {
	BENCH_EXPORT_NONE,
	BENCH_EXPORT_RECORDS,
	BENCH_EXPORT_RING,
	BENCH_EXPORT_JSON,
	BENCH_EXPORT_IPFIX,
	BENCH_EXPORT_MAX
};

struct ct_ipfix;

struct bench_export {
	int mode;
	struct rte_ring *ring; /* NULL: no records */
	FILE *devnull;
	int sock, sink;
	struct ct_ipfix *ipfix;
	pthread_t thread;
	int running, stop;
	uint64_t consumed; /* records taken off the ring */
	uint64_t msgs;     /* IPFIX messages sent */
};

/** The mode named @p s (none, ring, json, ipfix), or -1. */
int bench_export_mode(const char *s);
const char *bench_export_name(int mode);

/** Create the ring of @p ring records and start the consumer (mode none: nothing). @return 0/-1. */
int bench_export_start(struct bench_export *x, int mode, unsigned int ring);

/** Drain what is left, stop the consumer, free the ring. */
void bench_export_stop(struct bench_export *x);

#endif /* BENCH_EXPORT_H */
