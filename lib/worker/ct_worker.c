/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-lcore packet pipeline (include/ct_worker.h): for each chunk of up to 64 packets,
 * prefetch and parse the headers, look the keys up in bulk, prefetch the flow records, then run
 * the TCP state machine per packet: create the flow on a miss, track the segment on a hit,
 * re-create on REOPEN, count every outcome. Flows whose position changed earlier in the chunk
 * (created, re-created, refused after a delete) are kept in a small list indexed by a key
 * signature, which overrides the bulk lookup's answer for later packets of the same flow, so a
 * miss is known to be absent and is added without a second lookup (ct_table_add_absent()).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "ct_parse_mbuf.h"
#include "ct_worker.h"

/* Packets ahead whose headers are prefetched while parsing. */
#define PREFETCH_AHEAD 4

/* Expirations per tick. */
#define EXPIRE_MAX 256

/* A flow whose position changed in the current chunk. */
struct changed {
	const struct ct_flow_key *key;
	int32_t pos; /* position now, or -1: no flow */
	uint32_t sig;
};

static inline uint32_t
key_sig(const struct ct_flow_key *k)
{
	uint64_t q[5];
	uint64_t h;

	memcpy(q, k, sizeof(q));
	h = (q[0] ^ q[1] ^ q[2] ^ q[3] ^ q[4]) * UINT64_C(0x9E3779B97F4A7C15);
	return (uint32_t)(h >> 32);
}

struct ct_worker *
ct_worker_create(const struct ct_worker_params *p)
{
	struct ct_table_params tp;
	struct ct_worker *w;

	if (p == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	w = rte_zmalloc_socket("ct_worker", sizeof(*w), 64, p->socket_id);
	if (w == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	w->tcp = p->tcp != NULL ? p->tcp : &ct_tcp_conf_default;
	w->parse = p->parse;
	w->now = p->now;
	tp = (struct ct_table_params){
	        .name = p->name,
	        .capacity = p->capacity,
	        .socket_id = p->socket_id,
	        .tcp = w->tcp,
	        .ticks_per_s = CT_WORKER_HZ,
	        .now = p->now,
	};
	w->table = ct_table_create(&tp);
	if (w->table == NULL) {
		int err = rte_errno;

		rte_free(w);
		rte_errno = err;
		return NULL;
	}
	return w;
}

void
ct_worker_free(struct ct_worker *w)
{
	if (w == NULL)
		return;
	ct_table_free(w->table);
	rte_free(w);
}

/*
 * Create a flow from @p pkt, whose key is not in the table: a miss of this chunk's lookup with
 * no add of that key since (process_chunk() keeps those), or just deleted (REOPEN).
 * @return its position or -1.
 */
static int32_t
flow_new(struct ct_worker *w, const struct ct_pkt *pkt, uint64_t now, uint8_t *verdict)
{
	enum ct_tcp_reason reason = CT_R_OK;
	struct ct_tcp tcp;
	struct ct_flow *f;
	int32_t pos;

	if (ct_tcp_new(&tcp, w->tcp, &pkt->seg, &reason) != CT_VERDICT_NEW) {
		w->stats.invalid++;
		w->stats.reason[reason < CT_R_MAX ? reason : CT_R_UNEXPECTED]++;
		*verdict = CT_WV_INVALID;
		return -1;
	}
	pos = ct_table_add_absent(w->table, &pkt->key, now);
	if (unlikely(pos < 0)) {
		w->stats.flows_refused++;
		*verdict = CT_WV_REFUSED;
		return -1;
	}
	f = ct_table_flow(w->table, (uint32_t)pos);
	f->tcp = tcp;
	f->flags = pkt->swapped ? CT_FLOW_F_SWAPPED : 0;
	f->pkts[CT_DIR_ORIG] = 1;
	ct_flow_bytes_add(f, CT_DIR_ORIG, pkt->l3_len);
	f->last_seen = (uint32_t)now;
	ct_table_arm(w->table, (uint32_t)pos, now);
	w->stats.flows_created++;
	w->stats.accepted++;
	*verdict = CT_WV_NEW;
	return pos;
}

static inline int
closing(unsigned int s)
{
	return s == CT_S_CLOSE || s == CT_S_TIME_WAIT;
}

/* Track @p pkt on the flow at @p pos. @return the flow's position afterwards (or -1). */
static int32_t
flow_track(struct ct_worker *w, int32_t pos, const struct ct_pkt *pkt, uint64_t now,
           uint8_t *verdict)
{
	struct ct_flow *f = ct_table_flow(w->table, (uint32_t)pos);
	enum ct_tcp_reason reason = CT_R_OK;
	enum ct_dir dir = (enum ct_dir)(pkt->swapped ^ (f->flags & CT_FLOW_F_SWAPPED));
	uint8_t old = f->tcp.state;
	enum ct_verdict v;

	v = ct_tcp_track(&f->tcp, w->tcp, dir, &pkt->seg, &reason);
	if (likely(v == CT_VERDICT_ACCEPT)) {
		f->pkts[dir]++;
		ct_flow_bytes_add(f, dir, pkt->l3_len);
		f->last_seen = (uint32_t)now;
		w->stats.accepted++;
		if (f->tcp.state != old) {
			w->stats.state_changes++;
			if (closing(f->tcp.state) && !closing(old))
				w->stats.flows_closed++;
			ct_table_arm(w->table, (uint32_t)pos, now);
		}
		*verdict = CT_WV_ACCEPT;
		return pos;
	}
	if (v == CT_VERDICT_REOPEN) {
		ct_table_del(w->table, (uint32_t)pos);
		w->stats.flows_reopened++;
		return flow_new(w, pkt, now, verdict);
	}
	if (f->invalid != UINT8_MAX)
		f->invalid++;
	w->stats.invalid++;
	w->stats.reason[reason < CT_R_MAX ? reason : CT_R_UNEXPECTED]++;
	*verdict = CT_WV_INVALID;
	return pos;
}

static void
process_chunk(struct ct_worker *w, struct rte_mbuf **pkts, unsigned int n, uint64_t now,
              uint8_t *verdicts)
{
	struct ct_pkt pkt[CT_WORKER_BULK];
	const struct ct_flow_key *keys[CT_WORKER_BULK];
	uint8_t idx[CT_WORKER_BULK];
	int32_t pos[CT_WORKER_BULK];
	struct changed chg[CT_WORKER_BULK];
	const struct ct_table_stats *tstats = ct_table_stats(w->table);
	unsigned int nk = 0, nchg = 0;
	uint64_t evicted0;
	unsigned int i, j;

	for (i = 0; i < n && i < PREFETCH_AHEAD; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		enum ct_parse_reason r;

		if (i + PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
		w->stats.rx_pkts++;
		w->stats.rx_bytes += pkts[i]->pkt_len;
		r = ct_parse_mbuf(pkts[i], &w->parse, &pkt[nk]);
		if (likely(r == CT_PARSE_OK)) {
			w->stats.tcp_pkts++;
			keys[nk] = &pkt[nk].key;
			idx[nk] = (uint8_t)i;
			nk++;
			continue;
		}
		w->stats.parse[r < CT_PARSE_MAX ? r : CT_PARSE_NOT_IP]++;
		if (r == CT_PARSE_NOT_IP || r == CT_PARSE_NOT_TCP || r == CT_PARSE_FRAG_FIRST ||
		    r == CT_PARSE_FRAG_NONFIRST) {
			w->stats.not_tcp++;
			if (verdicts != NULL)
				verdicts[i] = CT_WV_PASS;
		} else {
			w->stats.parse_drop++;
			if (verdicts != NULL)
				verdicts[i] = CT_WV_MALFORMED;
		}
	}
	if (nk == 0)
		return;

	evicted0 = tstats->evicted;
	if (ct_table_lookup_bulk(w->table, keys, nk, pos) < 0)
		for (j = 0; j < nk; j++)
			pos[j] = -ENOENT;
	for (j = 0; j < nk; j++)
		if (pos[j] >= 0)
			rte_prefetch0(ct_table_flow(w->table, (uint32_t)pos[j]));

	for (j = 0; j < nk; j++) {
		const struct ct_pkt *p = &pkt[j];
		int32_t cur = pos[j];
		int32_t after;
		uint32_t sig = 0;
		uint8_t v;
		unsigned int c = nchg;

		if (unlikely(tstats->evicted != evicted0)) {
			/*
			 * A flow_new() of this chunk evicted a flow (table full): any position
			 * looked up or remembered above may belong to it. Rare (full table), so
			 * look this key up again rather than track evictions per key.
			 */
			const struct ct_flow_key *k1 = &p->key;

			if (ct_table_lookup_bulk(w->table, &k1, 1, &cur) < 0)
				cur = -ENOENT;
			nchg = 0;
			c = 0;
		} else if (nchg != 0) {
			/* A flow created/re-created/deleted earlier in this chunk. */
			sig = key_sig(&p->key);
			for (c = 0; c < nchg; c++)
				if (chg[c].sig == sig &&
				    memcmp(chg[c].key, &p->key, sizeof(p->key)) == 0)
					break;
			if (c < nchg)
				cur = chg[c].pos;
		}
		if (cur < 0)
			after = flow_new(w, p, now, &v);
		else
			after = flow_track(w, cur, p, now, &v);
		if (verdicts != NULL)
			verdicts[idx[j]] = v;
		if (after != cur) {
			if (c < nchg) {
				chg[c].pos = after;
			} else {
				chg[nchg].key = &p->key;
				chg[nchg].pos = after;
				chg[nchg].sig = nchg == 0 ? key_sig(&p->key) : sig;
				nchg++;
			}
		}
	}
}

void
ct_worker_process_burst(struct ct_worker *w, struct rte_mbuf **pkts, uint16_t n, uint64_t now,
                        uint8_t *verdicts)
{
	unsigned int done = 0;

	w->now = now;
	while (done < n) {
		unsigned int k = n - done < CT_WORKER_BULK ? n - done : CT_WORKER_BULK;

		process_chunk(w, pkts + done, k, now, verdicts != NULL ? verdicts + done : NULL);
		done += k;
	}
}

unsigned int
ct_worker_tick(struct ct_worker *w, uint64_t now)
{
	unsigned int n;

	if (now > w->now)
		w->now = now;
	n = ct_table_expire(w->table, w->now, EXPIRE_MAX);
	w->stats.flows_expired += n;
	w->stats.flows_evicted = ct_table_stats(w->table)->evicted;
	return n;
}

uint32_t
ct_worker_flush(struct ct_worker *w)
{
	uint32_t n = ct_table_flush(w->table);

	w->stats.flows_flushed += n;
	return n;
}
