/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin-pcapgen: turns the TCP scenario files of test/scenarios/ (format in that folder's
 * README.md) into packets. For every scenario it writes OUTDIR/<name>.pcap, a classic
 * microsecond pcap of Ethernet/IPv4/TCP frames (endpoint C = 10.0.0.1:40000, S = 10.0.0.2:80,
 * or with -u an address pair per scenario; options as the step gives them; correct IPv4 and
 * TCP checksums; a zero payload of len bytes; one frame per step, 1 ms apart), and
 * OUTDIR/<name>.expect, the state the tracker must end in (key=value lines: the last step's
 * expectation, oriented to the flow's client, which is S after a reopen from S). The .scn
 * lines are read by the unit tests' loader (test/unit/scenario.h, pure C, included rather than
 * duplicated); its step keeps the option presence bits but not the MSS value nor the TS echo
 * reply, so those two are read here from the step's own line. Each scenario is also replayed
 * through the FSM library (scn_run) and the outcome written as `replay=`, so a disagreement
 * between FSM and scenario is told apart from one between the application and the FSM. No DPDK.
 */

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct_tcp.h"
#include "scenario.h"

#define ETH_LEN     14
#define IP4_LEN     20
#define TCP_LEN     20
#define TCP_OPT_MAX 40
#define FRAME_MAX   (ETH_LEN + 65535)
#define SNAPLEN     262144u
#define LINE_MAX_N  4096
#define T0_SEC      1700000000u

static const uint8_t mac[2][6] = {
        {0x02, 0x00, 0x00, 0x00, 0x00, 0x01}, /* C */
        {0x02, 0x00, 0x00, 0x00, 0x00, 0x02}, /* S */
};
static const uint16_t port[2] = {40000, 80};
/* Endpoint addresses and names of the scenario being written (set_endpoints()). */
static uint8_t ip4[2][4] = {{10, 0, 0, 1}, {10, 0, 0, 2}};
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
		ip4[e][0] = 10;
		ip4[e][1] = (uint8_t)h;
		ip4[e][2] = (uint8_t)l;
		ip4[e][3] = (uint8_t)(e + 1);
		snprintf(ep_name[e], sizeof(ep_name[e]), "10.%u.%u.%u:%u", h, l, e + 1, port[e]);
	}
}

/* Option values scenario.h does not keep. */
struct extra {
	uint16_t mss;
	uint32_t tsecr;
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void
le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* One's complement sum of @p len bytes added to @p sum (not folded). */
static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* TCP options of @p seg: Linux's SYN order (MSS, SACK-permitted, TS, NOP, window scale). */
static size_t
tcp_options(uint8_t *o, const struct ct_tcp_seg *seg, const struct extra *x)
{
	size_t n = 0;

	if (seg->opts & CT_TCPO_MSS) {
		o[n++] = 2;
		o[n++] = 4;
		put16(o + n, x->mss);
		n += 2;
	}
	if ((seg->opts & CT_TCPO_SACK_PERM) && (seg->opts & CT_TCPO_TS)) {
		o[n++] = 4;
		o[n++] = 2;
	} else if (seg->opts & (CT_TCPO_SACK_PERM | CT_TCPO_TS)) {
		o[n++] = 1;
		o[n++] = 1;
		if (!(seg->opts & CT_TCPO_TS)) {
			o[n++] = 4;
			o[n++] = 2;
		}
	}
	if (seg->opts & CT_TCPO_TS) {
		o[n++] = 8;
		o[n++] = 10;
		put32(o + n, seg->tsval);
		put32(o + n + 4, x->tsecr);
		n += 8;
	}
	if (seg->opts & CT_TCPO_WSCALE) {
		o[n++] = 1;
		o[n++] = 3;
		o[n++] = 3;
		o[n++] = seg->wscale;
	}
	return n;
}

/*
 * Build the frame of a step sent by endpoint @p ep into @p f.
 * @return the frame length, or -EMSGSIZE when the payload does not fit an IPv4 datagram.
 */
static long
build_frame(uint8_t *f, unsigned int ep, const struct ct_tcp_seg *seg, const struct extra *x,
            uint16_t ip_id)
{
	uint8_t opt[TCP_OPT_MAX], pseudo[12];
	uint8_t *ip = f + ETH_LEN, *tcp = ip + IP4_LEN;
	size_t olen = tcp_options(opt, seg, x);
	size_t tlen = TCP_LEN + olen + seg->len;
	uint32_t sum;

	if (IP4_LEN + tlen > 65535)
		return -EMSGSIZE;
	memcpy(f, mac[!ep], 6);
	memcpy(f + 6, mac[ep], 6);
	put16(f + 12, 0x0800);

	memset(ip, 0, IP4_LEN);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(IP4_LEN + tlen));
	put16(ip + 4, ip_id);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, ip4[ep], 4);
	memcpy(ip + 16, ip4[!ep], 4);
	put16(ip + 10, csum_fold(csum_add(0, ip, IP4_LEN)));

	memset(tcp, 0, TCP_LEN);
	put16(tcp, port[ep]);
	put16(tcp + 2, port[!ep]);
	put32(tcp + 4, seg->seq);
	put32(tcp + 8, seg->ack);
	tcp[12] = (uint8_t)(((TCP_LEN + olen) / 4) << 4);
	tcp[13] = seg->flags;
	put16(tcp + 14, seg->win);
	memcpy(tcp + TCP_LEN, opt, olen);
	memset(tcp + TCP_LEN + olen, 0, seg->len);

	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 6;
	put16(pseudo + 10, (uint16_t)tlen);
	sum = csum_add(csum_add(0, pseudo, sizeof(pseudo)), tcp, tlen);
	put16(tcp + 16, csum_fold(sum));
	return (long)(ETH_LEN + IP4_LEN + tlen);
}

/* mss= and the TS echo reply of the step on line @p line of @p text (NULL-terminated lines). */
static void
step_extra(char *const *lines, int nlines, int line, struct extra *x)
{
	char buf[512], *tok, *save = NULL;

	x->mss = 1460;
	x->tsecr = 0;
	if (line < 1 || line > nlines)
		return;
	snprintf(buf, sizeof(buf), "%s", lines[line - 1]);
	for (tok = strtok_r(buf, " \t\r\n", &save); tok != NULL && strcmp(tok, "->") != 0;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (strncmp(tok, "mss=", 4) == 0)
			x->mss = (uint16_t)strtoul(tok + 4, NULL, 0);
		else if (strncmp(tok, "ts=", 3) == 0 && strchr(tok, ',') != NULL)
			x->tsecr = (uint32_t)strtoul(strchr(tok, ',') + 1, NULL, 0);
	}
}

/* Read @p path as lines (the caller frees lines[0] and lines). @return count or -1. */
static int
read_lines(const char *path, char ***out)
{
	FILE *fp = fopen(path, "r");
	char *text, **lines;
	long size;
	int n = 0;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	text = malloc((size_t)size + 1);
	lines = malloc(sizeof(*lines) * LINE_MAX_N);
	if (text == NULL || lines == NULL || fread(text, 1, (size_t)size, fp) != (size_t)size) {
		free(text);
		free(lines);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	text[size] = '\0';
	for (char *p = text; *p != '\0' && n < LINE_MAX_N;) {
		char *nl = strchr(p, '\n');

		lines[n++] = p;
		if (nl == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	if (n == 0)
		lines[n++] = text;
	*out = lines;
	return n;
}

static const char *
state_or_dash(int s, const char *(*name)(unsigned int))
{
	return s < 0 ? "-" : name((unsigned int)s);
}

/* Write one scenario's pcap and expectation. @return 0, 1 (skipped), -1 (error). */
static int
gen_one(const struct scn *s, const char *file, char *const *lines, int nlines, const char *outdir,
        uint8_t *frame)
{
	char path[4096], err[256] = "";
	const struct scn_step *last;
	unsigned int orig_ep = 0, created = 0;
	uint64_t pkts[2] = {0, 0};
	long flen[SCN_MAX_STEPS];
	const char *skip = NULL;
	FILE *fp;
	int replay;

	if (s->n == 0) {
		fprintf(stderr, "synfin-pcapgen: %s: scenario %s has no steps\n", file, s->name);
		return -1;
	}
	/* Sizes first: a step that cannot be an IPv4 datagram skips the whole scenario. */
	for (unsigned int i = 0; i < s->n; i++) {
		struct extra x;

		step_extra(lines, nlines, s->step[i].line, &x);
		flen[i] = build_frame(frame, s->step[i].ep, &s->step[i].seg, &x, (uint16_t)i);
		if (flen[i] < 0 && skip == NULL)
			skip = "a segment's payload does not fit an IPv4 datagram";
	}
	/* The flow's client: the sender of the last step that created the flow (NEW/REOPEN).
	 * Packets of the final flow: accepted segments since then, per direction. */
	for (unsigned int i = 0; i < s->n; i++) {
		const struct scn_step *st = &s->step[i];

		if (st->want_verdict == CT_VERDICT_NEW || st->want_verdict == CT_VERDICT_REOPEN) {
			orig_ep = st->ep;
			created++;
			pkts[0] = 1;
			pkts[1] = 0;
		} else if (st->want_verdict == CT_VERDICT_ACCEPT) {
			pkts[st->ep != orig_ep]++;
		}
	}
	last = &s->step[s->n - 1];
	replay = scn_run(s, err, sizeof(err));

	snprintf(path, sizeof(path), "%s/%s.expect", outdir, s->name);
	fp = fopen(path, "w");
	if (fp == NULL) {
		fprintf(stderr, "synfin-pcapgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(fp, "scenario=%s\nsource=%s:%d\nloose=%d\nliberal=%d\nsteps=%u\n", s->name, file,
	        s->step[0].line, s->conf.loose, s->conf.liberal, s->n);
	fprintf(fp, "flows=%u\n", last->want_ct >= 0 ? 1u : 0u);
	if (last->want_ct >= 0) {
		fprintf(fp, "client=%s\nserver=%s\n", ep_name[orig_ep], ep_name[!orig_ep]);
		fprintf(fp, "state=%s\nclient_state=%s\nserver_state=%s\n",
		        ct_state_name((unsigned int)last->want_ct),
		        state_or_dash(last->want_ep[orig_ep], ct_tcp_state_name),
		        state_or_dash(last->want_ep[!orig_ep], ct_tcp_state_name));
		fprintf(fp, "packets_orig=%llu\npackets_reply=%llu\n", (unsigned long long)pkts[0],
		        (unsigned long long)pkts[1]);
	}
	fprintf(fp, "created=%u\n", created);
	fprintf(fp, "replay=%s\n", replay == 0 ? "ok" : err);
	if (skip != NULL)
		fprintf(fp, "skip=%s\n", skip);
	if (fclose(fp) != 0) {
		fprintf(stderr, "synfin-pcapgen: %s: write failed\n", path);
		return -1;
	}
	if (skip != NULL) {
		printf("%s: skipped (%s)\n", s->name, skip);
		return 1;
	}

	snprintf(path, sizeof(path), "%s/%s.pcap", outdir, s->name);
	fp = fopen(path, "wb");
	if (fp == NULL) {
		fprintf(stderr, "synfin-pcapgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	{
		uint8_t gh[24] = {0};

		le32(gh, 0xa1b2c3d4);
		gh[4] = 2; /* version 2.4 */
		gh[6] = 4;
		le32(gh + 16, SNAPLEN);
		le32(gh + 20, 1); /* Ethernet */
		fwrite(gh, 1, sizeof(gh), fp);
	}
	for (unsigned int i = 0; i < s->n; i++) {
		uint8_t rh[16];
		uint32_t usec = i * 1000u;
		struct extra x;
		long n;

		step_extra(lines, nlines, s->step[i].line, &x);
		n = build_frame(frame, s->step[i].ep, &s->step[i].seg, &x, (uint16_t)i);
		le32(rh, T0_SEC + usec / 1000000u);
		le32(rh + 4, usec % 1000000u);
		le32(rh + 8, (uint32_t)n);
		le32(rh + 12, (uint32_t)n);
		fwrite(rh, 1, sizeof(rh), fp);
		fwrite(frame, 1, (size_t)n, fp);
	}
	if (fclose(fp) != 0) {
		fprintf(stderr, "synfin-pcapgen: %s: write failed\n", path);
		return -1;
	}
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
	        "  OUTDIR/<scenario>.expect (final flow: state, client_state, server_state, ...)\n"
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
	frame = malloc(FRAME_MAX + TCP_OPT_MAX);
	if (frame == NULL)
		return 1;
	for (int a = optind; a < argc; a++) {
		char err[256] = "", **lines = NULL;
		int m = scn_load(argv[a], &sf, err, sizeof(err));
		int nl = read_lines(argv[a], &lines);

		if (m < 0 || nl < 0) {
			fprintf(stderr, "synfin-pcapgen: %s: %s\n", argv[a],
			        m < 0 ? err : "cannot read");
			failed++;
			if (nl >= 0) {
				free(lines[0]);
				free(lines);
			}
			continue;
		}
		for (int i = 0; i < m; i++, k++) {
			int r;

			set_endpoints(k, unique);
			r = gen_one(&sf.scn[i], argv[a], lines, nl, outdir, frame);

			if (r == 0)
				ok++;
			else if (r > 0)
				skipped++;
			else
				failed++;
		}
		free(lines[0]);
		free(lines);
	}
	free(frame);
	printf("synfin-pcapgen: %u scenarios written, %u skipped, %u failed\n", ok, skipped,
	       failed);
	return failed ? 1 : 0;
}
