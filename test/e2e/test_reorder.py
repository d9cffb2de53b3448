#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Reordered directions at a tap must not derail a flow: a property test (python3 stdlib).

  test_reorder.py SYNFIN [--pcapgen PCAPGEN --scenarios DIR] [--random N] [--seed S] [-v]
                  [--explained FILE] [PCAP ...]

A SPAN port or a capture may deliver one direction's segment a few microseconds before the
other direction's segment it answers. For every TCP connection of every PCAP (the real-stack
captures of test/real) and of every scenario of DIR (made into pcaps by synfin-pcapgen), this
takes the connection's packets alone and makes variants:

  * base: as captured;
  * swap i: packets i and i+1 exchanged, for every adjacent pair sent by opposite endpoints;
  * move i+k to i (2 <= k <= 4): packet i+k moved k places earlier, over packets of the other
    endpoint, for a random sample of N such moves (--random, seeded).

Each variant gets its own address pair (10.x.y.z), keeps the connection's timestamps (a moved
packet takes the timestamp of the place it moves to), and all variants run through synfin at
once (net_pcap, --clock=packet, one run, flows JSON). A variant passes when its final flow
(client endpoint, state, client_state, server_state; or no flow) is the same as its base's.
The endpoints are compared by the capture's names (a sent the connection's first packet), so a
flow first seen mid-stream whose roles swap with the order counts as the same when each
endpoint ends in the same state. A variant that differs passes as "explained" when its
source, packet order and outcomes match a line of --explained (default reorder-explained.txt
next to this script): the classes docs/fsm.md explains. Prints per source the counts and every
unexplained difference; exit status 1 when there is one (or synfin fails), 77 when there is
nothing to test.
"""

import argparse
import fnmatch
import glob
import os
import random
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FLAG_NAMES = "FSRPAUEW"


def flag_str(f):
    return "".join(c for i, c in enumerate(FLAG_NAMES) if f & (1 << i)) or "."


def parse_frame(fr):
    """(ip offset, src, dst, sport, dport, flags) of an Ethernet/IPv4/TCP frame, else None."""
    off = 14
    if len(fr) < off + 20:
        return None
    et = struct.unpack_from("!H", fr, 12)[0]
    while et in (0x8100, 0x88A8) and len(fr) >= off + 4:
        et = struct.unpack_from("!H", fr, off + 2)[0]
        off += 4
    if et != 0x0800 or fr[off] >> 4 != 4 or fr[off + 9] != 6:
        return None
    ihl = (fr[off] & 15) * 4
    if len(fr) < off + ihl + 14:
        return None
    src, dst = fr[off + 12:off + 16], fr[off + 16:off + 20]
    sport, dport = struct.unpack_from("!HH", fr, off + ihl)
    return off, src, dst, sport, dport, fr[off + ihl + 13]


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def rewrite(fr, ip_off, src, dst):
    """The frame with IPv4 addresses src/dst (4 bytes each), both checksums updated."""
    b = bytearray(fr)
    ihl = (b[ip_off] & 15) * 4
    old = bytes(b[ip_off + 12:ip_off + 20])
    new = src + dst
    b[ip_off + 12:ip_off + 20] = new
    b[ip_off + 10:ip_off + 12] = b"\0\0"
    b[ip_off + 10:ip_off + 12] = struct.pack("!H", E.csum(bytes(b[ip_off:ip_off + ihl])))
    t = ip_off + ihl + 16
    if len(b) >= t + 2:  # RFC 1624: HC' = ~(~HC + ~m + m')
        hc = struct.unpack_from("!H", b, t)[0]
        s = (~hc) & 0xFFFF
        for i in range(0, 8, 2):
            s += (~struct.unpack_from("!H", old, i)[0]) & 0xFFFF
            s += struct.unpack_from("!H", new, i)[0]
        b[t:t + 2] = struct.pack("!H", (~fold(s)) & 0xFFFF)
    return bytes(b)


def read_pcap(path):
    """[(timestamp us, frame, original length)] of a classic pcap (either byte order, us/ns)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack_from("<I", data, 0)[0]
    order = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = struct.unpack_from(order + "I", data, 0)[0] == 0xA1B23C4D
    off, recs = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack_from(order + "IIII", data, off)
        us = sec * 1000000 + (frac // 1000 if nano else frac)
        recs.append((us, data[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    return recs


def connections(recs):
    """{canonical 4-tuple: [(ts, frame, orig, ip_off, from_a)]} where endpoint a is the
    connection's first sender."""
    conns, first = {}, {}
    for ts, fr, orig in recs:
        p = parse_frame(fr)
        if p is None:
            continue
        off, src, dst, sport, dport, _ = p
        a, b = (src, sport), (dst, dport)
        key = (a, b) if (a, b) < (b, a) else (b, a)
        if key not in conns:
            conns[key] = []
            first[key] = a
        conns[key].append((ts, fr, orig, off, a == first[key]))
    return conns


def variants(pkts, rng, nrandom):
    """[(name, packet order)] for one connection: the base, every adjacent opposite-direction
    swap, and up to nrandom random wider moves."""
    n = len(pkts)
    out = [("base", list(range(n)))]
    for i in range(n - 1):
        if pkts[i][4] != pkts[i + 1][4]:
            o = list(range(n))
            o[i], o[i + 1] = i + 1, i
            out.append(("swap %d" % i, o))
    moves = []
    for i in range(n):
        for k in range(2, 5):
            j = i + k
            if j < n and all(pkts[m][4] != pkts[j][4] for m in range(i, j)):
                moves.append((i, j))
    for i, j in rng.sample(moves, min(nrandom, len(moves))):
        o = list(range(n))
        o.insert(i, o.pop(j))
        out.append(("move %d to %d" % (j, i), o))
    return out


def addr(k, side):
    v = 0x0A000000 + ((2 * k + side) & 0xFFFFFF)
    return struct.pack("!I", v)


def read_explained(path):
    """Lines: SOURCE_GLOB | PACKETS_GLOB | BASE_GLOB => GOT_GLOB | REASON ('#' comments).
    PACKETS is the variant's packet order as printed (flags, '>' from endpoint a, '<' from b);
    BASE and GOT are outcomes as printed ('none' or 'STATE a=STATE b=STATE')."""
    out = []
    if not path or not os.path.exists(path):
        return out
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            w = [x.strip() for x in line.split("|")]
            if len(w) != 4 or "=>" not in w[2]:
                sys.exit("%s:%d: want SOURCE | PACKETS | BASE => GOT | REASON" % (path, n))
            base, got = (x.strip() for x in w[2].split("=>", 1))
            out.append((w[0], w[1], base, got, w[3], [0]))
    return out


def outcome(fl, conn_a):
    """(final view of one variant as 'STATE a=STATE b=STATE' or 'none', the client a or b).
    The endpoints are named by the capture (a sent its first packet), not by the flow's
    roles: who is the client of a flow first seen mid-stream depends on the order."""
    if fl is None:
        return "none", None
    who = "a" if fl["orig"]["src"] == conn_a else "b"
    st = {who: fl["client_state"], "b" if who == "a" else "a": fl["server_state"]}
    return "%s a=%s b=%s" % (fl["state"], st["a"], st["b"]), who


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("synfin")
    ap.add_argument("pcaps", nargs="*")
    ap.add_argument("--pcapgen")
    ap.add_argument("--scenarios")
    ap.add_argument("--random", type=int, default=3, help="random wider moves per connection")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--explained", default=os.path.join(HERE, "reorder-explained.txt"))
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_intermixed_args()
    rng = random.Random(args.seed)
    explained = read_explained(args.explained)

    with tempfile.TemporaryDirectory(prefix="synfin_reorder_") as tmp:
        sources = []  # (name, path)
        if args.scenarios:
            files = sorted(glob.glob(os.path.join(args.scenarios, "*.scn")))
            p = subprocess.run([args.pcapgen, "-u", "-o", tmp, *files], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                print(p.stdout, p.stderr)
                print("FAIL: synfin-pcapgen exit status", p.returncode)
                return 1
            sources += [("scn:" + os.path.basename(x)[:-5], x)
                        for x in sorted(glob.glob(os.path.join(tmp, "*.pcap")))]
        for x in args.pcaps:
            for y in (sorted(glob.glob(os.path.join(x, "*.pcap"))) if os.path.isdir(x) else [x]):
                sources.append(("real:" + os.path.basename(y)[:-5], y))
        if not sources:
            print("SKIP: no pcap to reorder")
            return 77

        # Every variant of every connection, each on its own address pair, starting together.
        plan, frames = [], []  # plan: (source, conn label, variant, k, a_addr)
        for sname, path in sources:
            recs = read_pcap(path)
            for key, pkts in sorted(connections(recs).items()):
                (ia, pa), (ib, pb) = key
                label = "%s:%d-%s:%d" % (".".join(map(str, ia)), pa, ".".join(map(str, ib)), pb)
                t0 = pkts[0][0]
                for vname, order in variants(pkts, rng, args.random):
                    k = len(plan)
                    a_new, b_new = addr(k, 1), addr(k, 2)
                    a_str = ".".join(map(str, a_new))
                    plan.append((sname, label, vname, k, a_str,
                                 " ".join(flag_str(parse_frame(pkts[i][1])[5]) +
                                          (">" if pkts[i][4] else "<") for i in order)))
                    for pos, i in enumerate(order):
                        ts, fr, orig, off, from_a = pkts[i]
                        src, dst = (a_new, b_new) if from_a else (b_new, a_new)
                        frames.append((pkts[pos][0] - t0, len(frames),
                                       rewrite(fr, off, src, dst), orig))
        frames.sort()
        pcap = os.path.join(tmp, "reordered.pcap")
        E.write(pcap, [(fr, orig) for _, _, fr, orig in frames],
                times_us=[E.T0 * 1000000 + ts for ts, _, _, _ in frames], snaplen=262144)
        out = os.path.join(tmp, "flows.json")
        argv = E.synfin_argv(args.synfin, ["net_pcap0,rx_pcap=" + pcap],
                             ["--clock=packet", "--idle-exit", "500", "--table-size",
                              str(max(65536, 2 * len(plan))), "--flows-json", out],
                             prefix="sf_reorder%d" % os.getpid())
        p = E.run(argv, timeout=600, quiet=True)
        flows, err = E.read_json(out) if p.returncode == 0 else (None, "exit %d" % p.returncode)
        if flows is None:
            print("running:", " ".join(argv))
            print(p.stdout[-3000:], p.stderr[-2000:])
            print("FAIL: synfin:", err)
            return 1
        by_addr = {}
        for fl in flows:
            for ep in ("src", "dst"):
                by_addr[fl["orig"][ep]] = fl

        base = {}
        stats = {}  # source kind -> [variants, same, explained, differ]
        bad = []
        for sname, label, vname, k, a_str, seq in plan:
            b_str = ".".join(map(str, addr(k, 2)))
            fl = by_addr.get(a_str) or by_addr.get(b_str)
            got, who = outcome(fl, a_str)
            if vname == "base":
                base[(sname, label)] = (got, who)
                continue
            want, want_who = base[(sname, label)]
            kind = sname.split(":")[0]
            st = stats.setdefault(kind, [0, 0, 0, 0, 0])
            st[0] += 1
            if got == want:
                st[1] += 1
                st[4] += who != want_who  # same states, the other endpoint taken for client
                continue
            why = None
            for ex in explained:
                es, ep, eb, eg, reason, used = ex
                if (fnmatch.fnmatchcase(sname, es) and fnmatch.fnmatchcase(seq, ep)
                        and fnmatch.fnmatchcase(want, eb) and fnmatch.fnmatchcase(got, eg)):
                    why = reason
                    used[0] += 1
                    break
            if why:
                st[2] += 1
                if args.verbose:
                    print("explained %s %s %s: %s => %s [%s] (%s)" % (sname, label, vname, want,
                                                                     got, seq, why))
            else:
                st[3] += 1
                bad.append("%s %s %s: %s => %s   [%s]" % (sname, label, vname, want, got, seq))
        for line in bad:
            print("DIFFER", line)
        for kind, (n, same, expl, diff, roles) in sorted(stats.items()):
            print("%s: %d reordered variants of %d connections: %d same final states (%d of "
                  "them with the other endpoint as client), %d explained, %d differ"
                  % (kind, n, sum(1 for s, _ in base if s.startswith(kind + ":")), same, roles,
                     expl, diff))
        if args.verbose:
            for es, ep, eb, eg, reason, used in explained:
                print("explained %5d x  %s | %s | %s => %s" % (used[0], es, ep, eb, eg))
        print("synfin: %d flows for %d variants; %s" % (len(flows), len(plan),
                                                         "FAIL" if bad else "ok"))
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
