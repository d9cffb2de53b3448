/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The `show` commands of synfin's command line: stats, port stats, lcores, flows (all, by
 * state, limited), one flow by its 4-tuple (IPv4 or IPv6, canonical key built with
 * ct_flow_key_make() so either direction finds it) and the running configuration. Each callback
 * checks its arguments, prints one "<command>: <reason>" line when they are wrong, and otherwise
 * hands the work to the application's control operation, which prints to sf_cli.out.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>

#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_ipaddr.h>
#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>

#include "ct_parse.h"
#include "ct_tcp.h"

#include "cmdline_priv.h"
#include "synfin.h"

/* ---- show stats / show lcores / show config ---- */

struct show_word_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t what;
};

static cmdline_parse_token_string_t tok_show_w =
        TOKEN_STRING_INITIALIZER(struct show_word_result, show, "show");
static cmdline_parse_token_string_t tok_what_stats =
        TOKEN_STRING_INITIALIZER(struct show_word_result, what, "stats");
static cmdline_parse_token_string_t tok_what_lcores =
        TOKEN_STRING_INITIALIZER(struct show_word_result, what, "lcores");
static cmdline_parse_token_string_t tok_what_config =
        TOKEN_STRING_INITIALIZER(struct show_word_result, what, "config");

static void
cmd_show_stats(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	(void)cl;
	(void)data;
	sf_cli_done("show stats", sf_show_stats(sf_cli.sf, sf_cli_op_out()));
}

cmdline_parse_inst_t sf_cli_show_stats = {
        .f = cmd_show_stats,
        .help_str = "show stats: packet, flow, verdict and drop-reason counters (all lcores)",
        .tokens = {(void *)&tok_show_w, (void *)&tok_what_stats, NULL},
};

static void
cmd_show_lcores(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	(void)cl;
	(void)data;
	sf_cli_done("show lcores", sf_show_lcores(sf_cli.sf, sf_cli_op_out()));
}

cmdline_parse_inst_t sf_cli_show_lcores = {
        .f = cmd_show_lcores,
        .help_str = "show lcores: worker lcores, their queues, flows and packet counts",
        .tokens = {(void *)&tok_show_w, (void *)&tok_what_lcores, NULL},
};

static void
cmd_show_config(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	(void)cl;
	(void)data;
	sf_cli_done("show config", sf_show_config(sf_cli.sf, sf_cli_op_out()));
}

cmdline_parse_inst_t sf_cli_show_config = {
        .f = cmd_show_config,
        .help_str = "show config: running configuration (ports, lcores, table size, timeouts)",
        .tokens = {(void *)&tok_show_w, (void *)&tok_what_config, NULL},
};

/* ---- show port stats all|<port> ---- */

struct show_port_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t port;
	cmdline_fixed_string_t stats;
	cmdline_fixed_string_t all;
	uint64_t port_id;
};

static cmdline_parse_token_string_t tok_sp_show =
        TOKEN_STRING_INITIALIZER(struct show_port_result, show, "show");
static cmdline_parse_token_string_t tok_sp_port =
        TOKEN_STRING_INITIALIZER(struct show_port_result, port, "port");
static cmdline_parse_token_string_t tok_sp_stats =
        TOKEN_STRING_INITIALIZER(struct show_port_result, stats, "stats");
static cmdline_parse_token_string_t tok_sp_all =
        TOKEN_STRING_INITIALIZER(struct show_port_result, all, "all");
static cmdline_parse_token_num_t tok_sp_id =
        TOKEN_NUM_INITIALIZER(struct show_port_result, port_id, RTE_UINT64);

static void
cmd_show_port_stats_all(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	(void)cl;
	(void)data;
	sf_cli_done("show port stats", sf_show_port_stats(sf_cli.sf, sf_cli_op_out(), SF_PORT_ALL));
}

cmdline_parse_inst_t sf_cli_show_port_stats_all = {
        .f = cmd_show_port_stats_all,
        .help_str = "show port stats all: RX/TX counters of every port",
        .tokens = {(void *)&tok_sp_show, (void *)&tok_sp_port, (void *)&tok_sp_stats,
                   (void *)&tok_sp_all, NULL},
};

static void
cmd_show_port_stats(void *res, struct cmdline *cl, void *data)
{
	struct show_port_result *r = res;
	int ret;

	(void)cl;
	(void)data;
	if (r->port_id >= SF_PORT_ALL) {
		sf_cli_error("show port stats", "port %" PRIu64 " out of range (0..%u)", r->port_id,
		             SF_PORT_ALL - 1);
		return;
	}
	ret = sf_show_port_stats(sf_cli.sf, sf_cli_op_out(), (uint16_t)r->port_id);
	if (ret == -ENODEV && sf_cli_op_flush() == 0) {
		sf_cli_error("show port stats", "no port %" PRIu64, r->port_id);
		return;
	}
	sf_cli_done("show port stats", ret);
}

cmdline_parse_inst_t sf_cli_show_port_stats = {
        .f = cmd_show_port_stats,
        .help_str = "show port stats <port>: RX/TX counters of one port",
        .tokens = {(void *)&tok_sp_show, (void *)&tok_sp_port, (void *)&tok_sp_stats,
                   (void *)&tok_sp_id, NULL},
};

/* ---- show flows [state <state>] [limit <n>] ---- */

struct show_flows_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t flows;
	cmdline_fixed_string_t state_kw;
	cmdline_fixed_string_t state;
	cmdline_fixed_string_t limit_kw;
	uint64_t limit;
};

static cmdline_parse_token_string_t tok_sf_show =
        TOKEN_STRING_INITIALIZER(struct show_flows_result, show, "show");
static cmdline_parse_token_string_t tok_sf_flows =
        TOKEN_STRING_INITIALIZER(struct show_flows_result, flows, "flows");
static cmdline_parse_token_string_t tok_sf_state_kw =
        TOKEN_STRING_INITIALIZER(struct show_flows_result, state_kw, "state");
static cmdline_parse_token_string_t tok_sf_state =
        SF_CLI_TOKEN_STATE_INITIALIZER(struct show_flows_result, state);
static cmdline_parse_token_string_t tok_sf_limit_kw =
        TOKEN_STRING_INITIALIZER(struct show_flows_result, limit_kw, "limit");
static cmdline_parse_token_num_t tok_sf_limit =
        TOKEN_NUM_INITIALIZER(struct show_flows_result, limit, RTE_UINT64);

/* Run `show flows` with the parts the instance (data) says were given. */
static void
cmd_show_flows(void *res, struct cmdline *cl, void *data)
{
	struct show_flows_result *r = res;
	uintptr_t parts = (uintptr_t)data;
	uint32_t limit = 0;
	int state = -1;

	(void)cl;
	if (parts & 1) {
		state = sf_cli_state_lookup(r->state);
		if (state < 0) {
			char list[384];

			sf_cli_state_list(list, sizeof(list));
			sf_cli_error("show flows", "unknown state '%s' (one of: %s)", r->state,
			             list);
			return;
		}
	}
	if (parts & 2) {
		if (r->limit < 1 || r->limit > UINT32_MAX) {
			sf_cli_error("show flows", "limit %" PRIu64 " out of range (1..%u)",
			             r->limit, UINT32_MAX);
			return;
		}
		limit = (uint32_t)r->limit;
	}
	sf_cli_done("show flows", sf_show_flows(sf_cli.sf, sf_cli_op_out(), state, limit));
}

cmdline_parse_inst_t sf_cli_show_flows = {
        .f = cmd_show_flows,
        .data = (void *)0,
        .help_str = "show flows: list the tracked flows, conntrack -L style",
        .tokens = {(void *)&tok_sf_show, (void *)&tok_sf_flows, NULL},
};

cmdline_parse_inst_t sf_cli_show_flows_state = {
        .f = cmd_show_flows,
        .data = (void *)1,
        .help_str = "show flows state <state>: list the flows in one conntrack state",
        .tokens = {(void *)&tok_sf_show, (void *)&tok_sf_flows, (void *)&tok_sf_state_kw,
                   (void *)&tok_sf_state, NULL},
};

cmdline_parse_inst_t sf_cli_show_flows_limit = {
        .f = cmd_show_flows,
        .data = (void *)2,
        .help_str = "show flows limit <n>: list at most n flows",
        .tokens = {(void *)&tok_sf_show, (void *)&tok_sf_flows, (void *)&tok_sf_limit_kw,
                   (void *)&tok_sf_limit, NULL},
};

cmdline_parse_inst_t sf_cli_show_flows_state_limit = {
        .f = cmd_show_flows,
        .data = (void *)3,
        .help_str = "show flows state <state> limit <n>: at most n flows in one state",
        .tokens = {(void *)&tok_sf_show, (void *)&tok_sf_flows, (void *)&tok_sf_state_kw,
                   (void *)&tok_sf_state, (void *)&tok_sf_limit_kw, (void *)&tok_sf_limit, NULL},
};

/* ---- show flow <src> <sport> <dst> <dport> [vlan <id>] ---- */

struct show_flow_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t flow;
	cmdline_ipaddr_t src;
	uint64_t sport;
	cmdline_ipaddr_t dst;
	uint64_t dport;
	cmdline_fixed_string_t vlan_kw;
	uint64_t vlan;
};

static cmdline_parse_token_string_t tok_f_show =
        TOKEN_STRING_INITIALIZER(struct show_flow_result, show, "show");
static cmdline_parse_token_string_t tok_f_flow =
        TOKEN_STRING_INITIALIZER(struct show_flow_result, flow, "flow");
static cmdline_parse_token_ipaddr_t tok_f_src =
        TOKEN_IPADDR_INITIALIZER(struct show_flow_result, src);
static cmdline_parse_token_num_t tok_f_sport =
        TOKEN_NUM_INITIALIZER(struct show_flow_result, sport, RTE_UINT64);
static cmdline_parse_token_ipaddr_t tok_f_dst =
        TOKEN_IPADDR_INITIALIZER(struct show_flow_result, dst);
static cmdline_parse_token_num_t tok_f_dport =
        TOKEN_NUM_INITIALIZER(struct show_flow_result, dport, RTE_UINT64);
static cmdline_parse_token_string_t tok_f_vlan_kw =
        TOKEN_STRING_INITIALIZER(struct show_flow_result, vlan_kw, "vlan");
static cmdline_parse_token_num_t tok_f_vlan =
        TOKEN_NUM_INITIALIZER(struct show_flow_result, vlan, RTE_UINT64);

static void
cmd_show_flow(void *res, struct cmdline *cl, void *data)
{
	struct show_flow_result *r = res;
	uint64_t vlan = data != NULL ? r->vlan : 0;
	struct ct_flow_key key;
	int family;

	(void)cl;
	if (r->src.family != r->dst.family) {
		sf_cli_error("show flow", "source and destination are not the same address family");
		return;
	}
	if (r->sport > UINT16_MAX || r->dport > UINT16_MAX) {
		sf_cli_error("show flow", "port %" PRIu64 " out of range (0..65535)",
		             r->sport > UINT16_MAX ? r->sport : r->dport);
		return;
	}
	if (vlan > 4095) {
		sf_cli_error("show flow", "vlan %" PRIu64 " out of range (0..4095)", vlan);
		return;
	}
	family = r->src.family == AF_INET ? 4 : 6;
	if (family == 4)
		ct_flow_key_make(&key, 4, &r->src.addr.ipv4, &r->dst.addr.ipv4,
		                 rte_cpu_to_be_16((uint16_t)r->sport),
		                 rte_cpu_to_be_16((uint16_t)r->dport), (uint16_t)vlan, NULL);
	else
		ct_flow_key_make(&key, 6, &r->src.addr.ipv6, &r->dst.addr.ipv6,
		                 rte_cpu_to_be_16((uint16_t)r->sport),
		                 rte_cpu_to_be_16((uint16_t)r->dport), (uint16_t)vlan, NULL);
	sf_cli_done("show flow", sf_show_flow(sf_cli.sf, sf_cli_op_out(), &key));
}

cmdline_parse_inst_t sf_cli_show_flow = {
        .f = cmd_show_flow,
        .data = NULL,
        .help_str = "show flow <src> <sport> <dst> <dport>: one flow in detail (IPv4 or IPv6, "
                    "either direction)",
        .tokens = {(void *)&tok_f_show, (void *)&tok_f_flow, (void *)&tok_f_src,
                   (void *)&tok_f_sport, (void *)&tok_f_dst, (void *)&tok_f_dport, NULL},
};

cmdline_parse_inst_t sf_cli_show_flow_vlan = {
        .f = cmd_show_flow,
        .data = (void *)1,
        .help_str = "show flow <src> <sport> <dst> <dport> vlan <id>: same, keyed by VLAN",
        .tokens = {(void *)&tok_f_show, (void *)&tok_f_flow, (void *)&tok_f_src,
                   (void *)&tok_f_sport, (void *)&tok_f_dst, (void *)&tok_f_dport,
                   (void *)&tok_f_vlan_kw, (void *)&tok_f_vlan, NULL},
};
