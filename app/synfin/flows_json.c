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
json_one(void *arg, const struct ct_report_flow *fi)
{
	struct json_arg *a = arg;

	ct_report_flow_json(a->f, fi, a->n == 0);
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
