/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness of the whole tracking path on a sequence of frames: parser (lib/parse),
 * FSM (lib/tcp) and flow table with its timer wheel (lib/table, lib/timer), driven the way the
 * worker drives them (parse, look up, ct_tcp_new/ct_table_add or ct_tcp_track, arm on state
 * change, delete and restart on REOPEN, expire as the clock advances). EAL starts once in
 * LLVMFuzzerInitialize (--no-huge); each input gets a fresh small table (8 to 64 flows) so the
 * full / evict / refuse paths and expiry are hit, with short timeouts (1 to 10 s of 1 ms ticks).
 *
 * Input: one configuration byte (bit 0 loose, bit 1 liberal, bit 2 VLAN in the key, bits 3..4
 * table size 8 << n) then records:
 *   raw frame:  0x80 | x, length (u16 LE, at most 2048), frame bytes
 *   segment:    flow id (0..127), mode, flags, seq (u32 LE), ack (u32 LE), window (u16 LE),
 *               payload length (u8); mode bit 0 sent by the server, bit 1 seq relative, bit 2 ack
 *               relative (added to the tracked `end` of sender / receiver), bit 3 IPv6, bits
 *               4..7 n: advance the clock by 2^(n-1) ms before the frame (n = 0: no advance).
 *               The harness builds an Ethernet/IP/TCP frame for it, so the parser runs too.
 * Invariants after every frame: count <= capacity; created == count + expired + deleted +
 * evicted; adds the harness saw succeed/refused == the table's created/refused; an INVALID
 * verdict leaves the record's struct ct_tcp unchanged; a new record comes back zeroed; every live
 * flow read back (ct_table_read_next) has a consistent FSM state and its key finds it
 * (ct_table_read_key, ct_table_lookup_bulk) at the same record. At the end the clock runs past
 * every timeout: the table must drain to 0 flows. Any violation aborts.
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

#include "ct_parse.h"
#include "ct_table.h"
#include "ct_tcp.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define SEG_REC   14
#define FRAME_MAX 2048
#define TICKS_S   1000u

struct run {
	struct ct_table *t;
	struct ct_tcp_conf conf;
	struct ct_parse_conf pconf;
	uint64_t now;
	uint64_t adds, refused;
	uint64_t parse_bad, fsm_invalid, reopen;
};

static void
check_tcp(const struct ct_tcp *t)
{
	CHECK(t->tcp_state[0] < CT_TCP_STATE_MAX && t->tcp_state[1] < CT_TCP_STATE_MAX);
	CHECK(t->state == ct_state_from_tcp((enum ct_tcp_state)t->tcp_state[0],
	                                    (enum ct_tcp_state)t->tcp_state[1]));
}

static void
check_table(struct run *r)
{
	const struct ct_table_stats *st = ct_table_stats(r->t);
	uint32_t count = ct_table_count(r->t), next = 0, n = 0;
	struct ct_flow_key key;
	struct ct_flow f, g;

	CHECK(count <= ct_table_capacity(r->t));
	CHECK(st->created == (uint64_t)count + st->expired + st->deleted + st->evicted);
	CHECK(st->created == r->adds);
	CHECK(st->refused == r->refused);
	while (ct_table_read_next(r->t, &next, &key, &f) == 0) {
		const struct ct_flow_key *kp = &key;
		int32_t pos = -1;

		n++;
		CHECK(n <= count);
		check_tcp(&f.tcp);
		CHECK(memcmp(key.addr[0], key.addr[1], 16) <= 0);
		CHECK(ct_table_read_key(r->t, &key, &g) == 0);
		CHECK(memcmp(&f.tcp, &g.tcp, sizeof(f.tcp)) == 0);
		CHECK(ct_table_lookup_bulk(r->t, &kp, 1, &pos) == 1);
		CHECK(pos >= 0 && (uint32_t)pos < ct_table_positions(r->t));
		CHECK(memcmp(&ct_table_flow(r->t, (uint32_t)pos)->tcp, &f.tcp, sizeof(f.tcp)) == 0);
	}
	CHECK(n == count);
}

/* Start a flow from a parsed packet (after a miss or a REOPEN). */
static void
flow_start(struct run *r, const struct ct_pkt *pkt)
{
	static const uint8_t zero[offsetof(struct ct_flow, tm)];
	struct ct_tcp tcp;
	enum ct_tcp_reason why = CT_R_MAX;
	struct ct_flow *f;
	int32_t pos;

	if (ct_tcp_new(&tcp, &r->conf, &pkt->seg, &why) != CT_VERDICT_NEW) {
		CHECK(why != CT_R_OK && why < CT_R_MAX);
		r->fsm_invalid++;
		return;
	}
	check_tcp(&tcp);
	pos = ct_table_add(r->t, &pkt->key, r->now);
	CHECK(pos != -EEXIST);
	if (pos == -ENOSPC) {
		r->refused++;
		return;
	}
	CHECK(pos >= 0 && (uint32_t)pos < ct_table_positions(r->t));
	r->adds++;
	f = ct_table_flow(r->t, (uint32_t)pos);
	CHECK(memcmp(f, zero, sizeof(zero)) == 0);
	CHECK(f->last_seen == (uint32_t)r->now && f->pkts[0] == 0 && f->pkts[1] == 0);
	CHECK(f->invalid == 0 && f->flags == 0 && ct_flow_bytes(f, 0) == 0);
	f->tcp = tcp;
	f->flags = pkt->swapped ? CT_FLOW_F_SWAPPED : 0;
	f->pkts[CT_DIR_ORIG] = 1;
	ct_flow_bytes_add(f, CT_DIR_ORIG, pkt->l3_len);
	ct_table_arm(r->t, (uint32_t)pos, r->now);
}

static void
frame_process(struct run *r, const uint8_t *frame, uint32_t len)
{
	const struct ct_flow_key *kp;
	enum ct_tcp_reason why = CT_R_MAX;
	struct ct_tcp before;
	struct ct_flow *f;
	enum ct_verdict v;
	struct ct_pkt pkt;
	enum ct_dir dir;
	int32_t pos = -1;

	if (ct_parse_pkt(frame, len, &r->pconf, &pkt) != CT_PARSE_OK) {
		r->parse_bad++;
		return;
	}
	kp = &pkt.key;
	CHECK(ct_table_lookup_bulk(r->t, &kp, 1, &pos) >= 0);
	if (pos < 0) {
		CHECK(pos == -ENOENT);
		flow_start(r, &pkt);
		return;
	}
	f = ct_table_flow(r->t, (uint32_t)pos);
	dir = pkt.swapped == !!(f->flags & CT_FLOW_F_SWAPPED) ? CT_DIR_ORIG : CT_DIR_REPLY;
	before = f->tcp;
	v = ct_tcp_track(&f->tcp, &r->conf, dir, &pkt.seg, &why);
	check_tcp(&f->tcp);
	switch (v) {
	case CT_VERDICT_ACCEPT:
		CHECK(why == CT_R_OK);
		f->last_seen = (uint32_t)r->now;
		f->pkts[dir]++;
		ct_flow_bytes_add(f, dir, pkt.l3_len);
		if (f->tcp.state != before.state)
			ct_table_arm(r->t, (uint32_t)pos, r->now);
		break;
	case CT_VERDICT_INVALID:
		CHECK(why != CT_R_OK && why < CT_R_MAX);
		CHECK(memcmp(&before, &f->tcp, sizeof(before)) == 0);
		r->fsm_invalid++;
		if (f->invalid < UINT8_MAX)
			f->invalid++;
		break;
	case CT_VERDICT_REOPEN:
		CHECK(memcmp(&before, &f->tcp, sizeof(before)) == 0);
		CHECK(pkt.seg.flags & CT_TCPF_SYN);
		r->reopen++;
		ct_table_del(r->t, (uint32_t)pos);
		flow_start(r, &pkt);
		break;
	default:
		CHECK(0);
	}
}

static void
clock_advance(struct run *r, uint64_t ticks)
{
	r->now += ticks;
	ct_table_expire(r->t, r->now, 1024);
}

static void
wr32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
rd32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * Build the frame of a segment record. Client of flow id: 10.1.0.id:(1024 + id) or
 * 2001:db8::1:id; server: 10.2.0.(id % 4):80 or 2001:db8::2:(id % 4). Returns the frame length;
 * *tcp_off is where the TCP header starts.
 */
static uint32_t
frame_build(uint8_t *fr, const uint8_t *rec, uint32_t *tcp_off)
{
	unsigned int id = rec[0] & 0x7f, mode = rec[1], plen = rec[13];
	int v6 = (mode >> 3) & 1, from_server = mode & 1;
	uint8_t caddr[16] = {0}, saddr[16] = {0};
	uint16_t cport = (uint16_t)(1024 + id), sport = 80;
	uint32_t iplen, l4 = 14 + (v6 ? 40 : 20);
	uint8_t *ip = fr + 14, *th = fr + l4;

	memset(fr, 0, l4 + 20 + plen);
	fr[0] = 0x02;
	fr[6] = 0x02;
	fr[12] = v6 ? 0x86 : 0x08;
	fr[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		caddr[0] = saddr[0] = 0x20;
		caddr[1] = saddr[1] = 0x01;
		caddr[2] = saddr[2] = 0x0d;
		caddr[3] = saddr[3] = 0xb8;
		caddr[13] = 1;
		saddr[13] = 2;
		caddr[15] = (uint8_t)id;
		saddr[15] = (uint8_t)(id % 4);
		iplen = 20 + plen;
		ip[0] = 0x60;
		ip[4] = (uint8_t)(iplen >> 8);
		ip[5] = (uint8_t)iplen;
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, from_server ? saddr : caddr, 16);
		memcpy(ip + 24, from_server ? caddr : saddr, 16);
	} else {
		caddr[0] = saddr[0] = 10;
		caddr[1] = 1;
		saddr[1] = 2;
		caddr[3] = (uint8_t)id;
		saddr[3] = (uint8_t)(id % 4);
		iplen = 40 + plen;
		ip[0] = 0x45;
		ip[2] = (uint8_t)(iplen >> 8);
		ip[3] = (uint8_t)iplen;
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, from_server ? saddr : caddr, 4);
		memcpy(ip + 16, from_server ? caddr : saddr, 4);
	}
	th[0] = (uint8_t)((from_server ? sport : cport) >> 8);
	th[1] = (uint8_t)(from_server ? sport : cport);
	th[2] = (uint8_t)((from_server ? cport : sport) >> 8);
	th[3] = (uint8_t)(from_server ? cport : sport);
	wr32be(th + 4, rd32le(rec + 3));
	wr32be(th + 8, rd32le(rec + 7));
	th[12] = 5 << 4;
	th[13] = rec[2];
	th[14] = rec[12];
	th[15] = rec[11];
	*tcp_off = l4;
	return l4 + 20 + plen;
}

/* Apply a segment record's relative seq/ack against the flow the frame belongs to. */
static void
frame_relative(struct run *r, uint8_t *fr, uint32_t len, uint32_t tcp_off, const uint8_t *rec)
{
	const struct ct_flow_key *kp;
	const struct ct_flow *f;
	struct ct_pkt pkt;
	int32_t pos = -1;
	enum ct_dir dir;

	if (!(rec[1] & 6) || ct_parse_pkt(fr, len, &r->pconf, &pkt) != CT_PARSE_OK)
		return;
	kp = &pkt.key;
	if (ct_table_lookup_bulk(r->t, &kp, 1, &pos) < 1 || pos < 0)
		return;
	f = ct_table_flow(r->t, (uint32_t)pos);
	dir = pkt.swapped == !!(f->flags & CT_FLOW_F_SWAPPED) ? CT_DIR_ORIG : CT_DIR_REPLY;
	if (rec[1] & 2)
		wr32be(fr + tcp_off + 4, f->tcp.peer[dir].end + rd32le(rec + 3));
	if (rec[1] & 4)
		wr32be(fr + tcp_off + 8, f->tcp.peer[!dir].end + rd32le(rec + 7));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = {"fuzz_flows",  "-l", "0",   "--no-huge",         "--no-pci",
	               "--no-shconf", "-m", "256", "--log-level=error", NULL};

	(void)argc;
	(void)argv;
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0) {
		fprintf(stderr, "fuzz_flows: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[FRAME_MAX + 64];
	struct ct_table_params tp = {0};
	struct run r = {0};
	unsigned int i;

	if (size < 1)
		return -1;
	r.conf = ct_tcp_conf_default;
	r.conf.loose = data[0] & 1;
	r.conf.liberal = (data[0] >> 1) & 1;
	r.pconf.key_vlan = (data[0] >> 2) & 1;
	for (i = 0; i < CT_S_MAX; i++)
		r.conf.timeouts.s[i] = 1 + i % 10;
	tp.name = "fuzz";
	tp.capacity = 8u << ((data[0] >> 3) & 3);
	tp.socket_id = SOCKET_ID_ANY;
	tp.tcp = &r.conf;
	tp.ticks_per_s = TICKS_S;
	tp.now = r.now = 1000;
	r.t = ct_table_create(&tp);
	CHECK(r.t != NULL);
	CHECK(ct_table_capacity(r.t) >= tp.capacity);
	data++;
	size--;

	while (size > 0) {
		uint32_t len, tcp_off;

		if (data[0] & 0x80) {
			if (size < 3)
				break;
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
				clock_advance(&r, 1ull << (n - 1));
			len = frame_build(frame, data, &tcp_off);
			frame_relative(&r, frame, len, tcp_off, data);
			data += SEG_REC;
			size -= SEG_REC;
		}
		frame_process(&r, frame, len);
		check_table(&r);
	}

	/* Every timeout is at most 10 s: 11 s later (lazy re-arm: twice) the table is empty. */
	for (i = 0; i < 4 && ct_table_count(r.t) > 0; i++)
		clock_advance(&r, 11 * TICKS_S);
	check_table(&r);
	CHECK(ct_table_count(r.t) == 0);
	ct_table_free(r.t);
	return 0;
}
