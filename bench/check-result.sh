#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Smoke check of one synfin-bench run (meson suite 'bench-smoke'): runs the command given as
# arguments and fails unless its last line is `RESULT mpps=.. cycles_per_pkt=.. cps=..
# bytes_per_flow..` with mpps > 0, cycles_per_pkt > 0 and bytes_per_flow in (0, MAX] (MAX:
# $BENCH_MAX_BYTES_PER_FLOW, default 128, the target), and no packet of the synthetic workload
# was judged malformed, nor invalid outside a flood (verdicts line). With --export, every
# flow-end record queued must have been consumed, none dropped. A mixed workload must complete
# TCP, UDP and ICMP flows, and break none.
max=${BENCH_MAX_BYTES_PER_FLOW:-128}
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
[ $rc -eq 0 ] || { echo "FAIL: exit status $rc"; exit 1; }
last=$(printf '%s\n' "$out" | tail -n 1)
printf '%s\n' "$last" | awk -v max="$max" '
	$1 != "RESULT" { print "FAIL: last line is not a RESULT line"; exit 1 }
	{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] + 0; n[kv[1]] = 1 }
		if (!n["mpps"] || !n["cycles_per_pkt"] || !n["cps"] || !n["bytes_per_flow"]) {
			print "FAIL: RESULT line misses a field"; exit 1 }
		if (v["mpps"] <= 0) { print "FAIL: mpps <= 0"; exit 1 }
		if (v["cycles_per_pkt"] <= 0) { print "FAIL: cycles_per_pkt <= 0"; exit 1 }
		if (v["bytes_per_flow"] <= 0 || v["bytes_per_flow"] > max + 0) {
			print "FAIL: bytes_per_flow " v["bytes_per_flow"] " not in (0, " max "]"; exit 1 }
		if (n["export_records"] && (v["export_records"] <= 0 || v["export_dropped"] != 0 ||
		    v["export_consumed"] != v["export_records"])) {
			print "FAIL: flow-end records lost or not consumed"; exit 1 }
	}' || exit 1
# A synthetic workload of well-formed connections must have no malformed packet, and outside a
# flood no invalid one either.
v=$(printf '%s\n' "$out" | grep '^verdicts:')
case "$v" in
*" malformed=0 "*) ;;
*) echo "FAIL: malformed packets: $v"; exit 1 ;;
esac
case "$*" in
*synflood* | *--pcap*) ;;
*) case "$v" in
   *" invalid=0 "*) ;;
   *) echo "FAIL: invalid packets: $v"; exit 1 ;;
   esac ;;
esac
case "$*" in
*"--workload mixed"*)
	printf '%s\n' "$out" | grep '^lifecycles:' | awk '{
		for (i = 2; i <= NF; i++) { gsub(/[()]/, "", $i); split($i, kv, "="); v[kv[1]] = kv[2] }
		ok = 1
		if (v["tcp"] + 0 <= 0 || v["udp"] + 0 <= 0 || v["icmp"] + 0 <= 0 || v["broken"] != "0") {
			print "FAIL: mixed: " $0; exit 1 } }
		END { if (!ok) { print "FAIL: mixed: no lifecycles line"; exit 1 } }' || exit 1 ;;
esac
echo "OK"
