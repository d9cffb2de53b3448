#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Writes the pcaps that pktgen-dpdk replays at rate (config/pktgen/README.md): full TCP
# lifecycles, a SYN flood mixed with real connections, and established-only traffic. They come
# from synfin-bench's own generators (--write-pcap), so pktgen sends exactly what the benchmark
# measures. Usage: config/pktgen/make-pcaps.sh [BUILD_DIR] [OUT_DIR]
set -eu
B=${1:-build}
OUT=${2:-config/pktgen}
BENCH="$B/bench/synfin-bench"
EAL="-l 0 --no-pci --no-huge -m 1024 --no-shconf --log-level=error"
[ -x "$BENCH" ] || { echo "make-pcaps: $BENCH not built (run: meson setup $B && ninja -C $B)" >&2; exit 1; }
# 10 K connections open at once, 1 M packets: every connection goes SYN .. last ACK.
$BENCH $EAL -- --workload lifecycle --concurrent 10000 --packets 1000000 --write-warmup \
	--write-pcap "$OUT/lifecycles.pcap"
# 90 % spoofed SYNs, 10 % legitimate lifecycles.
$BENCH $EAL -- --workload synflood --concurrent 10000 --packets 1000000 --flood-ratio 0.9 \
	--write-warmup --write-pcap "$OUT/synflood.pcap"
# 100 K established flows (picked up mid-stream by synfin's loose mode).
$BENCH $EAL -- --workload established --concurrent 100000 --packets 1000000 \
	--write-pcap "$OUT/established.pcap"
ls -l "$OUT"/*.pcap
