/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A flow record as the reports and exporters see it (ct_worker.h): the client's side first
 * (CT_FLOW_F_SWAPPED), ports or ICMP fields by protocol, endpoint states for TCP only; and a
 * flow-end record as an exported flow (history string, conn_state, addresses in binary).
 */

#include <string.h>

#include <rte_byteorder.h>

#include "ct_worker.h"

/* The report view without the text addresses. */
static void
report_fields(const struct ct_flow_key *k, const struct ct_flow *f, struct ct_report_flow *fi)
{
	unsigned int c = (f->flags & CT_FLOW_F_SWAPPED) ? 1 : 0;

	memset(fi, 0, sizeof(*fi));
	fi->proto = k->proto;
	fi->family = k->family;
	fi->vlan = k->vlan;
	fi->state = f->tcp.state; /* the class byte, the same in struct ct_l4 */
	fi->assured = (f->tcp.flags & CT_F_ASSURED) != 0;
	if (ct_report_has_ports(k->proto)) {
		fi->sport = rte_be_to_cpu_16(k->port[c]);
		fi->dport = rte_be_to_cpu_16(k->port[c ^ 1]);
	} else if (ct_report_is_icmp(k->proto)) {
		/* ICMP echo keys: port[0] = identifier, port[1] = asker << 8 | request type */
		fi->icmp_id = rte_be_to_cpu_16(k->port[0]);
		fi->icmp_type = f->l4.icmp_type;
		fi->icmp_code = f->l4.icmp_code;
	}
	if (!ct_class_is_l4(f->tcp.state)) {
		fi->client_state = f->tcp.tcp_state[CT_DIR_ORIG];
		fi->server_state = f->tcp.tcp_state[CT_DIR_REPLY];
		fi->picked_up = (f->tcp.flags & CT_F_PICKED_UP) != 0;
	}
	for (unsigned int d = 0; d < CT_DIR_MAX; d++) {
		fi->pkts[d] = f->pkts[d];
		fi->bytes[d] = ct_flow_bytes(f, d);
	}
	fi->invalid = f->invalid;
}

void
ct_flow_report(const struct ct_flow_key *k, const struct ct_flow *f, struct ct_report_flow *fi)
{
	unsigned int c = (f->flags & CT_FLOW_F_SWAPPED) ? 1 : 0;

	report_fields(k, f, fi);
	ct_flow_key_addr_format(k, c, fi->src, sizeof(fi->src));
	ct_flow_key_addr_format(k, c ^ 1, fi->dst, sizeof(fi->dst));
}

void
ct_flow_end_export(const struct ct_flow_end *r, struct ct_export_flow *e, bool text)
{
	const struct ct_flow *f = &r->flow;
	unsigned int c = (f->flags & CT_FLOW_F_SWAPPED) ? 1 : 0;
	size_t alen = r->key.family == 4 ? 4 : 16;

	memset(e, 0, sizeof(*e));
	if (text)
		ct_flow_report(&r->key, f, &e->fi);
	else
		report_fields(&r->key, f, &e->fi);
	/* an IPv4 key holds ::ffff:a.b.c.d: the address is the last 4 bytes */
	memcpy(e->addr[CT_DIR_ORIG], r->key.addr[c] + 16 - alen, alen);
	memcpy(e->addr[CT_DIR_REPLY], r->key.addr[c ^ 1] + 16 - alen, alen);
	memcpy(e->tcp_flags, r->ext.tcp_flags, sizeof(e->tcp_flags));
	e->end_reason = r->reason;
	if (!text)
		return;
	ct_history_format(&r->ext.hist, e->history, sizeof(e->history));
	e->conn_state = (uint8_t)(r->key.proto == IPPROTO_TCP
	                                  ? ct_history_conn_state_tcp(&r->ext.hist)
	                                  : ct_history_conn_state_l4(f->pkts[CT_DIR_REPLY]));
}
