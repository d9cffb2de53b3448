/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FUZZ_FLOWS_H
#define FUZZ_FLOWS_H

/**
 * @file
 * What the two halves of the fuzz_flows harness share: its state (struct run), the reference
 * pipeline it checks the worker against (fuzz_flows_ref.c: one frame at a time on a table with
 * the worker's policy) and the structural checks of a table. The harness itself (input decoding,
 * bursts through the worker, the differential checks): fuzz_flows.c.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "ct_parse.h"
#include "ct_stats.h"
#include "ct_table.h"
#include "ct_tcp.h"
#include "ct_worker.h"

#define BURST   32
#define KEY_LEN ((uint32_t)sizeof(struct ct_flow_key))

/* Outcome of one frame in the reference pipeline: the values of enum ct_worker_verdict. */
enum fv { FV_PASS, FV_MALFORMED, FV_NEW, FV_ACCEPT, FV_INVALID, FV_REFUSED, FV_MAX };

struct run {
	struct ct_table *t;   /* table the harness drives itself (the reference in worker mode) */
	struct ct_table *obs; /* table checked against t: the worker's, or t */
	struct ct_worker *w;  /* worker mode */
	struct rte_mbuf *burst[BURST];
	uint8_t ref_verdict[BURST];
	unsigned int nb;
	struct ct_tcp_conf conf;
	struct ct_parse_conf pconf;
	struct ct_table_policy
	        policy;           /* the reference table's, built as the worker builds its own */
	struct ct_lcore_stats st; /* the reference table counts here */
	uint64_t ends[CT_TABLE_END_MAX]; /* records that left the reference table, per reason */
	uint64_t now;
	uint64_t adds, refused, evicted, reopens, rst_deleted;
	int flush; /* configuration bit 6: the largest clock step flushes both tables first */
};

/* A consistent FSM state: endpoint states in range, the conntrack state their mapping. */
void check_tcp(const struct ct_tcp *t);

/* The record at @p pos of @p t (a valid position). */
struct ct_flow *rec_of(struct ct_table *t, int32_t pos);

/* The reference table's end callback (arg: struct run). */
void ref_end(void *arg, uint32_t pos, const void *rec, enum ct_table_end why);

/* Structural checks of one table (@p deleted: records its owner deleted); its flows per state
 * into @p by_state. @return its flow count. */
uint32_t check_one(struct ct_table *t, const struct ct_lcore_stats *st, uint64_t deleted,
                   uint64_t *by_state);

/* check_one() of the reference table, and its counters against the harness and the callback. */
void check_ref(struct run *r, uint64_t *by_state);

/* The reference pipeline on one frame (first @p seg_len bytes contiguous). */
enum fv frame_process(struct run *r, const uint8_t *frame, uint32_t seg_len, uint32_t len);

/**
 * True for a frame the parser takes as UDP, ICMP or another protocol (lib/l4). The reference
 * models the TCP path only, so the harness gives such frames to neither side; lib/l4 has its
 * own unit tests (test_l4, test_worker_l4) and the parser harness covers their parsing.
 */
bool frame_is_l4(struct run *r, const uint8_t *frame, uint32_t seg_len, uint32_t len);

#endif /* FUZZ_FLOWS_H */
