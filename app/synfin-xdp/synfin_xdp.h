/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SYNFIN_XDP_H
#define SYNFIN_XDP_H

/**
 * @file
 * synfin-xdp: the loader of bpf/ct_xdp.bpf.c. Its context (the skeleton, the options) and the
 * control side that reads the program's maps: the flows (conntrack -L lines and synfin's
 * --flows-json, through lib/report), the counters (summed over the CPUs, synfin's statistics
 * block) and the expiry sweep of idle flows.
 *
 * Thread-safety: one thread (the loader's main loop) does everything; the program runs on every
 * CPU meanwhile. Each flow is read whole under its bpf_spin_lock (BPF_F_LOCK).
 *
 * Design: the clock is milliseconds: CLOCK_MONOTONIC (bpf_ktime_get_ns()'s) when attached, the
 * capture's timestamps in a replay (bursts of --burst frames share their newest timestamp, and
 * the sweep runs after each burst, as synfin's worker loop does with --clock=packet).
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ct_report.h"
#include "ct_stats.h"
#include "ct_xdp.h"

struct ct_xdp;

/** Options and state of one run. */
struct sx {
	struct ct_xdp *skel;
	struct ct_xdp_conf conf;
	const char *iface;      /**< --iface, or NULL */
	const char *replay;     /**< --replay FILE.pcap, or NULL */
	const char *flows_json; /**< --flows-json PATH, or NULL */
	bool show_flows;        /**< --show-flows at exit */
	bool skb_mode;          /**< --generic: generic (skb) XDP from the start */
	bool interactive;       /**< -i: commands on stdin */
	uint32_t table_size;    /**< flow map entries */
	uint32_t stats_period;  /**< seconds between statistics, 0 = off */
	uint32_t duration;      /**< live: exit after this many seconds, 0 = never */
	uint32_t burst;         /**< replay: frames that share a clock tick */
	uint32_t repeat;        /**< replay: BPF_PROG_TEST_RUN repeat per frame (benchmark) */
	int cpu;                /**< replay: CPU to run on, -1 = any */
	int ifindex;
	uint32_t xdp_flags;                 /**< as attached */
	uint64_t now;                       /**< clock (ms) as last seen by the loader */
	uint64_t swept;                     /**< flows the sweep expired (added to flows_expired) */
	struct ct_lcore_stats short_frames; /**< replay: frames under 14 bytes, counted here */
	struct ct_lcore_stats base;         /**< `clear stats` baseline */
	struct ct_lcore_stats prev;         /**< last printed block's counters (rates) */
	uint64_t prev_ns;
	double ns_per_pkt; /**< replay with repeat: the kernel's figure */
};

/** Sum the per-CPU counters (plus the sweep's expirations) into @p out. @return 0 or -errno. */
int sx_stats_sum(struct sx *sx, struct ct_lcore_stats *out, uint64_t *busy, uint64_t *drops);
/** Print synfin's statistics block. */
void sx_show_stats(struct sx *sx, FILE *f);
/** Print every flow conntrack -L style, then "N flows shown". */
void sx_show_flows(struct sx *sx, FILE *f);
/** Write every flow as synfin's --flows-json array. @return 0 or -errno (message printed). */
int sx_flows_json_write(struct sx *sx, const char *path);
/** Delete the flows due at @p now (ms). @return how many. */
unsigned int sx_sweep(struct sx *sx, uint64_t now);

#endif /* SYNFIN_XDP_H */
