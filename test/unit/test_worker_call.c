/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Requests from other threads to a worker (ct_worker_call() / ct_worker_serve(), EAL without
 * hugepages; the test's main thread serves, pthreads post): a request runs exactly once, on the
 * thread that serves it, and its caller gets its function's value, negative ones too; with
 * nobody serving, a call returns -ETIMEDOUT after about its timeout and the request never runs,
 * not even when the worker serves later; two threads posting at once are served one request at
 * a time, each caller getting its own request's value.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "ct_worker.h"
#include "tl_eal.h"

static void
eal_up(void)
{
	cr_assert_eq(tl_eal_up("test_worker_call", "0", 256), 0, "rte_eal_init: %s",
	             rte_strerror(rte_errno));
}

static void
eal_down(void)
{
	rte_eal_cleanup();
}

TestSuite(worker, .init = eal_up, .fini = eal_down, .timeout = 60);

static struct ct_worker *
worker_new(const char *name)
{
	struct ct_worker_params p = {.name = name, .capacity = 64, .socket_id = SOCKET_ID_ANY};
	struct ct_worker *w = ct_worker_create(&p);

	cr_assert_not_null(w, "ct_worker_create: %s", rte_strerror(rte_errno));
	return w;
}

/* One request: where and how often it ran, what it returns. */
struct req {
	int want;         /* fn's return value */
	uint32_t runs;    /* atomic: times fn ran */
	pthread_t ran_on; /* the thread it ran on (written by fn) */
};

static int
req_fn(struct ct_worker *w, void *arg)
{
	struct req *r = arg;

	(void)w;
	r->ran_on = pthread_self();
	__atomic_add_fetch(&r->runs, 1, __ATOMIC_RELAXED);
	return r->want;
}

/* A thread that posts @p n requests (each its own struct req) and records what they returned. */
struct poster {
	struct ct_worker *w;
	struct req *reqs;
	unsigned int n;
	uint32_t timeout_ms;
	unsigned int wrong; /* calls whose result was not their own fn's value */
	int last;           /* the last call's result */
	bool done;          /* atomic */
	pthread_t th;
};

static void *
poster_main(void *arg)
{
	struct poster *p = arg;

	for (unsigned int i = 0; i < p->n; i++) {
		p->last = ct_worker_call(p->w, req_fn, &p->reqs[i], p->timeout_ms);
		p->wrong += p->last != p->reqs[i].want;
	}
	__atomic_store_n(&p->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void
poster_start(struct poster *p, struct ct_worker *w, struct req *reqs, unsigned int n)
{
	*p = (struct poster){.w = w, .reqs = reqs, .n = n, .timeout_ms = 10000};
	cr_assert_eq(pthread_create(&p->th, NULL, poster_main, p), 0);
}

static bool
poster_done(struct poster *p)
{
	return __atomic_load_n(&p->done, __ATOMIC_ACQUIRE);
}

static uint64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

Test(worker, call_runs_once_on_the_serving_thread_and_returns_its_value)
{
	struct ct_worker *w = worker_new("w_call");
	struct req reqs[2] = {{.want = 42}, {.want = -EBUSY}};
	struct poster p;
	unsigned int served = 0;

	poster_start(&p, w, reqs, 2);
	while (!poster_done(&p))
		served += (unsigned int)ct_worker_serve(w);
	cr_assert_eq(pthread_join(p.th, NULL), 0);
	cr_assert_eq(served, 2, "serve ran %u requests, want 2", served);
	cr_assert_eq(p.wrong, 0, "a call did not return its fn's value");
	cr_assert_eq(p.last, -EBUSY, "a negative value comes back as it is");
	for (unsigned int i = 0; i < 2; i++) {
		cr_assert_eq(reqs[i].runs, 1, "request %u ran %u times", i, reqs[i].runs);
		cr_assert(pthread_equal(reqs[i].ran_on, pthread_self()),
		          "request %u ran on the posting thread, not the serving one", i);
	}
	for (unsigned int i = 0; i < 100; i++)
		cr_assert_eq(ct_worker_serve(w), 0, "nothing is pending any more");
	cr_assert_eq(reqs[0].runs + reqs[1].runs, 2);
	ct_worker_free(w);
}

Test(worker, call_times_out_when_nobody_serves_and_never_runs_late)
{
	struct ct_worker *w = worker_new("w_tmo");
	struct req r = {.want = 7};
	uint64_t t0 = ms_now(), took;
	int ret;

	ret = ct_worker_call(w, req_fn, &r, 100);
	took = ms_now() - t0;
	cr_assert_eq(ret, -ETIMEDOUT, "nobody serves: want -ETIMEDOUT, got %d", ret);
	cr_assert_geq(took, 100, "gave up after %" PRIu64 " ms, before its timeout", took);
	cr_assert_lt(took, 1100, "gave up after %" PRIu64 " ms, long after its timeout", took);
	for (unsigned int i = 0; i < 100; i++)
		cr_assert_eq(ct_worker_serve(w), 0, "a request taken back is not pending");
	cr_assert_eq(__atomic_load_n(&r.runs, __ATOMIC_RELAXED), 0, "a timed-out request ran");
	/* the slot is usable again */
	{
		struct poster p;

		r.want = 8;
		poster_start(&p, w, &r, 1);
		while (!poster_done(&p))
			ct_worker_serve(w);
		cr_assert_eq(pthread_join(p.th, NULL), 0);
		cr_assert_eq(p.last, 8);
		cr_assert_eq(r.runs, 1);
	}
	ct_worker_free(w);
}

Test(worker, two_posting_threads_are_served_one_request_at_a_time)
{
	enum { N = 200 };
	static struct req ra[N], rb[N];
	struct ct_worker *w = worker_new("w_two");
	struct req a = {.want = 1}, b = {.want = 2};
	struct poster pa, pb;
	unsigned int served = 0, spins = 0;

	/* Both post while nobody serves: one request waits in the slot, the other caller waits
	 * for it; neither runs yet. */
	poster_start(&pa, w, &a, 1);
	poster_start(&pb, w, &b, 1);
	usleep(100 * 1000);
	cr_assert_eq(a.runs + b.runs, 0, "a request ran with nobody serving");
	/* One serve runs exactly one of them. */
	while (ct_worker_serve(w) == 0)
		cr_assert_lt(++spins, 100000000u, "no request was posted");
	cr_assert_eq(a.runs + b.runs, 1, "one serve ran %u requests", a.runs + b.runs);
	while (!poster_done(&pa) || !poster_done(&pb))
		ct_worker_serve(w);
	cr_assert_eq(pthread_join(pa.th, NULL), 0);
	cr_assert_eq(pthread_join(pb.th, NULL), 0);
	cr_assert_eq(a.runs, 1);
	cr_assert_eq(b.runs, 1);
	cr_assert_eq(pa.last, 1, "caller A got %d", pa.last);
	cr_assert_eq(pb.last, 2, "caller B got %d", pb.last);

	/* Many calls from both at once: each runs once and its caller gets its own value. */
	for (unsigned int i = 0; i < N; i++) {
		ra[i] = (struct req){.want = (int)i};
		rb[i] = (struct req){.want = -(int)i - 1};
	}
	poster_start(&pa, w, ra, N);
	poster_start(&pb, w, rb, N);
	while (!poster_done(&pa) || !poster_done(&pb))
		served += (unsigned int)ct_worker_serve(w);
	cr_assert_eq(pthread_join(pa.th, NULL), 0);
	cr_assert_eq(pthread_join(pb.th, NULL), 0);
	cr_assert_eq(served, 2 * N);
	cr_assert_eq(pa.wrong + pb.wrong, 0, "a caller got another request's value");
	for (unsigned int i = 0; i < N; i++)
		cr_assert(ra[i].runs == 1 && rb[i].runs == 1, "request %u ran %u and %u times", i,
		          ra[i].runs, rb[i].runs);
	ct_worker_free(w);
}
