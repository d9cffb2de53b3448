#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Instructions per packet of the tracker, counted by callgrind (exact and repeatable, whatever
# else the machine does): runs synfin-bench twice under `valgrind --tool=callgrind
# --toggle-collect=run_batch` (its timed loop: ct_worker_process_burst, ct_worker_tick and the
# verdict bookkeeping; never inlined) with N and 2N packets, and prints the difference divided
# by N, so the warm-up and start-up cancel out.
#
# Usage: bench/instr.sh [-b BUILD_DIR] [-n PACKETS] -- WORKLOAD_OPTIONS...
#   e.g. bench/instr.sh -b build -- --workload lifecycle --concurrent 100000
# Prints: INSTR instr_per_pkt=N
set -eu
BUILD=build
N=1000000
while getopts b:n: o; do
	case $o in
	b) BUILD=$OPTARG ;;
	n) N=$OPTARG ;;
	*) echo "usage: $0 [-b BUILD_DIR] [-n PACKETS] -- WORKLOAD_OPTIONS..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
BIN=$BUILD/bench/synfin-bench
[ -x "$BIN" ] || { echo "$BIN not built" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count() { # PACKETS WORKLOAD_OPTIONS... -> instructions collected inside run_batch
	n=$1
	shift
	valgrind --tool=callgrind --toggle-collect='run_batch*' --callgrind-out-file="$tmp/cg.out" \
		"$BIN" -l 0 --no-pci --no-shconf --file-prefix instr$$ --log-level=error --no-huge \
		-m 2048 -- "$@" --packets "$n" 2>&1 |
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
a=$(count "$N" "$@")
b=$(count "$((2 * N))" "$@")
[ -n "$a" ] && [ -n "$b" ] || { echo "callgrind gave no count" >&2; exit 1; }
echo "INSTR instr_per_pkt=$(((b - a) / N))"
