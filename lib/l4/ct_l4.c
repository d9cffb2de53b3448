/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The L4 tracker (ct_l4.h): the non-TCP state machines, the default timeouts and the names of
 * the X-macros. Semantics from Linux v6.x nf_conntrack (facts, no code): a UDP flow is
 * UNREPLIED until a packet of the reply direction; the SEEN_REPLY bit is set after that packet
 * is handled, so the first reply still gets the `udp` timeout; a later packet, once more than
 * 2 s have passed since the first one (stream_ts), sets ASSURED and gets `udp_stream`
 * (nf_conntrack_proto_udp.c, 2023 on). ICMP echo flows start only from a request
 * (nf_conntrack_proto_icmp.c: icmp_new() refuses a reply), take `icmp` on every packet and are
 * never ASSURED. Other protocols (nf_conntrack_proto_generic.c) start from any packet and take
 * `generic`.
 *
 *   UDP:     first --> UDP_UNREPLIED --reply--> UDP_REPLIED --any, > 2 s--> UDP_ASSURED
 *   ICMP:    request --> ICMP_UNREPLIED --reply--> ICMP_REPLIED
 *   generic: first --> GENERIC_UNREPLIED --reply--> GENERIC_REPLIED
 */
#include <errno.h>
#include <string.h>

#include "ct_l4.h"

const struct ct_l4_conf ct_l4_conf_default = {
        .ms =
                {
#define X(e, n, s, src) [CT_L4T_##e] = (s)*1000u,
                        CT_L4_TIMEOUTS(X)
#undef X
                },
};

#define L4_INDEX(c) ((c)-CT_S_MAX)
#define L4_N        (CT_CLASS_MAX - CT_S_MAX)

static const char *const l4_state_names[L4_N] = {
#define X(e, n, t, emb, h) [L4_INDEX(CT_L4S_##e)] = n,
        CT_L4_STATES(X)
#undef X
};

static const char *const l4_state_helps[L4_N] = {
#define X(e, n, t, emb, h) [L4_INDEX(CT_L4S_##e)] = h,
        CT_L4_STATES(X)
#undef X
};

static const uint8_t l4_state_timeout[L4_N] = {
#define X(e, n, t, emb, h) [L4_INDEX(CT_L4S_##e)] = CT_L4T_##t,
        CT_L4_STATES(X)
#undef X
};

static const char *const timeout_names[CT_L4T_MAX] = {
#define X(e, n, s, src) [CT_L4T_##e] = n,
        CT_L4_TIMEOUTS(X)
#undef X
};

static const char *const reason_names[CT_L4R_MAX] = {
#define X(e, n, h) [CT_L4R_##e] = n,
        CT_L4_REASONS(X)
#undef X
};

static const char *const reason_helps[CT_L4R_MAX] = {
#define X(e, n, h) [CT_L4R_##e] = h,
        CT_L4_REASONS(X)
#undef X
};

static const char *const kind_names[CT_L4K_MAX] = {
#define X(e, n) [CT_L4K_##e] = n,
        CT_L4_KINDS(X)
#undef X
};

const char *
ct_class_name(unsigned int c)
{
	if (c < CT_S_MAX)
		return ct_state_name(c);
	return c < CT_CLASS_MAX ? l4_state_names[L4_INDEX(c)] : "?";
}

const char *
ct_class_help(unsigned int c)
{
	if (c < CT_S_MAX)
		return "";
	return c < CT_CLASS_MAX ? l4_state_helps[L4_INDEX(c)] : "?";
}

/* Name match as ct_state_parse() does it: case-insensitive, '-' for '_'. */
static bool
name_eq(const char *name, const char *s)
{
	unsigned int k;

	for (k = 0; s[k] != '\0' && name[k] != '\0'; k++) {
		char a = name[k] == '-' ? '_' : name[k];

		if ((a | 0x20) != (s[k] | 0x20) || (a == '_') != (s[k] == '_'))
			return false;
	}
	return s[k] == '\0' && name[k] == '\0';
}

int
ct_class_parse(const char *name)
{
	int s;

	if (name == NULL)
		return -EINVAL;
	s = ct_state_parse(name);
	if (s >= 0)
		return s;
	for (unsigned int c = CT_S_MAX; c < CT_CLASS_MAX; c++)
		if (name_eq(name, l4_state_names[L4_INDEX(c)]))
			return (int)c;
	return -EINVAL;
}

int
ct_class_l4_timeout(unsigned int c)
{
	return ct_class_is_l4(c) ? l4_state_timeout[L4_INDEX(c)] : -EINVAL;
}

uint32_t
ct_l4_embryonic_mask(void)
{
	return 0
#define X(e, n, t, emb, h) | (emb ? 1u << CT_L4S_##e : 0u)
	        CT_L4_STATES(X)
#undef X
	                ;
}

const char *
ct_l4_timeout_name(unsigned int t)
{
	return t < CT_L4T_MAX ? timeout_names[t] : "?";
}

int
ct_l4_timeout_parse(const char *name)
{
	if (name == NULL)
		return -EINVAL;
	for (unsigned int t = 0; t < CT_L4T_MAX; t++)
		if (name_eq(name, timeout_names[t]))
			return (int)t;
	return -EINVAL;
}

const char *
ct_l4_reason_name(unsigned int r)
{
	return r < CT_L4R_MAX ? reason_names[r] : "?";
}

const char *
ct_l4_reason_help(unsigned int r)
{
	return r < CT_L4R_MAX ? reason_helps[r] : "?";
}

const char *
ct_l4_kind_name(unsigned int k)
{
	return k < CT_L4K_MAX ? kind_names[k] : "?";
}

enum ct_verdict
ct_l4_new(struct ct_l4 *l, unsigned int kind, const struct ct_l4_seg *seg, uint32_t now_ms,
          enum ct_l4_reason *reason)
{
	uint8_t state;

	switch (kind) {
	case CT_L4K_UDP:
		state = CT_L4S_UDP_UNREPLIED;
		break;
	case CT_L4K_ICMP_REQUEST:
		state = CT_L4S_ICMP_UNREPLIED;
		break;
	case CT_L4K_OTHER:
		state = CT_L4S_GENERIC_UNREPLIED;
		break;
	case CT_L4K_ICMP_REPLY:
		*reason = CT_L4R_ICMP_REPLY_NO_FLOW;
		return CT_VERDICT_INVALID;
	case CT_L4K_ICMP_ERROR:
		*reason = CT_L4R_ICMP_ERROR_UNTRACKED;
		return CT_VERDICT_INVALID;
	default:
		*reason = CT_L4R_KIND_MISMATCH;
		return CT_VERDICT_INVALID;
	}
	memset(l, 0, sizeof(*l));
	l->created_ms = now_ms;
	if (kind == CT_L4K_ICMP_REQUEST) {
		l->icmp_type = seg->icmp_type;
		l->icmp_code = seg->icmp_code;
	}
	l->state = state;
	*reason = CT_L4R_OK;
	return CT_VERDICT_NEW;
}

/* The protocol family of a class and of a kind: 1 UDP, 2 ICMP, 3 generic. */
static unsigned int
class_proto(unsigned int c)
{
	switch (c) {
	case CT_L4S_UDP_UNREPLIED:
	case CT_L4S_UDP_REPLIED:
	case CT_L4S_UDP_ASSURED:
		return 1;
	case CT_L4S_ICMP_UNREPLIED:
	case CT_L4S_ICMP_REPLIED:
		return 2;
	case CT_L4S_GENERIC_UNREPLIED:
	case CT_L4S_GENERIC_REPLIED:
		return 3;
	default:
		return 0;
	}
}

static unsigned int
kind_proto(unsigned int k)
{
	switch (k) {
	case CT_L4K_UDP:
		return 1;
	case CT_L4K_ICMP_REQUEST:
	case CT_L4K_ICMP_REPLY:
		return 2;
	case CT_L4K_OTHER:
		return 3;
	default:
		return 0;
	}
}

enum ct_verdict
ct_l4_track(struct ct_l4 *l, unsigned int kind, enum ct_dir dir, uint32_t now_ms,
            enum ct_l4_reason *reason)
{
	unsigned int p = class_proto(l->state);
	bool reply = dir == CT_DIR_REPLY;

	if (p == 0) {
		*reason = CT_L4R_L4_UNEXPECTED;
		return CT_VERDICT_INVALID;
	}
	if (kind_proto(kind) != p || (kind == CT_L4K_ICMP_REPLY) != (p == 2 && reply)) {
		*reason = CT_L4R_KIND_MISMATCH;
		return CT_VERDICT_INVALID;
	}
	*reason = CT_L4R_OK;
	switch (l->state) {
	case CT_L4S_UDP_UNREPLIED:
		if (reply)
			l->state = CT_L4S_UDP_REPLIED;
		break;
	case CT_L4S_UDP_REPLIED:
		/* Linux: time_after(now, first + 2 s), modulo the clock's wrap */
		if ((int32_t)(now_ms - (l->created_ms + CT_L4_UDP_STREAM_MS)) > 0) {
			l->state = CT_L4S_UDP_ASSURED;
			l->flags |= CT_F_ASSURED;
		}
		break;
	case CT_L4S_ICMP_UNREPLIED:
		if (reply)
			l->state = CT_L4S_ICMP_REPLIED;
		break;
	case CT_L4S_GENERIC_UNREPLIED:
		if (reply)
			l->state = CT_L4S_GENERIC_REPLIED;
		break;
	default: /* UDP_ASSURED, ICMP_REPLIED, GENERIC_REPLIED: final */
		break;
	}
	if (reply)
		l->flags |= CT_L4_F_SEEN_REPLY;
	return CT_VERDICT_ACCEPT;
}
