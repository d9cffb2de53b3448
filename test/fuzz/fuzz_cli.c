/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness of synfin's command line (app/synfin/cmdline*.c on librte_cmdline), with the
 * control operations stubbed (test/unit/cli_stubs.c): no EAL, no ports. The first input byte
 * picks the path, the rest is the text: bit 0 clear, the bytes go through cmdline_in() as keys
 * typed at the prompt (line editor, TAB completion, '?' help, history, the parser on each
 * newline); bit 0 set, they are split at newlines and each line runs through
 * sf_cli_line_exec() as --cmdline-file does. Checks the CLI's contract on every line: it
 * returns 0 (blank, comment, or a command that worked) or -EINVAL/-EIO, and the error count
 * moves exactly when it fails (each error printed its line); it reaches at most one operation,
 * and only when it is at most SF_CLI_LINE_MAX characters without NUL; nothing crashes, leaks or
 * reads out of bounds (ASan+UBSan). A `quit` is reset so the session continues.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmdline.h>

#include "cli_stubs.h"
#include "cmdline_priv.h"
#include "fuzz_check.h"

static struct cmdline *cl;

static void
session_new(void)
{
	if (cl != NULL)
		cmdline_free(cl);
	/* no fds: input comes through cmdline_in(), the editor's echo goes nowhere */
	cl = cmdline_new(sf_cli_ctx, SF_CLI_PROMPT, -1, -1);
	CHECK(cl != NULL);
	sf_cli.cl = cl;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sf_cli.out = fopen("/dev/null", "w");
	CHECK(sf_cli.out != NULL);
	session_new();
	return 0;
}

static void
run_line(const uint8_t *p, size_t n)
{
	unsigned int calls = cli_last.calls, errors = sf_cli.errors;
	int ret = sf_cli_line_exec(cl, (const char *)p, n);

	/* success and errors are told apart, and every error is counted (it printed a line) */
	CHECK(ret == 0 || ret == -EINVAL || ret == -EIO);
	CHECK((ret == 0) == (sf_cli.errors == errors));
	/* one line reaches at most one operation, and only a line the CLI accepts */
	CHECK(cli_last.calls - calls <= 1);
	if (cli_last.calls != calls)
		CHECK(n <= SF_CLI_LINE_MAX && memchr(p, '\0', n) == NULL);
	sf_cli.quit = false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i, start;

	if (size < 1)
		return 0;
	cli_last.ret = (data[0] & 2) ? -22 : 0; /* operations that fail (-EINVAL) or succeed */
	if ((data[0] & 1) == 0) {
		/* keys at the prompt; ^D on an empty line ends the session (cmdline_in < 0) */
		if (cmdline_in(cl, (const char *)data + 1, (int)(size - 1)) < 0)
			session_new();
		sf_cli.quit = false;
		return 0;
	}
	for (i = start = 1; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			run_line(data + start, i - start);
			start = i + 1;
		}
	}
	return 0;
}
