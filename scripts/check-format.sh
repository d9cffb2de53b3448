#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Fails when a C source or header in the tree differs from what clang-format (.clang-format) makes
# of it. Usage: scripts/check-format.sh [SOURCE_ROOT]; prints the offending files.
cd "${1:-.}" || exit 2
bad=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find app lib test bench -name '*.[ch]'); do
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "needs clang-format: $f"
		bad=1
	fi
done
exit $bad
