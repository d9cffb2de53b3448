/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin-xdp's control side: the flow map read whole under each flow's lock (BPF_F_LOCK), each
 * flow turned into lib/report's struct ct_report_flow (the client's direction first, seconds
 * left before its timeout) for the conntrack -L lines and --flows-json; the per-CPU counters
 * summed into synfin's statistics block (flows per state counted from the map); the sweep that
 * deletes the flows whose timeout passed (last_seen + timeout(state) <= now, synfin's rule).
 */

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_parse.h"
#include "synfin_xdp.h"

#include "ct_xdp.skel.h"

/* Keys read per batch of the walk (a walk deletes nothing while it iterates). */
#define WALK_MAX (1u << 20)

static int
flows_fd(struct sx *sx)
{
	return bpf_map__fd(sx->skel->maps.flows);
}

/* Every key of the flow map into a malloc'd array (*n keys). */
static struct ct_flow_key *
keys_read(struct sx *sx, uint32_t *n)
{
	uint32_t cap = 1024, k = 0;
	struct ct_flow_key *keys = malloc(cap * sizeof(*keys)), cur;
	int fd = flows_fd(sx);
	void *prev = NULL;

	while (keys != NULL && k < WALK_MAX && bpf_map_get_next_key(fd, prev, &cur) == 0) {
		if (k == cap) {
			struct ct_flow_key *m = realloc(keys, 2 * cap * sizeof(*keys));

			if (m == NULL)
				break;
			keys = m;
			cap *= 2;
		}
		keys[k] = cur;
		prev = &keys[k];
		k++;
	}
	*n = k;
	return keys;
}

static void
flow_info(struct sx *sx, const struct ct_flow_key *k, const struct ct_xdp_state *s,
          struct ct_report_flow *fi)
{
	unsigned int c = s->swapped ? 1 : 0;
	uint32_t tmo = sx->conf.tcp.timeouts.ms[s->tcp.state % CT_S_MAX];
	int64_t left = (int64_t)(s->last_seen + tmo) - (int64_t)sx->now;

	memset(fi, 0, sizeof(*fi));
	ct_flow_key_addr_format(k, c, fi->src, sizeof(fi->src));
	ct_flow_key_addr_format(k, c ^ 1, fi->dst, sizeof(fi->dst));
	fi->sport = ntohs(k->port[c]);
	fi->dport = ntohs(k->port[c ^ 1]);
	fi->proto = k->proto; /* the XDP twin tracks TCP only */
	fi->family = k->family;
	fi->vlan = k->vlan;
	fi->state = s->tcp.state;
	fi->client_state = s->tcp.tcp_state[CT_DIR_ORIG];
	fi->server_state = s->tcp.tcp_state[CT_DIR_REPLY];
	fi->picked_up = (s->tcp.flags & CT_F_PICKED_UP) != 0;
	fi->assured = (s->tcp.flags & CT_F_ASSURED) != 0;
	for (unsigned int d = 0; d < CT_DIR_MAX; d++) {
		fi->pkts[d] = s->pkts[d];
		fi->bytes[d] = s->bytes[d];
	}
	fi->invalid = s->invalid;
	fi->expires_in_s = left <= 0 ? 0 : (uint32_t)((left + 999) / 1000);
	fi->lcore = s->cpu;
}

/* Call @p cb for every flow (read under its lock). */
static int
flows_walk(struct sx *sx,
           int (*cb)(void *, const struct ct_flow_key *, const struct ct_xdp_state *), void *arg)
{
	uint32_t n = 0;
	struct ct_flow_key *keys = keys_read(sx, &n);
	int ret = 0;

	if (keys == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n && ret == 0; i++) {
		struct ct_xdp_flow v;

		if (bpf_map_lookup_elem_flags(flows_fd(sx), &keys[i], &v, BPF_F_LOCK) != 0)
			continue; /* gone since */
		if (v.dead)
			continue;
		ret = cb(arg, &keys[i], &v.st);
	}
	free(keys);
	return ret;
}

struct walk_arg {
	struct sx *sx;
	FILE *f;
	uint64_t n;
	uint64_t *by_state;
	uint64_t now;
	int port; /* only flows with this port at either end (host order); -1: every flow */
};

/* Whether a listing with port filter @p port shows the flow of @p k. */
static bool
port_match(int port, const struct ct_flow_key *k)
{
	return port < 0 || ntohs(k->port[0]) == port || ntohs(k->port[1]) == port;
}

static int
line_one(void *arg, const struct ct_flow_key *k, const struct ct_xdp_state *s)
{
	struct walk_arg *a = arg;
	struct ct_report_flow fi;

	if (!port_match(a->port, k))
		return 0;
	flow_info(a->sx, k, s, &fi);
	ct_report_flow_line(a->f, &fi);
	a->n++;
	return 0;
}

void
sx_show_flows(struct sx *sx, FILE *f, int port)
{
	struct walk_arg a = {.sx = sx, .f = f, .port = port};

	flows_walk(sx, line_one, &a);
	fprintf(f, "%" PRIu64 " flow%s shown\n", a.n, a.n == 1 ? "" : "s");
}

static int
json_one(void *arg, const struct ct_flow_key *k, const struct ct_xdp_state *s)
{
	struct walk_arg *a = arg;
	struct ct_report_flow fi;

	if (!port_match(a->port, k))
		return 0;
	flow_info(a->sx, k, s, &fi);
	ct_report_flow_json(a->f, &fi, a->n == 0);
	a->n++;
	return 0;
}

int
sx_flows_json(struct sx *sx, FILE *f, int port, uint64_t *n)
{
	struct walk_arg a = {.sx = sx, .f = f, .port = port};
	int ret;

	fputc('[', f);
	ret = flows_walk(sx, json_one, &a);
	fprintf(f, "%s]\n", a.n ? "\n" : "");
	if (n != NULL)
		*n = a.n;
	return ret < 0 ? ret : ferror(f) ? -EIO : 0;
}

int
sx_flows_json_write(struct sx *sx, const char *path)
{
	uint64_t n = 0;
	FILE *f = fopen(path, "w");
	int ret;

	if (f == NULL) {
		ret = -errno;
		fprintf(stderr, "synfin-xdp: --flows-json %s: %s\n", path, strerror(errno));
		return ret;
	}
	ret = sx_flows_json(sx, f, -1, &n);
	if (fclose(f) != 0 || ret < 0) {
		fprintf(stderr, "synfin-xdp: --flows-json %s: write failed\n", path);
		return -EIO;
	}
	printf("synfin-xdp: %" PRIu64 " flow%s written to %s\n", n, n == 1 ? "" : "s", path);
	return 0;
}

int
sx_stats_sum(struct sx *sx, struct ct_lcore_stats *out, uint64_t *busy, uint64_t *drops)
{
	int ncpu = libbpf_num_possible_cpus();
	struct ct_xdp_stats *v;
	uint32_t zero = 0;

	memset(out, 0, sizeof(*out));
	if (busy != NULL)
		*busy = 0;
	if (drops != NULL)
		*drops = 0;
	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(sx->skel->maps.stats), &zero, v) != 0) {
		free(v);
		return -errno;
	}
	for (int c = 0; c < ncpu; c++) {
		ct_stats_add(out, &v[c].s);
		if (busy != NULL)
			*busy += v[c].busy_giveup;
		if (drops != NULL)
			*drops += v[c].xdp_drop;
	}
	out->flows_expired += sx->swept;
	ct_stats_add(out, &sx->short_frames);
	free(v);
	return 0;
}

static int
state_one(void *arg, const struct ct_flow_key *k, const struct ct_xdp_state *s)
{
	struct walk_arg *a = arg;

	(void)k;
	a->by_state[s->tcp.state % CT_S_MAX]++;
	return 0;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
sx_show_stats(struct sx *sx, FILE *f)
{
	struct ct_lcore_stats s, d;
	uint64_t by_state[CT_CLASS_MAX] = {0}, busy, drops, ns = mono_ns();
	struct walk_arg a = {.sx = sx, .by_state = by_state, .port = -1};
	struct ct_report_stats r = {.s = &s, .d = &d, .by_state = by_state};

	sx_stats_sum(sx, &s, &busy, &drops);
	d = s;
	ct_stats_sub(&d, &sx->prev);
	r.seconds = sx->prev_ns ? (double)(ns - sx->prev_ns) / 1e9 : 0.0;
	sx->prev = s;
	sx->prev_ns = ns;
	ct_stats_sub(&s, &sx->base);
	flows_walk(sx, state_one, &a);
	r.capacity = sx->table_size;
	r.show_tx = sx->conf.drop_invalid;
	r.tx_pkts = s.rx_pkts - drops;
	r.tx_dropped = drops;
	ct_report_stats_block(f, &r);
	if (busy != 0)
		fprintf(f, "  xdp: %" PRIu64 " segments passed untracked (flow busy)\n", busy);
	fflush(f);
}

struct sweep_arg {
	struct sx *sx;
	uint64_t now;
	struct ct_flow_key *due;
	uint32_t n, cap;
};

static int
sweep_one(void *arg, const struct ct_flow_key *k, const struct ct_xdp_state *s)
{
	struct sweep_arg *a = arg;
	uint32_t tmo = a->sx->conf.tcp.timeouts.ms[s->tcp.state % CT_S_MAX];

	if (a->now < s->last_seen + tmo)
		return 0;
	if (a->n == a->cap) {
		uint32_t cap = a->cap ? 2 * a->cap : 256;
		struct ct_flow_key *m = realloc(a->due, cap * sizeof(*m));

		if (m == NULL)
			return 1;
		a->due = m;
		a->cap = cap;
	}
	a->due[a->n++] = *k;
	return 0;
}

unsigned int
sx_sweep(struct sx *sx, uint64_t now)
{
	struct sweep_arg a = {.sx = sx, .now = now};
	unsigned int done = 0;

	flows_walk(sx, sweep_one, &a);
	for (uint32_t i = 0; i < a.n; i++)
		if (bpf_map_delete_elem(flows_fd(sx), &a.due[i]) == 0)
			done++;
	free(a.due);
	sx->swept += done;
	return done;
}
