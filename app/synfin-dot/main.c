/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin-dot: prints the TCP transition table (lib/tcp) as a Graphviz dot graph on stdout, so
 * that the state diagram is drawn from the table itself: scripts/render-fsm.sh pipes it into
 * `dot -Tpng -o docs/fsm.png`. No options; exit status 0 on success, 1 on a write error.
 */
#include <stdio.h>

#include "ct_tcp.h"

int
main(void)
{
	static char buf[1 << 16];
	int n = ct_tcp_fsm_dot(buf, sizeof(buf));

	if (n < 0 || (unsigned long)n >= sizeof(buf)) {
		fprintf(stderr, "synfin-dot: graph does not fit (%d bytes)\n", n);
		return 1;
	}
	if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout) != 0)
		return 1;
	return 0;
}
