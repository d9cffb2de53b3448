#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# End-to-end forwarding rate of synfin (inline mode, port 0 <-> port 1) against plain
# dpdk-testpmd io forwarding, through the same virtual ports, on the same core, and the ratio.
#
# Ports: two net_pcap vdevs in infinite_rx mode: each RX queue replays a pcap from memory as
# fast as it is polled (the PMD copies each frame into a fresh mbuf), and TX frees the mbufs
# (no tx_pcap/tx_iface given: the PMD's drop TX). Both programs therefore pay the same RX copy
# and TX free per packet; what differs is synfin's tracking (parse, lookup, FSM, counters,
# timers) and its loop. The pcap (written by synfin-bench) holds established data segments of
# FLOWS connections in both directions; it is replayed over and over, so sequence numbers go back
# at every loop: synfin runs with --liberal (no window checks) so every segment stays a valid
# segment of its flow (flows are picked up from the first data segment, loose mode).
# Measured: forwarded packets per second = sum over both ports of TX packets, between two
# periodic statistics prints (testpmd: its Tx-pps of both ports; synfin: the tx_pkts counter
# difference over its --stats-period). One forwarding core (lcore $FWD_LCORE) for both.
#
# Usage: bench/e2e-vdev.sh [-b BUILD_DIR] [-t SECONDS] [-f FLOWS]
# Needs: dpdk-testpmd (Debian package dpdk-dev), build/app/synfin/synfin, synfin-bench.
set -eu
cd "$(dirname "$0")/.."
BUILD=build
T=8
FLOWS=1000
while getopts b:t:f: o; do
	case $o in
	b) BUILD=$OPTARG ;;
	t) T=$OPTARG ;;
	f) FLOWS=$OPTARG ;;
	*) echo "usage: $0 [-b BUILD_DIR] [-t SECONDS] [-f FLOWS]" >&2; exit 2 ;;
	esac
done
SYNFIN=$BUILD/app/synfin/synfin
BENCH=$BUILD/bench/synfin-bench
TESTPMD=$(command -v dpdk-testpmd || true)
[ -x "$SYNFIN" ] || { echo "$SYNFIN not built" >&2; exit 1; }
[ -x "$BENCH" ] || { echo "$BENCH not built" >&2; exit 1; }
[ -n "$TESTPMD" ] || { echo "dpdk-testpmd not found (apt-get install dpdk-dev)" >&2; exit 1; }
FWD_LCORE=${FWD_LCORE:-1}
MAIN_LCORE=${MAIN_LCORE:-0}

tmpd=$(mktemp -d)
trap 'rm -rf "$tmpd"' EXIT
PCAP=$tmpd/e2e.pcap
# Two rounds over the flows: one client and one server data segment each (the pcap PMD holds
# the whole pcap in mbufs of the program's pool, so it must stay small).
"$BENCH" -l "$MAIN_LCORE" --no-huge --no-pci --no-shconf -m 256 --log-level=error \
	--file-prefix e2egen -- --workload established --concurrent "$FLOWS" \
	--packets $((2 * FLOWS)) --write-pcap "$PCAP" >/dev/null
VDEVS="--vdev net_pcap0,rx_pcap=$PCAP,infinite_rx=1 --vdev net_pcap1,rx_pcap=$PCAP,infinite_rx=1"
EAL_COMMON="--no-huge -m 1024 --no-pci --no-shconf --log-level=error $VDEVS"

# testpmd: main lcore + one forwarding lcore, io mode, stats every second; SIGINT after T s
# (with --stats-period testpmd does not read stdin).
timeout -s INT "$T" "$TESTPMD" -l "$MAIN_LCORE,$FWD_LCORE" --main-lcore "$MAIN_LCORE" \
	--file-prefix e2etp $EAL_COMMON -- --forward-mode=io --auto-start --stats-period 1 \
	--nb-cores=1 >"$tmpd/testpmd.out" 2>&1 || true
# Sum of both ports' Tx-pps per periodic print; the median of the prints, first and last left
# out (start-up, shut-down).
tp=$(awk '/Tx-pps/ { v[n++] = $2 } END { for (i = 0; i + 1 < n; i += 2) print v[i] + v[i+1] }' \
	"$tmpd/testpmd.out" | sed '1d;$d' | sort -n | awk '{ a[n++] = $1 } END { print n ? a[int(n/2)] : 0 }')

# synfin: one worker on FWD_LCORE (main lcore = the worker), inline forwarding, stats every
# second; SIGINT after T seconds.
"$SYNFIN" -l "$FWD_LCORE" --file-prefix e2esf $EAL_COMMON -- --mode inline --liberal \
	--stats-period 1 >"$tmpd/synfin.out" 2>&1 &
pid=$!
sleep "$T"
kill -INT "$pid" 2>/dev/null || true
wait "$pid" || true
# synfin's periodic "synfin statistics" blocks: TX-packets (both ports) per print; rate = the
# median difference between consecutive prints (1 s apart), first one left out.
sf=$(awk '/final statistics/ { exit } /synfin statistics/ { f = 1 }
	f && $1 == "TX-packets:" { print $2; f = 0 }' "$tmpd/synfin.out" |
	awk 'NR > 1 { print $1 - p } { p = $1 }' | sed '1d' | sort -n |
	awk '{ a[n++] = $1 } END { print n ? a[int(n/2)] : 0 }')

echo "e2e (net_pcap infinite_rx x2, TX drop, one forwarding core, $FLOWS flows, $T s each):"
echo "  dpdk-testpmd io : $tp pps"
echo "  synfin inline   : $sf pps"
ratio=$(echo "$sf $tp" | awk '{ if ($2 > 0) printf "%.1f", 100 * $1 / $2; else print "n/a" }')
echo "  ratio           : $ratio % (target >= 70 %)"
echo "RESULT e2e_testpmd_pps=$tp e2e_synfin_pps=$sf ratio_pct=$ratio"
if [ "$sf" = 0 ]; then
	echo "note: no synfin rate parsed; its output:" >&2
	tail -n 40 "$tmpd/synfin.out" >&2
fi
