#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end tests of synfin features (python3 stdlib only).

  test_features.py SYNFIN_EXE CASE
    telemetry   synfin kept running (no --idle-exit) with a unique --file-prefix: the telemetry
                socket (<runtime dir>/<prefix>/dpdk_telemetry.v2, SOCK_SEQPACKET) answers
                /synfin/stats (counters of the pcap), /synfin/flows,5 (5 of 8 flows: a dict
                of flow dicts keyed "0".."4"),
                /synfin/config (mode, clock, timeouts) and lists the /synfin/ commands under "/";
                dpdk-telemetry.py, when installed, reads /synfin/config through the same socket
    inline      two net_pcap ports (rx_pcap + tx_pcap each), --mode inline: what arrives on
                port 0 leaves on port 1 and the reverse; with --drop-invalid an out-of-window
                segment is not forwarded and is counted (TX-dropped, invalid reason)
    vlan        802.1Q-tagged traffic: two connections identical but for the VLAN id are two
                flows with --vlan-key (vlan ids in the JSON) and one flow without
    show_flows  --show-flows prints, after the final statistics, exactly the lines that the
                command line's `show flows` prints for the same flows
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402
from e2elib import handshake  # noqa: E402

CK = E.Checker()
check, run = CK.check, E.run


def tracker_line(out, key):
    """The value after `key` in the last final-statistics block."""
    tail = out[out.rfind("synfin statistics"):]
    i = tail.find(key)
    return int(tail[i + len(key):].split()[0]) if i >= 0 else None


# ---- telemetry ----

def runtime_dir(prefix):
    if os.getuid() == 0:
        base = "/var/run/dpdk"
    else:
        base = os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "dpdk")
    return os.path.join(base, prefix)


def tel_query(sock, cmd):
    sock.send(cmd.encode())
    reply = json.loads(sock.recv(1 << 16).decode())
    return reply.get(cmd.split(",")[0])


def case_telemetry(exe, tmp):
    pcap = os.path.join(tmp, "tel.pcap")
    frames = []
    for i in range(8):
        frames += handshake("10.1.0.1", "10.1.0.2", 40000 + i, 80, 1000 * i, 500000 + i)
    E.write(pcap, frames)
    prefix = f"sf-tel-{os.getpid()}"
    rdir = runtime_dir(prefix)
    path = os.path.join(rdir, "dpdk_telemetry.v2")
    p = E.start(E.synfin_argv(exe, [f"net_pcap0,rx_pcap={pcap}"], ["--clock=packet"],
                              prefix=prefix, shconf=True))
    try:
        t0 = time.time()
        while not os.path.exists(path) and time.time() - t0 < 20 and p.poll() is None:
            time.sleep(0.05)
        if not check(os.path.exists(path), f"no telemetry socket at {path}"):
            return
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.connect(path)
        hello = json.loads(sock.recv(1 << 16).decode())
        check(hello.get("pid") == p.pid and "max_output_len" in hello,
              "initial JSON: want pid and max_output_len", hello)
        # the pcap is read at once; wait for the tracker to have counted it
        stats = None
        while time.time() - t0 < 20:
            stats = tel_query(sock, "/synfin/stats")
            if stats and stats.get("rx_pkts") == len(frames):
                break
            time.sleep(0.05)
        check(isinstance(stats, dict), "/synfin/stats: want a dict", stats)
        if stats:
            check(stats.get("rx_pkts") == len(frames) and stats.get("tcp_pkts") == len(frames),
                  f"/synfin/stats: want rx_pkts = tcp_pkts = {len(frames)}", stats)
            check(stats.get("flows_created") == 8 and stats.get("flows_ESTABLISHED") == 8,
                  "/synfin/stats: want 8 flows created, 8 ESTABLISHED", stats)
            check(stats.get("invalid") == 0 and "invalid_seq_above_window" in stats,
                  "/synfin/stats: want every reason counter, all zero", stats)
            port0 = stats.get("port0")
            check(isinstance(port0, dict) and port0.get("rx_pkts") == len(frames)
                  and port0.get("rx_bytes") == sum(len(fr) for fr in frames)
                  and port0.get("tx_pkts") == 0,
                  "/synfin/stats: want port0's rx_pkts, rx_bytes and tx_pkts", stats)
        flows = tel_query(sock, "/synfin/flows,5")
        check(isinstance(flows, dict) and sorted(flows) == ["0", "1", "2", "3", "4"],
              "/synfin/flows,5: want 5 flows keyed 0..4", flows)
        if isinstance(flows, dict) and "0" in flows:
            f = flows["0"]
            check(f.get("src") == "10.1.0.1" and f.get("dport") == 80
                  and f.get("state") == "ESTABLISHED" and f.get("client_state") == "ESTABLISHED"
                  and f.get("packets_orig") == 2 and f.get("packets_reply") == 1,
                  "/synfin/flows: flow dict", f)
        allf = tel_query(sock, "/synfin/flows")
        check(isinstance(allf, dict) and len(allf) == 8
              and sorted(v["sport"] for v in allf.values()) == list(range(40000, 40008)),
              "/synfin/flows: want all 8", allf)
        conf = tel_query(sock, "/synfin/config")
        check(isinstance(conf, dict) and conf.get("mode") == "monitor"
              and conf.get("clock") == "packet" and conf.get("lcores") == 1
              and conf.get("timeout_ESTABLISHED", 0) > 0, "/synfin/config", conf)
        cmds = tel_query(sock, "/")
        check(isinstance(cmds, list) and {"/synfin/stats", "/synfin/flows",
                                          "/synfin/config"} <= set(cmds),
              "/ lists the /synfin/ commands", cmds)
        bad = tel_query(sock, "/synfin/flows,abc")
        check(bad is None, "/synfin/flows,abc: want null (bad parameter)", bad)
        sock.close()
        tool = shutil.which("dpdk-telemetry.py")
        if tool is None:
            print("dpdk-telemetry.py not installed: skipped that check")
        else:
            r = subprocess.run([sys.executable, tool, "-f", prefix], input="/synfin/config\n",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=30)
            check(r.returncode == 0 and '"/synfin/config"' in r.stdout
                  and '"clock": "packet"' in r.stdout,
                  "dpdk-telemetry.py -f PREFIX: /synfin/config", r.stdout + r.stderr)
    finally:
        so, se, _ = E.stop(p)
        print(so[-1500:], se[-1000:])
        check(p.returncode == 0, f"exit status {p.returncode} after SIGTERM, want 0")
        shutil.rmtree(rdir, ignore_errors=True)


# ---- inline ----

def case_inline(exe, tmp):
    c, s = "10.2.0.1", "10.2.0.2"
    fr = handshake(c, s, 40000, 80, 1000, 9000, data=b"hello")
    fr.append(E.tcp4(s, c, 80, 40000, 9001, 1006, E.ACK))
    # far beyond the server's window: INVALID (seq_above_window)
    fr.append(E.tcp4(c, s, 40000, 80, 1006 + 1000000000, 9001, E.PSH | E.ACK, b"late"))
    fr.append(E.tcp4(c, s, 40000, 80, 1006, 9001, E.PSH | E.ACK, b"again"))
    in0, in1 = os.path.join(tmp, "in0.pcap"), os.path.join(tmp, "in1.pcap")
    E.write(in0, fr)
    E.write(in1, [E.udp4(s, c, 53, 53)])  # one untracked packet the other way
    for drop in (False, True):
        tx0 = os.path.join(tmp, f"tx0-{drop}.pcap")
        tx1 = os.path.join(tmp, f"tx1-{drop}.pcap")
        p = run(E.synfin_argv(exe, [f"net_pcap0,rx_pcap={in0},tx_pcap={tx0}",
                                    f"net_pcap1,rx_pcap={in1},tx_pcap={tx1}"],
                              ["--mode", "inline", "--clock=packet", "--idle-exit", "300"]
                              + (["--drop-invalid"] if drop else []),
                              prefix=f"sf_inl{os.getpid()}"))
        print(p.stdout[-2500:], p.stderr[-1000:])
        tag = "--drop-invalid" if drop else "inline"
        check(p.returncode == 0, f"{tag}: exit status {p.returncode}")
        n1 = len(E.read_records(tx1)) if os.path.exists(tx1) else -1
        n0 = len(E.read_records(tx0)) if os.path.exists(tx0) else -1
        want1 = len(fr) - 1 if drop else len(fr)
        check(n1 == want1, f"{tag}: port 1 sent {n1} packets, want {want1} (from port 0)")
        check(n0 == 1, f"{tag}: port 0 sent {n0} packets, want 1 (from port 1)")
        check(tracker_line(p.stdout, "TX-packets:") == want1 + 1,
              f"{tag}: tracker TX-packets, want {want1 + 1}", p.stdout[-800:])
        check(tracker_line(p.stdout, "TX-dropped:") == (1 if drop else 0),
              f"{tag}: tracker TX-dropped, want {1 if drop else 0}", p.stdout[-800:])
        check(tracker_line(p.stdout, "INVALID:") == 1 and "invalid_seq_above_window=1"
              in p.stdout, f"{tag}: the out-of-window segment counted INVALID once")


# ---- vlan ----

def case_vlan(exe, tmp):
    c, s = "10.3.0.1", "10.3.0.2"
    pcap = os.path.join(tmp, "vlan.pcap")
    E.write(pcap, handshake(c, s, 40000, 80, 1000, 9000, vlan=10)
            + handshake(c, s, 40000, 80, 1000, 9000, vlan=20))
    for key in (True, False):
        out = os.path.join(tmp, f"vlan-{key}.json")
        p = run(E.synfin_argv(exe, [f"net_pcap0,rx_pcap={pcap}"],
                              ["--clock=packet", "--idle-exit", "300", "--flows-json", out]
                              + (["--vlan-key"] if key else []),
                              prefix=f"sf_vlan{os.getpid()}"))
        tag = "--vlan-key" if key else "no --vlan-key"
        check(p.returncode == 0, f"{tag}: exit status {p.returncode}", p.stderr)
        flows, err = E.read_json(out)
        if not check(err is None, f"{tag}: flows JSON unreadable: {err}"):
            continue
        check(tracker_line(p.stdout, "TCP:") == 6, f"{tag}: want 6 tagged TCP segments parsed",
              p.stdout[-800:])
        if key:
            check(sorted(f["vlan"] for f in flows) == [10, 20]
                  and all(f["state"] == "ESTABLISHED" and f["packets"] == {"orig": 2, "reply": 1}
                          for f in flows),
                  "--vlan-key: want two ESTABLISHED flows, vlan 10 and 20", flows)
        else:
            check(len(flows) == 1 and flows[0]["vlan"] == 0,
                  "no --vlan-key: want one flow (vlan 0 in the key)", flows)


# ---- show_flows ----

def case_show_flows(exe, tmp):
    pcap = os.path.join(tmp, "sf.pcap")
    fr = handshake("10.4.0.1", "10.4.0.2", 40000, 80, 1000, 9000)
    fr += [E.tcp4("10.4.0.1", "10.4.0.2", 40000, 80, 1001, 9001, E.FIN | E.ACK),
           E.tcp4("10.4.0.2", "10.4.0.1", 80, 40000, 9001, 1002, E.FIN | E.ACK),
           E.tcp4("10.4.0.1", "10.4.0.2", 40000, 80, 1002, 9002, E.ACK)]
    fr += [E.tcp4("10.4.0.3", "10.4.0.2", 40001, 80, 5, 0, E.SYN)]
    fr += handshake("10.4.0.9", "10.4.0.2", 50000, 443, 7, 70)
    E.write(pcap, fr)
    cmds = os.path.join(tmp, "cmds")
    with open(cmds, "w") as f:
        f.write("show flows\nquit\n")
    p = run(E.synfin_argv(exe, [f"net_pcap0,rx_pcap={pcap}"],
                          ["--clock=packet", "--cmdline-file", cmds, "--show-flows"],
                          prefix=f"sf_shf{os.getpid()}"))
    print(p.stdout[-3000:], p.stderr[-1000:])
    check(p.returncode == 0, f"exit status {p.returncode}", p.stderr)
    out = p.stdout
    stats_at = out.rfind("synfin statistics")
    at = out.find("synfin: flows at exit")
    if not check(at > stats_at >= 0, "--show-flows: want the list after the final statistics"):
        return
    cli = out[:stats_at].splitlines()
    cli = cli[next(i for i, l in enumerate(cli) if l.endswith("show flows")) + 1:]
    cli = [l for l in cli if l.startswith("tcp ") or l.endswith("shown")]
    exit_list = [l for l in out[at:].splitlines()[1:] if l.startswith("tcp ") or
                 l.endswith("shown")]
    check(len(exit_list) == 4 and exit_list[-1] == "3 flows shown",
          "--show-flows: want 3 flow lines and '3 flows shown'", exit_list)
    check(exit_list == cli, "--show-flows differs from `show flows`", (cli, exit_list))
    check(any("TIME_WAIT src=10.4.0.1 dst=10.4.0.2 sport=40000 dport=80" in l
              and "[ASSURED]" in l and "client=TIME_WAIT server=CLOSED" in l
              for l in exit_list), "--show-flows: the closed flow conntrack style", exit_list)
    check(any("SYN_SENT src=10.4.0.3" in l and "[UNREPLIED]" in l for l in exit_list),
          "--show-flows: the unanswered SYN [UNREPLIED]", exit_list)
    h = run([exe, "--", "--help"])
    check("--show-flows" in h.stdout, "--help lists --show-flows", h.stdout)


if __name__ == "__main__":
    sys.exit(E.main_cases(__doc__, {"telemetry": case_telemetry, "inline": case_inline,
                                    "vlan": case_vlan, "show_flows": case_show_flows}, CK))
