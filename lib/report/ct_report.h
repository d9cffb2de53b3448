/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_REPORT_H
#define CT_REPORT_H

/**
 * @file
 * What a tracker prints: one flow conntrack -L style (`show flows`), one flow as a JSON object
 * (--flows-json) and the tracker statistics block (`show stats`, periodic and final), so that
 * every tracker built on lib/tcp (synfin on DPDK, synfin-xdp in the kernel's XDP hook) prints
 * them alike and their outputs can be compared line by line.
 *
 * Thread-safety: stateless; the caller owns the FILE and the values printed.
 *
 * Design: the caller fills a struct ct_report_flow (or the statistics arguments) from its own
 * records; these functions only format. No EAL dependency.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ct_stats.h"
#include "ct_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A tracked flow as the control plane shows it (orig = the client's direction). */
struct ct_report_flow {
	char src[48];         /**< client address */
	char dst[48];         /**< server address */
	uint16_t sport;       /**< client port, host order */
	uint16_t dport;       /**< server port, host order */
	uint8_t state;        /**< enum ct_state */
	uint8_t client_state; /**< enum ct_tcp_state */
	uint8_t server_state; /**< enum ct_tcp_state */
	bool picked_up;
	bool assured;
	uint16_t vlan;
	uint64_t pkts[CT_DIR_MAX];
	uint64_t bytes[CT_DIR_MAX];
	uint32_t invalid;
	uint32_t expires_in_s; /**< seconds left before the flow's timeout (0: due) */
	unsigned int lcore;    /**< lcore id of the owning worker (CPU for synfin-xdp) */
};

/** Print @p fi as one conntrack -L line (`show flows`). */
void ct_report_flow_line(FILE *f, const struct ct_report_flow *fi);

/**
 * Print @p fi as one object of the --flows-json array: a newline and two spaces first, and a
 * comma before that unless @p first.
 */
void ct_report_flow_json(FILE *f, const struct ct_report_flow *fi, bool first);

/** The figures of one statistics block besides the counters. */
struct ct_report_stats {
	const struct ct_lcore_stats *s; /**< counters (summed, since `clear stats`) */
	const struct ct_lcore_stats *d; /**< counters' change since the last block (rates) */
	double seconds;                 /**< time the change took (0: no rates) */
	const uint64_t *by_state;       /**< flows per conntrack state, CT_S_MAX entries */
	uint64_t capacity;              /**< flows the tables hold */
	bool show_tx;                   /**< print the TX line (inline mode) */
	uint64_t tx_pkts, tx_dropped;   /**< for the TX line */
};

/** Print the tracker statistics block of @p r. */
void ct_report_stats_block(FILE *f, const struct ct_report_stats *r);

#ifdef __cplusplus
}
#endif

#endif /* CT_REPORT_H */
