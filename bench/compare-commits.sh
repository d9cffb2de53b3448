#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Speedup of one commit over another on the workloads of the performance targets, measured in
# one sitting on one machine: exports both commits (git archive) under build-compare/, builds
# their synfin-bench alike (the project's default build type, as ./test.sh builds), then runs every workload
# OLD, NEW, OLD, NEW, ... (-r times each, alternating so that drift of the machine hits both),
# and prints per workload the medians of both, the ratio NEW/OLD of packets per second (and of
# connections per second for the lifecycle workloads), bytes per flow, and with -i the
# instructions per packet of each (callgrind, bench/instr.sh of the NEW tree: exact, independent
# of the machine's noise).
#
# Usage: bench/compare-commits.sh [-r RUNS] [-n PACKETS] [-w LIST] [-i] OLD NEW
#   OLD, NEW   any git revisions (NEW may be "WORKTREE": the checkout as it is, uncommitted
#              changes included)
#   -r RUNS    runs of each build per workload (default 5; the median is printed)
#   -n PACKETS timed packets per run (default 20000000)
#   -w LIST    comma-separated subset of: lc100k,lc1m,lc10m,est1m,flood (default: all), and
#              lc100k-rec, est1m-rec (flow-end records kept by the worker, no consumer),
#              lc100k-ring, lc100k-json, lc100k-ipfix (lc100k with flow-end records, the consumer
#              on core 1)
#   -i         also count instructions per packet (needs valgrind; minutes per workload)
# Prints one "RESULT" line per workload, e.g.
#   RESULT workload=lc100k old_mpps=8.10 new_mpps=16.02 speedup=1.98 old_ipp=1129 new_ipp=880
# Needs about 3 GiB of memory for lc10m (--no-huge: no hugepages needed).
set -eu
RUNS=5
PKTS=20000000
WL="lc100k,lc1m,lc10m,est1m,flood"
INSTR=0
while getopts r:n:w:i o; do
	case $o in
	r) RUNS=$OPTARG ;;
	n) PKTS=$OPTARG ;;
	w) WL=$OPTARG ;;
	i) INSTR=1 ;;
	*) sed -n '12,21p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || { sed -n '12,21p' "$0" >&2; exit 2; }
top=$(git rev-parse --show-toplevel)
cd "$top"
out=$top/build-compare
mkdir -p "$out"

# tree REV -> directory with that revision's source, built; prints the directory
tree() {
	if [ "$1" = WORKTREE ]; then
		d=$top
		b=$out/worktree-build
	else
		sha=$(git rev-parse --short=12 "$1^{commit}")
		d=$out/src-$sha
		b=$d/build
		if [ ! -f "$d/meson.build" ]; then
			rm -rf "$d"
			mkdir -p "$d"
			git archive "$sha" | tar -x -C "$d"
		fi
	fi
	if [ ! -f "$b/build.ninja" ]; then
		meson setup "$b" "$d" -Dtests=false >/dev/null
	fi
	ninja -C "$b" bench/synfin-bench >/dev/null
	echo "$b"
}

old=$(tree "$1")
new=$(tree "$2")
echo "compare: OLD=$1 ($old) NEW=$2 ($new), $RUNS runs each, alternating, $PKTS packets"

opts() { # workload name -> synfin-bench options
	case $1 in
	lc100k) echo "--workload lifecycle --concurrent 100000" ;;
	lc1m) echo "--workload lifecycle --concurrent 1000000" ;;
	lc10m) echo "--workload lifecycle --concurrent 10000000" ;;
	est1m) echo "--workload established --concurrent 1000000" ;;
	flood) echo "--workload synflood --concurrent 100000 --flood-ratio 0.9" ;;
	lc100k-rec) echo "--workload lifecycle --concurrent 100000 --export records" ;;
	est1m-rec) echo "--workload established --concurrent 1000000 --export records" ;;
	lc100k-ring) echo "--workload lifecycle --concurrent 100000 --export ring" ;;
	lc100k-json) echo "--workload lifecycle --concurrent 100000 --export json" ;;
	lc100k-ipfix) echo "--workload lifecycle --concurrent 100000 --export ipfix" ;;
	*) echo "unknown workload $1" >&2; exit 2 ;;
	esac
}

lcores() { # workload -> EAL core list: the export workloads' consumer thread gets its own core
	case $1 in
	*-ring | *-json | *-ipfix) echo 0-1 ;;
	*) echo 0 ;;
	esac
}

run() { # build-dir workload -> "mpps cps bytes_per_flow"
	# shellcheck disable=SC2046
	"$1/bench/synfin-bench" -l "$(lcores "$2")" --no-pci --no-shconf --file-prefix cmp$$ --log-level=error \
		--no-huge -m 4096 -- $(opts "$2") --packets "$PKTS" |
		sed -n 's/^RESULT mpps=\([0-9.]*\) cycles_per_pkt=[0-9.]* cps=\([0-9]*\) bytes_per_flow=\([0-9.]*\).*/\1 \2 \3/p'
}

median() { # numbers on stdin -> median
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for w in $(echo "$WL" | tr , ' '); do
	opts "$w" >/dev/null
	: >"$tmp/old"
	: >"$tmp/new"
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		r=$(run "$old" "$w")
		[ -n "$r" ] || { echo "OLD run of $w gave no RESULT" >&2; exit 1; }
		echo "$r" >>"$tmp/old"
		r=$(run "$new" "$w")
		[ -n "$r" ] || { echo "NEW run of $w gave no RESULT" >&2; exit 1; }
		echo "$r" >>"$tmp/new"
		echo "  $w run $((i + 1)): old $(tail -1 "$tmp/old") new $(tail -1 "$tmp/new") (mpps cps B/flow)"
		i=$((i + 1))
	done
	om=$(cut -d' ' -f1 "$tmp/old" | median)
	nm=$(cut -d' ' -f1 "$tmp/new" | median)
	line="RESULT workload=$w old_mpps=$om new_mpps=$nm speedup=$(echo "$nm $om" | awk '{ printf "%.2f", $1 / $2 }')"
	if [ "${w#lc}" != "$w" ]; then
		oc=$(cut -d' ' -f2 "$tmp/old" | median)
		nc=$(cut -d' ' -f2 "$tmp/new" | median)
		line="$line old_cps=$oc new_cps=$nc cps_speedup=$(echo "$nc $oc" | awk '{ printf "%.2f", $1 / $2 }')"
	fi
	line="$line old_bytes_per_flow=$(cut -d' ' -f3 "$tmp/old" | median) new_bytes_per_flow=$(cut -d' ' -f3 "$tmp/new" | median)"
	if [ "$INSTR" = 1 ]; then
		# shellcheck disable=SC2046
		oi=$(sh "$top/bench/instr.sh" -b "$old" -- $(opts "$w") | sed -n 's/.*instr_per_pkt=//p')
		# shellcheck disable=SC2046
		ni=$(sh "$top/bench/instr.sh" -b "$new" -- $(opts "$w") | sed -n 's/.*instr_per_pkt=//p')
		line="$line old_ipp=$oi new_ipp=$ni"
	fi
	echo "$line"
done
