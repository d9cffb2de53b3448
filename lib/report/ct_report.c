/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The formats of ct_report.h: the conntrack -L flow line, the --flows-json object and the
 * tracker statistics block (counters, flows by state, the non-zero reasons four to a line), for
 * every flow class: TCP's conntrack states and lib/l4's UDP, ICMP and other-protocol states.
 */

#include <inttypes.h>
#include <stdio.h>

#include "ct_parse.h"
#include "ct_report.h"

const char *
ct_report_proto_name(uint8_t proto)
{
	/* The names conntrack(8) prints for the protocols nf_conntrack knows by name. */
	switch (proto) {
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_DCCP:
		return "dccp";
	case IPPROTO_GRE:
		return "gre";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_UDPLITE:
		return "udplite";
	default:
		return "unknown";
	}
}

/* One direction's tuple: " src=A dst=B" and the ports or the ICMP fields. */
static void
tuple(FILE *f, const struct ct_report_flow *fi, bool reply)
{
	fprintf(f, " src=%s dst=%s", reply ? fi->dst : fi->src, reply ? fi->src : fi->dst);
	if (ct_report_has_ports(fi->proto)) {
		fprintf(f, " sport=%u dport=%u", reply ? fi->dport : fi->sport,
		        reply ? fi->sport : fi->dport);
	} else if (ct_report_is_icmp(fi->proto)) {
		int rt = ct_icmp_reply_type(fi->family, fi->icmp_type);

		fprintf(f, " type=%u code=%u id=%u",
		        reply ? (unsigned int)(rt < 0 ? 0 : rt) : (unsigned int)fi->icmp_type,
		        reply ? 0u : (unsigned int)fi->icmp_code, fi->icmp_id);
	}
}

void
ct_report_flow_line(FILE *f, const struct ct_report_flow *fi)
{
	fprintf(f, "%-8s %u %u %s", ct_report_proto_name(fi->proto), fi->proto, fi->expires_in_s,
	        ct_class_name(fi->state));
	tuple(f, fi, false);
	if (fi->pkts[CT_DIR_REPLY] == 0)
		fputs(" [UNREPLIED]", f);
	tuple(f, fi, true);
	if (fi->assured)
		fputs(" [ASSURED]", f);
	if (fi->proto == IPPROTO_TCP)
		fprintf(f, "%s client=%s server=%s", fi->picked_up ? " [PICKED_UP]" : "",
		        ct_tcp_state_name(fi->client_state), ct_tcp_state_name(fi->server_state));
	fputc('\n', f);
}

void
ct_report_flow_json(FILE *f, const struct ct_report_flow *fi, bool first)
{
	fprintf(f, "%s\n  {", first ? "" : ",");
	ct_report_flow_json_fields(f, fi);
	fputc('}', f);
}

void
ct_report_flow_json_fields(FILE *f, const struct ct_report_flow *fi)
{
	char buf[CT_REPORT_JSON_FIELDS_MAX];
	struct ct_text t;

	ct_text_init(&t, buf, sizeof(buf));
	ct_report_flow_json_text(&t, fi);
	fwrite(buf, 1, ct_text_len(&t, buf), f);
}

/* "NAME":"VALUE" with the comma before it (the caller's strings hold no quote or backslash). */
static inline void
json_str(struct ct_text *t, const char *name, size_t nlen, const char *v)
{
	ct_text_put(t, name, nlen);
	ct_text_char(t, '"');
	ct_text_str(t, v);
	ct_text_char(t, '"');
}

#define JSON_STR(t, lit, v) json_str((t), "" lit, sizeof(lit) - 1, (v))

void
ct_report_flow_json_text(struct ct_text *t, const struct ct_report_flow *fi)
{
	JSON_STR(t, "\"proto\":", ct_report_proto_name(fi->proto));
	if (fi->proto != IPPROTO_TCP) {
		ct_text_lit(t, ",\"protonum\":");
		ct_text_u64(t, fi->proto);
	}
	JSON_STR(t, ",\"orig\":{\"src\":", fi->src);
	if (ct_report_has_ports(fi->proto)) {
		ct_text_lit(t, ",\"sport\":");
		ct_text_u64(t, fi->sport);
		JSON_STR(t, ",\"dst\":", fi->dst);
		ct_text_lit(t, ",\"dport\":");
		ct_text_u64(t, fi->dport);
	} else {
		JSON_STR(t, ",\"dst\":", fi->dst);
		if (ct_report_is_icmp(fi->proto)) {
			ct_text_lit(t, ",\"type\":");
			ct_text_u64(t, fi->icmp_type);
			ct_text_lit(t, ",\"code\":");
			ct_text_u64(t, fi->icmp_code);
			ct_text_lit(t, ",\"id\":");
			ct_text_u64(t, fi->icmp_id);
		}
	}
	ct_text_lit(t, "},\"vlan\":");
	ct_text_u64(t, fi->vlan);
	JSON_STR(t, ",\"state\":", ct_class_name(fi->state));
	if (fi->proto == IPPROTO_TCP) {
		JSON_STR(t, ",\"client_state\":", ct_tcp_state_name(fi->client_state));
		JSON_STR(t, ",\"server_state\":", ct_tcp_state_name(fi->server_state));
	}
	ct_text_lit(t, ",\"packets\":{\"orig\":");
	ct_text_u64(t, fi->pkts[CT_DIR_ORIG]);
	ct_text_lit(t, ",\"reply\":");
	ct_text_u64(t, fi->pkts[CT_DIR_REPLY]);
	ct_text_lit(t, "},\"bytes\":{\"orig\":");
	ct_text_u64(t, fi->bytes[CT_DIR_ORIG]);
	ct_text_lit(t, ",\"reply\":");
	ct_text_u64(t, fi->bytes[CT_DIR_REPLY]);
	ct_text_lit(t, "},\"invalid\":");
	ct_text_u64(t, fi->invalid);
	if (fi->picked_up)
		ct_text_lit(t, ",\"picked_up\":true");
	else
		ct_text_lit(t, ",\"picked_up\":false");
	if (fi->assured)
		ct_text_lit(t, ",\"assured\":true");
	else
		ct_text_lit(t, ",\"assured\":false");
	ct_text_lit(t, ",\"expires_in_s\":");
	ct_text_u64(t, fi->expires_in_s);
	ct_text_lit(t, ",\"lcore\":");
	ct_text_u64(t, fi->lcore);
}

/* Per second, from a difference of counters over @p seconds (0 when no time passed). */
static double
per_s(uint64_t diff, double seconds)
{
	return seconds <= 0.0 ? 0.0 : (double)diff / seconds;
}

void
ct_report_stats_block(FILE *f, const struct ct_report_stats *r)
{
	const struct ct_lcore_stats *s = r->s, *d = r->d;
	uint64_t active = 0;
	uint64_t tracked =
	        d->tcp_pkts + d->udp_pkts + d->icmp_pkts + d->icmp_errors + d->other_pkts;
	unsigned int printed = 0;

	for (unsigned int st = 0; st < CT_CLASS_MAX; st++)
		active += r->by_state[st];
	fprintf(f, "\n  ######################## synfin statistics "
	           "################################\n");
	fprintf(f,
	        "  RX-packets: %-10" PRIu64 " RX-bytes: %-12" PRIu64 " TCP: %-10" PRIu64
	        " not-TCP: %-10" PRIu64 " malformed: %" PRIu64 "\n",
	        s->rx_pkts, s->rx_bytes, s->tcp_pkts, s->not_tcp, s->parse_drop);
	fprintf(f,
	        "  UDP: %-15" PRIu64 " ICMP: %-14" PRIu64 " ICMP errors: %-6" PRIu64
	        " (RELATED %" PRIu64 ")   other IP: %" PRIu64 "\n",
	        s->udp_pkts, s->icmp_pkts, s->icmp_errors, s->icmp_related, s->other_pkts);
	fprintf(f,
	        "  accepted: %-12" PRIu64 " INVALID: %-12" PRIu64 " state changes: %-8" PRIu64
	        " odd options: %" PRIu64 "\n",
	        s->accepted, s->invalid, s->state_changes, s->tcp_opt_odd);
	fprintf(f,
	        "  flows: %" PRIu64 " active of %" PRIu64 "; created %" PRIu64 " closed %" PRIu64
	        " expired %" PRIu64 " evicted %" PRIu64 " refused %" PRIu64 " reopened %" PRIu64
	        " rst-deleted %" PRIu64 " flushed %" PRIu64 "\n",
	        active, r->capacity, s->flows_created, s->flows_closed, s->flows_expired,
	        s->flows_evicted, s->flows_refused, s->flows_reopened, s->flows_rst_deleted,
	        s->flows_flushed);
	if (r->show_tx)
		fprintf(f, "  TX-packets: %-10" PRIu64 " TX-dropped: %" PRIu64 "\n", r->tx_pkts,
		        r->tx_dropped);
	fprintf(f,
	        "  rates (since last show): Rx-pps %.0f Rx-bps %.0f new flows/s %.0f closed/s %.0f"
	        " INVALID %.3f %%\n",
	        per_s(d->rx_pkts, r->seconds), 8 * per_s(d->rx_bytes, r->seconds),
	        per_s(d->flows_created, r->seconds), per_s(d->flows_closed, r->seconds),
	        tracked ? 100.0 * (double)d->invalid / (double)tracked : 0.0);
	fprintf(f, "  flows by state:");
	for (unsigned int st = CT_S_NONE + 1; st < CT_S_MAX; st++)
		fprintf(f, " %s=%" PRIu64, ct_state_name(st), r->by_state[st]);
	fprintf(f, "\n  flows by L4 state:");
	for (unsigned int c = CT_S_MAX; c < CT_CLASS_MAX; c++)
		fprintf(f, " %s=%" PRIu64, ct_class_name(c), r->by_state[c]);
	fprintf(f, "\n  reasons:");
	for (unsigned int i = CT_STATS_PARSE_BASE; i < CT_STATS_N; i++) {
		uint64_t v = ct_stats_get(s, i);

		if (v == 0 || ct_stats_unused(i))
			continue;
		fprintf(f, "%s %s=%" PRIu64, printed % 4 == 0 && printed ? "\n          " : "",
		        ct_stats_name(i), v);
		printed++;
	}
	fprintf(f, "%s\n", printed ? "" : " none");
	fprintf(f,
	        "  ############################################################################\n");
}
