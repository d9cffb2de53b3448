/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SF_CONFIG_KEYS_H
#define SF_CONFIG_KEYS_H

/**
 * @file
 * synfin's configuration keys: one row per key in SF_CONFIG_KEYS, the only place that names a
 * key, its option, type, limits and field. config.c turns the rows into sf_config_keys[], from
 * which the INI loader, the getopt options and --help (main.c), `show config`, telemetry's
 * /synfin/config and the limits of the CLI's `set` commands are all generated; adding a key is
 * adding its row.
 *
 * Thread-safety: the table is constant. sf_config_key_set() writes the configuration without
 * atomics (startup only); sf_config_key_value() and sf_config_key_format() load 32-bit fields
 * with relaxed atomics, as the CLI's `set` commands store them while telemetry reads.
 *
 * Design: expand the list by defining SF_KEY(section, key, option, type, min, max, field, help)
 * and then writing SF_CONFIG_KEYS (columns below). The [timeouts] rows come from lib/tcp's
 * CT_STATES X-macro, NONE excluded, and lib/l4's CT_L4_TIMEOUTS, so a new conntrack state or L4
 * timeout gets its key by itself.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct_l4.h"
#include "ct_tcp.h"
#include "ct_worker.h"
#include "synfin.h"

/*
 * Columns of a row:
 *   section  INI section (an identifier); `cmdline` marks a command-line-only row
 *   key      INI key (an identifier); the [timeouts] rows are named by their state's or L4
 *            timeout's enum suffix and match any spelling sf_config_timeout_parse() takes
 *            ("time_wait", "TIME-WAIT", "udp_stream")
 *   option   long option without "--" (a one-letter option is the short "-i"); NULL marks a
 *            file-only row. Rows sharing one option take KEY=VALUE (--timeout STATE=T)
 *   type     U32     a number in min..max (decimal, 0x hex or 0 octal), into a 16/32-bit field
 *            BOOL    yes/no, true/false, on/off, 1/0; an option sets it, --no-<option> clears it
 *            ENUM(L) a word of the X-macro L (suffix, word, help), in enum order; min..max are
 *                    the enum's 0..MAX-1
 *            TIMEOUT a duration in milliseconds, min..max: "240" or "0.5" (seconds, at most 3
 *                    decimals) or "50ms"
 *            PATH    a file name or address, kept by reference (the file loader keeps a
 *                    copy)
 *   min, max the range of U32 and TIMEOUT values (0, 1 for BOOL, 0, 0 for PATH)
 *   field    the member of struct sf_config it sets
 *   help     one line for --help (U32 and TIMEOUT ranges are appended to it)
 */
/* clang-format off */
#define SF_CONFIG_KEYS                                                                             \
	/*     section  key           option          type             min  max                    \
	 *     field         help */                                                               \
	SF_KEY(cmdline, config,       "config",       PATH,            0,   0,                     \
	       config_file, "INI configuration file (config/synfin.conf); options override it")    \
	SF_KEY(general, mode,         "mode",         ENUM(SF_MODES),  0,   SF_MODE_MAX - 1,       \
	       mode, "monitor: count and free; inline: forward 0<->1, 2<->3")                      \
	SF_KEY(general, clock,        "clock",        ENUM(SF_CLOCKS), 0,   SF_CLOCK_MAX - 1,      \
	       clock, "tracker clock: TSC or RX timestamps (pcap replay)")                         \
	SF_KEY(general, burst,        "burst",        U32,             1,   SF_BURST_MAX,          \
	       burst, "RX burst size")                                                             \
	SF_KEY(general, table_size,   "table-size",   U32,             1,   1u << 29,              \
	       table_size, "flows per lcore")                                                      \
	SF_KEY(general, stats_period, "stats-period", U32,             0,   86400,                 \
	       stats_period, "print statistics every N seconds, 0: off")                           \
	SF_KEY(general, drop_invalid, "drop-invalid", BOOL,            0,   1,                     \
	       drop_invalid, "inline: drop INVALID segments")                                      \
	SF_KEY(general, vlan_key,     "vlan-key",     BOOL,            0,   1,                     \
	       vlan_key, "key flows by outer VLAN id too")                                         \
	SF_KEY(tcp,     loose,        "loose",        BOOL,            0,   1,                     \
	       tcp.loose, "pick up flows mid-stream from a plain ACK (default on)")                \
	SF_KEY(tcp,     liberal,      "liberal",      BOOL,            0,   1,                     \
	       tcp.liberal, "skip TCP window checks")                                              \
	SF_KEY(tcp,     predict,      "predict",      BOOL,            0,   1,                     \
	       tcp.predict, "header prediction of in-order established segments (default on)")    \
	CT_STATES(SF_KEYS_TIMEOUT_ROW) /* [timeouts]: one row per state but NONE */                \
	CT_L4_TIMEOUTS(SF_KEYS_L4_TIMEOUT_ROW) /* [timeouts]: udp, udp_stream, icmp, generic */    \
	SF_KEY(ports,   rxq,          "rxq",          U32,             1,   SF_MAX_RXQ_PER_LCORE,  \
	       rxq, "RX queues per port, spread by symmetric RSS")                                 \
	SF_KEY(export,  flow_log,     "flow-log",     PATH,            0,   0,                     \
	       flow_log, "write a JSON line per ended flow to FILE ('-': stdout)")                 \
	SF_KEY(export,  ipfix,        "ipfix",        PATH,            0,   0,                     \
	       ipfix, "export ended flows as IPFIX over UDP to HOST:PORT")                         \
	SF_KEY(export,  ring_size,    "export-ring",  U32,             64,  1u << 20,              \
	       export_ring, "flow-end records queued per lcore before the exporter drops them")    \
	SF_KEY(export,  template_period, "ipfix-template-period", U32, 1,   3600,                  \
	       ipfix_template_s, "seconds between IPFIX template refreshes")                       \
	SF_KEY(cmdline, idle_exit,    "idle-exit",    U32,             1,   UINT32_MAX,            \
	       idle_exit_ms, "exit once no packet arrived for N milliseconds")                     \
	SF_KEY(cmdline, flows_json,   "flows-json",   PATH,            0,   0,                     \
	       flows_json, "write the tracked flows as JSON at exit")                              \
	SF_KEY(cmdline, show_flows,   "show-flows",   BOOL,            0,   1,                     \
	       show_flows, "list the tracked flows at exit (as `show flows`)")                     \
	SF_KEY(cmdline, interactive,  "i",            BOOL,            0,   1,                     \
	       interactive, "interactive command line")                                            \
	SF_KEY(cmdline, cmdline_file, "cmdline-file", PATH,            0,   0,                     \
	       cmdline_file, "run the commands of FILE (then -i if given)")

/* One [timeouts] row per conntrack state but NONE (the state no flow is in). */
#define SF_KEYS_TIMEOUT_ROW(e, s)                                                                  \
	SF_KEYS_UNLESS_NONE(e,                                                                     \
	SF_KEY(timeouts, e,           "timeout",      TIMEOUT,      1, CT_WORKER_TIMEOUT_MS_MAX,   \
	       tcp.timeouts.ms[CT_S_##e], "idle timeout of a conntrack state, repeatable"))
/* One [timeouts] row per timeout of the non-TCP flows (lib/l4, Linux's names and defaults). */
#define SF_KEYS_L4_TIMEOUT_ROW(e, n, s, src)                                                       \
	SF_KEY(timeouts, e,           "timeout",      TIMEOUT,      1, CT_WORKER_TIMEOUT_MS_MAX,   \
	       l4.ms[CT_L4T_##e], "idle timeout of a UDP/ICMP/other flow class, as Linux's " src)
/* clang-format on */

/*
 * SF_KEYS_UNLESS_NONE(e, ...): the arguments, or nothing when e is NONE. SF_KEYS_PROBE_##e is
 * two arguments (~, 1) only for NONE, which shifts the 1 into the second place.
 */
#define SF_KEYS_PROBE_NONE     ~, 1
#define SF_KEYS_2ND(a, b, ...) b
#define SF_KEYS_2ND_(...)      SF_KEYS_2ND(__VA_ARGS__)
#define SF_KEYS_CAT(a, b)      SF_KEYS_CAT_(a, b)
#define SF_KEYS_CAT_(a, b)     a##b
#define SF_KEYS_IF_0(...)      __VA_ARGS__
#define SF_KEYS_IF_1(...)      /* NONE: no row */
#define SF_KEYS_UNLESS_NONE(e, ...)                                                                \
	SF_KEYS_CAT(SF_KEYS_IF_, SF_KEYS_2ND_(SF_KEYS_PROBE_##e, 0, ~))(__VA_ARGS__)

/** Index of the row [section] key in sf_config_keys[], e.g. SF_KEY_ID(general, stats_period). */
#define SF_KEY_ID(section, key) SF_KEY_##section##_##key

/** Row indexes, in row order. */
enum sf_key_id {
#define SF_KEY(sec, key, ...) SF_KEY_ID(sec, key),
	SF_CONFIG_KEYS
#undef SF_KEY
	        SF_KEY_ID_MAX
};

/** Value types of the rows (the `type` column). */
enum sf_key_type { SF_KT_U32 = 0, SF_KT_BOOL, SF_KT_ENUM, SF_KT_TIMEOUT, SF_KT_PATH, SF_KT_MAX };

/** One row, as config.c builds it. */
struct sf_config_key {
	const char *section; /**< INI section, "cmdline" for command-line-only rows */
	const char *key;     /**< INI key; a [timeouts] row: the state's name as ct_state_name() */
	const char *option;  /**< long option without "--" (1 letter: short option) or NULL */
	enum sf_key_type type;
	const char *words; /**< ENUM: its words, space separated, in enum order; else NULL */
	uint32_t min, max; /**< U32, TIMEOUT (ms): accepted range */
	size_t offset;     /**< of the field in struct sf_config */
	size_t size;       /**< of the field */
	const char *help;  /**< --help line */
};

/** The rows, indexed by enum sf_key_id. */
extern const struct sf_config_key sf_config_keys[SF_KEY_ID_MAX];

/** true when @p k is a key of the file (not command-line-only). */
bool sf_config_key_in_file(const struct sf_config_key *k);

/**
 * The timeout a [timeouts] row sets, as sf_config_timeout_parse() returns it (enum ct_state, or
 * CT_WORKER_L4_TIMEOUT(enum ct_l4_timeout)), or -1 for any other row.
 */
int sf_config_key_state(const struct sf_config_key *k);

/**
 * A timeout's name: a conntrack state but NONE (any spelling ct_state_parse() takes) or an L4
 * timeout (ct_l4_timeout_parse(): udp, udp_stream, icmp, generic).
 * @return the enum ct_state, CT_WORKER_L4_TIMEOUT(t), or -EINVAL.
 */
int sf_config_timeout_parse(const char *name);

/** The timeout names, lower case, space separated, into @p buf. @return as snprintf(). */
int sf_config_timeout_names(char *buf, size_t size);

/**
 * The file row [section] key (a [timeouts] key is matched as sf_config_timeout_parse() reads
 * timeout names; any other key exactly). Command-line-only rows are never found.
 * @return the row, or NULL.
 */
const struct sf_config_key *sf_config_key_lookup(const char *section, const char *key);

/**
 * Parse @p value as row @p k takes it (not PATH), without storing or printing anything.
 * @param v  the value: U32 number, BOOL 0/1, ENUM index, TIMEOUT milliseconds
 * @return 0, -EINVAL when the text is not of the row's type, -ERANGE when it is but lies
 *         outside min..max.
 */
int sf_config_key_parse(const struct sf_config_key *k, const char *value, uint32_t *v);

/**
 * Set row @p k of @p cfg from @p value. On a bad value prints one line to stderr:
 * "synfin: <what>: '<value>' is not <what the row takes>".
 * @return 0, or -EINVAL.
 */
int sf_config_key_set(struct sf_config *cfg, const struct sf_config_key *k, const char *value,
                      const char *what);

/** Value of row @p k in @p cfg: U32 number, BOOL 0/1, ENUM index, TIMEOUT ms, PATH 0. */
uint64_t sf_config_key_value(const struct sf_config *cfg, const struct sf_config_key *k);

/**
 * Write the value of row @p k as the file takes it ("monitor", "yes", "240", "0.05"; PATH: the
 * path or "") into @p buf. @return what snprintf() returns.
 */
int sf_config_key_format(const struct sf_config *cfg, const struct sf_config_key *k, char *buf,
                         size_t size);

/**
 * Write the range of a U32 or TIMEOUT row ("1..64", "0.001..2147483 s"), empty for the other
 * types, into @p buf. @return what snprintf() returns.
 */
int sf_config_key_range(const struct sf_config_key *k, char *buf, size_t size);

#endif /* SF_CONFIG_KEYS_H */
