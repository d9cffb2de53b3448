/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin-bench: single-core throughput of the real per-packet pipeline (lib/worker:
 * ct_worker_process_burst() + ct_worker_tick(), as the app calls them) on synthetic workloads
 * (full TCP lifecycles with N connections open, established-only traffic, a SYN flood mixed with
 * legitimate connections, lifecycles of TCP, UDP and ICMP flows side by side) or on a pcap replayed from memory. Frames are written into a fixed set
 * of mbufs outside the timed region, one batch of bursts at a time; the timed region is exactly
 * the worker calls of that batch (see bench/README.md). Prints Mpps, cycles per packet, completed
 * connections per second, table bytes per flow, and a last line `RESULT mpps=.. cycles_per_pkt=..
 * cps=.. bytes_per_flow=..`.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "ct_table.h"
#include "ct_tcp.h"
#include "ct_worker.h"

#include "bench_export.h"
#include "bench_gen.h"

#define BURST_MAX    64
#define BATCH_BURSTS 64 /* bursts prepared per batch (2048 mbufs at burst 32) */
#define SIM_NS_PER_S UINT64_C(1000000000)

struct opts {
	int workload;
	uint64_t concurrent;
	uint64_t packets;
	double seconds;
	uint64_t table_size;
	unsigned int burst;
	const char *pcap;
	uint64_t loops;
	uint64_t time_wait_ms;
	int time_wait_set;             /* --time-wait-ms given (pcap workload: else the default) */
	uint32_t timeout_ms[CT_S_MAX]; /* --timeout-ms STATE=MS overrides, 0 = not given */
	uint32_t l4_timeout_ms[CT_L4T_MAX]; /* --timeout-ms udp=MS, ... overrides */
	struct bench_mix mix;               /* --mix: shares of the mixed workload */
	int keep_table;                     /* pcap: keep the table between loops, clock runs on */
	int per_loop;                       /* pcap: print each loop's cycles per packet */
	int loopable;         /* --write-pcap: a pass that can be replayed in a loop */
	uint32_t loop_tuples; /* loopable: 4-tuples per slot */
	uint64_t tick_ns;     /* synthetic clock advance per burst */
	uint32_t seed;
	uint16_t payload;
	double flood_ratio;
	const char *write_pcap; /* write the workload to a pcap instead of running it */
	int write_warm;         /* 1: include the warm-up packets in the pcap */
	int no_stagger;         /* 1: every lifecycle slot starts at round 0, no warm-up */
	int dump_states;        /* 1: print the flows per conntrack state at the end */
	int quiet;
	int export_mode;          /* --export: BENCH_EXPORT_* */
	unsigned int export_ring; /* --export-ring */
};

struct counts {
	uint64_t pkts, cycles, bursts;
	uint64_t verdict[CT_WV_MAX];
	uint64_t completed;          /* lifecycles whose 8 packets were all accepted */
	uint64_t completed_proto[3]; /* of them TCP, UDP, ICMP (proto_index()) */
	uint64_t broken;             /* lifecycles with at least one packet not accepted */
	uint64_t flood;              /* flood SYNs sent */
};

static const char *const workload_names[BENCH_W_MAX] = {
        [BENCH_W_LIFECYCLE] = "lifecycle", [BENCH_W_ESTABLISHED] = "established",
        [BENCH_W_SYNFLOOD] = "synflood",   [BENCH_W_MIXED] = "mixed",
        [BENCH_W_PCAP] = "pcap",
};

static void
usage(const char *prog)
{
	printf("Usage: %s [EAL options] -- [options]\n"
	       "  --workload lifecycle|established|synflood|mixed   (default lifecycle)\n"
	       "  --mix T,U,I          mixed: percent of TCP, UDP and ICMP flows (default "
	       "80,15,5)\n"
	       "  --pcap FILE          replay a classic pcap from memory (workload pcap)\n"
	       "  --loops N            pcap replays (table flushed between loops; default 10)\n"
	       "  --keep-table         pcap: keep the table between loops, the clock running on\n"
	       "                       (a loopable pcap's steady state; loops 2..N reported "
	       "apart)\n"
	       "  --per-loop           pcap: print each loop's cycles per packet\n"
	       "  --concurrent N       connections open at once / established flows (default "
	       "100000)\n"
	       "  --packets N          timed packets (default 20000000)\n"
	       "  --seconds S          run about S seconds instead of --packets\n"
	       "  --table-size N       flow table capacity (default: concurrent * 5/4 + 65536; "
	       "mixed:\n"
	       "                       + room for UDP/ICMP flows waiting for their timeout)\n"
	       "  --burst N            packets per ct_worker_process_burst() call (default 32, max "
	       "%d)\n"
	       "  --time-wait-ms N     TIME_WAIT timeout in ms (default 1000; pcap: the "
	       "tracker's)\n"
	       "  --timeout-ms S=MS    timeout of conntrack state S, or of udp, udp_stream, icmp,\n"
	       "                       generic, in ms (repeatable)\n"
	       "  --tick-us N          synthetic clock advance per burst (default 1000 = 1 ms)\n"
	       "  --flood-ratio R      synflood: fraction of packets that are flood SYNs (default "
	       "0.9)\n"
	       "  --payload N          data segment length (default 10)\n"
	       "  --seed N             seed of addresses, ports and ISNs (default 1)\n"
	       "  --write-pcap FILE    write --packets packets of the workload to FILE and exit\n"
	       "                       (timed part only; --write-warmup: warm-up packets first)\n"
	       "  --loopable           with --write-pcap (lifecycle, synflood): whole connections\n"
	       "                       only, ISNs spaced so the pcap stays valid when looped\n"
	       "  --loop-tuples T      loopable: 4-tuples per slot (default 1)\n"
	       "  --no-stagger         lifecycle: all slots in step from round 0 (no warm-up)\n"
	       "  --dump-states        print the flows in each conntrack state at the end\n"
	       "  --export MODE        flow-end records to a consumer thread: ring (taken and\n"
	       "                       dropped), json (JSON lines to /dev/null), ipfix (IPFIX\n"
	       "                       over UDP to 127.0.0.1); records: kept and built, no\n"
	       "                       consumer (dropped once the ring is full); default none\n"
	       "  --export-ring N      records the ring holds (default 16384)\n",
	       prog, BURST_MAX);
}

/* --mix T,U,I: percent of TCP, UDP and ICMP slots, adding up to 100. @return 0 or -1. */
static int
mix_opt(struct opts *o, const char *arg)
{
	unsigned int t, u, i;
	char tail;

	if (sscanf(arg, "%u,%u,%u%c", &t, &u, &i, &tail) != 3 || t > 100 || u > 100 || i > 100 ||
	    t + u + i != 100) {
		fprintf(stderr, "--mix: '%s': three percentages T,U,I adding up to 100\n", arg);
		return -1;
	}
	o->mix = (struct bench_mix){.tcp = (uint8_t)t, .udp = (uint8_t)u, .icmp = (uint8_t)i};
	return 0;
}

/* --timeout-ms STATE=MS: a conntrack state's timeout in milliseconds. @return 0 or -1. */
static int
timeout_opt(struct opts *o, const char *arg)
{
	char name[32];
	const char *eq = strchr(arg, '=');
	char *end;
	unsigned long long ms;
	int st, l4;

	if (eq == NULL || (size_t)(eq - arg) >= sizeof(name)) {
		fprintf(stderr, "--timeout-ms: '%s' is not STATE=MS\n", arg);
		return -1;
	}
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	st = ct_state_parse(name);
	l4 = st < 0 ? ct_l4_timeout_parse(name) : -1;
	errno = 0;
	ms = strtoull(eq + 1, &end, 10);
	if ((l4 < 0 && (st <= CT_S_NONE || st >= CT_S_MAX)) || errno != 0 || *end != '\0' ||
	    eq[1] == '\0' || ms == 0 || ms > CT_WORKER_TIMEOUT_MS_MAX) {
		fprintf(stderr,
		        "--timeout-ms: '%s': a conntrack state or an L4 timeout name and 1..%u "
		        "ms\n",
		        arg, CT_WORKER_TIMEOUT_MS_MAX);
		return -1;
	}
	if (l4 >= 0)
		o->l4_timeout_ms[l4] = (uint32_t)ms;
	else
		o->timeout_ms[st] = (uint32_t)ms;
	return 0;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	        {"workload", required_argument, NULL, 'w'},
	        {"concurrent", required_argument, NULL, 'c'},
	        {"packets", required_argument, NULL, 'n'},
	        {"seconds", required_argument, NULL, 's'},
	        {"table-size", required_argument, NULL, 't'},
	        {"burst", required_argument, NULL, 'b'},
	        {"pcap", required_argument, NULL, 'p'},
	        {"loops", required_argument, NULL, 'l'},
	        {"time-wait-ms", required_argument, NULL, 'W'},
	        {"tick-us", required_argument, NULL, 'T'},
	        {"seed", required_argument, NULL, 'S'},
	        {"payload", required_argument, NULL, 'P'},
	        {"flood-ratio", required_argument, NULL, 'f'},
	        {"write-pcap", required_argument, NULL, 'o'},
	        {"write-warmup", no_argument, NULL, 'O'},
	        {"no-stagger", no_argument, NULL, 'N'},
	        {"dump-states", no_argument, NULL, 'D'},
	        {"keep-table", no_argument, NULL, 'K'},
	        {"per-loop", no_argument, NULL, 'Q'},
	        {"timeout-ms", required_argument, NULL, 'M'},
	        {"loopable", no_argument, NULL, 'L'},
	        {"loop-tuples", required_argument, NULL, 'U'},
	        {"export", required_argument, NULL, 'X'},
	        {"export-ring", required_argument, NULL, 'R'},
	        {"mix", required_argument, NULL, 'x'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct opts){
	        .workload = BENCH_W_LIFECYCLE,
	        .concurrent = 100000,
	        .packets = 20000000,
	        .burst = 32,
	        .loops = 10,
	        .time_wait_ms = 1000,
	        .tick_ns = 1000000,
	        .seed = 1,
	        .payload = 10,
	        .flood_ratio = 0.9,
	        .loop_tuples = 1,
	        .export_ring = 16384,
	        .mix = {.tcp = 80, .udp = 15, .icmp = 5},
	};
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'w':
			for (o->workload = 0; o->workload < BENCH_W_PCAP; o->workload++)
				if (strcmp(optarg, workload_names[o->workload]) == 0)
					break;
			if (o->workload == BENCH_W_PCAP) {
				fprintf(stderr, "unknown workload %s\n", optarg);
				return -1;
			}
			break;
		case 'c':
			o->concurrent = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			o->packets = strtoull(optarg, NULL, 0);
			break;
		case 's':
			o->seconds = strtod(optarg, NULL);
			break;
		case 't':
			o->table_size = strtoull(optarg, NULL, 0);
			break;
		case 'b':
			o->burst = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'p':
			o->pcap = optarg;
			break;
		case 'l':
			o->loops = strtoull(optarg, NULL, 0);
			break;
		case 'W':
			o->time_wait_ms = strtoull(optarg, NULL, 0);
			o->time_wait_set = 1;
			break;
		case 'M':
			if (timeout_opt(o, optarg) < 0)
				return -1;
			break;
		case 'Q':
			o->per_loop = 1;
			break;
		case 'K':
			o->keep_table = 1;
			break;
		case 'L':
			o->loopable = 1;
			break;
		case 'U':
			o->loop_tuples = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'T':
			o->tick_ns = strtoull(optarg, NULL, 0) * 1000;
			break;
		case 'S':
			o->seed = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'P':
			o->payload = (uint16_t)strtoul(optarg, NULL, 0);
			break;
		case 'f':
			o->flood_ratio = strtod(optarg, NULL);
			break;
		case 'o':
			o->write_pcap = optarg;
			break;
		case 'O':
			o->write_warm = 1;
			break;
		case 'N':
			o->no_stagger = 1;
			break;
		case 'D':
			o->dump_states = 1;
			break;
		case 'X':
			o->export_mode = bench_export_mode(optarg);
			if (o->export_mode < 0) {
				fprintf(stderr, "--export: none, records, ring, json or ipfix\n");
				return -1;
			}
			break;
		case 'R':
			o->export_ring = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'x':
			if (mix_opt(o, optarg) < 0)
				return -1;
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (o->pcap)
		o->workload = BENCH_W_PCAP;
	if (o->burst == 0 || o->burst > BURST_MAX || o->concurrent == 0 ||
	    o->concurrent > (1u << 24) || o->flood_ratio < 0 || o->flood_ratio >= 1 ||
	    o->tick_ns == 0 || o->loops == 0 || o->time_wait_ms == 0 ||
	    o->time_wait_ms > CT_WORKER_TIMEOUT_MS_MAX) {
		fprintf(stderr,
		        "bad option value (burst 1..%d, concurrent 1..2^24, flood-ratio "
		        "[0,1), tick-us > 0, loops > 0, time-wait-ms 1..%u)\n",
		        BURST_MAX, CT_WORKER_TIMEOUT_MS_MAX);
		return -1;
	}
	return 0;
}

/*
 * --write-pcap: the workload's packets to a pcap, 1 us apart. --loopable: whole connections
 * only, every slot running K connections where K is --packets / (8 x slots) rounded up to a
 * multiple of --loop-tuples and at least 3 uses per tuple (bench_gen_loopable()).
 * @return the exit status.
 */
static int
write_pcap(const struct opts *o)
{
	struct bench_gen g;
	int64_t n;

	bench_gen_init(&g, o->workload, (uint32_t)o->concurrent, o->seed, o->payload,
	               o->workload == BENCH_W_SYNFLOOD ? o->flood_ratio : 0);
	if (o->workload == BENCH_W_MIXED)
		bench_gen_mix(&g, o->mix);
	if (o->no_stagger)
		bench_gen_no_stagger(&g);
	if (o->loopable) {
		uint32_t t = o->loop_tuples ? o->loop_tuples : 1;
		uint64_t k = (o->packets + o->concurrent * BENCH_PHASES - 1) /
		             (o->concurrent * BENCH_PHASES);

		k = (k + t - 1) / t * t;
		if (k < 3ull * t)
			k = 3ull * t;
		if (k > UINT32_MAX || bench_gen_loopable(&g, (uint32_t)k, t) < 0) {
			fprintf(stderr,
			        "--loopable: lifecycle or synflood only; %" PRIu64
			        " connections per slot over %u tuples must give 3..65536 uses "
			        "per tuple, and --payload must fit in an ISN step\n",
			        k, t);
			return 2;
		}
		printf("loopable: %" PRIu64 " slots x %" PRIu64
		       " connections (%u tuple%s x %" PRIu64 " uses, ISN step %u)\n",
		       o->concurrent, k, t, t == 1 ? "" : "s", k / t,
		       (uint32_t)((UINT64_C(1) << 32) / (k / t)));
	}
	n = bench_pcap_write(o->write_pcap, &g, o->loopable ? UINT64_MAX : o->packets,
	                     !o->write_warm, 1);
	if (n < 0)
		return 1;
	printf("wrote %" PRId64 " packets to %s\n", n, o->write_pcap);
	return 0;
}

/* Index of a protocol in counts::completed_proto: TCP 0, UDP 1, ICMP 2. */
static inline unsigned int
proto_index(uint8_t proto)
{
	return proto == BENCH_PROTO_UDP ? 1 : proto == BENCH_PROTO_ICMP ? 2 : 0;
}

/* Per-run state: the worker, the mbufs reused for every batch, and the synthetic clock. */
struct bench {
	struct opts o;
	struct ct_worker *w;
	struct ct_tcp_conf tcp;
	struct ct_l4_conf l4;
	struct rte_mbuf *m[BATCH_BURSTS * BURST_MAX];
	uint8_t verdict[BATCH_BURSTS * BURST_MAX];
	struct bench_tag tag[BATCH_BURSTS * BURST_MAX];
	uint16_t burst_n[BATCH_BURSTS]; /* packets in each burst of the batch */
	uint64_t sim_ns;                /* synthetic clock */
	uint64_t now;                   /* worker ticks (1 ms) */
	uint64_t tw_ms;                 /* TIME_WAIT timeout in force (ms) */
	uint8_t *broken;                /* per slot: this generation had a packet not accepted */
	struct ct_lcore_stats base;     /* worker counters at the start of the timed part */
	struct counts c;
	struct counts pass1;               /* pcap: the counts after the first loop */
	struct ct_lcore_stats pass1_stats; /* and the worker's counters */
};

static inline void
mbuf_set(struct rte_mbuf *m, uint32_t len)
{
	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	m->nb_segs = 1;
	m->next = NULL;
}

/*
 * Fill the batch from the generator (untimed). With @p warm, only warm-up packets (the last
 * burst may be short); else only timed packets, at most @p max_pkts.
 * @return number of bursts filled.
 */
static unsigned int
fill_gen(struct bench *b, struct bench_gen *g, int warm, uint64_t max_pkts)
{
	unsigned int nb = 0, k = 0;
	struct bench_pkt p;

	while (nb < BATCH_BURSTS && max_pkts > 0) {
		unsigned int n = 0;

		while (n < b->o.burst && max_pkts > 0 && (warm ? g->warm_left > 0 : 1)) {
			struct rte_mbuf *m = b->m[k];

			b->tag[k] = bench_gen_next(g, &p);
			mbuf_set(m, bench_frame_write(rte_pktmbuf_mtod(m, uint8_t *), &p));
			n++;
			k++;
			max_pkts--;
		}
		if (n == 0)
			break;
		b->burst_n[nb++] = (uint16_t)n;
		if (warm && g->warm_left == 0)
			break;
	}
	return nb;
}

/*
 * Run @p nb prepared bursts through the worker; the timed region when @p timed. Never inlined:
 * bench/instr.sh counts the instructions inside it (valgrind --toggle-collect=run_batch).
 */
static __attribute__((noinline)) void
run_batch(struct bench *b, unsigned int nb, int timed)
{
	uint64_t t0, t1, tick_ns = b->o.tick_ns;
	struct ct_worker *w = b->w;
	unsigned int k = 0;
	uint64_t now = b->now, sim = b->sim_ns;

	t0 = rte_rdtsc_precise();
	/* ---- timed region: the app's per-burst work minus RX/TX ---- */
	for (unsigned int i = 0; i < nb; i++) {
		uint64_t t;

		ct_worker_process_burst(w, &b->m[k], b->burst_n[i], now, &b->verdict[k]);
		k += b->burst_n[i];
		sim += tick_ns;
		t = sim / 1000000;
		if (t != now) {
			now = t;
			ct_worker_tick(w, now);
		}
	}
	/* ---- end of timed region ---- */
	t1 = rte_rdtsc_precise();
	b->now = now;
	b->sim_ns = sim;
	if (!timed)
		return;
	b->c.cycles += t1 - t0;
	b->c.pkts += k;
	b->c.bursts += nb;
	for (unsigned int i = 0; i < k; i++) {
		const struct bench_tag *t = &b->tag[i];
		uint8_t v = b->verdict[i];
		int ok = v == CT_WV_NEW || v == CT_WV_ACCEPT;

		b->c.verdict[v < CT_WV_MAX ? v : 0]++;
		if (t->flood) {
			b->c.flood++;
			continue;
		}
		if (b->broken == NULL || t->slot == UINT32_MAX)
			continue;
		if (t->phase == 0)
			b->broken[t->slot] = 0;
		if (!ok)
			b->broken[t->slot] = 1;
		if (t->phase == BENCH_PHASES - 1) {
			if (b->broken[t->slot]) {
				b->c.broken++;
			} else {
				b->c.completed++;
				b->c.completed_proto[proto_index(t->proto)]++;
			}
		}
	}
}

/* Account warm-up verdicts into the per-slot broken bits only. */
static void
warm_account(struct bench *b, unsigned int npkts)
{
	if (b->broken == NULL)
		return;
	for (unsigned int i = 0; i < npkts; i++) {
		const struct bench_tag *t = &b->tag[i];
		uint8_t v = b->verdict[i];

		if (t->slot == UINT32_MAX)
			continue;
		if (t->phase == 0)
			b->broken[t->slot] = 0;
		if (v != CT_WV_NEW && v != CT_WV_ACCEPT)
			b->broken[t->slot] = 1;
	}
}

static unsigned int
batch_pkts(const struct bench *b, unsigned int nb)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nb; i++)
		n += b->burst_n[i];
	return n;
}

/* True while the timed part should go on. */
static int
more(const struct bench *b, uint64_t tsc_hz)
{
	if (b->o.seconds > 0)
		return (double)b->c.cycles < b->o.seconds * (double)tsc_hz;
	return b->c.pkts < b->o.packets;
}

static void
run_synthetic(struct bench *b, uint64_t tsc_hz)
{
	struct bench_gen g;
	unsigned int nb;

	bench_gen_init(&g, b->o.workload, (uint32_t)b->o.concurrent, b->o.seed, b->o.payload,
	               b->o.workload == BENCH_W_SYNFLOOD ? b->o.flood_ratio : 0);
	if (b->o.workload == BENCH_W_MIXED)
		bench_gen_mix(&g, b->o.mix);
	if (b->o.no_stagger)
		bench_gen_no_stagger(&g);
	if (!b->o.quiet)
		printf("warm-up: %" PRIu64 " packets (untimed)\n", g.warm_left);
	while (g.warm_left > 0) {
		nb = fill_gen(b, &g, 1, UINT64_MAX);
		run_batch(b, nb, 0);
		warm_account(b, batch_pkts(b, nb));
	}
	ct_worker_tick(b->w, b->now);
	memset(&b->c, 0, sizeof(b->c));
	b->base = *ct_worker_stats(
	        b->w); /* counters are reported relative to the end of the warm-up */
	while (more(b, tsc_hz)) {
		uint64_t left = b->o.seconds > 0 ? UINT64_MAX : b->o.packets - b->c.pkts;

		nb = fill_gen(b, &g, 0, left);
		run_batch(b, nb, 1);
	}
}

/* Copy pcap frame @p i into @p m, with the synthetic clock taken from its timestamp. */
static void
pcap_frame_set(struct rte_mbuf *m, const struct tl_pcap *pc, uint32_t i)
{
	uint32_t len = pc->len[i],
	         room = rte_pktmbuf_data_room_size(m->pool) - RTE_PKTMBUF_HEADROOM;
	uint32_t cp = len < room ? len : room;

	rte_memcpy(rte_pktmbuf_mtod(m, uint8_t *), pc->data + pc->off[i], cp);
	mbuf_set(m, cp);
	m->pkt_len = len; /* a longer frame looks like a chained one: headers in the first part */
}

/*
 * The timed part of a pcap batch: @p nb prepared bursts, burst j at clock @p bnow[j]. Never
 * inlined (callgrind --toggle-collect=run_pcap_batch, bench/peers/ovs-conntrack.sh).
 */
static __attribute__((noinline)) void
run_pcap_batch(struct bench *b, unsigned int nb, const uint64_t *bnow)
{
	unsigned int k = 0;

	for (unsigned int j = 0; j < nb; j++) {
		if (bnow[j] != b->now) {
			b->now = bnow[j];
			ct_worker_tick(b->w, b->now);
		}
		ct_worker_process_burst(b->w, &b->m[k], b->burst_n[j], b->now, &b->verdict[k]);
		k += b->burst_n[j];
	}
}

/* One pass over the pcap, the clock = @p base_ns + the frames' timestamps. */
static void
pcap_pass(struct bench *b, const struct tl_pcap *pc, uint64_t base_ns)
{
	uint32_t i = 0;

	while (i < pc->count) {
		unsigned int nb = 0, k = 0;
		uint64_t t0, t1;

		/* untimed: copy frames; each burst gets the timestamp of its first frame */
		uint64_t bnow[BATCH_BURSTS];

		while (nb < BATCH_BURSTS && i < pc->count) {
			unsigned int n = 0;

			bnow[nb] = (base_ns + pc->ts_ns[i]) / 1000000;
			while (n < b->o.burst && i < pc->count)
				pcap_frame_set(b->m[k + n++], pc, i++);
			b->burst_n[nb++] = (uint16_t)n;
			k += n;
		}
		t0 = rte_rdtsc_precise();
		run_pcap_batch(b, nb, bnow);
		t1 = rte_rdtsc_precise();
		b->c.cycles += t1 - t0;
		b->c.pkts += k;
		b->c.bursts += nb;
		for (unsigned int j = 0; j < k; j++)
			b->c.verdict[b->verdict[j] < CT_WV_MAX ? b->verdict[j] : 0]++;
	}
}

/*
 * Replay the pcap --loops times. Default: the table is flushed between loops (untimed) and the
 * clock moves on 1 s past the capture's span, so every loop replays the same connections from
 * an empty table. --keep-table: the table stays and the clock runs on by one mean frame
 * interval, as when a generator replays the pcap in a loop; the counts after the first loop are
 * kept apart (b->pass1) to report the steady state.
 */
static void
run_pcap(struct bench *b, const struct tl_pcap *pc)
{
	uint64_t base_ns = 0;
	uint64_t gap_ns = pc->count > 1 ? pc->span_ns / (pc->count - 1) : 1000;

	b->o.tick_ns = 0;
	memset(&b->c, 0, sizeof(b->c));
	for (uint64_t l = 0; l < b->o.loops; l++) {
		uint64_t c0 = b->c.cycles, p0 = b->c.pkts;

		pcap_pass(b, pc, base_ns);
		if (b->o.per_loop)
			printf("loop %" PRIu64 ": cycles/pkt %.1f\n", l + 1,
			       (double)(b->c.cycles - c0) / (double)(b->c.pkts - p0));
		if (l == 0) {
			b->pass1 = b->c;
			b->pass1_stats = *ct_worker_stats(b->w);
		}
		if (b->o.keep_table) {
			base_ns += pc->span_ns + (gap_ns ? gap_ns : 1);
			continue;
		}
		base_ns += pc->span_ns + SIM_NS_PER_S;
		if (l + 1 < b->o.loops)
			ct_worker_flush(b->w);
	}
}

/* --keep-table: the loops after the first (the steady state of a looped pcap). */
static void
pcap_steady_print(const struct bench *b, const struct tl_pcap *pc)
{
	struct ct_lcore_stats st = *ct_worker_stats(b->w);
	uint64_t pkts = b->c.pkts - b->pass1.pkts;
	uint64_t inv = b->c.verdict[CT_WV_INVALID] - b->pass1.verdict[CT_WV_INVALID];
	double pcap_s = (double)(b->o.loops - 1) * ((double)pc->span_ns / 1e9);

	if (!b->o.keep_table || b->o.loops < 2)
		return;
	ct_stats_sub(&st, &b->pass1_stats);
	printf("first loop: invalid=%" PRIu64 " of %" PRIu64 " created=%" PRIu64 " closed=%" PRIu64
	       "\n",
	       b->pass1.verdict[CT_WV_INVALID], b->pass1.pkts, b->pass1_stats.flows_created,
	       b->pass1_stats.flows_closed);
	printf("steady (loops 2..%" PRIu64 "): invalid=%" PRIu64 " of %" PRIu64
	       " (%.4f %%) created=%" PRIu64 " closed=%" PRIu64 " expired=%" PRIu64
	       " reopened=%" PRIu64 " evicted=%" PRIu64 " refused=%" PRIu64 "\n",
	       b->o.loops, inv, pkts, pkts ? 100.0 * (double)inv / (double)pkts : 0.0,
	       st.flows_created, st.flows_closed, st.flows_expired, st.flows_reopened,
	       st.flows_evicted, st.flows_refused);
	if (pcap_s > 0)
		printf("steady, per second of pcap time: created %.0f closed %.0f\n",
		       (double)st.flows_created / pcap_s, (double)st.flows_closed / pcap_s);
}

/* Synthetic clock time of one round over the slots (each slot sends one packet a round), ms. */
static double
round_ms(const struct opts *o)
{
	double round_pkts = (double)o->concurrent /
	                    (o->workload == BENCH_W_SYNFLOOD ? 1.0 - o->flood_ratio : 1.0);

	return round_pkts / o->burst * (double)o->tick_ns / 1e6;
}

/*
 * Default table size: the open connections + 1/4 + 65536 for TIME_WAIT and slack. A mixed
 * workload's UDP and ICMP flows are not closed but wait for their idle timeout after their last
 * packet while the slot runs its next flows: room for those too.
 */
static uint64_t
table_size_default(const struct bench *b)
{
	uint64_t n = b->o.concurrent + b->o.concurrent / 4 + 65536;

	if (b->o.workload == BENCH_W_MIXED) {
		double flow_ms = BENCH_PHASES * round_ms(&b->o);
		double udp = b->l4.ms[CT_L4T_UDP] > b->l4.ms[CT_L4T_UDP_STREAM]
		                     ? b->l4.ms[CT_L4T_UDP]
		                     : b->l4.ms[CT_L4T_UDP_STREAM];

		n += (uint64_t)((double)b->o.concurrent / 100 *
		                (b->o.mix.udp * (udp / flow_ms + 1) +
		                 b->o.mix.icmp * (b->l4.ms[CT_L4T_ICMP] / flow_ms + 1)));
	}
	return n;
}

/*
 * Timeouts (milliseconds, as the tracker keeps them): the defaults; for the synthetic workloads
 * TIME_WAIT from --time-wait-ms and the others at least three rounds over the slots, so that no
 * connection expires between two of its packets (the UDP and ICMP timeouts too); for a pcap
 * TIME_WAIT only when --time-wait-ms is given; then every --timeout-ms override.
 */
static void
timeouts_setup(struct bench *b)
{
	b->tcp = ct_tcp_conf_default;
	b->l4 = ct_l4_conf_default;
	if (b->o.workload != BENCH_W_PCAP) {
		uint64_t round_s = (uint64_t)(round_ms(&b->o) / 1000) + 1;

		for (unsigned int s = 0; s < CT_S_MAX; s++)
			if (s != CT_S_TIME_WAIT && b->tcp.timeouts.ms[s] < 3000 * round_s)
				b->tcp.timeouts.ms[s] = (uint32_t)(3000 * round_s);
		for (unsigned int t = 0; t < CT_L4T_MAX; t++)
			if (b->l4.ms[t] < 3000 * round_s)
				b->l4.ms[t] = (uint32_t)(3000 * round_s);
	}
	if (b->o.workload != BENCH_W_PCAP || b->o.time_wait_set)
		b->tcp.timeouts.ms[CT_S_TIME_WAIT] = (uint32_t)b->o.time_wait_ms;
	for (unsigned int s = 0; s < CT_S_MAX; s++)
		if (b->o.timeout_ms[s] != 0)
			b->tcp.timeouts.ms[s] = b->o.timeout_ms[s];
	for (unsigned int t = 0; t < CT_L4T_MAX; t++)
		if (b->o.l4_timeout_ms[t] != 0)
			b->l4.ms[t] = b->o.l4_timeout_ms[t];
	b->tw_ms = b->tcp.timeouts.ms[CT_S_TIME_WAIT];
}

/* Print the timeouts that differ from the defaults (ms). */
static void
timeouts_print(const struct bench *b)
{
	int any = 0;

	for (unsigned int s = 0; s < CT_S_MAX; s++) {
		if (b->tcp.timeouts.ms[s] == ct_tcp_conf_default.timeouts.ms[s])
			continue;
		printf("%s %s=%u", any ? "" : "timeouts (ms, not default):", ct_state_name(s),
		       b->tcp.timeouts.ms[s]);
		any = 1;
	}
	for (unsigned int t = 0; t < CT_L4T_MAX; t++) {
		if (b->l4.ms[t] == ct_l4_conf_default.ms[t])
			continue;
		printf("%s %s=%u", any ? "" : "timeouts (ms, not default):", ct_l4_timeout_name(t),
		       b->l4.ms[t]);
		any = 1;
	}
	if (any)
		printf("\n");
}

static const char *const verdict_names[CT_WV_MAX] = {
        [CT_WV_PASS] = "pass",     [CT_WV_MALFORMED] = "malformed", [CT_WV_NEW] = "new",
        [CT_WV_ACCEPT] = "accept", [CT_WV_INVALID] = "invalid",     [CT_WV_REFUSED] = "refused",
};

int
main(int argc, char **argv)
{
	static struct bench b;
	struct ct_worker_params wp;
	struct ct_lcore_stats st;
	struct tl_pcap pc;
	struct bench_export ex;
	struct rte_mempool *mp;
	uint64_t tsc_hz, nmbuf;
	double secs, mpps, cpp, cps, bpf;
	int ret;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	optind = 1;
	if (parse_opts(argc, argv, &b.o) < 0)
		return 2;
	if (b.o.write_pcap != NULL) {
		ret = write_pcap(&b.o);
		rte_eal_cleanup();
		return ret;
	}
	if (b.o.workload == BENCH_W_PCAP && bench_pcap_load(b.o.pcap, &pc) < 0)
		return 1;

	timeouts_setup(&b);
	if (b.o.table_size == 0)
		b.o.table_size = table_size_default(&b);

	nmbuf = (uint64_t)BATCH_BURSTS * b.o.burst;
	mp = rte_pktmbuf_pool_create("bench_mbufs", (unsigned int)nmbuf, 0, 0,
	                             RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (mp == NULL || rte_pktmbuf_alloc_bulk(mp, b.m, (unsigned int)nmbuf) != 0) {
		fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	wp = (struct ct_worker_params){
	        .name = "bench",
	        .capacity = (uint32_t)b.o.table_size,
	        .socket_id = (int)rte_socket_id(),
	        .tcp = &b.tcp,
	        .l4 = &b.l4,
	        .now = 0,
	};
	if (bench_export_start(&ex, b.o.export_mode, b.o.export_ring) < 0) {
		fprintf(stderr, "--export %s: cannot set up the ring or the consumer\n",
		        bench_export_name(b.o.export_mode));
		return 1;
	}
	wp.records = ex.ring;
	b.w = ct_worker_create(&wp);
	if (b.w == NULL) {
		fprintf(stderr, "ct_worker_create (capacity %" PRIu64 "): %s\n", b.o.table_size,
		        rte_strerror(rte_errno));
		return 1;
	}
	if (b.o.workload == BENCH_W_LIFECYCLE || b.o.workload == BENCH_W_SYNFLOOD ||
	    b.o.workload == BENCH_W_MIXED) {
		b.broken = calloc(b.o.concurrent, 1);
		if (b.broken == NULL)
			return 1;
	}
	tsc_hz = rte_get_tsc_hz();

	printf("synfin-bench: workload=%s burst=%u table_size=%" PRIu64
	       " (capacity %u, positions %u)"
	       " seed=%u lcore=%u tsc_hz=%" PRIu64 "\n",
	       workload_names[b.o.workload], b.o.burst, b.o.table_size,
	       ct_table_capacity(ct_worker_table(b.w)), ct_table_positions(ct_worker_table(b.w)),
	       b.o.seed, rte_lcore_id(), tsc_hz);
	if (b.o.workload == BENCH_W_PCAP) {
		printf("pcap=%s frames=%u span=%.3f s loops=%" PRIu64 " (%s; clock = pcap "
		       "timestamps)\n",
		       b.o.pcap, pc.count, (double)pc.span_ns / 1e9, b.o.loops,
		       b.o.keep_table ? "table kept between loops, clock running on"
		                      : "table flushed between loops, untimed");
		timeouts_print(&b);
		run_pcap(&b, &pc);
	} else {
		printf("concurrent=%" PRIu64 " payload=%u clock=%.3f ms/burst (synthetic) "
		       "time_wait=%" PRIu64 " ms (%" PRIu64 " bursts) other timeouts>=%u s",
		       b.o.concurrent, b.o.payload, (double)b.o.tick_ns / 1e6, b.tw_ms,
		       b.tw_ms * 1000000 / b.o.tick_ns, b.tcp.timeouts.ms[CT_S_SYN_SENT] / 1000);
		if (b.o.workload == BENCH_W_SYNFLOOD)
			printf(" flood_ratio=%.3f", b.o.flood_ratio);
		if (b.o.workload == BENCH_W_MIXED)
			printf(" mix=tcp:%u,udp:%u,icmp:%u", b.o.mix.tcp, b.o.mix.udp,
			       b.o.mix.icmp);
		printf("\n");
		timeouts_print(&b);
		run_synthetic(&b, tsc_hz);
	}

	secs = (double)b.c.cycles / (double)tsc_hz;
	mpps = secs > 0 ? (double)b.c.pkts / secs / 1e6 : 0;
	cpp = b.c.pkts ? (double)b.c.cycles / (double)b.c.pkts : 0;
	st = *ct_worker_stats(b.w);
	ct_stats_sub(&st, &b.base);
	/* pcap: no lifecycle bookkeeping; connections that reached CLOSE or TIME_WAIT count */
	if (b.o.workload == BENCH_W_PCAP)
		b.c.completed = st.flows_closed;
	cps = secs > 0 ? (double)b.c.completed / secs : 0;
	bpf = ct_table_mem_per_flow(ct_worker_table(b.w));
	printf("timed: %" PRIu64 " packets in %" PRIu64 " bursts, %.4f s (%" PRIu64 " cycles)\n",
	       b.c.pkts, b.c.bursts, secs, b.c.cycles);
	printf("verdicts:");
	for (unsigned int v = 0; v < CT_WV_MAX; v++)
		printf(" %s=%" PRIu64, verdict_names[v], b.c.verdict[v]);
	printf("\n");
	printf("flows (timed part): now=%u created=%" PRIu64 " expired=%" PRIu64 " evicted=%" PRIu64
	       " refused=%" PRIu64 " closed=%" PRIu64 "\n",
	       ct_table_count(ct_worker_table(b.w)), st.flows_created, st.flows_expired,
	       st.flows_evicted, st.flows_refused, st.flows_closed);
	if (b.o.workload == BENCH_W_PCAP)
		pcap_steady_print(&b, &pc);
	if (b.o.workload == BENCH_W_LIFECYCLE || b.o.workload == BENCH_W_SYNFLOOD)
		printf("lifecycles: completed=%" PRIu64 " broken=%" PRIu64 " flood_syns=%" PRIu64
		       "\n",
		       b.c.completed, b.c.broken, b.c.flood);
	if (b.o.workload == BENCH_W_MIXED)
		printf("lifecycles: completed=%" PRIu64 " (tcp=%" PRIu64 " udp=%" PRIu64
		       " icmp=%" PRIu64 ") broken=%" PRIu64 "\n",
		       b.c.completed, b.c.completed_proto[0], b.c.completed_proto[1],
		       b.c.completed_proto[2], b.c.broken);
	if (b.o.dump_states) {
		uint64_t n[CT_CLASS_MAX];

		ct_worker_flows_by_state(b.w, n);
		printf("states:");
		for (unsigned int s = 0; s < CT_CLASS_MAX; s++)
			printf(" %s=%" PRIu64, ct_class_name(s), n[s]);
		printf("\n");
	}
	if (b.o.export_mode != BENCH_EXPORT_NONE) {
		bench_export_stop(&ex);
		printf("export: %s, records queued=%" PRIu64 " dropped=%" PRIu64
		       " consumed=%" PRIu64 " ipfix_messages=%" PRIu64
		       " (timed part and warm-up)\n",
		       bench_export_name(b.o.export_mode), ct_worker_stats(b.w)->export_records,
		       ct_worker_stats(b.w)->export_dropped, ex.consumed, ex.msgs);
	}
	printf("Mpps %.3f  cycles/pkt %.1f  connections/s %.0f  bytes/flow %.1f\n", mpps, cpp, cps,
	       bpf);
	printf("RESULT mpps=%.3f cycles_per_pkt=%.1f cps=%.0f bytes_per_flow=%.1f", mpps, cpp, cps,
	       bpf);
	if (b.o.export_mode != BENCH_EXPORT_NONE)
		printf(" export_records=%" PRIu64 " export_dropped=%" PRIu64
		       " export_consumed=%" PRIu64,
		       ct_worker_stats(b.w)->export_records, ct_worker_stats(b.w)->export_dropped,
		       ex.consumed);
	printf("\n");
	fflush(stdout);
	ct_worker_free(b.w);
	rte_mempool_free(mp);
	free(b.broken);
	if (b.o.workload == BENCH_W_PCAP)
		tl_pcap_free(&pc);
	rte_eal_cleanup();
	return 0;
}
