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
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402

# proto src sport dst dport in-packets in-bytes out-packets out-bytes, plain numbers (-N)
NFDUMP_FMT = "fmt:%pr %sa %sp %da %dp %ipkt %ibyt %opkt %obyt"
CK = E.Checker()
check = CK.check


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_socket(port):
    """(found, rx_queue) of the socket bound to 127.0.0.1:port in /proc/net/udp."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == want:
                return True, int(fields[4].split(":")[1], 16)
    return False, 0


def wait_for(cond, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def normalize(line):
    """An nfdump line as the sample prints it: ICMP's type.code back to type << 8 | code."""
    f = line.split()
    if len(f) == 9 and "." in f[4] and f[0] in ("1", "58"):
        t, c = f[4].split(".")
        f[4] = str(int(t) << 8 | int(c))
    return " ".join(f)


def collect(sample, tmp):
    """Runs nfcapd and the sample; returns (sample lines, nfcapd log, flow file) or None."""
    flows = os.path.join(tmp, "flows")
    os.mkdir(flows)
    port = free_udp_port()
    log_path = os.path.join(tmp, "nfcapd.log")
    with open(log_path, "w") as log:
        p = subprocess.Popen(["nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", flows,
                              "-t", "3600"], stdout=log, stderr=subprocess.STDOUT)
    try:
        if not check(wait_for(lambda: udp_socket(port)[0] or p.poll() is not None, 10)
                     and p.poll() is None, f"nfcapd does not listen on 127.0.0.1:{port}"):
            return None
        r = subprocess.run([sample, f"127.0.0.1:{port}"], capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 0, f"sample exited with {r.returncode}", r.stderr)
        # nfcapd has read every datagram once its socket's receive queue is empty
        check(wait_for(lambda: udp_socket(port)[1] == 0, 10), "nfcapd left datagrams unread")
        time.sleep(0.3)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            check(False, "nfcapd did not exit within 30 s of SIGTERM")
    with open(log_path) as f:
        log = f.read()
    print(log)
    check(p.returncode == 0, f"nfcapd exited with {p.returncode}")
    files = [n for n in os.listdir(flows) if n.startswith("nfcapd.") and "current" not in n]
    if not check(len(files) == 1, f"want one nfcapd file, found {os.listdir(flows)}"):
        return None
    return r.stdout.splitlines(), log, os.path.join(flows, files[0])


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    missing = [t for t in ("nfcapd", "nfdump") if shutil.which(t) is None]
    if missing:
        print(f"{' and '.join(missing)} not installed (Debian package nfdump): skipped")
        return 77
    with tempfile.TemporaryDirectory(prefix="synfin_e2e_ipfix_") as tmp:
        got = collect(sys.argv[1], tmp)
        if got is not None:
            sent, log, path = got
            check(len(sent) == 4, f"sample printed {len(sent)} records, want 4", sent)
            r = subprocess.run(["nfdump", "-r", path, "-N", "-q", "-o", NFDUMP_FMT],
                               capture_output=True, text=True, timeout=30)
            check(r.returncode == 0, f"nfdump exited with {r.returncode}", r.stderr)
            read = [normalize(line) for line in r.stdout.splitlines() if line.strip()]
            print("sent:", *sent, sep="\n  ")
            print("nfdump read:", *read, sep="\n  ")
            check(sorted(read) == sorted(sent), "nfdump read other records than were sent")
            m = re.search(r"Flows: (\d+).*Sequence Errors: (\d+)", log)
            if check(m is not None, "nfcapd's exit summary (Flows, Sequence Errors) missing"):
                check(int(m.group(1)) == len(sent), f"nfcapd counted {m.group(1)} flows")
                check(int(m.group(2)) == 0, f"nfcapd counted {m.group(2)} sequence errors")
    print("e2e ipfix_nfcapd:", "FAILED" if CK.failed else "ok", f"({CK.failed} failures)")
    return 1 if CK.failed else 0


if __name__ == "__main__":
    sys.exit(main())
