/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_TEXT_H
#define CT_TEXT_H

/**
 * @file
 * A bounded text writer for the formats the exporter writes once per ended flow (the flow-end
 * JSON line) and the listings write once per flow: literals, strings, decimal numbers and IPv4
 * addresses appended to a caller's buffer, with no stdio in between. A worker ends up to a
 * million flows a second, and the exporter thread writes a line for each: with fprintf() and
 * inet_ntop() a line cost it 18 000 instructions, with these appends and one fwrite() 3 100
 * (callgrind, lifecycle records; bench/README.md).
 *
 * Thread-safety: a struct ct_text belongs to its caller.
 *
 * Design: every append checks the room left; one that does not fit writes nothing more and sets
 * ct_text::full, so a caller tests once at the end. The buffer is never NUL-terminated by the
 * appends (ct_text_len() gives the length). No EAL dependency.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest IPv4 address text, without a NUL ("255.255.255.255"). */
#define CT_TEXT_IP4_LEN 15

/** A buffer being written. */
struct ct_text {
	char *p;   /**< next byte to write */
	char *end; /**< one past the buffer */
	bool full; /**< an append did not fit (it and every later one wrote nothing) */
};

/** Start writing at @p buf of @p size bytes. */
static inline void
ct_text_init(struct ct_text *t, char *buf, size_t size)
{
	t->p = buf;
	t->end = buf + size;
	t->full = false;
}

/** Append the @p n bytes at @p s. */
static inline void
ct_text_put(struct ct_text *t, const char *s, size_t n)
{
	if (t->full || (size_t)(t->end - t->p) < n) {
		t->full = true;
		return;
	}
	memcpy(t->p, s, n);
	t->p += n;
}

/** Append a string literal (its length known when compiling). */
#define ct_text_lit(t, s) ct_text_put((t), "" s, sizeof(s) - 1)

/** Append the NUL-terminated @p s. */
static inline void
ct_text_str(struct ct_text *t, const char *s)
{
	ct_text_put(t, s, strlen(s));
}

/** Append one character. */
static inline void
ct_text_char(struct ct_text *t, char c)
{
	ct_text_put(t, &c, 1);
}

/** Append @p v in decimal, at least @p min_digits digits (zeros in front), as %0*llu does. */
void ct_text_u64_pad(struct ct_text *t, uint64_t v, unsigned int min_digits);

/** Append @p v in decimal, as %llu does. */
static inline void
ct_text_u64(struct ct_text *t, uint64_t v)
{
	ct_text_u64_pad(t, v, 1);
}

/**
 * Write the IPv4 address of the 4 bytes at @p a (network order) in dotted decimal, as
 * inet_ntop(AF_INET) does, into @p out (at least CT_TEXT_IP4_LEN bytes, no NUL written).
 * @return its length.
 */
size_t ct_text_ip4_format(const uint8_t *a, char *out);

/** Bytes written so far. */
static inline size_t
ct_text_len(const struct ct_text *t, const char *buf)
{
	return (size_t)(t->p - buf);
}

#ifdef __cplusplus
}
#endif

#endif /* CT_TEXT_H */
