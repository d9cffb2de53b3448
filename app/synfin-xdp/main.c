/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin-xdp: loads bpf/ct_xdp.bpf.c (libbpf skeleton), configured like synfin (loose, liberal,
 * prediction, VLAN keying, table size, timeouts, --drop-invalid), and either attaches it to one
 * or more interfaces (XDP sees ingress only: a router's two sides give both directions, into one
 * flow map; native XDP, generic with a warning where a driver has none; all detached on SIGINT,
 * SIGTERM, --duration, `quit` and on every error path, a partial attach included) and sweeps
 * idle flows each second, or replays a pcap through it with BPF_PROG_TEST_RUN, the capture's
 * timestamps as the clock. At exit: synfin's statistics block, --show-flows, --flows-json. While
 * attached, the commands of cli.c on stdin (-i) and on a Unix socket (--control PATH).
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "synfin_xdp.h"

#include "ct_xdp.skel.h"

/* Largest frame a replay hands to the program. */
#define FRAME_MAX 65535

/* Replay bursts at most (synfin's SF_BURST_MAX). */
#define BURST_MAX 64

/* Ethernet header bytes. */
#define ETH_HLEN 14

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: synfin-xdp (--iface IF[,IF...] | --replay FILE.pcap) [options]\n"
	        "  -I, --iface IF[,IF]   attach to each IF (native XDP, else generic with a "
	        "warning);\n"
	        "                        repeatable, up to %u; one flow map for all of them\n"
	        "      --generic         attach in generic (skb) mode\n"
	        "  -r, --replay FILE     run every frame of FILE through the program "
	        "(BPF_PROG_TEST_RUN)\n"
	        "      --burst N         replay: frames sharing one clock tick (default 1: each "
	        "frame at its own time, as synfin)\n"
	        "      --repeat N        replay: run each frame N times (ns/packet benchmark)\n"
	        "      --cpu N           replay: run on CPU N\n"
	        "      --mode MODE       monitor (XDP_PASS everything) or inline\n"
	        "      --drop-invalid    inline mode: XDP_DROP INVALID segments\n"
	        "      --no-loose        no mid-stream pickup\n"
	        "      --liberal         skip window checks\n"
	        "      --no-predict      every segment through ct_tcp_track()\n"
	        "      --vlan-key        key flows by outer VLAN id\n"
	        "      --table-size N    flow map entries (default %u)\n"
	        "      --timeout S=MS    timeout of conntrack state S in ms\n"
	        "      --stats-period S  print statistics every S seconds\n"
	        "      --duration S      live: detach and exit after S seconds\n"
	        "      --show-flows      list the flows at exit\n"
	        "      --flows-json PATH write the flows at exit (synfin's schema)\n"
	        "  -i                    live: commands on stdin\n"
	        "      --control PATH    live: commands on a Unix socket at PATH, e.g.\n"
	        "                        printf 'show flows json\\n' | nc -U PATH\n"
	        "commands: show stats | show flows [port N] [json] | clear stats | help | quit\n",
	        SX_IFACES_MAX, CT_XDP_FLOWS_DEFAULT);
}

enum {
	O_GENERIC = 256,
	O_BURST,
	O_REPEAT,
	O_CPU,
	O_MODE,
	O_DROP,
	O_NO_LOOSE,
	O_LIBERAL,
	O_NO_PREDICT,
	O_VLAN,
	O_TABLE,
	O_TIMEOUT,
	O_PERIOD,
	O_DURATION,
	O_SHOW_FLOWS,
	O_JSON,
	O_CONTROL,
};

static const struct option opts[] = {
        {"iface", required_argument, NULL, 'I'},
        {"replay", required_argument, NULL, 'r'},
        {"generic", no_argument, NULL, O_GENERIC},
        {"burst", required_argument, NULL, O_BURST},
        {"repeat", required_argument, NULL, O_REPEAT},
        {"cpu", required_argument, NULL, O_CPU},
        {"mode", required_argument, NULL, O_MODE},
        {"drop-invalid", no_argument, NULL, O_DROP},
        {"no-loose", no_argument, NULL, O_NO_LOOSE},
        {"liberal", no_argument, NULL, O_LIBERAL},
        {"no-predict", no_argument, NULL, O_NO_PREDICT},
        {"vlan-key", no_argument, NULL, O_VLAN},
        {"table-size", required_argument, NULL, O_TABLE},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"stats-period", required_argument, NULL, O_PERIOD},
        {"duration", required_argument, NULL, O_DURATION},
        {"show-flows", no_argument, NULL, O_SHOW_FLOWS},
        {"flows-json", required_argument, NULL, O_JSON},
        {"control", required_argument, NULL, O_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

/* A decimal number in [lo, hi]: 0, or -1 with a message. */
static int
num(const char *opt, const char *s, unsigned long lo, unsigned long hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "synfin-xdp: --%s %s: not a number in %lu..%lu\n", opt, s, lo, hi);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* --iface IF[,IF...]: each name appended (argv's string is split in place). @return 0 or -1. */
static int
iface_add(struct sx *sx, char *list)
{
	char *save = NULL;

	for (char *n = strtok_r(list, ",", &save); n != NULL; n = strtok_r(NULL, ",", &save)) {
		if (sx->nb_iface == SX_IFACES_MAX) {
			fprintf(stderr, "synfin-xdp: --iface: at most %u interfaces\n",
			        SX_IFACES_MAX);
			return -1;
		}
		if (strlen(n) >= IF_NAMESIZE) {
			fprintf(stderr, "synfin-xdp: --iface %s: name too long\n", n);
			return -1;
		}
		sx->iface[sx->nb_iface++].name = n;
	}
	return 0;
}

static int
parse_args(struct sx *sx, int argc, char **argv)
{
	bool mode_inline = false;
	uint32_t v;
	int c;

	while ((c = getopt_long(argc, argv, "I:r:ih", opts, NULL)) != -1) {
		switch (c) {
		case 'I':
			if (iface_add(sx, optarg) < 0)
				return -1;
			break;
		case 'r':
			sx->replay = optarg;
			break;
		case 'i':
			sx->interactive = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case O_GENERIC:
			sx->skb_mode = true;
			break;
		case O_BURST:
			if (num("burst", optarg, 1, BURST_MAX, &sx->burst) < 0)
				return -1;
			break;
		case O_REPEAT:
			if (num("repeat", optarg, 1, 100000000, &sx->repeat) < 0)
				return -1;
			break;
		case O_CPU:
			if (num("cpu", optarg, 0, 4095, &v) < 0)
				return -1;
			sx->cpu = (int)v;
			break;
		case O_MODE:
			if (strcmp(optarg, "inline") == 0) {
				mode_inline = true;
			} else if (strcmp(optarg, "monitor") != 0) {
				fprintf(stderr, "synfin-xdp: --mode %s: monitor or inline\n",
				        optarg);
				return -1;
			}
			break;
		case O_DROP:
			sx->conf.drop_invalid = 1;
			break;
		case O_NO_LOOSE:
			sx->conf.tcp.loose = false;
			break;
		case O_LIBERAL:
			sx->conf.tcp.liberal = true;
			break;
		case O_NO_PREDICT:
			sx->conf.tcp.predict = false;
			break;
		case O_VLAN:
			sx->conf.key_vlan = 1;
			break;
		case O_TABLE:
			if (num("table-size", optarg, 1, 1u << 29, &sx->table_size) < 0)
				return -1;
			break;
		case O_TIMEOUT: {
			char name[32];
			const char *eq = strchr(optarg, '=');
			int st;

			if (eq == NULL || (size_t)(eq - optarg) >= sizeof(name)) {
				fprintf(stderr, "synfin-xdp: --timeout %s: STATE=MS\n", optarg);
				return -1;
			}
			memcpy(name, optarg, (size_t)(eq - optarg));
			name[eq - optarg] = '\0';
			st = ct_state_parse(name);
			if (st <= CT_S_NONE) {
				fprintf(stderr, "synfin-xdp: --timeout: unknown state '%s'\n",
				        name);
				return -1;
			}
			if (num("timeout", eq + 1, 1, INT32_MAX, &v) < 0)
				return -1;
			sx->conf.tcp.timeouts.ms[st] = v;
			break;
		}
		case O_PERIOD:
			if (num("stats-period", optarg, 0, 86400, &sx->stats_period) < 0)
				return -1;
			break;
		case O_DURATION:
			if (num("duration", optarg, 0, UINT32_MAX, &sx->duration) < 0)
				return -1;
			break;
		case O_SHOW_FLOWS:
			sx->show_flows = true;
			break;
		case O_JSON:
			sx->flows_json = optarg;
			break;
		case O_CONTROL:
			sx->control = optarg;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc || (sx->nb_iface == 0) == (sx->replay == NULL)) {
		fprintf(stderr, "synfin-xdp: give one of --iface IF and --replay FILE.pcap\n");
		usage(stderr);
		return -1;
	}
	if (sx->replay != NULL && (sx->interactive || sx->control != NULL)) {
		fprintf(stderr, "synfin-xdp: -i and --control are for --iface\n");
		return -1;
	}
	if (sx->conf.drop_invalid && !mode_inline) {
		fprintf(stderr, "synfin-xdp: --drop-invalid needs --mode inline\n");
		return -1;
	}
	return 0;
}

static int
libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Open, configure and load the program. @return 0, or -errno (message printed). */
static int
load(struct sx *sx)
{
	int err;

	libbpf_set_print(libbpf_print);
	sx->skel = ct_xdp__open();
	if (sx->skel == NULL) {
		err = -errno;
		fprintf(stderr, "synfin-xdp: cannot open the BPF object: %s\n", strerror(-err));
		return err;
	}
	sx->conf.replay_clock = sx->replay != NULL;
	sx->skel->data->conf = sx->conf;
	bpf_map__set_max_entries(sx->skel->maps.flows, sx->table_size);
	err = ct_xdp__load(sx->skel);
	if (err != 0) {
		fprintf(stderr,
		        "synfin-xdp: cannot load the XDP program: %s (root, CAP_BPF and a kernel "
		        "with BTF, bpf_loop and bpf_xdp_load_bytes are needed)\n",
		        strerror(-err));
		return err;
	}
	return 0;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Attach to one interface (native, else generic unless --generic). @return 0 or -errno. */
static int
attach_one(struct sx *sx, struct sx_iface *it, int fd)
{
	uint32_t flags = sx->skb_mode ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	int err = bpf_xdp_attach(it->ifindex, fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);

	if (err != 0 && !sx->skb_mode) {
		fprintf(stderr,
		        "synfin-xdp: warning: native XDP on %s failed (%s): generic XDP (slower, "
		        "after the stack's skb allocation)\n",
		        it->name, strerror(-err));
		flags = XDP_FLAGS_SKB_MODE;
		err = bpf_xdp_attach(it->ifindex, fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	}
	if (err != 0) {
		fprintf(stderr, "synfin-xdp: cannot attach to %s: %s\n", it->name, strerror(-err));
		return err;
	}
	it->flags = flags;
	printf("synfin-xdp: attached to %s (%s XDP)\n", it->name,
	       flags == XDP_FLAGS_SKB_MODE ? "generic" : "native");
	return 0;
}

/*
 * Every --iface resolved first (a wrong name attaches nothing), then attached in order; the
 * caller's detach() takes off whatever was attached when one fails. @return 0 or -1.
 */
static int
attach(struct sx *sx)
{
	int fd = bpf_program__fd(sx->skel->progs.ct_xdp);

	for (unsigned int i = 0; i < sx->nb_iface; i++) {
		struct sx_iface *it = &sx->iface[i];

		it->ifindex = (int)if_nametoindex(it->name);
		if (it->ifindex == 0) {
			fprintf(stderr, "synfin-xdp: no interface %s\n", it->name);
			return -1;
		}
		for (unsigned int j = 0; j < i; j++)
			if (sx->iface[j].ifindex == it->ifindex) {
				fprintf(stderr, "synfin-xdp: --iface %s given twice\n", it->name);
				return -1;
			}
	}
	for (unsigned int i = 0; i < sx->nb_iface && !quit; i++)
		if (attach_one(sx, &sx->iface[i], fd) != 0)
			return -1;
	fflush(stdout);
	return quit ? -1 : 0;
}

/* Run until a signal, --duration or `quit` (stdin or --control). @return exit status. */
static int
run_live(struct sx *sx)
{
	uint64_t start = mono_ms(), last_sweep = start, last_stats = start;

	if (sx->control != NULL && sx_control_open(sx) != 0)
		return 1;
	if (attach(sx) != 0)
		return 1;
	if (sx->control != NULL) {
		printf("synfin-xdp: commands on %s\n", sx->control);
		fflush(stdout);
	}
	while (!quit) {
		struct pollfd p[1 + 1 + SX_CLIENTS_MAX];
		unsigned int n = 0, c0;
		uint64_t now;
		int r;

		if (sx->interactive)
			p[n++] = (struct pollfd){.fd = 0, .events = POLLIN};
		c0 = n;
		n += sx_control_pollfds(sx, p + n);
		r = poll(p, n, 100);
		now = mono_ms();
		sx->now = now; /* before the commands: `show flows` gives the time left from now */
		if (r > 0 && sx->interactive && p[0].revents != 0) {
			char line[SX_LINE_MAX];

			if (fgets(line, sizeof(line), stdin) == NULL ||
			    sx_command(sx, line, stdout))
				break;
		}
		if (r > 0 && sx_control_serve(sx, p + c0, n - c0))
			break;
		if (now - last_sweep >= 1000) {
			sx_sweep(sx, now);
			last_sweep = now;
		}
		if (sx->stats_period != 0 && now - last_stats >= sx->stats_period * 1000ull) {
			sx_show_stats(sx, stdout);
			last_stats = now;
		}
		if (sx->duration != 0 && now - start >= sx->duration * 1000ull)
			break;
	}
	sx->now = mono_ms();
	return 0;
}

/* Take the program off every interface it was attached to (only if it is still ours). */
static void
detach(struct sx *sx)
{
	int fd = sx->skel != NULL ? bpf_program__fd(sx->skel->progs.ct_xdp) : -1;

	for (unsigned int i = 0; i < sx->nb_iface; i++) {
		struct sx_iface *it = &sx->iface[i];
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = fd);
		int err;

		if (it->flags == 0)
			continue;
		err = bpf_xdp_detach(it->ifindex, it->flags | XDP_FLAGS_REPLACE, &o);
		if (err == 0)
			printf("synfin-xdp: detached from %s\n", it->name);
		else
			fprintf(stderr, "synfin-xdp: detaching from %s: %s\n", it->name,
			        strerror(-err));
		it->flags = 0;
	}
	fflush(stdout);
}

/* A classic pcap file (libpcap's pcap/pcap.h and <linux/bpf.h> cannot be included together). */
struct pcap_in {
	FILE *f;
	bool swap; /* other byte order than ours */
	bool nsec; /* nanosecond timestamps */
};

static uint32_t
pcap_u32(const struct pcap_in *p, uint32_t v)
{
	return p->swap ? __builtin_bswap32(v) : v;
}

/* Open @p path. @return 0 or -1 (message printed). */
static int
pcap_in_open(struct pcap_in *p, const char *path)
{
	uint32_t hdr[6];

	p->f = fopen(path, "rb");
	if (p->f == NULL) {
		fprintf(stderr, "synfin-xdp: --replay %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fread(hdr, sizeof(hdr), 1, p->f) != 1) {
		fprintf(stderr, "synfin-xdp: --replay %s: no pcap header\n", path);
		fclose(p->f);
		return -1;
	}
	switch (hdr[0]) {
	case 0xa1b2c3d4:
		p->swap = false;
		p->nsec = false;
		break;
	case 0xd4c3b2a1:
		p->swap = true;
		p->nsec = false;
		break;
	case 0xa1b23c4d:
		p->swap = false;
		p->nsec = true;
		break;
	case 0x4d3cb2a1:
		p->swap = true;
		p->nsec = true;
		break;
	default:
		fprintf(stderr,
		        "synfin-xdp: --replay %s: not a pcap file (pcapng: convert it "
		        "with editcap -F pcap)\n",
		        path);
		fclose(p->f);
		return -1;
	}
	if (pcap_u32(p, hdr[5]) != 1) {
		fprintf(stderr, "synfin-xdp: --replay %s: link type %u, not Ethernet\n", path,
		        pcap_u32(p, hdr[5]));
		fclose(p->f);
		return -1;
	}
	return 0;
}

/* The next frame (at most @p cap bytes kept, *@p len). @return 1, 0 at the end, -1 bad. */
static int
pcap_in_next(struct pcap_in *p, uint8_t *buf, uint32_t cap, uint32_t *len, uint64_t *ns)
{
	uint32_t rec[4], incl, keep;

	if (fread(rec, sizeof(rec), 1, p->f) != 1)
		return 0;
	incl = pcap_u32(p, rec[2]);
	keep = incl < cap ? incl : cap;
	if (incl > 0x4000000 || fread(buf, 1, keep, p->f) != keep ||
	    (incl > keep && fseek(p->f, incl - keep, SEEK_CUR) != 0))
		return -1;
	*ns = (uint64_t)pcap_u32(p, rec[0]) * 1000000000u +
	      (uint64_t)pcap_u32(p, rec[1]) * (p->nsec ? 1u : 1000u);
	*len = keep;
	return 1;
}

/* One frame through the program. @return 0 or -errno. */
static int
test_run(struct sx *sx, int fd, const uint8_t *data, uint32_t len, uint64_t *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = data, .data_size_in = len,
	            .repeat = sx->repeat);
	int err = bpf_prog_test_run_opts(fd, &o);

	(void)sx;
	if (err != 0)
		return -errno;
	*ns += (uint64_t)o.duration * sx->repeat;
	return 0;
}

/*
 * Every frame of the capture through the program: frames in bursts of sx->burst (default 1:
 * each frame at its own time, as synfin's packet clock), each burst at its newest timestamp in
 * ms since the first (synfin's packet clock starts at 1), the sweep when the clock advances
 * (as synfin's timers: at most once a tick). @return exit status.
 */
static int
run_replay(struct sx *sx)
{
	int fd = bpf_program__fd(sx->skel->progs.ct_xdp);
	static uint8_t frames[BURST_MAX][FRAME_MAX];
	uint32_t lens[BURST_MAX];
	uint64_t origin = 0, n = 0, ns = 0;
	struct pcap_in p;
	int rc = 0, r = 1;

	if (sx->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(sx->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0)
			fprintf(stderr, "synfin-xdp: --cpu %d: %s\n", sx->cpu, strerror(errno));
	}
	if (pcap_in_open(&p, sx->replay) < 0)
		return 1;
	while (!quit && rc == 0 && r > 0) {
		uint64_t newest = 0, now, ts;
		unsigned int k = 0;

		while (k < sx->burst &&
		       (r = pcap_in_next(&p, frames[k], FRAME_MAX, &lens[k], &ts)) > 0) {
			if (ts / 1000000u > newest)
				newest = ts / 1000000u;
			k++;
		}
		if (r < 0) {
			fprintf(stderr, "synfin-xdp: --replay %s: truncated record\n", sx->replay);
			rc = 1;
		}
		if (k == 0)
			break;
		if (origin == 0)
			origin = newest + 1;
		now = newest + 1 >= origin ? newest + 1 - origin + 1 : sx->now;
		if (now > sx->now) {
			/* the timers first, as synfin advances them before the packets of a tick */
			sx->now = now;
			sx_sweep(sx, sx->now);
		}
		sx->skel->bss->now_ms = sx->now;
		for (unsigned int i = 0; i < k && rc == 0; i++) {
			int err;

			if (lens[i] < ETH_HLEN) {
				/* BPF_PROG_TEST_RUN takes no frame shorter than an Ethernet header
				 * (nor does a NIC deliver one): counted here as the program would */
				sx->short_frames.rx_pkts++;
				sx->short_frames.rx_bytes += lens[i];
				sx->short_frames.parse[CT_PARSE_TRUNC_ETH]++;
				sx->short_frames.parse_drop++;
				n++;
				continue;
			}
			err = test_run(sx, fd, frames[i], lens[i], &ns);

			if (err != 0) {
				fprintf(stderr, "synfin-xdp: BPF_PROG_TEST_RUN: %s\n",
				        strerror(-err));
				rc = 1;
			}
			n++;
		}
	}
	fclose(p.f);
	if (n != 0) { /* the kernel's own timing of the runs */
		sx->ns_per_pkt = (double)ns / ((double)n * sx->repeat);
		printf("synfin-xdp: %" PRIu64 " frames x %u runs: %.1f ns per packet "
		       "(BPF_PROG_TEST_RUN)\n",
		       n, sx->repeat, sx->ns_per_pkt);
	}
	printf("synfin-xdp: replayed %" PRIu64 " frames of %s\n", n, sx->replay);
	return rc;
}

int
main(int argc, char **argv)
{
	static struct sx sx;
	int rc;

	sx.conf.tcp = ct_tcp_conf_default;
	sx.table_size = CT_XDP_FLOWS_DEFAULT;
	sx.burst = 1;
	sx.repeat = 1;
	sx.cpu = -1;
	sx.ctl_fd = -1;
	if (parse_args(&sx, argc, argv) < 0)
		return 2;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	/* a control client that goes away mid-answer must not end the run (nor skip detach) */
	signal(SIGPIPE, SIG_IGN);
	if (load(&sx) != 0) {
		ct_xdp__destroy(sx.skel);
		return 1;
	}
	rc = sx.replay != NULL ? run_replay(&sx) : run_live(&sx);
	detach(&sx);
	sx_control_close(&sx);
	if (sx.repeat > 1) {
		/* a benchmark ran every frame many times: its flows and counters mean nothing */
		ct_xdp__destroy(sx.skel);
		return rc;
	}
	sx_show_stats(&sx, stdout);
	if (sx.show_flows)
		sx_show_flows(&sx, stdout, -1);
	if (sx.flows_json != NULL && sx_flows_json_write(&sx, sx.flows_json) != 0)
		rc = 1;
	ct_xdp__destroy(sx.skel);
	return rc;
}
