/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the hierarchical timing wheel (lib/timer). Records are a small struct with the
 * node embedded at a non-zero offset, as in the flow table, and their own deadline, which the
 * wheel's deadline callback reads (the wheel stores none). Covers deadline order, exactness at
 * tick resolution (never before the deadline, always at the first call that reaches it) for
 * random deadlines on every level, stop and restart (across levels and from the pending list),
 * bounded expiry that resumes without loss or duplicates, one million timers drained with sparse
 * time jumps, flow-sized timeouts at 1 ms ticks (TIME_WAIT, 5 days), past deadlines, deadlines
 * beyond the 2^32-tick range (re-filed at the top level's cascade, still exact), lazy re-arm by
 * the callback at cascade time, reset, argument checks, and a random sequence of operations
 * checked against a reference model. Hot loops check with plain branches and fail with the first
 * bad case, so passing assertions do not dominate the run time.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ct_timer.h"

#define REQUIRE(cond, ...)                                                                         \
	do {                                                                                       \
		if (!(cond))                                                                       \
			cr_assert_fail(__VA_ARGS__);                                               \
	} while (0)

/* A record with the timer node at a non-zero offset and a stride that is not a power of two. */
struct rec {
	uint64_t deadline; /* the owner's deadline: what the callback reports */
	uint32_t fired;    /* times returned by expire */
	uint32_t tag;
	struct ct_timer_node tm;
	uint32_t pad;
};

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	/* splitmix64: fixed seeds make every failure reproducible */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A distance in [0, 2^bits) with bits uniform in [0, 32]: every level gets its share. */
static uint64_t
rnd_dist(void)
{
	unsigned int bits = (unsigned int)(rnd() % 33);

	return bits == 0 ? 0 : rnd() & ((UINT64_C(1) << bits) - 1);
}

/* Optional bookkeeping of the deadline callback (its arg). */
struct probe {
	uint32_t calls[8]; /* per record */
	uint64_t last_now; /* the now of the last call */
};

static uint64_t
rec_deadline(const void *record, uint32_t idx, uint64_t now, void *arg)
{
	const struct rec *x = record;
	struct probe *pr = arg;

	if (pr != NULL) {
		REQUIRE(idx < 8 && x->tag == idx, "callback: record of tag %u passed as %u", x->tag,
		        idx);
		pr->calls[idx]++;
		pr->last_now = now;
	}
	return x->deadline;
}

static struct ct_timer_wheel *
make_wheel_probe(struct rec *r, uint32_t n, uint64_t now, struct probe *pr)
{
	struct ct_timer_wheel_params p = {
	        .capacity = n,
	        .base = r,
	        .stride = sizeof(*r),
	        .node_off = offsetof(struct rec, tm),
	        .deadline = rec_deadline,
	        .arg = pr,
	        .now = now,
	};
	struct ct_timer_wheel *w = ct_timer_wheel_create(&p);

	cr_assert_not_null(w, "create(%u) failed: errno %d", n, errno);
	return w;
}

static struct ct_timer_wheel *
make_wheel(struct rec *r, uint32_t n, uint64_t now)
{
	return make_wheel_probe(r, n, now, NULL);
}

/* Start r[i]'s timer for e, the deadline its owner reports from now on. */
static int
arm(struct ct_timer_wheel *w, struct rec *r, uint32_t i, uint64_t e)
{
	r[i].deadline = e;
	return ct_timer_wheel_start(w, i, e);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * Arm r[i] at deadlines[i] for all i, then visit every distinct deadline T in order: a call at
 * T - 1 returns nothing (nothing is due before T), the call(s) at T return exactly the timers of T.
 */
static void
check_exact(struct rec *r, uint32_t n, uint64_t now0, unsigned int max, bool probe_before)
{
	struct ct_timer_wheel *w = make_wheel(r, n, now0);
	uint64_t *sorted = malloc(n * sizeof(*sorted));
	uint32_t *out = malloc((max + 1) * sizeof(*out));

	cr_assert(sorted != NULL && out != NULL);
	for (uint32_t i = 0; i < n; i++) {
		r[i].fired = 0;
		sorted[i] = r[i].deadline;
		cr_assert_eq(arm(w, r, i, r[i].deadline), 0);
	}
	cr_assert_eq(ct_timer_wheel_count(w), n);
	qsort(sorted, n, sizeof(*sorted), cmp_u64);
	for (uint32_t k = 0; k < n;) {
		uint64_t t = sorted[k];
		uint32_t group = 0, got;

		while (k + group < n && sorted[k + group] == t)
			group++;
		if (probe_before && t - 1 >= ct_timer_wheel_now(w)) {
			got = ct_timer_wheel_expire(w, t - 1, out, max);
			REQUIRE(got == 0, "expire(%llu) fired %u timer(s) due at %llu (first %llu)",
			        (unsigned long long)(t - 1), got, (unsigned long long)t,
			        (unsigned long long)(got ? r[out[0]].deadline : 0));
		}
		got = 0;
		for (;;) {
			unsigned int m = ct_timer_wheel_expire(w, t, out, max);

			for (unsigned int i = 0; i < m; i++) {
				struct rec *x = &r[out[i]];

				REQUIRE(x->deadline == t && x->fired == 0,
				        "expire(%llu) returned %u due at %llu (fired %u before)",
				        (unsigned long long)t, out[i],
				        (unsigned long long)x->deadline, x->fired);
				x->fired++;
			}
			got += m;
			if (m < max)
				break;
		}
		REQUIRE(got == group, "tick %llu: %u of %u timers fired", (unsigned long long)t,
		        got, group);
		REQUIRE(ct_timer_wheel_now(w) == t, "now %llu after expire(%llu)",
		        (unsigned long long)ct_timer_wheel_now(w), (unsigned long long)t);
		k += group;
	}
	cr_assert_eq(ct_timer_wheel_count(w), 0);
	for (uint32_t i = 0; i < n; i++)
		REQUIRE(r[i].fired == 1 && ct_timer_wheel_armed(w, i) == 0, "timer %u fired %u", i,
		        r[i].fired);
	ct_timer_wheel_free(w);
	free(sorted);
	free(out);
}

Test(timer, fires_in_deadline_order)
{
	enum { N = 20000 };
	static struct rec r[N];
	static uint32_t out[N];
	const uint64_t now0 = 0xfedcba9876ull;
	struct ct_timer_wheel *w = make_wheel(r, N, now0);

	rng_state = 1;
	for (uint32_t i = 0; i < N; i++) {
		r[i].deadline = now0 + 1 + rnd_dist();
		cr_assert_eq(arm(w, r, i, r[i].deadline), 0);
	}
	cr_assert_eq(ct_timer_wheel_expire(w, now0 + CT_TIMER_RANGE, out, N), N);
	for (uint32_t i = 1; i < N; i++)
		REQUIRE(r[out[i - 1]].deadline <= r[out[i]].deadline,
		        "position %u: deadline %llu after %llu", i,
		        (unsigned long long)r[out[i]].deadline,
		        (unsigned long long)r[out[i - 1]].deadline);
	cr_assert_eq(ct_timer_wheel_count(w), 0);
	ct_timer_wheel_free(w);
}

Test(timer, never_fires_early_and_exactly_at_tick)
{
	enum { N = 30000 };
	static struct rec r[N];
	/* Odd start: no level is at a boundary; a second start sits just below a 2^32 boundary. */
	const uint64_t starts[] = {0x123456789abull, (UINT64_C(7) << 32) - 3, 0};

	for (unsigned int s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		rng_state = 100 + s;
		for (uint32_t i = 0; i < N; i++)
			r[i].deadline = starts[s] + 1 + rnd_dist();
		check_exact(r, N, starts[s], N, true);
	}
}

Test(timer, stop_cancels)
{
	enum { N = 6 };
	struct rec r[N];
	uint32_t out[N];
	struct ct_timer_wheel *w = make_wheel(r, N, 1000);
	/* One timer per level, one already due (pending), one kept. */
	const uint64_t dl[N] = {1000 + 5, 1000 + 300, 1000 + 70000, 1000 + 20000000, 900, 1000 + 6};

	for (uint32_t i = 0; i < N; i++)
		cr_assert_eq(arm(w, r, i, dl[i]), 0);
	cr_assert_eq(ct_timer_wheel_count(w), N);
	for (uint32_t i = 0; i < N - 1; i++) {
		cr_assert_eq(ct_timer_wheel_stop(w, i), 0);
		cr_assert_eq(ct_timer_wheel_armed(w, i), 0);
		cr_assert_eq(ct_timer_wheel_stop(w, i), 0, "stopping twice is a no-op");
	}
	cr_assert_eq(ct_timer_wheel_count(w), 1);
	cr_assert_eq(ct_timer_wheel_armed(w, N - 1), 1);
	cr_assert_eq(ct_timer_wheel_expire(w, 1000 + CT_TIMER_RANGE, out, N), 1);
	cr_assert_eq(out[0], N - 1);
	cr_assert_eq(ct_timer_wheel_count(w), 0);
	ct_timer_wheel_free(w);
}

Test(timer, restart_moves_deadline)
{
	struct rec r[2];
	uint32_t out[2];
	struct ct_timer_wheel *w = make_wheel(r, 2, 0);
	/* Pairs (first deadline, moved deadline): earlier and later, within and across levels. */
	const uint64_t moves[][2] = {
	        {1000, 50},
	        {50, 1000},
	        {5000000, 300},
	        {300, 5000000},
	        {200, 201},
	        {201, 200},
	        {3000000000ull, 70000},
	        {70000, 3000000000ull},
	        {65536, 65535},
	        {16777216, 16777215},
	};

	for (unsigned int m = 0; m < sizeof(moves) / sizeof(moves[0]); m++) {
		uint64_t base = ct_timer_wheel_now(w);
		uint64_t first = base + moves[m][0], moved = base + moves[m][1];

		cr_assert_eq(arm(w, r, 0, first), 0);
		cr_assert_eq(arm(w, r, 0, moved), 0);
		cr_assert_eq(ct_timer_wheel_count(w), 1, "a restart does not add a timer");
		if (first < moved)
			cr_assert_eq(ct_timer_wheel_expire(w, first, out, 2), 0,
			             "move %u fired at the old deadline", m);
		cr_assert_eq(ct_timer_wheel_expire(w, moved - 1, out, 2), 0, "move %u fired early",
		             m);
		cr_assert_eq(ct_timer_wheel_expire(w, moved, out, 2), 1, "move %u did not fire", m);
		cr_assert_eq(out[0], 0);
	}
	/* Restarting a timer that is due (pending) but not yet returned moves it out again. */
	cr_assert_eq(arm(w, r, 0, ct_timer_wheel_now(w) + 10), 0);
	cr_assert_eq(arm(w, r, 1, ct_timer_wheel_now(w) + 10), 0);
	cr_assert_eq(ct_timer_wheel_expire(w, ct_timer_wheel_now(w) + 10, out, 1), 1);
	cr_assert_eq(out[0], 0);
	cr_assert_eq(arm(w, r, 1, ct_timer_wheel_now(w) + 5), 0);
	cr_assert_eq(ct_timer_wheel_expire(w, ct_timer_wheel_now(w) + 4, out, 2), 0);
	cr_assert_eq(ct_timer_wheel_expire(w, ct_timer_wheel_now(w) + 1, out, 2), 1);
	cr_assert_eq(out[0], 1);
	ct_timer_wheel_free(w);
}

Test(timer, expire_bound_resumes_without_loss_or_duplicates)
{
	enum { N = 20000 };
	static struct rec r[N];
	static uint64_t sorted[N];
	uint32_t out[8];
	const unsigned int maxes[] = {1, 7};

	for (unsigned int mi = 0; mi < 2; mi++) {
		const unsigned int max = maxes[mi];
		const uint64_t now0 = 77;
		struct ct_timer_wheel *w = make_wheel(r, N, now0);
		uint32_t due = 0, fired = 0;

		rng_state = 7 + mi;
		for (uint32_t i = 0; i < N; i++) {
			/* Crowded ticks (many timers each) and scattered ones. */
			uint64_t d = (i % 2) ? 1 + (rnd() % 40) * 4096 : 1 + rnd() % 200000;

			r[i].deadline = sorted[i] = now0 + d;
			r[i].fired = 0;
			cr_assert_eq(arm(w, r, i, r[i].deadline), 0);
		}
		qsort(sorted, N, sizeof(*sorted), cmp_u64);
		for (uint64_t now = now0; fired < N; now += 333) {
			unsigned int got;

			do {
				got = ct_timer_wheel_expire(w, now, out, max);
				REQUIRE(got <= max, "got %u > max %u", got, max);
				for (unsigned int i = 0; i < got; i++) {
					struct rec *x = &r[out[i]];

					REQUIRE(x->fired == 0, "timer %u returned twice", out[i]);
					REQUIRE(x->deadline <= now,
					        "timer %u due %llu fired at %llu", out[i],
					        (unsigned long long)x->deadline,
					        (unsigned long long)now);
					x->fired = 1;
				}
				fired += got;
			} while (got == max);
			while (due < N && sorted[due] <= now)
				due++;
			/* A call that returns less than max has returned everything due. */
			REQUIRE(fired == due, "at %llu: %u fired, %u due", (unsigned long long)now,
			        fired, due);
			REQUIRE(ct_timer_wheel_count(w) == N - fired, "count %u, %u armed",
			        ct_timer_wheel_count(w), N - fired);
		}
		ct_timer_wheel_free(w);
	}
}

Test(timer, stop_while_pending_after_bound_is_not_returned)
{
	struct rec r[4];
	uint32_t out[4];
	struct ct_timer_wheel *w = make_wheel(r, 4, 0);

	for (uint32_t i = 0; i < 4; i++)
		cr_assert_eq(arm(w, r, i, 100), 0);
	cr_assert_eq(ct_timer_wheel_expire(w, 100, out, 1), 1);
	cr_assert_eq(out[0], 0);
	cr_assert_eq(ct_timer_wheel_armed(w, 2), 1, "due but not yet returned: still armed");
	cr_assert_eq(ct_timer_wheel_stop(w, 2), 0);
	cr_assert_eq(ct_timer_wheel_expire(w, 100, out, 4), 2);
	cr_assert_eq(out[0], 1);
	cr_assert_eq(out[1], 3);
	cr_assert_eq(ct_timer_wheel_count(w), 0);
	ct_timer_wheel_free(w);
}

Test(timer, one_million_timers, .timeout = 60)
{
	enum { N = 1000000 };
	struct rec *r = calloc(N, sizeof(*r));

	cr_assert_not_null(r);
	rng_state = 42;
	/* Random deadlines on every level; the walk jumps from one distinct deadline to the next. */
	for (uint32_t i = 0; i < N; i++)
		r[i].deadline = 5000000000ull + 1 + rnd_dist();
	check_exact(r, N, 5000000000ull, 4096, false);
	free(r);
}

Test(timer, long_timeouts_cross_levels)
{
	/* 1 ms ticks: TIME_WAIT 240 s, a day, an established flow's 5 days, 2^32 - 1 (sorted). */
	const uint64_t timeouts[] = {240000, 86400000, 432000000, 4294967295ull};
	enum { N = sizeof(timeouts) / sizeof(timeouts[0]) };
	struct rec r[N];
	uint32_t out[N];
	const uint64_t now0 = 1700000000123ull; /* a wall clock in ms */
	struct ct_timer_wheel *w = make_wheel(r, N, now0);
	uint64_t now = now0;

	for (uint32_t i = 0; i < N; i++) {
		r[i].deadline = now0 + timeouts[i];
		r[i].fired = 0;
		cr_assert_eq(arm(w, r, i, r[i].deadline), 0);
	}
	/* A poll loop that advances an irregular few seconds per call. */
	while (ct_timer_wheel_count(w) > 0) {
		unsigned int got;

		now += 1000 + rnd() % 9000;
		got = ct_timer_wheel_expire(w, now, out, N);
		for (unsigned int i = 0; i < got; i++) {
			struct rec *x = &r[out[i]];

			REQUIRE(x->deadline <= now && x->deadline > now - 10000 && x->fired == 0,
			        "timer %u (deadline %llu) fired at %llu", out[i],
			        (unsigned long long)x->deadline, (unsigned long long)now);
			x->fired = 1;
		}
		for (uint32_t i = 0; i < N; i++)
			REQUIRE(r[i].fired == (r[i].deadline <= now), "timer %u at %llu", i,
			        (unsigned long long)now);
	}
	/* The same deadlines reached in single jumps, probed one tick before. */
	ct_timer_wheel_reset(w, now0);
	for (uint32_t i = 0; i < N; i++)
		cr_assert_eq(arm(w, r, i, now0 + timeouts[i]), 0);
	for (uint32_t i = 0; i < N; i++) {
		cr_assert_eq(ct_timer_wheel_expire(w, now0 + timeouts[i] - 1, out, N), 0);
		cr_assert_eq(ct_timer_wheel_expire(w, now0 + timeouts[i], out, N), 1);
		cr_assert_eq(out[0], i);
	}
	ct_timer_wheel_free(w);
}

Test(timer, past_deadline_fires_next_call)
{
	struct rec r[4];
	uint32_t out[4];
	struct ct_timer_wheel *w = make_wheel(r, 4, 0);

	cr_assert_eq(ct_timer_wheel_expire(w, 1000, out, 4), 0);
	cr_assert_eq(ct_timer_wheel_now(w), 1000);
	cr_assert_eq(arm(w, r, 0, 500), 0);
	cr_assert_eq(arm(w, r, 1, 1000), 0);
	cr_assert_eq(arm(w, r, 2, 0), 0);
	cr_assert_eq(arm(w, r, 3, 1001), 0);
	/* The next call fires them even when its now does not advance, or goes back. */
	cr_assert_eq(ct_timer_wheel_expire(w, 10, out, 4), 3);
	cr_assert_eq(out[0], 0);
	cr_assert_eq(out[1], 1);
	cr_assert_eq(out[2], 2);
	cr_assert_eq(ct_timer_wheel_now(w), 1000, "the clock never goes back");
	cr_assert_eq(ct_timer_wheel_expire(w, 1000, out, 4), 0);
	cr_assert_eq(ct_timer_wheel_expire(w, 1001, out, 4), 1);
	cr_assert_eq(out[0], 3);
	ct_timer_wheel_free(w);
}

Test(timer, deadline_beyond_range_is_refiled_and_fires_exactly)
{
	struct rec r[3];
	uint32_t out[3];
	const uint64_t now0 = 10, far = now0 + (UINT64_C(1) << 40) + 12345;
	struct ct_timer_wheel *w = make_wheel(r, 3, now0);

	cr_assert_eq(arm(w, r, 0, far), 0);
	cr_assert_eq(arm(w, r, 1, UINT64_MAX), 0);
	cr_assert_eq(arm(w, r, 2, now0 + CT_TIMER_RANGE), 0); /* just in range */
	cr_assert_eq(ct_timer_wheel_expire(w, now0 + CT_TIMER_RANGE - 1, out, 3), 0);
	cr_assert_eq(ct_timer_wheel_expire(w, now0 + CT_TIMER_RANGE, out, 3), 1);
	cr_assert_eq(out[0], 2);
	/* The far ones were filed at the end of the range and re-filed at the cascade: not due. */
	cr_assert_eq(ct_timer_wheel_armed(w, 0), 1);
	cr_assert_eq(ct_timer_wheel_expire(w, far - 1, out, 3), 0, "fired before its deadline");
	cr_assert_eq(ct_timer_wheel_now(w), far - 1);
	cr_assert_eq(ct_timer_wheel_expire(w, far, out, 3), 1);
	cr_assert_eq(out[0], 0);
	cr_assert_eq(ct_timer_wheel_armed(w, 1), 1, "a never deadline keeps being re-filed");
	cr_assert_eq(ct_timer_wheel_count(w), 1);
	ct_timer_wheel_free(w);
}

/*
 * Lazy re-arm: the owner moves deadlines without touching the wheel. A timer in a high level is
 * filed for its owner's new deadline when it cascades and comes out exactly then, never at the
 * tick it was started for; the callback sees the cascade tick and is never asked about a timer
 * in level 0 (that one comes out at its filed tick and the owner re-checks).
 */
Test(timer, cascade_uses_callback_deadline_lazy_rearm)
{
	struct rec r[4];
	uint32_t out[4];
	struct probe pr;
	const uint64_t now0 = 1000;
	struct ct_timer_wheel *w;

	memset(&pr, 0, sizeof(pr));
	memset(r, 0, sizeof(r));
	for (uint32_t i = 0; i < 4; i++)
		r[i].tag = i;
	w = make_wheel_probe(r, 4, now0, &pr);
	cr_assert_eq(arm(w, r, 0, now0 + 100000), 0);     /* level 2 */
	cr_assert_eq(arm(w, r, 1, now0 + 3000000000), 0); /* level 3 */
	cr_assert_eq(arm(w, r, 2, now0 + 10), 0);         /* level 0 */
	cr_assert_eq(arm(w, r, 3, now0 + 70000), 0);      /* level 2, owner moves it earlier */
	r[0].deadline = now0 + 300000;                    /* packets seen: later */
	r[1].deadline = now0 + 3000000000 + 86400000;     /* a day later */
	r[2].deadline = now0 + 20;
	r[3].deadline = now0 + 69000; /* breaks the contract, still ahead at the cascade */

	cr_assert_eq(ct_timer_wheel_expire(w, now0 + 10, out, 4), 1);
	cr_assert_eq(out[0], 2, "level 0: filed tick, callback not asked");
	cr_assert_eq(pr.calls[2], 0);
	cr_assert_eq(ct_timer_wheel_expire(w, now0 + 69000 - 1, out, 4), 0);
	cr_assert_eq(ct_timer_wheel_expire(w, now0 + 69000, out, 4), 1,
	             "filed for the earlier tick");
	cr_assert_eq(out[0], 3);
	cr_assert_geq(pr.calls[3], 1);
	cr_assert_eq(ct_timer_wheel_expire(w, now0 + 100000, out, 4), 0,
	             "fired at the old deadline");
	cr_assert_geq(pr.calls[0], 1, "cascaded without asking the owner");
	cr_assert_eq(ct_timer_wheel_armed(w, 0), 1);
	cr_assert_eq(ct_timer_wheel_count(w), 2, "a re-filed timer is still one timer");
	cr_assert_eq(ct_timer_wheel_expire(w, now0 + 300000 - 1, out, 4), 0);
	cr_assert_eq(pr.last_now % 256, 0, "callbacks run at cascade ticks");
	cr_assert_eq(ct_timer_wheel_expire(w, now0 + 300000, out, 4), 1);
	cr_assert_eq(out[0], 0);
	cr_assert_leq(pr.calls[0], 3, "asked once per level passed");
	cr_assert_eq(ct_timer_wheel_expire(w, now0 + 3000000000, out, 4), 0);
	cr_assert_eq(ct_timer_wheel_expire(w, r[1].deadline - 1, out, 4), 0);
	cr_assert_eq(ct_timer_wheel_expire(w, r[1].deadline, out, 4), 1);
	cr_assert_eq(out[0], 1);
	cr_assert_eq(ct_timer_wheel_count(w), 0);
	ct_timer_wheel_free(w);
}

Test(timer, reset_disarms_everything)
{
	struct rec r[3];
	uint32_t out[3];
	struct ct_timer_wheel *w = make_wheel(r, 3, 0);

	cr_assert_eq(arm(w, r, 0, 5), 0);
	cr_assert_eq(arm(w, r, 1, 500000), 0);
	cr_assert_eq(ct_timer_wheel_expire(w, 2, out, 3), 0);
	ct_timer_wheel_reset(w, 1000000);
	cr_assert_eq(ct_timer_wheel_count(w), 0);
	cr_assert_eq(ct_timer_wheel_now(w), 1000000);
	for (uint32_t i = 0; i < 3; i++) {
		cr_assert_eq(ct_timer_wheel_armed(w, i), 0);
		cr_assert_eq(r[i].tm.next, CT_TIMER_NONE);
		cr_assert_eq(r[i].tm.prev, CT_TIMER_NONE);
	}
	cr_assert_eq(ct_timer_wheel_expire(w, UINT64_MAX, out, 3), 0);
	ct_timer_wheel_free(w);
}

Test(timer, create_marks_nodes_unlinked_and_checks_arguments)
{
	struct rec r[2];
	struct ct_timer_wheel *w;
	struct ct_timer_wheel_params p = {
	        .capacity = 2,
	        .base = r,
	        .stride = sizeof(r[0]),
	        .node_off = offsetof(struct rec, tm),
	        .deadline = rec_deadline,
	};

	memset(r, 0, sizeof(r)); /* zeroed links would read as "armed at record 0" */
	w = make_wheel(r, 2, 0);
	cr_assert_eq(ct_timer_wheel_armed(w, 0), 0);
	cr_assert_eq(ct_timer_wheel_armed(w, 1), 0);
	cr_assert_eq(ct_timer_wheel_armed(w, 2), -EINVAL);
	cr_assert_eq(ct_timer_wheel_start(w, 2, 1), -EINVAL); /* no r[2] */
	cr_assert_eq(ct_timer_wheel_stop(w, 2), -EINVAL);
	cr_assert_eq(r[0].tag, 0, "only the node is written");
	cr_assert_gt(ct_timer_wheel_memsize(0), 0);
	cr_assert_eq(ct_timer_wheel_memsize(1000000), ct_timer_wheel_memsize(0),
	             "nothing per record");
	ct_timer_wheel_free(w);
	ct_timer_wheel_free(NULL);

	w = ct_timer_wheel_create(&p);
	cr_assert_not_null(w);
	ct_timer_wheel_free(w);
	errno = 0;
	cr_assert_null(ct_timer_wheel_create(NULL));
	cr_assert_eq(errno, EINVAL);
	p.deadline = NULL;
	errno = 0;
	cr_assert_null(ct_timer_wheel_create(&p), "no deadline callback");
	cr_assert_eq(errno, EINVAL);
	p.deadline = rec_deadline;
	p.base = NULL;
	errno = 0;
	cr_assert_null(ct_timer_wheel_create(&p));
	cr_assert_eq(errno, EINVAL);
	p.base = r;
	p.stride = 4;
	errno = 0;
	cr_assert_null(ct_timer_wheel_create(&p), "stride too small for the node");
	cr_assert_eq(errno, EINVAL);
	p.stride = sizeof(r[0]);
	p.node_off = 2;
	errno = 0;
	cr_assert_null(ct_timer_wheel_create(&p), "misaligned node");
	cr_assert_eq(errno, EINVAL);
	p.node_off = offsetof(struct rec, tm);
	p.capacity = CT_TIMER_MAX_CAPACITY + 1;
	errno = 0;
	cr_assert_null(ct_timer_wheel_create(&p));
	cr_assert_eq(errno, EINVAL);
	p.capacity = 0;
	p.base = NULL;
	w = ct_timer_wheel_create(&p);
	cr_assert_not_null(w, "an empty wheel is allowed");
	ct_timer_wheel_free(w);
}

Test(timer, random_operations_match_reference_model)
{
	enum { N = 257, OPS = 300000 };
	static struct rec r[N];
	static bool armed[N];
	uint32_t out[8];
	uint64_t now = 3;
	struct ct_timer_wheel *w = make_wheel(r, N, now);
	uint32_t count = 0;

	rng_state = 99;
	for (unsigned int op = 0; op < OPS; op++) {
		uint32_t i = (uint32_t)(rnd() % N);
		unsigned int kind = (unsigned int)(rnd() % 8);

		if (kind < 4) { /* start: future (every level, sometimes clamped) or past */
			uint64_t wn = ct_timer_wheel_now(w);
			uint64_t e =
			        (kind == 0) ? wn - rnd() % 3 : wn + rnd_dist() * (1 + kind % 2);

			/* Beyond the range too: re-filed at the cascade, still exact. */
			cr_assert_eq(arm(w, r, i, e), 0);
			count += !armed[i];
			armed[i] = true;
		} else if (kind == 4) {
			cr_assert_eq(ct_timer_wheel_stop(w, i), 0);
			count -= armed[i];
			armed[i] = false;
		} else { /* expire after a step of any size, small bound */
			unsigned int max = 1 + (unsigned int)(rnd() % 8), got;

			now += (kind == 5) ? rnd_dist() : rnd() % 300;
			do {
				got = ct_timer_wheel_expire(w, now, out, max);
				for (unsigned int k = 0; k < got; k++) {
					uint32_t x = out[k];

					REQUIRE(armed[x] && r[x].deadline <= now,
					        "op %u: %u returned (armed %d, due %llu, now %llu)",
					        op, x, armed[x], (unsigned long long)r[x].deadline,
					        (unsigned long long)now);
					armed[x] = false;
					count--;
				}
			} while (got == max);
			for (uint32_t k = 0; k < N; k++)
				REQUIRE(!armed[k] || r[k].deadline > now,
				        "op %u: %u due %llu not returned at %llu", op, k,
				        (unsigned long long)r[k].deadline, (unsigned long long)now);
		}
		REQUIRE(ct_timer_wheel_count(w) == count, "op %u: count %u, model %u", op,
		        ct_timer_wheel_count(w), count);
		REQUIRE(ct_timer_wheel_armed(w, i) == armed[i], "op %u: armed(%u)", op, i);
	}
	ct_timer_wheel_free(w);
}
