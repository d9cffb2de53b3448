#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Records TCP scenarios between real Linux TCP stacks, with the kernel's conntrack as the oracle.
# Three network namespaces (client - router - server, veth pairs, 198.18.0.0/15 addresses, no
# link to the host's namespace) carry connections made by test/real/tcpapp.py; the router
# forwards and tracks them (nftables rule with a ct expression), tcpdump captures them on the
# router's client-side interface. Per scenario it saves NAME.pcap, NAME.conntrack.txt (conntrack
# -L at the end), NAME.events.txt (conntrack -E during the scenario), NAME.ss-client.txt and
# NAME.ss-server.txt (ss -tan at the end) in the output directory. With --xdp, synfin-xdp runs on
# the router during the whole recording (attached to r-c and r-s, monitor mode, the kernel's
# clock) and its flows of the scenario's port are taken through its --control socket at the
# moment conntrack -L is: NAME.xdp.flows.json (and its statistics, NAME.xdp.stats.txt). Exits 77
# (skip) when it cannot create namespaces, or with --xdp when the XDP program cannot be loaded
# or attached here. See test/real/README.md.
#
# Usage: mkscenarios.sh [-o OUTDIR] [--only NAME[,NAME...]] [--quickstart OUT.pcap] [--xdp SYNFIN_XDP] [--list]
# shellcheck disable=SC2086 # $SCENARIOS and $ONLY are word lists
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/out
ONLY=""
QUICK=""
XDP="" # --xdp: the synfin-xdp binary
# Extra synfin-xdp options (e.g. XDP_ARGS=--generic), word-split.
XDP_ARGS=${XDP_ARGS:-}
SCENARIOS="normal_close server_close half_close rst_abort refused syn_blackhole
	simultaneous_close many open timewait_reuse loss tfo_accepted tfo_refused spoofed_rst
	rst_challenge udp_dns udp_stream udp_unreach icmp_echo"

usage() {
	sed -n 's/^# Usage: //p' "$0"
	echo "scenarios:" $SCENARIOS # unquoted: one line
}

while [ $# -gt 0 ]; do
	case "$1" in
	-o) OUT=$2; shift 2 ;;
	--only) ONLY=$(echo "$2" | tr , ' '); shift 2 ;;
	--quickstart) QUICK=$2; shift 2 ;;
	--xdp) XDP=$2; shift 2 ;;
	--list) echo $SCENARIOS; exit 0 ;; # unquoted: one line
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, nftables, tcpdump)"
for t in ip nft conntrack tcpdump ss ethtool python3 timeout stdbuf; do
	command -v "$t" >/dev/null || skip "$t not found"
done
if [ -n "$XDP" ] && [ ! -x "$XDP" ]; then
	echo "mkscenarios: --xdp $XDP: not an executable" >&2
	exit 2
fi

P=sf-$$
NS_C=$P-client
NS_R=$P-router
NS_S=$P-server
C_ADDR=198.18.1.2
R_CADDR=198.18.1.1
R_SADDR=198.18.2.1
S_ADDR=198.18.2.2
S_DEAD=198.18.2.3 # on the server, nothing listens on it: connection refused
APP=(python3 "$HERE/tcpapp.py")
BG=()

log() { echo "[mkscenarios $(date +%T)] $*" >&2; }

# stop PID [STEPS]: stops one background job that this script started (SIGTERM, then SIGKILL
# after STEPS x 20 ms, default 50) and reaps it; its exit status is left in STOP_RC.
stop() {
	local pid=$1 steps=${2:-50}
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq "$steps"); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	STOP_RC=$?
	return 0
}

cleanup() {
	local pid ns
	for pid in "${BG[@]}"; do
		stop "$pid"
	done
	for ns in "$NS_C" "$NS_S" "$NS_R"; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${XDP_DIR:-}" ] && rm -rf "$XDP_DIR"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts a command in the background, remembers its pid in $LAST (and in BG for cleanup).
spawn() {
	"$@" &
	LAST=$!
	BG+=("$LAST")
}

# wait_for FILE PATTERN SECONDS [PID]: waits until FILE contains PATTERN; fails on timeout or
# when PID has exited without writing it.
wait_for() {
	local file=$1 pat=$2 secs=$3 pid=${4:-}
	for _ in $(seq $((secs * 20))); do
		grep -q -- "$pat" "$file" 2>/dev/null && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			grep -q -- "$pat" "$file" 2>/dev/null && return 0
			return 1
		fi
		sleep 0.05
	done
	return 1
}

nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# ---------------------------------------------------------------------------------- topology

setup() {
	ip netns add "$NS_R" 2>/dev/null || skip "cannot create network namespaces (ip netns add)"
	ip netns add "$NS_C" && ip netns add "$NS_S" || return 1
	ip -n "$NS_R" link add r-c type veth peer name c-r netns "$NS_C" || return 1
	ip -n "$NS_R" link add r-s type veth peer name s-r netns "$NS_S" || return 1
	local ns
	for ns in "$NS_C" "$NS_R" "$NS_S"; do
		ip -n "$ns" link set lo up
		nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		nsx "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	done
	ip -n "$NS_C" addr add $C_ADDR/24 dev c-r
	ip -n "$NS_R" addr add $R_CADDR/24 dev r-c
	ip -n "$NS_R" addr add $R_SADDR/24 dev r-s
	ip -n "$NS_S" addr add $S_ADDR/24 dev s-r
	ip -n "$NS_S" addr add $S_DEAD/24 dev s-r
	# No offloads: frames on the wire (and in the pcap) are MTU-sized with real checksums,
	# as synfin would see them on a NIC.
	nsx "$NS_C" ethtool -K c-r tso off gso off gro off tx off rx off >/dev/null 2>&1
	nsx "$NS_S" ethtool -K s-r tso off gso off gro off tx off rx off >/dev/null 2>&1
	nsx "$NS_R" ethtool -K r-c tso off gso off gro off tx off rx off >/dev/null 2>&1
	nsx "$NS_R" ethtool -K r-s tso off gso off gro off tx off rx off >/dev/null 2>&1
	ip -n "$NS_C" link set c-r up
	ip -n "$NS_S" link set s-r up
	ip -n "$NS_R" link set r-c up
	ip -n "$NS_R" link set r-s up
	# Routes only towards the other namespace: nothing can leave.
	ip -n "$NS_C" route add 198.18.2.0/24 via $R_CADDR || return 1
	ip -n "$NS_S" route add 198.18.1.0/24 via $R_SADDR || return 1
	nsx "$NS_R" sysctl -qw net.ipv4.ip_forward=1 || return 1
	# Per-direction packet and byte counters in conntrack -L, compared with synfin's.
	nsx "$NS_R" sysctl -qw net.netfilter.nf_conntrack_acct=1 || return 1
	# A ct expression makes the kernel register conntrack in the router's namespace.
	nsx "$NS_R" nft -f - <<-EOF || return 1
		table inet sf {
			chain fw {
				type filter hook forward priority 0; policy accept;
				ct state new,established,related,invalid counter accept
			}
		}
	EOF
	nsx "$NS_R" sysctl -a 2>/dev/null | grep -E 'nf_conntrack_tcp|nf_conntrack_(acct|checksum)' \
		>"$OUT/router.sysctl.txt"
	nsx "$NS_C" ip route get $S_ADDR >/dev/null 2>&1 || { log "no route client -> server"; return 1; }
	return 0
}

# ---------------------------------------------------------------------- synfin-xdp (--xdp)

XDP_PID=""
XDP_DIR=""
XDP_CTL=""
XDP_LOG=""

# Starts synfin-xdp on both router interfaces (XDP sees ingress only: r-c gives the client's
# segments, r-s the server's; one flow map), monitor mode, live clock. Skips (77) where BPF or
# XDP is not permitted or not supported here; fails when it does not come up otherwise.
xdp_start() {
	XDP_DIR=$(mktemp -d /tmp/sfxdp.XXXXXX) || return 1
	XDP_CTL=$XDP_DIR/ctl # a short path: a Unix socket's is at most 107 bytes
	XDP_LOG=$OUT/synfin-xdp.log
	# shellcheck disable=SC2086 # XDP_ARGS is a list of words
	spawn ip netns exec "$NS_R" "$XDP" --iface r-c,r-s --mode monitor --control "$XDP_CTL" \
		$XDP_ARGS >"$XDP_LOG" 2>&1
	XDP_PID=$LAST
	if ! wait_for "$XDP_LOG" "commands on" 20 "$XDP_PID"; then
		tail -5 "$XDP_LOG" >&2
		# the errors of a kernel or a sandbox without BPF/XDP, not of a bad option; not EACCES
		# (Permission denied), which is how the verifier rejects a program: that fails
		local nobpf="cannot (load|attach).*(not permitted|not implemented|not supported)"
		if grep -qE "$nobpf" "$XDP_LOG"; then
			skip "synfin-xdp cannot load or attach its XDP program here ($(grep -m1 -E "$nobpf" "$XDP_LOG"))"
		fi
		log "synfin-xdp did not start (see $XDP_LOG)"
		return 1
	fi
	log "synfin-xdp: $(grep -E '^synfin-xdp: attached' "$XDP_LOG" | sed 's/^synfin-xdp: //' | paste -sd, -)"
	return 0
}

# xdp_cmd COMMAND: synfin-xdp's answer to one command on its control socket (stdout).
xdp_cmd() {
	timeout 20 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(15)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
s.shutdown(socket.SHUT_WR)
while True:
    b = s.recv(65536)
    if not b:
        break
    sys.stdout.buffer.write(b)
' "$XDP_CTL" "$1"
}

# xdp_snapshot BASE PORT: synfin-xdp's flows with PORT at either end, now (when conntrack -L
# is taken), as BASE.xdp.flows.json; its statistics as BASE.xdp.stats.txt.
xdp_snapshot() {
	local base=$1 port=$2
	[ -n "$XDP" ] || return 0
	if ! xdp_cmd "show flows json port $port" >"$base.xdp.flows.json"; then
		log "$(basename "$base"): no answer from synfin-xdp's control socket"
		rm -f "$base.xdp.flows.json"
		return 1
	fi
	xdp_cmd "show stats" >"$base.xdp.stats.txt"
	return 0
}

# Stops synfin-xdp (SIGTERM): it must exit 0 having detached from both interfaces.
xdp_stop() {
	local rc i
	[ -n "$XDP_PID" ] || return 0
	stop "$XDP_PID" 250 # 5 s to detach from both interfaces
	rc=$STOP_RC
	local -a keep=()
	for i in "${BG[@]}"; do
		[ "$i" = "$XDP_PID" ] || keep+=("$i")
	done
	BG=("${keep[@]}") # reaped: cleanup must not signal its pid again
	XDP_PID=""
	if [ $rc -ne 0 ] || [ "$(grep -c '^synfin-xdp: detached from' "$XDP_LOG")" -ne 2 ]; then
		log "synfin-xdp: exit status $rc, $(grep -c '^synfin-xdp: detached from' "$XDP_LOG") of 2 interfaces detached (see $XDP_LOG)"
		return 1
	fi
	if nsx "$NS_R" ip link show | grep -q 'prog/xdp'; then
		log "synfin-xdp: an XDP program is still attached on the router"
		return 1
	fi
	log "synfin-xdp: stopped, detached from r-c and r-s"
	return 0
}

# ------------------------------------------------------------------------- scenario hooks

# SYN to a blackholed server: the server's own input drops it, so the router still tracks it.
pre_syn_blackhole() {
	nsx "$NS_S" nft -f - <<-EOF
		table inet sfbh {
			chain in { type filter hook input priority 0; tcp dport $1 drop; }
		}
	EOF
}
post_syn_blackhole() { nsx "$NS_S" nft delete table inet sfbh; }

# Packet loss on the client side of the router (sch_netem is not in every kernel, and loss
# outside the router keeps the capture and the router's conntrack seeing the same packets):
# 12% of client->server segments die before the router (the router sees a gap), 12% of
# server->client ones after it (the router sees the original and the retransmission).
pre_loss() {
	nsx "$NS_C" nft -f - <<-EOF
		table inet sfloss {
			chain out { type filter hook output priority 0; tcp dport $1 numgen random mod 100 < 12 drop; }
			chain in { type filter hook input priority 0; tcp sport $1 numgen random mod 100 < 12 drop; }
		}
	EOF
}
post_loss() { nsx "$NS_C" nft delete table inet sfloss; }

# TCP Fast Open (RFC 7413) in both endpoints (3: client and server). The listener of tcpapp.py
# always asks for it (TCP_FASTOPEN); the client's "tfo" connections use TCP_FASTOPEN_CONNECT.
# The cookie cache and the server key are the namespaces' own.
tfo_on() {
	nsx "$NS_C" sysctl -qw net.ipv4.tcp_fastopen=3
	nsx "$NS_S" sysctl -qw net.ipv4.tcp_fastopen=3
}
pre_tfo_accepted() { tfo_on; }
pre_tfo_refused() { tfo_on; }

# A spoofed RST+ACK right after the SYN (sent by the client namespace with TTL 1: the router's
# conntrack sees it, the client never gets it). The server's first SYN+ACK is dropped at its
# output and the client's SYN retransmissions at its output, so the wire shows SYN, RST+ACK, the
# server's retransmitted SYN+ACK, and the connection (see tcpapp.py "spoofrst").
pre_spoofed_rst() {
	nsx "$NS_S" nft -f - <<-EOF
		table inet sfsp {
			chain out {
				type filter hook output priority 0;
				tcp sport $1 tcp flags & (syn | ack) == syn | ack limit rate 1/hour burst 1 packets drop
			}
		}
	EOF
	nsx "$NS_C" nft -f - <<-EOF
		table inet sfsp {
			chain out {
				type filter hook output priority 0;
				tcp dport $1 tcp flags & (syn | ack) == syn limit rate over 1/hour burst 1 packets drop
			}
		}
	EOF
}
post_spoofed_rst() {
	nsx "$NS_S" nft delete table inet sfsp
	nsx "$NS_C" nft delete table inet sfsp
}

# ------------------------------------------------------------------------------ one scenario

# settle PORT SECONDS: waits until no socket on PORT, in client or server, is in a transient
# state or holds unacknowledged data (retransmissions under loss, the last FIN/ACK exchange),
# then a little more for the last ACK to cross the router.
settle() {
	local port=$1 secs=$2
	for _ in $(seq $((secs * 10))); do
		if ! { nsx "$NS_C" ss -tanH "( sport = :$port or dport = :$port )"
			nsx "$NS_S" ss -tanH "( sport = :$port or dport = :$port )"; } |
			awk '$1 ~ /^(SYN-|FIN-WAIT|CLOSING|LAST-ACK|CLOSE-WAIT)/ || ($1 == "ESTAB" && $3 > 0) { busy = 1 }
				END { exit !busy }'; then
			sleep 0.3
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# run_scenario NAME PORT SERVER(0|1) CLIENT_TIMEOUT CLIENT_ARGS...
run_scenario() {
	local name=$1 port=$2 with_server=$3 tmo=$4
	shift 4
	local base=$OUT/$name srv="" ev td cl
	rm -f "$base".*
	log "$name (port $port): $*"
	if [ "$with_server" = 1 ]; then
		spawn ip netns exec "$NS_S" timeout 170 "${APP[@]}" server --addr $S_ADDR --port "$port" >"$base.server.log" 2>&1
		srv=$LAST
		wait_for "$base.server.log" READY 5 "$srv" || { log "$name: server did not start"; return 1; }
	fi
	spawn ip netns exec "$NS_R" timeout 170 stdbuf -oL conntrack -E -p tcp --dport "$port" -o timestamp \
		>"$base.events.txt" 2>"$base.events.err"
	ev=$LAST
	spawn ip netns exec "$NS_R" timeout 170 tcpdump -i r-c -s 0 -U --immediate-mode -B 8192 -n -Z root -w "$base.pcap" "tcp port $port" \
		2>"$base.tcpdump.log"
	td=$LAST
	wait_for "$base.tcpdump.log" "listening on" 5 "$td" || { log "$name: tcpdump did not start"; return 1; }
	sleep 0.3 # conntrack -E subscribes quickly; give it time all the same
	nsx "$NS_R" conntrack -S >"$base.stats-before.txt" 2>/dev/null
	declare -F "pre_$name" >/dev/null && "pre_$name" "$port"

	spawn ip netns exec "$NS_C" timeout "$tmo" "${APP[@]}" client --src $C_ADDR --dst $S_ADDR --port "$port" "$@" \
		>"$base.client.log" 2>&1
	cl=$LAST
	local rc=0
	wait_for "$base.client.log" DONE "$tmo" "$cl" || { log "$name: client did not finish"; rc=1; }
	settle "$port" 15 || log "$name: sockets still in transient states (see ss files)"

	nsx "$NS_R" conntrack -L -p tcp --dport "$port" >"$base.conntrack.txt" 2>/dev/null
	xdp_snapshot "$base" "$port" || rc=1
	nsx "$NS_R" conntrack -S >"$base.stats-after.txt" 2>/dev/null
	nsx "$NS_C" ss -tan "( sport = :$port or dport = :$port )" >"$base.ss-client.txt"
	nsx "$NS_S" ss -tan "( sport = :$port or dport = :$port )" >"$base.ss-server.txt"
	sleep 0.1
	stop "$td"
	stop "$ev"
	declare -F "post_$name" >/dev/null && "post_$name" "$port"
	stop "$cl"
	[ -n "$srv" ] && stop "$srv"
	log "$name: $(tcpdump -r "$base.pcap" -n 2>/dev/null | wc -l) packets," \
		"$(grep -c . "$base.conntrack.txt") conntrack entries:" \
		"$(awk '{print $4}' "$base.conntrack.txt" | sort | uniq -c | tr -s ' \n' ' ')"
	return $rc
}

# run_l4 NAME udp|icmp PORT SERVER(0|1) CLIENT_ARGS...: a UDP or ICMP scenario (l4app.py);
# the capture takes the port's UDP and every ICMP packet, conntrack -L the protocol's entries.
run_l4() {
	local name=$1 proto=$2 port=$3 with_server=$4
	shift 4
	local base=$OUT/$name srv="" ev td cl filt
	local -a sel
	rm -f "$base".*
	if [ "$proto" = udp ]; then
		filt="udp port $port or icmp"
		sel=(-p udp --dport "$port")
	else
		filt="icmp"
		sel=(-p icmp)
	fi
	log "$name ($proto $port): $*"
	if [ "$with_server" = 1 ]; then
		spawn ip netns exec "$NS_S" timeout 170 python3 "$HERE/l4app.py" udpserver --addr $S_ADDR \
			--port "$port" >"$base.server.log" 2>&1
		srv=$LAST
		wait_for "$base.server.log" READY 5 "$srv" || { log "$name: server did not start"; return 1; }
	fi
	spawn ip netns exec "$NS_R" timeout 170 stdbuf -oL conntrack -E "${sel[@]}" -o timestamp \
		>"$base.events.txt" 2>"$base.events.err"
	ev=$LAST
	spawn ip netns exec "$NS_R" timeout 170 tcpdump -i r-c -s 0 -U --immediate-mode -B 8192 -n -Z root \
		-w "$base.pcap" "$filt" 2>"$base.tcpdump.log"
	td=$LAST
	wait_for "$base.tcpdump.log" "listening on" 5 "$td" || { log "$name: tcpdump did not start"; return 1; }
	sleep 0.3
	spawn ip netns exec "$NS_C" timeout 30 python3 "$HERE/l4app.py" "$@" --src $C_ADDR --dst $S_ADDR \
		>"$base.client.log" 2>&1
	cl=$LAST
	local rc=0
	wait_for "$base.client.log" DONE 30 "$cl" || { log "$name: client did not finish"; rc=1; }
	sleep 0.3
	nsx "$NS_R" conntrack -L "${sel[@]}" >"$base.conntrack.txt" 2>/dev/null
	xdp_snapshot "$base" "$port" || rc=1 # synfin-xdp tracks TCP only: no flows here
	sleep 0.1
	stop "$td"
	stop "$ev"
	stop "$cl"
	[ -n "$srv" ] && stop "$srv"
	log "$name: $(tcpdump -r "$base.pcap" -n 2>/dev/null | wc -l) packets, client: $(grep DONE "$base.client.log")," \
		"$(grep -c . "$base.conntrack.txt") conntrack entries"
	return $rc
}

scenario() {
	case "$1" in
	normal_close) run_scenario "$1" 5001 1 20 --sport 41001 --cmd cc ;;
	server_close) run_scenario "$1" 5002 1 20 --sport 41002 --cmd sc ;;
	half_close) run_scenario "$1" 5003 1 20 --sport 41003 --cmd half:3000 ;;
	rst_abort) run_scenario "$1" 5004 1 20 --sport 41004 --cmd crst,srst ;;
	refused) run_scenario "$1" 5005 0 20 --sport 41005 --cmd refused ;;
	syn_blackhole) run_scenario "$1" 5006 1 20 --sport 41006 --cmd syn ;;
	simultaneous_close) run_scenario "$1" 5007 1 20 --sport 41007 --cmd simul ;;
	many) run_scenario "$1" 5008 1 60 --many 300 --cmd cc,sc,crst,srst,half:500,hold ;;
	open) run_scenario "$1" 5009 1 20 --sport 41009 --cmd hold ;;
	timewait_reuse) run_scenario "$1" 5010 1 20 --sport 41010 --cmd reuse ;;
	# --io-timeout: under 12 % loss each way, TCP's retransmission backoff on one segment lost
	# again and again has stalled a transfer for 30 s (16.9 s, then 13.1 s without a packet)
	loss) run_scenario "$1" 5011 1 90 --sport 41011 --io-timeout 85 --cmd bulk:100000,bulk:100000 ;;
	tfo_accepted) run_scenario "$1" 5012 1 20 --sport 41013 --cmd tfo,tfo ;;
	tfo_refused) run_scenario "$1" 5013 1 20 --sport 41015 --cmd tforot,tfo ;;
	spoofed_rst) run_scenario "$1" 5014 1 20 --sport 41017 --cmd spoofrst ;;
	rst_challenge) run_scenario "$1" 5015 1 20 --sport 41018 --cmd rstchallenge ;;
	udp_dns) run_l4 "$1" udp 5301 1 dns --sport 41301 --port 5301 ;;
	udp_stream) run_l4 "$1" udp 5302 1 stream --sport 41302 --port 5302 --count 8 --interval 0.4 ;;
	udp_unreach) run_l4 "$1" udp 5303 0 unreach --sport 41303 --port 5303 ;;
	icmp_echo) run_l4 "$1" icmp 0 0 ping --id 5304 --count 3 --interval 0.3 ;;
	quickstart) run_scenario "$1" 5100 1 30 --sport 42000 \
		--cmd cc,sc,crst,srst,refused@$S_DEAD,half:1000,hold ;;
	*) log "unknown scenario $1"; return 1 ;;
	esac
}

mkdir -p "$OUT" || exit 1
setup || { log "topology setup failed"; exit 1; }
if [ -n "$XDP" ]; then
	xdp_start || exit 1
fi

failed=0
if [ -n "$QUICK" ]; then
	scenario quickstart || failed=1
	cp "$OUT/quickstart.pcap" "$QUICK" && log "wrote $QUICK"
else
	for s in ${ONLY:-$SCENARIOS}; do
		scenario "$s" || failed=$((failed + 1))
	done
fi
xdp_stop || failed=$((failed + 1))
log "done: outputs in $OUT ($failed scenario(s) with problems)"
[ "$failed" -eq 0 ]
