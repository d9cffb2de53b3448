#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Multi-core scaling of the tracker: for each count n of worker lcores (1, 2, 4, 8, 16, as far
# as the machine has cores), runs n synfin-bench processes at once, each pinned to its own lcore
# with its own flow table and mbufs (the app's share-nothing layout: one table per worker,
# symmetric RSS spreading flows; the NIC is left out), and sums their Mpps. Each process gets the
# same workload with --concurrent split n ways and a different --seed. Prints one line per n
# and writes bench/results/<host>-<date>-scaling.dat (lcores total_mpps per_lcore_mpps
# one_lcore_mpps) for bench/plot.sh.
#
# Usage: bench/scaling.sh [-b BUILD_DIR] [-c CONCURRENT] [-n PACKETS] [-l "0 2 4 ..."]
#   -l: the cores to use, in order (default 0 .. nproc-1; on a 2-socket box list one socket's
#       physical cores first and leave out hyperthread siblings)
set -eu
cd "$(dirname "$0")/.."
BUILD=build
CONC=1000000
PKTS=30000000
CORES=$(seq 0 $(($(nproc) - 1)) | tr '\n' ' ')
while getopts b:c:n:l: o; do
	case $o in
	b) BUILD=$OPTARG ;;
	c) CONC=$OPTARG ;;
	n) PKTS=$OPTARG ;;
	l) CORES=$OPTARG ;;
	*) echo "usage: $0 [-b BUILD_DIR] [-c CONCURRENT] [-n PACKETS] [-l CORES]" >&2; exit 2 ;;
	esac
done
BIN=$BUILD/bench/synfin-bench
[ -x "$BIN" ] || { echo "$BIN not built" >&2; exit 1; }
ncores=$(echo $CORES | wc -w)
# Memory per process: the table (~127 B x 2^k positions) + mbufs; --no-huge unless hugepages.
per_mb=$(( (CONC * 2 * 130 / 1048576) + 256 ))
huge=$(awk '/^HugePages_Free/ {f=$2} /^Hugepagesize/ {s=$2} END {print int(f*s/1024)}' /proc/meminfo)
grep -q hugetlbfs /proc/mounts || huge=0

host=$(hostname -s)
DAT=bench/results/$host-$(date +%Y%m%d-%H%M)-scaling.dat
mkdir -p bench/results
echo "# lcores total_mpps per_lcore_mpps one_lcore_mpps  (lifecycle, $CONC connections open in all, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1))" >"$DAT"
tmpd=$(mktemp -d)
trap 'rm -rf "$tmpd"' EXIT
one=""
for n in 1 2 4 8 16; do
	[ "$n" -le "$ncores" ] || break
	if [ "$huge" -ge $((per_mb * n)) ]; then mem=""; else mem="--no-huge -m $per_mb"; fi
	i=0
	pids=""
	for c in $CORES; do
		[ $i -lt "$n" ] || break
		"$BIN" -l "$c" --no-pci --no-shconf --file-prefix "scal$c" --log-level=error $mem -- \
			--workload lifecycle --concurrent $((CONC / n)) --packets "$PKTS" \
			--seed $((i + 1)) >"$tmpd/$n-$i.out" 2>&1 &
		pids="$pids $!"
		i=$((i + 1))
	done
	fail=0
	for p in $pids; do wait "$p" || fail=1; done
	total=$(cat "$tmpd/$n"-*.out | awk '/^RESULT/ { split($2, kv, "="); s += kv[2] } END { printf "%.3f", s }')
	[ "$fail" = 0 ] || { echo "n=$n: a process failed:"; cat "$tmpd/$n"-*.out; exit 1; }
	[ -n "$one" ] || one=$total
	per=$(echo "$total $n" | awk '{ printf "%.3f", $1 / $2 }')
	echo "lcores=$n total_mpps=$total per_lcore_mpps=$per speedup=$(echo "$total $one" | awk '{ printf "%.2f", $1 / $2 }')"
	echo "$n $total $per $one" >>"$DAT"
done
echo "scaling data: $DAT"
