/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry endpoints (dpdk-telemetry.py, /synfin/...): /synfin/stats (every counter summed
 * over lcores, flows per state, and a dict per port "port<N>" of its RX/TX counters), /synfin/flows[,limit] (a dict of flow dicts keyed "0",
 * "1", ..., at most 32: the telemetry reply is bounded to 16 KiB; DPDK 22.11's array containers
 * only hold arrays, so a list of dicts cannot be built) and /synfin/config (every key of the
 * configuration file, from config_keys.h, plus the number of lcores). Callbacks run in
 * DPDK's telemetry thread, which registers as a QSBR reader of its own (control.c) on first use.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "config_keys.h"
#include "synfin.h"

#define FLOWS_MAX 32

static struct synfin *tel_sf;

static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ct_lcore_stats s;
	struct sf_lcore_stats tx;
	uint64_t by_state[CT_CLASS_MAX];
	char name[64];

	(void)cmd;
	(void)params;
	sf_stats_sum(tel_sf, &s, &tx, true);
	sf_flows_by_state(tel_sf, by_state);
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < CT_STATS_N; i++)
		if (!ct_stats_unused(i))
			rte_tel_data_add_dict_u64(d, ct_stats_name(i), ct_stats_get(&s, i));
#define X(n, h) rte_tel_data_add_dict_u64(d, #n, tx.n);
	SF_LCORE_COUNTERS(X)
#undef X
	for (unsigned int st = CT_S_NONE + 1; st < CT_CLASS_MAX; st++) {
		snprintf(name, sizeof(name), "flows_%s", ct_class_name(st));
		rte_tel_data_add_dict_u64(d, name, by_state[st]);
	}
	/* Per port (SF_PORT_COUNTERS summed over the lcores): "port0": {"rx_pkts": ..., ...} */
	for (uint16_t p = 0; p < tel_sf->nb_ports; p++) {
		struct rte_tel_data *c = rte_tel_data_alloc();

		if (c == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(c);
#define X(n, h) rte_tel_data_add_dict_u64(c, #n, tx.port[p].n);
		SF_PORT_COUNTERS(X)
#undef X
		snprintf(name, sizeof(name), "port%u", p);
		if (rte_tel_data_add_dict_container(d, name, c, 0) != 0) {
			rte_tel_data_free(c);
			return -ENOMEM;
		}
	}
	return 0;
}

struct tel_flows {
	struct rte_tel_data *d;
	unsigned int n, limit;
	int err;
};

static int
tel_flow(void *arg, const struct ct_report_flow *fi)
{
	struct tel_flows *a = arg;
	struct rte_tel_data *c = rte_tel_data_alloc();
	char name[16];

	if (c == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(c);
	rte_tel_data_add_dict_string(c, "proto", ct_report_proto_name(fi->proto));
	rte_tel_data_add_dict_u64(c, "protonum", fi->proto);
	rte_tel_data_add_dict_string(c, "src", fi->src);
	rte_tel_data_add_dict_string(c, "dst", fi->dst);
	if (ct_report_is_icmp(fi->proto)) {
		rte_tel_data_add_dict_u64(c, "type", fi->icmp_type);
		rte_tel_data_add_dict_u64(c, "code", fi->icmp_code);
		rte_tel_data_add_dict_u64(c, "id", fi->icmp_id);
	} else if (ct_report_has_ports(fi->proto)) {
		rte_tel_data_add_dict_u64(c, "sport", fi->sport);
		rte_tel_data_add_dict_u64(c, "dport", fi->dport);
	}
	rte_tel_data_add_dict_u64(c, "vlan", fi->vlan);
	rte_tel_data_add_dict_string(c, "state", ct_class_name(fi->state));
	if (fi->proto == IPPROTO_TCP) {
		rte_tel_data_add_dict_string(c, "client_state",
		                             ct_tcp_state_name(fi->client_state));
		rte_tel_data_add_dict_string(c, "server_state",
		                             ct_tcp_state_name(fi->server_state));
	}
	rte_tel_data_add_dict_u64(c, "packets_orig", fi->pkts[CT_DIR_ORIG]);
	rte_tel_data_add_dict_u64(c, "packets_reply", fi->pkts[CT_DIR_REPLY]);
	rte_tel_data_add_dict_u64(c, "invalid", fi->invalid);
	rte_tel_data_add_dict_u64(c, "expires_in_s", fi->expires_in_s);
	rte_tel_data_add_dict_u64(c, "lcore", fi->lcore);
	snprintf(name, sizeof(name), "%u", a->n);
	a->err = rte_tel_data_add_dict_container(a->d, name, c, 0);
	if (a->err != 0) {
		rte_tel_data_free(c);
		return 1;
	}
	return ++a->n >= a->limit ? 1 : 0;
}

static int
tel_flows(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct tel_flows a = {.d = d, .limit = FLOWS_MAX};

	(void)cmd;
	if (params != NULL && *params != '\0') {
		char *end;
		unsigned long v = strtoul(params, &end, 10);

		if (*end != '\0' || v == 0)
			return -EINVAL;
		a.limit = v < FLOWS_MAX ? (unsigned int)v : FLOWS_MAX;
	}
	rte_tel_data_start_dict(d);
	if (sf_flows_walk(tel_sf, tel_flow, &a) < 0)
		return -ENOMEM;
	return a.err;
}

/* Every file key (config_keys.h) by its name; [timeouts] as timeout_<STATE> (whole seconds,
 * rounded down) and timeout_<STATE>_ms; ENUM keys as their word, BOOL as 0/1. */
static int
tel_config(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct sf_config *c = &tel_sf->cfg;
	char name[64], word[64];

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < SF_KEY_ID_MAX; i++) {
		const struct sf_config_key *k = &sf_config_keys[i];
		uint64_t v = sf_config_key_value(c, k);

		if (!sf_config_key_in_file(k))
			continue;
		snprintf(name, sizeof(name), "%s%s", sf_config_key_state(k) >= 0 ? "timeout_" : "",
		         k->key);
		if (k->type == SF_KT_ENUM) {
			sf_config_key_format(c, k, word, sizeof(word));
			rte_tel_data_add_dict_string(d, name, word);
			continue;
		}
		rte_tel_data_add_dict_u64(d, name, k->type == SF_KT_TIMEOUT ? v / 1000 : v);
		if (k->type == SF_KT_TIMEOUT) {
			snprintf(name + strlen(name), sizeof(name) - strlen(name), "_ms");
			rte_tel_data_add_dict_u64(d, name, v);
		}
	}
	rte_tel_data_add_dict_u64(d, "lcores", tel_sf->nb_lcores);
	return 0;
}

int
sf_telemetry_init(struct synfin *sf)
{
	tel_sf = sf;
	if (rte_telemetry_register_cmd("/synfin/stats", tel_stats,
	                               "synfin tracker counters and flows per state") != 0 ||
	    rte_telemetry_register_cmd("/synfin/flows", tel_flows,
	                               "synfin flows (at most 32). Parameters: int limit") != 0 ||
	    rte_telemetry_register_cmd("/synfin/config", tel_config, "synfin configuration") != 0)
		return -EINVAL;
	return 0;
}
