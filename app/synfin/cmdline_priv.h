/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SF_CMDLINE_PRIV_H
#define SF_CMDLINE_PRIV_H

/**
 * @file
 * Internals of synfin's command line (cmdline.c, cmdline_show.c, cmdline_set.c) shared by its
 * files and by the unit test: the one CLI session, the command instances, the state-name token
 * and a one-line executor.
 *
 * Thread-safety: control thread only. The CLI session is a single static object because
 * librte_cmdline callbacks get no user context other than the instance's constant data.
 *
 * Design: every command is a cmdline_parse_inst_t whose help string reads
 * "<syntax>: <description>"; `help` prints these strings, so the command list can never disagree
 * with the parser. Callbacks print through sf_cli.out (a FILE *, stdout in the app) and flush
 * it, so their output interleaves correctly with what librte_cmdline writes to fd 1; control
 * operations get sf_cli_op_out(), a counting wrapper of it. Semantic
 * errors (unknown state, number out of range, failing control operation) print exactly one line
 * "<command>: <reason>" through sf_cli_error().
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cmdline_parse.h>
#include <cmdline_parse_string.h>

struct synfin;
struct cmdline;

/** Prompt of the interactive command line (also echoed before each command of a file). */
#define SF_CLI_PROMPT "synfin> "

/**
 * Longest command line accepted, in characters without the newline: librte_cmdline's line
 * editor (RDLINE_BUF_SIZE 512 in DPDK 22.11, private) holds 511 characters plus the newline.
 * Longer lines read from a file are refused whole, never truncated and run.
 */
#define SF_CLI_LINE_MAX 510

/** State of the one CLI session. */
struct sf_cli {
	struct synfin *sf;   /**< application the commands act on */
	FILE *out;           /**< where command output goes */
	struct cmdline *cl;  /**< current librte_cmdline object */
	unsigned int errors; /**< lines that failed (parse or semantic error) */
	size_t written;      /**< bytes the current control operation printed */
	bool quit;           /**< `quit` was run */
};

/** The CLI session (control thread only). */
extern struct sf_cli sf_cli;

/**
 * Print one error line "<cmd>: <message>" to sf_cli.out and count it.
 * @param cmd  command name, e.g. "set timeout"
 * @param fmt  printf format of the message (no newline)
 */
void sf_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * The FILE to hand to a control operation: it writes through to sf_cli.out and counts what the
 * operation printed (sf_cli.written, reset by this call), so sf_cli_done() knows whether the
 * operation already reported its error.
 */
FILE *sf_cli_op_out(void);

/** Flush the operation's FILE; @return bytes the operation printed since sf_cli_op_out(). */
size_t sf_cli_op_flush(void);

/**
 * Report a control operation's result: when @p ret < 0 and the operation printed nothing, one
 * error line naming @p cmd and the errno of -@p ret (an operation that reports its own error
 * line is not doubled). Flushes the operation's FILE and sf_cli.out.
 */
void sf_cli_done(const char *cmd, int ret);

/**
 * Look up a conntrack state by its name as ct_state_parse() takes it: "established",
 * "SYN_SENT", "syn-sent" (case-insensitive, '-' or '_'). NONE is not a state a user can name.
 * @return enum ct_state value, or -EINVAL.
 */
int sf_cli_state_lookup(const char *name);

/** Write the valid state names, space separated, into @p buf (ct_state_format_names()). */
void sf_cli_state_list(char *buf, size_t size);

/**
 * Token that takes one word and completes (TAB) to conntrack state names; the word is checked
 * by the command so a wrong name gets a message listing the valid ones.
 */
extern struct cmdline_token_ops sf_cli_token_state_ops;

/** Initializer of a state-name token storing into a cmdline_fixed_string_t field. */
#define SF_CLI_TOKEN_STATE_INITIALIZER(structure, field)                                           \
	{                                                                                          \
		.hdr = {.ops = &sf_cli_token_state_ops, .offset = offsetof(structure, field)},     \
		.string_data = {.str = NULL},                                                      \
	}

/** Command instances, in the order `help` lists them. */
extern cmdline_parse_inst_t sf_cli_show_stats;
extern cmdline_parse_inst_t sf_cli_show_port_stats_all;
extern cmdline_parse_inst_t sf_cli_show_port_stats;
extern cmdline_parse_inst_t sf_cli_show_lcores;
extern cmdline_parse_inst_t sf_cli_show_flows;
extern cmdline_parse_inst_t sf_cli_show_flows_state;
extern cmdline_parse_inst_t sf_cli_show_flows_limit;
extern cmdline_parse_inst_t sf_cli_show_flows_state_limit;
extern cmdline_parse_inst_t sf_cli_show_flow;
extern cmdline_parse_inst_t sf_cli_show_flow_vlan;
extern cmdline_parse_inst_t sf_cli_show_config;
extern cmdline_parse_inst_t sf_cli_set_timeout;
extern cmdline_parse_inst_t sf_cli_set_stats_period;
extern cmdline_parse_inst_t sf_cli_clear_stats;
extern cmdline_parse_inst_t sf_cli_flush_flows;

/** The parse context (NULL-terminated array of every instance). */
extern cmdline_parse_ctx_t sf_cli_ctx[];

/**
 * Run one command line as the file mode does: ignore blank and '#' lines, refuse lines longer
 * than SF_CLI_LINE_MAX or holding a NUL byte, otherwise parse and run it; a parse failure
 * prints one line ("Command not found: ...", "Bad arguments: ..."). Does not echo the line.
 * @param cl    a cmdline object built on sf_cli_ctx (its fds are not used)
 * @param line  the line, without its newline
 * @param len   length of @p line in bytes
 * @return 0 when the line ran (or was ignored), -EINVAL when it was refused or failed to parse,
 *         -EIO when the command itself reported an error.
 */
int sf_cli_line_exec(struct cmdline *cl, const char *line, size_t len);

#endif /* SF_CMDLINE_PRIV_H */
