#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# synfin-xdp live against the kernel's conntrack: records the TCP scenarios between Linux stacks
# (mkscenarios.sh --xdp) with synfin-xdp attached to the router's two interfaces the whole time
# (monitor mode, the kernel's clock, one flow map), takes its flows of each scenario's port when
# conntrack -L is taken (its --control socket), and compares them with the same oracle as
# synfin's replay (compare.py --flows-suffix .xdp.flows.json, the same known differences). Then
# each capture goes through synfin-xdp --replay, and the live snapshot must hold exactly the flows
# of that replay (compare.py --same-as; only expires_in_s and lcore may differ): what the program
# saw on the two interfaces is what tcpdump captured.
# UDP and ICMP scenarios are left out: the XDP twin tracks TCP only. Exits 77 (meson's skip)
# without root, network namespaces or an XDP program that loads and attaches here; non-zero on
# an unexplained difference, on synfin-xdp not detaching cleanly, or on a recording problem.
# Usage: test/real/xdp-live.sh [SYNFIN_XDP]  (env: OUT, XDP_ARGS, SCENARIOS)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
XDP=${1:-$ROOT/build/app/synfin-xdp/synfin-xdp}
OUT=${OUT:-$HERE/out/xdp-live}

if [ ! -x "$XDP" ]; then
	echo "xdp-live.sh: synfin-xdp not found: $XDP (build it, or pass its path)" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces, nftables, tcpdump, XDP)" >&2
	exit 77
fi
# Every TCP scenario unless SCENARIOS (a comma list) says otherwise.
if [ -z "${SCENARIOS:-}" ]; then
	SCENARIOS=$("$HERE/mkscenarios.sh" --list | tr ' ' '\n' | grep -vE '^(udp|icmp)_' | paste -sd, -)
fi
mkdir -p "$OUT" || exit 1
rm -f "$OUT"/*.pcap "$OUT"/*.txt "$OUT"/*.json "$OUT"/*.log "$OUT"/*.err

"$HERE/mkscenarios.sh" -o "$OUT" --only "$SCENARIOS" --xdp "$XDP"
rec=$?
if [ $rec -eq 77 ]; then
	exit 77
elif [ $rec -ne 0 ]; then
	echo "xdp-live.sh: mkscenarios.sh reported problems (rc $rec); comparing what was recorded" >&2
fi
for n in $(echo "$SCENARIOS" | tr , ' '); do
	[ -e "$OUT/$n.pcap" ] || continue
	if ! timeout 120 "$XDP" --replay "$OUT/$n.pcap" --flows-json "$OUT/$n.xdp-replay.flows.json" \
		>"$OUT/$n.xdp-replay.log" 2>&1; then
		echo "xdp-live.sh: synfin-xdp --replay failed on $n (see $OUT/$n.xdp-replay.log)" >&2
	fi
done
# shellcheck disable=SC2046 # one word per scenario
python3 "$HERE/compare.py" --out "$OUT" --flows-suffix .xdp.flows.json \
	--same-as .xdp-replay.flows.json $(echo "$SCENARIOS" | tr , ' ')
rc=$?
# Segments the program passed untracked because the other CPU held their flow: none expected.
busy=$(grep -h "passed untracked" "$OUT/synfin-xdp.log" 2>/dev/null)
[ -n "$busy" ] && echo "xdp-live.sh: note: synfin-xdp $busy"
[ $rec -eq 0 ] || rc=1
exit $rc
