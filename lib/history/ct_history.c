/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * History strings and conn_state (ct_history.h). Appending happens only when a packet brings a
 * kind its direction had not sent yet: at most 12 times in a flow's life.
 */

#include "ct_history.h"

#define CODE_MASK 0xfu
#define SEEN_ALL  (((uint64_t)1 << (2 * CT_H_MAX)) - 1)

static unsigned int
count(const struct ct_history *h)
{
	return (unsigned int)__builtin_popcountll(h->v >> CT_HISTORY_SEEN_SHIFT & SEEN_ALL);
}

void
ct_history_append(struct ct_history *h, unsigned int dir, unsigned int letters)
{
	/* Within one packet: the handshake letter, then ACK or data, then FIN, then RST. */
	for (unsigned int l = 0; l < CT_H_MAX; l++) {
		unsigned int code = l + CT_H_MAX * (dir & 1);
		uint64_t seen = (uint64_t)1 << (CT_HISTORY_SEEN_SHIFT + code);

		if (!(letters & 1u << l) || (h->v & seen))
			continue;
		h->v |= (uint64_t)code << (4 * count(h)) | seen;
	}
}

char *
ct_history_format(const struct ct_history *h, char *buf, size_t size)
{
	unsigned int n = count(h), i;

	if (size == 0)
		return buf;
	for (i = 0; i < n && i + 1 < size; i++) {
		unsigned int code = (unsigned int)(h->v >> (4 * i)) & CODE_MASK;
		char c = CT_HISTORY_LETTERS[code % CT_H_MAX];

		buf[i] = code >= CT_H_MAX ? (char)(c - 'A' + 'a') : c;
	}
	buf[i] = '\0';
	return buf;
}

static const char *const conn_state_names[CT_CS_MAX] = {
#define X(e, n, h) [CT_CS_##e] = n,
        CT_CONN_STATES(X)
#undef X
};

const char *
ct_conn_state_name(unsigned int cs)
{
	return cs < CT_CS_MAX ? conn_state_names[cs] : "?";
}

/* Direction of the first RST in the history (-1: none). */
static int
first_rst(const struct ct_history *h)
{
	unsigned int n = count(h);

	for (unsigned int i = 0; i < n; i++) {
		unsigned int code = (unsigned int)(h->v >> (4 * i)) & CODE_MASK;

		if (code % CT_H_MAX == CT_H_RST)
			return (int)(code / CT_H_MAX);
	}
	return -1;
}

enum ct_conn_state
ct_history_conn_state_tcp(const struct ct_history *h)
{
	const unsigned int o = CT_DIR_ORIG, r = CT_DIR_REPLY;
	const uint64_t reply_any = (((uint64_t)1 << CT_H_MAX) - 1)
	                           << (CT_HISTORY_SEEN_SHIFT + CT_H_MAX);
	int rst;

	if (!ct_history_seen(h, o, CT_H_SYN)) {
		/* No SYN from the originator: midstream, or only the responder's half. */
		if (ct_history_seen(h, r, CT_H_SYNACK)) {
			if (ct_history_seen(h, r, CT_H_RST))
				return CT_CS_RSTRH;
			if (ct_history_seen(h, r, CT_H_FIN))
				return CT_CS_SHR;
		}
		return CT_CS_OTH;
	}
	if (!ct_history_seen(h, r, CT_H_SYNACK)) {
		/* An attempt the responder never accepted. */
		if (ct_history_seen(h, r, CT_H_RST))
			return CT_CS_REJ;
		if (ct_history_seen(h, o, CT_H_RST))
			return CT_CS_RSTOS0;
		if (ct_history_seen(h, o, CT_H_FIN))
			return CT_CS_SH;
		return (h->v & reply_any) == 0 ? CT_CS_S0 : CT_CS_OTH;
	}
	rst = first_rst(h);
	if (rst >= 0)
		return rst == (int)o ? CT_CS_RSTO : CT_CS_RSTR;
	if (ct_history_seen(h, o, CT_H_FIN))
		return ct_history_seen(h, r, CT_H_FIN) ? CT_CS_SF : CT_CS_S2;
	if (ct_history_seen(h, r, CT_H_FIN))
		return CT_CS_S3;
	return CT_CS_S1;
}
