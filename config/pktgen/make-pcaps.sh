#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Writes the pcaps that config/pktgen/run.sh (pktgen-dpdk, dpdk-testpmd or synfin-replay) replays
# in a loop: full TCP lifecycles, a SYN flood mixed with real connections, and established-only
# traffic, from synfin-bench's own generators (--write-pcap), so the generator sends what the
# benchmark measures. The lifecycle and SYN-flood pcaps are loopable (--loopable: whole
# connections only, each 4-tuple reused with ISNs 2^32 / uses apart, so every SYN that meets its
# tuple's TIME_WAIT entry, also after the wrap, is a valid reopen); established.pcap loops as it is
# (picked up mid-stream, each flow's sequence numbers go back less than a window at the wrap).
# Output: BUILD_DIR/pktgen-pcaps (in the build tree; about 80 MB per 1 M packets).
# Usage: config/pktgen/make-pcaps.sh [BUILD_DIR] [OUT_DIR]; PACKETS (default 1000000) and
# CONCURRENT (default 10000) size them.
# shellcheck disable=SC2086 # $EAL: a list of options
set -eu
B=${1:-build}
OUT=${2:-$B/pktgen-pcaps}
N=${PACKETS:-1000000}
C=${CONCURRENT:-10000}
BENCH="$B/bench/synfin-bench"
EAL="-l 0 --no-pci --no-huge -m 1024 --no-shconf --log-level=error"
[ -x "$BENCH" ] || { echo "make-pcaps: $BENCH not built (run: meson setup $B && ninja -C $B)" >&2; exit 1; }
mkdir -p "$OUT"
# $C connections open at once, about $N packets: every connection goes SYN .. last ACK.
$BENCH $EAL -- --workload lifecycle --concurrent "$C" --packets "$N" --loopable \
	--write-pcap "$OUT/lifecycle.pcap"
# 90 % spoofed SYNs (the same ones every loop: new flows again only once their SYN_SENT entry
# has expired or been evicted), 10 % legitimate lifecycles.
$BENCH $EAL -- --workload synflood --concurrent $((C / 2)) --packets $((N / 10)) --flood-ratio 0.9 \
	--loopable --write-pcap "$OUT/synflood.pcap"
# 10 x $C established flows (picked up mid-stream by synfin's loose mode).
$BENCH $EAL -- --workload established --concurrent $((C * 10)) --packets "$N" \
	--write-pcap "$OUT/established.pcap"
ls -l "$OUT"/*.pcap
