/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * End reasons and the flow-end JSON line (ct_export.h): the --flows-json members of the flow,
 * then what only an ended flow has.
 */

#include <inttypes.h>
#include <stdio.h>

#include "ct_export.h"

static const struct {
	const char *name;
	uint8_t ipfix;
} end_reasons[CT_END_MAX] = {
#define X(e, n, i, h) [CT_END_##e] = {n, i},
        CT_END_REASONS(X)
#undef X
};

const char *
ct_end_reason_name(unsigned int r)
{
	return r < CT_END_MAX ? end_reasons[r].name : "?";
}

uint8_t
ct_end_reason_ipfix(unsigned int r)
{
	return r < CT_END_MAX ? end_reasons[r].ipfix : 0;
}

/* Unix milliseconds as seconds with three decimals. */
static void
print_ms(FILE *f, const char *name, uint64_t ms)
{
	fprintf(f, ",\"%s\":%" PRIu64 ".%03u", name, ms / 1000, (unsigned int)(ms % 1000));
}

int
ct_export_json_line(FILE *f, const struct ct_export_flow *e)
{
	uint64_t dur = e->last_ms >= e->first_ms ? e->last_ms - e->first_ms : 0;

	fputc('{', f);
	ct_report_flow_json_fields(f, &e->fi);
	fprintf(f, ",\"history\":\"%s\",\"conn_state\":\"%s\",\"end_reason\":\"%s\"", e->history,
	        ct_conn_state_name(e->conn_state), ct_end_reason_name(e->end_reason));
	print_ms(f, "first_seen", e->first_ms);
	print_ms(f, "last_seen", e->last_ms);
	print_ms(f, "duration_s", dur);
	fputs("}\n", f);
	return ferror(f) ? -1 : 0;
}
