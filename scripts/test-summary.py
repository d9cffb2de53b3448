#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Prints one closing line "N passed, N failed, N skipped" summed over the meson test logs given
# as arguments (build/meson-logs/testlog.json); exits 1 if any test failed or none ran.
import json
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            r = json.loads(line).get("result", "")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
