/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Default per-state timeouts in milliseconds (a designated-initializer array indexed by enum
 * ct_state, each value with its source), the default tracker configuration, and the name/parse helpers of the enums
 * declared in ct_tcp.h (generated from its X-macros, so names and enums cannot disagree).
 */
#include <errno.h>
#include <stddef.h>

#include "ct_tcp.h"

/*
 * Sources: Linux net/netfilter/nf_conntrack_proto_tcp.c, tcp_timeouts[] (v6.x), and RFC 9293.
 * The only deliberate difference from Linux is TIME_WAIT: Linux uses 2 min; RFC 9293 3.4.2 sets
 * MSL = 2 min and TIME-WAIT = 2 * MSL, so a 5-tuple is not reused by a new flow before the old
 * connection's duplicates have died (RFC 9293 3.6.1, RFC 1337).
 */
#define S(x) ((x)*1000u) /* seconds in ms */
#define CT_TCP_TIMEOUTS_INIT                                                                       \
	{                                                                                          \
		.ms = {                                                                            \
		        [CT_S_NONE] = S(30),            /* no Linux timer; short, like CLOSE */    \
		        [CT_S_SYN_SENT] = S(120),       /* Linux: 2 MINS */                        \
		        [CT_S_SYN_RECV] = S(60),        /* Linux: 60 SECS */                       \
		        [CT_S_ESTABLISHED] = S(432000), /* Linux: 5 DAYS */                        \
		        [CT_S_FIN_WAIT] = S(120),       /* Linux: 2 MINS */                        \
		        [CT_S_CLOSE_WAIT] = S(60),      /* Linux: 60 SECS */                       \
		        [CT_S_LAST_ACK] = S(30),        /* Linux: 30 SECS */                       \
		        [CT_S_TIME_WAIT] = S(2 * 120),  /* RFC 9293: 2 * MSL, MSL = 120 s */       \
		        [CT_S_CLOSE] = S(10),           /* Linux: 10 SECS */                       \
		        [CT_S_SYN_SENT2] = S(120),      /* Linux: 2 MINS */                        \
		},                                                                                 \
	}

const struct ct_tcp_timeouts ct_tcp_timeouts_default = CT_TCP_TIMEOUTS_INIT;

const struct ct_tcp_conf ct_tcp_conf_default = {
        .loose = true,    /* Linux nf_conntrack_tcp_loose = 1 */
        .liberal = false, /* Linux nf_conntrack_tcp_be_liberal = 0 */
        .predict = true,
        .timeouts = CT_TCP_TIMEOUTS_INIT,
};

static const char *const tcp_state_names[CT_TCP_STATE_MAX] = {
#define X(e, s) [CT_TCP_##e] = s,
        CT_TCP_STATES(X)
#undef X
};

static const char *const state_names[CT_S_MAX] = {
#define X(e, s) [CT_S_##e] = s,
        CT_STATES(X)
#undef X
};

static const char *const reason_names[CT_R_MAX] = {
#define X(e, n, h) [CT_R_##e] = n,
        CT_TCP_REASONS(X)
#undef X
};

static const char *const reason_helps[CT_R_MAX] = {
#define X(e, n, h) [CT_R_##e] = h,
        CT_TCP_REASONS(X)
#undef X
};

const char *
ct_tcp_state_name(unsigned int s)
{
	return s < CT_TCP_STATE_MAX ? tcp_state_names[s] : "?";
}

const char *
ct_state_name(unsigned int s)
{
	return s < CT_S_MAX ? state_names[s] : "?";
}

const char *
ct_tcp_reason_name(unsigned int r)
{
	return r < CT_R_MAX ? reason_names[r] : "?";
}

const char *
ct_tcp_reason_help(unsigned int r)
{
	return r < CT_R_MAX ? reason_helps[r] : "?";
}

int
ct_state_parse(const char *name)
{
	unsigned int i, k;

	if (name == NULL)
		return -EINVAL;
	for (i = 0; i < CT_S_MAX; i++) {
		const char *s = state_names[i];

		for (k = 0; s[k] != '\0' && name[k] != '\0'; k++) {
			char a = name[k] == '-' ? '_' : name[k];

			if ((a | 0x20) != (s[k] | 0x20) || (a == '_') != (s[k] == '_'))
				break;
		}
		if (s[k] == '\0' && name[k] == '\0')
			return (int)i;
	}
	return -EINVAL;
}

int
ct_state_format_names(char *buf, unsigned long size)
{
	unsigned long off = 0;

	for (unsigned int s = CT_S_NONE + 1; s < CT_S_MAX; s++) {
		/* i = -1: the space before every name but the first */
		for (int i = s == CT_S_NONE + 1 ? 0 : -1; i < 0 || state_names[s][i] != '\0'; i++) {
			char c = i < 0 ? ' ' : state_names[s][i];

			if (off + 1 < size)
				buf[off] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
			off++;
		}
	}
	if (size > 0)
		buf[off < size ? off : size - 1] = '\0';
	return (int)off;
}
