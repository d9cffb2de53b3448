/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SYNFIN_H
#define SYNFIN_H

/**
 * @file
 * The synfin application: its context (configuration, ports, per-lcore workers, run flags) and
 * the control operations that the command line (cmdline*.c) and telemetry call.
 *
 * Thread-safety: the worker lcores own their flow tables and counters; every control operation
 * (sf_show_*, sf_set_*, sf_clear_stats, sf_flush_flows, sf_start/stop/quit) may be called from
 * any non-worker thread (the CLI thread, DPDK's telemetry thread, the main lcore). Reads go
 * through the flow table's reader API after the calling thread registers (once, lazily) as a
 * QSBR reader of each table; every change to a worker's state (flush, timeouts, stop/start) is a
 * request the worker runs itself between bursts and acknowledges (ct_worker_call()), so no
 * thread but the worker ever writes its state.
 *
 * Design: control operations print to the FILE they are given, return 0 or a negative errno and,
 * on bad input, print exactly one line "<what>: <reason>" to that FILE.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>
#include <rte_config.h>
#include <rte_ethdev.h>

#include "ct_parse.h"
#include "ct_report.h"
#include "ct_stats.h"
#include "ct_l4.h"
#include "ct_tcp.h"
#include "ct_worker.h"

struct ct_worker;
struct rte_mempool;

/** Port id meaning "every port" for sf_show_port_stats(); ports are 0 .. SF_PORT_ALL - 1. */
#define SF_PORT_ALL RTE_MAX_ETHPORTS

/** Most (port, queue) pairs one lcore polls. */
#define SF_MAX_RXQ_PER_LCORE 32

/** Largest RX burst. */
#define SF_BURST_MAX 64

/** Default RX burst. */
#define SF_BURST_DEFAULT 32

/** Default flow-end records per lcore ring (128 bytes each: 2 MiB). */
#define SF_EXPORT_RING_DEFAULT 16384

/** Default seconds between IPFIX template refreshes. */
#define SF_IPFIX_TEMPLATE_S_DEFAULT 60

/** Default flow table size per lcore. */
#define SF_TABLE_SIZE_DEFAULT 65536

/**
 * What is done with packets after tracking. X-macro (suffix, word, help): the word is what the
 * `mode` key and --mode take (config_keys.h), in enum order.
 */
#define SF_MODES(X)                                                                                \
	X(MONITOR, "monitor", "count and free every packet")                                       \
	X(INLINE, "inline", "forward to the paired port (0<->1, 2<->3, ...)")

enum sf_mode {
#define X(e, w, h) SF_MODE_##e,
	SF_MODES(X)
#undef X
	        SF_MODE_MAX
};

/** Where the tracker's clock (1 tick = 1 ms) comes from. X-macro as SF_MODES (`clock` key). */
#define SF_CLOCKS(X)                                                                               \
	X(TSC, "tsc", "rte_rdtsc() converted to ms")                                               \
	X(PACKET, "packet", "RX timestamps (capture time for pcap replay)")

enum sf_clock {
#define X(e, w, h) SF_CLOCK_##e,
	SF_CLOCKS(X)
#undef X
	        SF_CLOCK_MAX
};

/** PATH rows of SF_CONFIG_KEYS at most (config.c checks). */
#define SF_CONFIG_PATH_KEYS_MAX 8

/**
 * Configuration: defaults, then the config file, then the command line. Every field a user sets
 * is a row of SF_CONFIG_KEYS (config_keys.h), which gives its name, type and limits.
 */
struct sf_config {
	enum sf_mode mode;
	enum sf_clock clock;
	bool drop_invalid;         /**< inline mode: drop INVALID segments */
	bool vlan_key;             /**< key flows by outer VLAN id too */
	uint16_t burst;            /**< RX burst size (1 .. SF_BURST_MAX) */
	uint16_t rxq;              /**< RX queues per port */
	uint32_t table_size;       /**< flows per lcore */
	uint32_t stats_period;     /**< seconds between stats prints, 0 = off */
	uint32_t idle_exit_ms;     /**< exit after this long without packets, 0 = never */
	const char *config_file;   /**< --config, or NULL */
	const char *flows_json;    /**< --flows-json, or NULL */
	const char *cmdline_file;  /**< --cmdline-file, or NULL */
	const char *flow_log;      /**< --flow-log FILE ('-': stdout), or NULL */
	const char *ipfix;         /**< --ipfix HOST:PORT, or NULL */
	uint32_t export_ring;      /**< flow-end records per lcore ring */
	uint32_t ipfix_template_s; /**< seconds between IPFIX template refreshes */
	bool interactive;          /**< -i */
	bool show_flows;           /**< --show-flows: list the flows at exit (command line only) */
	struct ct_tcp_conf tcp;    /**< FSM configuration and timeouts (shared by every worker) */
	struct ct_l4_conf l4;      /**< UDP/ICMP/other timeouts (copied by every worker) */
	/** the copies of PATH values the config file loader made (one per key) */
	struct sf_config_copy {
		const void *key; /**< its row in sf_config_keys[] */
		char *s;
	} file_copy[SF_CONFIG_PATH_KEYS_MAX];
};

/** One polled RX queue. */
struct sf_rxq {
	uint16_t port;
	uint16_t queue;
};

/** How long a control operation waits for a worker to take its request. */
#define SF_CALL_TIMEOUT_MS 2000

/**
 * The application's own per-lcore counters, one list: L(field, help) for the lcore as a whole,
 * P(field, help) for each port it polls or sends on (synfin's own port totals: a device that
 * zeroes its counters, as net_memif does when its peer goes away, does not zero these).
 */
#define SF_APP_COUNTERS(L, P)                                                                      \
	L(tx_pkts, "packets forwarded (inline mode)")                                              \
	L(tx_dropped, "packets dropped: TX full or INVALID with --drop-invalid")                   \
	P(rx_pkts, "packets received on the port")                                                 \
	P(rx_bytes, "bytes received on the port (frame length)")                                   \
	P(tx_pkts, "packets sent on the port (inline mode)")                                       \
	P(tx_bytes, "bytes sent on the port (frame length)")

/** Leaves an entry of SF_APP_COUNTERS out. */
#define SF_COUNTER_NONE(n, h)
/** The lcore-wide counters of SF_APP_COUNTERS: X(field, help). */
#define SF_LCORE_COUNTERS(X) SF_APP_COUNTERS(X, SF_COUNTER_NONE)
/** The per-port counters of SF_APP_COUNTERS: X(field, help). */
#define SF_PORT_COUNTERS(X) SF_APP_COUNTERS(SF_COUNTER_NONE, X)

/** One lcore's counters of one port (32 bytes: one cache line holds two ports). */
struct sf_port_stats {
#define X(n, h) uint64_t n;
	SF_PORT_COUNTERS(X)
#undef X
};

/** Counters of one lcore kept by the application (plain, written by the lcore only). */
struct sf_lcore_stats {
#define X(n, h) uint64_t n;
	SF_LCORE_COUNTERS(X)
#undef X
	struct sf_port_stats port[RTE_MAX_ETHPORTS]; /**< by port id */
};

/** Counters as last printed, for the per-second rates beside the totals (control side). */
struct sf_rate_sample {
	uint64_t port_tsc[RTE_MAX_ETHPORTS];         /**< when port[p] was taken, 0: never */
	struct sf_port_stats port[RTE_MAX_ETHPORTS]; /**< ports summed over the lcores */
	uint64_t tracker_tsc;                        /**< when tracker was taken, 0: never */
	struct ct_lcore_stats tracker;               /**< tracker counters summed */
};

/** Who prints: each keeps its own previous sample, so one's rates do not disturb another's. */
enum sf_rate_user {
	SF_RATE_PERIODIC = 0, /**< --stats-period and the final statistics (main lcore) */
	SF_RATE_CLI,          /**< show stats / show port stats (command line thread) */
	SF_RATE_MAX
};

/** Per worker lcore context (written by its lcore; read by control threads). */
struct sf_lcore {
	unsigned int lcore_id;
	unsigned int idx;         /**< 0 .. nb_lcores - 1 */
	struct ct_worker *w;      /**< tracker: table, counters, flows per state */
	struct rte_ring *records; /**< flow-end records to the exporter, or NULL (export off) */
	struct sf_rxq rxq[SF_MAX_RXQ_PER_LCORE];
	unsigned int nb_rxq;
	uint16_t txq;                   /**< TX queue this lcore uses on every port (inline mode) */
	bool forwarding;                /**< polls RX (written by the lcore, on request) */
	uint64_t last_rx_tsc;           /**< TSC of the last non-empty RX burst (or start) */
	uint64_t now;                   /**< current tick as the worker last saw it */
	struct sf_lcore_stats app;      /**< the application's counters of this lcore */
	struct ct_lcore_stats base;     /**< tracker counters at the last `clear stats` (control) */
	struct sf_lcore_stats app_base; /**< and the application's */
} __rte_cache_aligned;

/** Application context. */
struct synfin {
	struct sf_config cfg;
	uint16_t nb_ports;                            /**< ports in use: 0 .. nb_ports - 1 */
	uint16_t nb_rxq[RTE_MAX_ETHPORTS];            /**< RX queues configured per port */
	uint16_t nb_txq[RTE_MAX_ETHPORTS];            /**< TX queues configured per port */
	bool rss[RTE_MAX_ETHPORTS];                   /**< symmetric RSS enabled on the port */
	struct rte_mempool *pool[RTE_MAX_NUMA_NODES]; /**< mbuf pool per socket */
	int ts_dynfield;                              /**< RX timestamp dynfield offset, or -1 */
	uint64_t ts_div;                              /**< RX timestamp units per clock tick */
	unsigned int nb_lcores;                       /**< worker contexts in lcores[] */
	struct sf_lcore lcores[RTE_MAX_LCORE];
	unsigned int single;    /**< 1: the main lcore is the only worker */
	bool forwarding;        /**< workers were last told to poll RX (start/stop) */
	volatile bool quit;     /**< leave every loop (signal, quit, idle) */
	volatile int exit_code; /**< process exit status once quit is set */
	bool cli_busy;          /**< the command line thread is running */
	uint64_t start_tsc;     /**< TSC at start of forwarding */
	uint64_t stats_tsc;     /**< TSC of the last periodic stats print */
	uint32_t reader_ids;    /**< QSBR reader ids handed out so far */
	struct rte_eth_stats port_base[RTE_MAX_ETHPORTS]; /**< port counters at `clear stats` */
	struct sf_rate_sample rate[SF_RATE_MAX]; /**< previous samples, per printer (control) */
};

/* ---- control operations (control.c): 0 or -errno; one error line on bad input ---- */

/** Print the tracker counters (summed over lcores), flows per state, non-zero reasons. */
int sf_show_stats(struct synfin *sf, FILE *f);
/**
 * Print NIC counters of @p port, or of every port when @p port is SF_PORT_ALL.
 * @return 0, or -ENODEV for a port that is not in use.
 */
int sf_show_port_stats(struct synfin *sf, FILE *f, uint16_t port);
/** Print each worker lcore: its queues, flows, packets. */
int sf_show_lcores(struct synfin *sf, FILE *f);
/**
 * List flows conntrack -L style.
 * @param state  enum ct_state to keep only that state, or -1 for all
 * @param limit  most lines, 0 = no limit
 * @return 0, or -EINVAL for a bad state.
 */
int sf_show_flows(struct synfin *sf, FILE *f, int state, uint32_t limit);
/**
 * Print one flow (either direction's 4-tuple finds it), conntrack -L style plus details.
 * @return 0, or -ENOENT when no lcore tracks it.
 */
int sf_show_flow(struct synfin *sf, FILE *f, const struct ct_flow_key *key);
/** Print the configuration in effect (timeouts included). */
int sf_show_config(struct synfin *sf, FILE *f);
/**
 * Set a conntrack state's timeout.
 * @param state  state name (as ct_state_parse() takes it)
 * @param ms     milliseconds (1 .. CT_WORKER_TIMEOUT_MS_MAX)
 * @return 0, -EINVAL for an unknown state, -ERANGE for a bad value.
 */
int sf_set_timeout(struct synfin *sf, const char *state, uint32_t ms);
/** Set the periodic stats print period (0 = off). @return 0. */
int sf_set_stats_period(struct synfin *sf, uint32_t s);
/** Zero the counters shown (tracker and ports). @return 0. */
int sf_clear_stats(struct synfin *sf);
/** Delete every flow on every lcore. @return 0, or -ETIMEDOUT if a worker did not answer. */
int sf_flush_flows(struct synfin *sf);
/** Start polling RX. @return 0, or -EALREADY. */
int sf_start(struct synfin *sf);
/** Stop polling RX (flows and counters kept). @return 0, or -EALREADY. */
int sf_stop(struct synfin *sf);
/** Ask the application to exit (status 0). */
void sf_quit(struct synfin *sf);

/* ---- command line (cmdline.c) ---- */

/**
 * Run the command line: interactive on stdin when @p file is NULL, else the commands of @p file.
 * @return 0, or a negative errno when the file cannot be read.
 */
int sf_cmdline_run(struct synfin *sf, const char *file);

/* ---- application internals ---- */

/** config.c: defaults into @p cfg. */
void sf_config_defaults(struct sf_config *cfg);
/** config.c: load an INI file over @p cfg. @return 0, or -EINVAL (one message printed). */
int sf_config_load(struct sf_config *cfg, const char *path);
/**
 * config.c: free the strings sf_config_load() copied (the PATH values of the file), which
 * @p cfg's fields may point to; those fields are left NULL.
 */
void sf_config_release(struct sf_config *cfg);
/** config.c: print every file key as the file takes it (INI, `show config`). */
void sf_config_print(const struct sf_config *cfg, FILE *f);

/** ports.c: configure and start every port. @return 0 or -errno (message printed). */
int sf_ports_init(struct synfin *sf);
/** ports.c: stop and close every port. */
void sf_ports_close(struct synfin *sf);

/** lcore.c: create workers and assign queues. @return 0 or -errno (message printed). */
int sf_lcores_init(struct synfin *sf);
/** lcore.c: run until quit (launches workers, runs the main lcore's share). */
void sf_lcores_run(struct synfin *sf);
/** lcore.c: free workers. */
void sf_lcores_free(struct synfin *sf);
/** lcore.c: periodic control work (stats, idle exit); called from the main lcore's loop. */
void sf_control_poll(struct synfin *sf, uint64_t tsc);
/** lcore.c: true once no RX burst returned packets for @p ms milliseconds on any lcore. */
bool sf_idle_for(struct synfin *sf, uint64_t ms);

/** control.c: print every port's stats and the tracker's block (periodic and final). */
void sf_print_all_stats(struct synfin *sf, FILE *f);
/** control.c: reader id of the calling thread (registered on every table on first use). */
int sf_reader_id(struct synfin *sf);
/**
 * control.c: sum every lcore's counters (minus the `clear stats` baseline when @p since_clear);
 * @p app (may be NULL) gets the application's, per port included.
 */
void sf_stats_sum(struct synfin *sf, struct ct_lcore_stats *out, struct sf_lcore_stats *app,
                  bool since_clear);

/**
 * control.c: call @p cb for every tracked flow of every lcore (reader API, QSBR-registered).
 * @return 0, or the first non-zero value @p cb returned (the walk stops there).
 */
/** A flow as the table's reader API copies it: the record and, with export on, its cold part. */
struct sf_flow_copy {
	struct ct_flow flow;
	struct ct_flow_ext ext;
};

/** Callback of sf_flows_walk_raw(): one flow of lcore @p lc; nonzero stops the walk. */
typedef int (*sf_flow_raw_cb)(void *arg, const struct sf_lcore *lc, const struct ct_flow_key *k,
                              const struct sf_flow_copy *c);

/** Walk every lcore's flows as the reader API copies them (any non-worker thread). */
int sf_flows_walk_raw(struct synfin *sf, sf_flow_raw_cb cb, void *arg);

/** The report view of a flow of lcore @p lc (time left from its worker's clock). */
void sf_flow_info(const struct sf_lcore *lc, const struct ct_flow_key *k, const struct ct_flow *f,
                  struct ct_report_flow *fi);

/** Whether flow-end records are on (--flow-log or --ipfix). */
static inline bool
sf_export_on(const struct synfin *sf)
{
	return sf->cfg.flow_log != NULL || sf->cfg.ipfix != NULL;
}

/**
 * The exporter (export.c): sf_export_start() opens --flow-log and --ipfix's socket and starts
 * the thread that drains every lcore's records ring (after sf_lcores_init()); sf_export_stop()
 * (after the workers stopped) drains the rings, writes a record for every flow still open
 * (end reason shutdown), prints one summary line and closes. @return 0 or a negative errno (one
 * message printed).
 */
int sf_export_start(struct synfin *sf);
/** Check the export options' syntax before EAL starts (one message). @return 0 or -EINVAL. */
int sf_export_check(const struct sf_config *cfg);
void sf_export_stop(struct synfin *sf);

/** Unix time in milliseconds of worker tick @p tick (the TSC or the packet clock). */
uint64_t sf_clock_unix_ms(const struct synfin *sf, uint64_t tick);

int sf_flows_walk(struct synfin *sf, int (*cb)(void *arg, const struct ct_report_flow *fi),
                  void *arg);

/** control.c: flows per class, summed over the workers, into @p n (CT_CLASS_MAX entries). */
void sf_flows_by_state(struct synfin *sf, uint64_t *n);

/** flows_json.c: write every flow as a JSON array. @return 0 or -errno (message printed). */
int sf_flows_json_write(struct synfin *sf, const char *path);

/** telemetry.c: register /synfin/ commands. */
int sf_telemetry_init(struct synfin *sf);

#endif /* SYNFIN_H */
