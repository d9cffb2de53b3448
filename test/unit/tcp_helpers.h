/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SYNFIN_TEST_TCP_HELPERS_H
#define SYNFIN_TEST_TCP_HELPERS_H

/**
 * @file
 * Small helpers shared by the TCP unit tests: build a segment, run one step, and bring a flow
 * through the standard handshake (client ISN 100000, server ISN 300000, windows 65535 unscaled).
 */

#include <string.h>

#include "ct_tcp.h"

#define C_ISN 100000u
#define S_ISN 300000u

static inline struct ct_tcp_seg
seg_make(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t len, uint16_t win)
{
	struct ct_tcp_seg s;

	memset(&s, 0, sizeof(s));
	s.flags = flags;
	s.seq = seq;
	s.ack = ack;
	s.len = len;
	s.win = win;
	return s;
}

/** Track one segment; returns the verdict and stores the reason in *r when r is not NULL. */
static inline enum ct_verdict
step(struct ct_tcp *t, const struct ct_tcp_conf *conf, enum ct_dir d, uint8_t flags, uint32_t seq,
     uint32_t ack, uint16_t len, enum ct_tcp_reason *r)
{
	struct ct_tcp_seg s = seg_make(flags, seq, ack, len, 65535);
	enum ct_tcp_reason rr;

	return ct_tcp_track(t, conf, d, &s, r != NULL ? r : &rr);
}

/** SYN, SYN+ACK, ACK: leaves @p t ESTABLISHED/ESTABLISHED. Returns 0 on success. */
static inline int
handshake(struct ct_tcp *t, const struct ct_tcp_conf *conf)
{
	struct ct_tcp_seg syn = seg_make(CT_TCPF_SYN, C_ISN, 0, 0, 65535);
	enum ct_tcp_reason r;

	if (ct_tcp_new(t, conf, &syn, &r) != CT_VERDICT_NEW)
		return -1;
	if (step(t, conf, CT_DIR_REPLY, CT_TCPF_SYN | CT_TCPF_ACK, S_ISN, C_ISN + 1, 0, NULL) !=
	    CT_VERDICT_ACCEPT)
		return -1;
	if (step(t, conf, CT_DIR_ORIG, CT_TCPF_ACK, C_ISN + 1, S_ISN + 1, 0, NULL) !=
	    CT_VERDICT_ACCEPT)
		return -1;
	return 0;
}

#endif /* SYNFIN_TEST_TCP_HELPERS_H */
