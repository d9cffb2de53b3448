/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin-pcapgen: turns the TCP scenario files of test/scenarios/ (format in that folder's
 * README.md) into packets. For every scenario it writes OUTDIR/<name>.pcap, a classic
 * microsecond pcap of Ethernet/IPv4/TCP frames (endpoint C = 10.0.0.1:40000, S = 10.0.0.2:80,
 * or with -u an address pair per scenario; options as the step gives them, in Linux's order;
 * correct IPv4 and TCP checksums; a zero payload of len bytes; one frame per step, 1 ms apart),
 * and OUTDIR/<name>.expect, the state the tracker must end in (key=value lines: the last step's
 * expectation, oriented to the flow's client, which is S after a reopen from S) and the scenario's
 * endpoints and `end` lines, one per flow in order (endN=client server history conn_state reason).
 * The .scn files are read, the frames built and the pcaps written by test/lib (tl_scenario.h,
 * tl_frame.h, tl_pcap.h). Each scenario is also replayed through the FSM library (scn_run) and the outcome
 * written as `replay=`, so a disagreement between FSM and scenario is told apart from one between
 * the application and the FSM. No DPDK.
 */

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct_tcp.h"
#include "tl_frame.h"
#include "tl_pcap.h"
#include "tl_scenario.h"

#define FRAME_MAX (14 + 65535)
#define SNAPLEN   262144u
#define T0_SEC    1700000000u

static const uint8_t mac[2][6] = {
        {0x02, 0x00, 0x00, 0x00, 0x00, 0x01}, /* C */
        {0x02, 0x00, 0x00, 0x00, 0x00, 0x02}, /* S */
};
static const uint16_t port[2] = {40000, 80};
/* Endpoint addresses and names of the scenario being written (set_endpoints()). */
static uint32_t ip4[2] = {0x0a000001u, 0x0a000002u};
static char ep_name[2][32] = {"10.0.0.1:40000", "10.0.0.2:80"};

/*
 * With -u, scenario @p k (counted over the whole run) gets C = 10.H.L.1 and S = 10.H.L.2,
 * H.L = k + 1, so the pcaps of many scenarios can be replayed together as distinct flows.
 */
static void
set_endpoints(unsigned int k, int unique)
{
	unsigned int h = unique ? (k + 1) >> 8 : 0, l = unique ? (k + 1) & 0xff : 0;

	for (unsigned int e = 0; e < 2; e++) {
		ip4[e] = 10u << 24 | h << 16 | l << 8 | (e + 1);
		snprintf(ep_name[e], sizeof(ep_name[e]), "10.%u.%u.%u:%u", h, l, e + 1, port[e]);
	}
}

/*
 * Build the frame of step @p st (sent by endpoint st->ep) into @p f.
 * @return the frame length, or -EMSGSIZE when the payload does not fit an IPv4 datagram.
 */
static long
build_frame(uint8_t *f, const struct scn_step *st, uint16_t ip_id)
{
	const struct ct_tcp_seg *seg = &st->seg;
	unsigned int ep = st->ep;
	struct tl_frame_spec s;

	tl_frame_spec_v4(&s, ip4[ep], port[ep], ip4[!ep], port[!ep]);
	memcpy(s.dmac, mac[!ep], 6);
	memcpy(s.smac, mac[ep], 6);
	s.ip_id = ip_id;
	s.frag4 = 0x4000; /* DF */
	s.seq = seg->seq;
	s.ack = seg->ack;
	s.flags = seg->flags;
	s.win = seg->win;
	s.tcpopt_len = (unsigned int)tl_tcp_opts_linux(s.tcpopt, seg->opts, st->mss, seg->wscale,
	                                               seg->tsval, st->tsecr);
	s.payload = seg->len;
	s.csum = TL_CSUM_IP | TL_CSUM_TCP;
	return tl_frame_write(&s, f, FRAME_MAX, NULL);
}

static const char *
state_or_dash(int s, const char *(*name)(unsigned int))
{
	return s < 0 ? "-" : name((unsigned int)s);
}

/* The final flow of @p s: its client (the sender of the last step that created it, NEW or
 * REOPEN), the flows created, and the accepted segments since, per direction. */
struct final {
	unsigned int orig_ep, created;
	uint64_t pkts[2];
};

static void
final_flow(const struct scn *s, struct final *fl)
{
	memset(fl, 0, sizeof(*fl));
	for (unsigned int i = 0; i < s->n; i++) {
		const struct scn_step *st = &s->step[i];

		if (st->want_verdict == CT_VERDICT_NEW || st->want_verdict == CT_VERDICT_REOPEN) {
			fl->orig_ep = st->ep;
			fl->created++;
			fl->pkts[0] = 1;
			fl->pkts[1] = 0;
		} else if (st->want_verdict == CT_VERDICT_ACCEPT) {
			fl->pkts[st->ep != fl->orig_ep]++;
		}
	}
}

/*
 * The scenario's endpoints (C, S) and its flows' records as endN= lines, N = 1, 2, ... in the
 * order the flows were created (and ended): the flow's client and server (the sender of its NEW
 * or REOPEN step, and the other endpoint), then the `end` line's history, conn_state and reason.
 */
static void
write_ends(FILE *fp, const struct scn *s)
{
	unsigned int i, k = 0;

	fprintf(fp, "endpoints=%s %s\nends=%u\n", ep_name[0], ep_name[1], s->nend);
	for (i = 0; i < s->n && k < s->nend; i++) {
		const struct scn_step *st = &s->step[i];
		const struct scn_end *e = &s->end[k];

		if (st->want_verdict != CT_VERDICT_NEW && st->want_verdict != CT_VERDICT_REOPEN)
			continue;
		fprintf(fp, "end%u=%s %s %s %s %s\n", ++k, ep_name[st->ep], ep_name[!st->ep],
		        e->history, ct_conn_state_name((unsigned int)e->conn_state),
		        ct_end_reason_name((unsigned int)e->reason));
	}
}

/* OUTDIR/<name>.expect. @return 0 or -1. */
static int
write_expect(const struct scn *s, const char *file, const char *path, const char *replay,
             const char *skip)
{
	const struct scn_step *last = &s->step[s->n - 1];
	struct final fl;
	FILE *fp = fopen(path, "w");

	if (fp == NULL) {
		fprintf(stderr, "synfin-pcapgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	final_flow(s, &fl);
	fprintf(fp, "scenario=%s\nsource=%s:%d\nloose=%d\nliberal=%d\nsteps=%u\n", s->name, file,
	        s->step[0].line, s->conf.loose, s->conf.liberal, s->n);
	fprintf(fp, "flows=%u\n", last->want_ct >= 0 ? 1u : 0u);
	if (last->want_ct >= 0) {
		fprintf(fp, "client=%s\nserver=%s\n", ep_name[fl.orig_ep], ep_name[!fl.orig_ep]);
		fprintf(fp, "state=%s\nclient_state=%s\nserver_state=%s\n",
		        ct_state_name((unsigned int)last->want_ct),
		        state_or_dash(last->want_ep[fl.orig_ep], ct_tcp_state_name),
		        state_or_dash(last->want_ep[!fl.orig_ep], ct_tcp_state_name));
		fprintf(fp, "packets_orig=%llu\npackets_reply=%llu\n",
		        (unsigned long long)fl.pkts[0], (unsigned long long)fl.pkts[1]);
	}
	fprintf(fp, "created=%u\n", fl.created);
	write_ends(fp, s);
	fprintf(fp, "replay=%s\n", replay);
	if (skip != NULL)
		fprintf(fp, "skip=%s\n", skip);
	if (fclose(fp) != 0) {
		fprintf(stderr, "synfin-pcapgen: %s: write failed\n", path);
		return -1;
	}
	return 0;
}

/* OUTDIR/<name>.pcap: one frame per step, 1 ms apart. @return 0 or -1. */
static int
write_pcap(const struct scn *s, const char *path, uint8_t *frame)
{
	struct tl_pcap_out out;
	int ret = tl_pcap_out_create(&out, path, SNAPLEN);

	if (ret != 0) {
		fprintf(stderr, "synfin-pcapgen: %s: %s\n", path, strerror(-ret));
		return -1;
	}
	for (unsigned int i = 0; i < s->n; i++) {
		long n = build_frame(frame, &s->step[i], (uint16_t)i);

		tl_pcap_out_add(&out, (uint64_t)T0_SEC * 1000000u + i * 1000u, frame, (uint32_t)n);
	}
	if (tl_pcap_out_free(&out) != 0) {
		fprintf(stderr, "synfin-pcapgen: %s: write failed\n", path);
		return -1;
	}
	return 0;
}

/* Write one scenario's pcap and expectation. @return 0, 1 (skipped), -1 (error). */
static int
gen_one(const struct scn *s, const char *file, const char *outdir, uint8_t *frame)
{
	char path[4096], err[256] = "";
	const char *skip = NULL;
	int replay;

	if (s->n == 0) {
		fprintf(stderr, "synfin-pcapgen: %s: scenario %s has no steps\n", file, s->name);
		return -1;
	}
	/* Sizes first: a step that cannot be an IPv4 datagram skips the whole scenario. */
	for (unsigned int i = 0; i < s->n && skip == NULL; i++)
		if (build_frame(frame, &s->step[i], (uint16_t)i) < 0)
			skip = "a segment's payload does not fit an IPv4 datagram";
	replay = scn_run(s, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/%s.expect", outdir, s->name);
	if (write_expect(s, file, path, replay == 0 ? "ok" : err, skip) != 0)
		return -1;
	if (skip != NULL) {
		printf("%s: skipped (%s)\n", s->name, skip);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s.pcap", outdir, s->name);
	if (write_pcap(s, path, frame) != 0)
		return -1;
	printf("%s: %u packets -> %s%s%s\n", s->name, s->n, path,
	       replay == 0 ? "" : "; FSM replay: ", replay == 0 ? "" : err);
	return 0;
}

static void
usage(FILE *f, const char *prg)
{
	fprintf(f,
	        "Usage: %s [-u] [-o OUTDIR] FILE.scn...\n"
	        "  Writes OUTDIR/<scenario>.pcap (C = %s, S = %s, 1 ms apart) and\n"
	        "  OUTDIR/<scenario>.expect (final flow: state, client_state, server_state, ...;\n"
	        "  endpoints= C S; endN=: client, server, history, conn_state, end reason of each\n"
	        "  flow)\n"
	        "  for every scenario of every FILE. OUTDIR defaults to '.'.\n"
	        "  -u: unique addresses, C = 10.H.L.1 and S = 10.H.L.2 for the scenario numbered\n"
	        "      H * 256 + L (1, 2, ... over the whole run), to replay pcaps together.\n",
	        prg, ep_name[0], ep_name[1]);
}

int
main(int argc, char **argv)
{
	static struct scn_file sf;
	const char *outdir = ".";
	unsigned int ok = 0, skipped = 0, failed = 0, k = 0;
	uint8_t *frame;
	int c, unique = 0;

	while ((c = getopt(argc, argv, "ho:u")) != -1) {
		switch (c) {
		case 'u':
			unique = 1;
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr, argv[0]);
		return 2;
	}
	frame = malloc(FRAME_MAX + TL_OPT_MAX);
	if (frame == NULL)
		return 1;
	for (int a = optind; a < argc; a++) {
		char err[256] = "";
		int m = scn_load(argv[a], &sf, err, sizeof(err));

		if (m < 0) {
			fprintf(stderr, "synfin-pcapgen: %s: %s\n", argv[a], err);
			failed++;
			continue;
		}
		for (int i = 0; i < m; i++, k++) {
			int r;

			set_endpoints(k, unique);
			r = gen_one(&sf.scn[i], argv[a], outdir, frame);
			if (r == 0)
				ok++;
			else if (r > 0)
				skipped++;
			else
				failed++;
		}
	}
	free(frame);
	printf("synfin-pcapgen: %u scenarios written, %u skipped, %u failed\n", ok, skipped,
	       failed);
	return failed ? 1 : 0;
}
