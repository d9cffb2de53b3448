/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * End reasons and the flow-end JSON line (ct_export.h): the --flows-json members of the flow,
 * then what only an ended flow has.
 */

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

uint32_t
ct_export_pace_next(struct ct_export_pace *p, uint32_t peak, uint32_t ring_size)
{
	if (peak > ring_size / 2)
		p->us = p->us / 2 > CT_EXPORT_PACE_MIN_US ? p->us / 2 : CT_EXPORT_PACE_MIN_US;
	else if (peak < ring_size / 8)
		p->us = p->us * 2 < CT_EXPORT_PACE_MAX_US ? p->us * 2 : CT_EXPORT_PACE_MAX_US;
	return p->us;
}

/* ,"NAME":S.mmm: Unix milliseconds as seconds with three decimals. */
static void
put_ms(struct ct_text *t, const char *name, size_t nlen, uint64_t ms)
{
	ct_text_put(t, name, nlen);
	ct_text_u64(t, ms / 1000);
	ct_text_char(t, '.');
	ct_text_u64_pad(t, ms % 1000, 3);
}

#define PUT_MS(t, lit, ms) put_ms((t), "" lit, sizeof(lit) - 1, (ms))

int
ct_export_json_line(FILE *f, const struct ct_export_flow *e)
{
	uint64_t dur = e->last_ms >= e->first_ms ? e->last_ms - e->first_ms : 0;
	char buf[CT_EXPORT_JSON_LINE_MAX];
	struct ct_text t;
	size_t n;

	ct_text_init(&t, buf, sizeof(buf));
	ct_text_char(&t, '{');
	ct_report_flow_json_text(&t, &e->fi);
	ct_text_lit(&t, ",\"history\":\"");
	ct_text_str(&t, e->history);
	ct_text_lit(&t, "\",\"conn_state\":\"");
	ct_text_str(&t, ct_conn_state_name(e->conn_state));
	ct_text_lit(&t, "\",\"end_reason\":\"");
	ct_text_str(&t, ct_end_reason_name(e->end_reason));
	ct_text_char(&t, '"');
	PUT_MS(&t, ",\"first_seen\":", e->first_ms);
	PUT_MS(&t, ",\"last_seen\":", e->last_ms);
	PUT_MS(&t, ",\"duration_s\":", dur);
	ct_text_lit(&t, "}\n");
	if (t.full)
		return -1;
	n = ct_text_len(&t, buf);
	return fwrite(buf, 1, n, f) == n && !ferror(f) ? 0 : -1;
}
