#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Full benchmark run of synfin-bench (single worker core): lifecycle with 1K/100K/1M/10M
# connections open, established over 1M flows, a SYN flood mixed with legitimate connections,
# and test/data/quickstart.pcap if present. Writes bench/results/<host>-<date>.txt (every run's
# full output, with the command line and the machine) and .dat (one line per run, for
# bench/plot.sh). Memory: uses 2 MB hugepages when at least 4 GB are (or can be) reserved, else
# --no-huge with -m 4096 (the 10M table needs about 2.1 GB: 2^24 positions x ~127 B).
#
# Usage: bench/run-bench.sh [-b BUILD_DIR] [-q]     (-q: quick, 5x fewer packets, no 10M)
set -eu
cd "$(dirname "$0")/.."
BUILD=build
QUICK=0
while getopts b:q o; do
	case $o in
	b) BUILD=$OPTARG ;;
	q) QUICK=1 ;;
	*) echo "usage: $0 [-b BUILD_DIR] [-q]" >&2; exit 2 ;;
	esac
done
BIN=$BUILD/bench/synfin-bench
[ -x "$BIN" ] || { echo "$BIN not built (meson setup $BUILD && ninja -C $BUILD)" >&2; exit 1; }
LCORE=${LCORE:-0}
MEM_MB=${MEM_MB:-4096}

# Hugepages: reserve MEM_MB of 2 MB pages if possible (root, dpdk-hugepages.py), else --no-huge.
huge_free_mb() {
	awk '/^HugePages_Free/ {f=$2} /^Hugepagesize/ {s=$2} END {print int(f*s/1024)}' /proc/meminfo
}
MEMARGS="--no-huge -m $MEM_MB"
if [ "$(huge_free_mb)" -lt "$MEM_MB" ] && [ "$(id -u)" = 0 ] && command -v dpdk-hugepages.py >/dev/null; then
	# dpdk-hugepages.py reserves the pages and mounts /dev/hugepages; where the mount is not
	# allowed (containers) give the pages back, they would only take memory away.
	if ! dpdk-hugepages.py --setup "${MEM_MB}M" >/dev/null 2>&1 || ! grep -q hugetlbfs /proc/mounts; then
		dpdk-hugepages.py --clear >/dev/null 2>&1 || true
	fi
fi
if [ "$(huge_free_mb)" -ge "$MEM_MB" ] && grep -q hugetlbfs /proc/mounts; then
	MEMARGS=""
fi
EAL="-l $LCORE --no-pci --no-shconf --file-prefix synfin-bench --log-level=error $MEMARGS"

host=$(hostname -s)
stamp=$(date +%Y%m%d-%H%M)
mkdir -p bench/results
TXT=bench/results/$host-$stamp.txt
DAT=bench/results/$host-$stamp.dat
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
{
	echo "# synfin-bench full run, $(date -u '+%Y-%m-%d %H:%M UTC'), host $host"
	echo "# cpu: $cpu; $(nproc) cpus; lcore $LCORE; memory: ${MEMARGS:-hugepages}"
	echo "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
} >"$TXT"
printf '# workload concurrent mpps cycles_per_pkt cps bytes_per_flow\n' >"$DAT"

scale() { # packets count scaled down in quick mode
	if [ "$QUICK" = 1 ]; then echo $(($1 / 5)); else echo "$1"; fi
}

run() { # label concurrent args...
	label=$1; conc=$2; shift 2
	echo "== $label" | tee -a "$TXT"
	echo "\$ $BIN $EAL -- $*" >>"$TXT"
	if ! out=$("$BIN" $EAL -- "$@" 2>&1); then
		printf '%s\n' "$out" >>"$TXT"
		echo "   FAILED (see $TXT)"
		return 0
	fi
	printf '%s\n' "$out" >>"$TXT"
	res=$(printf '%s\n' "$out" | tail -n 1)
	echo "   $res"
	printf '%s\n' "$res" | awk -v l="$label" -v c="$conc" '{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print l, c, v["mpps"], v["cycles_per_pkt"], v["cps"], v["bytes_per_flow"] }' >>"$DAT"
}

run lifecycle 1000 --workload lifecycle --concurrent 1000 --packets "$(scale 50000000)"
run lifecycle 100000 --workload lifecycle --concurrent 100000 --packets "$(scale 50000000)"
run lifecycle 1000000 --workload lifecycle --concurrent 1000000 --packets "$(scale 50000000)"
if [ "$QUICK" = 0 ]; then
	run lifecycle 10000000 --workload lifecycle --concurrent 10000000 --packets 100000000
fi
run established 1000000 --workload established --concurrent 1000000 --packets "$(scale 50000000)"
run mixed 100000 --workload mixed --concurrent 100000 --packets "$(scale 50000000)"
run synflood 100000 --workload synflood --concurrent 100000 --flood-ratio 0.9 \
	--table-size 1000000 --packets "$(scale 10000000)"
if [ -f test/data/quickstart.pcap ]; then
	run pcap 0 --pcap test/data/quickstart.pcap --loops "$(scale 20000)" --table-size 1000000
fi
echo "results: $TXT $DAT"
