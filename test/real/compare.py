#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Compares synfin's view of each recorded scenario (NAME.flows.json, written by
# `synfin --flows-json` on NAME.pcap, or another tracker's file in the same schema picked with
# --flows-suffix, e.g. synfin-xdp's live NAME.xdp.flows.json) with the Linux kernel's: the router's conntrack entries at
# the end (NAME.conntrack.txt, `conntrack -L`), entries the kernel already destroyed
# (NAME.events.txt, `conntrack -E`), and the endpoints' own sockets (NAME.ss-client.txt,
# NAME.ss-server.txt, `ss -tan`). Connections are matched by the original-direction 4-tuple.
# For each one it compares the conntrack state, the assured flag, per-direction packet and byte
# counters, and synfin's client_state/server_state with the sockets' states (a socket absent
# from ss is CLOSED). UDP and ICMP echo entries (no state word in conntrack -L) compare as the
# class their flags give (UDP_UNREPLIED, UDP_REPLIED, UDP_ASSURED, ICMP_UNREPLIED,
# ICMP_REPLIED), ICMP paired by addresses and identifier. Differences listed in known-differences.txt are "explained"; any other
# difference fails the scenario and makes the exit status non-zero. Python 3 stdlib only.
"""Usage: compare.py [--out DIR] [--flows-dir DIR] [--flows-suffix SUFFIX] [--known FILE] [-v]
                  [SCENARIO ...]

The tracker's flows are NAME + SUFFIX (default .flows.json, synfin's replay; .xdp.flows.json for
synfin-xdp's live snapshots, mkscenarios.sh --xdp). With --same-as SUFFIX2, NAME + SUFFIX2 (e.g.
a replay of NAME.pcap by the same tracker) must also hold the same flows, field for field, but
for expires_in_s and lcore (the time left depends on when the flows were read, and lcore is a
CPU when live).

Scenarios default to every NAME.conntrack.txt in --out. Exit status: 0 all agree or explained,
1 an unexplained difference or a missing synfin output, 2 usage or input errors.
"""

import argparse
import fnmatch
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# ss state names -> RFC 9293 names as synfin prints them (ct_tcp_state_name()).
SS_STATES = {
    "ESTAB": "ESTABLISHED",
    "SYN-SENT": "SYN_SENT",
    "SYN-RECV": "SYN_RCVD",
    "FIN-WAIT-1": "FIN_WAIT_1",
    "FIN-WAIT-2": "FIN_WAIT_2",
    "TIME-WAIT": "TIME_WAIT",
    "CLOSE-WAIT": "CLOSE_WAIT",
    "LAST-ACK": "LAST_ACK",
    "CLOSING": "CLOSING",
    "CLOSED": "CLOSED",
    "UNCONN": "CLOSED",
}
# Spellings that mean the same state.
ALIASES = {"SYN_RECEIVED": "SYN_RCVD", "SYN-RECEIVED": "SYN_RCVD", "ESTAB": "ESTABLISHED"}

ABSENT = "ABSENT"


def norm(s):
    s = str(s).upper()
    return ALIASES.get(s, s)


def split_addr(a):
    """'198.18.1.2:41001' or '[::1]:22' -> ('198.18.1.2', 41001)."""
    host, _, port = a.rpartition(":")
    host = host.strip("[]")
    if "%" in host:
        host = host.split("%", 1)[0]
    return host, int(port) if port.isdigit() else port


def conn_str(t):
    return "%s:%s>%s:%s" % t


# ------------------------------------------------------------------------------- kernel side


def l4_state(proto, flags):
    """conntrack -L prints no state word for UDP and ICMP: the class follows from its flags
    as lib/l4 names it (UNREPLIED, REPLIED, ASSURED)."""
    if "UNREPLIED" in flags:
        return proto.upper() + "_UNREPLIED"
    if proto == "udp" and "ASSURED" in flags:
        return "UDP_ASSURED"
    return proto.upper() + "_REPLIED"


def flow_key(proto, src, sport, dst, dport, icmp_id=None):
    """The pairing key: the 4-tuple, or for ICMP echo (src, 'id=N', dst, 'icmp')."""
    if proto == "icmp":
        return (src, "id=%s" % icmp_id, dst, "icmp")
    return (src, sport, dst, dport)


def parse_ct_line(line):
    """One conntrack -L / -E line -> dict, or None when it is not a TCP, UDP or ICMP entry."""
    line = re.sub(r"^\s*\[\d+\.\d+\]\s*", "", line.strip())  # -o timestamp
    event = None
    m = re.match(r"\[(\w+)\]\s*(.*)$", line)
    if m:
        event, line = m.group(1), m.group(2)
    words = line.split()
    if len(words) < 4 or words[0] not in ("tcp", "udp", "icmp"):
        return None
    proto = words[0]
    tcp = proto == "tcp"
    e = {"event": event, "proto": proto, "timeout": words[2],
         "state": words[3] if tcp else None, "flags": set(), "orig": {}, "reply": {}}
    side = "orig"
    for w in words[4 if tcp else 3:]:
        if w.startswith("[") and w.endswith("]"):
            e["flags"].add(w.strip("[]"))
            continue
        k, eq, v = w.partition("=")
        if not eq:
            continue
        if k in e[side] and side == "orig":
            side = "reply"
        if k in ("src", "dst", "sport", "dport", "packets", "bytes", "type", "code", "id"):
            if k in e[side]:
                continue  # zone/other repeats
            e[side][k] = int(v) if k != "src" and k != "dst" else v
    o = e["orig"]
    if not tcp:
        e["state"] = l4_state(proto, e["flags"])
    if proto == "icmp":
        if not all(k in o for k in ("src", "dst", "id")):
            return None
        e["tuple"] = flow_key(proto, o["src"], None, o["dst"], None, o["id"])
        return e
    if not all(k in o for k in ("src", "sport", "dst", "dport")):
        return None
    e["tuple"] = (o["src"], o["sport"], o["dst"], o["dport"])
    return e


def read_kernel(path_list, path_events):
    """-> {tuple: entry} from conntrack -L, plus destroyed entries seen only in the events."""
    kern = {}
    with open(path_list) as f:
        for line in f:
            e = parse_ct_line(line)
            if e:
                e["source"] = "list"
                kern[e["tuple"]] = e
    if os.path.exists(path_events):
        last = {}
        with open(path_events) as f:
            for line in f:
                e = parse_ct_line(line)
                if e:
                    last[e["tuple"]] = e
        for t, e in last.items():
            if t not in kern and e["event"] == "DESTROY":
                e["source"] = "destroyed"
                kern[t] = e
    return kern


def read_ss(path):
    """-> {(local, lport, peer, pport): state} for the non-listening sockets of ss -tan."""
    socks = {}
    if not os.path.exists(path):
        return socks
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) < 5 or w[0] in ("State", "LISTEN"):
                continue
            l, p = split_addr(w[3]), split_addr(w[4])
            socks[(l[0], l[1], p[0], p[1])] = SS_STATES.get(w[0], w[0])
    return socks


# ------------------------------------------------------------------------------- synfin side


def read_flows(path):
    with open(path) as f:
        flows = json.load(f)
    out = {}
    for fl in flows:
        proto = fl.get("proto", "tcp")
        o = fl["orig"]
        if proto in ("tcp", "udp"):
            out[(o["src"], int(o["sport"]), o["dst"], int(o["dport"]))] = fl
        elif proto == "icmp":
            out[flow_key(proto, o["src"], None, o["dst"], None, o["id"])] = fl
    return out


# --------------------------------------------------------------------------- known differences


def read_known(path):
    """Lines: SCENARIO FIELD KERNEL=>SYNFIN REASON... (globs; '#' comments)."""
    known = []
    if not path or not os.path.exists(path):
        return known
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            w = line.split(None, 3)
            if len(w) < 4 or "=>" not in w[2]:
                sys.exit("%s:%d: want SCENARIO FIELD KERNEL=>SYNFIN REASON" % (path, n))
            ref, got = w[2].split("=>", 1)
            known.append({"scenario": w[0], "field": w[1], "ref": ref, "got": got,
                          "reason": w[3], "used": 0})
    return known


def explain(known, scenario, field, ref, got):
    for k in known:
        if (fnmatch.fnmatchcase(scenario, k["scenario"])
                and fnmatch.fnmatchcase(field, k["field"])
                and fnmatch.fnmatchcase(str(ref), k["ref"])
                and fnmatch.fnmatchcase(str(got), k["got"])):
            k["used"] += 1
            return k["reason"]
    return None


# Fields two runs of a tracker on the same packets may differ in: the time left before expiry
# (a replay's clock stops at the last packet, a live one runs on to the snapshot) and lcore (the
# CPU that created the flow, live).
RUN_FIELDS = ("expires_in_s", "lcore")


def same_flows(name, path_a, path_b):
    """Whether two --flows-json files hold the same flows (RUN_FIELDS aside); prints each
    difference. -> bool."""
    try:
        runs = []
        for path in (path_a, path_b):
            with open(path) as f:
                runs.append({json.dumps([fl.get("proto"), fl["orig"], fl.get("vlan")],
                                        sort_keys=True):
                             {k: v for k, v in fl.items() if k not in RUN_FIELDS}
                             for fl in json.load(f)})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        print("%s: cannot compare %s with %s: %s -> FAIL" % (name, path_a, path_b, e))
        return False
    a, b = runs
    bad = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    for k in bad:
        fa, fb = a.get(k), b.get(k)
        if fa is None or fb is None:
            print("    %s only in %s" % (k, os.path.basename(path_a if fb is None else path_b)))
            continue
        for f in sorted(set(fa) | set(fb)):
            if fa.get(f) != fb.get(f):
                print("    %s %s: %s / %s" % (k, f, fa.get(f), fb.get(f)))
    print("%s: %s and %s: %d flow(s), %d differ -> %s"
          % (name, os.path.basename(path_a), os.path.basename(path_b), len(set(a) | set(b)),
             len(bad), "PASS" if not bad else "FAIL"))
    return not bad


# ------------------------------------------------------------------------------- comparison


def compare_conn(t, ke, fl, ss_c, ss_s):
    """-> list of (field, kernel or ss value, synfin value, equal?) for one connection."""
    res = []

    def add(field, ref, got, eq=None):
        res.append((field, ref, got, ref == got if eq is None else eq))

    if ke is None:
        add("state", ABSENT, norm(fl.get("state")) if fl else ABSENT)
    elif ke["source"] == "destroyed":
        # The kernel deletes some entries at once (an RST before the reply, a reopened
        # TIME_WAIT); synfin agrees when it ended in the same state or dropped the flow too.
        got = norm(fl.get("state")) if fl else ABSENT
        add("state", "%s(destroyed)" % norm(ke["state"]), got,
            got in (norm(ke["state"]), ABSENT))
    else:
        add("state", norm(ke["state"]), norm(fl.get("state")) if fl else ABSENT)
    if fl is None:
        return res
    if ke is not None and ke["source"] == "list":
        add("assured", "ASSURED" in ke["flags"], bool(fl.get("assured", False)))
        for d in ("orig", "reply"):
            kp, kb = ke[d].get("packets"), ke[d].get("bytes")
            if kp is None:
                continue  # nf_conntrack_acct off
            sp = fl.get("packets", {}).get(d)
            sb = fl.get("bytes", {}).get(d)
            add("packets", "%s=%s" % (d, kp), "%s=%s" % (d, sp))
            # conntrack counts IP bytes; a tracker may count frames (14 more per packet).
            add("bytes", "%s=%s" % (d, kb), "%s=%s" % (d, sb),
                sb is not None and (sb == kb or (sp == kp and sb == kb + 14 * kp)))
    if fl.get("proto", "tcp") != "tcp":
        return res  # sockets' states are TCP's
    src, sport, dst, dport = t
    add("client_state", ss_c.get((src, sport, dst, dport), "CLOSED"),
        norm(fl.get("client_state")))
    add("server_state", ss_s.get((dst, dport, src, sport), "CLOSED"),
        norm(fl.get("server_state")))
    return res


def run_scenario(name, args, known):
    base = os.path.join(args.out, name)
    flows_path = os.path.join(args.flows_dir or args.out, name + args.flows_suffix)
    print("== %s" % name)
    kern = read_kernel(base + ".conntrack.txt", base + ".events.txt")
    ss_c = read_ss(base + ".ss-client.txt")
    ss_s = read_ss(base + ".ss-server.txt")
    if not os.path.exists(flows_path):
        print("%s: no synfin output %s -> FAIL" % (name, flows_path))
        return False, (0, 0, 1)
    try:
        flows = read_flows(flows_path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print("%s: cannot read %s: %s -> FAIL" % (name, flows_path, e))
        return False, (0, 0, 1)

    # Pair by the kernel's original tuple; a synfin flow keyed the other way round (it took
    # the responder for the initiator) still pairs, and the orientation is a difference.
    pairs = []
    left = dict(flows)
    for t in sorted(kern):
        fl, flipped = left.pop(t, None), False
        if fl is None:
            rev = (t[2], t[3], t[0], t[1])
            fl = left.pop(rev, None)
            flipped = fl is not None
        pairs.append((t, kern[t], fl, flipped))
    for t in sorted(left):
        pairs.append((t, None, left[t], False))
    tuples = [p[0] for p in pairs]
    n_agree = n_expl = n_bad = 0
    rows = []
    for t, ke, fl, flipped in pairs:
        results = compare_conn(t, ke, fl, ss_c, ss_s)
        if flipped:
            results.insert(1, ("orig", "initiator", "responder", False))
        verdicts = []
        for field, ref, got, eq in results:
            if eq:
                v = "agree"
            else:
                why = explain(known, name, field, ref, got)
                v = "explained" if why else "DISAGREE"
            if v == "agree":
                n_agree += 1
            elif v == "explained":
                n_expl += 1
            else:
                n_bad += 1
            verdicts.append((field, ref, got, v))
        rows.append((t, verdicts))

    hide = len(rows) > args.max_rows and not args.verbose
    fmt = "%-40s %-22s %-22s %-27s %-27s %s"
    print(fmt % ("connection", "kernel conntrack", "synfin", "client ss/synfin",
                 "server ss/synfin", "result"))
    hidden = 0
    for t, verdicts in rows:
        worst = "agree"
        for v in verdicts:
            if v[3] == "DISAGREE":
                worst = "DISAGREE"
            elif v[3] == "explained" and worst == "agree":
                worst = "explained"
        if hide and worst == "agree":
            hidden += 1
            continue
        by = {}
        for f, ref, got, v in verdicts:
            by.setdefault(f, []).append((ref, got, v))

        def cell(f, sep):
            if f not in by:
                return "-"
            ref, got, _ = by[f][0]
            return "%s%s%s" % (ref, sep, got)

        k = by.get("state", [("-", "-", "")])[0]
        print(fmt % (conn_str(t), k[0], k[1], cell("client_state", "/"),
                     cell("server_state", "/"), worst))
        for f, ref, got, v in verdicts:
            if v != "agree":
                print("    %-13s kernel %-24s synfin %-24s %s" % (f, ref, got, v))
    if hidden:
        print("(%d agreeing connection(s) not shown; -v shows them)" % hidden)
    ok = n_bad == 0
    print("%s: %d connection(s) (kernel %d, synfin %d); %d agree, %d explained, %d disagree -> %s"
          % (name, len(tuples), len(kern), len(flows), n_agree, n_expl, n_bad,
             "PASS" if ok else "FAIL"))
    return ok, (n_agree, n_expl, n_bad)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(HERE, "out"),
                   help="directory with the scenarios' oracle files (default test/real/out)")
    p.add_argument("--flows-dir", help="directory with NAME.flows.json (default: --out)")
    p.add_argument("--flows-suffix", default=".flows.json",
                   help="the tracker's flows are NAME + this (default .flows.json; synfin-xdp's "
                        "live snapshots: .xdp.flows.json)")
    p.add_argument("--same-as", metavar="SUFFIX2",
                   help="NAME + SUFFIX2 must hold the same flows as NAME + --flows-suffix "
                        "(expires_in_s and lcore aside)")
    p.add_argument("--known", default=os.path.join(HERE, "known-differences.txt"))
    p.add_argument("--max-rows", type=int, default=20,
                   help="above this many connections show only the differing ones")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("scenarios", nargs="*")
    args = p.parse_args()

    names = args.scenarios
    if not names:
        try:
            names = sorted(f[: -len(".conntrack.txt")] for f in os.listdir(args.out)
                           if f.endswith(".conntrack.txt"))
        except OSError as e:
            print("compare: %s" % e, file=sys.stderr)
            return 2
    if not names:
        print("compare: no scenarios in %s" % args.out, file=sys.stderr)
        return 2
    known = read_known(args.known)
    passed = failed = 0
    tot = [0, 0, 0]
    for name in names:
        if not os.path.exists(os.path.join(args.out, name + ".conntrack.txt")):
            print("== %s\n%s: no oracle files in %s -> FAIL" % (name, name, args.out))
            failed += 1
            continue
        ok, counts = run_scenario(name, args, known)
        if args.same_as:
            d = args.flows_dir or args.out
            if not same_flows(name, os.path.join(d, name + args.flows_suffix),
                              os.path.join(d, name + args.same_as)):
                ok = False
        for i in range(3):
            tot[i] += counts[i]
        if ok:
            passed += 1
        else:
            failed += 1
        print()
    for k in known:
        if not k["used"] and args.verbose:
            print("note: known difference not seen: %s %s %s=>%s"
                  % (k["scenario"], k["field"], k["ref"], k["got"]))
    print("fields: %d agree, %d explained, %d disagree" % tuple(tot))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
