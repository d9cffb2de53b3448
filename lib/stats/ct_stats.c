/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Names and help strings of the per-lcore counters (ct_stats.h), generated from the
 * counter X-macro and the parse and FSM reason X-macros so a listing can never disagree with
 * the struct, and the element-wise sum over lcores.
 */

#include <stddef.h>
#include <string.h>

#include "ct_stats.h"

static const char *const names[CT_STATS_N] = {
#define X(n, h) [CT_STATS_##n] = #n,
        CT_STATS_COUNTERS(X)
#undef X
#define X(e, n, h) [CT_STATS_PARSE_BASE + CT_PARSE_##e] = "parse_" n,
                CT_PARSE_REASONS(X)
#undef X
#define X(e, n, h) [CT_STATS_REASON_BASE + CT_R_##e] = "invalid_" n,
                        CT_TCP_REASONS(X)
#undef X
#define X(e, n, h) [CT_STATS_L4REASON_BASE + CT_L4R_##e] = "invalid_" n,
                                CT_L4_REASONS(X)
#undef X
};

static const char *const helps[CT_STATS_N] = {
#define X(n, h) [CT_STATS_##n] = h,
        CT_STATS_COUNTERS(X)
#undef X
#define X(e, n, h) [CT_STATS_PARSE_BASE + CT_PARSE_##e] = h,
                CT_PARSE_REASONS(X)
#undef X
#define X(e, n, h) [CT_STATS_REASON_BASE + CT_R_##e] = h,
                        CT_TCP_REASONS(X)
#undef X
#define X(e, n, h) [CT_STATS_L4REASON_BASE + CT_L4R_##e] = h,
                                CT_L4_REASONS(X)
#undef X
};

_Static_assert(sizeof(struct ct_lcore_stats) >= CT_STATS_N * sizeof(uint64_t),
               "ct_lcore_stats must hold CT_STATS_N counters");
_Static_assert(offsetof(struct ct_lcore_stats, parse) == CT_STATS_PARSE_BASE * sizeof(uint64_t),
               "parse counters must follow the named ones");
_Static_assert(offsetof(struct ct_lcore_stats, reason) == CT_STATS_REASON_BASE * sizeof(uint64_t),
               "reason counters must follow the parse ones");
_Static_assert(offsetof(struct ct_lcore_stats, l4reason) ==
                       CT_STATS_L4REASON_BASE * sizeof(uint64_t),
               "L4 reason counters must follow the FSM ones");

/*
 * The writer increments with plain stores (no atomics on the per-packet path); this read is the
 * one racy access, so it alone is kept out of ThreadSanitizer's view. Atomic loads also keep the
 * compiler from turning the loop into a memcpy call, which TSan would intercept.
 */
__attribute__((no_sanitize("thread"))) void
ct_stats_read(struct ct_lcore_stats *dst, const struct ct_lcore_stats *src)
{
	uint64_t *d = (uint64_t *)dst;
	const uint64_t *s = (const uint64_t *)src;

	for (unsigned int i = 0; i < CT_STATS_N; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

void
ct_stats_sum(struct ct_lcore_stats *out, const struct ct_lcore_stats *const *in, unsigned int n)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < n; i++)
		if (in[i] != NULL)
			ct_stats_add(out, in[i]);
}

const char *
ct_stats_name(unsigned int i)
{
	return i < CT_STATS_N ? names[i] : NULL;
}

const char *
ct_stats_help(unsigned int i)
{
	return i < CT_STATS_N ? helps[i] : NULL;
}
