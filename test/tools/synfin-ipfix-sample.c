/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin-ipfix-sample: encodes a fixed set of flow-end records (IPv4 TCP, IPv6 TCP, UDP, ICMP
 * echo, with known counters) with lib/export's IPFIX encoder, sends the messages as UDP
 * datagrams to HOST:PORT (an IPv6 HOST in brackets; the templates and the first two records in
 * the first message, then one record a message) and prints each record as one line
 * `proto src sport dst dport pkts_orig bytes_orig pkts_reply bytes_reply` (ICMP: sport 0,
 * dport type << 8 | code, as the record carries them), for test/e2e/test_ipfix_nfcapd.py to
 * compare with what a collector decoded. No DPDK.
 *
 * Usage: synfin-ipfix-sample HOST:PORT
 */

#include <arpa/inet.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ct_ipfix.h"

#define T0_MS 1700000000000ull

struct sample {
	uint8_t proto, family;
	const char *src, *dst;
	uint16_t sport, dport;
	uint8_t icmp_type, icmp_code;
	uint64_t pkts[2], bytes[2];
};

static const struct sample samples[] = {
        {IPPROTO_TCP, 4, "10.0.0.1", "10.0.0.2", 40000, 80, 0, 0, {12, 10}, {2345, 5000000000}},
        {IPPROTO_TCP, 6, "2001:db8::1", "2001:db8::2", 40001, 443, 0, 0, {7, 5}, {900, 3000}},
        {IPPROTO_UDP, 4, "192.0.2.1", "192.0.2.53", 5353, 53, 0, 0, {2, 2}, {140, 300}},
        {IPPROTO_ICMP, 4, "10.0.0.1", "10.0.0.9", 0, 0, 8, 0, {3, 3}, {252, 252}},
};

#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

/* The export record of sample @p i. */
static int
record(unsigned int i, struct ct_export_flow *e)
{
	const struct sample *s = &samples[i];
	int af = s->family == 6 ? AF_INET6 : AF_INET;

	memset(e, 0, sizeof(*e));
	e->fi.proto = s->proto;
	e->fi.family = s->family;
	e->fi.sport = s->sport;
	e->fi.dport = s->dport;
	e->fi.icmp_type = s->icmp_type;
	e->fi.icmp_code = s->icmp_code;
	for (unsigned int d = 0; d < CT_DIR_MAX; d++) {
		e->fi.pkts[d] = s->pkts[d];
		e->fi.bytes[d] = s->bytes[d];
	}
	if (inet_pton(af, s->src, e->addr[CT_DIR_ORIG]) != 1 ||
	    inet_pton(af, s->dst, e->addr[CT_DIR_REPLY]) != 1)
		return -1;
	e->first_ms = T0_MS + i * 1000;
	e->last_ms = e->first_ms + 500;
	if (s->proto == IPPROTO_TCP) {
		e->tcp_flags[CT_DIR_ORIG] = 0x1b; /* FIN SYN PSH ACK */
		e->tcp_flags[CT_DIR_REPLY] = 0x1b;
	}
	e->end_reason = CT_END_CLOSED;
	return 0;
}

static void
print_record(const struct sample *s)
{
	unsigned int sport = s->sport, dport = s->dport;

	if (ct_report_is_icmp(s->proto)) {
		sport = 0;
		dport = (unsigned int)s->icmp_type << 8 | s->icmp_code;
	}
	printf("%u %s %u %s %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", s->proto, s->src,
	       sport, s->dst, dport, s->pkts[CT_DIR_ORIG], s->bytes[CT_DIR_ORIG],
	       s->pkts[CT_DIR_REPLY], s->bytes[CT_DIR_REPLY]);
}

/* A UDP socket connected to HOST:PORT, or -1. */
static int
open_socket(const char *arg)
{
	char host[256];
	const char *colon = strrchr(arg, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai;
	size_t n;
	int fd;

	if (colon == NULL || colon == arg)
		return -1;
	n = (size_t)(colon - arg);
	if (arg[0] == '[' && colon[-1] == ']') {
		arg++;
		n -= 2;
	}
	if (n >= sizeof(host))
		return -1;
	memcpy(host, arg, n);
	host[n] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int
send_message(int fd, struct ct_ipfix *x)
{
	const uint8_t *m;
	size_t n = ct_ipfix_finish(x, &m);

	if (n == 0)
		return 0;
	return send(fd, m, n, 0) == (ssize_t)n ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static struct ct_ipfix x;
	uint32_t now = (uint32_t)time(NULL);
	struct ct_export_flow e;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s HOST:PORT\n", argv[0]);
		return 2;
	}
	fd = open_socket(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot reach %s\n", argv[0], argv[1]);
		return 1;
	}
	ct_ipfix_init(&x, 1);
	for (unsigned int i = 0; i < NSAMPLES; i++) {
		/* the templates and two records, then one record a message: sequence numbers 0, 2, 3 */
		if ((i == 0 && ct_ipfix_add_templates(&x, now) != 0) || record(i, &e) != 0 ||
		    ct_ipfix_add_flow(&x, &e, now) != 0) {
			fprintf(stderr, "%s: cannot encode record %u\n", argv[0], i);
			close(fd);
			return 1;
		}
		print_record(&samples[i]);
		if (i >= 1 && send_message(fd, &x) != 0) {
			perror("send");
			close(fd);
			return 1;
		}
	}
	close(fd);
	return 0;
}
