/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --flows-json: at exit, every tracked flow as one JSON object of an array, with the client's
 * direction as "orig" (the canonical key un-swapped), the conntrack state (Linux name), both
 * endpoints' RFC 9293 states, per-direction packets and bytes, the INVALID count, the
 * picked-up and assured flags, the seconds left before expiry and the owning lcore.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "synfin.h"

struct json_arg {
	FILE *f;
	uint64_t n;
};

static int
json_one(void *arg, const struct sf_flow_info *fi)
{
	struct json_arg *a = arg;

	fprintf(a->f,
	        "%s\n  {\"proto\":\"tcp\",\"orig\":{\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\","
	        "\"dport\":%u},\"vlan\":%u,\"state\":\"%s\",\"client_state\":\"%s\","
	        "\"server_state\":\"%s\",\"packets\":{\"orig\":%" PRIu64 ",\"reply\":%" PRIu64
	        "},\"bytes\":{\"orig\":%" PRIu64 ",\"reply\":%" PRIu64 "},\"invalid\":%u,"
	        "\"picked_up\":%s,\"assured\":%s,\"expires_in_s\":%u,\"lcore\":%u}",
	        a->n ? "," : "", fi->src, fi->sport, fi->dst, fi->dport, fi->vlan,
	        ct_state_name(fi->state), ct_tcp_state_name(fi->client_state),
	        ct_tcp_state_name(fi->server_state), fi->pkts[CT_DIR_ORIG], fi->pkts[CT_DIR_REPLY],
	        fi->bytes[CT_DIR_ORIG], fi->bytes[CT_DIR_REPLY], fi->invalid,
	        fi->picked_up ? "true" : "false", fi->assured ? "true" : "false", fi->expires_in_s,
	        fi->lcore);
	a->n++;
	return 0;
}

int
sf_flows_json_write(struct synfin *sf, const char *path)
{
	struct json_arg a = {.n = 0};
	int ret;

	a.f = fopen(path, "w");
	if (a.f == NULL) {
		ret = -errno;
		fprintf(stderr, "synfin: --flows-json %s: %s\n", path, strerror(errno));
		return ret;
	}
	fputc('[', a.f);
	ret = sf_flows_walk(sf, json_one, &a);
	fprintf(a.f, "%s]\n", a.n ? "\n" : "");
	if (fclose(a.f) != 0 || ret < 0) {
		fprintf(stderr, "synfin: --flows-json %s: write failed\n", path);
		return -EIO;
	}
	printf("synfin: %" PRIu64 " flow%s written to %s\n", a.n, a.n == 1 ? "" : "s", path);
	return 0;
}
