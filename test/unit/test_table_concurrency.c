/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Concurrency test of the flow table's reader API: a writer on EAL lcore 1 adds, updates,
 * deletes, evicts and expires flows of a small table at full speed (positions are reused all
 * the time) while the reader on the main lcore iterates with ct_table_read_next() and looks up
 * keys with ct_table_read_key(), reporting quiescent states on the table's QSBR variable. Every
 * record carries an invariant bound to its key, written once when the flow is created
 * (bytes_lo[] hold a hash of the key and its complement, the state is never NONE once
 * published): a copy of a record that was freed, reused or not yet initialised breaks it, so
 * the reader checks it on every copy it gets. Runs ~2 s; built in the 'tsan' suite under
 * -Dtsan_tests=true (its own program, conc_test.h), in 'unit' otherwise.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include "conc_test.h"
#include "ct_table.h"
#include "ct_worker.h" /* struct ct_flow, the record */
#include "tl_eal.h"
#include "tl_flow.h"

#define NKEYS    12000 /* three times the capacity: adds keep hitting a full table */
#define CAPACITY 4000
#define TPS      1000
#define RUN_NS   2000000000ull
#define READER   0 /* QSBR thread id of the reader */

static void
eal_up(void)
{
	conc_eal_up("test_table_concurrency");
}

static void
eal_down(void)
{
	conc_eal_down();
}

/* Every timeout 10 s (ticks of 1 ms): the table fills and flows expire. Deletes by the writer
 * are counted through the end callback (the table counts the rest itself). */
static struct ct_table_policy pol;
static struct ct_lcore_stats tst;
static uint64_t deleted;

static void
on_end(void *arg, uint32_t pos, const void *rec, enum ct_table_end why)
{
	(void)arg;
	(void)pos;
	(void)rec;
	deleted += why == CT_TABLE_END_DELETED;
}

struct ctx {
	struct ct_table *t;
	bool stop;            /* atomic */
	uint64_t writer_ops;  /* atomic, written at the end */
	uint64_t writer_errs; /* atomic, written at the end */
	bool done;            /* release-stored last by the writer */
};

static struct ct_flow_key
key_of(uint32_t i)
{
	struct ct_flow_key k;

	memset(&k, 0, sizeof(k));
	k.addr[0][10] = k.addr[0][11] = k.addr[1][10] = k.addr[1][11] = 0xff;
	k.addr[0][12] = 10;
	k.addr[0][13] = (uint8_t)(i >> 16);
	k.addr[0][14] = (uint8_t)(i >> 8);
	k.addr[0][15] = (uint8_t)i;
	k.addr[1][12] = 203;
	k.port[0] = (uint16_t)i;
	k.port[1] = 443;
	k.proto = 6;
	k.family = 4;
	return k;
}

static uint32_t
tag_of(const struct ct_flow_key *k)
{
	return rte_hash_crc(k, sizeof(*k), 0x5eed1234) | 1; /* never 0: a zeroed record fails */
}

static bool
intact(const struct ct_flow_key *k, const struct ct_flow *f)
{
	uint32_t tag = tag_of(k);

	return f->bytes_lo[0] == tag && f->bytes_lo[1] == ~tag && f->tcp.state != CT_S_NONE;
}

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int
writer_main(void *arg)
{
	struct ctx *c = arg;
	struct ct_table *t = c->t;
	uint64_t now = 0, ops = 0, errs = 0, rnd = 0x9e3779b97f4a7c15ull;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		uint64_t r = xorshift(&rnd);
		struct ct_flow_key k = key_of((uint32_t)(r % NKEYS));
		const struct ct_flow_key *kp = &k;
		int32_t pos;

		now++;
		uint32_t sig = ct_table_hash(&k, sizeof(k));
		unsigned int evicted;

		if (ct_table_lookup_bulk(t, (const void *const *)&kp, &sig, 1, &pos) < 0)
			errs++;
		if (pos < 0) {
			pos = ct_table_add(t, &k, sig, now, &evicted);
			if (pos >= 0) {
				struct ct_flow *f = ct_table_rec(t, (uint32_t)pos);

				f->tcp.state = (r >> 32) & 1 ? CT_S_SYN_SENT : CT_S_ESTABLISHED;
				f->bytes_lo[0] = tag_of(&k);
				f->bytes_lo[1] = ~tag_of(&k);
				ct_table_arm(t, (uint32_t)pos, now);
			} else if (pos != -ENOSPC) {
				errs++;
			}
		} else {
			struct ct_flow *f = ct_table_rec(t, (uint32_t)pos);

			if (!intact(&k, f))
				errs++;
			switch ((r >> 40) & 15) {
			case 0:
				ct_table_del(t, (uint32_t)pos);
				break;
			case 1:
				f->tcp.state = CT_S_ESTABLISHED;
				f->last_seen = (uint32_t)now;
				ct_table_arm(t, (uint32_t)pos, now);
				break;
			default: /* a packet: the reader may copy these mid-update */
				f->last_seen = (uint32_t)now;
				f->pkts[CT_DIR_ORIG]++;
				f->tcp.peer[CT_DIR_ORIG].end += 1000;
				ct_flow_bytes_add(f, CT_DIR_REPLY, 0); /* keeps bytes_lo[1] */
				break;
			}
		}
		if ((now & 7) == 0)
			ct_table_expire(t, now, 64);
		ops++;
	}
	__atomic_store_n(&c->writer_ops, ops, __ATOMIC_RELAXED);
	__atomic_store_n(&c->writer_errs, errs, __ATOMIC_RELAXED);
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	return 0;
}

static void
readers_never_see_freed_or_reused_records(void)
{
	for (unsigned int s = 0; s < CT_S_MAX; s++)
		pol.timeout[s] = 10 * TPS;
	pol.embryonic = 1u << CT_S_SYN_SENT;
	struct ct_table_params p =
	        tl_flow_table_params("t_conc", CAPACITY, &pol, &tst, on_end, NULL, 0);
	struct ctx c = {.t = ct_table_create(&p)};
	struct rte_rcu_qsbr *v;
	uint64_t reads = 0, lookups = 0, hits = 0, rounds = 0, bad = 0, rnd = 42, end;
	unsigned int worker = rte_get_next_lcore(-1, 1, 0);

	CHECK(c.t != NULL, "ct_table_create: %s", rte_strerror(rte_errno));
	v = ct_table_qsbr(c.t);
	CHECK(ct_table_reader_register(c.t, READER) == 0, "register");
	CHECK(rte_eal_remote_launch(writer_main, &c, worker) == 0, "launch on lcore %u", worker);

	end = conc_now_ns() + RUN_NS;
	while (conc_now_ns() < end) {
		struct ct_flow_key k;
		struct ct_flow f;
		uint32_t next = 0, n = 0;

		/* A full iteration, quiescent every 32 records. */
		while (ct_table_read_next(c.t, &next, &k, &f) == 0) {
			bad += !intact(&k, &f);
			reads++;
			if (++n % 32 == 0)
				rte_rcu_qsbr_quiescent(v, READER);
		}
		CHECK(ct_table_count(c.t) <= ct_table_capacity(c.t), "count %u",
		      ct_table_count(c.t));
		/* Point lookups. */
		for (unsigned int i = 0; i < 256; i++) {
			k = key_of((uint32_t)(xorshift(&rnd) % NKEYS));
			if (ct_table_read_key(c.t, &k, &f) == 0) {
				bad += !intact(&k, &f);
				hits++;
			}
			lookups++;
		}
		rte_rcu_qsbr_quiescent(v, READER);
		/* Now and then offline for a moment, as an idle control thread would be. */
		if (++rounds % 16 == 0) {
			rte_rcu_qsbr_thread_offline(v, READER);
			rte_rcu_qsbr_thread_online(v, READER);
		}
	}
	__atomic_store_n(&c.stop, true, __ATOMIC_RELAXED);
	CHECK(rte_eal_wait_lcore(worker) == 0, "writer failed");
	/* The table's stats are plain fields: read them after an acquire TSan can see (EAL's
	 * wait is not instrumented). */
	while (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE))
		;

	const struct ct_lcore_stats *st = &tst;
	uint64_t ops = __atomic_load_n(&c.writer_ops, __ATOMIC_RELAXED);
	printf("writer: %" PRIu64 " ops, %" PRIu64 " created, %" PRIu64 " expired, %" PRIu64
	       " deleted, %" PRIu64 " evicted, %" PRIu64 " refused; reader: %" PRIu64
	       " records over %" PRIu64 " rounds, %" PRIu64 "/%" PRIu64 " lookups hit\n",
	       ops, st->flows_created, st->flows_expired, deleted, st->flows_evicted,
	       st->flows_refused, reads, rounds, hits, lookups);
	CHECK(bad == 0, "%" PRIu64 " copies with a broken invariant", bad);
	CHECK(__atomic_load_n(&c.writer_errs, __ATOMIC_RELAXED) == 0,
	      "writer saw a damaged record");
	/* The run must have exercised what it claims to. */
	CHECK(ops > 10000, "writer ops");
	CHECK(reads > 1000, "records read");
	CHECK(hits > 100, "lookup hits");
	CHECK(st->flows_expired > 100, "expired");
	CHECK(deleted > 100, "deleted");
	CHECK(st->flows_created > ct_table_positions(c.t) * 2ull, "positions were not reused");

	CHECK(ct_table_reader_unregister(c.t, READER) == 0, "unregister");
	ct_table_free(c.t);
}

CONC_TEST(table_concurrency, readers_never_see_freed_or_reused_records, eal_up, eal_down)
