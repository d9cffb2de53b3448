#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end tests of the synfin application (python3 stdlib only).

  test_app.py SYNFIN_EXE CASE
    pcap     a small pcap through net_pcap (-l 0, packet clock, --idle-exit): checks the
             --flows-json output flow by flow, and that --burst 1 gives the same flows
             (packets of one flow in one burst vs. one per burst)
    workers  two worker lcores (oversubscribed CPUs are fine) on a two-queue net_null port
             with symmetric RSS, stopped by
             SIGTERM: exit 0, final statistics, each worker polls its own queue
    config   invalid config files and options: exit 2, one message naming the key/option
"""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402

CK = E.Checker()
check, run = CK.check, E.run


def frames():
    c, s = "10.0.0.1", "10.0.0.2"
    fr = []
    # A: full lifecycle, client 10.0.0.1:40000 -> 10.0.0.2:80 (client is the smaller endpoint)
    fr += E.handshake(c, s, 40000, 80, 1000, 5000, data=b"GET / HTTP/1.0\r\n\r\n")
    fr += [E.tcp4(s, c, 80, 40000, 5001, 1019, E.PSH | E.ACK, b"HTTP/1.0 200 OK\r\n\r\n"),
           E.tcp4(c, s, 40000, 80, 1019, 5020, E.FIN | E.ACK),
           E.tcp4(s, c, 80, 40000, 5020, 1020, E.FIN | E.ACK),
           E.tcp4(c, s, 40000, 80, 1020, 5021, E.ACK)]
    # B: client 10.0.0.9:50000 -> 10.0.0.2:443 (client is the larger endpoint: swapped key),
    # established with data both ways, then one segment far beyond the window (INVALID)
    b = "10.0.0.9"
    fr += E.handshake(b, s, 50000, 443, 7000, 9000, data=b"hello")
    fr += [E.tcp4(s, b, 443, 50000, 9001, 7006, E.PSH | E.ACK, b"world"),
           E.tcp4(b, s, 50000, 443, 7006 + 1000000000, 9006, E.PSH | E.ACK, b"late")]
    # C: IPv6 SYN nobody answers
    fr += [E.tcp6("2001:db8::1", "2001:db8::2", 50001, 443, 100, 0, E.SYN)]
    # D: mid-stream ACK (picked up in loose mode)
    fr += [E.tcp4("10.0.0.5", "10.0.0.6", 1234, 22, 424242, 777, E.ACK)]
    # E: one UDP datagram (a flow, UNREPLIED); not tracked: ARP
    fr += [E.udp4(c, s, 53, 53), E.arp()]
    return fr


def case_pcap(exe, tmp):
    pcap = os.path.join(tmp, "flows.pcap")
    E.write(pcap, frames())
    results = []
    for burst in ("32", "1"):
        out = os.path.join(tmp, f"flows-{burst}.json")
        p = run(E.synfin_argv(exe, [f"net_pcap0,rx_pcap={pcap}"],
                              ["--clock=packet", "--idle-exit", "300", "--burst", burst,
                               "--flows-json", out], prefix=f"sf_e2e_pcap{burst}"))
        print(p.stdout[-3000:], p.stderr[-2000:])
        check(p.returncode == 0, f"burst {burst}: exit status {p.returncode}, want 0")
        check("synfin statistics" in p.stdout, f"burst {burst}: no final statistics")
        check("not-TCP: 1" in p.stdout, f"burst {burst}: want 1 untracked packet counted")
        check("invalid_seq_above_window=1" in p.stdout,
              f"burst {burst}: want one seq_above_window reason counted")
        flows, err = E.read_json(out)
        if not check(err is None, f"burst {burst}: flows JSON unreadable: {err}"):
            return
        results.append(sorted(flows, key=lambda x: (x["orig"]["src"], x["orig"]["sport"])))
    flows = results[0]
    check(results[0] == results[1], "--burst 1 and --burst 32 give different flows",
          json.dumps(results, indent=1))
    by = {(x["orig"]["src"], x["orig"]["sport"]): x for x in flows}
    check(len(flows) == 5, f"want 5 flows, got {len(flows)}", json.dumps(flows, indent=1))
    e = by.get(("10.0.0.1", 53))
    check(e is not None and e["packets"] == {"orig": 1, "reply": 0}, "flow E (UDP)", e)

    a = by.get(("10.0.0.1", 40000))
    check(a is not None, "flow A (10.0.0.1:40000) missing")
    if a:
        check(a["orig"] == {"src": "10.0.0.1", "sport": 40000, "dst": "10.0.0.2", "dport": 80},
              "flow A orig tuple", a["orig"])
        check(a["state"] == "TIME_WAIT", "flow A state", a["state"])
        check(a["client_state"] == "TIME_WAIT", "flow A client_state", a["client_state"])
        check(a["server_state"] == "CLOSED", "flow A server_state", a["server_state"])
        check(a["packets"] == {"orig": 5, "reply": 3}, "flow A packets", a["packets"])
        check(a["bytes"]["orig"] == 4 * 40 + 58 and a["bytes"]["reply"] == 2 * 40 + 59,
              "flow A bytes (L3)", a["bytes"])
        check(a["assured"] is True and a["picked_up"] is False, "flow A flags", a)
        check(0 < a["expires_in_s"] <= 240, "flow A expires_in_s", a["expires_in_s"])
        check(a["proto"] == "tcp" and a["lcore"] == 0, "flow A proto/lcore", a)

    b = by.get(("10.0.0.9", 50000))
    check(b is not None, "flow B (10.0.0.9:50000, swapped key) missing or not un-swapped",
          list(by))
    if b:
        check(b["orig"]["dst"] == "10.0.0.2" and b["orig"]["dport"] == 443, "flow B orig", b)
        check(b["state"] == "ESTABLISHED", "flow B state", b["state"])
        check(b["client_state"] == "ESTABLISHED" and b["server_state"] == "ESTABLISHED",
              "flow B endpoint states", b)
        check(b["packets"] == {"orig": 3, "reply": 2}, "flow B packets", b["packets"])
        check(b["invalid"] == 1, "flow B invalid count", b["invalid"])
        check(b["assured"] is True, "flow B assured", b)

    c = by.get(("2001:db8::1", 50001))
    check(c is not None, "flow C (IPv6 SYN) missing", list(by))
    if c:
        check(c["state"] == "SYN_SENT" and c["client_state"] == "SYN_SENT", "flow C state", c)
        check(c["packets"] == {"orig": 1, "reply": 0}, "flow C packets", c["packets"])
        check(c["assured"] is False, "flow C assured", c)

    d = by.get(("10.0.0.5", 1234))
    check(d is not None, "flow D (picked up) missing", list(by))
    if d:
        check(d["picked_up"] is True and d["state"] == "ESTABLISHED", "flow D", d)


def case_l4(exe, tmp):
    """UDP, ICMP, ICMPv6 echo and GRE flows as --flows-json and --show-flows print them, with
    their own timeouts (--timeout udp_stream=, Linux's defaults otherwise). --burst 1: the
    packet clock advances per burst, and the UDP stream rule needs each packet's own time."""
    c, s = "10.0.0.1", "10.0.0.2"
    fr = [E.udp4(c, s, 5353, 53), E.udp4(s, c, 53, 5353),      # UDP, replied at 1 ms
          E.udp4("10.0.0.7", s, 6000, 7000),                   # UDP, one way
          E.icmp4(c, s, 8, 777), E.icmp4(s, c, 0, 777),        # echo and its reply
          E.icmp6("2001:db8::1", "2001:db8::2", 128, 9),       # ICMPv6 echo, unanswered
          E.ip4_proto(c, s, 47), E.ip4_proto(s, c, 47),        # GRE, both ways
          E.udp4(c, s, 5353, 53)]                              # 3 s later: a UDP stream
    times = [E.T0 * 1000000 + i * 1000 for i in range(len(fr) - 1)] + [E.T0 * 1000000 + 3000000]
    pcap = os.path.join(tmp, "l4.pcap")
    E.write(pcap, fr, times)
    out = os.path.join(tmp, "l4.json")
    p = run(E.synfin_argv(exe, [f"net_pcap0,rx_pcap={pcap}"],
                          ["--clock=packet", "--burst", "1", "--idle-exit", "300",
                           "--timeout", "udp_stream=90",
                           "--show-flows", "--flows-json", out], prefix="sf_e2e_l4"))
    print(p.stdout[-4000:], p.stderr[-2000:])
    check(p.returncode == 0, f"exit status {p.returncode}, want 0")
    flows, err = E.read_json(out)
    if not check(err is None, f"flows JSON unreadable: {err}"):
        return
    by = {(f["proto"], f["orig"]["src"]): f for f in flows}
    check(len(flows) == 5, "want 5 flows (2 UDP, ICMP, ICMPv6, GRE)", flows)
    u = by.get(("udp", c))
    check(u is not None and u["orig"] == {"src": c, "sport": 5353, "dst": s, "dport": 53}
          and u["state"] == "UDP_ASSURED" and u["assured"] is True and u["protonum"] == 17
          and u["packets"] == {"orig": 2, "reply": 1} and 0 < u["expires_in_s"] <= 90
          and "client_state" not in u, "UDP stream flow", u)
    u = by.get(("udp", "10.0.0.7"))
    check(u is not None and u["state"] == "UDP_UNREPLIED" and 0 < u["expires_in_s"] <= 30,
          "one-way UDP flow (30 s timeout)", u)
    i = by.get(("icmp", c))
    check(i is not None and i["orig"] == {"src": c, "dst": s, "type": 8, "code": 0, "id": 777}
          and i["state"] == "ICMP_REPLIED" and i["protonum"] == 1
          and i["packets"] == {"orig": 1, "reply": 1} and 0 < i["expires_in_s"] <= 30,
          "ICMP echo flow", i)
    i = by.get(("icmpv6", "2001:db8::1"))
    check(i is not None and i["orig"]["type"] == 128 and i["orig"]["id"] == 9
          and i["state"] == "ICMP_UNREPLIED" and i["protonum"] == 58, "ICMPv6 echo flow", i)
    g = by.get(("gre", c))
    check(g is not None and g["orig"] == {"src": c, "dst": s} and g["protonum"] == 47
          and g["state"] == "GENERIC_REPLIED" and 0 < g["expires_in_s"] <= 600, "GRE flow", g)
    lines = p.stdout.splitlines()
    for want in (r"^udp      17 \d+ UDP_ASSURED src=10\.0\.0\.1 dst=10\.0\.0\.2 sport=5353 dport=53 "
                 r"src=10\.0\.0\.2 dst=10\.0\.0\.1 sport=53 dport=5353 \[ASSURED\]$",
                 r"^icmp     1 \d+ ICMP_REPLIED src=10\.0\.0\.1 dst=10\.0\.0\.2 type=8 code=0 "
                 r"id=777 src=10\.0\.0\.2 dst=10\.0\.0\.1 type=0 code=0 id=777$",
                 r"^icmpv6   58 \d+ ICMP_UNREPLIED .* type=128 code=0 id=9 \[UNREPLIED\] .* "
                 r"type=129 code=0 id=9$",
                 r"^gre      47 \d+ GENERIC_REPLIED src=10\.0\.0\.1 dst=10\.0\.0\.2 "
                 r"src=10\.0\.0\.2 dst=10\.0\.0\.1$"):
        check(any(re.match(want, l) for l in lines), f"--show-flows: no line {want}", lines)
    check(re.search(r"UDP: 4 +ICMP: 3 +ICMP errors: 0 .*other IP: 2", p.stdout),
          "statistics: UDP/ICMP/other packet counts", p.stdout)
    check("UDP_UNREPLIED=1 UDP_REPLIED=0 UDP_ASSURED=1 ICMP_UNREPLIED=1 ICMP_REPLIED=1 "
          "GENERIC_UNREPLIED=0 GENERIC_REPLIED=1" in p.stdout, "statistics: L4 classes", p.stdout)


def case_workers(exe, tmp):
    out = os.path.join(tmp, "w.json")
    cpus = sorted(os.sched_getaffinity(0))
    c0, c1 = cpus[0], cpus[1] if len(cpus) > 1 else cpus[0]
    # three lcores on (at most) two CPUs: the main lcore mostly sleeps
    p = E.start(E.synfin_argv(exe, ["net_null0"], ["--rxq", "2", "--flows-json", out],
                              lcores=[f"--lcores=0@{c0},1@{c0},2@{c1}"],
                              prefix="sf_e2e_workers"))
    time.sleep(2)
    so, se, in_time = E.stop(p)
    check(in_time, "synfin did not exit within 30 s of SIGTERM")
    print(so[-3000:], se[-2000:])
    check(p.returncode == 0, f"exit status {p.returncode} after SIGTERM, want 0")
    polls = [l for l in so.splitlines() if l.startswith("synfin: lcore") and "polls" in l]
    check(len(polls) == 2, "want two worker lcores listed", polls)
    check(any("port0/q0" in l for l in polls) and any("port0/q1" in l for l in polls)
          and not any("port0/q0" in l and "port0/q1" in l for l in polls),
          "each worker must poll its own queue", polls)
    check("cannot spread" not in se, "net_null RSS fell back to one queue", se)
    check("synfin statistics" in so, "no final statistics after SIGTERM")
    rx = [l for l in so.splitlines() if l.strip().startswith("RX-packets:")]
    check(rx and int(rx[-1].split()[1]) > 0, "no packets counted by the tracker", rx)
    flows, err = E.read_json(out)
    if check(err is None, f"flows JSON unreadable: {err}"):
        check(flows == [], "net_null frames are not TCP: want no flows")


def case_config(exe, tmp):
    pcap = os.path.join(tmp, "one.pcap")
    E.write(pcap, [E.arp()])
    base = E.synfin_argv(exe, [f"net_pcap0,rx_pcap={pcap}"], prefix="sf_e2e_cfg")
    cases = [
        ("[general]\nburst = 1000\n", "burst"),
        ("[general]\nbogus_key = 1\n", "bogus_key"),
        ("[timeouts]\nestablished = forever\n", "established"),
        ("[timeouts]\nno_such_state = 5\n", "no_such_state"),
        ("[tcp]\nloose = maybe\n", "loose"),
        ("[nosection]\nx = 1\n", "nosection"),
    ]
    for i, (text, key) in enumerate(cases):
        path = os.path.join(tmp, f"bad{i}.conf")
        with open(path, "w") as f:
            f.write(text)
        p = run(base + ["--config", path])
        err = p.stderr.strip().splitlines()
        check(p.returncode == 2, f"config {text!r}: exit {p.returncode}, want 2", p.stderr)
        check(len(err) == 1 and key in err[0] and path in err[0],
              f"config {text!r}: want one message naming {key!r} and the file", err)
    for opt, word in [(["--mode", "bogus"], "--mode"), (["--frobnicate"], "--frobnicate"),
                      (["--burst", "0"], "--burst"), (["--timeout", "established=x"], "established"),
                      (["--timeout", "nosuch=5"], "nosuch"), (["--stats-period"], "--stats-period"),
                      (["--config", os.path.join(tmp, "missing.conf")], "missing.conf")]:
        p = run(base + opt)
        err = p.stderr.strip().splitlines()
        check(p.returncode == 2, f"{opt}: exit {p.returncode}, want 2", p.stderr)
        check(len(err) == 1 and word in err[0], f"{opt}: want one message naming {word!r}", err)
    # The documented example config is valid and command-line options override it.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    example = os.path.join(root, "config", "synfin.conf")
    p = run(base + ["--config", example, "--idle-exit", "100", "--burst", "7",
                    "--cmdline-file", os.devnull])
    check(p.returncode == 0, f"config/synfin.conf: exit {p.returncode}, want 0", p.stderr)
    p = run([exe, "--", "--help"])
    check(p.returncode == 0 and "--flows-json" in p.stdout, "--help", p.stdout)


if __name__ == "__main__":
    sys.exit(E.main_cases(__doc__, {"pcap": case_pcap, "l4": case_l4, "workers": case_workers,
                                    "config": case_config}, CK))
