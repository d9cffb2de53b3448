/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_HISTORY_H
#define CT_HISTORY_H

/**
 * @file
 * A flow's history as Zeek's conn.log writes it: one letter per kind of packet each side sent,
 * upper case for the originator (the client) and lower case for the responder, each letter at
 * most once per direction, in the order they first happened, and the conn_state summary (S0,
 * S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH) that follows from it. The
 * letters (Zeek's meanings, docs/export.md):
 *
 *   S  a SYN without ACK          H  a SYN+ACK
 *   A  a pure ACK (no payload)    D  a packet with payload (UDP, ICMP, other: every payload)
 *   F  a FIN                      R  an RST
 *
 * Zeek's `c` (bad checksum) is not there: synfin verifies no checksum. One packet may add
 * several letters (a FIN with data: D then F).
 *
 * Thread-safety: a struct ct_history belongs to its flow's worker; the functions are pure.
 *
 * Design: 8 bytes per flow: the order as 4-bit codes (12 kinds: 6 letters x 2 directions) and a
 * byte of letters seen per direction, so ct_history_add() is a load, a test and a branch not
 * taken once every kind the flow sends has been seen (the common case); the letters of a
 * segment come from a 16-entry table.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ct_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The letters in code order (code = letter index + 6 * direction). */
#define CT_HISTORY_LETTERS "SHADFR"

/** Kinds of packet: bit i of a letter mask is letter CT_HISTORY_LETTERS[i]. */
enum ct_history_letter {
	CT_H_SYN = 0,
	CT_H_SYNACK,
	CT_H_ACK,
	CT_H_DATA,
	CT_H_FIN,
	CT_H_RST,
	CT_H_MAX
};

/** Longest history string, without its NUL: every kind, both directions. */
#define CT_HISTORY_LEN (2 * CT_H_MAX)

/** Size of a buffer for ct_history_format(). */
#define CT_HISTORY_SIZE (CT_HISTORY_LEN + 1)

/**
 * The codes in order, two 4-bit codes a byte (the first in the low nibble of code[0]), and per
 * direction the letters seen (bit = letter). Zero: nothing seen.
 */
struct ct_history {
	uint8_t code[CT_HISTORY_LEN / 2];
	uint8_t seen[CT_DIR_MAX];
};
#ifndef __cplusplus
_Static_assert(sizeof(struct ct_history) == 8 && offsetof(struct ct_history, seen) == 6,
               "ct_history_add() reads the history as one 64-bit word");
#endif

/* Letters of the flag combinations of FIN, SYN, RST (bits 0..2) and ACK (bit 3), no payload. */
#define CT_HISTORY_SYN_L(f, a) ((f)&CT_TCPF_SYN ? ((a) ? 1u << CT_H_SYNACK : 1u << CT_H_SYN) : 0u)
#define CT_HISTORY_L(f, a)                                                                         \
	(CT_HISTORY_SYN_L(f, a) | ((f)&CT_TCPF_FIN ? 1u << CT_H_FIN : 0u) |                        \
	 ((f)&CT_TCPF_RST ? 1u << CT_H_RST : 0u) | ((a) && !(f) ? 1u << CT_H_ACK : 0u))

/** The letter mask of a TCP segment of @p len payload bytes with flags @p flags (CT_TCPF_*). */
static inline unsigned int
ct_history_tcp_letters(uint8_t flags, uint16_t len)
{
	/* index: FIN SYN RST ACK (flags bits 0, 1, 2, 4) */
	static const uint8_t tbl[16] = {
	        CT_HISTORY_L(0, 0), CT_HISTORY_L(1, 0), CT_HISTORY_L(2, 0), CT_HISTORY_L(3, 0),
	        CT_HISTORY_L(4, 0), CT_HISTORY_L(5, 0), CT_HISTORY_L(6, 0), CT_HISTORY_L(7, 0),
	        CT_HISTORY_L(0, 1), CT_HISTORY_L(1, 1), CT_HISTORY_L(2, 1), CT_HISTORY_L(3, 1),
	        CT_HISTORY_L(4, 1), CT_HISTORY_L(5, 1), CT_HISTORY_L(6, 1), CT_HISTORY_L(7, 1),
	};
	unsigned int m = tbl[(flags & 0x07) | (flags & CT_TCPF_ACK) >> 1];

	/* payload: D instead of a pure ACK's A */
	return len != 0 ? (m & ~(1u << CT_H_ACK)) | 1u << CT_H_DATA : m;
}

/**
 * Append what was not seen yet of @p letters (a mask) sent in direction @p dir, one byte at a
 * time: the portable form of ct_history_add(), which test_history checks it against.
 */
void ct_history_append(struct ct_history *h, unsigned int dir, unsigned int letters);

/**
 * Record a packet of direction @p dir (enum ct_dir) whose kinds are @p letters. A packet that
 * brings no new kind is one load, a test and a branch. A new one is appended in a register: on a
 * little-endian machine the 8 bytes are one word whose code i sits at bits 4i (code[i / 2], low
 * nibble first) and whose seen[] bytes are bits 48..63, so the count of letters so far is a
 * popcount of the top 16 bits.
 */
static inline void
ct_history_add(struct ct_history *h, unsigned int dir, unsigned int letters)
{
	unsigned int d = dir & 1;
	unsigned int add = letters & ~(unsigned int)h->seen[d] & ((1u << CT_H_MAX) - 1);

	if (__builtin_expect(add == 0, 1))
		return;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	{
		uint64_t v;
		unsigned int n;

		memcpy(&v, h, sizeof(v));
		n = (unsigned int)__builtin_popcountll(v >> 48);
		v |= (uint64_t)add << (48 + 8 * d);
		/* Within one packet, letter order: the handshake letter, ACK or data, FIN, RST. */
		do {
			unsigned int l = (unsigned int)__builtin_ctz(add);

			add &= add - 1;
			v |= (uint64_t)(l + CT_H_MAX * d) << (4 * n++);
		} while (add != 0);
		memcpy(h, &v, sizeof(v));
	}
#else
	ct_history_append(h, d, add);
#endif
}

/** Whether letter @p l of direction @p dir was seen. */
static inline int
ct_history_seen(const struct ct_history *h, unsigned int dir, enum ct_history_letter l)
{
	return (h->seen[dir & 1] >> l) & 1;
}

/** Write the history string (at most CT_HISTORY_LEN letters + NUL) into @p buf. @return buf. */
char *ct_history_format(const struct ct_history *h, char *buf, size_t size);

/** Zeek's connection state summaries. X(suffix, name, meaning). */
#define CT_CONN_STATES(X)                                                                          \
	X(S0, "S0", "connection attempt seen, no reply")                                           \
	X(S1, "S1", "established, not terminated")                                                 \
	X(SF, "SF", "normal establishment and termination")                                        \
	X(REJ, "REJ", "connection attempt rejected")                                               \
	X(S2, "S2", "established, close attempt by the originator, no reply")                      \
	X(S3, "S3", "established, close attempt by the responder, no reply")                       \
	X(RSTO, "RSTO", "established, the originator aborted (RST)")                               \
	X(RSTR, "RSTR", "established, the responder aborted (RST)")                                \
	X(RSTOS0, "RSTOS0", "originator sent a SYN then an RST, no SYN+ACK seen")                  \
	X(RSTRH, "RSTRH", "responder sent a SYN+ACK then an RST, no SYN seen")                     \
	X(SH, "SH", "originator sent a SYN then a FIN, no SYN+ACK seen")                           \
	X(SHR, "SHR", "responder sent a SYN+ACK then a FIN, no SYN seen")                          \
	X(OTH, "OTH", "no SYN seen: midstream traffic")

enum ct_conn_state {
#define X(e, n, h) CT_CS_##e,
	CT_CONN_STATES(X)
#undef X
	        CT_CS_MAX
};

/** Name of a conn_state ("?" if out of range). */
const char *ct_conn_state_name(unsigned int cs);

/**
 * conn_state of a TCP flow from its history (docs/export.md has the rules).
 * @param h  the flow's history
 */
enum ct_conn_state ct_history_conn_state_tcp(const struct ct_history *h);

/**
 * conn_state of a flow that is not TCP, as Zeek gives UDP and ICMP: SF when both directions sent
 * packets, S0 when only the originator did.
 */
static inline enum ct_conn_state
ct_history_conn_state_l4(uint64_t reply_pkts)
{
	return reply_pkts != 0 ? CT_CS_SF : CT_CS_S0;
}

#ifdef __cplusplus
}
#endif

#endif /* CT_HISTORY_H */
