/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/report: the conntrack -L flow line and the --flows-json object of every flow
 * class (TCP, UDP, ICMP and ICMPv6 echo, other protocols), laid out as conntrack(8) lays out
 * each protocol's tuples (ports, type/code/id, addresses only), and the statistics block's L4
 * lines. No EAL.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ct_report.h"

static char *buf;
static size_t len;

static FILE *
open_buf(void)
{
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	return f;
}

static void
flow(struct ct_report_flow *fi, uint8_t proto, uint8_t state)
{
	memset(fi, 0, sizeof(*fi));
	snprintf(fi->src, sizeof(fi->src), "10.0.0.1");
	snprintf(fi->dst, sizeof(fi->dst), "10.0.0.2");
	fi->proto = proto;
	fi->family = 4;
	fi->state = state;
	fi->pkts[CT_DIR_ORIG] = 2;
	fi->bytes[CT_DIR_ORIG] = 100;
	fi->expires_in_s = 29;
}

static const char *
line(const struct ct_report_flow *fi)
{
	FILE *f = open_buf();

	ct_report_flow_line(f, fi);
	fclose(f);
	return buf;
}

static const char *
json(const struct ct_report_flow *fi)
{
	FILE *f = open_buf();

	ct_report_flow_json(f, fi, true);
	fclose(f);
	return buf;
}

static void
cleanup(void)
{
	free(buf);
	buf = NULL;
}

Test(report, tcp_line_keeps_its_layout, .fini = cleanup)
{
	struct ct_report_flow fi;

	flow(&fi, IPPROTO_TCP, CT_S_ESTABLISHED);
	fi.sport = 40000;
	fi.dport = 80;
	fi.pkts[CT_DIR_REPLY] = 1;
	fi.assured = true;
	fi.client_state = CT_TCP_ESTABLISHED;
	fi.server_state = CT_TCP_ESTABLISHED;
	cr_assert_str_eq(line(&fi),
	                 "tcp      6 29 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80 "
	                 "src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000 [ASSURED] "
	                 "client=ESTABLISHED server=ESTABLISHED\n");
}

Test(report, udp_line_has_ports_and_no_tcp_states, .fini = cleanup)
{
	struct ct_report_flow fi;

	flow(&fi, IPPROTO_UDP, CT_L4S_UDP_UNREPLIED);
	fi.sport = 5353;
	fi.dport = 53;
	cr_assert_str_eq(line(&fi),
	                 "udp      17 29 UDP_UNREPLIED src=10.0.0.1 dst=10.0.0.2 sport=5353 "
	                 "dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5353\n");
}

Test(report, icmp_line_has_type_code_id_and_the_reply_type, .fini = cleanup)
{
	struct ct_report_flow fi;

	flow(&fi, IPPROTO_ICMP, CT_L4S_ICMP_REPLIED);
	fi.icmp_type = 8;
	fi.icmp_id = 4321;
	fi.pkts[CT_DIR_REPLY] = 1;
	cr_assert_str_eq(
	        line(&fi),
	        "icmp     1 29 ICMP_REPLIED src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=4321 "
	        "src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=4321\n");
}

Test(report, icmpv6_echo_reply_type_is_129, .fini = cleanup)
{
	struct ct_report_flow fi;

	flow(&fi, IPPROTO_ICMPV6, CT_L4S_ICMP_UNREPLIED);
	snprintf(fi.src, sizeof(fi.src), "2001:db8::1");
	snprintf(fi.dst, sizeof(fi.dst), "2001:db8::2");
	fi.family = 6;
	fi.icmp_type = 128;
	fi.icmp_id = 7;
	cr_assert_str_eq(line(&fi), "icmpv6   58 29 ICMP_UNREPLIED src=2001:db8::1 dst=2001:db8::2 "
	                            "type=128 code=0 id=7 [UNREPLIED] src=2001:db8::2 "
	                            "dst=2001:db8::1 type=129 code=0 id=7\n");
}

Test(report, other_protocols_show_addresses_only, .fini = cleanup)
{
	struct ct_report_flow fi;

	flow(&fi, IPPROTO_GRE, CT_L4S_GENERIC_REPLIED);
	fi.pkts[CT_DIR_REPLY] = 1;
	cr_assert_str_eq(line(&fi), "gre      47 29 GENERIC_REPLIED src=10.0.0.1 dst=10.0.0.2 "
	                            "src=10.0.0.2 dst=10.0.0.1\n");
	flow(&fi, 253, CT_L4S_GENERIC_UNREPLIED);
	cr_assert_str_eq(line(&fi), "unknown  253 29 GENERIC_UNREPLIED src=10.0.0.1 dst=10.0.0.2 "
	                            "[UNREPLIED] src=10.0.0.2 dst=10.0.0.1\n");
}

Test(report, json_of_each_class, .fini = cleanup)
{
	struct ct_report_flow fi;

	flow(&fi, IPPROTO_UDP, CT_L4S_UDP_ASSURED);
	fi.sport = 1;
	fi.dport = 2;
	fi.assured = true;
	cr_assert_str_eq(json(&fi),
	                 "\n  {\"proto\":\"udp\",\"protonum\":17,\"orig\":{\"src\":"
	                 "\"10.0.0.1\",\"sport\":1,\"dst\":\"10.0.0.2\",\"dport\":2},"
	                 "\"vlan\":0,\"state\":\"UDP_ASSURED\",\"packets\":{\"orig\":2,"
	                 "\"reply\":0},\"bytes\":{\"orig\":100,\"reply\":0},\"invalid\":0,"
	                 "\"picked_up\":false,\"assured\":true,\"expires_in_s\":29,"
	                 "\"lcore\":0}");
	free(buf);
	flow(&fi, IPPROTO_ICMP, CT_L4S_ICMP_UNREPLIED);
	fi.icmp_type = 8;
	fi.icmp_code = 0;
	fi.icmp_id = 99;
	cr_assert(strstr(json(&fi),
	                 "\"proto\":\"icmp\",\"protonum\":1,\"orig\":{\"src\":\"10.0.0.1\","
	                 "\"dst\":\"10.0.0.2\",\"type\":8,\"code\":0,\"id\":99}") != NULL,
	          "%s", buf);
	cr_assert(strstr(buf, "client_state") == NULL, "%s", buf);
	free(buf);
	flow(&fi, IPPROTO_TCP, CT_S_SYN_SENT);
	fi.client_state = CT_TCP_SYN_SENT;
	fi.server_state = CT_TCP_LISTEN;
	cr_assert(strstr(json(&fi), "\"state\":\"SYN_SENT\",\"client_state\":\"SYN_SENT\","
	                            "\"server_state\":\"LISTEN\"") != NULL,
	          "%s", buf);
	cr_assert(strstr(buf, "protonum") == NULL, "%s", buf);
}

Test(report, stats_block_counts_l4_packets_and_classes, .fini = cleanup)
{
	struct ct_lcore_stats s, d;
	uint64_t by_state[CT_CLASS_MAX] = {0};
	struct ct_report_stats r = {.s = &s, .d = &d, .by_state = by_state, .capacity = 100};
	FILE *f = open_buf();

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	s.udp_pkts = 5;
	s.icmp_pkts = 4;
	s.icmp_errors = 3;
	s.icmp_related = 2;
	s.other_pkts = 1;
	by_state[CT_S_ESTABLISHED] = 1;
	by_state[CT_L4S_UDP_ASSURED] = 2;
	by_state[CT_L4S_ICMP_REPLIED] = 3;
	ct_report_stats_block(f, &r);
	fclose(f);
	cr_assert(strstr(buf, "flows: 6 active of 100;") != NULL, "%s", buf);
	cr_assert(strstr(buf, "  UDP: 5 ") != NULL && strstr(buf, " ICMP: 4 ") != NULL &&
	                  strstr(buf, " ICMP errors: 3 ") != NULL &&
	                  strstr(buf, "(RELATED 2)") != NULL &&
	                  strstr(buf, "other IP: 1\n") != NULL,
	          "%s", buf);
	cr_assert(strstr(buf, "flows by L4 state: UDP_UNREPLIED=0 UDP_REPLIED=0 UDP_ASSURED=2 "
	                      "ICMP_UNREPLIED=0 ICMP_REPLIED=3 GENERIC_UNREPLIED=0 "
	                      "GENERIC_REPLIED=0\n") != NULL,
	          "%s", buf);
}
