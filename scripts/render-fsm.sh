#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Draws docs/fsm.png from the TCP transition table itself (synfin-dot prints it as Graphviz dot),
# so the picture cannot disagree with lib/tcp/ct_tcp_fsm.c. With the default build dir this runs
#   build-x/app/synfin-dot/synfin-dot | dot -Tpng -o docs/fsm.png
# Usage: scripts/render-fsm.sh [BUILD_DIR]   (default build-x; it is set up if missing)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-x}
if [ ! -x "$B/app/synfin-dot/synfin-dot" ]; then
	[ -f "$B/build.ninja" ] || meson setup "$B" >/dev/null
	ninja -C "$B" app/synfin-dot/synfin-dot >/dev/null
fi
"$B"/app/synfin-dot/synfin-dot | dot -Tpng -o docs/fsm.png
