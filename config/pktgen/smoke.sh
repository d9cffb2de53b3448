#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# CI smoke run of config/pktgen/run.sh (meson suite 'bench-smoke'): a small loopable lifecycle
# pcap (1000 slots x 3 connections, 24 000 packets) written by synfin-bench under the build dir,
# then (1) GEN=testpmd for 4 s: the RESULT line must show traffic, 0.000 % INVALID in steady state
# and connections created and closed at the same rate, and synfin's final port RX-packets (after
# testpmd left) must be the tracker's, not 0; (2) GEN=replay, a two-step sweep of 2 s
# steps: a STEP line per rate with 0.000 % INVALID, and the SWEEP line. Exit 77 (skipped) where
# run.sh says hugepages, net_memif, dpdk-testpmd or 2 CPUs are missing.
# Usage: config/pktgen/smoke.sh BUILD_DIR
set -u
B=${1:?usage: smoke.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
D=$B/pktgen-smoke
mkdir -p "$D" || exit 1
"$B/bench/synfin-bench" -l 0 --no-pci --no-huge -m 512 --no-shconf --log-level=error -- \
	--workload lifecycle --concurrent 1000 --packets 1 --loopable --write-pcap "$D/lifecycle.pcap" ||
	exit 1
fail() {
	echo "FAIL: $*"
	exit 1
}
out=$(BUILD=$B OUT=$D/testpmd GEN=testpmd SMOKE=1 "$HERE/run.sh" "$D/lifecycle.pcap" 4 2>&1)
rc=$?
printf '%s\n' "$out"
[ $rc -eq 77 ] && exit 77
[ $rc -eq 0 ] || fail "GEN=testpmd: exit status $rc"
res=$(printf '%s\n' "$out" | grep '^RESULT') || fail "no RESULT line"
printf '%s\n' "$res" | awk '{
	for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	if (v["rx_mpps"] + 0 <= 0) { print "FAIL: rx_mpps " v["rx_mpps"]; exit 1 }
	if (v["invalid_pct"] != "0.000") { print "FAIL: invalid_pct " v["invalid_pct"]; exit 1 }
	c = v["created_per_s"] + 0; d = v["closed_per_s"] + 0
	if (c <= 0 || d <= 0) { print "FAIL: no connection created or closed"; exit 1 }
	if (c - d > 0.05 * c + 100 || d - c > 0.05 * c + 100) {
		print "FAIL: created " c "/s vs closed " d "/s"; exit 1 }
}' || exit 1
# synfin's own port totals survive testpmd's disconnect (net_memif zeroes the device's)
printf '%s\n' "$out" | grep -q 'final: ports RX-packets [1-9]' || fail "final port RX-packets 0"
printf '%s\n' "$out" | grep -q 'warning: the ports' && fail "port totals != tracker's"
out=$(BUILD=$B OUT=$D/replay GEN=replay SMOKE=1 SWEEP="20000 40000" "$HERE/run.sh" \
	"$D/lifecycle.pcap" 2 2>&1)
rc=$?
printf '%s\n' "$out"
[ $rc -eq 77 ] && exit 77
[ $rc -eq 0 ] || fail "GEN=replay sweep: exit status $rc"
[ "$(printf '%s\n' "$out" | grep -c '^STEP pps=')" -eq 2 ] || fail "not two STEP lines"
printf '%s\n' "$out" | grep '^STEP' | grep -v 'invalid_pct=0.000' && fail "INVALID in a step"
printf '%s\n' "$out" | grep -q '^SWEEP zero_loss_pps=' || fail "no SWEEP line"
echo OK
