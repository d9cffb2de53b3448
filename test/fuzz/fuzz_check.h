/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * CHECK() for the libFuzzer harnesses: a broken invariant prints where and what, then aborts,
 * which libFuzzer reports as a crash with the input saved as a reproducer.
 */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif /* FUZZ_CHECK_H */
