/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The reference half of fuzz_flows (fuzz_flows.h): the tracking path driven the way the worker
 * drives it, one frame at a time, on a table of its own with the worker's policy and layout
 * (parse, hash once, look up, ct_tcp_new/ct_table_add or ct_tcp_track, arm on state change,
 * delete and restart on REOPEN), checking on the way what each call promises (a new record comes
 * back zeroed, an add reports what it evicted, INVALID and REOPEN change nothing), and the
 * structural checks of a table (count, counters, a full walk with the reader API).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "fuzz_flows.h"

void
check_tcp(const struct ct_tcp *t)
{
	CHECK(t->tcp_state[0] < CT_TCP_STATE_MAX && t->tcp_state[1] < CT_TCP_STATE_MAX);
	CHECK(t->state == ct_state_from_tcp((enum ct_tcp_state)t->tcp_state[0],
	                                    (enum ct_tcp_state)t->tcp_state[1]));
}

struct ct_flow *
rec_of(struct ct_table *t, int32_t pos)
{
	CHECK(pos >= 0 && (uint32_t)pos < ct_table_positions(t));
	return ct_table_rec(t, (uint32_t)pos);
}

/* The reference table's end callback: every record that leaves it is a consistent flow. */
void
ref_end(void *arg, uint32_t pos, const void *rec, enum ct_table_end why)
{
	struct run *r = arg;
	const struct ct_flow *f = rec;

	CHECK(pos < ct_table_positions(r->t));
	CHECK(why < CT_TABLE_END_MAX);
	check_tcp(&f->tcp);
	r->ends[why]++;
}

/*
 * Structural checks of one table: its count against its counters (@p deleted: records the owner
 * deleted), and a full walk with the reader API (every record found again by key, in place).
 * Fills @p by_state with the walk's flows per conntrack state. @return the flow count.
 */
uint32_t
check_one(struct ct_table *t, const struct ct_lcore_stats *st, uint64_t deleted, uint64_t *by_state)
{
	uint32_t count = ct_table_count(t), next = 0, n = 0;
	struct ct_flow_key key;
	struct ct_flow f, g;

	CHECK(count <= ct_table_capacity(t));
	CHECK(st->flows_created == (uint64_t)count + st->flows_expired + st->flows_evicted +
	                                   st->flows_flushed + deleted);
	memset(by_state, 0, CT_CLASS_MAX * sizeof(*by_state));
	while (ct_table_read_next(t, &next, &key, &f) == 0) {
		const void *kp = &key;
		uint32_t sig = ct_table_hash(&key, KEY_LEN);
		int32_t pos = -1;

		n++;
		CHECK(n <= count);
		check_tcp(&f.tcp);
		by_state[f.tcp.state]++;
		CHECK(memcmp(key.addr[0], key.addr[1], 16) <= 0);
		CHECK(ct_table_read_key(t, &key, &g) == 0);
		CHECK(memcmp(&f.tcp, &g.tcp, sizeof(f.tcp)) == 0);
		CHECK(ct_table_lookup_bulk(t, &kp, &sig, 1, &pos) == 1);
		CHECK(memcmp(&rec_of(t, pos)->tcp, &f.tcp, sizeof(f.tcp)) == 0);
		CHECK(ct_table_lookup(t, &key, sig) == pos);
	}
	CHECK(n == count);
	return count;
}

/* The reference table's counters against what the harness did and the end callback saw. */
void
check_ref(struct run *r, uint64_t *by_state)
{
	const struct ct_lcore_stats *st = &r->st;

	check_one(r->t, st, r->ends[CT_TABLE_END_DELETED], by_state);
	CHECK(st->flows_created == r->adds);
	CHECK(st->flows_refused == r->refused);
	CHECK(st->flows_evicted == r->evicted);
	CHECK(r->ends[CT_TABLE_END_DELETED] == r->reopens + r->rst_deleted);
	CHECK(r->ends[CT_TABLE_END_EXPIRED] == st->flows_expired);
	CHECK(r->ends[CT_TABLE_END_EVICTED] == st->flows_evicted);
	CHECK(r->ends[CT_TABLE_END_FLUSHED] == st->flows_flushed);
}

/* Start a flow from a parsed packet (after a miss or a REOPEN). */
static enum fv
flow_start(struct run *r, const struct ct_pkt *pkt)
{
	static const uint8_t zero[offsetof(struct ct_flow, tm)];
	uint64_t evicted_before = r->st.flows_evicted, ends_before = r->ends[CT_TABLE_END_EVICTED];
	enum ct_tcp_reason why = CT_R_MAX;
	unsigned int evicted = ~0u;
	struct ct_tcp tcp;
	struct ct_flow *f;
	int32_t pos;

	if (ct_tcp_new(&tcp, &r->conf, &pkt->seg, &why) != CT_VERDICT_NEW) {
		CHECK(why != CT_R_OK && why < CT_R_MAX);
		return FV_INVALID;
	}
	check_tcp(&tcp);
	pos = ct_table_add(r->t, &pkt->key, ct_table_hash(&pkt->key, KEY_LEN), r->now, &evicted);
	/* An add says what it evicted: the counter and the end callback agree. */
	CHECK(evicted <= 1);
	CHECK(r->st.flows_evicted - evicted_before == evicted);
	CHECK(r->ends[CT_TABLE_END_EVICTED] - ends_before == evicted);
	r->evicted += evicted;
	if (pos == -ENOSPC) {
		r->refused++;
		return FV_REFUSED;
	}
	r->adds++;
	f = rec_of(r->t, pos);
	CHECK(memcmp(f, zero, sizeof(zero)) == 0);
	CHECK(f->last_seen == (uint32_t)r->now && f->pkts[0] == 0 && f->pkts[1] == 0);
	CHECK(f->invalid == 0 && f->flags == 0 && ct_flow_bytes(f, 0) == 0);
	f->tcp = tcp;
	f->flags = pkt->swapped ? CT_FLOW_F_SWAPPED : 0;
	f->pkts[CT_DIR_ORIG] = 1;
	ct_flow_bytes_add(f, CT_DIR_ORIG, pkt->l3_len);
	ct_table_arm(r->t, (uint32_t)pos, r->now);
	return FV_NEW;
}

/* Track a parsed packet on its flow at @p pos (reference pipeline). */
static enum fv
flow_track(struct run *r, const struct ct_pkt *pkt, int32_t pos)
{
	struct ct_flow *f = rec_of(r->t, pos);
	enum ct_dir dir =
	        pkt->swapped == !!(f->flags & CT_FLOW_F_SWAPPED) ? CT_DIR_ORIG : CT_DIR_REPLY;
	struct ct_tcp before = f->tcp;
	enum ct_tcp_reason why = CT_R_MAX;
	uint64_t deleted = r->ends[CT_TABLE_END_DELETED];
	enum ct_verdict v;

	v = ct_tcp_track(&f->tcp, &r->conf, dir, &pkt->seg, &why);
	check_tcp(&f->tcp);
	switch (v) {
	case CT_VERDICT_ACCEPT:
		CHECK(why == CT_R_OK);
		f->last_seen = (uint32_t)r->now;
		f->pkts[dir]++;
		ct_flow_bytes_add(f, dir, pkt->l3_len);
		if (f->tcp.state != before.state)
			ct_table_arm(r->t, (uint32_t)pos, r->now);
		return FV_ACCEPT;
	case CT_VERDICT_INVALID:
		CHECK(why != CT_R_OK && why < CT_R_MAX);
		CHECK(memcmp(&before, &f->tcp, sizeof(before)) == 0);
		if (f->invalid < UINT8_MAX)
			f->invalid++;
		return FV_INVALID;
	case CT_VERDICT_REOPEN:
		CHECK(memcmp(&before, &f->tcp, sizeof(before)) == 0);
		CHECK(pkt->seg.flags & CT_TCPF_SYN);
		CHECK(ct_table_del(r->t, (uint32_t)pos) == 1);
		CHECK(r->ends[CT_TABLE_END_DELETED] == deleted + 1);
		CHECK(ct_table_lookup(r->t, &pkt->key, ct_table_hash(&pkt->key, KEY_LEN)) ==
		      -ENOENT);
		r->reopens++;
		return flow_start(r, pkt);
	case CT_VERDICT_DELETE: /* a valid RST before any reply: the flow goes, the RST passes */
		CHECK(why == CT_R_OK);
		CHECK(memcmp(&before, &f->tcp, sizeof(before)) == 0);
		CHECK(pkt->seg.flags & CT_TCPF_RST);
		CHECK(ct_table_del(r->t, (uint32_t)pos) == 1);
		CHECK(r->ends[CT_TABLE_END_DELETED] == deleted + 1);
		r->rst_deleted++;
		return FV_ACCEPT;
	default:
		CHECK(0);
	}
	return FV_MAX;
}

bool
frame_is_l4(struct run *r, const uint8_t *frame, uint32_t seg_len, uint32_t len)
{
	struct ct_pkt pkt;

	return ct_parse_pkt_seg(frame, seg_len, len, &r->pconf, &pkt) == CT_PARSE_OK &&
	       pkt.kind != CT_L4K_TCP;
}

/* The reference pipeline, one frame at a time (first @p seg_len bytes contiguous). */
enum fv
frame_process(struct run *r, const uint8_t *frame, uint32_t seg_len, uint32_t len)
{
	enum ct_parse_reason pr;
	struct ct_pkt pkt;
	const void *kp = &pkt.key;
	uint32_t sig;
	int32_t pos = -1;

	pr = ct_parse_pkt_seg(frame, seg_len, len, &r->pconf, &pkt);
	if (pr != CT_PARSE_OK)
		return ct_parse_untracked(pr) ? FV_PASS : FV_MALFORMED;
	if (pkt.kind != CT_L4K_TCP)
		return FV_PASS; /* not modelled: the harness drops such frames (frame_is_l4()) */
	sig = ct_table_hash(&pkt.key, KEY_LEN);
	CHECK(ct_table_lookup_bulk(r->t, &kp, &sig, 1, &pos) >= 0);
	if (pos < 0) {
		CHECK(pos == -ENOENT);
		return flow_start(r, &pkt);
	}
	return flow_track(r, &pkt, pos);
}
