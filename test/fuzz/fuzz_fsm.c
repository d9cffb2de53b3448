/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness of the TCP state machine (lib/tcp), pure: no parser, no table. The input is
 * one configuration byte (bit 0 loose, bit 1 liberal) followed by 16-byte segment records:
 *   [0] bit 0 direction (0 = sent by the flow's client), bit 1 seq relative, bit 2 ack relative,
 *       bits 4..7 option bits (CT_TCPO_*)
 *   [1] TCP flags   [2] window scale   [3] unused
 *   [4..7] seq (LE)  [8..11] ack (LE)  [12..13] window (LE)  [14..15] payload length (LE)
 * "Relative" adds the value to the sender's (seq) or the receiver's (ack) tracked `end`, so the
 * fuzzer reaches in-window segments easily. The first record (and any record while no flow
 * exists) goes to ct_tcp_new(); the rest to ct_tcp_track(); a REOPEN restarts the flow with
 * ct_tcp_new() on that segment, as a caller must. Invariants checked after every segment:
 * verdict and reason in range and consistent (ACCEPT <=> CT_R_OK); an INVALID or REOPEN verdict
 * leaves struct ct_tcp byte-for-byte unchanged; both endpoint states < CT_TCP_STATE_MAX; the
 * conntrack state equals ct_state_from_tcp(client, server); ct_tcp_track() is deterministic (a
 * second run on a copy gives the same verdict, reason and struct), and ct_tcp_track_fast() (the
 * header prediction) gives that same verdict, reason and struct too; after a DELETE the next
 * record starts a flow anew, as in the worker. Any violation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct_tcp.h"
#include "fuzz_check.h"

#define REC_SIZE 16

static uint32_t
rd32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t
rd16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void
check_struct(const struct ct_tcp *t)
{
	CHECK(t->tcp_state[CT_DIR_ORIG] < CT_TCP_STATE_MAX);
	CHECK(t->tcp_state[CT_DIR_REPLY] < CT_TCP_STATE_MAX);
	CHECK(t->state < CT_S_MAX);
	CHECK(t->state == ct_state_from_tcp((enum ct_tcp_state)t->tcp_state[CT_DIR_ORIG],
	                                    (enum ct_tcp_state)t->tcp_state[CT_DIR_REPLY]));
	CHECK(strcmp(ct_state_name(t->state), "?") != 0);
	CHECK(strcmp(ct_tcp_state_name(t->tcp_state[0]), "?") != 0);
	CHECK(strcmp(ct_tcp_state_name(t->tcp_state[1]), "?") != 0);
}

static void
check_reason(enum ct_verdict v, enum ct_tcp_reason r)
{
	CHECK((unsigned int)v < CT_VERDICT_MAX);
	CHECK((unsigned int)r < CT_R_MAX);
	CHECK(strcmp(ct_tcp_reason_name(r), "?") != 0);
	if (v == CT_VERDICT_INVALID)
		CHECK(r != CT_R_OK);
	if (v == CT_VERDICT_ACCEPT || v == CT_VERDICT_NEW)
		CHECK(r == CT_R_OK);
}

/* Start a flow from @p seg; returns 1 when a flow exists afterwards. */
static int
start(struct ct_tcp *t, const struct ct_tcp_conf *conf, const struct ct_tcp_seg *seg)
{
	struct ct_tcp before;
	enum ct_tcp_reason r = CT_R_MAX;
	enum ct_verdict v;

	memset(t, 0xee, sizeof(*t));
	before = *t;
	v = ct_tcp_new(t, conf, seg, &r);
	CHECK(v == CT_VERDICT_NEW || v == CT_VERDICT_INVALID);
	check_reason(v, r);
	if (v == CT_VERDICT_INVALID) {
		CHECK(memcmp(&before, t, sizeof(*t)) == 0);
		return 0;
	}
	check_struct(t);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_tcp_conf conf = ct_tcp_conf_default;
	struct ct_tcp t, before, again;
	int have = 0;

	if (size < 1)
		return -1;
	conf.loose = data[0] & 1;
	conf.liberal = (data[0] >> 1) & 1;
	data++;
	size--;
	memset(&t, 0, sizeof(t));

	for (; size >= REC_SIZE; data += REC_SIZE, size -= REC_SIZE) {
		struct ct_tcp_seg seg = {0};
		enum ct_dir dir = (enum ct_dir)(data[0] & 1);
		enum ct_tcp_reason r = CT_R_MAX, r2 = CT_R_MAX;
		enum ct_verdict v, v2;

		seg.opts = data[0] >> 4;
		seg.flags = data[1];
		seg.wscale = data[2];
		seg.seq = rd32le(data + 4);
		seg.ack = rd32le(data + 8);
		seg.win = rd16le(data + 12);
		seg.len = rd16le(data + 14);
		seg.tsval = seg.seq ^ 0x5a5a5a5a;
		if (have && (data[0] & 2))
			seg.seq += t.peer[dir].end;
		if (have && (data[0] & 4))
			seg.ack += t.peer[!dir].end;

		if (!have) {
			have = start(&t, &conf, &seg);
			continue;
		}
		before = t;
		v = ct_tcp_track(&t, &conf, dir, &seg, &r);
		CHECK(v != CT_VERDICT_NEW);
		check_reason(v, r);
		if (v != CT_VERDICT_ACCEPT)
			CHECK(memcmp(&before, &t, sizeof(t)) == 0);
		if (v == CT_VERDICT_REOPEN)
			CHECK(seg.flags & CT_TCPF_SYN);
		check_struct(&t);

		again = before;
		v2 = ct_tcp_track(&again, &conf, dir, &seg, &r2);
		CHECK(v2 == v && r2 == r);
		CHECK(memcmp(&again, &t, sizeof(t)) == 0);

		/* header prediction: the same verdict, reason and state as the full path */
		again = before;
		v2 = ct_tcp_track_fast(&again, &conf, dir, &seg, &r2);
		CHECK(v2 == v && r2 == r);
		CHECK(memcmp(&again, &t, sizeof(t)) == 0);
		if (v == CT_VERDICT_DELETE)
			have = 0;

		if (v == CT_VERDICT_REOPEN)
			have = start(&t, &conf, &seg);
	}
	return 0;
}
