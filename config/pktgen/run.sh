#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Benchmark synfin the way its users do, on one host without a NIC: synfin (monitor mode) is the
# net_memif server and starts first; once its port is up a generator, the memif client, replays a
# pcap in a loop into it for SECONDS; then everything this script started is stopped by PID and
# the figures come from synfin's own per-second statistics:
#   RESULT tx_mpps=.. rx_mpps=.. rx_missed=.. invalid_pct=.. created_per_s=.. closed_per_s=..
#
# Usage: config/pktgen/run.sh WORKLOAD SECONDS
#   WORKLOAD  lifecycle | synflood | established (the loopable pcaps of make-pcaps.sh, written
#             under $PCAPS on first use) or a pcap file
# Environment:
#   GEN=pktgen|testpmd|replay  the generator (default pktgen): pktgen-dpdk (PKTGEN=path, paced in
#             percent of the link speed, in its own pseudo-terminal), dpdk-testpmd io forwarding
#             from net_pcap infinite_rx=1 (TESTPMD=path; cannot pace: RATE must be 0), or
#             build/bench/synfin-replay (paced exactly)
#   RATE=PPS  packets per second offered (0: as fast as possible; default 0)
#   SWEEP="PPS PPS .."  rate sweep (RFC 2544 style): one run of SECONDS per rate, synfin kept
#             running; per step the loss (packets offered but not received by synfin) and at the
#             end the highest rate whose loss is at most LOSS_PCT (default 0.1)
#   BUILD=build  synfin's build dir; PCAPS=$BUILD/pktgen-pcaps; OUT=$BUILD/pktgen-run (logs)
#   CPUS="0 1 .."  CPUs to use (default: this process's affinity). synfin gets the first
#             SF_CPUS (default 1 on 2 CPUs, else half), the generator the others. With one synfin
#             CPU its main lcore is the worker; with k > 1 there are k - 1 workers, each on its
#             own memif port (net_memif has no RSS), the generator feeding every port
#   SF_OPTS   extra synfin options (default: --timeout time_wait=1 --table-size 1000000)
#   LINK_MBPS=100000  link speed pktgen sees on net_memif (for the percent)
#   MEMIF_RSIZE=12  log2 of the memif rings' size (4096 slots: a receiver descheduled for a few
#             ms on a shared host does not stall the generator at once)
#   SMOKE=1   exit 77 (skip) where hugepages or net_memif cannot work (meson test)
# Needs: 2 CPUs, hugepages (2 MB pages, mounted hugetlbfs; net_memif does not work with
# --no-huge): about 2 KB per pcap packet for pktgen (1024 pages for a 1 M-packet pcap),
# 0.5 KB for testpmd, plus 150 MB for synfin; the script says what is missing.
set -u
die() {
	echo "run.sh: $*" >&2
	exit 1
}
skip() {
	echo "run.sh: $*" >&2
	[ "${SMOKE:-0}" = 1 ] && exit 77
	exit 1
}
[ $# -eq 2 ] || {
	sed -n '/^# Usage/,/^# Needs/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
WORKLOAD=$1
DURATION=$2
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-build}
PCAPS=${PCAPS:-$BUILD/pktgen-pcaps}
OUT=${OUT:-$BUILD/pktgen-run}
GEN=${GEN:-pktgen}
RATE=${RATE:-0}
SWEEP=${SWEEP:-}
LOSS_PCT=${LOSS_PCT:-0.1}
LINK_MBPS=${LINK_MBPS:-100000}
MEMIF_RSIZE=${MEMIF_RSIZE:-12}
SF_OPTS=${SF_OPTS:---timeout time_wait=1 --table-size 1000000}
SYNFIN=$BUILD/app/synfin/synfin
REPLAY=$BUILD/bench/synfin-replay
TESTPMD=${TESTPMD:-dpdk-testpmd}
PKTGEN=${PKTGEN:-pktgen}
case $DURATION in '' | *[!0-9]*) die "SECONDS must be a whole number of seconds" ;; esac
[ -x "$SYNFIN" ] || die "$SYNFIN not built (meson setup $BUILD && ninja -C $BUILD)"
case $GEN in
pktgen) command -v "$PKTGEN" >/dev/null || die "GEN=pktgen: no '$PKTGEN' (set PKTGEN=path)"
	command -v script >/dev/null || die "GEN=pktgen needs script(1) (package bsdutils)" ;;
testpmd) command -v "$TESTPMD" >/dev/null || skip "GEN=testpmd: no $TESTPMD (package dpdk)"
	if [ -n "$SWEEP" ] || [ "$RATE" != 0 ]; then
		die "GEN=testpmd forwards as fast as it can: no RATE or SWEEP (use GEN=replay or pktgen)"
	fi ;;
replay) [ -x "$REPLAY" ] || die "$REPLAY not built" ;;
*) die "GEN=$GEN: pktgen, testpmd or replay" ;;
esac

# ---- the pcap ----
case $WORKLOAD in
lifecycle | synflood | established)
	PCAP=$PCAPS/$WORKLOAD.pcap
	[ -s "$PCAP" ] || "$HERE/make-pcaps.sh" "$BUILD" "$PCAPS" >&2 || die "make-pcaps.sh failed" ;;
*) PCAP=$WORKLOAD ;;
esac
[ -r "$PCAP" ] || die "no pcap $PCAP"
read -r NPKT AVGLEN MAXLEN < <(python3 - "$PCAP" <<'EOF'
import struct, sys
with open(sys.argv[1], "rb") as f:
    d = f.read()
e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
off, n, tot, mx = 24, 0, 0, 0
while off + 16 <= len(d):
    incl, orig = struct.unpack_from(e + "II", d, off + 8)
    n, tot, mx, off = n + 1, tot + orig, max(mx, orig), off + 16 + incl
print(n, tot // max(n, 1), mx)
EOF
)
[ "${NPKT:-0}" -gt 0 ] || die "$PCAP: no packet"

# ---- CPUs: synfin first, the generator on the others ----
read -r -a CPU <<<"${CPUS:-$(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))')}"
NCPU=${#CPU[@]}
[ "$NCPU" -ge 2 ] || skip "needs 2 CPUs (has $NCPU: ${CPU[*]})"
SF_CPUS=${SF_CPUS:-$([ "$NCPU" -le 2 ] && echo 1 || echo $((NCPU / 2)))}
{ [ "$SF_CPUS" -ge 1 ] && [ "$SF_CPUS" -lt "$NCPU" ]; } || die "SF_CPUS=$SF_CPUS of $NCPU CPUs"
NPORTS=$((SF_CPUS > 1 ? SF_CPUS - 1 : 1))
SF_L=$(IFS=,; echo "${CPU[*]:0:SF_CPUS}")
GCPU=("${CPU[@]:SF_CPUS}")
# generator lcores: main lcore 0 on the first generator CPU (it mostly sleeps), lcore i (one per
# port) on the generator CPUs in turn
GEN_L="0@${GCPU[0]}"
for ((i = 1; i <= NPORTS; i++)); do GEN_L="$GEN_L,$i@${GCPU[$(((i - 1) % ${#GCPU[@]}))]}"; done

# ---- hugepages ----
case $GEN in
pktgen) GEN_MB=$((NPKT * 2 / 1000 + 128)) ;;
testpmd) GEN_MB=$((NPKT * NPORTS / 2000 + 128)) ;;
*) GEN_MB=64 ;;
esac
NEED=$(((GEN_MB + 150 * SF_CPUS + 1) / 2))
FREE=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
PAGE=$(awk '/^Hugepagesize/ {print $2}' /proc/meminfo)
if ! grep -q hugetlbfs /proc/mounts; then
	skip "hugepages: no hugetlbfs mounted (as root: mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages)"
fi
[ "$PAGE" = 2048 ] || echo "run.sh: note: hugepage size ${PAGE} kB, sizes below are in 2 MB pages" >&2
if [ "${FREE:-0}" -lt "$NEED" ]; then
	skip "hugepages: $NEED free 2 MB pages needed ($GEN for $NPKT packets: ${GEN_MB} MB, synfin: $((150 * SF_CPUS)) MB), ${FREE:-0} free (as root: echo $(($(awk '/^HugePages_Total/ {print $2}' /proc/meminfo) + NEED - FREE)) > /proc/sys/vm/nr_hugepages)"
fi

# ---- run directory, cleanup of what we started ----
mkdir -p "$OUT" || die "cannot create $OUT"
RUN=$(mktemp -d "${TMPDIR:-/tmp}/synfin-run.XXXXXX") || die "mktemp"
TAG=$$
SF_LOG=$OUT/synfin.log
GEN_LOG=$OUT/$GEN.log
SF_PID="" GEN_PID=""
stop_pid() { # PID SIGNAL SECONDS: signal, wait, then kill
	local pid=$1 i
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -"$2" "$pid" 2>/dev/null
	for ((i = 0; i < $3 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
cleanup() {
	stop_gen
	exec 7>&- 2>/dev/null # synfin's command line reads EOF: it quits
	stop_pid "$SF_PID" INT 10
	rm -rf "$RUN"
}
stop_gen() { # pktgen runs under script(1): stop pktgen itself, then script
	local child
	[ -n "$GEN_PID" ] || return 0
	if [ "$GEN" = pktgen ]; then
		child=$(pgrep -P "$GEN_PID" 2>/dev/null | head -n 1)
		[ -n "$child" ] && stop_pid "$child" INT 5
	fi
	stop_pid "$GEN_PID" INT 5
	GEN_PID=
}
# DPDK 22.11's memif PMD can fault in rx_burst when its peer disconnects while the queue is
# polled (its control thread unmaps the shared regions under the polling lcore: a SIGSEGV in
# librte_net_memif, seen about one run in four of the smoke test). So synfin stops polling
# (`stop`, known done when the `show lcores` after it has printed) before the generator goes,
# and starts again once it is gone.
gen_stop_quiesced() {
	local n0 t0
	n0=$(grep -c 'lcore [0-9]* (socket' "$SF_LOG" || true)
	sleep 1 # what is still in the rings is received first
	sf_cmd stop
	sf_cmd show lcores
	t0=$(date +%s)
	until [ "$(grep -c 'lcore [0-9]* (socket' "$SF_LOG" || true)" -gt "$n0" ]; do
		[ $(($(date +%s) - t0)) -lt 10 ] || break
		sleep 0.1
	done
	stop_gen
	sf_cmd start
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- synfin: the memif server, first; its command line reads a FIFO this script holds open ----
SF_VDEV=()
for ((p = 0; p < NPORTS; p++)); do
	SF_VDEV+=("--vdev=net_memif$p,role=server,socket=$RUN/memif$p.sock,rsize=$MEMIF_RSIZE")
done
mkfifo "$RUN/cli" || die "mkfifo"
# shellcheck disable=SC2086
"$SYNFIN" -l "$SF_L" --no-pci --file-prefix "sf-run-$TAG" --huge-unlink "${SF_VDEV[@]}" \
	-- --stats-period 1 -i $SF_OPTS <"$RUN/cli" >"$SF_LOG" 2>&1 &
SF_PID=$!
exec 7>"$RUN/cli"
sf_cmd() { echo "$*" >&7; }
for ((i = 0; i < 200; i++)); do
	grep -q "polls port" "$SF_LOG" 2>/dev/null && break
	kill -0 "$SF_PID" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "polls port" "$SF_LOG"; then
	tail -5 "$SF_LOG" >&2
	skip "synfin did not bring up its memif port(s) (log: $SF_LOG)"
fi
echo "run.sh: synfin (pid $SF_PID) on CPU(s) $SF_L, $NPORTS memif port(s); $GEN on CPU(s) ${GCPU[*]}; $PCAP: $NPKT packets, $AVGLEN B average" >&2

# ---- the generator: the memif client ----
# pktgen's rate is a percent of the link speed for the pcap's average frame on the wire
# (frame + 4 FCS + 20 preamble and gap).
pct() { awk -v r="$1" -v l="$AVGLEN" -v m="$LINK_MBPS" 'BEGIN { p = r * (l + 24) * 8 / (m * 1e4); if (p > 100) p = 100; printf "%.4f", p }'; }

# Start the generator at rate $1 (pps, 0: full speed) for DURATION seconds; sets GEN_PID.
gen_start() {
	local rate=$1 vdev=() p m
	for ((p = 0; p < NPORTS; p++)); do
		vdev+=("--vdev=net_memif$p,role=client,socket=$RUN/memif$p.sock,rsize=$MEMIF_RSIZE")
	done
	case $GEN in
	testpmd)
		local pv=() mbuf=$(((MAXLEN + 128 + 63) / 64 * 64))
		[ "$mbuf" -lt 256 ] && mbuf=256
		# ports pcap0, memif0, pcap1, memif1, ..: io forwarding pairs 0-1, 2-3, ..
		for ((p = 0; p < NPORTS; p++)); do
			pv+=("--vdev=net_pcap$p,rx_pcap=$PCAP,infinite_rx=1" "${vdev[$p]}")
		done
		# io forwarding that retries a full memif ring (up to 1 s) instead of dropping: as
		# pktgen, it then sends at the receiver's speed and the stream keeps every packet;
		# --no-flush-rx: testpmd's RX flush before forwarding would read an arbitrary number
		# of frames off the infinite pcap, so the stream would start inside connections
		printf 'set fwd io retry\nset burst tx delay 1 retry 1000000\n' >"$RUN/testpmd.cmds"
		"$TESTPMD" --lcores "$GEN_L" --no-pci --file-prefix "gen-run-$TAG" --huge-unlink \
			"${pv[@]}" -- --cmdline-file="$RUN/testpmd.cmds" --auto-start --stats-period 1 \
			--no-flush-rx \
			--nb-cores="$NPORTS" --mbuf-size="$mbuf" \
			--total-num-mbufs=$(((NPKT + 8192) * NPORTS + 16384)) \
			</dev/null >"$GEN_LOG" 2>&1 &
		GEN_PID=$! ;;
	replay)
		"$REPLAY" --lcores "$GEN_L" --no-pci --file-prefix "gen-run-$TAG" --huge-unlink \
			"${vdev[@]}" -- --pcap "$PCAP" --rate "$rate" --seconds "$DURATION" --linger \
			</dev/null >"$GEN_LOG" 2>&1 &
		GEN_PID=$! ;;
	pktgen)
		m=1.0 # lcore i + 1 does RX and TX of port i
		for ((p = 1; p < NPORTS; p++)); do m="$m,$((p + 1)).$p"; done
		{
			echo "# written by run.sh: replay the pcap on every port at $rate pps"
			for ((p = 0; p < NPORTS; p++)); do
				echo "enable $p pcap"
				[ "$rate" != 0 ] && echo "set $p rate $(pct "$rate")"
				[ "$rate" = 0 ] && echo "set $p rate 100"
			done
			echo "start all"
		} >"$RUN/run.pkt"
		local s=() cmd
		for ((p = 0; p < NPORTS; p++)); do s+=(-s "$p:$PCAP"); done
		cmd="exec $PKTGEN --lcores $GEN_L -n 4 --no-pci --file-prefix gen-run-$TAG --huge-unlink ${vdev[*]} -- -P -m $m ${s[*]} -f $RUN/run.pkt"
		echo "run.sh: pktgen: $cmd" >&2
		# pktgen needs a terminal: its own pseudo-terminal, the screen going to the log
		script -qfc "$cmd" "$GEN_LOG" </dev/null >/dev/null 2>&1 &
		GEN_PID=$! ;;
	esac
	[ "$rate" != 0 ] && [ "$GEN" = pktgen ] && echo "run.sh: $rate pps = $(pct "$rate") % of $LINK_MBPS Mb/s" >&2
	return 0
}

# Run one measurement at rate $1; $2: "step" to print the STEP line (sweep).
measure() {
	local rate=$1 from to offered=() t0
	from=$(wc -l <"$SF_LOG")
	gen_start "$rate"
	# bounded in time: up to 60 s for the generator to start sending (testpmd and pktgen load
	# the whole pcap first), then DURATION seconds of traffic
	t0=$(date +%s)
	until sed -n "$((from + 1)),\$p" "$SF_LOG" | grep -q 'rates (since last show): Rx-pps [1-9]'; do
		kill -0 "$GEN_PID" 2>/dev/null || break
		[ $(($(date +%s) - t0)) -lt 60 ] || break
		sleep 0.2
	done
	t0=$(date +%s)
	while kill -0 "$GEN_PID" 2>/dev/null; do
		# synfin-replay stops sending after DURATION (from its link-up) and says so; the others
		# are stopped
		if [ "$GEN" = replay ]; then
			grep -q '^REPLAY offered=' "$GEN_LOG" 2>/dev/null && break
			[ $(($(date +%s) - t0)) -lt $((DURATION + 10)) ] || break
		else
			[ $(($(date +%s) - t0)) -lt "$DURATION" ] || break
		fi
		sleep 0.2
	done
	gen_stop_quiesced
	sleep 2 # synfin prints once more after the last packet
	to=$(wc -l <"$SF_LOG")
	if [ "${2:-}" = step ]; then
		local off
		if [ "$GEN" = replay ]; then
			off=$(sed -n 's/^REPLAY offered=\([0-9]*\).*/\1/p' "$GEN_LOG")
		else
			off=$((rate * DURATION))
		fi
		offered=(--offered "${off:-0}")
	fi
	python3 "$HERE/result.py" "$SF_LOG" --from "$from" --to "$to" --gen "$GEN" "$GEN_LOG" \
		"${offered[@]}"
}

if [ -z "$SWEEP" ]; then
	# (not in a $(subshell): the EXIT trap must see the generator's PID)
	measure "$RATE" >"$RUN/measure.out" || die "no result"
	res=$(cat "$RUN/measure.out")
	kill -0 "$SF_PID" 2>/dev/null || die "synfin exited during the run (log: $SF_LOG)"
	sf_cmd quit
	stop_pid "$SF_PID" INT 10
	SF_PID=
	# synfin's own port totals survive the memif peer's disconnect: the final print must still
	# count what the ports received
	final=$(sed -n '/final statistics/,$p' "$SF_LOG")
	ports_rx=$(printf '%s\n' "$final" | awk '/NIC statistics/ {p = 1} /synfin statistics/ {p = 0} p && /RX-packets:/ {s += $2} END {print s + 0}')
	trk_rx=$(printf '%s\n' "$final" | awk '/synfin statistics/ {t = 1} t && /RX-packets:/ {print $2; exit}')
	echo "run.sh: final: ports RX-packets $ports_rx, tracker RX-packets ${trk_rx:-?}; logs in $OUT" >&2
	[ "$ports_rx" -gt 0 ] && [ "$ports_rx" = "${trk_rx:-}" ] ||
		echo "run.sh: warning: the ports' totals do not match the tracker's" >&2
	printf '%s\n' "$res" | grep '^RESULT'
	exit 0
fi

best=0 best_res=
for r in $SWEEP; do
	case $r in '' | *[!0-9]*) die "SWEEP: '$r' is not a packet rate" ;; esac
	# the generator starts the pcap from its first packet again: so does the table
	sf_cmd flush flows
	sleep 1
	measure "$r" step >"$RUN/measure.out" || die "no result at $r pps"
	out=$(cat "$RUN/measure.out")
	step=$(printf '%s\n' "$out" | grep '^STEP')
	loss=$(printf '%s\n' "$step" | sed -n 's/.*loss_pct=\([0-9.]*\).*/\1/p')
	echo "STEP pps=$r ${step#STEP }"
	if awk -v l="${loss:-100}" -v t="$LOSS_PCT" 'BEGIN { exit !(l <= t) }'; then
		best=$r
		best_res=$(printf '%s\n' "$out" | grep '^RESULT')
	fi
done
echo "SWEEP zero_loss_pps=$best (highest step with loss <= $LOSS_PCT %)"
[ -n "$best_res" ] && echo "$best_res zero_loss_pps=$best" || echo "RESULT tx_mpps=na rx_mpps=0 rx_missed=0 invalid_pct=0 created_per_s=0 closed_per_s=0 zero_loss_pps=0"
