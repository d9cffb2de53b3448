#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The figures of one run.sh measurement, from synfin's own statistics (--stats-period 1):
every periodic print has, per port, `Rx-pps`/`Rx-bps` and the port's RX-packets (synfin's own
count, kept when net_memif zeroes the device's on disconnect), and a tracker block with
`rates (since last show): Rx-pps .. new flows/s .. closed/s .. INVALID .. %`. The steady state is
the prints with traffic less the first and the last (partial seconds); the rates are their means
(INVALID % weighted by packets). The generator's TX rate comes from its own per-second prints
(testpmd: `Tx-pps` of its memif ports, the odd port ids; synfin-replay: `replay: port P Tx-pps`);
pktgen's screen is not parsed (na).

Usage: result.py SYNFIN_LOG [--from LINE] [--to LINE] [--gen testpmd|replay|pktgen GEN_LOG]
       [--offered N]
Prints `RESULT tx_mpps=.. rx_mpps=.. rx_missed=.. invalid_pct=.. created_per_s=..
closed_per_s=..` and, with --offered (packets the generator was asked to send), `STEP` figures:
the packets synfin received in the log range (RX-packets of the last print minus the one before
the range) and the loss against the offered count.
"""

import argparse
import re
import sys


def blocks(lines):
    """[(kind, port or None, [lines])] of the statistics blocks in order."""
    out, cur = [], None
    for line in lines:
        m = re.search(r"#+ NIC statistics for port (\d+)", line)
        if m:
            cur = ("port", int(m.group(1)), [])
            out.append(cur)
            continue
        if re.search(r"#+ synfin statistics", line):
            cur = ("tracker", None, [])
            out.append(cur)
            continue
        if cur is not None and line.strip().startswith("####"):
            cur = None
        elif cur is not None:
            cur[2].append(line)
    return out


def num(lines, key):
    for line in lines:
        m = re.search(re.escape(key) + r"\s*(-?[0-9.]+)", line)
        if m:
            return float(m.group(1))
    return None


def prints(lines):
    """One dict per statistics print: rx_pps (ports summed), rx_total, missed, and the tracker's
    rates line (new, closed, invalid %)."""
    res, ports = [], {}
    for kind, port, bl in blocks(lines):
        if kind == "port":
            ports[port] = bl
            continue
        p = {"rx_pps": sum(num(b, "Rx-pps:") or 0 for b in ports.values()),
             "rx_total": sum(num(b, "RX-packets:") or 0 for b in ports.values()),
             "missed": sum(num(b, "RX-missed:") or 0 for b in ports.values())}
        for line in bl:
            m = re.search(r"rates \(since last show\): Rx-pps ([0-9.]+) .* new flows/s ([0-9.]+) "
                          r"closed/s ([0-9.]+) INVALID ([0-9.]+) %", line)
            if m:
                p["trk_pps"], p["new"], p["closed"], p["inv"] = map(float, m.groups())
        res.append(p)
        ports = {}
    return res


def steady(seq, key):
    """The entries with traffic (key > 0) less the first and the last when 3 or more."""
    busy = [s for s in seq if s.get(key, 0) > 0]
    return busy[1:-1] if len(busy) >= 3 else busy


def gen_tx(path, gen):
    """Mean TX rate (packets/s) over the generator's steady prints, or None."""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    per = []
    if gen == "replay":
        cur = None
        for line in lines:
            m = re.match(r"replay: port (\d+) Tx-pps ([0-9.]+)", line)
            if m:
                if m.group(1) == "0" or cur is None:
                    cur = {"tx": 0.0}
                    per.append(cur)
                cur["tx"] += float(m.group(2))
    elif gen == "testpmd":
        cur, port = None, None
        for line in lines:
            if "Port statistics ====" in line:
                cur = {"tx": 0.0}
                per.append(cur)
            m = re.search(r"NIC statistics for port (\d+)", line)
            if m:
                port = int(m.group(1))
            m = re.search(r"Tx-pps:\s*([0-9]+)", line)
            if m and cur is not None and port is not None and port % 2 == 1:
                cur["tx"] += float(m.group(1))
    else:
        return None
    st = steady(per, "tx")
    return sum(s["tx"] for s in st) / len(st) if st else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--from", dest="first", type=int, default=0)
    ap.add_argument("--to", dest="last", type=int, default=None)
    ap.add_argument("--gen", nargs=2, metavar=("KIND", "LOG"))
    ap.add_argument("--offered", type=float)
    a = ap.parse_args()
    with open(a.log, errors="replace") as f:
        lines = f.read().splitlines()
    before = prints(lines[:a.first])
    seq = prints(lines[a.first:a.last])
    st = steady(seq, "rx_pps")
    if not st:
        print("result: no statistics print with traffic in", a.log, file=sys.stderr)
    n = len(st) or 1
    rx = sum(s["rx_pps"] for s in st) / n
    pk = sum(s.get("trk_pps", 0) for s in st)
    inv = sum(s.get("inv", 0) * s.get("trk_pps", 0) for s in st) / pk if pk else 0.0
    new = sum(s.get("new", 0) for s in st) / n
    closed = sum(s.get("closed", 0) for s in st) / n
    missed = max([s["missed"] for s in seq] or [0])
    tx = gen_tx(a.gen[1], a.gen[0]) if a.gen else None
    txs = "na" if tx is None else f"{tx / 1e6:.3f}"
    if a.offered is not None:
        got = (seq[-1]["rx_total"] if seq else 0) - (before[-1]["rx_total"] if before else 0)
        loss = 100.0 * (a.offered - got) / a.offered if a.offered > 0 else 0.0
        print(f"STEP offered={a.offered:.0f} received={got:.0f} loss_pct={max(loss, 0.0):.3f} "
              f"rx_mpps={rx / 1e6:.3f} invalid_pct={inv:.3f}")
    print(f"RESULT tx_mpps={txs} rx_mpps={rx / 1e6:.3f} rx_missed={missed:.0f} "
          f"invalid_pct={inv:.3f} created_per_s={new:.0f} closed_per_s={closed:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
