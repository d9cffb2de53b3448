#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Flow-end records end to end (python3 stdlib): synfin on pcaps with --clock=packet,
--flows-json, --flow-log and --ipfix to an nfcapd started here, the three outputs and the final
statistics checked against each other.

  test_export.py SYNFIN_EXE PCAPGEN SOURCE_ROOT

Inputs: every scenario of test/scenarios/*.scn as pcaps (synfin-pcapgen -u, concatenated per
tracker configuration as test_scenarios.py does), test/data/quickstart.pcap (--burst 1, so each
packet has its own time) and a pcap of UDP, ICMP/ICMPv6 echo, GRE, IPv6 TCP, an ICMP error
RELATED to a UDP flow and an ARP frame. For each run:
  (a) the flow log's "shutdown" records are exactly the flows of --flows-json (by protocol, VLAN
      and orig tuple; every member equal but expires_in_s, which is 0 in a record);
  (b) every other record ends closed/idle/evicted/reopened/flushed, and the final statistics
      add up: RX-packets = TCP + UDP + ICMP + ICMP errors + other IP + not-TCP + malformed;
      those tracked = accepted + INVALID + refused + RELATED; accepted = the packets summed over
      all records (each accepted packet counts on exactly one flow, which ends in exactly one
      record); records = created; shutdown records = active flows; per end reason: reopened,
      flushed, evicted as counted, closed + idle = expired + rst-deleted; conn_state follows
      from the history by docs/export.md's rules (recomputed here), first_seen <= last_seen;
  (s) scenarios: each scenario's records (its address pair, in the flow log's order) are the
      flows of its `end` lines (test/scenarios/README.md, the .expect's endN=), one by one:
      client, history, conn_state and end_reason;
  (c) nfcapd holds exactly the flow log's flows: proto, addresses, ports (ICMP: type.code as
      the destination port), packets and bytes both ways; no sequence errors;
  (d) the summary line: N = the flow log's lines, M = the shutdown records, D = 0, no send
      error.
  (e) quickstart: per TCP connection of the capture (read here), history, conn_state, end
      reason, packets and bytes per direction and first/last packet times as derived from the
      capture's flags, payload lengths and timestamps.
The l4, first scenario and quickstart inputs run once more with --ipfix alone (no flow log: the
exporter then builds no text fields): nfcapd must hold the same flows as from the first run.
Then: `flush flows` from --cmdline-file gives "flushed" records (the flows open at the end of
the plain quickstart run); a UDP flow idle longer than --timeout udp=2 when a packet 5 s later
advances the packet clock (--burst 1) ends "idle" before that flow's tuple starts a new flow;
--ipfix nonsense or with a port outside 1..65535, and --flow-log in a missing folder, exit
non-zero with one message on stderr.
Without nfcapd/nfdump (Debian package nfdump) the nfcapd checks (c) are skipped, not the rest.
"""

import glob
import ipaddress
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402

CK = E.Checker()
check = CK.check
ENDED = {"closed", "idle", "evicted", "reopened", "flushed"}
PROTO = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}
SUMMARY = re.compile(r"^synfin: exported (\d+) flow records \((\d+) open at exit\), (\d+) "
                     r"dropped \(ring full\)(?:, (\d+) IPFIX messages to (\S+), (\d+) send "
                     r"errors)?$", re.M)
STATS = [  # the final statistics block's lines, the names given to their numbers
    (r"RX-packets: (\d+)\s+RX-bytes: \d+\s+TCP: (\d+)\s+not-TCP: (\d+)\s+malformed: (\d+)",
     ("rx", "tcp", "not_tcp", "malformed")),
    (r"UDP: (\d+)\s+ICMP: (\d+)\s+ICMP errors: (\d+)\s+\(RELATED (\d+)\)\s+other IP: (\d+)",
     ("udp", "icmp", "icmp_errors", "related", "other")),
    (r"accepted: (\d+)\s+INVALID: (\d+)", ("accepted", "invalid")),
    (r"flows: (\d+) active of \d+; created (\d+) closed (\d+) expired (\d+) evicted (\d+) "
     r"refused (\d+) reopened (\d+) rst-deleted (\d+) flushed (\d+)",
     ("active", "created", "closed", "expired", "evicted", "refused", "reopened", "rst_deleted",
      "flushed")),
]
T0_US = E.T0 * 1000000

# ---- reading synfin's outputs ----


def final_stats(out):
    """The numbers of the last `synfin statistics` block of stdout, or None."""
    i = out.rfind("synfin statistics")
    if i < 0:
        return None
    block, st = out[i:], {}
    for pat, names in STATS:
        m = re.search(pat, block)
        if m is None:
            return None
        st.update(zip(names, map(int, m.groups())))
    return st


def read_log(path):
    """The flow log's records (None where a line is no JSON object), or None if unreadable."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    recs = []
    for line in lines:
        try:
            recs.append(json.loads(line))
        except ValueError:
            recs.append(None)
    return recs


def key(f):
    """A flow's identity: protocol, VLAN and the orig tuple (ports, or ICMP type/code/id)."""
    return f["proto"], f.get("vlan"), tuple(sorted(f["orig"].items()))


def conn_state(h):
    """conn_state from a history string by docs/export.md's rules (Zeek's meanings)."""
    o, r = set(c for c in h if c.isupper()), set(c for c in h if c.islower())
    if "S" not in o:
        if "h" in r:
            after = h[h.index("h"):]
            if "r" in after:
                return "RSTRH"
            if "f" in after:
                return "SHR"
        return "OTH"
    if "h" not in r:
        if "r" in r:
            return "REJ"
        if "R" in o:
            return "RSTOS0"
        if "F" in o:
            return "SH"
        return "S0" if not r else "OTH"
    rst = [c for c in h if c in "Rr"]
    if rst:
        return "RSTO" if rst[0] == "R" else "RSTR"
    if "F" in o:
        return "SF" if "f" in r else "S2"
    return "S3" if "f" in r else "S1"


def nfdump_line(f):
    """The NFDUMP_FMT line nfdump prints for record f (ICMP: type << 8 | code as the port)."""
    o = f["orig"]
    proto = f.get("protonum", PROTO.get(f["proto"]))
    if "type" in o:
        sport, dport = 0, o["type"] << 8 | o["code"]
    else:
        sport, dport = o.get("sport", 0), o.get("dport", 0)
    return " ".join(map(str, [proto, ipaddress.ip_address(o["src"]), sport,
                              ipaddress.ip_address(o["dst"]), dport,
                              f["packets"]["orig"], f["bytes"]["orig"], f["packets"]["reply"],
                              f["bytes"]["reply"]]))


def canon(line):
    """An nfdump line with its addresses in ipaddress's spelling."""
    f = line.split()
    if len(f) == 9:
        for i in (1, 3):
            try:
                f[i] = str(ipaddress.ip_address(f[i]))
            except ValueError:
                pass
    return " ".join(f)


# ---- one run and the checks every run gets ----


def run_export(exe, tmp, name, pcap, opts=(), nfdump=True):
    """synfin on pcap with the export outputs (and nfcapd when nfdump): the run's outputs as a
    dict (p, flows, recs, stats, summary), the checks (a)-(d) done; None if it did not run."""
    log, fj = os.path.join(tmp, name + ".log.json"), os.path.join(tmp, name + ".flows.json")
    cap = E.Nfcapd(tmp, CK, name + ".nfcapd") if nfdump else None
    if cap is not None and not cap.ok:
        cap.stop()
        return None
    args = ["--clock=packet", "--idle-exit", "300", *opts, "--flows-json", fj,
            "--flow-log", log] + (["--ipfix", cap.addr()] if cap else [])
    argv = E.synfin_argv(exe, [f"net_pcap0,rx_pcap={pcap}"], args,
                         prefix=f"sf_exp{os.getpid()}_{name}")
    try:
        p = E.run(argv, timeout=60)
    finally:
        nflog, nffile = cap.stop() if cap else ("", None)
    r = {"p": p, "flows": E.read_json(fj)[0], "recs": read_log(log),
         "stats": final_stats(p.stdout), "summary": SUMMARY.search(p.stdout)}
    ok = check(p.returncode == 0, f"{name}: exit status {p.returncode}, want 0",
               p.stdout[-3000:] + p.stderr[-2000:])
    ok &= check(r["flows"] is not None, f"{name}: --flows-json unreadable")
    ok &= check(r["recs"] is not None and None not in r["recs"],
                f"{name}: the flow log is unreadable or has a line that is no JSON object")
    ok &= check(r["stats"] is not None, f"{name}: no final statistics block", p.stdout)
    ok &= check(r["summary"] is not None, f"{name}: no `synfin: exported` summary line",
                p.stdout[-2000:])
    if not ok:
        return None
    recs, flows, st = r["recs"], r["flows"], r["stats"]
    reasons = {}
    for f in recs:
        reasons[f["end_reason"]] = reasons.get(f["end_reason"], 0) + 1
    print(f"{name}: {len(recs)} records {sorted(reasons.items())}, {len(flows)} flows open at "
          f"exit, {st['accepted']} accepted, {st['invalid']} INVALID, {st['related']} RELATED")
    check_shutdown(name, recs, flows)
    check_totals(name, recs, st)
    check_records(name, recs)
    check_summary(name, r["summary"], recs, cap)
    if cap is not None:
        check_nfcapd(name, recs, nflog, nffile)
    return r


def check_shutdown(name, recs, flows):
    """(a) the shutdown records are the flows of --flows-json, member by member."""
    shut = [f for f in recs if f["end_reason"] == "shutdown"]
    by_rec, by_flow = {key(f): f for f in shut}, {key(f): f for f in flows}
    check(len(by_rec) == len(shut) and len(by_flow) == len(flows),
          f"{name}: two open flows with one identity", [shut, flows])
    check(set(by_rec) == set(by_flow),
          f"{name}: shutdown records and --flows-json name other flows",
          {"records only": sorted(set(by_rec) - set(by_flow)),
           "flows-json only": sorted(set(by_flow) - set(by_rec))})
    for k in set(by_rec) & set(by_flow):
        f, rec = by_flow[k], by_rec[k]
        diff = {m: (f[m], rec.get(m)) for m in f if m != "expires_in_s" and rec.get(m) != f[m]}
        check(not diff and rec.get("expires_in_s") == 0,
              f"{name}: shutdown record of {k} differs from --flows-json (flows-json, record)",
              diff or rec)


def check_totals(name, recs, st):
    """(b) end reasons, and the final statistics against the records."""
    bad = [f for f in recs if f["end_reason"] not in ENDED | {"shutdown"}]
    check(not bad, f"{name}: records with an unknown end_reason", bad[:3])
    tracked = st["tcp"] + st["udp"] + st["icmp"] + st["icmp_errors"] + st["other"]
    check(st["rx"] == tracked + st["not_tcp"] + st["malformed"],
          f"{name}: RX-packets {st['rx']} != tracked {tracked} + not-TCP {st['not_tcp']} + "
          f"malformed {st['malformed']}")
    verdicts = st["accepted"] + st["invalid"] + st["refused"] + st["related"]
    check(tracked == verdicts,
          f"{name}: tracked packets {tracked} != accepted + INVALID + refused + RELATED "
          f"{verdicts}", st)
    pkts = sum(f["packets"]["orig"] + f["packets"]["reply"] for f in recs)
    check(pkts == st["accepted"], f"{name}: the records hold {pkts} packets, the statistics "
          f"accepted {st['accepted']} (INVALID {st['invalid']} count on no flow)")
    check(len(recs) == st["created"], f"{name}: {len(recs)} records, {st['created']} created")
    n = {x: sum(1 for f in recs if f["end_reason"] == x) for x in ENDED | {"shutdown"}}
    check(n["shutdown"] == st["active"],
          f"{name}: {n['shutdown']} shutdown records, {st['active']} flows active")
    for reason, counter in (("reopened", "reopened"), ("flushed", "flushed"),
                            ("evicted", "evicted")):
        check(n[reason] == st[counter],
              f"{name}: {n[reason]} {reason} records, statistics {counter} {st[counter]}")
    check(n["closed"] + n["idle"] == st["expired"] + st["rst_deleted"],
          f"{name}: closed {n['closed']} + idle {n['idle']} records != expired "
          f"{st['expired']} + rst-deleted {st['rst_deleted']}")


def check_records(name, recs):
    """History letters, conn_state from the history, times."""
    for f in recs:
        h = f.get("history", "")
        if f["proto"] == "tcp":
            ok = set(h) <= set("SHADFRshadfr") and len(set(h)) == len(h)
            check(ok and f.get("conn_state") == conn_state(h),
                  f"{name}: TCP history {h!r}: conn_state {f.get('conn_state')!r}, by the rules "
                  f"{conn_state(h) if ok else 'no valid history'}", f)
        else:
            want_cs = "SF" if f["packets"]["reply"] else "S0"
            check(h in ("", "D", "Dd", "d") and ("d" not in h or f["packets"]["reply"])
                  and f.get("conn_state") == want_cs,
                  f"{name}: {f['proto']} record: history {h!r} conn_state "
                  f"{f.get('conn_state')!r} (want {want_cs})", f)
        t0, t1, d = f.get("first_seen"), f.get("last_seen"), f.get("duration_s")
        check(isinstance(t0, float) and isinstance(t1, float) and t0 <= t1
              and abs(t1 - t0 - d) < 0.0015, f"{name}: first_seen/last_seen/duration_s", f)


def check_summary(name, m, recs, cap):
    """(d) the exit summary line."""
    n, opened, dropped = int(m.group(1)), int(m.group(2)), int(m.group(3))
    shut = sum(1 for f in recs if f["end_reason"] == "shutdown")
    check(n == len(recs) and opened == shut and dropped == 0,
          f"{name}: summary {m.group(0)!r}: want {len(recs)} records, {shut} open, 0 dropped")
    if cap is not None:
        check(m.group(4) is not None and int(m.group(4)) > 0 and m.group(5) == cap.addr()
              and int(m.group(6)) == 0,
              f"{name}: summary {m.group(0)!r}: want IPFIX messages to {cap.addr()}, "
              "no send error")


def check_nfcapd(name, recs, log, path):
    """(c) nfcapd's file holds the flow log's flows."""
    counts = E.nfcapd_counts(log)
    if check(counts is not None, f"{name}: nfcapd's exit summary missing", log):
        check(counts[1] == 0, f"{name}: nfcapd counted {counts[1]} sequence errors", log)
    if path is None:
        return
    got = E.nfdump_flows(path, CK)
    if got is None:
        return
    got = sorted(canon(line) for line in got)
    want = sorted(nfdump_line(f) for f in recs)
    check(got == want, f"{name}: nfdump read {len(got)} flows, the flow log has {len(want)}; "
          "they differ", {"nfdump only": sorted(set(got) - set(want)),
                          "flow log only": sorted(set(want) - set(got))})


# ---- the inputs ----


def scenario_pcaps(pcapgen, scndir, tmp):
    """[(name, pcap, options)]: the scenarios concatenated per tracker configuration, and
    {name: [.expect as a dict]}: the scenarios of each."""
    out = os.path.join(tmp, "scn")
    os.mkdir(out)
    p = subprocess.run([pcapgen, "-u", "-o", out, *sorted(glob.glob(scndir + "/*.scn"))],
                       capture_output=True, text=True, timeout=60)
    if not check(p.returncode == 0, f"synfin-pcapgen exit status {p.returncode}",
                 p.stdout + p.stderr):
        return [], {}
    groups = {}
    for path in sorted(glob.glob(os.path.join(out, "*.expect"))):
        with open(path) as f:
            e = dict(line.rstrip("\n").partition("=")[::2] for line in f)
        if "skip" in e:
            continue
        opts = (["--no-loose"] if e["loose"] == "0" else []) + \
            (["--liberal"] if e["liberal"] == "1" else [])
        groups.setdefault(tuple(opts), []).append((path[:-len(".expect")] + ".pcap", e))
    check(groups, "synfin-pcapgen wrote no scenario")
    pcaps, exps = [], {}
    for gi, (opts, files) in enumerate(sorted(groups.items())):
        recs = []
        for f, _ in files:
            recs += E.read_records(f)
        pcap = os.path.join(tmp, f"scn{gi}.pcap")
        E.write(pcap, recs, snaplen=262144)
        pcaps.append((f"scenarios{gi}", pcap, list(opts)))
        exps[f"scenarios{gi}"] = [e for _, e in files]
    return pcaps, exps


def check_scenario_ends(name, recs, exps):
    """(s) each scenario's records (its address pair, in the flow log's order: one worker, so in
    the order they ended) against its end lines: client, server, history, conn_state, reason."""
    n = 0
    for e in exps:
        pair = {a.rsplit(":", 1)[0] for a in e["endpoints"].split()}
        want = [tuple(e[f"end{i}"].split()) for i in range(1, int(e["ends"]) + 1)]
        got = [(f"{f['orig']['src']}:{f['orig']['sport']}",
                f"{f['orig']['dst']}:{f['orig']['dport']}", f["history"], f["conn_state"],
                f["end_reason"])
               for f in recs
               if f["proto"] == "tcp" and {f["orig"]["src"], f["orig"]["dst"]} == pair]
        n += len(want)
        check(got == want, f"{name}: scenario {e['scenario']} ({e['source']}): its records "
              "(client, server, history, conn_state, end_reason) differ from its end lines",
              {"records": got, "end lines": want})
    print(f"{name}: {len(exps)} scenarios, {n} flows, their records checked against the end lines")


def icmp4_error(src, dst, quoted, icmp_type=3, code=3):
    """IPv4 ICMP error frame quoting the IPv4 header and 8 bytes of the frame quoted."""
    body = struct.pack("!BBHI", icmp_type, code, 0, 0) + quoted[14:14 + 28]
    body = body[:2] + struct.pack("!H", E.csum(body)) + body[4:]
    return E.eth(E.ipv4(src, dst, body, proto=1), 0x0800)


def l4_pcap(tmp):
    """UDP both ways and one way, an ICMP port unreachable RELATED to the first, ICMP echo and
    reply, an unanswered ICMPv6 echo, GRE both ways, an IPv6 SYN, ARP (as test_app.py l4)."""
    c, s = "10.0.0.1", "10.0.0.2"
    q = E.udp4(c, s, 5353, 53)
    fr = [q, E.udp4(s, c, 53, 5353), E.udp4("10.0.0.7", s, 6000, 7000),
          icmp4_error(s, c, q),
          E.icmp4(c, s, 8, 777), E.icmp4(s, c, 0, 777),
          E.icmp6("2001:db8::1", "2001:db8::2", 128, 9),
          E.ip4_proto(c, s, 47), E.ip4_proto(s, c, 47),
          E.tcp6("2001:db8::1", "2001:db8::2", 50001, 443, 100, 0, E.SYN),
          E.arp()]
    pcap = os.path.join(tmp, "l4.pcap")
    E.write(pcap, fr)
    return pcap


def capture_flows(pcap):
    """The TCP connections of an Ethernet IPv4 capture: {(client, cport, server, sport):
    [(direction 0/1, flags, payload length, IP length, time us)]}, the client being the
    sender of the connection's first packet."""
    with open(pcap, "rb") as f:
        data = f.read()
    off, conns = 24, {}
    while off + 16 <= len(data):
        ts, tus, incl, _ = struct.unpack_from("<IIII", data, off)
        fr = data[off + 16:off + 16 + incl]
        off += 16 + incl
        l3 = 14
        etype = struct.unpack_from("!H", fr, 12)[0]
        while etype in (0x8100, 0x88A8):
            etype = struct.unpack_from("!H", fr, l3 + 2)[0]
            l3 += 4
        if etype != 0x0800 or fr[l3 + 9] != 6:
            continue
        ihl, tot = (fr[l3] & 15) * 4, struct.unpack_from("!H", fr, l3 + 2)[0]
        src, dst = str(ipaddress.ip_address(fr[l3 + 12:l3 + 16])), \
            str(ipaddress.ip_address(fr[l3 + 16:l3 + 20]))
        sp, dp = struct.unpack_from("!HH", fr, l3 + ihl)
        doff, flags = fr[l3 + ihl + 12] >> 4, fr[l3 + ihl + 13]
        fwd, rev = (src, sp, dst, dp), (dst, dp, src, sp)
        k = rev if rev in conns else fwd
        conns.setdefault(k, []).append((0 if k == fwd else 1, flags, tot - ihl - doff * 4, tot,
                                        ts * 1000000 + tus))
    return conns


def letters(flags, plen):
    """History letters of one TCP segment (docs/export.md): handshake, A or D, F, R."""
    out = ""
    if flags & E.SYN:
        out += "H" if flags & E.ACK else "S"
    if plen:
        out += "D"
    elif flags & (E.SYN | E.FIN | E.RST | E.ACK) == E.ACK:
        out += "A"
    if flags & E.FIN:
        out += "F"
    if flags & E.RST:
        out += "R"
    return out


def check_quickstart(r, pcap):
    """(e) history, conn_state, end reason, counters and times against the capture."""
    st = r["stats"]
    if not check(st["invalid"] == 0 and st["tcp"] == st["rx"],
                 "quickstart: want every packet TCP and accepted (the derivation assumes it)",
                 st):
        return
    by = {key(f): f for f in r["recs"]}
    conns = capture_flows(pcap)
    check(len(conns) == len(r["recs"]),
          f"quickstart: {len(conns)} connections in the capture, {len(r['recs'])} records")
    for (c, cp, s, sp), pk in sorted(conns.items()):
        k = ("tcp", 0, tuple(sorted({"src": c, "sport": cp, "dst": s, "dport": sp}.items())))
        f = by.get(k)
        if not check(f is not None, f"quickstart: no record of {c}:{cp} -> {s}:{sp}"):
            continue
        h = ""
        for d, flags, plen, _, _ in pk:
            for ch in letters(flags, plen):
                ch = ch if d == 0 else ch.lower()
                if ch not in h:
                    h += ch
        cs = conn_state(h)
        want = {"history": h, "conn_state": cs,
                "end_reason": "closed" if cs == "REJ" else "shutdown",
                "packets": {"orig": sum(1 for x in pk if x[0] == 0),
                            "reply": sum(1 for x in pk if x[0] == 1)},
                "bytes": {"orig": sum(x[3] for x in pk if x[0] == 0),
                          "reply": sum(x[3] for x in pk if x[0] == 1)},
                "first_seen": round(pk[0][4] // 1000 / 1000, 3),
                "last_seen": round(pk[-1][4] // 1000 / 1000, 3)}
        got = {m: f.get(m) for m in want}
        check(got == want, f"quickstart {c}:{cp}: record differs from the capture",
              {m: (got[m], want[m]) for m in want if got[m] != want[m]})
        print(f"quickstart {c}:{cp}: {f['history']} {f['conn_state']} {f['end_reason']}")
    check(any(f["conn_state"] == "SF" and f["history"].startswith("ShA") for f in r["recs"]),
          "quickstart: no normal close (SF, history ShA...)")


# ---- the cases ----


def case_flush(exe, tmp, pcap, plain, nfdump):
    """`flush flows` after the capture: the open flows end "flushed", none is left."""
    cmds = os.path.join(tmp, "flush.cmds")
    with open(cmds, "w") as f:
        f.write("flush flows\nquit\n")
    r = run_export(exe, tmp, "flush", pcap, ["--burst", "1", "--cmdline-file", cmds], nfdump)
    if r is None:
        return
    flushed = [f for f in r["recs"] if f["end_reason"] == "flushed"]
    check(flushed and r["flows"] == [] and r["stats"]["flushed"] == len(flushed),
          "flush: want flushed records, no flow left", r["recs"])
    if plain is not None:
        def strip(recs, reason):
            return sorted(json.dumps({m: v for m, v in f.items() if m != "end_reason"},
                                     sort_keys=True) for f in recs if f["end_reason"] == reason)
        check(strip(r["recs"], "flushed") == strip(plain["recs"], "shutdown"),
              "flush: the flushed records are not the flows the plain run had open at exit")


def case_idle(exe, tmp, nfdump):
    """A one-way UDP flow, --timeout udp=2: a packet of another flow 5 s later moves the packet
    clock past its timeout (it ends "idle"), then its tuple at 6 s is a new flow."""
    c, s = "10.1.0.1", "10.1.0.2"
    fr = [E.udp4(c, s, 4000, 53), E.udp4("10.1.0.3", s, 4001, 53), E.udp4(c, s, 4000, 53)]
    pcap = os.path.join(tmp, "idle.pcap")
    E.write(pcap, fr, [T0_US, T0_US + 5000000, T0_US + 6000000])
    r = run_export(exe, tmp, "idle", pcap, ["--burst", "1", "--timeout", "udp=2"], nfdump)
    if r is None:
        return
    mine = sorted((f for f in r["recs"] if f["orig"] == {"src": c, "sport": 4000, "dst": s,
                                                         "dport": 53}),
                  key=lambda f: f["first_seen"])
    got = [(f["end_reason"], f["packets"]["orig"], f["first_seen"], f["last_seen"])
           for f in mine]
    want = [("idle", 1, float(E.T0), float(E.T0)),
            ("shutdown", 1, E.T0 + 6.0, E.T0 + 6.0)]
    check(got == want, "idle: the UDP flow's records (end_reason, packets, first, last)",
          {"got": got, "want": want})
    check(r["stats"]["expired"] == 1, "idle: want one flow expired", r["stats"])


def case_ipfix_only(exe, tmp, name, pcap, opts, twin):
    """--ipfix without --flow-log, where the exporter builds none of the text fields: nfcapd
    holds the same flows as from the run with the flow log (@p twin)."""
    cap = E.Nfcapd(tmp, CK, name + ".ipfix-only.nfcapd")
    if not cap.ok:
        cap.stop()
        return
    argv = E.synfin_argv(exe, [f"net_pcap0,rx_pcap={pcap}"],
                         ["--clock=packet", "--idle-exit", "300", *opts, "--ipfix", cap.addr()],
                         prefix=f"sf_exp{os.getpid()}_{name}_ipfix")
    try:
        p = E.run(argv, timeout=60)
    finally:
        nflog, nffile = cap.stop()
    if not check(p.returncode == 0, f"{name} (IPFIX only): exit status {p.returncode}",
                 p.stdout[-2000:] + p.stderr[-2000:]) or nffile is None:
        return
    got = E.nfdump_flows(nffile, CK)
    if got is None:
        return
    got = sorted(canon(line) for line in got)
    want = sorted(nfdump_line(f) for f in twin["recs"])
    check(got == want, f"{name} (IPFIX only): nfdump read {len(got)} flows, the run with the "
          f"flow log exported {len(want)}; they differ",
          {"IPFIX only": sorted(set(got) - set(want)), "with the log": sorted(set(want) - set(got))})


def case_errors(exe, tmp):
    """Bad export options: exit non-zero, one message on stderr naming the option."""
    pcap = os.path.join(tmp, "one.pcap")
    E.write(pcap, [E.arp()])
    for opt, val in (("--ipfix", "nonsense"), ("--ipfix", "127.0.0.1:99999"),
                     ("--ipfix", "127.0.0.1:0"),
                     ("--flow-log", os.path.join(tmp, "nonexistent-dir", "x"))):
        argv = E.synfin_argv(exe, [f"net_pcap0,rx_pcap={pcap}"],
                             ["--clock=packet", "--idle-exit", "300", opt, val],
                             prefix=f"sf_exp{os.getpid()}_err")
        p = E.run(argv, timeout=60)
        err = p.stderr.strip().splitlines()
        check(0 < p.returncode < 128, f"{opt} {val}: exit status {p.returncode}, want an "
              "error exit (not 0, not a signal)", p.stdout[-2000:])
        check(len(err) == 1 and opt in err[0] and val in err[0],
              f"{opt} {val}: want one message on stderr naming the option and its value", err)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    exe, pcapgen, root = sys.argv[1:]
    missing = E.nfdump_missing()
    nfdump = not missing
    if missing:
        print(f"{' and '.join(missing)} not installed (Debian package nfdump): "
              "the nfcapd checks are skipped")
    quick = os.path.join(root, "test", "data", "quickstart.pcap")
    with tempfile.TemporaryDirectory(prefix="synfin_e2e_export_") as tmp:
        inputs, exps = scenario_pcaps(pcapgen, os.path.join(root, "test", "scenarios"), tmp)
        inputs.append(("l4", l4_pcap(tmp), []))
        for name, pcap, opts in inputs:
            r = run_export(exe, tmp, name, pcap, opts, nfdump)
            if name in exps and r is not None:
                check_scenario_ends(name, r["recs"], exps[name])
            if nfdump and r is not None and name in ("l4", "scenarios0"):
                case_ipfix_only(exe, tmp, name, pcap, opts, r)
            if name == "l4" and r is not None:
                # the RELATED and not-TCP terms of (b) are exercised
                check(r["stats"]["related"] == 1 and r["stats"]["not_tcp"] == 1
                      and len(r["recs"]) == 6, "l4: want 6 flows, one RELATED ICMP error and "
                      "one untracked ARP frame", r["stats"])
        plain = run_export(exe, tmp, "quickstart", quick, ["--burst", "1"], nfdump)
        if plain is not None:
            check_quickstart(plain, quick)
            if nfdump:
                case_ipfix_only(exe, tmp, "quickstart", quick, ["--burst", "1"], plain)
        case_flush(exe, tmp, quick, plain, nfdump)
        case_idle(exe, tmp, nfdump)
        case_errors(exe, tmp)
    print("e2e export:", "FAILED" if CK.failed else "ok", f"({CK.failed} failures)",
          "" if nfdump else "(nfcapd checks skipped)")
    return 1 if CK.failed else 0


if __name__ == "__main__":
    sys.exit(main())
