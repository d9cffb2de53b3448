#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# End to end on the same virtual ports, one invocation: dpdk-testpmd io forwarding and synfin
# --mode inline (both measured by bench/e2e-vdev.sh, unchanged), then OVS-DPDK (Debian's
# openvswitch-switch-dpdk, OVS 3.1) forwarding port 1 <-> port 2 through its userspace conntrack:
#   table=0 tcp,ct_state=-trk          -> ct(table=1)
#   table=1 tcp,ct_state=+trk+new      -> ct(commit), output to the other port
#   table=1 tcp,ct_state=+trk+est      -> output to the other port        (anything else: drop)
# Ports: two net_pcap vdevs with infinite_rx=1 replaying the pcap e2e-vdev.sh replays (written
# by the same synfin-bench command), with TCP checksums filled in (pcap-tcp-csum.py: net_pcap
# offers no checksum offload, so OVS verifies them in software and would drop zero ones as
# invalid). The sequence numbers go back at every replay: synfin runs --liberal, OVS with
# dpctl/ct-disable-tcp-seq-chk. One PMD thread on lcore FWD_LCORE (1), as testpmd's and synfin's
# forwarding lcore; OVS's other threads on lcore MAIN_LCORE (0). Measured: the sum of both
# ports' TX packets per second (ovs-ofctl dump-ports once a second, median of the differences);
# then, for scale, the same OVS forwarding port to port with no ct() at all.
#
# ovsdb-server and ovs-vswitchd run from a private directory BUILD/peers/ovs-dpdk/run (own db,
# sockets, pid and log files); both are stopped by PID at the end, on error and on a signal.
# DPDK runs without hugepages (--no-huge, via other_config:dpdk-extra); if OVS cannot start that
# way the script says so and retries with 2 MB hugepages where they can be reserved.
#
# The three are run in turn ROUNDS times (default 3) and the medians printed.
#
# Usage: bench/peers/ovs-dpdk.sh [-b BUILD_DIR] [-t SECONDS] [-f FLOWS] [-n ROUNDS] [-O]
#        (-O: OVS only, no testpmd/synfin)
set -eu
CMDLINE="$0 $*"
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD=build
T=8
FLOWS=1000
ROUNDS=3
E2E=1
while getopts b:t:f:n:O o; do
	case $o in
	b) BUILD=$OPTARG ;;
	t) T=$OPTARG ;;
	f) FLOWS=$OPTARG ;;
	n) ROUNDS=$OPTARG ;;
	O) E2E=0 ;;
	*) echo "usage: $0 [-b BUILD_DIR] [-t SECONDS] [-f FLOWS] [-n ROUNDS] [-O]" >&2; exit 2 ;;
	esac
done
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
P=$BUILD/peers/ovs-dpdk
RUN=$P/run
BENCH=$BUILD/bench/synfin-bench
VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
FWD_LCORE=${FWD_LCORE:-1}
MAIN_LCORE=${MAIN_LCORE:-0}
[ -x "$BENCH" ] || { echo "$BENCH not built (meson setup build && ninja -C build)" >&2; exit 1; }

# Debian packages, only when missing. Where no policy-rc.d keeps services from starting on
# install, one is put in place for the install only, so no system-wide OVS is started.
need_pkgs() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" -eq 0 ] || { echo "ovs-dpdk: needs root to install$missing" >&2; exit 1; }
	echo "ovs-dpdk: installing$missing"
	policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		policy=/usr/sbin/policy-rc.d
	fi
	timeout 300 apt-get update -qq || true
	rc=0
	DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends \
		$missing >/dev/null || rc=$?
	[ -z "$policy" ] || rm -f "$policy"
	[ "$rc" = 0 ] || exit "$rc"
}
need_pkgs openvswitch-switch-dpdk dpdk-dev python3
[ -x "$VSWITCHD" ] || { echo "$VSWITCHD missing" >&2; exit 1; }

rm -rf "$RUN"
mkdir -p "$RUN"
OUT=$P/out
mkdir -p "$OUT"
export OVS_RUNDIR="$RUN" OVS_LOGDIR="$RUN" OVS_DBDIR="$RUN" OVS_SYSCONFDIR="$RUN"
VSCTL="timeout 60 ovs-vsctl --db=unix:$RUN/db.sock --timeout=30"
OFCTL="timeout 30 ovs-ofctl"
APPCTL="timeout 30 ovs-appctl -t $RUN/ovs-vswitchd.ctl"

# Stop what this script started, by PID: TERM, then KILL after 10 s.
stop_pid() {
	[ -s "$1" ] || return 0
	pid=$(cat "$1")
	kill "$pid" 2>/dev/null || return 0
	i=0
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 20 ]; do
		sleep 0.5
		i=$((i + 1))
	done
	kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
	stop_pid "$RUN/ovs-vswitchd.pid"
	stop_pid "$RUN/ovsdb-server.pid"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "ovs-dpdk: $CMDLINE"
echo "ovs-dpdk: $(date -u +%Y-%m-%dT%H:%MZ), $(uname -n), $(nproc) CPUs, load" \
	"$(cut -d' ' -f1-3 /proc/loadavg), synfin $(git rev-parse --short HEAD 2>/dev/null || echo '?')," \
	"$(dpkg-query -W -f='${Package} ${Version}' openvswitch-switch-dpdk)"

# The same frames (e2e-vdev.sh's generator command) with TCP checksums, for OVS.
timeout 120 "$BENCH" -l "$MAIN_LCORE" --no-huge --no-pci --no-shconf -m 256 --log-level=error \
	--file-prefix ovsdpdk-gen -- --workload established --concurrent "$FLOWS" \
	--packets $((2 * FLOWS)) --write-pcap "$P/e2e.pcap" >/dev/null
timeout 120 python3 "$ROOT/bench/peers/pcap-tcp-csum.py" "$P/e2e.pcap" "$P/e2e-csum.pcap"

# Start ovsdb-server and ovs-vswitchd (DPDK EAL options $1). @return 0 when both ports are up.
start_ovs() {
	cleanup
	rm -f "$RUN"/*
	timeout 30 ovsdb-tool create "$RUN/conf.db" "$SCHEMA"
	timeout 30 ovsdb-server "$RUN/conf.db" --remote="punix:$RUN/db.sock" \
		--pidfile="$RUN/ovsdb-server.pid" --unixctl="$RUN/ovsdb-server.ctl" \
		--log-file="$RUN/ovsdb-server.log" -vconsole:off --detach \
		>"$RUN/ovsdb-server.console" 2>&1
	$VSCTL --no-wait init
	$VSCTL --no-wait set Open_vSwitch . other_config:dpdk-init=true \
		other_config:dpdk-lcore-mask="$(printf 0x%x $((1 << MAIN_LCORE)))" \
		other_config:pmd-cpu-mask="$(printf 0x%x $((1 << FWD_LCORE)))" \
		other_config:dpdk-extra="$1"
	timeout 60 "$VSWITCHD" "unix:$RUN/db.sock" --pidfile="$RUN/ovs-vswitchd.pid" \
		--unixctl="$RUN/ovs-vswitchd.ctl" --log-file="$RUN/ovs-vswitchd.log" -vconsole:off \
		--detach >"$RUN/ovs-vswitchd.console" 2>&1 ||
		return 1
	i=0
	until [ "$($VSCTL get Open_vSwitch . dpdk_initialized 2>/dev/null)" = true ]; do
		[ "$i" -lt 60 ] && kill -0 "$(cat "$RUN/ovs-vswitchd.pid")" 2>/dev/null || return 1
		sleep 0.5
		i=$((i + 1))
	done
	$VSCTL add-br br0 -- set bridge br0 datapath_type=netdev
	for n in 0 1; do
		$VSCTL add-port br0 "p$n" -- set Interface "p$n" type=dpdk ofport_request=$((n + 1)) \
			"options:dpdk-devargs=net_pcap$n,rx_pcap=$P/e2e-csum.pcap,infinite_rx=1" ||
			return 1
		err=$($VSCTL get Interface "p$n" error 2>/dev/null || echo '?')
		[ "$err" = "[]" ] || { echo "ovs-dpdk: port p$n: $err" >&2; return 1; }
	done
}

flows() {
	cat <<-EOF
	table=0,priority=10,tcp,ct_state=-trk,actions=ct(table=1)
	table=0,priority=0,actions=drop
	table=1,priority=10,tcp,ct_state=+trk+new,in_port=1,actions=ct(commit),output:2
	table=1,priority=10,tcp,ct_state=+trk+new,in_port=2,actions=ct(commit),output:1
	table=1,priority=10,tcp,ct_state=+trk+est,in_port=1,actions=output:2
	table=1,priority=10,tcp,ct_state=+trk+est,in_port=2,actions=output:1
	table=1,priority=0,actions=drop
	EOF
}

# sum of the TX packets of OpenFlow ports 1 and 2, and the time, one line
sample() {
	$OFCTL dump-ports br0 | awk -v t="$(date +%s.%N)" '
		/port +[12]:/ { p = 1; next }
		p && /tx pkts=/ { sub(/.*tx pkts=/, ""); sub(/,.*/, ""); s += $0; p = 0 }
		END { printf "%s %d\n", t, s }'
}

# Forwarded packets per second over T s into file $1: T + 2 samples 1 s apart, the first
# interval (start-up) left out, the median of the others.
measure() {
	: >"$1"
	i=0
	while [ "$i" -le $((T + 1)) ]; do
		sample >>"$1"
		sleep 1
		i=$((i + 1))
	done
	awk 'NR > 1 { printf "%.0f\n", ($2 - s) / ($1 - t) } { t = $1; s = $2 }' "$1" | sed '1d' |
		sort -n | awk '{ a[n++] = $1 } END { print n ? a[int(n/2)] : 0 }'
}
# Start OVS-DPDK without hugepages, else with them (sets $mode), or give up.
# --legacy-mem: --no-huge implies it, and OVS adds --in-memory (which excludes it) unless told.
start_ovs_any() {
	if [ "$mode" = "no hugepages" ] &&
		start_ovs "--no-huge -m 2048 --legacy-mem --no-pci --no-shconf --file-prefix ovsdpdk-bench"; then
		return 0
	fi
	if [ "$mode" = "no hugepages" ]; then
		echo "ovs-dpdk: OVS-DPDK did not start without hugepages (log: $OUT/ovs-vswitchd-nohuge.log);" \
			"retrying with 2 MB hugepages" >&2
		cp "$RUN/ovs-vswitchd.log" "$OUT/ovs-vswitchd-nohuge.log" 2>/dev/null || true
		timeout 60 dpdk-hugepages.py --setup 2G >/dev/null 2>&1 || true
		free_mb=$(awk '/^HugePages_Free/ { f = $2 } /^Hugepagesize/ { s = $2 }
			END { print int(f * s / 1024) }' /proc/meminfo)
		if ! grep -q hugetlbfs /proc/mounts || [ "$free_mb" -lt 1024 ]; then
			echo "ovs-dpdk: no 1 GB of free hugepages here (dpdk-hugepages.py --setup 2G:" \
				"$free_mb MB free): OVS-DPDK not measured" >&2
			exit 1
		fi
		mode="2 MB hugepages"
	fi
	start_ovs "--no-pci --socket-mem 1024 --file-prefix ovsdpdk-bench" ||
		{ echo "ovs-dpdk: OVS-DPDK did not start with hugepages either" >&2; exit 1; }
}

# One round: testpmd io and synfin inline (bench/e2e-vdev.sh), then OVS-DPDK with the ct
# pipeline and port to port; OVS runs only during its own part (its PMD polls its core).
round() {
	r=$1
	if [ "$E2E" = 1 ]; then
		timeout $((4 * T + 180)) "$ROOT/bench/e2e-vdev.sh" -b "$BUILD" -t "$T" -f "$FLOWS" \
			>"$OUT/e2e-vdev-$r.txt" 2>&1 || { cat "$OUT/e2e-vdev-$r.txt" >&2; exit 1; }
		tp=$(sed -n 's/^RESULT .*e2e_testpmd_pps=\([0-9]*\).*/\1/p' "$OUT/e2e-vdev-$r.txt")
		sf=$(sed -n 's/^RESULT .*e2e_synfin_pps=\([0-9]*\).*/\1/p' "$OUT/e2e-vdev-$r.txt")
		echo "$tp" >>"$OUT/testpmd.pps"
		echo "$sf" >>"$OUT/synfin.pps"
	fi
	start_ovs_any
	flows | $OFCTL add-flows br0 -
	$APPCTL dpctl/ct-disable-tcp-seq-chk >/dev/null
	$APPCTL dpif-netdev/pmd-stats-clear >/dev/null
	ov=$(measure "$OUT/ovs-samples-$r.txt")
	{
		$OFCTL dump-flows br0
		$APPCTL dpif-netdev/pmd-stats-show
		echo "conntrack entries: $($APPCTL dpctl/dump-conntrack | wc -l)"
	} >"$OUT/ovs-state-$r.txt" 2>&1 || true
	# For scale: the same OVS forwarding port to port without the conntrack pipeline.
	$OFCTL del-flows br0
	printf 'in_port=1,actions=output:2\nin_port=2,actions=output:1\n' | $OFCTL add-flows br0 -
	ovp=$(measure "$OUT/ovs-plain-samples-$r.txt")
	cleanup
	echo "$ov" >>"$OUT/ovs.pps"
	echo "$ovp" >>"$OUT/ovs-plain.pps"
	echo "  round $r: testpmd io ${tp:-0} pps, synfin inline ${sf:-0} pps, OVS-DPDK ct $ov pps," \
		"OVS-DPDK port to port $ovp pps"
}

median() { sort -n | awk '{ a[n++] = $1 } END { print n ? a[int((n - 1) / 2)] : 0 }'; }
mode="no hugepages"
for f in testpmd synfin ovs ovs-plain; do : >"$OUT/$f.pps"; done
r=1
while [ "$r" -le "$ROUNDS" ]; do
	round "$r"
	r=$((r + 1))
done
tp=$(median <"$OUT/testpmd.pps")
sf=$(median <"$OUT/synfin.pps")
ov=$(median <"$OUT/ovs.pps")
ovp=$(median <"$OUT/ovs-plain.pps")

echo "e2e (net_pcap infinite_rx x2, TX drop, one forwarding core, $FLOWS flows, $T s each," \
	"median of $ROUNDS alternating rounds):"
echo "  dpdk-testpmd io : $tp pps"
echo "  synfin inline   : $sf pps"
echo "  OVS-DPDK ct     : $ov pps ($mode)"
echo "  (OVS-DPDK port to port, no ct: $ovp pps)"
awk -v t="$tp" -v s="$sf" -v o="$ov" 'BEGIN {
	if (t > 0) printf "  of testpmd io  : synfin %.1f %%, OVS-DPDK %.1f %%\n", 100 * s / t, 100 * o / t
	if (o > 0) printf "  synfin / OVS   : %.2fx\n", s / o }'
sed -n 's/^conntrack entries/  OVS (last round) &/p' "$OUT/ovs-state-$ROUNDS.txt"
awk -v t="$tp" -v s="$sf" -v o="$ov" 'BEGIN {
	printf "RESULT e2e_testpmd_pps=%d e2e_synfin_pps=%d e2e_ovs_ct_pps=%d", t, s, o
	printf " synfin_pct=%.1f ovs_pct=%.1f synfin_over_ovs=%.2f\n", (t > 0 ? 100 * s / t : 0),
		(t > 0 ? 100 * o / t : 0), (o > 0 ? s / o : 0) }'
echo "RESULT e2e_ovs_plain_pps=$ovp"
