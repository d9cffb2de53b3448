/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The .scn loader and runner (tl_scenario.h): a file is read line by line, split into tokens
 * ('#' starts a comment), "scenario" and "conf" lines set up a scenario, every other line is a
 * step (a segment, "->", then the expected endpoint states, conntrack state, verdict and
 * reason) or an "end" line (the record of the flow that ended at the step before it); the runner
 * replays the steps through the FSM and lib/history and compares.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tl_scenario.h"

static void __attribute__((format(printf, 3, 4)))
scn_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static int
scn_u32(const char *s, uint32_t *v)
{
	char *end;
	unsigned long long x = strtoull(s, &end, 0);

	if (*s == '\0' || *end != '\0' || x > 0xffffffffULL)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int
scn_flags(const char *s, uint8_t *f)
{
	*f = 0;
	if (strcmp(s, ".") == 0)
		return 0;
	for (; *s != '\0'; s++) {
		switch (*s) {
		case 'F':
			*f |= CT_TCPF_FIN;
			break;
		case 'S':
			*f |= CT_TCPF_SYN;
			break;
		case 'R':
			*f |= CT_TCPF_RST;
			break;
		case 'P':
			*f |= CT_TCPF_PSH;
			break;
		case 'A':
			*f |= CT_TCPF_ACK;
			break;
		case 'U':
			*f |= CT_TCPF_URG;
			break;
		case 'E':
			*f |= CT_TCPF_ECE;
			break;
		case 'W':
			*f |= CT_TCPF_CWR;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

static int
scn_tcp_state(const char *s)
{
	unsigned int i;

	if (strcmp(s, "-") == 0)
		return -1;
	for (i = 0; i < CT_TCP_STATE_MAX; i++)
		if (strcasecmp(s, ct_tcp_state_name(i)) == 0)
			return (int)i;
	return -2;
}

static int
scn_verdict(const char *s)
{
	static const char *const names[CT_VERDICT_MAX] = {"ACCEPT", "INVALID", "NEW", "REOPEN",
	                                                  "DELETE"};
	unsigned int i;

	for (i = 0; i < CT_VERDICT_MAX; i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
scn_verdict_name(int v)
{
	static const char *const names[CT_VERDICT_MAX] = {"ACCEPT", "INVALID", "NEW", "REOPEN",
	                                                  "DELETE"};

	return v >= 0 && v < CT_VERDICT_MAX ? names[v] : "?";
}

static int
scn_reason(const char *s)
{
	unsigned int i;

	for (i = 0; i < CT_R_MAX; i++)
		if (strcmp(s, ct_tcp_reason_name(i)) == 0)
			return (int)i;
	return -1;
}

/* The segment half of a step line: tokens 2.. up to "->". @return the arrow's index, or -1. */
static int
scn_parse_seg(char **tok, int ntok, struct scn_step *st)
{
	int i, have_seq = 0;
	uint32_t v;

	for (i = 2; i < ntok && strcmp(tok[i], "->") != 0; i++) {
		char *k = tok[i], *val = strchr(k, '=');

		if (strcmp(k, "sackok") == 0) {
			st->seg.opts |= CT_TCPO_SACK_PERM;
			continue;
		}
		if (val == NULL)
			return -1;
		*val++ = '\0';
		if (strcmp(k, "ts") == 0) {
			char *c = strchr(val, ',');

			if (c == NULL)
				return -1;
			*c++ = '\0';
			if (scn_u32(val, &st->seg.tsval) != 0 || scn_u32(c, &st->tsecr) != 0)
				return -1;
			st->seg.opts |= CT_TCPO_TS;
			continue;
		}
		if (scn_u32(val, &v) != 0)
			return -1;
		if (strcmp(k, "seq") == 0) {
			st->seg.seq = v;
			have_seq = 1;
		} else if (strcmp(k, "ack") == 0) {
			st->seg.ack = v;
		} else if (strcmp(k, "len") == 0 && v <= 65535) {
			st->seg.len = (uint16_t)v;
		} else if (strcmp(k, "win") == 0 && v <= 65535) {
			st->seg.win = (uint16_t)v;
		} else if (strcmp(k, "wscale") == 0 && v <= 255) {
			st->seg.wscale = (uint8_t)v;
			st->seg.opts |= CT_TCPO_WSCALE;
		} else if (strcmp(k, "mss") == 0 && v <= 65535) {
			st->mss = (uint16_t)v;
			st->seg.opts |= CT_TCPO_MSS;
		} else {
			return -1;
		}
	}
	return have_seq ? i : -1;
}

/* The expectation half of a step line: tokens after the arrow. @return 0 or -1. */
static int
scn_parse_want(char **tok, int ntok, int arrow, struct scn_step *st)
{
	int i;

	if (ntok < arrow + 5)
		return -1;
	st->want_ep[0] = scn_tcp_state(tok[arrow + 1]);
	st->want_ep[1] = scn_tcp_state(tok[arrow + 2]);
	st->want_ct = strcmp(tok[arrow + 3], "-") == 0 ? -1 : ct_state_parse(tok[arrow + 3]);
	st->want_verdict = scn_verdict(tok[arrow + 4]);
	if (st->want_ep[0] < -1 || st->want_ep[1] < -1 || st->want_ct < -1 ||
	    (st->want_ct == -1 && strcmp(tok[arrow + 3], "-") != 0) || st->want_verdict < 0)
		return -1;
	st->want_reason = st->want_verdict == CT_VERDICT_INVALID ? -1 : CT_R_OK;
	for (i = arrow + 5; i < ntok; i++) {
		if (strncmp(tok[i], "assured=", 8) == 0 && (tok[i][8] == '0' || tok[i][8] == '1') &&
		    tok[i][9] == '\0') {
			st->want_assured = tok[i][8] - '0';
		} else if (strncmp(tok[i], "picked=", 7) == 0 &&
		           (tok[i][7] == '0' || tok[i][7] == '1') && tok[i][8] == '\0') {
			st->want_picked = tok[i][7] - '0';
		} else if (st->want_verdict == CT_VERDICT_INVALID && st->want_reason == -1 &&
		           scn_reason(tok[i]) > 0) {
			st->want_reason = scn_reason(tok[i]);
		} else {
			return -1;
		}
	}
	return 0;
}

/* Parse one step line (already split into tokens). */
static int
scn_parse_step(char **tok, int ntok, int line, struct scn_step *st, char *err, size_t errlen)
{
	int arrow;

	memset(st, 0, sizeof(*st));
	st->line = line;
	st->seg.win = 65535;
	st->want_assured = -1;
	st->want_picked = -1;
	st->want_reason = CT_R_OK;
	if (strcmp(tok[0], "C>") == 0)
		st->ep = 0;
	else if (strcmp(tok[0], "S>") == 0)
		st->ep = 1;
	else
		goto bad;
	if (ntok < 2 || scn_flags(tok[1], &st->seg.flags) != 0)
		goto bad;
	arrow = scn_parse_seg(tok, ntok, st);
	if (arrow < 0 || scn_parse_want(tok, ntok, arrow, st) != 0)
		goto bad;
	if (st->want_reason == -1) {
		scn_err(err, errlen, "line %d: INVALID needs a reason", line);
		return -1;
	}
	return 0;
bad:
	scn_err(err, errlen, "line %d: cannot parse step", line);
	return -1;
}

/* An "end <history> <conn_state> <reason>" line after step @p after. @return 0 or -1. */
static int
scn_parse_end(char **tok, int ntok, int line, unsigned int after, struct scn_end *e, char *err,
              size_t errlen)
{
	unsigned int i, seen = 0;
	const char *l;

	memset(e, 0, sizeof(*e));
	e->line = line;
	e->after = after;
	e->conn_state = -1;
	e->reason = -1;
	if (ntok != 4 || strlen(tok[1]) > CT_HISTORY_LEN)
		goto bad;
	for (i = 0; tok[1][i] != '\0'; i++) {
		char c = tok[1][i];
		unsigned int bit;

		l = strchr(CT_HISTORY_LETTERS, c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
		if (l == NULL)
			goto bad;
		bit = 1u << ((unsigned int)(l - CT_HISTORY_LETTERS) + (c >= 'a' ? CT_H_MAX : 0));
		if (seen & bit)
			goto bad; /* each letter at most once per direction */
		seen |= bit;
	}
	strcpy(e->history, tok[1]);
	for (i = 0; i < CT_CS_MAX; i++)
		if (strcmp(tok[2], ct_conn_state_name(i)) == 0)
			e->conn_state = (int)i;
	for (i = 0; i < CT_END_MAX; i++)
		if (strcmp(tok[3], ct_end_reason_name(i)) == 0)
			e->reason = (int)i;
	if (e->conn_state < 0 || (e->reason != CT_END_CLOSED && e->reason != CT_END_REOPENED &&
	                          e->reason != CT_END_SHUTDOWN))
		goto bad;
	return 0;
bad:
	scn_err(err, errlen,
	        "line %d: cannot parse end line (end <history> <conn_state> "
	        "closed|reopened|shutdown)",
	        line);
	return -1;
}

/*
 * The flows the verdicts of @p s create and end, against its end lines: one after each DELETE
 * (closed) and REOPEN (reopened) step, and one after the last step for a flow still open then
 * (shutdown), in that order. @return 0 or -1.
 */
static int
scn_check_ends(const struct scn *s, const char *path, char *err, size_t errlen)
{
	unsigned int i, k = 0, want_after[SCN_MAX_STEPS + 1];
	int have = 0, want_reason[SCN_MAX_STEPS + 1];

	for (i = 0; i < s->n; i++) {
		int v = s->step[i].want_verdict;

		if (v == CT_VERDICT_NEW)
			have = 1;
		if (v == CT_VERDICT_DELETE || v == CT_VERDICT_REOPEN) {
			want_after[k] = i;
			want_reason[k++] = v == CT_VERDICT_DELETE ? CT_END_CLOSED : CT_END_REOPENED;
			have = v == CT_VERDICT_REOPEN;
		}
	}
	if (have && s->n != 0) {
		want_after[k] = s->n - 1;
		want_reason[k++] = CT_END_SHUTDOWN;
	}
	for (i = 0; i < k || i < s->nend; i++) {
		if (i < k && i < s->nend && s->end[i].after == want_after[i] &&
		    s->end[i].reason == want_reason[i])
			continue;
		if (i < k)
			scn_err(err, errlen,
			        "%s: scenario %s: flow %u ends after line %d: want "
			        "'end <history> <conn_state> %s' there",
			        path, s->name, i + 1, s->step[want_after[i]].line,
			        ct_end_reason_name((unsigned int)want_reason[i]));
		else
			scn_err(err, errlen, "%s:%d: scenario %s has %u flow(s): no flow ends here",
			        path, s->end[i].line, s->name, k);
		return -1;
	}
	return 0;
}

static int
scn_parse_conf(char **tok, int ntok, int line, struct ct_tcp_conf *conf, char *err, size_t errlen)
{
	int i;

	for (i = 1; i < ntok; i++) {
		if (strcmp(tok[i], "loose=0") == 0)
			conf->loose = false;
		else if (strcmp(tok[i], "loose=1") == 0)
			conf->loose = true;
		else if (strcmp(tok[i], "liberal=0") == 0)
			conf->liberal = false;
		else if (strcmp(tok[i], "liberal=1") == 0)
			conf->liberal = true;
		else {
			scn_err(err, errlen, "line %d: unknown conf '%s'", line, tok[i]);
			return -1;
		}
	}
	return 0;
}

int
scn_load(const char *path, struct scn_file *f, char *err, size_t errlen)
{
	char buf[512];
	FILE *fp = fopen(path, "r");
	struct scn *cur = NULL;
	int line = 0;

	memset(f, 0, sizeof(*f));
	if (fp == NULL) {
		scn_err(err, errlen, "%s: cannot open", path);
		return -1;
	}
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		char *tok[32], *p, *hash = strchr(buf, '#');
		int ntok = 0;

		line++;
		if (hash != NULL)
			*hash = '\0';
		for (p = strtok(buf, " \t\r\n"); p != NULL && ntok < 32;
		     p = strtok(NULL, " \t\r\n"))
			tok[ntok++] = p;
		if (ntok == 0)
			continue;
		if (strcmp(tok[0], "scenario") == 0) {
			if (cur != NULL && scn_check_ends(cur, path, err, errlen) != 0)
				goto fail;
			if (ntok != 2 || f->n == SCN_MAX_PER_FILE ||
			    strlen(tok[1]) >= SCN_NAME_LEN) {
				scn_err(err, errlen, "%s:%d: bad scenario line", path, line);
				goto fail;
			}
			cur = &f->scn[f->n++];
			strcpy(cur->name, tok[1]);
			cur->conf = ct_tcp_conf_default;
			continue;
		}
		if (cur == NULL) {
			scn_err(err, errlen, "%s:%d: step before 'scenario'", path, line);
			goto fail;
		}
		if (strcmp(tok[0], "conf") == 0) {
			if (cur->n != 0 || scn_parse_conf(tok, ntok, line, &cur->conf, err, errlen))
				goto fail;
			continue;
		}
		if (strcmp(tok[0], "end") == 0) {
			if (cur->n == 0 || cur->nend == SCN_MAX_ENDS) {
				scn_err(err, errlen, "%s:%d: end line before any step or too many",
				        path, line);
				goto fail;
			}
			if (scn_parse_end(tok, ntok, line, cur->n - 1, &cur->end[cur->nend], err,
			                  errlen) != 0)
				goto fail;
			cur->nend++;
			continue;
		}
		if (cur->n == SCN_MAX_STEPS) {
			scn_err(err, errlen, "%s:%d: too many steps", path, line);
			goto fail;
		}
		if (scn_parse_step(tok, ntok, line, &cur->step[cur->n], err, errlen) != 0)
			goto fail;
		cur->n++;
	}
	fclose(fp);
	if (cur != NULL && scn_check_ends(cur, path, err, errlen) != 0)
		return -1;
	return (int)f->n;
fail:
	fclose(fp);
	return -1;
}

/* The state after step @p st (endpoint states got_ep, conntrack got_ct) against its want. */
static int
scn_check(const struct scn_step *st, const struct ct_tcp *t, enum ct_verdict v,
          enum ct_tcp_reason r, const int *got_ep, int got_ct, char *err, size_t errlen)
{
	if ((int)v != st->want_verdict || (int)r != st->want_reason ||
	    got_ep[0] != st->want_ep[0] || got_ep[1] != st->want_ep[1] || got_ct != st->want_ct) {
		scn_err(err, errlen, "line %d: want %s %s %s %s %s, got %s %s %s %s %s", st->line,
		        st->want_ep[0] < 0 ? "-" : ct_tcp_state_name(st->want_ep[0]),
		        st->want_ep[1] < 0 ? "-" : ct_tcp_state_name(st->want_ep[1]),
		        st->want_ct < 0 ? "-" : ct_state_name(st->want_ct),
		        scn_verdict_name(st->want_verdict), ct_tcp_reason_name(st->want_reason),
		        got_ep[0] < 0 ? "-" : ct_tcp_state_name(got_ep[0]),
		        got_ep[1] < 0 ? "-" : ct_tcp_state_name(got_ep[1]),
		        got_ct < 0 ? "-" : ct_state_name(got_ct), scn_verdict_name(v),
		        ct_tcp_reason_name(r));
		return -1;
	}
	if (st->want_assured >= 0 && !!(t->flags & CT_F_ASSURED) != st->want_assured) {
		scn_err(err, errlen, "line %d: want assured=%d", st->line, st->want_assured);
		return -1;
	}
	if (st->want_picked >= 0 && !!(t->flags & CT_F_PICKED_UP) != st->want_picked) {
		scn_err(err, errlen, "line %d: want picked=%d", st->line, st->want_picked);
		return -1;
	}
	return 0;
}

/* Step @p st on the flow @p t (none yet unless *have), as a caller of the FSM would. */
static int
scn_step_run(const struct scn *s, const struct scn_step *st, struct ct_tcp *t, int *have,
             unsigned int *orig_ep, enum ct_verdict *v, enum ct_tcp_reason *r, char *err,
             size_t errlen)
{
	struct ct_tcp before = *t;

	if (!*have) {
		*v = ct_tcp_new(t, &s->conf, &st->seg, r);
		if (*v == CT_VERDICT_NEW) {
			*have = 1;
			*orig_ep = st->ep;
		} else if (memcmp(&before, t, sizeof(*t)) != 0) {
			scn_err(err, errlen, "line %d: INVALID ct_tcp_new wrote", st->line);
			return -1;
		}
		return 0;
	}
	*v = ct_tcp_track(t, &s->conf, st->ep == *orig_ep ? CT_DIR_ORIG : CT_DIR_REPLY, &st->seg,
	                  r);
	if (*v != CT_VERDICT_ACCEPT && memcmp(&before, t, sizeof(*t)) != 0) {
		scn_err(err, errlen, "line %d: %s verdict changed the flow", st->line,
		        scn_verdict_name(*v));
		return -1;
	}
	if (*v == CT_VERDICT_DELETE) {
		*have = 0; /* the caller deletes the flow; a later step starts anew */
		memset(t, 0, sizeof(*t));
	} else if (*v == CT_VERDICT_REOPEN) {
		enum ct_tcp_reason r2;

		if (ct_tcp_new(t, &s->conf, &st->seg, &r2) != CT_VERDICT_NEW) {
			scn_err(err, errlen, "line %d: REOPEN but ct_tcp_new refused", st->line);
			return -1;
		}
		*orig_ep = st->ep;
	}
	return 0;
}

/* The flow whose history is @p h ended after step @p i for @p reason: against end line *@p k. */
static int
scn_end_run(const struct scn *s, unsigned int *k, unsigned int i, const struct ct_history *h,
            enum ct_end_reason reason, char *err, size_t errlen)
{
	const struct scn_end *e;
	char got[CT_HISTORY_SIZE];
	enum ct_conn_state cs = ct_history_conn_state_tcp(h);

	ct_history_format(h, got, sizeof(got));
	if (*k >= s->nend) {
		scn_err(err, errlen, "line %d: a flow ends (%s %s %s), no end line left",
		        s->step[i].line, got, ct_conn_state_name(cs), ct_end_reason_name(reason));
		return -1;
	}
	e = &s->end[(*k)++];
	if (e->after != i || (int)reason != e->reason || strcmp(got, e->history) != 0 ||
	    (int)cs != e->conn_state) {
		scn_err(err, errlen,
		        "line %d: want end %s %s %s after line %d, got %s %s %s after line %d",
		        e->line, e->history, ct_conn_state_name((unsigned int)e->conn_state),
		        ct_end_reason_name((unsigned int)e->reason), s->step[e->after].line, got,
		        ct_conn_state_name(cs), ct_end_reason_name(reason), s->step[i].line);
		return -1;
	}
	return 0;
}

int
scn_run(const struct scn *s, char *err, size_t errlen)
{
	struct ct_tcp t;
	struct ct_history h;
	unsigned int i, k = 0, orig_ep = 0;
	int have = 0;

	memset(&t, 0, sizeof(t));
	memset(&h, 0, sizeof(h));
	for (i = 0; i < s->n; i++) {
		const struct scn_step *st = &s->step[i];
		unsigned int letters = ct_history_tcp_letters(st->seg.flags, st->seg.len);
		unsigned int old_orig = orig_ep;
		enum ct_tcp_reason r = CT_R_MAX;
		enum ct_verdict v;
		int got_ep[2] = {-1, -1}, got_ct = -1;

		if (scn_step_run(s, st, &t, &have, &orig_ep, &v, &r, err, errlen) != 0)
			return -1;
		/* The history as the worker keeps it: accepted segments only; a DELETE's RST on the
		 * flow it ends; a REOPEN's SYN on the new flow. */
		if (v == CT_VERDICT_ACCEPT || v == CT_VERDICT_DELETE)
			ct_history_add(&h, st->ep == old_orig ? CT_DIR_ORIG : CT_DIR_REPLY,
			               letters);
		if ((v == CT_VERDICT_DELETE &&
		     scn_end_run(s, &k, i, &h, CT_END_CLOSED, err, errlen) != 0) ||
		    (v == CT_VERDICT_REOPEN &&
		     scn_end_run(s, &k, i, &h, CT_END_REOPENED, err, errlen) != 0))
			return -1;
		if (v == CT_VERDICT_NEW || v == CT_VERDICT_REOPEN) {
			memset(&h, 0, sizeof(h));
			ct_history_add(&h, CT_DIR_ORIG, letters);
		}
		if (have) {
			got_ep[orig_ep] = t.tcp_state[CT_DIR_ORIG];
			got_ep[!orig_ep] = t.tcp_state[CT_DIR_REPLY];
			got_ct = t.state;
			if (t.state != ct_state_from_tcp((enum ct_tcp_state)t.tcp_state[0],
			                                 (enum ct_tcp_state)t.tcp_state[1])) {
				scn_err(err, errlen, "line %d: state %s != mapping of endpoints",
				        st->line, ct_state_name(t.state));
				return -1;
			}
		}
		if (scn_check(st, &t, v, r, got_ep, got_ct, err, errlen) != 0)
			return -1;
	}
	if (have && scn_end_run(s, &k, s->n - 1, &h, CT_END_SHUTDOWN, err, errlen) != 0)
		return -1;
	if (k != s->nend) {
		scn_err(err, errlen, "line %d: end line of no flow", s->end[k].line);
		return -1;
	}
	return 0;
}
