/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CONC_TEST_H
#define CONC_TEST_H

/**
 * @file
 * The two builds of a multi-threaded test (test/unit/meson.build's concurrency_tests): a
 * Criterion test in suite 'unit' normally, and under ThreadSanitizer a program of its own
 * (STANDALONE; Criterion's runner cannot place its shared arena next to TSan's shadow mappings,
 * "Could not initialize inheritable arena", and crashes). CHECK(cond, fmt, ...) is cr_assert,
 * or print and exit(1) standalone; CONC_TEST(suite, fn, up, down) makes fn the test: main()
 * running up, fn, down standalone, else a Criterion suite with up as init and down as fini.
 * conc_eal_up() and conc_eal_down() start and stop EAL on the two lcores such a test uses;
 * conc_now_ns() is the monotonic clock the tests time their runs with.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "tl_eal.h"

#if defined(__SANITIZE_THREAD__)
#define STANDALONE 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STANDALONE 1
#endif
#endif

#ifdef STANDALONE
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond);                 \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define CONC_TEST(suite, fn, up, down)                                                             \
	int main(void)                                                                             \
	{                                                                                          \
		up();                                                                              \
		fn();                                                                              \
		down();                                                                            \
		return 0;                                                                          \
	}
#else
#include <criterion/criterion.h>
#define CHECK(...) cr_assert(__VA_ARGS__)

#define CONC_TEST(suite, fn, up, down)                                                             \
	TestSuite(suite, .init = up, .fini = down);                                                \
	Test(suite, fn)                                                                            \
	{                                                                                          \
		fn();                                                                              \
	}
#endif

/* EAL on lcores 0 and 1 (test/lib's tl_eal_up(), 512 MB), checked. */
static inline void
conc_eal_up(const char *name)
{
	CHECK(tl_eal_up(name, "0-1", 512) == 0, "rte_eal_init: %s", rte_strerror(rte_errno));
	CHECK(rte_lcore_count() >= 2, "needs two lcores (-l 0-1)");
}

static inline void
conc_eal_down(void)
{
	rte_eal_cleanup();
}

/* Nanoseconds of CLOCK_MONOTONIC. */
static inline uint64_t
conc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* CONC_TEST_H */
