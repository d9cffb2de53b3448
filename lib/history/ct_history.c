/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * History strings and conn_state (ct_history.h). Appending happens only when a packet brings a
 * kind its direction had not sent yet: at most 12 times in a flow's life, one step per new letter.
 */

#include "ct_history.h"

/* Letters seen, counted: bits set in a 6-bit mask. */
static unsigned int
count6(unsigned int m)
{
	static const uint8_t n[64] = {
	        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 1, 2, 2, 3, 2, 3,
	        3, 4, 2, 3, 3, 4, 3, 4, 4, 5, 1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4,
	        3, 4, 4, 5, 2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5, 5, 6,
	};

	return n[m & 63];
}

static unsigned int
count(const struct ct_history *h)
{
	return count6(h->seen[0]) + count6(h->seen[1]);
}

static unsigned int
code_at(const struct ct_history *h, unsigned int i)
{
	return (h->code[i / 2] >> (4 * (i % 2))) & 0xfu;
}

void
ct_history_append(struct ct_history *h, unsigned int dir, unsigned int letters)
{
	unsigned int d = dir & 1;
	unsigned int add = letters & ~(unsigned int)h->seen[d] & ((1u << CT_H_MAX) - 1);
	unsigned int n = count(h);

	/* Within one packet, letter order: the handshake letter, ACK or data, FIN, RST. */
	while (add != 0) {
		unsigned int l = (unsigned int)__builtin_ctz(add);

		add &= add - 1;
		h->code[n / 2] |= (uint8_t)((l + CT_H_MAX * d) << (4 * (n % 2)));
		h->seen[d] |= (uint8_t)(1u << l);
		n++;
	}
}

char *
ct_history_format(const struct ct_history *h, char *buf, size_t size)
{
	unsigned int n = count(h), i;

	if (size == 0)
		return buf;
	for (i = 0; i < n && i + 1 < size; i++) {
		unsigned int code = code_at(h, i);
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
		unsigned int code = code_at(h, i);

		if (code % CT_H_MAX == CT_H_RST)
			return (int)(code / CT_H_MAX);
	}
	return -1;
}

enum ct_conn_state
ct_history_conn_state_tcp(const struct ct_history *h)
{
	const unsigned int o = CT_DIR_ORIG, r = CT_DIR_REPLY;
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
		return h->seen[r] == 0 ? CT_CS_S0 : CT_CS_OTH;
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
