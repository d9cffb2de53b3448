#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Shutdown under load: synfin on a net_pcap vdev replaying a pcap forever (infinite_rx=1: a
continuous stream of TCP traffic, 40 connections: 20 closed, 20 left open, plus IPv6 and
non-TCP frames) receives SIGINT, and in a second run SIGTERM, after about one second. Each run
must exit with status 0 within 30 s, print the final statistics with a non-zero RX count, and
write a complete --flows-json: valid JSON, an array of one object per connection of the pcap
(every 4-tuple present exactly once, every object with all its fields).

Usage: test_shutdown.py SYNFIN_EXE
"""

import os
import select
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402
from e2elib import ACK, FIN, SYN  # noqa: E402

FIELDS = {"proto", "orig", "vlan", "state", "packets", "bytes", "invalid", "picked_up", "assured",
          "expires_in_s", "lcore"}
TCP_FIELDS = FIELDS | {"client_state", "server_state"}  # the other protocols: "protonum"
NCONN = 40
CK = E.Checker()
check = CK.check


def frames():
    out, want = [], set()
    for i in range(NCONN):
        c, s = f"10.0.{i // 200}.{i % 200 + 1}", "192.0.2.80"
        cp, sp, cs, ss = 30000 + i, 80, 1000 + i * 1000, 900000 + i * 1000
        out += E.handshake(c, s, cp, sp, cs, ss, data=b"x" * 100)
        out.append(E.tcp4(s, c, sp, cp, ss + 1, cs + 101, ACK))
        if i % 2:
            out += [E.tcp4(c, s, cp, sp, cs + 101, ss + 1, FIN | ACK),
                    E.tcp4(s, c, sp, cp, ss + 1, cs + 102, FIN | ACK),
                    E.tcp4(c, s, cp, sp, cs + 102, ss + 2, ACK)]
        want.add((c, cp, s, sp))
    out += [E.tcp6("2001:db8::1", "2001:db8::2", 40000, 443, 7, 0, SYN), E.arp(),
            E.udp4("10.9.9.9", "10.9.9.10", 53, 53)]
    want.add(("2001:db8::1", 40000, "2001:db8::2", 443))
    want.add(("10.9.9.9", 53, "10.9.9.10", 53))  # UDP is a flow too
    return out, want


def one(exe, tmp, sig, pcap, want):
    name = signal.Signals(sig).name
    out = os.path.join(tmp, f"flows-{name}.json")
    p = E.start(E.synfin_argv(exe, [f"net_pcap0,rx_pcap={pcap},infinite_rx=1"],
                              ["--flows-json", out], prefix=f"sf_e2e_shut_{name}"))
    # The signal goes once the workers poll (their banner), plus a second of traffic: a fixed
    # delay from the start raced a slow EAL start on a loaded machine.
    deadline, banner = time.time() + 30, ""
    while p.poll() is None and time.time() < deadline and " polls " not in banner:
        if select.select([p.stdout], [], [], deadline - time.time())[0]:
            banner = p.stdout.readline()
    check(" polls " in banner, f"{name}: no worker banner within 30 s", banner)
    time.sleep(1.0)
    check(p.poll() is None, f"{name}: synfin exited before the signal (status {p.returncode})")
    so, se, in_time = E.stop(p, sig)
    check(in_time, f"{name}: synfin did not exit within 30 s of the signal")
    print(so[-2500:], se[-1500:])
    check(p.returncode == 0, f"{name}: exit status {p.returncode}, want 0", se[-500:])
    check("synfin statistics" in so, f"{name}: no final statistics")
    rx = [l for l in so.splitlines() if l.strip().startswith("RX-packets:")]
    check(rx and int(rx[-1].split()[1]) > len(want), f"{name}: RX count not above one pass", rx)
    flows, err = E.read_json(out)
    if not check(err is None, f"{name}: flows JSON unreadable or invalid: {err}"):
        return
    check(isinstance(flows, list), f"{name}: flows JSON is not an array")
    if not isinstance(flows, list):
        return
    got = []
    for fl in flows:
        fields = TCP_FIELDS if isinstance(fl, dict) and fl.get("proto") == "tcp" \
            else FIELDS | {"protonum"}
        check(isinstance(fl, dict) and fields <= set(fl), f"{name}: incomplete flow object", fl)
        o = fl.get("orig", {}) if isinstance(fl, dict) else {}
        got.append((o.get("src"), o.get("sport"), o.get("dst"), o.get("dport")))
    check(len(got) == len(set(got)), f"{name}: a flow listed twice")
    check(set(got) == want, f"{name}: flows differ from the pcap's connections",
          (sorted(want - set(got))[:5], sorted(set(got) - want)[:5]))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, "loop.pcap")
        fr, want = frames()
        E.write(pcap, fr)
        for sig in (signal.SIGINT, signal.SIGTERM):
            one(exe, tmp, sig, pcap, want)
    print("FAILED" if CK.failed else "OK", f"({CK.failed} failures)")
    sys.exit(1 if CK.failed else 0)


if __name__ == "__main__":
    main()
