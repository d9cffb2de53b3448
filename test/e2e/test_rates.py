#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Rates on screen and synfin's own port totals, on net_pcap vdevs replaying a loopable pcap
forever (infinite_rx=1): 20 4-tuples, each carrying 3 complete connections (SYN .. last ACK)
whose ISNs are 2^32 / 3 apart, so every SYN that meets its tuple's TIME_WAIT entry, within a
pass or after the wrap, is a valid reopen and the looped stream has no INVALID segment.

  monitor  --stats-period 1 and `show port stats 0` / `show stats` from --cmdline-file: the
           periodic port blocks carry Rx-pps / Rx-bps beside the totals, the tracker block a
           rates line (Rx-pps, new flows/s, closed/s, INVALID %) with flows created and closed
           and 0.000 % INVALID; the command line's blocks have rates too; synfin's port 0
           RX-packets equals the tracker's RX-packets (its own count, not the device's).
  inline   two ports forwarding to each other: Tx-pps on both, and the ports' TX-packets add up
           to the tracker's TX-packets.

Usage: test_rates.py SYNFIN_EXE CASE
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402
from e2elib import ACK, FIN, PSH, SYN  # noqa: E402

CK = E.Checker()
check = CK.check
TUPLES, USES = 20, 3
STEP = (1 << 32) // USES


def loop_frames():
    """Every tuple's connections in turn, ISNs advancing by STEP per use."""
    out = []
    for u in range(USES):
        for i in range(TUPLES):
            c, s, cp, sp = f"10.1.0.{i + 1}", "192.0.2.9", 40000 + i, 80
            ci, si = (1000 + 77 * i + u * STEP) % (1 << 32), (5000 + 91 * i + u * STEP) % (1 << 32)
            out += [E.tcp4(c, s, cp, sp, ci, 0, SYN),
                    E.tcp4(s, c, sp, cp, si, ci + 1, SYN | ACK),
                    E.tcp4(c, s, cp, sp, ci + 1, si + 1, ACK),
                    E.tcp4(c, s, cp, sp, ci + 1, si + 1, PSH | ACK, b"y" * 10),
                    E.tcp4(c, s, cp, sp, ci + 11, si + 1, FIN | ACK),
                    E.tcp4(s, c, sp, cp, si + 1, ci + 12, ACK),
                    E.tcp4(s, c, sp, cp, si + 1, ci + 12, FIN | ACK),
                    E.tcp4(c, s, cp, sp, ci + 12, si + 2, ACK)]
    return [(f[0] if isinstance(f, tuple) else f) for f in out]


def blocks(text, title):
    """The statistics blocks whose header line contains title, as lists of lines."""
    res, cur = [], None
    for line in text.splitlines():
        if "####" in line and title in line:
            cur = []
            res.append(cur)
        elif cur is not None:
            if line.strip().startswith("####"):
                cur = None
            else:
                cur.append(line)
    return res


def num(block, key):
    """The number after key (e.g. 'Rx-pps:') in a block, or None."""
    for line in block:
        m = re.search(re.escape(key) + r"\s*([0-9.]+)", line)
        if m:
            return float(m.group(1))
    return None


def run(exe, tmp, vdevs, args, cmds=None, secs=3.5):
    pcap = os.path.join(tmp, "loop.pcap")
    E.write(pcap, loop_frames())
    extra = []
    if cmds is not None:
        cf = os.path.join(tmp, "cmds")
        with open(cf, "w") as f:
            f.write("\n".join(cmds) + "\n")
        extra = ["--cmdline-file", cf]
    p = E.start(E.synfin_argv(exe, [v.format(pcap=pcap) for v in vdevs],
                              ["--stats-period", "1", "--timeout", "time_wait=1", *args, *extra]))
    time.sleep(secs)
    so, se, in_time = E.stop(p, timeout=30)
    check(in_time, "synfin did not exit in time")
    check(p.returncode == 0, f"exit status {p.returncode}", se[-800:])
    return so


def final_part(so):
    i = so.rfind("synfin: final statistics")
    check(i >= 0, "no final statistics")
    return so[i:], so[:i]


def case_monitor(exe, tmp):
    # The command file runs once the CLI thread stops waiting for the port to be idle: at most
    # 5 s (never idle here), earlier when the machine is loaded; SIGINT after 6.5 s.
    so = run(exe, tmp, ["net_pcap0,rx_pcap={pcap},infinite_rx=1"], [],
             cmds=["show port stats 0", "show stats"], secs=6.5)
    final, before = final_part(so)
    ports = blocks(before, "NIC statistics for port 0")
    trk = blocks(before, "synfin statistics")
    check(len(ports) >= 3 and len(trk) >= 3, f"periodic + CLI blocks: {len(ports)} ports, "
          f"{len(trk)} tracker")
    pps = [num(b, "Rx-pps:") for b in ports]
    check(all(v is not None for v in pps), "a port block without Rx-pps", pps)
    check(all(num(b, "Rx-bps:") is not None for b in ports), "a port block without Rx-bps")
    check(sum(1 for v in pps if v and v > 0) >= 2, "Rx-pps > 0 in at least two blocks", pps)
    rl = [line for b in trk for line in b if "rates (since last show)" in line]
    check(len(rl) == len(trk), "a tracker block without its rates line")
    busy = [line for line in rl[1:]
            if float(re.search(r"new flows/s ([0-9.]+)", line).group(1)) > 0]
    check(len(busy) >= 1, "no rates line with flows created", rl)
    for line in busy:
        new = float(re.search(r"new flows/s ([0-9.]+)", line).group(1))
        closed = float(re.search(r"closed/s ([0-9.]+)", line).group(1))
        check(abs(new - closed) <= 0.05 * new + 50, f"created ~ closed per second: {line}")
        check("INVALID 0.000 %" in line, f"INVALID in steady state: {line}")
    fp = blocks(final, "NIC statistics for port 0")
    ft = blocks(final, "synfin statistics")
    check(len(fp) == 1 and len(ft) == 1, "final blocks")
    if fp and ft:
        prx = num(fp[0], "RX-packets:")
        trx = num(ft[0], "RX-packets:")
        check(prx is not None and prx > 0 and prx == trx,
              f"port RX-packets {prx} == tracker RX-packets {trx}")
        check(num(ft[0], "INVALID:") == 0, "INVALID total 0", ft[0])


def case_inline(exe, tmp):
    so = run(exe, tmp, ["net_pcap0,rx_pcap={pcap},infinite_rx=1",
                        "net_pcap1,rx_pcap={pcap},infinite_rx=1"], ["--mode", "inline"])
    final, before = final_part(so)
    for p in (0, 1):
        bl = blocks(before, f"NIC statistics for port {p}")
        tx = [num(b, "Tx-pps:") for b in bl]
        check(sum(1 for v in tx if v and v > 0) >= 1, f"port {p}: Tx-pps > 0", tx)
    fp = [blocks(final, f"NIC statistics for port {p}") for p in (0, 1)]
    ft = blocks(final, "synfin statistics")
    if all(len(b) == 1 for b in fp) and len(ft) == 1:
        ptx = num(fp[0][0], "TX-packets:") + num(fp[1][0], "TX-packets:")
        ttx = num(ft[0], "TX-packets:")
        check(ptx > 0 and ptx == ttx, f"ports' TX-packets {ptx} == tracker TX-packets {ttx}")
    else:
        CK.fail("final blocks")


CASES = {"monitor": case_monitor, "inline": case_inline}

if __name__ == "__main__":
    sys.exit(E.main_cases(__doc__, CASES, CK))
