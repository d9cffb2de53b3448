/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_PARSE_MBUF_H
#define CT_PARSE_MBUF_H

/**
 * @file
 * rte_mbuf front end of the packet parser (ct_parse.h), kept out of the parser library so that
 * library stays free of DPDK.
 *
 * Thread-safety: stateless; safe from any thread.
 *
 * Design: the headers are read in place from the first segment (no copy, no linearisation).
 * A single-segment mbuf is parsed whole; for a chained mbuf the IP length is checked against
 * pkt_len and every header must lie in the first segment, otherwise the result is
 * CT_PARSE_TRUNC_SEG (counted, not tracked).
 */

#include <stdint.h>

#include <rte_mbuf.h>

#include "ct_parse.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Parse the frame in @p m (starting at its data offset, i.e. the Ethernet header).
 * @param m     the packet
 * @param conf  parser options (NULL: defaults)
 * @param out   filled when the result is CT_PARSE_OK
 * @return CT_PARSE_OK or the reason the frame is not trackable (CT_PARSE_TRUNC_SEG
 *         when the headers continue in a later segment).
 */
static inline enum ct_parse_reason
ct_parse_mbuf(const struct rte_mbuf *m, const struct ct_parse_conf *conf, struct ct_pkt *out)
{
	return ct_parse_pkt_seg(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, m->pkt_len, conf,
	                        out);
}

#ifdef __cplusplus
}
#endif

#endif /* CT_PARSE_MBUF_H */
