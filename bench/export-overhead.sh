#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# What flow-end records cost the tracker: synfin-bench on one workload with --export none,
# records, ring, json and ipfix, run alternately (none records ring json ipfix none ...) -r
# times each in one sitting, so that drift of the machine hits every mode alike. "records" keeps
# and builds the records with no consumer (the ring fills, the rest are dropped uncopied: its
# dropped count is expected): the worker's own part, apart from the ring's and the consumer's.
# The consumer thread (synfin's
# exporter: JSON lines to /dev/null, IPFIX datagrams to a loopback socket) runs on another core;
# the timed region is the worker's. Prints per mode the median Mpps, cycles per packet and the
# ratio to none, with -i the instructions per packet (callgrind, bench/instr.sh: exact), and
# whether every record reached the consumer.
#
# Usage: bench/export-overhead.sh [-b BUILD_DIR] [-r RUNS] [-n PACKETS] [-i] [-- WORKLOAD_OPTIONS]
#   default workload: --workload lifecycle --concurrent 100000 (one record per 8 packets, every
#   packet but one bringing a new history letter: the worst case for records)
# Prints one line per mode, e.g.
#   RESULT mode=json mpps=7.10 cycles_per_pkt=352 ratio=0.93 ipp=1002 dropped=0
# The machine needs 2 cores (the worker and the consumer).
set -eu
BUILD=build
RUNS=5
PKTS=20000000
INSTR=0
while getopts b:r:n:i o; do
	case $o in
	b) BUILD=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	n) PKTS=$OPTARG ;;
	i) INSTR=1 ;;
	*) sed -n '11,16p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || set -- --workload lifecycle --concurrent 100000
BIN=$BUILD/bench/synfin-bench
[ -x "$BIN" ] || { echo "$BIN not built" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
MODES="none records ring json ipfix"
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
i=0
while [ $i -lt "$RUNS" ]; do
	for m in $MODES; do
		"$BIN" -l 0-1 --no-huge --no-pci --no-shconf -m 2048 --log-level=error -- "$@" \
			--packets "$PKTS" --export "$m" >"$tmp/out" 2>&1 ||
			{ cat "$tmp/out" >&2; exit 1; }
		r=$(grep '^RESULT' "$tmp/out")
		echo "$r" | sed -n 's/.*mpps=\([0-9.]*\).*/\1/p' >>"$tmp/$m.mpps"
		echo "$r" | sed -n 's/.*cycles_per_pkt=\([0-9.]*\).*/\1/p' >>"$tmp/$m.cpp"
		d=$(echo "$r" | sed -n 's/.*export_dropped=\([0-9]*\).*/\1/p')
		echo "${d:-0}" >>"$tmp/$m.dropped"
		echo "run $((i + 1)) $m: $r" >&2
	done
	i=$((i + 1))
done
base=$(median <"$tmp/none.mpps")
for m in $MODES; do
	mpps=$(median <"$tmp/$m.mpps")
	cpp=$(median <"$tmp/$m.cpp")
	dropped=$(awk '{ s += $1 } END { print s + 0 }' "$tmp/$m.dropped")
	ipp=-
	if [ "$INSTR" = 1 ]; then
		ipp=$(sh "$(dirname "$0")/instr.sh" -b "$BUILD" -n 500000 -- "$@" --export "$m" |
			sed -n 's/.*instr_per_pkt=//p')
	fi
	echo "RESULT mode=$m mpps=$mpps cycles_per_pkt=$cpp ratio=$(echo "$mpps $base" |
		awk '{ printf "%.3f", $1 / $2 }') ipp=$ipp dropped=$dropped"
done
