/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin's command line, testpmd style, on librte_cmdline: the parse context, the session
 * commands (start, stop, quit, help), the state-name token, error reporting, and the two ways
 * to run it: sf_cmdline_run(sf, NULL) gives an interactive "synfin> " prompt on stdin with TAB
 * completion and '?' help; sf_cmdline_run(sf, path) runs the commands of a file, echoing each
 * one after the prompt before its output so a transcript reads like an interactive session.
 * The file mode reads lines itself rather than through cmdline_file_new(): that one discards
 * all output of librte_cmdline (its error messages included) and silently truncates long lines
 * to the line editor's buffer, which could run a prefix of a command. The interactive mode
 * restores the terminal even when the application cancels the CLI thread (signal, idle exit).
 */

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_string.h>
#include <cmdline_socket.h>

#include "ct_tcp.h"

#include "cmdline_priv.h"
#include "synfin.h"

struct sf_cli sf_cli;

void
sf_cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(sf_cli.out, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(sf_cli.out, fmt, ap);
	va_end(ap);
	fputc('\n', sf_cli.out);
	fflush(sf_cli.out);
	sf_cli.errors++;
}

/* fopencookie write: pass through to sf_cli.out and count. */
static ssize_t
op_out_write(void *cookie, const char *buf, size_t size)
{
	struct sf_cli *cli = cookie;
	size_t n = fwrite(buf, 1, size, cli->out);

	cli->written += n;
	return n == 0 && size > 0 ? -1 : (ssize_t)n;
}

static FILE *op_out;

FILE *
sf_cli_op_out(void)
{
	if (op_out == NULL) {
		cookie_io_functions_t io = {.write = op_out_write};

		op_out = fopencookie(&sf_cli, "w", io);
		if (op_out == NULL)
			return sf_cli.out; /* cannot count: errors may print twice */
	}
	sf_cli.written = 0;
	return op_out;
}

size_t
sf_cli_op_flush(void)
{
	if (op_out != NULL)
		fflush(op_out);
	return sf_cli.written;
}

void
sf_cli_done(const char *cmd, int ret)
{
	size_t written = sf_cli_op_flush();

	sf_cli.written = 0; /* operations without a FILE must not see a previous count */
	if (ret < 0 && written > 0) {
		sf_cli.errors++; /* the operation printed its own error line */
	} else if (ret < 0) {
		switch (-ret) {
		case ENOENT:
			sf_cli_error(cmd, "not found");
			break;
		case ENODEV:
			sf_cli_error(cmd, "no such port");
			break;
		case ERANGE:
			sf_cli_error(cmd, "value out of range");
			break;
		case EALREADY:
			sf_cli_error(cmd, "already done");
			break;
		default:
			sf_cli_error(cmd, "%s", strerror(-ret));
			break;
		}
	}
	fflush(sf_cli.out);
}

/*
 * ---- state names: lib/tcp's conntrack states (NONE excluded) and lib/l4's flow classes, as
 * ct_class_parse() reads them; `set timeout` also takes lib/l4's timeout names ----
 */

/* States a user can name: every one but NONE. */
#define STATE_FIRST (CT_S_NONE + 1)

int
sf_cli_state_lookup(const char *name)
{
	int s = ct_class_parse(name);

	return s >= STATE_FIRST ? s : -EINVAL;
}

/* Lower-case name of state @p s into @p buf. */
static void
state_lower(unsigned int s, char *buf, size_t size)
{
	const char *n = ct_class_name(s);
	size_t i;

	for (i = 0; i + 1 < size && n[i] != '\0'; i++)
		buf[i] = (char)tolower((unsigned char)n[i]);
	if (size > 0)
		buf[i] = '\0';
}

void
sf_cli_state_list(char *buf, size_t size)
{
	size_t off = 0;

	if (size > 0)
		buf[0] = '\0';
	for (unsigned int s = STATE_FIRST; s < CT_CLASS_MAX && off < size; s++) {
		char name[32];

		state_lower(s, name, sizeof(name));
		off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? " " : "", name);
	}
}

static int
state_complete_get_nb(cmdline_parse_token_hdr_t *tk)
{
	(void)tk;
	return CT_CLASS_MAX - STATE_FIRST;
}

static int
state_complete_get_elt(cmdline_parse_token_hdr_t *tk, int idx, char *buf, unsigned int size)
{
	(void)tk;
	if (idx < 0 || idx >= CT_CLASS_MAX - STATE_FIRST || size == 0)
		return -1;
	state_lower(STATE_FIRST + (unsigned int)idx, buf, size);
	return 0;
}

static int
state_get_help(cmdline_parse_token_hdr_t *tk, char *buf, unsigned int size)
{
	(void)tk;
	snprintf(buf, size, "flow state (conntrack state, UDP_/ICMP_/GENERIC_ class)");
	return 0;
}

struct cmdline_token_ops sf_cli_token_state_ops = {
        .parse = cmdline_parse_string,
        .complete_get_nb = state_complete_get_nb,
        .complete_get_elt = state_complete_get_elt,
        .get_help = state_get_help,
};

/* ---- start, stop, quit, help ---- */

struct word_result {
	cmdline_fixed_string_t word;
};

static cmdline_parse_token_string_t tok_start =
        TOKEN_STRING_INITIALIZER(struct word_result, word, "start");
static cmdline_parse_token_string_t tok_stop =
        TOKEN_STRING_INITIALIZER(struct word_result, word, "stop");
static cmdline_parse_token_string_t tok_quit =
        TOKEN_STRING_INITIALIZER(struct word_result, word, "quit");
static cmdline_parse_token_string_t tok_help =
        TOKEN_STRING_INITIALIZER(struct word_result, word, "help");

static void
cmd_start(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	(void)cl;
	(void)data;
	sf_cli_done("start", sf_start(sf_cli.sf));
}

static cmdline_parse_inst_t cli_start = {
        .f = cmd_start,
        .help_str = "start: start forwarding and tracking on every worker lcore",
        .tokens = {(void *)&tok_start, NULL},
};

static void
cmd_stop(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	(void)cl;
	(void)data;
	sf_cli_done("stop", sf_stop(sf_cli.sf));
}

static cmdline_parse_inst_t cli_stop = {
        .f = cmd_stop,
        .help_str = "stop: stop forwarding (flows and counters are kept)",
        .tokens = {(void *)&tok_stop, NULL},
};

static void
cmd_quit(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	(void)data;
	sf_quit(sf_cli.sf);
	sf_cli.quit = true;
	fflush(sf_cli.out);
	cmdline_quit(cl);
}

static cmdline_parse_inst_t cli_quit = {
        .f = cmd_quit,
        .help_str = "quit: stop and exit synfin",
        .tokens = {(void *)&tok_quit, NULL},
};

static void cmd_help(void *res, struct cmdline *cl, void *data);

static cmdline_parse_inst_t cli_help = {
        .f = cmd_help,
        .help_str = "help: list the commands (TAB completes, '?' shows the arguments)",
        .tokens = {(void *)&tok_help, NULL},
};

cmdline_parse_ctx_t sf_cli_ctx[] = {
        &sf_cli_show_stats,
        &sf_cli_show_port_stats_all,
        &sf_cli_show_port_stats,
        &sf_cli_show_lcores,
        &sf_cli_show_flows,
        &sf_cli_show_flows_state,
        &sf_cli_show_flows_limit,
        &sf_cli_show_flows_state_limit,
        &sf_cli_show_flow,
        &sf_cli_show_flow_vlan,
        &sf_cli_show_config,
        &sf_cli_set_timeout,
        &sf_cli_set_stats_period,
        &sf_cli_clear_stats,
        &sf_cli_flush_flows,
        &cli_start,
        &cli_stop,
        &cli_quit,
        &cli_help,
        NULL,
};

/* Print "  <syntax>  <description>" per instance, from the "<syntax>: <description>" help. */
static void
cmd_help(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	(void)cl;
	(void)data;
	fprintf(sf_cli.out, "Commands (TAB completes, '?' lists the arguments):\n");
	for (unsigned int i = 0; sf_cli_ctx[i] != NULL; i++) {
		const char *h = sf_cli_ctx[i]->help_str;
		const char *sep = strstr(h, ": ");

		if (sep == NULL)
			fprintf(sf_cli.out, "  %s\n", h);
		else
			fprintf(sf_cli.out, "  %-47.*s %s\n", (int)(sep - h), h, sep + 2);
	}
	fflush(sf_cli.out);
}

/* ---- running lines ---- */

int
sf_cli_line_exec(struct cmdline *cl, const char *line, size_t len)
{
	char buf[SF_CLI_LINE_MAX + 2];
	unsigned int errors = sf_cli.errors;
	size_t i = 0;
	int ret;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	if (len > SF_CLI_LINE_MAX) {
		sf_cli_error("error", "line too long (%zu characters, at most %d), ignored", len,
		             SF_CLI_LINE_MAX);
		return -EINVAL;
	}
	if (memchr(line, '\0', len) != NULL) {
		sf_cli_error("error", "line holds a NUL byte, ignored");
		return -EINVAL;
	}
	memcpy(buf, line, len);
	buf[len] = '\n';
	buf[len + 1] = '\0';

	ret = cmdline_parse(cl, buf);
	switch (ret) {
	case CMDLINE_PARSE_NOMATCH:
		fprintf(sf_cli.out, "Command not found: %.*s (try 'help')\n", (int)len, line);
		break;
	case CMDLINE_PARSE_BAD_ARGS:
		fprintf(sf_cli.out, "Bad arguments: %.*s (try 'help')\n", (int)len, line);
		break;
	case CMDLINE_PARSE_AMBIGUOUS:
		fprintf(sf_cli.out, "Ambiguous command: %.*s\n", (int)len, line);
		break;
	default:
		fflush(sf_cli.out);
		return sf_cli.errors != errors ? -EIO : 0;
	}
	fflush(sf_cli.out);
	sf_cli.errors++;
	return -EINVAL;
}

static int
run_file(const char *path)
{
	struct cmdline *cl;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int ret;

	f = fopen(path, "r");
	if (f == NULL) {
		ret = -errno;
		fprintf(stderr, "synfin: cannot read CLI commands from %s: %s\n", path,
		        strerror(errno));
		return ret;
	}
	/* Output fd -1: librte_cmdline writes nothing itself (no prompt); we echo and report. */
	cl = cmdline_new(sf_cli_ctx, SF_CLI_PROMPT, fileno(f), -1);
	if (cl == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	sf_cli.cl = cl;
	while (!sf_cli.quit && (n = getline(&line, &cap, f)) != -1) {
		size_t len = (size_t)n;
		size_t i = 0;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len || line[i] == '#')
			continue;
		if (len <= SF_CLI_LINE_MAX)
			fprintf(sf_cli.out, "%s%.*s\n", SF_CLI_PROMPT, (int)len, line);
		else
			fprintf(sf_cli.out, "%s%.*s...\n", SF_CLI_PROMPT, 60, line);
		sf_cli_line_exec(cl, line, len);
	}
	free(line);
	sf_cli.cl = NULL;
	cmdline_free(cl);
	fclose(f);
	fprintf(sf_cli.out, "Read CLI commands from %s\n", path);
	fflush(sf_cli.out);
	return 0;
}

/* Restore the terminal and free the cmdline, also when the thread is cancelled in read(). */
static void
stdin_cleanup(void *arg)
{
	sf_cli.cl = NULL;
	cmdline_stdin_exit(arg);
}

static int
run_stdin(void)
{
	struct cmdline *cl;

	cl = cmdline_stdin_new(sf_cli_ctx, SF_CLI_PROMPT);
	if (cl == NULL)
		return -ENOMEM;
	sf_cli.cl = cl;
	pthread_cleanup_push(stdin_cleanup, cl);
	cmdline_interact(cl);
	pthread_cleanup_pop(1);
	return 0;
}

int
sf_cmdline_run(struct synfin *sf, const char *file)
{
	sf_cli.sf = sf;
	sf_cli.out = stdout;
	sf_cli.quit = false;
	return file != NULL ? run_file(file) : run_stdin();
}
