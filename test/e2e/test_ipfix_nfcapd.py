#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The IPFIX encoder against a real collector: nfcapd (nfdump's collector) listens on a free
loopback UDP port, synfin-ipfix-sample sends it a fixed set of biflow records (IPv4 TCP, IPv6
TCP, UDP, ICMP echo; three messages) and prints them; nfcapd is stopped with SIGTERM (it writes
its file out on exit) and nfdump reads the file back. nfdump shows the forward counters as In
and the RFC 5103 reverse ones as Out; every record must come back exactly as printed (ICMP's
destination port as nfdump's type.code), and nfcapd must count no sequence errors. Exit status
77 (skipped) when nfcapd or nfdump is not installed (Debian package nfdump).

Usage: test_ipfix_nfcapd.py SAMPLE_EXE
"""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402

CK = E.Checker()
check = CK.check


def collect(sample, tmp):
    """Runs nfcapd and the sample; returns (sample lines, nfcapd log, flow file) or None."""
    cap = E.Nfcapd(tmp, CK, "flows")
    r = None
    if cap.ok:
        r = subprocess.run([sample, cap.addr()], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, f"sample exited with {r.returncode}", r.stderr)
    log, path = cap.stop()
    print(log)
    if r is None or path is None:
        return None
    return r.stdout.splitlines(), log, path


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    missing = E.nfdump_missing()
    if missing:
        print(f"{' and '.join(missing)} not installed (Debian package nfdump): skipped")
        return 77
    with tempfile.TemporaryDirectory(prefix="synfin_e2e_ipfix_") as tmp:
        got = collect(sys.argv[1], tmp)
        if got is not None:
            sent, log, path = got
            check(len(sent) == 4, f"sample printed {len(sent)} records, want 4", sent)
            read = E.nfdump_flows(path, CK) or []
            print("sent:", *sent, sep="\n  ")
            print("nfdump read:", *read, sep="\n  ")
            check(sorted(read) == sorted(sent), "nfdump read other records than were sent")
            counts = E.nfcapd_counts(log)
            if check(counts is not None, "nfcapd's exit summary (Flows, Sequence Errors) missing"):
                check(counts[0] == len(sent), f"nfcapd counted {counts[0]} flows")
                check(counts[1] == 0, f"nfcapd counted {counts[1]} sequence errors")
    print("e2e ipfix_nfcapd:", "FAILED" if CK.failed else "ok", f"({CK.failed} failures)")
    return 1 if CK.failed else 0


if __name__ == "__main__":
    sys.exit(main())
