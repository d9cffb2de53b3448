#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Writes the seed corpus of one libFuzzer harness into a directory: mkcorpus.py <harness> <dir>
# (harness: parse, fsm, flows, cli, config). Seeds are a few hand-built frames / segment
# sequences (a TCP handshake, data, FIN and RST closes, IPv6, VLAN, options) plus, for fsm and
# flows, one seed per scenario of test/scenarios/*.scn (each step becomes a segment record in the
# harness's input format; see fuzz_fsm.c / fuzz_flows.c); for cli, every command (valid and
# not) as lines and as keys typed at the prompt; for config, config/synfin.conf and variants.
# The frames are built with test/e2e/e2elib.py (TCP checksum left 0). Existing files are kept,
# so the corpus a run grows stays; seeds are named by content hash.
import glob
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCN_DIR = os.path.join(HERE, "..", "scenarios")
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from e2elib import ACK, FIN, PSH, RST, SYN, URG, eth, ipv4, ipv6, tcp_segment  # noqa: E402

FLAG_NAMES = {"F": FIN, "S": SYN, "R": RST, "P": PSH, "A": ACK, "U": URG,
              "FIN": FIN, "SYN": SYN, "RST": RST, "PSH": PSH, "ACK": ACK, "URG": URG}


SYN_OPTS = (b"\x02\x04\x05\xb4" + b"\x04\x02" + b"\x08\x0a" + struct.pack("!II", 1, 0) +
            b"\x01\x03\x03\x07")
C4, S4 = [10, 0, 0, 1], [10, 0, 0, 2]
C6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1]
S6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [2]


def frames_v4():
    out = []
    c, s = 1000, 5000
    out.append(eth(ipv4(C4, S4, tcp_segment(40000, 80, c, 0, SYN, opts=SYN_OPTS)), 0x0800))
    out.append(eth(ipv4(S4, C4, tcp_segment(80, 40000, s, c + 1, SYN | ACK, opts=SYN_OPTS)),
                   0x0800))
    out.append(eth(ipv4(C4, S4, tcp_segment(40000, 80, c + 1, s + 1, ACK)), 0x0800))
    out.append(eth(ipv4(C4, S4, tcp_segment(40000, 80, c + 1, s + 1, PSH | ACK,
                                            payload=b"GET /\r\n")), 0x0800, vlans=[(0x8100, 7)]))
    out.append(eth(ipv4(S4, C4, tcp_segment(80, 40000, s + 1, c + 8, FIN | ACK)), 0x0800,
                   vlans=[(0x88A8, 1), (0x8100, 2)]))
    out.append(eth(ipv4(C4, S4, tcp_segment(40000, 80, c + 8, s + 2, RST | ACK)), 0x0800))
    return out


def frames_v6():
    out = []
    out.append(eth(ipv6(C6, S6, tcp_segment(40001, 443, 7, 0, SYN, opts=SYN_OPTS)), 0x86DD))
    hop = bytes([6, 0, 1, 4, 0, 0, 0, 0])  # hop-by-hop, PadN
    out.append(eth(ipv6(S6, C6, tcp_segment(443, 40001, 9, 8, SYN | ACK), nh=0, ext=hop), 0x86DD))
    frag = bytes([6, 0, 0, 0, 0, 0, 0, 1])  # atomic fragment
    out.append(eth(ipv6(C6, S6, tcp_segment(40001, 443, 8, 10, ACK), nh=44, ext=frag), 0x86DD))
    return out


def parse_seeds():
    seeds = frames_v4() + frames_v6()
    seeds.append(eth(ipv4(C4, S4, b"\x08\0\0\0\0\0\0\0", proto=1), 0x0800))
    seeds.append(eth(ipv4(C4, S4, tcp_segment(1, 2, 3, 4, ACK), frag=0x2000), 0x0800))
    seeds.append(eth(b"\0" * 28, 0x0806))
    # first byte of a parse input: where the harness splits the frame (0xff: no split)
    return [bytes([0xFF]) + f for f in seeds] + [bytes([0x40]) + f for f in seeds[:3]]


# ---- fsm: conf byte + 16-byte records (fuzz_fsm.c) ----
def fsm_rec(dir_, flags, seq, ack, rel_seq=False, rel_ack=False, win=65535, length=0, opts=0,
            wscale=0):
    b0 = dir_ | (2 if rel_seq else 0) | (4 if rel_ack else 0) | (opts << 4)
    return struct.pack("<BBBBIIHH", b0, flags, wscale, 0, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                       win, length)


def fsm_handshake():
    return [fsm_rec(0, SYN, 1000, 0, opts=0xF, wscale=7),
            fsm_rec(1, SYN | ACK, 5000, 0, rel_ack=True, opts=0xF, wscale=7),
            fsm_rec(0, ACK, 0, 0, True, True)]


def fsm_seeds():
    hs = fsm_handshake()
    data = [fsm_rec(0, PSH | ACK, 0, 0, True, True, length=100),
            fsm_rec(1, ACK, 0, 0, True, True),
            fsm_rec(1, PSH | ACK, 0, 0, True, True, length=1400),
            fsm_rec(0, ACK, 0, 0, True, True)]
    fin = [fsm_rec(0, FIN | ACK, 0, 0, True, True), fsm_rec(1, ACK, 0, 0, True, True),
           fsm_rec(1, FIN | ACK, 0, 0, True, True), fsm_rec(0, ACK, 0, 0, True, True)]
    seeds = [
        hs + data + fin,
        hs + [fsm_rec(1, RST, 0, 0, True, False)],
        hs + [fsm_rec(0, RST | ACK, 1000000, 0, True, True)],       # out-of-window RST
        hs + [fsm_rec(0, SYN, 77, 0)],                                # SYN on established
        hs + fin + [fsm_rec(0, SYN, 100000, 0, True)],                # reopen from TIME_WAIT
        [fsm_rec(0, ACK, 42, 99)] + data,                             # picked up (loose)
        hs[:1] + [fsm_rec(1, RST | ACK, 0, 0, False, True)],          # refused
    ]
    out = []
    for conf in (1, 0, 2):
        out += [bytes([conf]) + b"".join(s) for s in seeds]
    return out


# ---- flows: conf byte + records (fuzz_flows.c) ----
def flow_rec(flow, dir_, flags, seq, ack, rel_seq=False, rel_ack=False, v6=False, tadv=0,
             win=65535, length=0):
    mode = dir_ | (2 if rel_seq else 0) | (4 if rel_ack else 0) | (8 if v6 else 0) | (tadv << 4)
    return struct.pack("<BBBIIHB", flow & 0x7F, mode, flags, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                       win, length)


def flow_raw(frame):
    return struct.pack("<BH", 0x80, len(frame)) + frame


def flow_conn(flow, v6=False, close=FIN):
    r = [flow_rec(flow, 0, SYN, 1000 + flow, 0, v6=v6, tadv=1),
         flow_rec(flow, 1, SYN | ACK, 9000, 0, False, True, v6=v6),
         flow_rec(flow, 0, ACK, 0, 0, True, True, v6=v6),
         flow_rec(flow, 0, PSH | ACK, 0, 0, True, True, v6=v6, length=10)]
    if close == FIN:
        r += [flow_rec(flow, 1, FIN | ACK, 0, 0, True, True, v6=v6),
              flow_rec(flow, 0, FIN | ACK, 0, 0, True, True, v6=v6),
              flow_rec(flow, 1, ACK, 0, 0, True, True, v6=v6)]
    else:
        r += [flow_rec(flow, 1, RST, 0, 0, True, False, v6=v6)]
    return r


def flows_seeds():
    seeds = []
    one = flow_conn(1)
    seeds.append(bytes([0x01]) + b"".join(one + [flow_rec(1, 0, ACK, 0, 0, True, True, tadv=15)]))
    many = []
    for i in range(24):  # more flows than a small table holds
        many += flow_conn(i, v6=bool(i & 1), close=FIN if i % 3 else RST)[:3 + (i % 4)]
    seeds.append(bytes([0x01]) + b"".join(many))
    flood = [flow_rec(i, 0, SYN, i * 7919, 0, tadv=i % 2) for i in range(40)]
    seeds.append(bytes([0x01]) + b"".join(flow_conn(100)[:3] + flood + flow_conn(100)[3:]))
    seeds.append(bytes([0x05]) + b"".join(flow_raw(f) for f in frames_v4() + frames_v6()))
    # worker mode (conf bit 5): the same sequences in bursts, plus a full table of embryonic
    # flows, then one burst with a new SYN (evicts the oldest) and the oldest's SYN+ACK
    seeds += [bytes([s[0] | 0x20]) + s[1:] for s in seeds]
    fill = [flow_rec(i, 0, SYN, 100 + i, 0) for i in range(8)]
    evict = [flow_rec(8, 0, SYN, 500, 0, tadv=1), flow_rec(0, 1, SYN | ACK, 9000, 0, False, True)]
    seeds.append(bytes([0x21]) + b"".join(fill + evict + flow_conn(0)[2:]))
    # flush (conf bit 6): open flows, the largest clock step flushes both tables, traffic again
    flush = [flow_rec(1, 0, ACK, 0, 0, True, True, tadv=15)]
    for conf in (0x41, 0x61):
        seeds.append(bytes([conf]) + b"".join(many[:20] + flush + flow_conn(2) + flush))
    return seeds


# ---- scenarios (test/scenarios/*.scn), when present ----
def scenarios(path):
    """Yields one list of steps (dir, flags, seq, ack, len, win, wscale) per `scenario` of a
    .scn file (format: test/scenarios/README.md; only the segment half of a step is used, the
    conf and end lines are skipped)."""
    steps = []
    for line in open(path, encoding="utf-8", errors="replace"):
        w = line.split("#", 1)[0].split("->", 1)[0].split()
        if not w:
            continue
        if w[0] == "scenario":
            if steps:
                yield steps
            steps = []
            continue
        if w[0] not in ("C>", "S>") or len(w) < 2:  # conf, end: no segment
            continue
        flags = sum(FLAG_NAMES.get(c, 0) for c in w[1] if c in "FSRPAU")
        kv = dict(x.split("=", 1) for x in w[2:] if "=" in x)
        num = lambda k, d=0: int(kv.get(k, str(d)).split(",")[0], 0)  # noqa: E731
        steps.append((0 if w[0] == "C>" else 1, flags, num("seq"), num("ack"), num("len"),
                      num("win", 65535), num("wscale", -1)))
    if steps:
        yield steps


def scenario_seeds(kind):
    out = []
    for path in sorted(glob.glob(os.path.join(SCN_DIR, "*.scn"))):
        for steps in scenarios(path):
            if kind == "fsm":
                out.append(bytes([1]) + b"".join(
                    fsm_rec(d, f, sq, a, win=wn & 0xFFFF, length=n & 0xFFFF,
                            opts=1 if ws >= 0 else 0, wscale=max(ws, 0))
                    for d, f, sq, a, n, wn, ws in steps))
            else:
                out.append(bytes([1]) + b"".join(
                    flow_rec(3, d, f, sq, a, win=wn & 0xFFFF, length=min(n, 255))
                    for d, f, sq, a, n, wn, ws in steps))
    return out


CLI_LINES = [
    "help", "show stats", "show port stats all", "show port stats 0", "show lcores",
    "show flows", "show flows state established", "show flows limit 10",
    "show flows state time_wait limit 5", "show flow 10.0.0.1 40000 10.0.0.2 80",
    "show flow 2001:db8::1 40000 2001:db8::2 443 vlan 7", "show config",
    "set timeout time_wait 60", "set timeout SYN-SENT 5", "set stats-period 1", "clear stats",
    "flush flows", "start", "stop", "quit", "# comment", "show flows state nosuch",
    "set timeout established 99999999999",
]


def cli_seeds():
    # first byte: bit 0 set = lines through sf_cli_line_exec(), clear = keys at the prompt
    lines = "\n".join(CLI_LINES).encode()
    out = [b"\x01" + lines, b"\x03" + lines, b"\x00" + lines + b"\n",
           b"\x00show fl\t\n", b"\x00set timeout \t?\n", b"\x00show\x1b[A\x1b[D\x7f\n"]
    out += [b"\x01" + line.encode() for line in CLI_LINES]
    return out


def config_seeds():
    with open(os.path.join(HERE, "..", "..", "config", "synfin.conf"), "rb") as f:
        conf = f.read()
    return [conf, b"[general]\nburst = 64\nmode = inline\n",
            b"[timeouts]\ntime_wait = 2147482\nsyn_sent=1\n",
            b"[tcp]\nloose = no\nliberal = yes\n[ports]\nrxq = 4\n",
            b"[general]\ntable_size = 536870912\nstats_period = 86400\n"]


def regress_seeds(kind):
    """Inputs that once broke a harness (test/fuzz/regress/<harness>/): every run replays them."""
    d = os.path.join(HERE, "regress", kind)
    if not os.path.isdir(d):
        return []
    out = []
    for n in sorted(os.listdir(d)):
        with open(os.path.join(d, n), "rb") as f:
            out.append(f.read())
    return out


def main():
    kinds = {"parse": parse_seeds, "fsm": fsm_seeds, "flows": flows_seeds, "cli": cli_seeds,
             "config": config_seeds}
    if len(sys.argv) != 3 or sys.argv[1] not in kinds:
        sys.exit("usage: mkcorpus.py %s <dir>" % "|".join(kinds))
    kind, d = sys.argv[1], sys.argv[2]
    seeds = kinds[kind]()
    if kind in ("fsm", "flows"):
        seeds += scenario_seeds(kind)
    seeds += regress_seeds(kind)
    os.makedirs(d, exist_ok=True)
    for s in seeds:
        p = os.path.join(d, "seed-" + hashlib.sha1(s).hexdigest()[:16])
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(s)


if __name__ == "__main__":
    main()
