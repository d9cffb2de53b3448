/* SPDX-License-Identifier: BSD-3-Clause */
/* The number and address appends of ct_text.h. */

#include <string.h>

#include "ct_text.h"

/* "00" to "99" back to back: two digits per division. */
static const char digits2[201] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";

void
ct_text_u64_pad(struct ct_text *t, uint64_t v, unsigned int min_digits)
{
	char tmp[20]; /* UINT64_MAX has 20 digits */
	unsigned int i = sizeof(tmp);

	while (v >= 100) {
		unsigned int r = (unsigned int)(v % 100);

		v /= 100;
		i -= 2;
		memcpy(tmp + i, digits2 + 2 * r, 2);
	}
	if (v >= 10) {
		i -= 2;
		memcpy(tmp + i, digits2 + 2 * v, 2);
	} else {
		tmp[--i] = (char)('0' + v);
	}
	while (sizeof(tmp) - i < min_digits && i > 0)
		tmp[--i] = '0';
	ct_text_put(t, tmp + i, sizeof(tmp) - i);
}

size_t
ct_text_ip4_format(const uint8_t *a, char *out)
{
	size_t n = 0;

	for (unsigned int i = 0; i < 4; i++) {
		unsigned int b = a[i];

		if (i != 0)
			out[n++] = '.';
		if (b >= 100)
			out[n++] = (char)('0' + b / 100);
		if (b >= 10)
			out[n++] = (char)('0' + b / 10 % 10);
		out[n++] = (char)('0' + b % 10);
	}
	return n;
}
