/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of synfin's command line (app/synfin/cmdline*.c) without EAL: the control
 * operations are stubs that record their arguments, so each test checks that a command line
 * reaches the right operation with the right arguments, that every mistake gives exactly one
 * error line and calls nothing, that `help` lists every command, that the file mode echoes,
 * skips comments and survives oversized lines, and that random bytes fed through cmdline_in()
 * (line editor, completion, help, parser) never crash it.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <cmdline.h>

#include "ct_parse.h"
#include "ct_tcp.h"

#include "cli_stubs.h"
#include "cmdline_priv.h"
#include "synfin.h"

/* ---- fixture: a cmdline on the real context, output into a memory stream ---- */

static struct cmdline *cl;
static char *outbuf;
static size_t outlen;

static void
setup(void)
{
	memset(&cli_last, 0, sizeof(cli_last));
	memset(&sf_cli, 0, sizeof(sf_cli));
	sf_cli.out = open_memstream(&outbuf, &outlen);
	cr_assert_not_null(sf_cli.out);
	cl = cmdline_new(sf_cli_ctx, SF_CLI_PROMPT, -1, -1);
	cr_assert_not_null(cl);
	sf_cli.cl = cl;
}

static void
teardown(void)
{
	cmdline_free(cl);
	fclose(sf_cli.out);
	free(outbuf);
	outbuf = NULL;
}

/* Run one line; return what it printed (valid until the next call). */
static const char *
run(const char *line)
{
	fclose(sf_cli.out);
	free(outbuf);
	sf_cli.out = open_memstream(&outbuf, &outlen);
	cr_assert_not_null(sf_cli.out);
	sf_cli_line_exec(cl, line, strlen(line));
	fflush(sf_cli.out);
	return outbuf;
}

static unsigned int
count_lines(const char *s)
{
	unsigned int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

TestSuite(cli, .init = setup, .fini = teardown);

Test(cli, show_stats_calls_the_stats_operation)
{
	cr_assert_str_eq(run("show stats"), "stats\n");
	cr_assert_str_eq(cli_last.op, "show_stats");
}

Test(cli, show_port_stats_all_and_one_port)
{
	run("show port stats all");
	cr_assert_str_eq(cli_last.op, "show_port_stats");
	cr_assert_eq(cli_last.port, SF_PORT_ALL);
	run("show port stats 1");
	cr_assert_eq(cli_last.port, 1);
}

Test(cli, show_port_stats_port_out_of_range_is_one_error_line)
{
	const char *o = run("show port stats 70000");

	cr_assert_eq(cli_last.calls, 0);
	cr_assert_eq(count_lines(o), 1, "%s", o);
	cr_assert(strstr(o, "show port stats:") == o, "%s", o);
}

Test(cli, show_lcores_and_config)
{
	run("show lcores");
	cr_assert_str_eq(cli_last.op, "show_lcores");
	run("show config");
	cr_assert_str_eq(cli_last.op, "show_config");
}

Test(cli, show_flows_variants_pass_state_and_limit)
{
	run("show flows");
	cr_assert_eq(cli_last.state, -1);
	cr_assert_eq(cli_last.limit, 0);
	run("show flows state established");
	cr_assert_eq(cli_last.state, CT_S_ESTABLISHED);
	cr_assert_eq(cli_last.limit, 0);
	run("show flows limit 5");
	cr_assert_eq(cli_last.state, -1);
	cr_assert_eq(cli_last.limit, 5);
	run("show flows state TIME-WAIT limit 7");
	cr_assert_eq(cli_last.state, CT_S_TIME_WAIT);
	cr_assert_eq(cli_last.limit, 7);
	cr_assert_eq(cli_last.calls, 4);
}

Test(cli, show_flows_unknown_state_lists_the_valid_ones)
{
	const char *o = run("show flows state bogus");

	cr_assert_eq(cli_last.calls, 0);
	cr_assert_eq(count_lines(o), 1, "%s", o);
	cr_assert(strstr(o, "show flows: unknown state 'bogus'") == o, "%s", o);
	cr_assert_not_null(strstr(o, "established"), "%s", o);
	cr_assert_null(strstr(o, "none"), "%s", o);
}

Test(cli, show_flows_limit_zero_is_refused)
{
	const char *o = run("show flows limit 0");

	cr_assert_eq(cli_last.calls, 0);
	cr_assert_eq(count_lines(o), 1, "%s", o);
	cr_assert(strstr(o, "show flows: limit 0 out of range") == o, "%s", o);
}

Test(cli, show_flow_ipv4_builds_the_canonical_key_in_both_directions)
{
	struct ct_flow_key want;
	uint32_t a = htonl(0xc0000201), b = htonl(0xc6336402);

	cr_assert_eq(ct_flow_key_make(&want, 4, &a, &b, htons(40000), htons(80), 0, NULL), 0);
	run("show flow 192.0.2.1 40000 198.51.100.2 80");
	cr_assert_str_eq(cli_last.op, "show_flow");
	cr_assert_eq(memcmp(&cli_last.key, &want, sizeof(want)), 0);
	memset(&cli_last.key, 0, sizeof(cli_last.key));
	run("show flow 198.51.100.2 80 192.0.2.1 40000");
	cr_assert_eq(memcmp(&cli_last.key, &want, sizeof(want)), 0);
}

Test(cli, show_flow_ipv6_and_vlan)
{
	struct ct_flow_key want;
	uint8_t a[16], b[16];

	inet_pton(AF_INET6, "2001:db8::1", a);
	inet_pton(AF_INET6, "2001:db8::2", b);
	cr_assert_eq(ct_flow_key_make(&want, 6, a, b, htons(1234), htons(443), 7, NULL), 0);
	run("show flow 2001:db8::1 1234 2001:db8::2 443 vlan 7");
	cr_assert_eq(memcmp(&cli_last.key, &want, sizeof(want)), 0);
	cr_assert_eq(cli_last.key.family, 6);
}

Test(cli, show_flow_mixed_families_and_bad_port_are_one_error_line)
{
	const char *o = run("show flow 192.0.2.1 1 2001:db8::2 2");

	cr_assert_eq(count_lines(o), 1, "%s", o);
	cr_assert(strstr(o, "show flow:") == o, "%s", o);
	o = run("show flow 192.0.2.1 65536 192.0.2.2 2");
	cr_assert_eq(count_lines(o), 1, "%s", o);
	cr_assert_not_null(strstr(o, "65536"), "%s", o);
	o = run("show flow 192.0.2.1 1 192.0.2.2 2 vlan 4096");
	cr_assert_eq(count_lines(o), 1, "%s", o);
	cr_assert_eq(cli_last.calls, 0);
}

Test(cli, show_flow_not_found_reports_the_command)
{
	const char *o;

	cli_last.ret = -ENOENT;
	o = run("show flow 192.0.2.1 1 192.0.2.2 2");
	cr_assert_str_eq(o, "show flow: not found\n");
}

Test(cli, set_timeout_passes_name_and_seconds)
{
	cr_assert_str_eq(run("set timeout established 3600"), "");
	cr_assert_str_eq(cli_last.op, "set_timeout");
	cr_assert_str_eq(cli_last.state_name, "established");
	cr_assert_eq(cli_last.ms, 3600 * 1000);
}

Test(cli, set_timeout_takes_sub_second_values)
{
	static const struct {
		const char *value;
		uint32_t ms;
	} ok[] = {{"0.5", 500}, {"0.05", 50},    {"1.234", 1234},         {"50ms", 50},
	          {"1ms", 1},   {"240", 240000}, {"2147483", 2147483000u}};

	for (unsigned int i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char line[64];

		snprintf(line, sizeof(line), "set timeout time_wait %s", ok[i].value);
		cr_assert_str_eq(run(line), "", "%s", line);
		cr_assert_str_eq(cli_last.state_name, "time_wait");
		cr_assert_eq(cli_last.ms, ok[i].ms, "%s: %u ms", line, cli_last.ms);
	}
	cr_assert_eq(cli_last.calls, sizeof(ok) / sizeof(ok[0]));
}

Test(cli, set_timeout_refuses_bad_forms_with_one_line)
{
	static const char *const bad[] = {"0.0001", "5s",      "-1",          "1e3", "0x10",
	                                  ".5",     "5.",      "1.5ms",       "ms",  "0ms",
	                                  "0.000",  "2147484", "2147483001ms"};

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[64];
		const char *o;

		snprintf(line, sizeof(line), "set timeout close %s", bad[i]);
		o = run(line);
		cr_assert_eq(count_lines(o), 1, "%s: %s", line, o);
		cr_assert(strstr(o, "set timeout: ") == o, "%s: %s", line, o);
	}
	cr_assert_str_eq(
	        run("set timeout close 5s"),
	        "set timeout: '5s' is not a timeout (240, 0.5 or 50ms; 0.001..2147483 s)\n");
	cr_assert_str_eq(run("set timeout close 0ms"),
	                 "set timeout: 0ms out of range (0.001..2147483 s)\n");
	/* no value at all does not parse */
	cr_assert_str_eq(run("set timeout close"),
	                 "Bad arguments: set timeout close (try 'help')\n");
	cr_assert_eq(cli_last.calls, 0);
}

Test(cli, set_timeout_bad_state_or_seconds_calls_nothing)
{
	const char *o = run("set timeout nosuch 10");

	cr_assert(strstr(o, "set timeout: unknown state 'nosuch'") == o, "%s", o);
	cr_assert_eq(count_lines(o), 1);
	o = run("set timeout syn_sent 0");
	cr_assert(strstr(o, "set timeout: 0 seconds out of range") == o, "%s", o);
	o = run("set timeout syn_sent 4294967296");
	cr_assert_eq(count_lines(o), 1, "%s", o);
	o = run("set timeout none 10");
	cr_assert_eq(count_lines(o), 1, "%s", o);
	cr_assert_eq(cli_last.calls, 0);
}

Test(cli, set_timeout_tab_completes_state_names)
{
	char dst[64];
	int state = 0;

	cr_assert_eq(cmdline_complete(cl, "set timeout time_w", &state, dst, sizeof(dst)),
	             CMDLINE_PARSE_COMPLETED_BUFFER);
	cr_assert_str_eq(dst, "ait ");
}

Test(cli, failing_operation_gives_one_error_line)
{
	cli_last.ret = -ERANGE;
	cr_assert_str_eq(run("set timeout close 5"), "set timeout: 5 seconds out of range\n");
	cr_assert_eq(sf_cli.errors, 1);
}

Test(cli, operation_that_prints_its_own_error_is_not_doubled)
{
	cli_last.ret = -ENODEV;
	cr_assert_str_eq(run("show port stats 3"), "port 3: stub says no\n");
	cr_assert_eq(sf_cli.errors, 1);
}

Test(cli, failure_without_output_after_a_printing_command_is_reported)
{
	run("show stats");
	cli_last.ret = -EIO;
	cr_assert_str_eq(run("set stats-period 5"), "set stats-period: Input/output error\n");
}

Test(cli, set_stats_period_range)
{
	run("set stats-period 0");
	cr_assert_str_eq(cli_last.op, "set_stats_period");
	cr_assert_eq(cli_last.seconds, 0);
	cr_assert_eq(count_lines(run("set stats-period 86401")), 1);
	cr_assert_eq(cli_last.calls, 1);
}

Test(cli, clear_flush_start_stop_quit)
{
	static const char *const lines[] = {"clear stats", "flush flows", "start", "stop", "quit"};
	static const char *const ops[] = {"clear_stats", "flush_flows", "start", "stop", "quit"};

	for (unsigned int i = 0; i < 5; i++) {
		cr_assert_str_eq(run(lines[i]), "", "%s", lines[i]);
		cr_assert_str_eq(cli_last.op, ops[i]);
	}
	cr_assert(sf_cli.quit);
}

Test(cli, help_lists_every_command)
{
	const char *o = run("help");
	unsigned int n = 0;

	while (sf_cli_ctx[n] != NULL)
		n++;
	cr_assert_eq(count_lines(o), n + 1, "%s", o);
	cr_assert_not_null(strstr(o, "  show flows state <state> limit <n> "), "%s", o);
	cr_assert_not_null(strstr(o, "  set timeout <state> <seconds> "), "%s", o);
	cr_assert_not_null(strstr(o, "  quit "), "%s", o);
}

Test(cli, unknown_command_and_bad_arguments_are_one_line)
{
	cr_assert_str_eq(run("frobnicate"), "Command not found: frobnicate (try 'help')\n");
	cr_assert_str_eq(run("show flows limit x"),
	                 "Bad arguments: show flows limit x (try 'help')\n");
	cr_assert_str_eq(run("show stats extra"), "Bad arguments: show stats extra (try 'help')\n");
	cr_assert_eq(cli_last.calls, 0);
}

Test(cli, blank_comment_and_trailing_comment)
{
	cr_assert_str_eq(run(""), "");
	cr_assert_str_eq(run("   \t "), "");
	cr_assert_str_eq(run("# show stats"), "");
	cr_assert_eq(cli_last.calls, 0);
	cr_assert_str_eq(run("show stats   # counters"), "stats\n");
}

Test(cli, oversized_line_is_refused_whole)
{
	char line[4096];
	const char *o;

	/* A valid command padded past the limit must not run truncated. */
	memset(line, ' ', sizeof(line));
	memcpy(line, "flush flows", 11);
	line[sizeof(line) - 1] = '\0';
	o = run(line);
	cr_assert_eq(cli_last.calls, 0);
	cr_assert_eq(count_lines(o), 1, "%s", o);
	cr_assert_not_null(strstr(o, "line too long"), "%s", o);
	/* At the limit it runs. */
	line[SF_CLI_LINE_MAX] = '\0';
	run(line);
	cr_assert_str_eq(cli_last.op, "flush_flows");
}

Test(cli, long_token_does_not_overflow)
{
	char line[SF_CLI_LINE_MAX + 1];

	snprintf(line, sizeof(line), "set timeout ");
	memset(line + 12, 'a', sizeof(line) - 13);
	line[sizeof(line) - 1] = '\0';
	cr_assert_eq(count_lines(run(line)), 1);
	cr_assert_eq(cli_last.calls, 0);
}

Test(cli, interactive_oversized_line_then_next_command_runs)
{
	char junk[3000];

	memset(junk, 'A', sizeof(junk));
	cr_assert_geq(cmdline_in(cl, junk, sizeof(junk)), 0);
	cr_assert_geq(cmdline_in(cl, "\n", 1), 0);
	cr_assert_geq(cmdline_in(cl, "show lcores\n", 12), 0);
	cr_assert_str_eq(cli_last.op, "show_lcores");
}

Test(cli, random_bytes_through_the_line_editor_never_crash)
{
	static const char alphabet[] = "show flows state limit set timeout 0123456789 .:#?\t\n"
	                               "\x1b[A\x1b[D\x04\x03\x7f\x15\x17"
	                               "ABCabc";
	char buf[256];

	srand(12345);
	for (unsigned int iter = 0; iter < 20000; iter++) {
		unsigned int n = (unsigned int)rand() % sizeof(buf);

		for (unsigned int i = 0; i < n; i++)
			buf[i] = (rand() & 7) == 0
			                 ? (char)rand()
			                 : alphabet[(unsigned int)rand() % (sizeof(alphabet) - 1)];
		if (cmdline_in(cl, buf, (int)n) < 0) {
			/* ^D on an empty line ends the session: start a new one. */
			cmdline_free(cl);
			cl = cmdline_new(sf_cli_ctx, SF_CLI_PROMPT, -1, -1);
			cr_assert_not_null(cl);
		}
		sf_cli_line_exec(cl, buf, n);
		sf_cli.quit = false;
		rewind(sf_cli.out);
	}
	/* The session is still usable. */
	cmdline_free(cl);
	cl = cmdline_new(sf_cli_ctx, SF_CLI_PROMPT, -1, -1);
	cr_assert_str_eq(run("show lcores"), "lcores\n");
}

Test(cli, file_mode_echoes_commands_and_keeps_going_after_errors)
{
	char path[] = "/tmp/synfin_cli_XXXXXX";
	FILE *mem = sf_cli.out;
	char want[1024];
	FILE *f;
	int fd;

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f, "# a comment\n\nshow stats\nbogus command\r\nset timeout nosuch 1\n");
	for (int i = 0; i < 600; i++)
		fputc('x', f);
	fprintf(f, "\nshow lcores\nquit\nshow config\n");
	fclose(f);

	cr_redirect_stdout();
	cr_assert_eq(sf_cmdline_run(NULL, path), 0);
	sf_cli.out = mem;
	unlink(path);
	snprintf(want, sizeof(want),
	         "synfin> show stats\n"
	         "stats\n"
	         "synfin> bogus command\n"
	         "Command not found: bogus command (try 'help')\n"
	         "synfin> set timeout nosuch 1\n"
	         "set timeout: unknown state 'nosuch' (one of: syn_sent syn_recv established "
	         "fin_wait close_wait last_ack time_wait close syn_sent2 udp udp_stream icmp "
	         "generic)\n"
	         "synfin> xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\n"
	         "error: line too long (600 characters, at most 510), ignored\n"
	         "synfin> show lcores\n"
	         "lcores\n"
	         "synfin> quit\n"
	         "Read CLI commands from %s\n",
	         path);
	cr_assert_stdout_eq_str(want);
	/* `quit` stops the file: show config never ran. */
	cr_assert_str_eq(cli_last.op, "quit");
}

Test(cli, file_mode_missing_file_is_an_error)
{
	FILE *mem = sf_cli.out;

	cr_redirect_stderr();
	cr_assert_eq(sf_cmdline_run(NULL, "/nonexistent/synfin.cmds"), -ENOENT);
	sf_cli.out = mem;
}
