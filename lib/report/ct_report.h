/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_REPORT_H
#define CT_REPORT_H

/**
 * @file
 * What a tracker prints: one flow conntrack -L style (`show flows`), one flow as a JSON object
 * (--flows-json) and the tracker statistics block (`show stats`, periodic and final), so that
 * every tracker built on lib/tcp (synfin on DPDK, synfin-xdp in the kernel's XDP hook) prints
 * them alike and their outputs can be compared line by line.
 *
 * Thread-safety: stateless; the caller owns the FILE and the values printed.
 *
 * Design: the caller fills a struct ct_report_flow (or the statistics arguments) from its own
 * records; these functions only format. No EAL dependency.
 */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ct_l4.h"
#include "ct_stats.h"
#include "ct_tcp.h"
#include "ct_text.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A tracked flow as the control plane shows it (orig = the client's direction: the sender of the
 * first packet, the asker of an ICMP echo).
 */
struct ct_report_flow {
	char src[48];         /**< client address */
	char dst[48];         /**< server address */
	uint16_t sport;       /**< TCP, UDP: client port, host order */
	uint16_t dport;       /**< TCP, UDP: server port, host order */
	uint8_t proto;        /**< IP protocol number (6: TCP) */
	uint8_t family;       /**< 4 or 6 */
	uint8_t icmp_type;    /**< ICMP echo flows: the request's type (8, 128) */
	uint8_t icmp_code;    /**< ICMP echo flows: the request's code */
	uint16_t icmp_id;     /**< ICMP echo flows: the identifier, host order */
	uint8_t state;        /**< enum ct_class: a conntrack state (TCP) or an L4 state */
	uint8_t client_state; /**< TCP: enum ct_tcp_state */
	uint8_t server_state; /**< TCP: enum ct_tcp_state */
	bool picked_up;
	bool assured;
	uint16_t vlan;
	uint64_t pkts[CT_DIR_MAX];
	uint64_t bytes[CT_DIR_MAX];
	uint32_t invalid;
	uint32_t expires_in_s; /**< seconds left before the flow's timeout (0: due) */
	unsigned int lcore;    /**< lcore id of the owning worker (CPU for synfin-xdp) */
};

/** True for the protocols whose flows are keyed and shown by ports (TCP, UDP). */
static inline bool
ct_report_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

/** True for ICMP and ICMPv6, whose echo flows are shown by type, code and identifier. */
static inline bool
ct_report_is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/**
 * Print @p fi as one conntrack -L line (`show flows`): the protocol's name and number, the
 * seconds left, the flow's state (class) name, then conntrack's original and reply tuples
 * (ports for TCP and UDP, type/code/id for ICMP echo, addresses only for other protocols),
 * [UNREPLIED], [ASSURED], and for TCP [PICKED_UP] and both endpoints' RFC 9293 states.
 */
void ct_report_flow_line(FILE *f, const struct ct_report_flow *fi);

/**
 * Print @p fi as one object of the --flows-json array: a newline and two spaces first, and a
 * comma before that unless @p first. TCP flows carry client_state and server_state; the others
 * carry "protonum", and ICMP echo flows type, code and id in "orig" instead of ports.
 */
void ct_report_flow_json(FILE *f, const struct ct_report_flow *fi, bool first);

/**
 * The members of ct_report_flow_json()'s object without the braces ("proto":..., ..., "lcore":N),
 * for records that extend it (the flow-end JSON line).
 */
void ct_report_flow_json_fields(FILE *f, const struct ct_report_flow *fi);

/**
 * Bytes ct_report_flow_json_text() writes at most: every member at its longest (IPv6 addresses
 * of 47 bytes, 20-digit counters, the longest names), with room to spare; test_text checks
 * the longest case fits.
 */
#define CT_REPORT_JSON_FIELDS_MAX 640

/**
 * The members of ct_report_flow_json_fields(), appended to @p t: what the exporter writes once
 * per ended flow, without stdio.
 */
void ct_report_flow_json_text(struct ct_text *t, const struct ct_report_flow *fi);

/** The figures of one statistics block besides the counters. */
struct ct_report_stats {
	const struct ct_lcore_stats *s; /**< counters (summed, since `clear stats`) */
	const struct ct_lcore_stats *d; /**< counters' change since the last block (rates) */
	double seconds;                 /**< time the change took (0: no rates) */
	const uint64_t *by_state;     /**< flows per class (enum ct_class), CT_CLASS_MAX entries */
	uint64_t capacity;            /**< flows the tables hold */
	bool show_tx;                 /**< print the TX line (inline mode) */
	uint64_t tx_pkts, tx_dropped; /**< for the TX line */
};

/** Name of IP protocol @p proto as conntrack -L prints it ("tcp", "udp", ..., else "unknown"). */
const char *ct_report_proto_name(uint8_t proto);

/** Print the tracker statistics block of @p r. */
void ct_report_stats_block(FILE *f, const struct ct_report_stats *r);

#ifdef __cplusplus
}
#endif

#endif /* CT_REPORT_H */
