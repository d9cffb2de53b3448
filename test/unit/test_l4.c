/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the L4 tracker (lib/l4) against Linux nf_conntrack's semantics: a UDP flow is
 * UNREPLIED until the reply direction, replied but unassured until a packet more than 2 s after
 * the first, then ASSURED with the stream timeout; an ICMP echo starts only from a request and
 * is replied by the reply; other protocols start from any packet; an INVALID packet leaves the
 * record unchanged; the class numbering, names, timeouts and embryonic mask come from one
 * X-macro each. No EAL.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ct_l4.h"

static struct ct_l4 l;
static enum ct_l4_reason why;

static void
start(unsigned int kind, uint32_t now)
{
	struct ct_l4_seg s = {.icmp_type = 8, .icmp_code = 0};

	cr_assert_eq(ct_l4_new(&l, kind, &s, now, &why), CT_VERDICT_NEW);
	cr_assert_eq(why, CT_L4R_OK);
}

static void
accept(unsigned int kind, enum ct_dir dir, uint32_t now, unsigned int want)
{
	cr_assert_eq(ct_l4_track(&l, kind, dir, now, &why), CT_VERDICT_ACCEPT, "%s",
	             ct_l4_reason_name(why));
	cr_assert_eq(l.state, want, "state %s, want %s", ct_class_name(l.state),
	             ct_class_name(want));
}

Test(l4, udp_query_and_answer_is_replied_not_assured)
{
	start(CT_L4K_UDP, 1000);
	cr_assert_eq(l.state, CT_L4S_UDP_UNREPLIED);
	accept(CT_L4K_UDP, CT_DIR_ORIG, 1010, CT_L4S_UDP_UNREPLIED); /* a retransmitted query */
	accept(CT_L4K_UDP, CT_DIR_REPLY, 1020, CT_L4S_UDP_REPLIED);
	cr_assert(l.flags & CT_L4_F_SEEN_REPLY);
	cr_assert_not(l.flags & CT_F_ASSURED);
	cr_assert_eq(ct_l4_timeout_ms(&l, &ct_l4_conf_default), 30000);
}

Test(l4, udp_within_two_seconds_stays_unassured)
{
	start(CT_L4K_UDP, 5000);
	accept(CT_L4K_UDP, CT_DIR_REPLY, 5100, CT_L4S_UDP_REPLIED);
	accept(CT_L4K_UDP, CT_DIR_ORIG, 7000, CT_L4S_UDP_REPLIED); /* exactly 2 s: not after */
	accept(CT_L4K_UDP, CT_DIR_REPLY, 7001, CT_L4S_UDP_ASSURED);
	cr_assert(l.flags & CT_F_ASSURED);
	cr_assert_eq(ct_l4_timeout_ms(&l, &ct_l4_conf_default), 120000);
	accept(CT_L4K_UDP, CT_DIR_ORIG, 9000, CT_L4S_UDP_ASSURED);
}

Test(l4, udp_one_way_for_long_stays_unreplied)
{
	start(CT_L4K_UDP, 0);
	for (uint32_t t = 1000; t < 20000; t += 1000)
		accept(CT_L4K_UDP, CT_DIR_ORIG, t, CT_L4S_UDP_UNREPLIED);
	cr_assert_not(l.flags & (CT_F_ASSURED | CT_L4_F_SEEN_REPLY));
}

Test(l4, udp_late_first_reply_then_one_more_packet_assures)
{
	start(CT_L4K_UDP, 0);
	accept(CT_L4K_UDP, CT_DIR_REPLY, 5000, CT_L4S_UDP_REPLIED); /* the reply itself: no */
	accept(CT_L4K_UDP, CT_DIR_ORIG, 5001, CT_L4S_UDP_ASSURED);
}

Test(l4, udp_stream_rule_survives_clock_wrap)
{
	start(CT_L4K_UDP, UINT32_MAX - 500);
	accept(CT_L4K_UDP, CT_DIR_REPLY, UINT32_MAX - 400, CT_L4S_UDP_REPLIED);
	accept(CT_L4K_UDP, CT_DIR_ORIG, 1000, CT_L4S_UDP_REPLIED); /* 1.5 s later */
	accept(CT_L4K_UDP, CT_DIR_ORIG, 1600, CT_L4S_UDP_ASSURED);
}

Test(l4, icmp_echo_request_then_reply)
{
	start(CT_L4K_ICMP_REQUEST, 0);
	cr_assert_eq(l.state, CT_L4S_ICMP_UNREPLIED);
	cr_assert_eq(l.icmp_type, 8);
	accept(CT_L4K_ICMP_REQUEST, CT_DIR_ORIG, 10, CT_L4S_ICMP_UNREPLIED);
	accept(CT_L4K_ICMP_REPLY, CT_DIR_REPLY, 20, CT_L4S_ICMP_REPLIED);
	accept(CT_L4K_ICMP_REQUEST, CT_DIR_ORIG, 5000, CT_L4S_ICMP_REPLIED);
	cr_assert_not(l.flags & CT_F_ASSURED, "Linux never assures ICMP");
	cr_assert_eq(ct_l4_timeout_ms(&l, &ct_l4_conf_default), 30000);
}

Test(l4, icmp_reply_or_error_never_starts_a_flow)
{
	struct ct_l4_seg s = {0};
	struct ct_l4 before;

	memset(&l, 0x5a, sizeof(l));
	before = l;
	cr_assert_eq(ct_l4_new(&l, CT_L4K_ICMP_REPLY, &s, 0, &why), CT_VERDICT_INVALID);
	cr_assert_eq(why, CT_L4R_ICMP_REPLY_NO_FLOW);
	cr_assert_eq(ct_l4_new(&l, CT_L4K_ICMP_ERROR, &s, 0, &why), CT_VERDICT_INVALID);
	cr_assert_eq(why, CT_L4R_ICMP_ERROR_UNTRACKED);
	cr_assert_eq(ct_l4_new(&l, CT_L4K_TCP, &s, 0, &why), CT_VERDICT_INVALID);
	cr_assert_eq(why, CT_L4R_KIND_MISMATCH);
	cr_assert_eq(memcmp(&l, &before, sizeof(l)), 0);
}

Test(l4, generic_first_packet_either_way_then_reply)
{
	start(CT_L4K_OTHER, 0);
	cr_assert_eq(l.state, CT_L4S_GENERIC_UNREPLIED);
	accept(CT_L4K_OTHER, CT_DIR_ORIG, 1, CT_L4S_GENERIC_UNREPLIED);
	accept(CT_L4K_OTHER, CT_DIR_REPLY, 2, CT_L4S_GENERIC_REPLIED);
	cr_assert_eq(ct_l4_timeout_ms(&l, &ct_l4_conf_default), 600000);
}

Test(l4, a_packet_of_another_kind_is_invalid_and_changes_nothing)
{
	static const unsigned int kinds[][2] = {
	        {CT_L4K_UDP, CT_L4K_ICMP_REQUEST}, {CT_L4K_UDP, CT_L4K_OTHER},
	        {CT_L4K_UDP, CT_L4K_TCP},          {CT_L4K_ICMP_REQUEST, CT_L4K_UDP},
	        {CT_L4K_OTHER, CT_L4K_UDP},        {CT_L4K_OTHER, CT_L4K_ICMP_ERROR},
	};

	for (unsigned int i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct ct_l4 before;

		start(kinds[i][0], 0);
		before = l;
		cr_assert_eq(ct_l4_track(&l, kinds[i][1], CT_DIR_REPLY, 1, &why),
		             CT_VERDICT_INVALID);
		cr_assert_eq(why, CT_L4R_KIND_MISMATCH);
		cr_assert_eq(memcmp(&l, &before, sizeof(l)), 0);
	}
	/* an echo request from the responder's side, or a reply from the asker's */
	start(CT_L4K_ICMP_REQUEST, 0);
	cr_assert_eq(ct_l4_track(&l, CT_L4K_ICMP_REQUEST, CT_DIR_REPLY, 1, &why),
	             CT_VERDICT_INVALID);
	cr_assert_eq(ct_l4_track(&l, CT_L4K_ICMP_REPLY, CT_DIR_ORIG, 1, &why), CT_VERDICT_INVALID);
	cr_assert_eq(l.state, CT_L4S_ICMP_UNREPLIED);
}

Test(l4, a_record_in_a_tcp_state_is_unexpected)
{
	memset(&l, 0, sizeof(l));
	l.state = CT_S_ESTABLISHED;
	cr_assert_eq(ct_l4_track(&l, CT_L4K_UDP, CT_DIR_ORIG, 1, &why), CT_VERDICT_INVALID);
	cr_assert_eq(why, CT_L4R_L4_UNEXPECTED);
	l.state = CT_CLASS_MAX;
	cr_assert_eq(ct_l4_track(&l, CT_L4K_UDP, CT_DIR_ORIG, 1, &why), CT_VERDICT_INVALID);
	cr_assert_eq(ct_l4_timeout_ms(&l, &ct_l4_conf_default), 0);
}

Test(l4, classes_continue_the_conntrack_states)
{
	cr_assert_eq(CT_L4S_UDP_UNREPLIED, CT_S_MAX);
	cr_assert_str_eq(ct_class_name(CT_S_ESTABLISHED), "ESTABLISHED");
	cr_assert_str_eq(ct_class_name(CT_L4S_UDP_UNREPLIED), "UDP_UNREPLIED");
	cr_assert_str_eq(ct_class_name(CT_L4S_GENERIC_REPLIED), "GENERIC_REPLIED");
	cr_assert_str_eq(ct_class_name(CT_CLASS_MAX), "?");
	cr_assert_eq(ct_class_parse("udp-assured"), CT_L4S_UDP_ASSURED);
	cr_assert_eq(ct_class_parse("time_wait"), CT_S_TIME_WAIT);
	cr_assert_eq(ct_class_parse("udp"), -EINVAL);
	cr_assert_eq(ct_class_l4_timeout(CT_L4S_UDP_REPLIED), CT_L4T_UDP);
	cr_assert_eq(ct_class_l4_timeout(CT_L4S_UDP_ASSURED), CT_L4T_UDP_STREAM);
	cr_assert_eq(ct_class_l4_timeout(CT_S_SYN_SENT), -EINVAL);
	for (unsigned int c = CT_S_MAX; c < CT_CLASS_MAX; c++) {
		cr_assert(ct_class_is_l4(c));
		cr_assert_eq(ct_class_parse(ct_class_name(c)), (int)c);
		cr_assert_gt(strlen(ct_class_help(c)), 0);
	}
}

Test(l4, unassured_classes_are_embryonic)
{
	uint32_t m = ct_l4_embryonic_mask();

	cr_assert(m & 1u << CT_L4S_UDP_UNREPLIED);
	cr_assert(m & 1u << CT_L4S_UDP_REPLIED);
	cr_assert(m & 1u << CT_L4S_ICMP_UNREPLIED);
	cr_assert(m & 1u << CT_L4S_GENERIC_UNREPLIED);
	cr_assert_not(m & 1u << CT_L4S_UDP_ASSURED);
	cr_assert_not(m & 1u << CT_L4S_ICMP_REPLIED);
	cr_assert_not(m & 1u << CT_L4S_GENERIC_REPLIED);
	cr_assert_eq(m & ((1u << CT_S_MAX) - 1), 0, "TCP's are the worker's");
}

Test(l4, timeouts_have_linux_names_and_defaults)
{
	cr_assert_str_eq(ct_l4_timeout_name(CT_L4T_UDP), "udp");
	cr_assert_str_eq(ct_l4_timeout_name(CT_L4T_UDP_STREAM), "udp_stream");
	cr_assert_eq(ct_l4_timeout_parse("UDP-STREAM"), CT_L4T_UDP_STREAM);
	cr_assert_eq(ct_l4_timeout_parse("icmpv6"), -EINVAL);
	cr_assert_eq(ct_l4_conf_default.ms[CT_L4T_UDP], 30000);
	cr_assert_eq(ct_l4_conf_default.ms[CT_L4T_UDP_STREAM], 120000);
	cr_assert_eq(ct_l4_conf_default.ms[CT_L4T_ICMP], 30000);
	cr_assert_eq(ct_l4_conf_default.ms[CT_L4T_GENERIC], 600000);
	cr_assert_str_eq(ct_l4_reason_name(CT_L4R_ICMP_ERROR_UNTRACKED), "icmp_error_untracked");
	cr_assert_str_eq(ct_l4_kind_name(CT_L4K_ICMP_ERROR), "icmp_error");
	cr_assert_str_eq(ct_l4_kind_name(CT_L4K_MAX), "?");
}
