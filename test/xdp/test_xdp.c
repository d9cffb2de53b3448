/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The XDP programs in the kernel (plain C, no Criterion: a thread per CPU):
 *   test_xdp load OBJ...  every program of each BPF object through the verifier (bpf_object__load)
 *   test_xdp race         two threads on two CPUs run BPF_PROG_TEST_RUN on the two directions of
 *                         the same established flows at once (pure ACKs, each run repeated): no
 *                         segment may be lost: each flow's packet counts are what was sent, less
 *                         only the segments passed untracked because the other CPU held the
 *                         flow's busy flag longer than CT_XDP_SPIN_MAX tries (counted as
 *                         busy_giveup: a vCPU of a shared VM can be descheduled while it holds
 *                         the flag); at most 1 in 1000 may be so passed. A state copied back
 *                         without the busy flag would lose the other CPU's updates: more missing
 *                         than counted.
 * Exit 77 (meson: skipped) with a message when BPF programs cannot be loaded here (a trivial
 * program does not load either); a program the verifier rejects fails.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_xdp.h"
#include "ct_xdp.skel.h"
#include "tl_frame.h"

#define SKIP 77

#define FLOWS  32
#define ROUNDS 40
#define REPEAT 250

static int
quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/*
 * Whether this process may load an XDP program at all: the smallest one (return XDP_PASS). The
 * verifier reports its rejections as EACCES too, so only when this probe fails is EACCES from a
 * real program a reason to skip rather than a failure.
 */
static bool
bpf_usable(void)
{
	static int usable = -1;
	const struct bpf_insn pass[] = {
	        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
	        {.code = BPF_JMP | BPF_EXIT},
	};

	if (usable < 0) {
		int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "probe", "GPL", pass, 2, NULL);

		usable = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	return usable;
}

static int
skip_or_fail(int err, const char *what)
{
	if ((err == -EPERM || err == -EACCES || err == -ENOSYS || err == -EOPNOTSUPP) &&
	    !bpf_usable()) {
		printf("SKIP: %s: %s (BPF needs root or CAP_BPF and a kernel that allows it "
		       "here)\n",
		       what, strerror(-err));
		return SKIP;
	}
	printf("FAIL: %s: %s\n", what, strerror(-err));
	return 1;
}

static int
load(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		struct bpf_object *o = bpf_object__open_file(argv[i], NULL);
		struct bpf_program *p;
		int err;

		if (o == NULL)
			return skip_or_fail(-errno, argv[i]);
		err = bpf_object__load(o);
		if (err != 0) {
			bpf_object__close(o);
			return skip_or_fail(err, argv[i]);
		}
		bpf_object__for_each_program(p, o)
		        printf("ok   %s: %s passes the verifier\n", argv[i], bpf_program__name(p));
		bpf_object__close(o);
	}
	return 0;
}

struct side {
	int fd, cpu;
	struct tl_frame f[FLOWS];
	int err;
};

static int
run(int fd, const struct tl_frame *f, unsigned int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len,
	            .repeat = repeat);

	return bpf_prog_test_run_opts(fd, &o) != 0 ? -errno : (int)o.retval;
}

static void *
side_main(void *arg)
{
	struct side *s = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	for (int r = 0; r < ROUNDS && s->err == 0; r++)
		for (int i = 0; i < FLOWS && s->err == 0; i++)
			if (run(s->fd, &s->f[i], REPEAT) < 0)
				s->err = -errno;
	return NULL;
}

static int
race(void)
{
	static struct side c, sv;
	struct ct_xdp *skel = ct_xdp__open();
	struct ct_lcore_stats sum;
	int ncpu = libbpf_num_possible_cpus(), err, bad = 0;
	uint64_t busy = 0, missing = 0;
	pthread_t tc, ts;

	if (skel == NULL)
		return skip_or_fail(-errno, "open");
	skel->data->conf.tcp = ct_tcp_conf_default;
	skel->data->conf.replay_clock = 1;
	skel->bss->now_ms = 1;
	err = ct_xdp__load(skel);
	if (err != 0) {
		ct_xdp__destroy(skel);
		return skip_or_fail(err, "load");
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		printf("note: one CPU online: the two threads share it\n");
	c.fd = sv.fd = bpf_program__fd(skel->progs.ct_xdp);
	c.cpu = 0;
	sv.cpu = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
	for (int i = 0; i < FLOWS; i++) {
		uint32_t cl = 0x0a000001, srv = 0x0a000002, isn_c = 1000, isn_s = 5000;
		uint16_t cp = (uint16_t)(40000 + i);
		struct tl_frame hs;

		tl_frame_tcp4(&hs, cl, cp, srv, 80, CT_TCPF_SYN, isn_c, 0, 65535, 0);
		run(c.fd, &hs, 1);
		tl_frame_tcp4(&hs, srv, 80, cl, cp, CT_TCPF_SYN | CT_TCPF_ACK, isn_s, isn_c + 1,
		              65535, 0);
		run(c.fd, &hs, 1);
		tl_frame_tcp4(&c.f[i], cl, cp, srv, 80, CT_TCPF_ACK, isn_c + 1, isn_s + 1, 65535,
		              0);
		tl_frame_tcp4(&sv.f[i], srv, 80, cl, cp, CT_TCPF_ACK, isn_s + 1, isn_c + 1, 65535,
		              0);
		run(c.fd, &c.f[i], 1); /* the handshake's ACK */
	}
	pthread_create(&tc, NULL, side_main, &c);
	pthread_create(&ts, NULL, side_main, &sv);
	pthread_join(tc, NULL);
	pthread_join(ts, NULL);
	if (c.err != 0 || sv.err != 0) {
		printf("FAIL: BPF_PROG_TEST_RUN: %s\n", strerror(-(c.err ? c.err : sv.err)));
		ct_xdp__destroy(skel);
		return 1;
	}
	{
		struct ct_xdp_stats *v = calloc((size_t)ncpu, sizeof(*v));
		uint32_t zero = 0;

		memset(&sum, 0, sizeof(sum));
		if (v == NULL ||
		    bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &zero, v) != 0) {
			printf("FAIL: counters unreadable\n");
			free(v);
			ct_xdp__destroy(skel);
			return 1;
		}
		for (int k = 0; k < ncpu; k++) {
			ct_stats_add(&sum, &v[k].s);
			busy += v[k].busy_giveup;
		}
		free(v);
	}
	for (int i = 0; i < FLOWS; i++) {
		struct ct_flow_key key;
		struct ct_xdp_flow f;
		uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {10, 0, 0, 2}, sw;
		uint64_t want = (uint64_t)ROUNDS * REPEAT;

		ct_flow_key_make(&key, 4, src, dst, htons((uint16_t)(40000 + i)), htons(80), 0,
		                 &sw);
		if (bpf_map_lookup_elem_flags(bpf_map__fd(skel->maps.flows), &key, &f,
		                              BPF_F_LOCK) != 0) {
			printf("FAIL: flow %d missing\n", i);
			bad++;
			continue;
		}
		if (f.st.pkts[CT_DIR_ORIG] <= 2 + want && f.st.pkts[CT_DIR_REPLY] <= 1 + want)
			missing += (2 + want - f.st.pkts[CT_DIR_ORIG]) +
			           (1 + want - f.st.pkts[CT_DIR_REPLY]);
		if (f.st.pkts[CT_DIR_ORIG] > 2 + want || f.st.pkts[CT_DIR_REPLY] > 1 + want ||
		    f.st.tcp.state != CT_S_ESTABLISHED || f.busy || f.dead || f.st.invalid) {
			printf("FAIL: flow %d: packets %llu/%llu (want %llu/%llu), state %s, busy "
			       "%u, "
			       "invalid %u\n",
			       i, (unsigned long long)f.st.pkts[0],
			       (unsigned long long)f.st.pkts[1], (unsigned long long)(2 + want),
			       (unsigned long long)(1 + want), ct_state_name(f.st.tcp.state),
			       f.busy, f.st.invalid);
			bad++;
		}
	}
	printf("race: %llu segments on %d flows from CPUs %d and %d: accepted %llu, invalid %llu, "
	       "untracked (busy) %llu\n",
	       (unsigned long long)sum.tcp_pkts, FLOWS, c.cpu, sv.cpu,
	       (unsigned long long)sum.accepted, (unsigned long long)sum.invalid,
	       (unsigned long long)busy);
	if (missing != busy) {
		printf("FAIL: %llu segments missing from the flows' counts, %llu passed untracked: "
		       "lost updates\n",
		       (unsigned long long)missing, (unsigned long long)busy);
		bad++;
	}
	if (busy * 1000 > sum.tcp_pkts || sum.invalid != 0 || sum.accepted + busy != sum.tcp_pkts) {
		printf("FAIL: want accepted + untracked = segments, untracked <= 1/1000, no "
		       "INVALID\n");
		bad++;
	}
	ct_xdp__destroy(skel);
	printf("race: %s\n", bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}

int
main(int argc, char **argv)
{
	libbpf_set_print(quiet);
	if (argc >= 3 && strcmp(argv[1], "load") == 0)
		return load(argc - 2, argv + 2);
	if (argc == 2 && strcmp(argv[1], "race") == 0)
		return race();
	fprintf(stderr, "usage: test_xdp load OBJ... | test_xdp race\n");
	return 2;
}
