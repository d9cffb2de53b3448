/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_IPFIX_H
#define CT_IPFIX_H

/**
 * @file
 * IPFIX (RFC 7011) encoding of flow-end records as bidirectional flows (RFC 5103): one template
 * for IPv4 and one for IPv6 flows, each with the forward information elements and their reverse
 * counterparts (private enterprise 29305). A struct ct_ipfix builds messages into a caller's
 * buffer; the caller sends each finished message as one UDP datagram.
 *
 * Thread-safety: a struct ct_ipfix belongs to one thread (the exporter).
 *
 * Design: elements and templates (docs/export.md lists them): sourceIPv4Address or
 * sourceIPv6Address, destination address, sourceTransportPort, destinationTransportPort,
 * protocolIdentifier, flowStartMilliseconds, flowEndMilliseconds, octetDeltaCount,
 * packetDeltaCount, tcpControlBits, flowEndReason, and reverse octetDeltaCount,
 * packetDeltaCount, tcpControlBits. For ICMP the destination port carries type << 8 | code, as
 * RFC 7011 conventions and nfdump read it. No EAL dependency.
 */

#include <stddef.h>
#include <stdint.h>

#include "ct_export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest message built (fits one UDP datagram over a 1500-byte MTU with IPv6). */
#define CT_IPFIX_MSG_MAX 1400

/** Template ids. */
#define CT_IPFIX_TEMPLATE_V4 256
#define CT_IPFIX_TEMPLATE_V6 257

/** One exporter's message state. */
struct ct_ipfix {
	uint32_t domain; /**< observation domain id */
	uint32_t seq;    /**< data records sent so far (the header's sequence number) */
	uint8_t buf[CT_IPFIX_MSG_MAX];
	size_t len;       /**< bytes in buf (0: no message open) */
	uint16_t set_off; /**< offset of the open set's header, 0 if none */
	uint16_t set_id;  /**< id of the open set */
	uint32_t nrec;    /**< data records in the open message */
};

/** Start an exporter with observation domain @p domain. */
void ct_ipfix_init(struct ct_ipfix *x, uint32_t domain);

/**
 * Add the template set (both templates) to the current message, opening one if needed. Send it
 * at start and again periodically (UDP transport: RFC 7011 section 8.4).
 * @param now_s  export time, Unix seconds
 * @return 0, or -1 if the message has no room (finish and send it, then call again).
 */
int ct_ipfix_add_templates(struct ct_ipfix *x, uint32_t now_s);

/**
 * Add a data record for @p e to the current message, opening one if needed: with template
 * CT_IPFIX_TEMPLATE_V6 if e->fi.family is 6, else CT_IPFIX_TEMPLATE_V4.
 * @return 0, or -1 if the message has no room (finish and send it, then call again).
 */
int ct_ipfix_add_flow(struct ct_ipfix *x, const struct ct_export_flow *e, uint32_t now_s);

/**
 * Close the current message: fill in its length and sequence number.
 * @param out  receives the message's address (inside @p x; valid until the next call)
 * @return its length in bytes (0: no message open).
 */
size_t ct_ipfix_finish(struct ct_ipfix *x, const uint8_t **out);

#ifdef __cplusplus
}
#endif

#endif /* CT_IPFIX_H */
