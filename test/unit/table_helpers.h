/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SYNFIN_TEST_TABLE_HELPERS_H
#define SYNFIN_TEST_TABLE_HELPERS_H

/**
 * @file
 * The owner's side of the flow table for its unit tests (test_table.c, test_table_read.c), as
 * the worker does it: records are struct ct_flow, the class is the conntrack state, a policy
 * with a timeout per state and the handshake states embryonic, counters and an end callback the
 * tests read; keys of numbered flows; EAL started without hugepages (each Criterion test runs in
 * its own child process, which starts EAL in the suite's init).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include <rte_errno.h>

#include "ct_parse.h"
#include "ct_table.h"
#include "ct_worker.h" /* struct ct_flow: a 64-byte record with a class byte (tcp.state) */
#include "tl_eal.h"
#include "tl_flow.h"

#define TPS 1000 /* ticks per second in these tests: 1 ms */

static inline void
eal_up_mem(unsigned int mem_mb)
{
	cr_assert_eq(tl_eal_up("test_table", "0", mem_mb), 0, "rte_eal_init: %s",
	             rte_strerror(rte_errno));
}

static inline void
eal_up(void)
{
	eal_up_mem(512);
}

static inline void
eal_up_big(void)
{
	eal_up_mem(2600);
}

static inline void
eal_down(void)
{
	rte_eal_cleanup();
}

/* Timeouts: distinct per state so a wrong state lookup shows. */
static struct ct_tcp_conf conf = {
        .timeouts = {.ms = {[CT_S_NONE] = 5000,
                            [CT_S_SYN_SENT] = 120000,
                            [CT_S_SYN_RECV] = 60000,
                            [CT_S_ESTABLISHED] = 300000,
                            [CT_S_FIN_WAIT] = 120000,
                            [CT_S_CLOSE_WAIT] = 60000,
                            [CT_S_LAST_ACK] = 30000,
                            [CT_S_TIME_WAIT] = 240000,
                            [CT_S_CLOSE] = 10000,
                            [CT_S_SYN_SENT2] = 120000}},
};

/*
 * The owner's side, as the worker does it: records are struct ct_flow, the class is the
 * conntrack state, the policy gives each state its timeout (ms = ticks here) and marks the
 * handshake states embryonic; the table counts into st and reports every end into ends[].
 */
static struct ct_lcore_stats st;
static struct ct_table_policy pol;
static unsigned int ends[CT_TABLE_END_MAX];

static inline void
on_end(void *arg, uint32_t pos, const void *rec, enum ct_table_end why)
{
	(void)arg;
	(void)pos;
	(void)rec;
	ends[why]++;
}

static inline struct ct_table_params
params(const char *name, uint32_t capacity, uint64_t now)
{
	tl_flow_policy(&pol, &conf); /* ticks are ms here (TPS) */
	return tl_flow_table_params(name, capacity, &pol, &st, on_end, NULL, now);
}

static inline struct ct_table *
mk(const char *name, uint32_t capacity, uint64_t now)
{
	struct ct_table_params p = params(name, capacity, now);
	struct ct_table *t = ct_table_create(&p);

	cr_assert_not_null(t, "ct_table_create: %s", rte_strerror(rte_errno));
	memset(&st, 0, sizeof(st));
	memset(ends, 0, sizeof(ends));
	return t;
}

#define ct_table_flow(t, pos) ((struct ct_flow *)ct_table_rec((t), (pos)))

static inline uint32_t
sig_of(const struct ct_flow_key *k)
{
	return ct_table_hash(k, sizeof(*k));
}

/* Add @p k unless present (-EEXIST), as the worker does after a lookup miss. */
static inline int32_t
table_add(struct ct_table *t, const struct ct_flow_key *k, uint64_t now)
{
	unsigned int evicted;

	if (ct_table_lookup(t, k, sig_of(k)) >= 0)
		return -EEXIST;
	return ct_table_add(t, k, sig_of(k), now, &evicted);
}

/* ct_table_lookup_bulk() with the keys' signatures. */
static inline int
lookup_bulk(struct ct_table *t, const struct ct_flow_key **kp, unsigned int n, int32_t *pos)
{
	uint32_t sigs[CT_TABLE_BULK_MAX];

	for (unsigned int i = 0; i < n && i < CT_TABLE_BULK_MAX; i++)
		sigs[i] = sig_of(kp[i]);
	return ct_table_lookup_bulk(t, (const void *const *)kp, sigs, n, pos);
}

/* Canonical IPv4 key of flow number i (distinct for distinct i). */
static inline struct ct_flow_key
key_of(uint32_t i)
{
	struct ct_flow_key k;

	memset(&k, 0, sizeof(k));
	k.addr[0][10] = k.addr[0][11] = 0xff;
	k.addr[1][10] = k.addr[1][11] = 0xff;
	k.addr[0][12] = 10;
	memcpy(&k.addr[0][13], (uint8_t[]){(uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i}, 3);
	k.addr[1][12] = 192;
	k.addr[1][13] = 168;
	k.port[0] = htons((uint16_t)(1024 + (i & 0x7fff)));
	k.port[1] = htons(80);
	k.proto = 6;
	k.family = 4;
	return k;
}

static inline int32_t
add_flow(struct ct_table *t, uint32_t i, uint8_t state, uint64_t now)
{
	struct ct_flow_key k = key_of(i);
	int32_t pos = table_add(t, &k, now);

	if (pos >= 0) {
		ct_table_flow(t, (uint32_t)pos)->tcp.state = state;
		ct_table_arm(t, (uint32_t)pos, now);
	}
	return pos;
}

static inline int32_t
lookup(struct ct_table *t, uint32_t i)
{
	struct ct_flow_key k = key_of(i);
	const struct ct_flow_key *kp = &k;
	int32_t pos;

	cr_assert_geq(lookup_bulk(t, &kp, 1, &pos), 0);
	return pos;
}

#endif /* SYNFIN_TEST_TABLE_HELPERS_H */
