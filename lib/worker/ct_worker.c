/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-lcore packet pipeline (ct_worker.h): for each chunk of up to 64 packets, prefetch and
 * parse the headers and hash each key once, look the keys up in bulk with those signatures,
 * prefetch the flow records, then run the TCP state machine per packet: create the flow on a
 * miss, track the segment on a hit, re-create on REOPEN, count every outcome and keep the flows
 * per state. Packets of the other kinds leave the TCP path with one test of their kind: lib/l4
 * tracks UDP, ICMP queries and other protocols, and an ICMP error marks the flow it quotes
 * RELATED (its key is the quoted packet's, looked up with the others) or is INVALID. Flows whose position changed earlier in the chunk (created, re-created, refused
 * after a delete) are kept in a small list searched by signature, which overrides the bulk
 * lookup's answer for later packets of the same flow, so a miss is known to be absent and is
 * added without a second lookup. When an add evicts a flow to make room, the rest of the chunk
 * looks its keys up again (any earlier answer may name the evicted position).
 */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "ct_parse_mbuf.h"
#include "ct_worker_priv.h"

/* Packets ahead whose headers are prefetched while parsing. */
#define PREFETCH_AHEAD 4

/* Expirations per tick. */
#define EXPIRE_MAX 256

#define KEY_LEN ((uint32_t)sizeof(struct ct_flow_key))

_Static_assert(CT_WORKER_HZ == 1000, "lib/l4 takes the worker clock as milliseconds");

/* One chunk of packets: parsed, hashed, looked up. */
struct chunk {
	struct ct_pkt pkt[CT_WORKER_BULK];
	const void *keys[CT_WORKER_BULK];
	uint32_t sigs[CT_WORKER_BULK];
	int32_t pos[CT_WORKER_BULK];
	uint8_t idx[CT_WORKER_BULK]; /* packet index in the burst of each parsed packet */
	unsigned int nk;             /* parsed packets */
	bool evicted;                /* an add of this chunk evicted a flow */
	bool moved; /* a flow of this chunk was deleted (DELETE), maybe re-created (REOPEN) */
};

/* A flow whose position changed in the current chunk. */
struct changed {
	const struct ct_flow_key *key;
	int32_t pos; /* position now, or -1: no flow */
	uint32_t sig;
};

static inline void
count_invalid(struct ct_worker *w, enum ct_tcp_reason reason, uint8_t *verdict)
{
	w->stats.invalid++;
	w->stats.reason[reason < CT_R_MAX ? reason : CT_R_UNEXPECTED]++;
	*verdict = CT_WV_INVALID;
}

static inline void
count_l4_invalid(struct ct_worker *w, enum ct_l4_reason reason, uint8_t *verdict)
{
	w->stats.invalid++;
	w->stats.l4reason[reason < CT_L4R_MAX ? reason : CT_L4R_L4_UNEXPECTED]++;
	*verdict = CT_WV_INVALID;
}

/* History letters of a parsed packet. */
static inline unsigned int
pkt_letters(const struct ct_pkt *pkt)
{
	if (pkt->kind == CT_L4K_TCP)
		return ct_history_tcp_letters(pkt->seg.flags, pkt->seg.len);
	return pkt->l4.len != 0 ? 1u << CT_H_DATA : 0;
}

/* Records on: whether packet @p pkt of direction @p dir can add nothing to the cold part. */
static inline bool
ext_nothing_new(const struct ct_flow *f, const struct ct_pkt *pkt, unsigned int dir)
{
	unsigned int has = (unsigned int)f->flags >> dir, t;

	if (pkt->kind != CT_L4K_TCP)
		return pkt->l4.len == 0 || (has & CT_FLOW_F_HAS_D);
	t = pkt->seg.flags;
	if (t & ~(CT_TCPF_ACK | CT_TCPF_PSH))
		return false;
	if ((t & CT_TCPF_PSH) && !(has & CT_FLOW_F_HAS_P))
		return false;
	if (pkt->seg.len != 0)
		return (has & CT_FLOW_F_HAS_D) != 0;
	return (t & CT_TCPF_ACK) ? (has & CT_FLOW_F_HAS_A) != 0 : true;
}

/*
 * Records on: what an accepted packet of direction @p dir adds to its flow's cold part. The
 * common packet of an established flow (an ACK, data, PSH, each already seen from its side) is
 * answered from the record's flags and never reads the cold line.
 */
static __attribute__((noinline)) void
ext_update(struct ct_worker *w, struct ct_flow *f, uint32_t pos, const struct ct_pkt *pkt,
           unsigned int dir)
{
	struct ct_flow_ext *x = ct_worker_ext(w, pos);
	unsigned int fl = 0, seen, has = 0;

	if (pkt->kind == CT_L4K_TCP)
		fl = x->tcp_flags[dir] |= pkt->seg.flags;
	ct_history_add(&x->hist, dir, pkt_letters(pkt));
	seen = x->hist.seen[dir];
	/* A and D stand for themselves once the side's ACK flag was seen (at once for UDP etc.) */
	if (pkt->kind != CT_L4K_TCP || (fl & CT_TCPF_ACK))
		has = ((seen & 1u << CT_H_ACK) ? CT_FLOW_F_HAS_A : 0) |
		      ((seen & 1u << CT_H_DATA) ? CT_FLOW_F_HAS_D : 0);
	has |= (fl & CT_TCPF_PSH) ? CT_FLOW_F_HAS_P : 0;
	f->flags |= (uint8_t)(has << dir);
}

static inline void
ext_track(struct ct_worker *w, struct ct_flow *f, uint32_t pos, const struct ct_pkt *pkt,
          unsigned int dir)
{
	if (!ext_nothing_new(f, pkt, dir))
		ext_update(w, f, pos, pkt, dir);
}

/*
 * Create a flow from packet @p j of the chunk, whose key is not in the table: a miss of this
 * chunk's lookup with no add of that key since (track_chunk() keeps those), or just deleted
 * (REOPEN). @return its position or -1.
 */
static int32_t
flow_new(struct ct_worker *w, struct chunk *c, unsigned int j, uint64_t now, uint8_t *verdict)
{
	const struct ct_pkt *pkt = &c->pkt[j];
	enum ct_tcp_reason reason = CT_R_OK;
	unsigned int evicted;
	union {
		struct ct_tcp tcp;
		struct ct_l4 l4;
	} st;
	struct ct_flow *f;
	int32_t pos;

	if (unlikely(pkt->kind != CT_L4K_TCP)) {
		enum ct_l4_reason r4 = CT_L4R_OK;

		if (ct_l4_new(&st.l4, pkt->kind, &pkt->l4, (uint32_t)now, &r4) != CT_VERDICT_NEW) {
			count_l4_invalid(w, r4, verdict);
			return -1;
		}
	} else if (ct_tcp_new(&st.tcp, &w->tcp, &pkt->seg, &reason) != CT_VERDICT_NEW) {
		count_invalid(w, reason, verdict);
		return -1;
	}
	pos = ct_table_add(w->table, &pkt->key, c->sigs[j], now, &evicted);
	c->evicted |= evicted != 0;
	if (unlikely(pos < 0)) {
		*verdict = CT_WV_REFUSED;
		return -1;
	}
	f = ct_table_rec(w->table, (uint32_t)pos);
	f->tcp = st.tcp; /* or st.l4: the same 32 bytes */
	f->flags = pkt->swapped ? CT_FLOW_F_SWAPPED : 0;
	f->pkts[CT_DIR_ORIG] = 1;
	ct_flow_bytes_add(f, CT_DIR_ORIG, pkt->l3_len);
	f->last_seen = (uint32_t)now;
	if (w->records != NULL) { /* the table zeroed the cold part with the record */
		ct_worker_ext(w, (uint32_t)pos)->first_seen = (uint32_t)now;
		ext_track(w, f, (uint32_t)pos, pkt, CT_DIR_ORIG);
	}
	ct_table_arm(w->table, (uint32_t)pos, now);
	ct_worker_count_state(w, st.tcp.state, +1);
	w->stats.accepted++;
	*verdict = CT_WV_NEW;
	return pos;
}

/* An accepted packet of direction @p dir on flow @p f at @p pos: counters, time, cold part. */
static inline void
flow_account(struct ct_worker *w, struct ct_flow *f, int32_t pos, const struct ct_pkt *pkt,
             enum ct_dir dir, uint64_t now)
{
	f->pkts[dir]++;
	ct_flow_bytes_add(f, dir, pkt->l3_len);
	f->last_seen = (uint32_t)now;
	w->stats.accepted++;
	if (w->records != NULL)
		ext_track(w, f, (uint32_t)pos, pkt, dir);
}

/*
 * Track packet @p j on the flow at @p pos (TCP, or lib/l4 for the other kinds: their accepted
 * packets take the same bookkeeping, ct_worker_closing() being false for every L4 class).
 * @return the flow's position afterwards (or -1).
 */
static int32_t
flow_track(struct ct_worker *w, struct chunk *c, unsigned int j, int32_t pos, uint64_t now,
           uint8_t *verdict)
{
	const struct ct_pkt *pkt = &c->pkt[j];
	struct ct_flow *f = ct_table_rec(w->table, (uint32_t)pos);
	enum ct_tcp_reason reason = CT_R_OK;
	enum ct_l4_reason r4 = CT_L4R_OK;
	enum ct_dir dir = (enum ct_dir)(pkt->swapped ^ (f->flags & CT_FLOW_F_SWAPPED));
	uint8_t old = f->tcp.state;
	enum ct_verdict v;

	if (unlikely(pkt->kind != CT_L4K_TCP))
		v = ct_l4_track(&f->l4, pkt->kind, dir, (uint32_t)now, &r4);
	else
		v = ct_tcp_track_fast(&f->tcp, &w->tcp, dir, &pkt->seg, &reason);
	if (likely(v == CT_VERDICT_ACCEPT)) {
		flow_account(w, f, pos, pkt, dir, now);
		if (f->tcp.state != old) {
			w->stats.state_changes++;
			ct_worker_count_state(w, old, -1);
			ct_worker_count_state(w, f->tcp.state, +1);
			if (ct_worker_closing(f->tcp.state) && !ct_worker_closing(old))
				w->stats.flows_closed++;
			ct_table_rearm(w->table, (uint32_t)pos, now, old);
		}
		*verdict = CT_WV_ACCEPT;
		return pos;
	}
	if (v == CT_VERDICT_REOPEN) {
		w->end_reason = CT_END_REOPENED;
		ct_table_del(w->table, (uint32_t)pos);
		w->stats.flows_reopened++;
		c->moved = true;
		return flow_new(w, c, j, now, verdict);
	}
	if (v == CT_VERDICT_DELETE) {
		flow_account(w, f, pos, pkt, dir, now); /* the RST counts on the record */
		w->end_reason = CT_END_CLOSED;
		ct_table_del(w->table, (uint32_t)pos);
		w->stats.flows_rst_deleted++;
		c->moved = true; /* a later packet of this flow in the chunk must not use pos */
		*verdict = CT_WV_ACCEPT;
		return -1;
	}
	if (f->invalid != UINT8_MAX)
		f->invalid++;
	if (unlikely(r4 != CT_L4R_OK))
		count_l4_invalid(w, r4, verdict);
	else
		count_invalid(w, reason, verdict);
	return pos;
}

/*
 * An ICMP error, the flow it quotes at @p pos (or -1: none): RELATED to that flow, whatever its
 * protocol, with nothing else changed on it (Linux: a port unreachable ends no UDP flow, an
 * error refreshes no timer), or INVALID.
 */
static int32_t
icmp_error(struct ct_worker *w, int32_t pos, uint8_t *verdict)
{
	if (pos < 0) {
		count_l4_invalid(w, CT_L4R_ICMP_ERROR_UNTRACKED, verdict);
		return pos;
	}
	((struct ct_flow *)ct_table_rec(w->table, (uint32_t)pos))->flags |= CT_FLOW_F_RELATED;
	w->stats.icmp_related++;
	*verdict = CT_WV_ACCEPT;
	return pos;
}

/* Parse and hash the chunk's packets; the others get their verdict here. */
static void
parse_chunk(struct ct_worker *w, struct chunk *c, struct rte_mbuf **pkts, unsigned int n,
            uint8_t *verdicts)
{
	unsigned int i, nk = 0;

	for (i = 0; i < n && i < PREFETCH_AHEAD; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		enum ct_parse_reason r;

		if (i + PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
		w->stats.rx_pkts++;
		w->stats.rx_bytes += pkts[i]->pkt_len;
		r = ct_parse_mbuf(pkts[i], &w->parse, &c->pkt[nk]);
		if (likely(r == CT_PARSE_OK)) {
			if (likely(c->pkt[nk].kind == CT_L4K_TCP)) {
				w->stats.tcp_pkts++;
				if (unlikely(c->pkt[nk].seg.opts & CT_TCPO_ODD))
					w->stats.tcp_opt_odd++;
			} else {
				(*ct_stats_kind(&w->stats, c->pkt[nk].kind))++;
			}
			c->keys[nk] = &c->pkt[nk].key;
			c->sigs[nk] = ct_table_hash(&c->pkt[nk].key, KEY_LEN);
			c->idx[nk] = (uint8_t)i;
			nk++;
			continue;
		}
		w->stats.parse[r < CT_PARSE_MAX ? r : CT_PARSE_NOT_IP]++;
		if (ct_parse_untracked(r)) {
			w->stats.not_tcp++;
			if (verdicts != NULL)
				verdicts[i] = CT_WV_PASS;
		} else {
			w->stats.parse_drop++;
			if (verdicts != NULL)
				verdicts[i] = CT_WV_MALFORMED;
		}
	}
	c->nk = nk;
	c->evicted = false;
	c->moved = false;
}

/* Where packet @p j's flow is now: the bulk lookup, a change earlier in the chunk, or a re-lookup
 * after an eviction. *@p ci is the change entry that names the flow (nchg if none). */
static int32_t
current_pos(struct ct_worker *w, struct chunk *c, unsigned int j, struct changed *chg,
            unsigned int *nchg, unsigned int *ci)
{
	const struct ct_pkt *p = &c->pkt[j];
	unsigned int k;

	if (unlikely(c->evicted)) {
		/*
		 * An add of this chunk evicted a flow (table full): any position looked up or
		 * remembered above may belong to it. Rare (full table), so look this key up again
		 * rather than track evictions per key.
		 */
		*nchg = 0;
		*ci = 0;
		return ct_table_lookup(w->table, &p->key, c->sigs[j]);
	}
	/* A hit names the flow unless a flow of the chunk moved; a miss may have been created. */
	if (likely(c->pos[j] >= 0 && !c->moved)) {
		*ci = *nchg;
		return c->pos[j];
	}
	for (k = 0; k < *nchg; k++)
		if (chg[k].sig == c->sigs[j] && memcmp(chg[k].key, &p->key, sizeof(p->key)) == 0)
			break;
	*ci = k;
	return k < *nchg ? chg[k].pos : c->pos[j];
}

/* Look the chunk up in bulk, then run the FSM (or lib/l4) packet by packet. */
static void
track_chunk(struct ct_worker *w, struct chunk *c, uint64_t now, uint8_t *verdicts)
{
	struct changed chg[CT_WORKER_BULK];
	unsigned int nchg = 0, j;

	/* The bulk lookup prefetches the records it finds. */
	if (ct_table_lookup_bulk(w->table, c->keys, c->sigs, c->nk, c->pos) < 0)
		for (j = 0; j < c->nk; j++)
			c->pos[j] = -ENOENT;

	for (j = 0; j < c->nk; j++) {
		unsigned int ci;
		int32_t cur = current_pos(w, c, j, chg, &nchg, &ci);
		int32_t after;
		uint8_t v;

		if (unlikely(c->pkt[j].kind == CT_L4K_ICMP_ERROR))
			after = icmp_error(w, cur, &v);
		else if (cur < 0)
			after = flow_new(w, c, j, now, &v);
		else
			after = flow_track(w, c, j, cur, now, &v);
		if (verdicts != NULL)
			verdicts[c->idx[j]] = v;
		if (after == cur)
			continue;
		if (ci == nchg) {
			chg[nchg].key = &c->pkt[j].key;
			chg[nchg].sig = c->sigs[j];
			nchg++;
		}
		chg[ci].pos = after;
	}
}

void
ct_worker_process_burst(struct ct_worker *w, struct rte_mbuf **pkts, uint16_t n, uint64_t now,
                        uint8_t *verdicts)
{
	struct chunk c;
	unsigned int done = 0;

	w->now = now;
	while (done < n) {
		unsigned int k = n - done < CT_WORKER_BULK ? n - done : CT_WORKER_BULK;
		uint8_t *v = verdicts != NULL ? verdicts + done : NULL;

		parse_chunk(w, &c, pkts + done, k, v);
		if (c.nk != 0)
			track_chunk(w, &c, now, v);
		done += k;
	}
}

unsigned int
ct_worker_tick(struct ct_worker *w, uint64_t now)
{
	if (now > w->now)
		w->now = now;
	return ct_table_expire(w->table, w->now, EXPIRE_MAX);
}
