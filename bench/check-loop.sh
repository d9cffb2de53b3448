#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Smoke check of a loopable workload (meson suite 'bench-smoke'): writes a loopable pcap with
# synfin-bench --write-pcap --loopable, replays it 10 times keeping the table (--keep-table, the
# clock running on, as a generator looping the pcap does) and fails unless the loops after the
# first have no INVALID packet and closed connections, as many as created (lifecycle; synflood:
# the returning flood SYNs may create flows again, so only closed > 0 is asked).
# Usage: check-loop.sh BENCH OUT_PCAP WORKLOAD [EAL options]; extra synfin-bench options for
# writing in $LOOP_WRITE_OPTS, for the replay in $LOOP_REPLAY_OPTS.
set -u
bench=$1 pcap=$2 workload=$3
shift 3
# shellcheck disable=SC2086
"$bench" "$@" -- --workload "$workload" --concurrent 1000 --packets 100000 --flood-ratio 0.5 \
	--loopable ${LOOP_WRITE_OPTS:-} --write-pcap "$pcap" || { echo "FAIL: --write-pcap --loopable"; exit 1; }
# shellcheck disable=SC2086
out=$("$bench" "$@" -- --pcap "$pcap" --loops 10 --keep-table --table-size 200000 \
	${LOOP_REPLAY_OPTS:-} 2>&1)
rc=$?
printf '%s\n' "$out"
[ $rc -eq 0 ] || { echo "FAIL: exit status $rc"; exit 1; }
printf '%s\n' "$out" | awk -v wl="$workload" '
	/^steady \(loops/ {
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		seen = 1
	}
	END {
		if (!seen) { print "FAIL: no steady line"; exit 1 }
		if (v["invalid"] + 0 != 0) { print "FAIL: INVALID in steady state: " v["invalid"]; exit 1 }
		if (v["closed"] + 0 <= 0) { print "FAIL: no connection closed in steady state"; exit 1 }
		if (wl == "lifecycle" && v["created"] + 0 != v["closed"] + 0) {
			print "FAIL: created " v["created"] " != closed " v["closed"]; exit 1 }
		print "OK"
	}'
