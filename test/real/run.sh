#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# One command for the real-stack verification: records the scenarios between Linux TCP stacks
# (mkscenarios.sh, kernel conntrack and ss as the oracle), replays each capture through synfin
# with --flows-json, and compares the two views (compare.py). Exits 77 (meson's skip) when the
# scenarios cannot be recorded here (not root, no network namespaces), non-zero on an
# unexplained difference. Usage: test/real/run.sh [SYNFIN_BINARY]  (env: OUT, SYNFIN_ARGS)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SYNFIN=${1:-${SYNFIN:-$ROOT/build/app/synfin/synfin}}
OUT=${OUT:-$HERE/out}
# Extra application arguments (after --), e.g. SYNFIN_ARGS="--config config/synfin.conf".
SYNFIN_ARGS=${SYNFIN_ARGS:-}

if [ ! -x "$SYNFIN" ]; then
	echo "run.sh: synfin binary not found: $SYNFIN (build it, or pass its path)" >&2
	exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces, nftables, tcpdump)" >&2
	exit 77
fi
mkdir -p "$OUT" || exit 1
# Old results would be compared again: start from an empty output directory.
rm -f "$OUT"/*.pcap "$OUT"/*.txt "$OUT"/*.json "$OUT"/*.log "$OUT"/*.err

"$HERE/mkscenarios.sh" -o "$OUT"
rc=$?
if [ $rc -eq 77 ]; then
	exit 77
elif [ $rc -ne 0 ]; then
	echo "run.sh: mkscenarios.sh reported problems (rc $rc); comparing what was recorded" >&2
fi

for pcap in "$OUT"/*.pcap; do
	[ -e "$pcap" ] || continue
	name=$(basename "$pcap" .pcap)
	json=$OUT/$name.flows.json
	# shellcheck disable=SC2086 # SYNFIN_ARGS is a list of words
	if ! timeout 120 "$SYNFIN" -l 0 --no-pci --no-huge -m 512 --no-shconf --log-level=error \
		--vdev="net_pcap0,rx_pcap=$pcap" -- --clock=packet --idle-exit 500 \
		--flows-json "$json" $SYNFIN_ARGS >"$OUT/$name.synfin.log" 2>&1; then
		echo "run.sh: synfin failed on $name (see $OUT/$name.synfin.log):" >&2
		tail -5 "$OUT/$name.synfin.log" >&2
	fi
done

python3 "$HERE/compare.py" --out "$OUT"
rc=$?
# The reorder property test (test/e2e/test_reorder.py) on these captures: each adjacent pair of
# opposite-direction packets of a connection swapped, and a sample of wider moves.
python3 "$ROOT/test/e2e/test_reorder.py" "$SYNFIN" "$OUT" || rc=1
# Header prediction against the full path on the real captures: same flows and counters.
python3 "$ROOT/test/e2e/test_predict.py" "$SYNFIN" - "$ROOT/test/scenarios" "$OUT"/*.pcap || rc=1
exit $rc
