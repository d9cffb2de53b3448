/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Stub control operations (the sf_* functions of app/synfin/synfin.h that the command line
 * calls) for testing app/synfin/cmdline*.c without EAL or ports: each records its name and
 * arguments in cli_last, prints one line, and returns cli_last.ret. Used by test_cli.c
 * (assertions on cli_last) and test/fuzz/fuzz_cli.c. Not thread-safe.
 */
#ifndef CLI_STUBS_H
#define CLI_STUBS_H

#include <stdint.h>

#include "ct_parse.h"

/** What the last stub operation was called with. */
struct cli_stub_log {
	char op[32];
	int state;
	uint32_t limit;
	uint32_t seconds; /**< set_stats_period */
	uint32_t ms;      /**< set_timeout */
	unsigned int port;
	char state_name[64];
	struct ct_flow_key key;
	unsigned int calls;
	int ret; /**< what the next operation returns */
};

extern struct cli_stub_log cli_last;

#endif /* CLI_STUBS_H */
