/* SPDX-License-Identifier: BSD-3-Clause */
/* The worker's table layout and policy for tests that drive lib/table directly (tl_flow.h). */
#include <stddef.h>
#include <string.h>

#include <rte_common.h>

#include "ct_parse.h"
#include "ct_worker.h"
#include "tl_flow.h"

void
tl_flow_policy(struct ct_table_policy *pol, const struct ct_tcp_conf *conf)
{
	memset(pol, 0, sizeof(*pol));
	for (unsigned int s = 0; s < CT_S_MAX; s++)
		pol->timeout[s] = (uint32_t)ct_worker_ticks_from_ms(conf->timeouts.ms[s]);
	pol->embryonic = 1u << CT_S_SYN_SENT | 1u << CT_S_SYN_RECV | 1u << CT_S_SYN_SENT2;
}

struct ct_table_params
tl_flow_table_params(const char *name, uint32_t capacity, const struct ct_table_policy *pol,
                     struct ct_lcore_stats *st, ct_table_end_t on_end, void *arg, uint64_t now)
{
	return (struct ct_table_params){
	        .name = name,
	        .capacity = capacity,
	        .socket_id = SOCKET_ID_ANY,
	        .key_len = sizeof(struct ct_flow_key),
	        .rec = {.size = sizeof(struct ct_flow),
	                .node_off = offsetof(struct ct_flow, tm),
	                .last_seen_off = offsetof(struct ct_flow, last_seen),
	                .class_off = offsetof(struct ct_flow, tcp.state)},
	        .policy = pol,
	        .stats = st,
	        .on_end = on_end,
	        .end_arg = arg,
	        .now = now,
	};
}
