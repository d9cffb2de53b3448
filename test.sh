#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Builds synfin and runs every test suite: a normal build (all its suites: unit, e2e, real,
# style, bench-smoke), an ASan+UBSan build of unit and e2e, a short libFuzzer run (clang) and a
# TSan build of the concurrency tests. Installs missing Debian packages first (setup.sh). Ends
# with one line: "N passed, N failed, N skipped".
set -eu
cd "$(dirname "$0")"
./setup.sh
J=$(nproc)

build() { # dir, meson args...
	d=$1; shift
	[ -f "$d/build.ninja" ] || meson setup "$d" "$@" >/dev/null
	# once more, one job at a time, if it fails: LLVM 14's LTO plugin in ld has been seen to
	# die of SIGSEGV now and then on the fuzz build (which now builds without LTO)
	ninja -C "$d" -j "$J" >/dev/null || ninja -C "$d" -j 1 >/dev/null
}

status=0
build build
meson test -C build --num-processes "$J" --print-errorlogs || status=1
build build-asan -Db_sanitize=address,undefined -Db_lundef=false
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --num-processes "$J" --print-errorlogs --suite unit --suite e2e || status=1
logs="build/meson-logs/testlog.json build-asan/meson-logs/testlog.json"
if command -v clang >/dev/null 2>&1; then # libFuzzer harnesses, 20 s each (test/fuzz/README.md)
	(CC=clang && export CC && build build-fuzz -Dfuzz=true -Dtests=false -Db_lto=false \
		-Db_sanitize=address,undefined -Db_lundef=false)
	meson test -C build-fuzz --print-errorlogs --suite fuzz || status=1
	logs="$logs build-fuzz/meson-logs/testlog.json"
fi
if [ -f test/unit/test_table_concurrency.c ]; then
	build build-tsan -Db_sanitize=thread -Db_lundef=false -Dtsan_tests=true
	TSAN_OPTIONS=halt_on_error=1 meson test -C build-tsan --print-errorlogs --suite tsan || status=1
	logs="$logs build-tsan/meson-logs/testlog.json"
fi
python3 scripts/test-summary.py $logs || status=1
exit $status
