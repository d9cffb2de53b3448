/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stub control operations for the command-line tests and fuzzer (see cli_stubs.h): record the
 * call in cli_last, print one line to the operation's stream, return cli_last.ret.
 */

#include <stdio.h>

#include "cli_stubs.h"
#include "synfin.h"

struct cli_stub_log cli_last;

static void
record(const char *op)
{
	snprintf(cli_last.op, sizeof(cli_last.op), "%s", op);
	cli_last.calls++;
}

int
sf_show_stats(struct synfin *sf, FILE *f)
{
	(void)sf;
	record("show_stats");
	fprintf(f, "stats\n");
	return cli_last.ret;
}

int
sf_show_port_stats(struct synfin *sf, FILE *f, uint16_t port)
{
	(void)sf;
	record("show_port_stats");
	cli_last.port = port;
	if (cli_last.ret < 0)
		fprintf(f, "port %u: stub says no\n", port); /* an operation's own error line */
	else
		fprintf(f, "port stats %u\n", port);
	return cli_last.ret;
}

int
sf_show_lcores(struct synfin *sf, FILE *f)
{
	(void)sf;
	record("show_lcores");
	fprintf(f, "lcores\n");
	return cli_last.ret;
}

int
sf_show_flows(struct synfin *sf, FILE *f, int state, uint32_t limit)
{
	(void)sf;
	record("show_flows");
	cli_last.state = state;
	cli_last.limit = limit;
	fprintf(f, "flows %d %u\n", state, limit);
	return cli_last.ret;
}

int
sf_show_flow(struct synfin *sf, FILE *f, const struct ct_flow_key *key)
{
	(void)sf;
	record("show_flow");
	cli_last.key = *key;
	if (cli_last.ret == 0)
		fprintf(f, "flow\n");
	return cli_last.ret;
}

int
sf_show_config(struct synfin *sf, FILE *f)
{
	(void)sf;
	record("show_config");
	fprintf(f, "config\n");
	return cli_last.ret;
}

int
sf_set_timeout(struct synfin *sf, const char *state, uint32_t ms)
{
	(void)sf;
	record("set_timeout");
	snprintf(cli_last.state_name, sizeof(cli_last.state_name), "%s", state);
	cli_last.ms = ms;
	return cli_last.ret;
}

int
sf_set_stats_period(struct synfin *sf, uint32_t seconds)
{
	(void)sf;
	record("set_stats_period");
	cli_last.seconds = seconds;
	return cli_last.ret;
}

int
sf_clear_stats(struct synfin *sf)
{
	(void)sf;
	record("clear_stats");
	return cli_last.ret;
}

int
sf_flush_flows(struct synfin *sf)
{
	(void)sf;
	record("flush_flows");
	return cli_last.ret;
}

int
sf_start(struct synfin *sf)
{
	(void)sf;
	record("start");
	return cli_last.ret;
}

int
sf_stop(struct synfin *sf)
{
	(void)sf;
	record("stop");
	return cli_last.ret;
}

void
sf_quit(struct synfin *sf)
{
	(void)sf;
	record("quit");
}
