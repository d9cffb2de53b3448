/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SYNFIN_XDP_H
#define SYNFIN_XDP_H

/**
 * @file
 * synfin-xdp: the loader of bpf/ct_xdp.bpf.c. Its context (the skeleton, the options) and the
 * control side that reads the program's maps: the flows (conntrack -L lines and synfin's
 * --flows-json, through lib/report), the counters (summed over the CPUs, synfin's statistics
 * block) and the expiry sweep of idle flows (ctl.c); the commands of -i and of the --control
 * socket (cli.c).
 *
 * Thread-safety: one thread (the loader's main loop) does everything, commands of -i and of the
 * --control socket included; the program runs on every CPU (and every attached interface, one
 * shared flow map) meanwhile. Each flow is read whole under its bpf_spin_lock (BPF_F_LOCK).
 *
 * Design: the clock is milliseconds: CLOCK_MONOTONIC (bpf_ktime_get_ns()'s) when attached, the
 * capture's timestamps in a replay (bursts of --burst frames share their newest timestamp, and
 * the sweep runs after each burst, as synfin's worker loop does with --clock=packet).
 */

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ct_report.h"
#include "ct_stats.h"
#include "ct_xdp.h"

struct ct_xdp;

/** Most interfaces one run attaches to (--iface, repeated or a comma list). */
#define SX_IFACES_MAX 16

/** Most clients of --control at once (further ones are told so and closed). */
#define SX_CLIENTS_MAX 4

/** Longest command line (-i, --control). */
#define SX_LINE_MAX 256

/** One interface of --iface and how the program is attached there. */
struct sx_iface {
	const char *name;
	int ifindex;    /**< 0 until resolved */
	uint32_t flags; /**< XDP_FLAGS_* as attached; 0 while not attached */
};

/** One connection to the --control socket. */
struct sx_client {
	int fd;    /**< -1: slot free */
	FILE *out; /**< answers (a dup of fd) */
	size_t len;
	char buf[SX_LINE_MAX];
};

/** Options and state of one run. */
struct sx {
	struct ct_xdp *skel;
	struct ct_xdp_conf conf;
	struct sx_iface iface[SX_IFACES_MAX]; /**< --iface, in the order given */
	unsigned int nb_iface;
	const char *control; /**< --control PATH (a Unix socket for commands), or NULL */
	int ctl_fd;          /**< its listening socket, -1 if none */
	struct sx_client client[SX_CLIENTS_MAX];
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
	uint64_t now;           /**< clock (ms) as last seen by the loader */
	uint64_t swept;         /**< flows the sweep expired (added to flows_expired) */
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
/**
 * Print every flow conntrack -L style, then "N flows shown".
 * @param port  only the flows with this port at either end (host order); -1: every flow
 */
void sx_show_flows(struct sx *sx, FILE *f, int port);
/**
 * Print the flows as synfin's --flows-json array.
 * @param port  as sx_show_flows()'s
 * @param n     set to the number of flows printed (may be NULL)
 * @return 0, -ENOMEM (the map's keys could not be read), or -EIO (@p f has an error).
 */
int sx_flows_json(struct sx *sx, FILE *f, int port, uint64_t *n);
/** Write every flow as synfin's --flows-json array. @return 0 or -errno (message printed). */
int sx_flows_json_write(struct sx *sx, const char *path);
/** Delete the flows due at @p now (ms). @return how many. */
unsigned int sx_sweep(struct sx *sx, uint64_t now);

/**
 * Run one command line of -i or --control (show stats, show flows [port N] [json], clear
 * stats, help, quit), its answer on @p out. @return 1 for quit, else 0.
 */
int sx_command(struct sx *sx, const char *line, FILE *out);
/** Listen on --control PATH (a Unix stream socket, mode 0600). @return 0 or -errno (printed). */
int sx_control_open(struct sx *sx);
/** Fill @p p (room for 1 + SX_CLIENTS_MAX) with what the control socket waits for. @return n. */
unsigned int sx_control_pollfds(const struct sx *sx, struct pollfd *p);
/** Serve what poll() reported on the entries sx_control_pollfds() filled. @return 1 on quit. */
int sx_control_serve(struct sx *sx, const struct pollfd *p, unsigned int n);
/** Close the clients and the socket, and remove its path. */
void sx_control_close(struct sx *sx);

#endif /* SYNFIN_XDP_H */
