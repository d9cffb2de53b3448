// SPDX-License-Identifier: (BSD-3-Clause OR GPL-2.0)
/*
 * synfin's TCP tracker as an XDP program: lib/parse's rules (ct_xdp_parse.h), lib/tcp itself
 * (its .c files are included: the same transition table, window checks and header prediction),
 * a hash map of flows keyed by the canonical key, per-CPU counters with synfin's names, expiry
 * by synfin's timeouts and eviction of embryonic flows first when the map is full. Monitor mode
 * passes every frame; inline mode (conf.drop_invalid) drops INVALID segments.
 *
 * Both directions of a flow may run on two CPUs at once: a segment takes the flow's busy flag
 * under its bpf_spin_lock, tracks a copy of the state outside the lock (lib/tcp's window check is
 * a function call, which the verifier forbids under a lock) and writes it back, clearing busy,
 * under the lock again. A flow being deleted is marked dead first, so a CPU waiting for it looks
 * it up again.
 */
#define CT_TCP_BPF   1
#define CT_TCP_API   static __always_inline
#define CT_TCP_LOCAL static __always_inline
#define CT_TCP_COLD
#define CT_TCP_WINDOW_API __attribute__((noinline))

#include <linux/bpf.h>
#include <linux/errno.h>

#include <bpf/bpf_helpers.h>

#include "ct_tcp_fsm.c"
#include "ct_tcp_window.c"

#include "ct_xdp.h"
#include "ct_xdp_parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Set by the loader before load (writable data, not .rodata: lib/tcp's window check is a
 * separate BPF function, and the verifier lets none take read-only memory).
 */
struct ct_xdp_conf conf = {
        .tcp = {.loose = true, .predict = true},
};

/* The replay clock (conf.replay_clock): ms, written by the loader before each test run. */
volatile uint64_t now_ms;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_XDP_FLOWS_DEFAULT);
	__type(key, struct ct_flow_key);
	__type(value, struct ct_xdp_flow);
} flows SEC(".maps");

/* Keys of flows created embryonic, oldest first: the eviction order of a full map. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, CT_XDP_EMB_QUEUE);
	__type(value, struct ct_flow_key);
} embryonic SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, uint32_t);
	__type(value, struct ct_xdp_stats);
} stats SEC(".maps");

/* Per-CPU scratch: the state copy and the new flow live here, not on the 512-byte stack (and a
 * map value's address has no alignment the compiler could turn `base + dir` into `base | dir`
 * with, which the verifier refuses on a pointer). */
struct scratch {
	struct ct_pkt pkt;     /* the parsed segment */
	struct ct_xdp_state c; /* the state of the flow being tracked */
	struct ct_tcp n;       /* a new flow's */
	/* a new flow's map value (as bytes: a per-CPU map may hold no bpf_spin_lock) */
	uint8_t v[sizeof(struct ct_xdp_flow)] __attribute__((aligned(8)));
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, uint32_t);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* Outcome of one segment (synfin's CT_WV_*). */
enum { V_PASS, V_MALFORMED, V_NEW, V_ACCEPT, V_INVALID, V_REFUSED };

/* Embryonic conntrack states (synfin's table policy). */
#define EMBRYONIC (1u << CT_S_SYN_SENT | 1u << CT_S_SYN_RECV | 1u << CT_S_SYN_SENT2)

/* Lookups of one segment: a dead or just created flow makes it look again. */
#define LOOKUPS 4

/* Embryonic keys tried per refused add. */
#define EVICT_TRIES 8

/*
 * @p x if below @p n, else @p dflt, in the register the access then uses (written in BPF assembly:
 * the compiler would drop a C compare whose outcome it knows, or test a copy).
 */
#define bound(x, n, dflt)                                                                          \
	({                                                                                         \
		uint64_t v_ = (x);                                                                 \
		__asm__ volatile("if %0 < %1 goto +1; %0 = %2" : "+r"(v_) : "i"(n), "i"(dflt));    \
		v_;                                                                                \
	})

static __always_inline int
closing(unsigned int s)
{
	return s == CT_S_CLOSE || s == CT_S_TIME_WAIT;
}

static __always_inline uint32_t
timeout_ms(unsigned int state)
{
	return conf.tcp.timeouts.ms[bound(state, CT_S_MAX, CT_S_NONE)];
}

static __always_inline int
count_invalid(struct ct_xdp_stats *st, enum ct_tcp_reason r)
{
	st->s.invalid++;
	st->s.reason[bound(r, CT_R_MAX, CT_R_UNEXPECTED)]++;
	return V_INVALID;
}

struct spin_ctx {
	struct ct_xdp_flow *f;
	struct ct_xdp_state *copy;
	int got; /* 1: busy taken, state copied; -1: the flow is dead */
};

static long
spin_once(uint64_t i, void *arg)
{
	struct spin_ctx *c = arg;
	struct ct_xdp_flow *f = c->f;

	(void)i;
	bpf_spin_lock(&f->lock);
	if (f->dead) {
		c->got = -1;
	} else if (!f->busy) {
		f->busy = 1;
		*c->copy = f->st;
		c->got = 1;
	}
	bpf_spin_unlock(&f->lock);
	return c->got != 0;
}

/* Take @p f's busy flag and copy its state. @return 1, 0 (busy all along) or -1 (dead). */
static __always_inline int
flow_take(struct ct_xdp_flow *f, struct ct_xdp_state *copy)
{
	struct spin_ctx c = {.f = f, .copy = copy, .got = 0};

	bpf_loop(CT_XDP_SPIN_MAX, spin_once, &c, 0);
	return c.got;
}

/* Write the state back and give the flag back. */
static __always_inline void
flow_give(struct ct_xdp_flow *f, const struct ct_xdp_state *st)
{
	bpf_spin_lock(&f->lock);
	f->st = *st;
	f->busy = 0;
	bpf_spin_unlock(&f->lock);
}

/* Delete a flow whose busy flag this CPU holds. */
static __always_inline void
flow_del(struct ct_xdp_flow *f, const struct ct_flow_key *key)
{
	bpf_spin_lock(&f->lock);
	f->dead = 1;
	f->busy = 0;
	bpf_spin_unlock(&f->lock);
	bpf_map_delete_elem(&flows, key);
}

/* Evict the oldest flow still embryonic (synfin's table does the same). @return 1 if one went. */
static __always_inline int
evict_one(void)
{
	for (int i = 0; i < EVICT_TRIES; i++) {
		struct ct_flow_key k;
		struct ct_xdp_flow *f;
		int ok = 0;

		if (bpf_map_pop_elem(&embryonic, &k) != 0)
			return 0;
		f = bpf_map_lookup_elem(&flows, &k);
		if (f == NULL)
			continue;
		bpf_spin_lock(&f->lock);
		if (!f->dead && !f->busy && ((1u << (f->st.tcp.state & 31)) & EMBRYONIC)) {
			f->dead = 1;
			ok = 1;
		}
		bpf_spin_unlock(&f->lock);
		if (ok && bpf_map_delete_elem(&flows, &k) == 0)
			return 1;
	}
	return 0;
}

/*
 * lib/tcp on a flow's copy: separate (global) BPF functions, each checked once by the verifier,
 * not once for every path that reaches it. @return an enum ct_verdict.
 */
__attribute__((noinline)) int
ct_xdp_fsm_track(struct ct_tcp *t, const struct ct_tcp_seg *seg, unsigned int dir, uint32_t *reason)
{
	enum ct_tcp_reason r = CT_R_OK;
	enum ct_verdict v;

	if (t == NULL || seg == NULL || reason == NULL)
		return CT_VERDICT_INVALID;
	v = ct_tcp_track_fast(t, &conf.tcp, (enum ct_dir)(dir & 1), seg, &r);
	*reason = r;
	return v;
}

__attribute__((noinline)) int
ct_xdp_fsm_new(struct ct_tcp *t, const struct ct_tcp_seg *seg, uint32_t *reason)
{
	enum ct_tcp_reason r = CT_R_OK;
	enum ct_verdict v;

	if (t == NULL || seg == NULL || reason == NULL)
		return CT_VERDICT_INVALID;
	v = ct_tcp_new(t, &conf.tcp, seg, &r);
	*reason = r;
	return v;
}

/* A segment without a flow: ct_tcp_new(), then the add (an embryonic flow evicted if full). */
static __always_inline int
flow_new(const struct ct_pkt *pkt, uint64_t now, struct ct_xdp_stats *st, struct scratch *sc)
{
	struct ct_xdp_flow *vp = (struct ct_xdp_flow *)sc->v;
	uint32_t reason = CT_R_OK;
	long err;

	if (ct_xdp_fsm_new(&sc->n, &pkt->seg, &reason) != CT_VERDICT_NEW)
		return count_invalid(st, (enum ct_tcp_reason)reason);
	__builtin_memset(sc->v, 0, sizeof(sc->v));
	vp->st.tcp = sc->n;
	vp->st.swapped = pkt->swapped;
	vp->st.pkts[CT_DIR_ORIG] = 1;
	vp->st.bytes[CT_DIR_ORIG] = pkt->l3_len;
	vp->st.last_seen = now;
	vp->st.cpu = (uint16_t)bpf_get_smp_processor_id();
	err = bpf_map_update_elem(&flows, &pkt->key, sc->v, BPF_NOEXIST);
	if (err == -EEXIST)
		return -1; /* another CPU created it meanwhile: track on it */
	if (err != 0) {
		if (evict_one()) {
			st->s.flows_evicted++;
			err = bpf_map_update_elem(&flows, &pkt->key, sc->v, BPF_NOEXIST);
			if (err == -EEXIST)
				return -1;
		}
		if (err != 0) {
			st->s.flows_refused++;
			return V_REFUSED;
		}
	}
	if ((1u << (sc->n.state & 31)) & EMBRYONIC)
		bpf_map_push_elem(&embryonic, &pkt->key, BPF_EXIST);
	st->s.flows_created++;
	st->s.accepted++;
	return V_NEW;
}

/* One segment on its flow @p f (busy flag held, state in @p c). @return a V_*, or -1: new flow. */
static __always_inline int
flow_track(struct ct_xdp_flow *f, struct ct_xdp_state *c, const struct ct_pkt *pkt, uint64_t now,
           struct ct_xdp_stats *st)
{
	enum ct_dir dir = (enum ct_dir)((pkt->swapped ^ c->swapped) & 1);
	uint32_t reason = CT_R_OK;
	uint8_t old = c->tcp.state;
	enum ct_verdict v;

	if (now - c->last_seen >= timeout_ms(old)) {
		/* due: synfin's timer would have taken it by now */
		flow_del(f, &pkt->key);
		st->s.flows_expired++;
		return -1;
	}
	v = (enum ct_verdict)ct_xdp_fsm_track(&c->tcp, &pkt->seg, dir, &reason);
	if (v == CT_VERDICT_ACCEPT) {
		c->pkts[dir]++;
		c->bytes[dir] += pkt->l3_len;
		c->last_seen = now;
		st->s.accepted++;
		if (c->tcp.state != old) {
			st->s.state_changes++;
			if (closing(c->tcp.state) && !closing(old))
				st->s.flows_closed++;
		}
		flow_give(f, c);
		return V_ACCEPT;
	}
	if (v == CT_VERDICT_REOPEN) {
		flow_del(f, &pkt->key);
		st->s.flows_reopened++;
		return -1;
	}
	if (v == CT_VERDICT_DELETE) {
		flow_del(f, &pkt->key);
		st->s.accepted++;
		st->s.flows_rst_deleted++;
		return V_ACCEPT;
	}
	if (c->invalid != 255)
		c->invalid++;
	flow_give(f, c);
	return count_invalid(st, (enum ct_tcp_reason)reason);
}

/*
 * One parsed segment (sc->pkt): look its flow up, create it or track it. A separate (global) BPF
 * function, so the verifier checks it once rather than once for every path of the parser.
 * @return a V_* outcome.
 */
__attribute__((noinline)) int
ct_xdp_track(struct scratch *sc, struct ct_xdp_stats *st, uint64_t now)
{
	const struct ct_pkt *pkt;

	if (sc == NULL || st == NULL)
		return V_PASS;
	pkt = &sc->pkt;
	for (int i = 0; i < LOOKUPS; i++) {
		struct ct_xdp_flow *f = bpf_map_lookup_elem(&flows, &pkt->key);
		struct ct_xdp_state *c = &sc->c;
		int r;

		if (f == NULL) {
			r = flow_new(pkt, now, st, sc);
		} else {
			r = flow_take(f, c);
			if (r == 0) {
				st->busy_giveup++;
				return V_PASS;
			}
			if (r < 0)
				continue; /* deleted meanwhile: look again */
			r = flow_track(f, c, pkt, now, st);
		}
		if (r >= 0)
			return r;
	}
	st->busy_giveup++;
	return V_PASS;
}

SEC("xdp.frags")
int
ct_xdp(struct xdp_md *ctx)
{
	uint32_t zero = 0;
	struct ct_xdp_stats *st = bpf_map_lookup_elem(&stats, &zero);
	struct scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
	enum ct_parse_reason r;
	struct ct_pkt *pkt;
	uint64_t now;
	int v;

	if (st == NULL || sc == NULL)
		return XDP_PASS;
	st->s.rx_pkts++;
	st->s.rx_bytes += bpf_xdp_get_buff_len(ctx);
	pkt = &sc->pkt;
	r = (enum ct_parse_reason)ct_xdp_parse(ctx, conf.key_vlan, pkt);
	if (r == XP_NOT_TCP) {
		st->s.not_tcp++;
		return XDP_PASS;
	}
	if (r != CT_PARSE_OK) {
		st->s.parse[bound(r, CT_PARSE_MAX, CT_PARSE_NOT_IP)]++;
		if (ct_parse_untracked(r))
			st->s.not_tcp++;
		else
			st->s.parse_drop++;
		return XDP_PASS;
	}
	st->s.tcp_pkts++;
	if (pkt->seg.opts & CT_TCPO_ODD)
		st->s.tcp_opt_odd++;
	now = conf.replay_clock ? now_ms : bpf_ktime_get_ns() / 1000000;
	v = ct_xdp_track(sc, st, now);
	if (v == V_INVALID && conf.drop_invalid) {
		st->xdp_drop++;
		return XDP_DROP;
	}
	return XDP_PASS;
}
