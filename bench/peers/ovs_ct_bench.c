/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ovs_ct_bench: Open vSwitch's userspace connection tracker (lib/conntrack.c of OVS 3.1, the
 * tracker of OVS-DPDK) timed on the same in-memory pcap as `synfin-bench --pcap FILE --loops
 * N`, for bench/peers/ovs-conntrack.sh. The pcap is loaded with synfin-bench's own loader
 * (bench/bench_gen.c). Per chunk of 64 batches of 32 frames, untimed: copy the frames into
 * preallocated dp_packets, reset their metadata, mark their IP and TCP checksums good (as a NIC
 * with RX checksum offload does; synfin does not verify checksums either) and set the header
 * offsets with flow_extract() (the datapath's miniflow_extract() does this before ct() in
 * OVS). Timed, in the noinline run_batches(): conntrack_execute() on each batch (commit, zone
 * 0, no NAT/mark/label/helper), `now` = the batch's first frame timestamp in ms, as synfin-bench
 * ticks. Between loops the table is flushed (conntrack_flush(), untimed) and the clock moves 1 s
 * past the capture's span. At the end the connections are dumped (conntrack_dump_*) and counted
 * per state, OVS's per-endpoint (pf) states mapped to synfin's conntrack state names, in the
 * format of `synfin-bench --dump-states`. Facts about OVS's API are from its lib/conntrack.h,
 * lib/conntrack-tcp.c and tests/test-conntrack.c; no OVS code is copied here.
 *
 * Clock: OVS's clean thread and its dump read the wall clock (time_msec()), the packets carry
 * the pcap's. The pcap clock starts one hour ahead of time_msec(), so nothing expires behind the
 * trace's back: expiry follows the pcap timestamps only, as in synfin-bench.
 */
#include <config.h>

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "conntrack.h"
#include "ct-dpif.h"
#include "dp-packet.h"
#include "fatal-signal.h"
#include "flow.h"
#include "packets.h"
#include "timeval.h"
#include "util.h"

#include "bench_gen.h"
#include "ct_tcp.h"

#define CHUNK_BATCHES 64
#define PCAP_AHEAD_MS (3600LL * 1000) /* pcap clock ahead of time_msec() */

struct ovsb {
	struct conntrack *ct;
	unsigned int batch; /* packets per conntrack_execute() call */
	uint64_t loops;
	struct dp_packet *pkt[CHUNK_BATCHES * NETDEV_MAX_BURST];
	struct dp_packet_batch b[CHUNK_BATCHES];
	ovs_be16 dl_type[CHUNK_BATCHES];
	long long now[CHUNK_BATCHES];
	uint64_t pkts, batches, ns, cycles;
	uint64_t cs_new, cs_est, cs_rpl, cs_inv, cs_untracked;
};

static const char *const state_names[CT_S_MAX] = {
#define X(e, s) [CT_S_##e] = s,
        CT_STATES(X)
#undef X
};

static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
tsc(void)
{
	_mm_lfence();
	return __rdtsc();
}

/* The timed region: one conntrack_execute() per batch. noipa: never inlined nor cloned
 * (callgrind --toggle-collect=run_batches); with noinline alone gcc 12 -O2 dropped the call. */
static __attribute__((noipa)) void
run_batches(struct ovsb *o, unsigned int nb)
{
	for (unsigned int j = 0; j < nb; j++)
		conntrack_execute(o->ct, &o->b[j], o->dl_type[j], false, true, 0, NULL, NULL, 0, 0,
		                  NULL, NULL, o->now[j], 0);
}

/* Copy frame @p i of @p pc into @p p as a freshly received packet. @return its dl_type. */
static ovs_be16
frame_set(struct dp_packet *p, const struct tl_pcap *pc, uint32_t i)
{
	struct flow flow;

	dp_packet_clear(p);
	dp_packet_put(p, pc->data + pc->off[i], pc->len[i]);
	pkt_metadata_init(&p->md, u32_to_odp(0));
	pkt_metadata_init_conn(&p->md); /* no cached connection: a fresh packet */
	*dp_packet_ol_flags_ptr(p) = DP_PACKET_OL_RX_IP_CKSUM_GOOD | DP_PACKET_OL_RX_L4_CKSUM_GOOD;
	flow_extract(p, &flow);
	return flow.dl_type;
}

/*
 * Fill up to CHUNK_BATCHES batches from frame @p *i on (untimed). A batch ends after o->batch
 * frames or where the dl_type changes (conntrack_execute() takes one dl_type per call).
 * @return the number of batches.
 */
static unsigned int
fill_chunk(struct ovsb *o, const struct tl_pcap *pc, uint32_t *i, long long base_ms)
{
	unsigned int nb = 0, k = 0;

	while (nb < CHUNK_BATCHES && *i < pc->count) {
		struct dp_packet_batch *b = &o->b[nb];

		dp_packet_batch_init(b);
		o->now[nb] = base_ms + (long long)(pc->ts_ns[*i] / 1000000);
		while (b->count < o->batch && *i < pc->count) {
			struct dp_packet *p = o->pkt[k];
			ovs_be16 t = frame_set(p, pc, *i);

			if (b->count > 0 && t != o->dl_type[nb])
				break;
			o->dl_type[nb] = t;
			dp_packet_batch_add(b, p);
			k++;
			(*i)++;
		}
		nb++;
	}
	return nb;
}

/* Count the ct_state the tracker gave each packet of the chunk (untimed). */
static void
account(struct ovsb *o, unsigned int nb)
{
	for (unsigned int j = 0; j < nb; j++) {
		for (size_t n = 0; n < o->b[j].count; n++) {
			uint8_t s = o->b[j].packets[n]->md.ct_state;

			o->pkts++;
			if (!(s & CS_TRACKED))
				o->cs_untracked++;
			else if (s & CS_INVALID)
				o->cs_inv++;
			else if (s & CS_NEW)
				o->cs_new++;
			else if (s & CS_ESTABLISHED)
				o->cs_est++;
			if (s & CS_REPLY_DIR)
				o->cs_rpl++;
		}
	}
}

/* One pass over the pcap, at clock offset @p base_ms. */
static void
run_pass(struct ovsb *o, const struct tl_pcap *pc, long long base_ms)
{
	uint32_t i = 0;

	while (i < pc->count) {
		unsigned int nb = fill_chunk(o, pc, &i, base_ms);
		uint64_t t0 = now_ns(), c0 = tsc(), c1, t1;

		run_batches(o, nb);
		c1 = tsc();
		t1 = now_ns();
		o->ns += t1 - t0;
		o->cycles += c1 - c0;
		o->batches += nb;
		account(o, nb);
	}
}

/*
 * OVS keeps one state per endpoint, pf's (lib/conntrack-tcp.c: an endpoint's SYN makes it
 * SYN_SENT, its FIN CLOSING; the peer's ACK of the SYN makes it ESTABLISHED, of the FIN
 * FIN_WAIT_2; an RST makes both TIME_WAIT). synfin keeps one per connection, Linux's names. Map
 * the pair: @p o the originator's, @p r the responder's (CT_DPIF_TCPS_*).
 */
static unsigned int
ovs_pair_to_state(uint8_t o, uint8_t r)
{
	uint8_t hi = o > r ? o : r, lo = o > r ? r : o;
	int fin_hi = hi >= CT_DPIF_TCPS_CLOSE_WAIT, fin_lo = lo >= CT_DPIF_TCPS_CLOSE_WAIT;

	if (lo == CT_DPIF_TCPS_TIME_WAIT)
		return CT_S_CLOSE; /* RST */
	if (lo >= CT_DPIF_TCPS_FIN_WAIT_2)
		return CT_S_TIME_WAIT; /* both FINs acknowledged */
	if (hi >= CT_DPIF_TCPS_FIN_WAIT_2)
		return fin_lo ? CT_S_LAST_ACK : CT_S_CLOSE_WAIT; /* one FIN acked, other sent? */
	if (fin_hi)
		return fin_lo ? CT_S_LAST_ACK : CT_S_FIN_WAIT; /* FIN(s) sent, none acked */
	if (lo == CT_DPIF_TCPS_ESTABLISHED)
		return CT_S_ESTABLISHED;
	if (hi == CT_DPIF_TCPS_ESTABLISHED)
		return lo == CT_DPIF_TCPS_SYN_SENT ? CT_S_SYN_RECV : CT_S_ESTABLISHED;
	if (lo == CT_DPIF_TCPS_SYN_SENT)
		return CT_S_SYN_SENT2; /* both SYNs, neither acknowledged */
	if (hi == CT_DPIF_TCPS_SYN_SENT)
		return CT_S_SYN_SENT;
	return CT_S_NONE;
}

/* Dump the connections and print them per state: synfin's names, then OVS's own pairs. */
static void
dump_states(struct ovsb *o)
{
	static uint64_t pair[CT_DPIF_TCPS_MAX_NUM][CT_DPIF_TCPS_MAX_NUM];
	uint64_t n[CT_S_MAX] = {0}, conns = 0, other = 0;
	struct conntrack_dump d;
	struct ct_dpif_entry e;
	int tot_bkts;

	conntrack_dump_start(o->ct, &d, NULL, &tot_bkts);
	while (conntrack_dump_next(&d, &e) == 0) {
		conns++;
		if (e.protoinfo.proto == IPPROTO_TCP &&
		    e.protoinfo.tcp.state_orig < CT_DPIF_TCPS_MAX_NUM &&
		    e.protoinfo.tcp.state_reply < CT_DPIF_TCPS_MAX_NUM) {
			n[ovs_pair_to_state(e.protoinfo.tcp.state_orig,
			                    e.protoinfo.tcp.state_reply)]++;
			pair[e.protoinfo.tcp.state_orig][e.protoinfo.tcp.state_reply]++;
		} else {
			other++;
		}
		ct_dpif_entry_uninit(&e);
	}
	conntrack_dump_done(&d);
	printf("connections: %" PRIu64 " (not TCP: %" PRIu64 ")\n", conns, other);
	printf("states:");
	for (unsigned int s = 0; s < CT_S_MAX; s++)
		printf(" %s=%" PRIu64, state_names[s], n[s]);
	printf("\novs endpoint states (orig/reply):");
	for (unsigned int a = 0; a < CT_DPIF_TCPS_MAX_NUM; a++)
		for (unsigned int b = 0; b < CT_DPIF_TCPS_MAX_NUM; b++)
			if (pair[a][b])
				printf(" %s/%s=%" PRIu64, ct_dpif_tcp_state_string[a],
				       ct_dpif_tcp_state_string[b], pair[a][b]);
	printf("\n");
}

static int
parse_opts(int argc, char **argv, struct ovsb *o, const char **pcap)
{
	static const struct option lo[] = {
	        {"pcap", required_argument, NULL, 'p'},
	        {"loops", required_argument, NULL, 'l'},
	        {"batch", required_argument, NULL, 'b'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	o->batch = NETDEV_MAX_BURST;
	o->loops = 10;
	*pcap = NULL;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			*pcap = optarg;
			break;
		case 'l':
			o->loops = strtoull(optarg, NULL, 0);
			break;
		case 'b':
			o->batch = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		default:
			return -1;
		}
	}
	if (*pcap == NULL || o->loops == 0 || o->batch == 0 || o->batch > NETDEV_MAX_BURST) {
		fprintf(stderr, "usage: %s --pcap FILE [--loops N (10)] [--batch N (1..%d, 32)]\n",
		        argv[0], NETDEV_MAX_BURST);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static struct ovsb o;
	struct tl_pcap pc;
	const char *pcap;
	uint32_t maxlen = 0, nconns = 0;
	long long base_ms;
	double secs, mpps, cpp;

	set_program_name(argv[0]);
	if (parse_opts(argc, argv, &o, &pcap) < 0)
		return 2;
	if (bench_pcap_load(pcap, &pc) < 0)
		return 1;
	for (uint32_t i = 0; i < pc.count; i++)
		maxlen = pc.len[i] > maxlen ? pc.len[i] : maxlen;
	for (unsigned int k = 0; k < CHUNK_BATCHES * NETDEV_MAX_BURST; k++)
		o.pkt[k] = dp_packet_new(maxlen);
	fatal_signal_init();
	o.ct = conntrack_init();
	printf("ovs_ct_bench: OVS %s conntrack, batch=%u zone=0 commit, one thread\n",
	       PACKAGE_VERSION, o.batch);
	printf("pcap=%s frames=%u span=%.3f s loops=%" PRIu64
	       " (table flushed between loops, untimed; clock = pcap timestamps)\n",
	       pcap, pc.count, (double)pc.span_ns / 1e9, o.loops);
	base_ms = time_msec() + PCAP_AHEAD_MS;
	for (uint64_t l = 0; l < o.loops; l++) {
		if (l > 0)
			conntrack_flush(o.ct, NULL);
		run_pass(&o, &pc, base_ms);
		base_ms += (long long)(pc.span_ns / 1000000) + 1000;
	}
	conntrack_get_nconns(o.ct, &nconns);
	secs = (double)o.ns / 1e9;
	mpps = secs > 0 ? (double)o.pkts / secs / 1e6 : 0;
	cpp = o.pkts ? (double)o.cycles / (double)o.pkts : 0;
	printf("timed: %" PRIu64 " packets in %" PRIu64 " batches, %.4f s (%" PRIu64
	       " TSC cycles)\n",
	       o.pkts, o.batches, secs, o.cycles);
	printf("ct_state: new=%" PRIu64 " est=%" PRIu64 " inv=%" PRIu64 " untracked=%" PRIu64
	       " (rpl=%" PRIu64 ") nconns=%u\n",
	       o.cs_new, o.cs_est, o.cs_inv, o.cs_untracked, o.cs_rpl, nconns);
	dump_states(&o);
	printf("Mpps %.3f  ns/pkt %.1f  cycles/pkt %.1f\n", mpps, mpps > 0 ? 1000 / mpps : 0, cpp);
	printf("RESULT mpps=%.3f ns_per_pkt=%.1f cycles_per_pkt=%.1f\n", mpps,
	       mpps > 0 ? 1000 / mpps : 0, cpp);
	fflush(stdout);
	conntrack_destroy(o.ct);
	for (unsigned int k = 0; k < CHUNK_BATCHES * NETDEV_MAX_BURST; k++)
		dp_packet_delete(o.pkt[k]);
	tl_pcap_free(&pc);
	return 0;
}
