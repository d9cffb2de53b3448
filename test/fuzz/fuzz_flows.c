/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness of the whole tracking path on a sequence of frames: parser (lib/parse),
 * FSM (lib/tcp) and flow table with its timer wheel (lib/table, lib/timer), driven the way the
 * worker drives them (parse, hash once, look up, ct_tcp_new/ct_table_add or ct_tcp_track, arm on
 * state change, delete and restart on REOPEN, delete on DELETE, expire as the clock advances),
 * on a table with the worker's policy and record layout (class = conntrack state, a timeout per
 * state in ticks, the handshake states embryonic). EAL starts once in LLVMFuzzerInitialize (--no-huge); each input
 * gets a fresh small table (8 to 64 flows) so the full / evict / refuse paths and expiry are hit,
 * with short timeouts (1 to 10 s of 1 ms ticks).
 *
 * With bit 5 of the configuration byte set, the frames go
 * instead through the real pipeline, ct_worker_process_burst(), as mbufs in bursts of up to 32
 * (a burst ends when the clock advances, when a record asks for it, or when 32 are queued), so the
 * same-burst paths (flows created, evicted, re-opened earlier in the burst) are fuzzed; the
 * harness then runs the same frames one at a time through its own reference pipeline on a
 * second table and checks the worker against it (differential): same verdict per packet, same
 * set of flows with the same FSM state and counters after every burst and expiry, the same table
 * events (created, evicted, refused, expired, flushed; the worker's flows_reopened = the
 * reference's deletes); plus the worker's counter identities (rx = tcp + not_tcp + parse_drop,
 * tcp = accepted + invalid + refused, reason sums, verdicts matching counter deltas) and its
 * flows per state (ct_worker_flows_by_state()) = a count by state of a ct_table_read_next() walk
 * of its table.
 *
 * Input: one configuration byte (bit 0 loose, bit 1 liberal, bit 2 VLAN in the key, bits 3..4
 * table size 8 << n, bit 5 worker, bit 6 flush: a clock step of n = 15 first flushes both
 * tables) then records:
 *   raw frame:  0x80 | x, length (u16 LE, at most 2048), frame bytes; x bit 6: chain the mbuf
 *               (worker mode), first segment (x & 0x3f) * 2 bytes; x bit 5: end the burst
 *   segment:    flow id (0..127), mode, flags, seq (u32 LE), ack (u32 LE), window (u16 LE),
 *               payload length (u8); mode bit 0 sent by the server, bit 1 seq relative, bit 2 ack
 *               relative (added to the tracked `end` of sender / receiver), bit 3 IPv6, bits
 *               4..7 n: advance the clock by 2^(n-1) ms before the frame (n = 0: no advance).
 *               The harness builds an Ethernet/IP/TCP frame for it, so the parser runs too.
 * Invariants after every frame, for each table: count <= capacity; created == count + expired +
 * evicted + flushed + deleted by the owner (the reference's end callback counts its deletes, the
 * worker's are its flows_reopened); adds, evictions (as ct_table_add() reports them) and
 * refusals the harness saw == the table's counters == what the end callback saw; an INVALID
 * verdict leaves the record's struct ct_tcp unchanged; a new record comes back zeroed; every live
 * flow read back (ct_table_read_next) has a consistent FSM state and its key finds it
 * (ct_table_read_key, ct_table_lookup_bulk, ct_table_lookup) at the same record. At the end the
 * clock runs past every timeout: the table must drain to 0 flows. Any violation aborts. The
 * reference pipeline and the table checks are in fuzz_flows_ref.c, frames come from test/lib.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include "ct_parse.h"
#include "ct_table.h"
#include "ct_tcp.h"
#include "ct_worker.h"
#include "fuzz_check.h"
#include "fuzz_flows.h"
#include "tl_eal.h"
#include "tl_flow.h"
#include "tl_frame.h"

#define SEG_REC   14
#define FRAME_MAX TL_MBUF_ROOM /* 2048 */
#define TICKS_S   CT_WORKER_HZ

/*
 * Check the driven table, and in worker mode that the worker's table holds exactly the same
 * flows (key, FSM state, packet counters, flags) as the one-packet-at-a-time reference, that its
 * table events are the reference's, and that its flows per state are a count of its table.
 */
static void
check_table(struct run *r)
{
	const struct ct_lcore_stats *ws, *st = &r->st;
	uint64_t ref_by[CT_CLASS_MAX], obs_by[CT_CLASS_MAX], kept[CT_CLASS_MAX];
	struct ct_flow_key key;
	struct ct_flow f, g;
	uint32_t next = 0;

	check_ref(r, ref_by);
	if (r->obs == r->t)
		return;
	ws = ct_worker_stats(r->w);
	CHECK(check_one(r->obs, ws, ws->flows_reopened + ws->flows_rst_deleted, obs_by) ==
	      ct_table_count(r->t));
	while (ct_table_read_next(r->t, &next, &key, &f) == 0) {
		CHECK(ct_table_read_key(r->obs, &key, &g) == 0);
		CHECK(memcmp(&f.tcp, &g.tcp, sizeof(f.tcp)) == 0);
		CHECK(f.pkts[0] == g.pkts[0] && f.pkts[1] == g.pkts[1]);
		CHECK(f.last_seen == g.last_seen && f.flags == g.flags && f.invalid == g.invalid);
	}
	CHECK(ws->flows_created == st->flows_created);
	CHECK(ws->flows_evicted == st->flows_evicted);
	CHECK(ws->flows_refused == st->flows_refused);
	CHECK(ws->flows_expired == st->flows_expired);
	CHECK(ws->flows_flushed == st->flows_flushed);
	CHECK(ws->flows_reopened == r->reopens);
	CHECK(ws->flows_rst_deleted == r->rst_deleted);
	/* The per-state counts the worker keeps as states change = a walk of its table. */
	ct_worker_flows_by_state(r->w, kept);
	CHECK(memcmp(kept, obs_by, sizeof(kept)) == 0);
	CHECK(memcmp(kept, ref_by, sizeof(kept)) == 0);
}

_Static_assert(FV_PASS == CT_WV_PASS && FV_MALFORMED == CT_WV_MALFORMED && FV_NEW == CT_WV_NEW &&
                       FV_ACCEPT == CT_WV_ACCEPT && FV_INVALID == CT_WV_INVALID &&
                       FV_REFUSED == CT_WV_REFUSED && FV_MAX == CT_WV_MAX,
               "reference verdicts mirror enum ct_worker_verdict");

static struct rte_mempool *pool;

static void
check_worker(struct run *r, const struct ct_lcore_stats *old, const uint8_t *verdicts,
             unsigned int n)
{
	const struct ct_lcore_stats *s = ct_worker_stats(r->w);
	uint64_t seen[CT_WV_MAX] = {0}, by_state[CT_CLASS_MAX], sum = 0;
	unsigned int i;

	CHECK(s->rx_pkts == s->tcp_pkts + s->not_tcp + s->parse_drop);
	CHECK(s->tcp_pkts == s->accepted + s->invalid + s->flows_refused);
	for (i = 0; i < CT_PARSE_MAX; i++)
		sum += s->parse[i];
	CHECK(s->parse[CT_PARSE_OK] == 0);
	CHECK(sum == s->not_tcp + s->parse_drop);
	sum = 0;
	for (i = 0; i < CT_R_MAX; i++)
		sum += s->reason[i];
	CHECK(s->reason[CT_R_OK] == 0);
	CHECK(sum == s->invalid);
	/* The table counts flows_created/_refused itself: the flows per state add up to its count. */
	ct_worker_flows_by_state(r->w, by_state);
	sum = 0;
	for (i = 0; i < CT_CLASS_MAX; i++)
		sum += by_state[i];
	CHECK(sum == ct_table_count(r->obs));
	if (old == NULL)
		return;
	for (i = 0; i < n; i++) {
		CHECK(verdicts[i] < CT_WV_MAX);
		seen[verdicts[i]]++;
		/* Same outcome as one packet at a time. */
		if (verdicts[i] != r->ref_verdict[i]) {
			fprintf(stderr, "packet %u of the burst: worker verdict %u, reference %u\n",
			        i, verdicts[i], r->ref_verdict[i]);
			CHECK(verdicts[i] == r->ref_verdict[i]);
		}
	}
	CHECK(s->rx_pkts - old->rx_pkts == n);
	CHECK(seen[CT_WV_PASS] == s->not_tcp - old->not_tcp);
	CHECK(seen[CT_WV_MALFORMED] == s->parse_drop - old->parse_drop);
	CHECK(seen[CT_WV_NEW] == s->flows_created - old->flows_created);
	CHECK(seen[CT_WV_INVALID] == s->invalid - old->invalid);
	CHECK(seen[CT_WV_REFUSED] == s->flows_refused - old->flows_refused);
	CHECK(seen[CT_WV_NEW] + seen[CT_WV_ACCEPT] == s->accepted - old->accepted);
}

static void
burst_flush(struct run *r)
{
	struct ct_lcore_stats old;
	uint8_t verdicts[BURST];
	unsigned int i;

	if (r->w == NULL || r->nb == 0)
		return;
	old = *ct_worker_stats(r->w);
	memset(verdicts, 0xff, sizeof(verdicts));
	ct_worker_process_burst(r->w, r->burst, (uint16_t)r->nb, r->now, verdicts);
	check_worker(r, &old, verdicts, r->nb);
	for (i = 0; i < r->nb; i++)
		rte_pktmbuf_free(r->burst[i]);
	r->nb = 0;
	check_table(r);
}

/*
 * Queue a frame as an mbuf (two segments when 0 < split < len) for the worker, and run it
 * through the reference pipeline now.
 */
static void
burst_add(struct run *r, const uint8_t *frame, uint32_t len, uint32_t split)
{
	struct rte_mbuf *m = tl_mbuf_from(pool, frame, len, split);

	CHECK(m != NULL);
	if (split == 0 || split >= len)
		split = len;
	r->ref_verdict[r->nb] = (uint8_t)frame_process(r, frame, split, len);
	r->burst[r->nb++] = m;
	if (r->nb == BURST)
		burst_flush(r);
}

/*
 * Advance the clock (after the queued frames: they arrived before it moved) and expire both
 * tables. With the flush bit, the largest step (@p flush) first flushes both tables.
 */
static void
clock_advance(struct run *r, uint64_t ticks, int flush)
{
	burst_flush(r);
	if (flush && r->flush) {
		uint32_t n = ct_table_count(r->t);

		CHECK(ct_table_flush(r->t) == n);
		if (r->w != NULL)
			CHECK(ct_worker_flush(r->w) == n);
		CHECK(ct_table_count(r->t) == 0 && ct_table_count(r->obs) == 0);
		check_table(r);
	}
	r->now += ticks;
	if (r->w != NULL) {
		while (ct_worker_tick(r->w, r->now) == 256)
			;
		ct_table_expire(r->t, r->now, 1024);
		check_worker(r, NULL, NULL, 0);
		check_table(r);
		return;
	}
	ct_table_expire(r->t, r->now, 1024);
}

static uint32_t
rd32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * Build the frame of a segment record (test/lib's builder, MACs 02:00:00:00:00:00, no
 * checksums). Client of flow id: 10.1.0.id:(1024 + id) or 2001:db8::1:id; server:
 * 10.2.0.(id % 4):80 or 2001:db8::2:(id % 4). Returns the frame length; *tcp_off is where the
 * TCP header starts.
 */
static uint32_t
frame_build(uint8_t *fr, const uint8_t *rec, uint32_t *tcp_off)
{
	unsigned int id = rec[0] & 0x7f, from_server = rec[1] & 1;
	uint8_t c6[16] = {0x20, 0x01, 0x0d, 0xb8}, s6[16] = {0x20, 0x01, 0x0d, 0xb8};
	uint32_t c4 = 0x0a010000u | id, s4 = 0x0a020000u | (id % 4);
	uint16_t cport = (uint16_t)(1024 + id), sport = 80;
	struct tl_frame_spec s;
	struct tl_frame_off off;
	long n;

	if ((rec[1] >> 3) & 1) {
		c6[13] = 1;
		c6[15] = (uint8_t)id;
		s6[13] = 2;
		s6[15] = (uint8_t)(id % 4);
		tl_frame_spec_v6(&s, from_server ? s6 : c6, from_server ? sport : cport,
		                 from_server ? c6 : s6, from_server ? cport : sport);
	} else {
		tl_frame_spec_v4(&s, from_server ? s4 : c4, from_server ? sport : cport,
		                 from_server ? c4 : s4, from_server ? cport : sport);
	}
	s.dmac[0] = s.smac[0] = 0x02;
	s.seq = rd32le(rec + 3);
	s.ack = rd32le(rec + 7);
	s.flags = rec[2];
	s.win = (uint16_t)(rec[11] | rec[12] << 8);
	s.payload = rec[13];
	n = tl_frame_write(&s, fr, FRAME_MAX, &off);
	CHECK(n > 0);
	*tcp_off = off.l4;
	return (uint32_t)n;
}

/* Apply a segment record's relative seq/ack against the flow the frame belongs to. */
static void
frame_relative(struct run *r, uint8_t *fr, uint32_t len, uint32_t tcp_off, const uint8_t *rec)
{
	const struct ct_flow *f;
	struct ct_pkt pkt;
	int32_t pos;
	enum ct_dir dir;

	if (!(rec[1] & 6) || ct_parse_pkt(fr, len, &r->pconf, &pkt) != CT_PARSE_OK)
		return;
	pos = ct_table_lookup(r->t, &pkt.key, ct_table_hash(&pkt.key, KEY_LEN));
	if (pos < 0)
		return;
	f = rec_of(r->t, pos);
	dir = pkt.swapped == !!(f->flags & CT_FLOW_F_SWAPPED) ? CT_DIR_ORIG : CT_DIR_REPLY;
	if (rec[1] & 2)
		tl_put32(fr + tcp_off + 4, f->tcp.peer[dir].end + rd32le(rec + 3));
	if (rec[1] & 4)
		tl_put32(fr + tcp_off + 8, f->tcp.peer[!dir].end + rd32le(rec + 7));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (tl_eal_up("fuzz_flows", "0", 256) != 0) {
		fprintf(stderr, "fuzz_flows: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	pool = tl_pool_create("fuzz", 4 * BURST); /* data room FRAME_MAX */
	if (pool == NULL) {
		fprintf(stderr, "fuzz_flows: mempool: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	return 0;
}

/* Both pipelines from the configuration byte: reference table, and the worker in worker mode. */
static void
run_start(struct run *r, uint8_t cfg)
{
	struct ct_table_params tp = tl_flow_table_params("fuzz", 8u << ((cfg >> 3) & 3), &r->policy,
	                                                 &r->st, ref_end, r, 1000);
	unsigned int i;

	r->conf = ct_tcp_conf_default;
	r->conf.loose = cfg & 1;
	r->conf.liberal = (cfg >> 1) & 1;
	r->pconf.key_vlan = (cfg >> 2) & 1;
	r->flush = (cfg >> 6) & 1;
	r->now = tp.now;
	for (i = 0; i < CT_S_MAX; i++)
		r->conf.timeouts.ms[i] = (1 + i % 10) * 1000;
	/* The worker's policy (ct_worker_ctl.c): class = state, timeout[state] in ticks,
	 * the handshake states embryonic. */
	tl_flow_policy(&r->policy, &r->conf);
	r->t = r->obs = ct_table_create(&tp);
	CHECK(r->t != NULL);
	CHECK(ct_table_capacity(r->t) >= tp.capacity);
	if (cfg & 0x20) {
		struct ct_worker_params wp = {
		        .name = "fuzzw",
		        .capacity = tp.capacity,
		        .socket_id = SOCKET_ID_ANY,
		        .tcp = &r->conf,
		        .parse = r->pconf,
		        .now = r->now,
		};

		r->w = ct_worker_create(&wp);
		CHECK(r->w != NULL);
		r->obs = ct_worker_table(r->w);
		CHECK(ct_table_capacity(r->obs) == ct_table_capacity(r->t));
		for (i = 0; i < CT_S_MAX; i++)
			CHECK(ct_worker_tcp_conf(r->w)->timeouts.ms[i] == r->conf.timeouts.ms[i]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[FRAME_MAX + 64];
	struct run r = {0};
	unsigned int i;

	if (size < 1)
		return -1;
	run_start(&r, data[0]);
	data++;
	size--;

	while (size > 0) {
		uint32_t len, tcp_off, split = 0;
		int end_burst = 0;

		if (data[0] & 0x80) {
			if (size < 3)
				break;
			split = data[0] & 0x40 ? (data[0] & 0x3fu) * 2 : 0;
			end_burst = (data[0] >> 5) & 1;
			len = (uint32_t)(data[1] | data[2] << 8);
			len = len > FRAME_MAX ? FRAME_MAX : len;
			len = len > size - 3 ? (uint32_t)size - 3 : len;
			memcpy(frame, data + 3, len);
			data += 3 + len;
			size -= 3 + len;
		} else {
			unsigned int n;

			if (size < SEG_REC)
				break;
			n = data[1] >> 4;
			if (n)
				clock_advance(&r, 1ull << (n - 1), n == 15);
			len = frame_build(frame, data, &tcp_off);
			frame_relative(&r, frame, len, tcp_off, data);
			data += SEG_REC;
			size -= SEG_REC;
		}
		if (frame_is_l4(&r, frame, len, len))
			continue;
		if (r.w != NULL) {
			burst_add(&r, frame, len, split);
			if (end_burst)
				burst_flush(&r);
			continue;
		}
		frame_process(&r, frame, len, len);
		check_table(&r);
	}
	burst_flush(&r);

	/* Every timeout is at most 10 s: 11 s later (lazy re-arm: twice) the table is empty. */
	for (i = 0; i < 4 && ct_table_count(r.t) > 0; i++)
		clock_advance(&r, 11 * TICKS_S, 0);
	check_table(&r);
	CHECK(ct_table_count(r.t) == 0 && ct_table_count(r.obs) == 0);
	ct_worker_free(r.w);
	ct_table_free(r.t);
	return 0;
}
