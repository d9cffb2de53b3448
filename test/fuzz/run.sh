#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runs the libFuzzer harnesses of a fuzz build for a fixed time each: run.sh <build-dir>
# <seconds-per-harness> [harness...] (default: every fuzz_* built). Seeds each corpus
# (<build-dir>/fuzz-corpus/<harness>) with mkcorpus.py, keeps what the run finds there, writes
# crash/leak reproducers to <build-dir>/fuzz-artifacts/. Exits non-zero on any crash, leak,
# timeout or UB report (UBSan halts on error), and when no harness was found.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 <build-dir> <seconds-per-harness> [harness...]" >&2; exit 2; }
build=$(cd "$1" && pwd)
secs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
names="$*"
if [ -z "$names" ]; then
	for f in "$build"/test/fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] && names="$names ${f##*/fuzz_}"
	done
fi
[ -n "$names" ] || { echo "run.sh: no fuzz harness in $build/test/fuzz" >&2; exit 1; }

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"
mkdir -p "$build/fuzz-artifacts"
status=0
for h in $names; do
	exe="$build/test/fuzz/fuzz_$h"
	corpus="$build/fuzz-corpus/$h"
	python3 "$here/mkcorpus.py" "$h" "$corpus"
	echo "run.sh: fuzz_$h for ${secs}s, corpus $corpus"
	if ! "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix="$build/fuzz-artifacts/$h-" "$corpus"; then
		echo "run.sh: fuzz_$h FAILED (reproducer in $build/fuzz-artifacts/)" >&2
		status=1
	fi
done
exit $status
