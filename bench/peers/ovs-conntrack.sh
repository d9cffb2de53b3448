#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# synfin's tracker against Open vSwitch's userspace conntrack (the tracker of OVS-DPDK), one
# core, same machine, same run. Builds only OVS's library (lib/libopenvswitch.a, OVS 3.1 from
# Debian's openvswitch-source, no DPDK, no kernel module) under BUILD/peers/ovs, links the
# harness bench/peers/ovs_ct_bench.c against it, writes two traces with synfin-bench
# --write-pcap, then runs `synfin-bench --pcap T --loops L --dump-states` and
# `ovs_ct_bench --pcap T --loops L` alternately RUNS times on each trace and prints both medians
# (Mpps, ns/packet), the ratio, and whether both trackers ended the last pass with the same
# number of connections in each state. Then (unless -C) instructions per packet of both timed
# functions with callgrind. Everything it writes stays under BUILD/peers.
#
# Usage: bench/peers/ovs-conntrack.sh [-b BUILD] [-r RUNS] [-l LOOPS] [-B] [-C] [--smoke]
#   -B build only   -C no callgrind   --smoke: tiny trace, one run each, no callgrind, and exit
#   77 (skipped) when the OVS library is not built yet (it never builds OVS).
# Traces: a) lifecycle: 100K connections, 8 packets each, 8000 slots (about 8000 open at once);
#         b) in step: the same 100K connection count all open at once (round r of the trace
#            carries packet r of every connection, so each spreads over the whole trace).
set -eu
CMDLINE="$0 $*"
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD=build
RUNS=5
LOOPS=5
SMOKE=0
BUILD_ONLY=0
CALLGRIND=1
for a in "$@"; do
	shift
	if [ "$a" = --smoke ]; then SMOKE=1; else set -- "$@" "$a"; fi
done
while getopts b:r:l:BC o; do
	case $o in
	b) BUILD=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	l) LOOPS=$OPTARG ;;
	B) BUILD_ONLY=1 ;;
	C) CALLGRIND=0 ;;
	*) echo "usage: $0 [-b BUILD] [-r RUNS] [-l LOOPS] [-B] [-C] [--smoke]" >&2; exit 2 ;;
	esac
done
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
P=$BUILD/peers
OVS=$P/ovs
SRC=$OVS/src
OBJ=$OVS/obj
LIBOVS=$OBJ/lib/.libs/libopenvswitch.a
HARNESS=$P/ovs_ct_bench
BENCH=$BUILD/bench/synfin-bench
EAL="-l 0 --no-pci --no-shconf --log-level=error --no-huge -m 1024"
mkdir -p "$P"

# Debian packages, installed only when missing (as setup.sh).
need_pkgs() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	echo "ovs-conntrack: installing$missing"
	timeout 300 $SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive timeout 900 $SUDO apt-get install -y -qq \
		--no-install-recommends $missing >/dev/null
}

# The ISA flags synfin gets from DPDK's pkg-config (-march=corei7 on Debian), so both trackers
# are compiled for the same instruction set (OVS then hashes with SSE4.2 crc32 as well).
march() {
	pkg-config --cflags libdpdk 2>/dev/null | tr ' ' '\n' | grep -E '^-march=' | head -n 1
}

# Unpack the OVS tarball and build lib/libopenvswitch.la only, out of tree. Done once: a
# second call finds the library and returns.
build_ovs() {
	[ -f "$LIBOVS" ] && return 0
	need_pkgs openvswitch-source build-essential python3 pkg-config
	tarball=$(ls /usr/src/openvswitch/openvswitch.tar.* 2>/dev/null | head -n 1)
	[ -n "$tarball" ] || { echo "no OVS tarball under /usr/src/openvswitch" >&2; exit 1; }
	rm -rf "$SRC" "$OBJ"
	mkdir -p "$SRC" "$OBJ"
	timeout 300 tar xf "$tarball" -C "$SRC" --strip-components=1
	echo "ovs-conntrack: configuring OVS in $OBJ (log: $OVS/build.log)"
	(cd "$OBJ" && timeout 900 "$SRC/configure" --disable-ssl --disable-libcapng \
		--disable-afxdp CFLAGS="-O2 -g $(march)" >"$OVS/build.log" 2>&1) ||
		{ tail -n 30 "$OVS/build.log" >&2; exit 1; }
	echo "ovs-conntrack: make lib/libopenvswitch.la (minutes)"
	# The generated headers (odp-netlink.h, the IDLs) are BUILT_SOURCES: only `make all`
	# makes them first, so name them.
	printf 'print-built-sources:\n\t@echo $(BUILT_SOURCES)\n' >"$OVS/print.mk"
	bs=$(make -s -C "$OBJ" -f Makefile -f "$OVS/print.mk" print-built-sources)
	timeout 5400 sh -c 'make -C "$1" -j"$2" $3 && make -C "$1" -j"$2" lib/libopenvswitch.la' \
		sh "$OBJ" "$(nproc)" "$bs" >>"$OVS/build.log" 2>&1 ||
		{ tail -n 30 "$OVS/build.log" >&2; exit 1; }
	[ -f "$LIBOVS" ] || { echo "$LIBOVS missing after make" >&2; exit 1; }
}

# The harness: bench/peers/ovs_ct_bench.c + bench/bench_gen.c (the pcap loader synfin-bench
# uses) + libopenvswitch.a (+ libopenvswitchavx512.a) with the libraries configure found.
build_harness() {
	src=$ROOT/bench/peers/ovs_ct_bench.c
	if [ -x "$HARNESS" ] && [ "$HARNESS" -nt "$src" ] && [ "$HARNESS" -nt "$LIBOVS" ] &&
		[ "$HARNESS" -nt "$ROOT/bench/bench_gen.c" ] &&
		[ "$HARNESS" -nt "$ROOT/test/lib/tl_frame.c" ] &&
		[ "$HARNESS" -nt "$ROOT/test/lib/tl_pcap.c" ]; then
		return 0
	fi
	libs=$(sed -n 's/^LIBS = //p' "$OBJ/Makefile")
	# configure builds the AVX512 paths into a library of their own where the compiler can
	avx512=$(ls "$OBJ/lib/.libs/libopenvswitchavx512.a" 2>/dev/null || true)
	# bench_gen.c builds its frames and reads pcaps with the test library's tl_frame/tl_pcap
	for f in bench/bench_gen test/lib/tl_frame test/lib/tl_pcap; do
		cc -std=gnu11 -O2 -g $(march) -I"$ROOT/bench" -I"$ROOT/lib/tcp" -I"$ROOT/test/lib" \
			-c "$ROOT/$f.c" -o "$P/${f##*/}.o"
	done
	cc -std=gnu11 -O2 -g $(march) -Wall -I"$OBJ" -I"$OBJ/include" -I"$OBJ/lib" \
		-I"$SRC/include" -I"$SRC/lib" -I"$ROOT/bench" -I"$ROOT/lib/tcp" -I"$ROOT/test/lib" \
		"$src" "$P/bench_gen.o" "$P/tl_frame.o" "$P/tl_pcap.o" \
		-Wl,--start-group "$LIBOVS" $avx512 -Wl,--end-group $libs -lpthread -lrt -lm -o "$HARNESS"
}

# Trace a) and b); SMOKE: 1000 connections of each kind.
make_traces() {
	T=$P/traces
	mkdir -p "$T"
	if [ "$SMOKE" = 1 ]; then CONNS=1000 SLOTS=80; else CONNS=100000 SLOTS=8000; fi
	PKTS=$((CONNS * 8))
	TA=$T/lifecycle-$CONNS-c$SLOTS.pcap
	TB=$T/instep-$CONNS.pcap
	[ -s "$TA" ] || timeout 300 "$BENCH" $EAL --file-prefix peers-gen -- --workload lifecycle \
		--concurrent "$SLOTS" --packets "$PKTS" --write-warmup --write-pcap "$TA" >/dev/null
	[ -s "$TB" ] || timeout 300 "$BENCH" $EAL --file-prefix peers-gen -- --workload lifecycle \
		--concurrent "$CONNS" --packets "$PKTS" --no-stagger --write-pcap "$TB" >/dev/null
}

# value of KEY=... on the RESULT line of file $1
res() { sed -n "s/^RESULT .*$2=\([^ ]*\).*/\1/p" "$1" | tail -n 1; }
median() { sort -n | awk '{ a[n++] = $1 } END { print n ? a[int((n - 1) / 2)] : 0 }'; }
# "states:" line without the zero entries, one NAME=count a line, sorted
states() { sed -n 's/^states: //p' "$1" | tr ' ' '\n' | grep -v '=0$' | grep . | sort; }

# Alternate the two programs RUNS times on trace $1 (label $2); RESULT lines.
compare() {
	trace=$1
	label=$2
	out=$P/runs/$label
	mkdir -p "$out"
	: >"$out/synfin.mpps"
	: >"$out/ovs.mpps"
	: >"$out/synfin.cpp"
	: >"$out/ovs.cpp"
	: >"$out/pair.ratio"
	i=1
	while [ "$i" -le "$RUNS" ]; do
		timeout 900 "$BENCH" $EAL --file-prefix peers-sf -- --pcap "$trace" --loops "$LOOPS" \
			--dump-states >"$out/synfin-$i.txt" 2>&1 ||
			{ tail "$out/synfin-$i.txt" >&2; exit 1; }
		timeout 900 "$HARNESS" --pcap "$trace" --loops "$LOOPS" >"$out/ovs-$i.txt" 2>&1 ||
			{ tail "$out/ovs-$i.txt" >&2; exit 1; }
		res "$out/synfin-$i.txt" mpps >>"$out/synfin.mpps"
		res "$out/ovs-$i.txt" mpps >>"$out/ovs.mpps"
		res "$out/synfin-$i.txt" cycles_per_pkt >>"$out/synfin.cpp"
		res "$out/ovs-$i.txt" cycles_per_pkt >>"$out/ovs.cpp"
		awk -v s="$(res "$out/synfin-$i.txt" mpps)" -v o="$(res "$out/ovs-$i.txt" mpps)" \
			'BEGIN { printf "%.3f\n", (o > 0 ? s / o : 0) }' >>"$out/pair.ratio"
		echo "  $label run $i: synfin $(res "$out/synfin-$i.txt" mpps) Mpps," \
			"ovs $(res "$out/ovs-$i.txt" mpps) Mpps"
		i=$((i + 1))
	done
	sf=$(median <"$out/synfin.mpps")
	ov=$(median <"$out/ovs.mpps")
	sfc=$(median <"$out/synfin.cpp")
	ovc=$(median <"$out/ovs.cpp")
	pr=$(median <"$out/pair.ratio")
	states "$out/synfin-$RUNS.txt" >"$out/synfin.states"
	states "$out/ovs-$RUNS.txt" >"$out/ovs.states"
	# per-packet verdicts of the last run: new connections and invalid packets
	last_s=$out/synfin-$RUNS.txt
	last_o=$out/ovs-$RUNS.txt
	v_s="new=$(sed -n 's/^verdicts:.* new=\([0-9]*\).*/\1/p' "$last_s")"
	v_s="$v_s invalid=$(sed -n 's/^verdicts:.* invalid=\([0-9]*\).*/\1/p' "$last_s")"
	v_o="new=$(sed -n 's/^ct_state: new=\([0-9]*\).*/\1/p' "$last_o")"
	v_o="$v_o invalid=$(sed -n 's/^ct_state:.* inv=\([0-9]*\).*/\1/p' "$last_o")"
	if [ -s "$out/synfin.states" ] && cmp -s "$out/synfin.states" "$out/ovs.states" &&
		[ "$v_s" = "$v_o" ]; then
		same=yes
	else
		same=no
	fi
	echo "$label: $(sed -n 's/^pcap=\([^ ]*\) frames=\([0-9]*\).*/\2 frames/p' \
		"$out/synfin-1.txt") x $LOOPS loops, median of $RUNS alternating runs"
	awk -v s="$sf" -v o="$ov" -v sc="$sfc" -v oc="$ovc" -v pr="$pr" 'BEGIN {
		printf "  synfin : %7.3f Mpps %8.1f ns/packet %8.1f TSC cycles/packet\n", s,
			(s > 0 ? 1000 / s : 0), sc
		printf "  OVS    : %7.3f Mpps %8.1f ns/packet %8.1f TSC cycles/packet\n", o,
			(o > 0 ? 1000 / o : 0), oc
		printf "  ratio  : %.2fx (synfin / OVS, of the medians; median of the run pairs %.2fx)\n",
			(o > 0 ? s / o : 0), pr }'
	echo "  end states (last pass): synfin $(tr '\n' ' ' <"$out/synfin.states")"
	echo "                          ovs    $(tr '\n' ' ' <"$out/ovs.states")"
	echo "  packets (all loops): synfin $v_s, ovs $v_o -> same: $same"
	awk -v l="$label" -v s="$sf" -v o="$ov" -v sc="$sfc" -v oc="$ovc" -v pr="$pr" \
		-v same="$same" 'BEGIN {
		printf "RESULT tracker=synfin trace=%s mpps=%.3f ns_per_pkt=%.1f cycles_per_pkt=%.1f\n",
			l, s, (s > 0 ? 1000 / s : 0), sc
		printf "RESULT tracker=ovs trace=%s mpps=%.3f ns_per_pkt=%.1f cycles_per_pkt=%.1f", l, o,
			(o > 0 ? 1000 / o : 0), oc
		printf " states_match=%s\n", same
		printf "RESULT ratio=%.2f trace=%s pair_median=%.2f\n", (o > 0 ? s / o : 0), l, pr }'
	[ "$same" = yes ] || STATES_DIFFER=1
}

# Instructions of callgrind output $1 (its "totals:" line) per packet ($2 packets).
ipp() {
	sed -n 's/^totals: \([0-9]*\).*/\1/p' "$1" | awk -v n="$2" '{ printf "%.0f", $1 / n }'
}

# Instructions per packet inside each timed function (callgrind, one loop of trace $1); the
# patterns also match the clones gcc makes of a noinline function (run_pcap_batch.constprop.0).
instr() {
	need_pkgs valgrind
	out=$P/runs/$2
	timeout 3600 valgrind --tool=callgrind --toggle-collect='run_pcap_batch*' \
		--callgrind-out-file="$out/cg-synfin.out" "$BENCH" $EAL --file-prefix peers-cg -- \
		--pcap "$1" --loops 1 >"$out/cg-synfin.txt" 2>&1 || { tail "$out/cg-synfin.txt" >&2; exit 1; }
	timeout 3600 valgrind --tool=callgrind --toggle-collect='run_batches*' \
		--callgrind-out-file="$out/cg-ovs.out" "$HARNESS" --pcap "$1" --loops 1 \
		>"$out/cg-ovs.txt" 2>&1 || { tail "$out/cg-ovs.txt" >&2; exit 1; }
	n=$(sed -n 's/.*frames=\([0-9]*\).*/\1/p' "$out/cg-synfin.txt" | head -n 1)
	ipp_synfin=$(ipp "$out/cg-synfin.out" "$n")
	ipp_ovs=$(ipp "$out/cg-ovs.out" "$n")
	echo "$2: instructions per packet (callgrind, 1 loop, $n packets):" \
		"synfin $ipp_synfin, OVS $ipp_ovs"
	echo "RESULT instr trace=$2 synfin_instr_per_pkt=$ipp_synfin ovs_instr_per_pkt=$ipp_ovs"
}

if [ "$SMOKE" = 1 ]; then
	[ -f "$LIBOVS" ] || { echo "ovs-conntrack: OVS library not built ($LIBOVS): skipped"; exit 77; }
	RUNS=1
	LOOPS=2
	CALLGRIND=0
else
	build_ovs
fi
build_harness
[ "$BUILD_ONLY" = 1 ] && { echo "ovs-conntrack: built $HARNESS"; exit 0; }
[ -x "$BENCH" ] || { echo "$BENCH not built (meson setup build && ninja -C build)" >&2; exit 1; }
make_traces
echo "ovs-conntrack: $CMDLINE"
echo "ovs-conntrack: $(date -u +%Y-%m-%dT%H:%MZ), $(uname -n), $(nproc) CPUs" \
	"($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)), load $(cut -d' ' -f1-3 \
	/proc/loadavg), synfin $(git rev-parse --short HEAD 2>/dev/null || echo '?')," \
	"OVS $(sed -n 's/^PACKAGE_VERSION = //p' "$OBJ/Makefile")"
STATES_DIFFER=0
compare "$TA" lifecycle
compare "$TB" instep
if [ "$CALLGRIND" = 1 ]; then
	instr "$TA" lifecycle
	instr "$TB" instep
fi
[ "$STATES_DIFFER" = 0 ] || { echo "ovs-conntrack: end states differ" >&2; exit 1; }
