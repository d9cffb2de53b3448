/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_XDP_H
#define CT_XDP_H

/**
 * @file
 * What the XDP tracker (ct_xdp.bpf.c) and its loader (app/synfin-xdp) share: the flow map's
 * value, the per-CPU counters (struct ct_lcore_stats, the names of `show stats`) and the
 * configuration the loader writes into the program's read-only data before loading it.
 *
 * Thread-safety: a flow's value is shared by every CPU (the kernel's RSS is not symmetric, so the
 * two directions of a connection may run on two CPUs at once): its `busy` flag, taken and given
 * back under the value's bpf_spin_lock, makes the tracking of one segment exclusive; the FSM
 * itself runs on a copy outside the lock (the verifier allows no function call under a lock).
 * Counters are per CPU, summed by the loader.
 *
 * Design: the key is lib/parse's struct ct_flow_key (canonical, both directions one key), the
 * tracking state lib/tcp's struct ct_tcp, the clock milliseconds (bpf_ktime_get_ns() when
 * attached; the capture's timestamps, written by the loader before each BPF_PROG_TEST_RUN, in a
 * replay).
 */

#include <stdint.h>

#include <linux/bpf.h>

#include "ct_parse.h"
#include "ct_stats.h"
#include "ct_tcp.h"

/** Flow map entries unless the loader says otherwise (synfin's default table size). */
#define CT_XDP_FLOWS_DEFAULT 65536

/** Embryonic flows the eviction queue remembers, oldest first (a multiple of the map size). */
#define CT_XDP_EMB_QUEUE 65536

/** A flow's state: what one segment reads and writes (copied out and back under the lock). */
struct ct_xdp_state {
	struct ct_tcp tcp;          /**< lib/tcp's state (32 B) */
	uint64_t pkts[CT_DIR_MAX];  /**< accepted packets per direction */
	uint64_t bytes[CT_DIR_MAX]; /**< their L3 bytes */
	uint64_t last_seen;         /**< ms of the last accepted packet */
	uint32_t invalid;           /**< INVALID segments (saturates at 255, as synfin's) */
	uint16_t cpu;               /**< CPU that created the flow */
	uint8_t swapped;            /**< the client is key endpoint [1] */
	uint8_t pad;
};

/** Value of the flow map: one tracked connection. */
struct ct_xdp_flow {
	struct bpf_spin_lock lock; /**< guards busy and dead, and st while busy is clear */
	uint8_t busy;              /**< a CPU is tracking a segment of this flow */
	uint8_t dead;              /**< being deleted (DELETE, REOPEN, expiry, eviction) */
	uint8_t pad[2];
	struct ct_xdp_state st;
};

/** Per-CPU counters: synfin's, then the XDP tracker's own. */
struct ct_xdp_stats {
	struct ct_lcore_stats s; /**< the names of `show stats` */
	uint64_t busy_giveup;    /**< segments passed untracked: flow busy CT_XDP_SPIN_MAX tries */
	uint64_t xdp_drop;       /**< INVALID segments dropped (inline mode) */
} __attribute__((aligned(64)));

/** Configuration, set by the loader before the program is loaded (read-only data). */
struct ct_xdp_conf {
	struct ct_tcp_conf tcp; /**< FSM options and timeouts */
	uint8_t key_vlan;       /**< key flows by outer VLAN id too */
	uint8_t drop_invalid;   /**< inline mode: XDP_DROP INVALID segments */
	uint8_t replay_clock;   /**< the clock is ct_xdp_clock's now_ms, not bpf_ktime_get_ns() */
	uint8_t redirect;       /**< unused here (synfin_afxdp.bpf.c) */
};

/** Lock acquisitions tried before a segment is passed untracked (busy elsewhere that long). */
#define CT_XDP_SPIN_MAX 4096

#endif /* CT_XDP_H */
