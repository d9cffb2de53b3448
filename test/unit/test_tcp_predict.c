/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Header prediction (ct_tcp_track_fast()) against the full path (ct_tcp_track()): every step of
 * every scenario of test/scenarios, and a million random segments on established connections
 * (in order, reordered, retransmitted, beyond the windows, with and without window scaling, near
 * sequence wrap), each run through both: the verdict, the reason and all 32 bytes of the
 * tracking state must be the same after every segment. The random test also requires that the
 * prediction is taken often (else it would compare the full path with itself).
 */
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ct_tcp.h"
#include "tcp_helpers.h"
#include "tl_scenario.h"

#ifndef SCENARIO_DIR
#define SCENARIO_DIR "test/scenarios"
#endif

struct twin {
	struct ct_tcp full, fast;
	struct ct_tcp_conf conf;
	int have;
	unsigned int orig_ep;
	unsigned long predicted; /* steps where the fast path did not call the full one */
};

/* One segment through both paths; a difference fails with @p where. */
static void
twin_step(struct twin *w, unsigned int ep, const struct ct_tcp_seg *seg, const char *where)
{
	enum ct_tcp_reason r1 = CT_R_MAX, r2 = CT_R_MAX;
	enum ct_verdict v1, v2;

	if (!w->have) {
		v1 = ct_tcp_new(&w->full, &w->conf, seg, &r1);
		v2 = ct_tcp_new(&w->fast, &w->conf, seg, &r2);
		if (v1 == CT_VERDICT_NEW) {
			w->have = 1;
			w->orig_ep = ep;
		}
	} else {
		enum ct_dir d = ep == w->orig_ep ? CT_DIR_ORIG : CT_DIR_REPLY;
		struct ct_tcp probe = w->fast;
		struct ct_tcp_conf off = w->conf;

		off.predict = false;
		cr_assert(!ct_tcp_predict(&probe, &off, d, seg), "%s: predict off ignored", where);
		w->predicted += ct_tcp_predict(&probe, &w->conf, d, seg);
		v1 = ct_tcp_track(&w->full, &w->conf, d, seg, &r1);
		v2 = ct_tcp_track_fast(&w->fast, &w->conf, d, seg, &r2);
		if (v1 == CT_VERDICT_DELETE || v1 == CT_VERDICT_REOPEN) {
			w->have = 0;
			memset(&w->full, 0, sizeof(w->full));
			memset(&w->fast, 0, sizeof(w->fast));
		}
	}
	cr_assert_eq(v1, v2, "%s: verdict %d (full) vs %d (fast)", where, v1, v2);
	cr_assert_eq(r1, r2, "%s: reason %s vs %s", where, ct_tcp_reason_name(r1),
	             ct_tcp_reason_name(r2));
	cr_assert_eq(memcmp(&w->full, &w->fast, sizeof(w->full)), 0, "%s: state differs", where);
}

static struct scn_file loaded;

Test(predict, every_scenario_step_gives_the_same_result_on_both_paths)
{
	char err[256], where[512];
	unsigned int files = 0, steps = 0;
	glob_t g;

	cr_assert_eq(glob(SCENARIO_DIR "/*.scn", 0, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		cr_assert_gt(scn_load(g.gl_pathv[i], &loaded, err, sizeof(err)), 0, "%s", err);
		for (unsigned int k = 0; k < loaded.n; k++) {
			const struct scn *s = &loaded.scn[k];
			struct twin w = {.conf = s->conf};

			for (unsigned int j = 0; j < s->n; j++, steps++) {
				snprintf(where, sizeof(where), "%s:%d", g.gl_pathv[i],
				         s->step[j].line);
				twin_step(&w, s->step[j].ep, &s->step[j].seg, where);
			}
		}
		files++;
	}
	globfree(&g);
	cr_assert_gt(files, 5);
	cr_assert_gt(steps, 500, "%u steps", steps);
}

static uint64_t
xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* A sequence number near @p base: mostly exact, sometimes a little or far off. */
static uint32_t
near(uint64_t *rnd, uint32_t base)
{
	uint64_t r = xorshift(rnd);

	switch (r % 8) {
	case 0:
		return base - (uint32_t)(r >> 8) % 3000;
	case 1:
		return base + (uint32_t)(r >> 8) % 3000;
	case 2:
		return (uint32_t)(r >> 16);
	default:
		return base;
	}
}

Test(predict, random_segments_on_established_flows_give_the_same_result_on_both_paths)
{
	static const uint8_t flags[] = {CT_TCPF_ACK,
	                                CT_TCPF_ACK | CT_TCPF_PSH,
	                                CT_TCPF_ACK,
	                                CT_TCPF_ACK | CT_TCPF_PSH,
	                                CT_TCPF_ACK | CT_TCPF_FIN,
	                                CT_TCPF_RST,
	                                CT_TCPF_ACK | CT_TCPF_URG,
	                                CT_TCPF_SYN};
	uint64_t rnd = 0x9e3779b97f4a7c15ull;
	unsigned long predicted = 0, segs = 0;
	char where[64];

	for (unsigned int conn = 0; conn < 20000; conn++) {
		struct twin w = {.conf = ct_tcp_conf_default};
		uint32_t isn_c = (uint32_t)xorshift(&rnd), isn_s = conn & 1 ? 0xfffff000u : 300000u;
		struct ct_tcp_seg syn = seg_make(CT_TCPF_SYN, isn_c, 0, 0, 65535);
		uint32_t seq[2], ack[2];

		if (conn & 2) {
			syn.opts = CT_TCPO_WSCALE;
			syn.wscale = (uint8_t)(xorshift(&rnd) % 10);
		}
		snprintf(where, sizeof(where), "conn %u syn", conn);
		twin_step(&w, 0, &syn, where);
		struct ct_tcp_seg sa =
		        seg_make(CT_TCPF_SYN | CT_TCPF_ACK, isn_s, isn_c + 1, 0, 65535);

		sa.opts = syn.opts;
		sa.wscale = 5;
		twin_step(&w, 1, &sa, "synack");
		struct ct_tcp_seg a = seg_make(CT_TCPF_ACK, isn_c + 1, isn_s + 1, 0, 1000);

		twin_step(&w, 0, &a, "ack");
		seq[0] = isn_c + 1;
		seq[1] = isn_s + 1;
		ack[0] = isn_s + 1;
		ack[1] = isn_c + 1;
		for (unsigned int k = 0; k < 50; k++, segs++) {
			unsigned int ep = (unsigned int)(xorshift(&rnd) & 1);
			uint16_t len =
			        (uint16_t)(xorshift(&rnd) % 4 == 0 ? 0 : xorshift(&rnd) % 1500);
			uint8_t f = xorshift(&rnd) % 16 ? flags[k % 4] : flags[xorshift(&rnd) % 8];
			struct ct_tcp_seg s =
			        seg_make(f, near(&rnd, seq[ep]), near(&rnd, ack[ep]), len,
			                 (uint16_t)(xorshift(&rnd) % 5 ? 65535 : 0));

			snprintf(where, sizeof(where), "conn %u seg %u", conn, k);
			twin_step(&w, ep, &s, where);
			if (!w.have)
				break;
			/* the next segments start from what the tracker saw: in order most of the time */
			for (unsigned int e = 0; e < 2; e++) {
				unsigned int d = e == w.orig_ep ? CT_DIR_ORIG : CT_DIR_REPLY;

				seq[e] = w.fast.peer[d].end;
				ack[e] = w.fast.peer[!d].end;
			}
		}
		predicted += w.predicted;
	}
	printf("%lu random segments, %lu of them on the predicted path\n", segs, predicted);
	cr_assert_gt(predicted, segs / 4, "the prediction was hardly taken (%lu of %lu)", predicted,
	             segs);
}

/*
 * Bound II at seq == end holds only while the receiver's maxwin is below 2^31: maxwin grows by
 * what a segment sends past maxend, without limit (netfilter does the same), and libFuzzer
 * reached 2466213120 from a loose pickup. The prediction must then leave the segment to the
 * full path, which calls it seq_below_window.
 */
Test(predict, a_receiver_window_past_2g_leaves_bound_ii_to_the_full_path)
{
	struct twin w = {.conf = ct_tcp_conf_default};
	struct ct_tcp_seg syn = seg_make(CT_TCPF_SYN, 1000, 0, 0, 65535);
	struct ct_tcp_seg sa = seg_make(CT_TCPF_SYN | CT_TCPF_ACK, 5000, 1001, 0, 65535);
	struct ct_tcp_seg a = seg_make(CT_TCPF_ACK, 1001, 5001, 0, 1000);
	struct ct_tcp_seg d = seg_make(CT_TCPF_ACK | CT_TCPF_PSH, 5001, 1001, 3, 65535);

	twin_step(&w, 0, &syn, "syn");
	twin_step(&w, 1, &sa, "synack");
	twin_step(&w, 0, &a, "ack");
	w.full.peer[CT_DIR_ORIG].maxwin = w.fast.peer[CT_DIR_ORIG].maxwin = 2466213120u;
	cr_assert(!ct_tcp_predict(&w.fast, &w.conf, CT_DIR_REPLY, &d));
	twin_step(&w, 1, &d, "data from the server");
	cr_assert_eq(w.full.peer[CT_DIR_REPLY].end, 5001, "the segment was not taken");
}
