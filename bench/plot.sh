#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Draws docs/bench.png from bench/results: Mpps of the lifecycle workload against the number of
# connections open (log scale) with the targets, and, when a scaling .dat exists
# (bench/scaling.sh), Mpps against worker lcores. Uses gnuplot (Debian gnuplot-nox).
#
# Usage: bench/plot.sh [RESULTS.dat [SCALING.dat]]   (default: the newest of each)
set -eu
cd "$(dirname "$0")/.."
command -v gnuplot >/dev/null || { echo "gnuplot not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
dat=${1:-$(ls -t bench/results/*.dat 2>/dev/null | grep -v scaling | head -n 1 || true)}
scal=${2:-$(ls -t bench/results/*-scaling.dat 2>/dev/null | head -n 1 || true)}
[ -n "$dat" ] && [ -f "$dat" ] || { echo "no results .dat (run bench/run-bench.sh)" >&2; exit 1; }
mkdir -p docs
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
awk '$1 == "lifecycle" && $2 > 0' "$dat" >"$tmp"
host=$(basename "$dat" .dat)

if [ -n "$scal" ] && [ -f "$scal" ]; then
	layout="set terminal pngcairo size 1200,480 noenhanced"
	[ "$(gnuplot -e 'set terminal' 2>&1 | grep -c pngcairo)" -gt 0 ] ||
		layout="set terminal png size 1200,480 noenhanced"
else
	layout="set terminal pngcairo size 700,480 noenhanced"
	[ "$(gnuplot -e 'set terminal' 2>&1 | grep -c pngcairo)" -gt 0 ] ||
		layout="set terminal png size 700,480 noenhanced"
fi

{
	echo "$layout"
	echo "set output 'docs/bench.png'"
	[ -z "$scal" ] || [ ! -f "$scal" ] || echo "set multiplot layout 1,2"
	echo "set title 'synfin-bench lifecycle, one core ($host)'"
	echo "set logscale x; set xlabel 'connections open at once'; set ylabel 'Mpps'"
	echo "set grid; set key top right; set yrange [0:*]"
	echo "set style data linespoints"
	echo "plot '$tmp' using 2:3 title 'measured' lw 2 pt 7, \\"
	echo "     '-' using 1:2 with points pt 5 ps 1.5 title 'target'"
	echo "100000 30"
	echo "1000000 20"
	echo "10000000 10"
	echo "e"
	if [ -n "$scal" ] && [ -f "$scal" ]; then
		echo "unset logscale x; set xlabel 'worker lcores'; set ylabel 'Mpps (sum)'"
		echo "set title 'scaling ($(basename "$scal" .dat))'"
		echo "plot '$scal' using 1:2 title 'measured' lw 2 pt 7, '$scal' using 1:(\$1*\$4) with lines dt 2 title 'linear (n x 1-lcore)'"
		echo "unset multiplot"
	fi
} | gnuplot
echo "docs/bench.png from $dat${scal:+ and $scal}"
