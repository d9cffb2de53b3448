/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The formats of ct_report.h: the conntrack -L flow line, the --flows-json object and the
 * tracker statistics block (counters, flows by state, the non-zero reasons four to a line).
 * Moved unchanged from app/synfin (control.c, flows_json.c) so synfin-xdp prints the same.
 */

#include <inttypes.h>
#include <stdio.h>

#include "ct_report.h"

void
ct_report_flow_line(FILE *f, const struct ct_report_flow *fi)
{
	fprintf(f,
	        "tcp      6 %u %s src=%s dst=%s sport=%u dport=%u%s src=%s dst=%s sport=%u "
	        "dport=%u%s%s client=%s server=%s\n",
	        fi->expires_in_s, ct_state_name(fi->state), fi->src, fi->dst, fi->sport, fi->dport,
	        fi->pkts[CT_DIR_REPLY] == 0 ? " [UNREPLIED]" : "", fi->dst, fi->src, fi->dport,
	        fi->sport, fi->assured ? " [ASSURED]" : "", fi->picked_up ? " [PICKED_UP]" : "",
	        ct_tcp_state_name(fi->client_state), ct_tcp_state_name(fi->server_state));
}

void
ct_report_flow_json(FILE *f, const struct ct_report_flow *fi, bool first)
{
	fprintf(f,
	        "%s\n  {\"proto\":\"tcp\",\"orig\":{\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\","
	        "\"dport\":%u},\"vlan\":%u,\"state\":\"%s\",\"client_state\":\"%s\","
	        "\"server_state\":\"%s\",\"packets\":{\"orig\":%" PRIu64 ",\"reply\":%" PRIu64
	        "},\"bytes\":{\"orig\":%" PRIu64 ",\"reply\":%" PRIu64 "},\"invalid\":%u,"
	        "\"picked_up\":%s,\"assured\":%s,\"expires_in_s\":%u,\"lcore\":%u}",
	        first ? "" : ",", fi->src, fi->sport, fi->dst, fi->dport, fi->vlan,
	        ct_state_name(fi->state), ct_tcp_state_name(fi->client_state),
	        ct_tcp_state_name(fi->server_state), fi->pkts[CT_DIR_ORIG], fi->pkts[CT_DIR_REPLY],
	        fi->bytes[CT_DIR_ORIG], fi->bytes[CT_DIR_REPLY], fi->invalid,
	        fi->picked_up ? "true" : "false", fi->assured ? "true" : "false", fi->expires_in_s,
	        fi->lcore);
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
	unsigned int printed = 0;

	for (unsigned int st = 0; st < CT_S_MAX; st++)
		active += r->by_state[st];
	fprintf(f, "\n  ######################## synfin statistics "
	           "################################\n");
	fprintf(f,
	        "  RX-packets: %-10" PRIu64 " RX-bytes: %-12" PRIu64 " TCP: %-10" PRIu64
	        " not-TCP: %-10" PRIu64 " malformed: %" PRIu64 "\n",
	        s->rx_pkts, s->rx_bytes, s->tcp_pkts, s->not_tcp, s->parse_drop);
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
	        d->tcp_pkts ? 100.0 * (double)d->invalid / (double)d->tcp_pkts : 0.0);
	fprintf(f, "  flows by state:");
	for (unsigned int st = CT_S_NONE + 1; st < CT_S_MAX; st++)
		fprintf(f, " %s=%" PRIu64, ct_state_name(st), r->by_state[st]);
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
