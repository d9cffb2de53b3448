#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end test of synfin's command line: runs the app on a pcap (net_pcap vdev, packet clock)
with a --cmdline-file exercising every command, splits the transcript at the echoed prompts
("synfin> <command>") and checks each command's output: flows listed conntrack style, a timeout
set then shown by `show config`, exactly one error line per mistake with the next command still
running, an oversized line refused, `quit` ending the file and the app with status 0.
Uses test/data/quickstart.pcap when present, else writes its own small pcap (stdlib only).

Usage: test_cli.py SYNFIN_EXE SOURCE_ROOT
"""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402
from e2elib import ACK, FIN, PSH, SYN, tcp4  # noqa: E402

PROMPT = "synfin> "

# ---- a small pcap: one closed connection, one open, one IPv6 half-open ----


def packets():
    c, s = ("10.0.0.1", 40000), ("10.0.0.2", 80)
    o = ("10.0.0.3", 40001)
    # closed connection: handshake, request, response, FIN both ways
    pk = E.handshake(c[0], s[0], c[1], s[1], 1000, 5000, data=b"GET / HTTP/1.0\r\n\r\n")
    pk.append(tcp4(s[0], c[0], s[1], c[1], 5001, 1019, PSH | ACK, b"HTTP/1.0 200 OK\r\n\r\n"))
    pk.append(tcp4(c[0], s[0], c[1], s[1], 1019, 5020, FIN | ACK))
    pk.append(tcp4(s[0], c[0], s[1], c[1], 5020, 1020, FIN | ACK))
    pk.append(tcp4(c[0], s[0], c[1], s[1], 1020, 5021, ACK))
    # open connection: handshake and data, no close
    pk += E.handshake(o[0], s[0], o[1], s[1], 7000, 9000, data=b"hello")
    pk.append(tcp4(s[0], o[0], s[1], o[1], 9001, 7006, ACK))
    # IPv6: a SYN nobody answers
    pk.append(E.tcp6("2001:db8::1", "2001:db8::2", 50000, 443, 100, 0, SYN))
    return pk


def write_pcap(path):
    """The packets four to a second, 1 ms apart within the second."""
    pk = packets()
    E.write(path, pk, [(E.T0 + i // 4) * 1000000 + (i % 4) * 1000 for i in range(len(pk))])


# ---- the command file and what each command must print ----

LONG = "show " + "x" * 700

COMMANDS = [
    "# comments and blank lines are ignored",
    "",
    "help",
    "show config",
    "show stats",
    "show port stats all",
    "show port stats 0",
    "show port stats 7",
    "show lcores",
    "show flows",
    "show flows state established",
    "show flows state time_wait",
    "show flows limit 1",
    "show flows state syn_sent limit 1",
    "show flow 10.0.0.2 80 10.0.0.3 40001",
    "show flow 2001:db8::1 50000 2001:db8::2 443",
    "show flow 10.9.9.9 1 10.9.9.8 2",
    "set timeout established 1234",
    "show config",
    "set timeout bogus 5",
    "set timeout established 0",
    "frobnicate",
    "show stats extra",
    LONG,
    "set stats-period 0",
    "clear stats",
    "stop",
    "start",
    "flush flows",
    "show flows",
    "quit",
    "show stats",
]


def transcript(out):
    """Split stdout into [(command, [output lines])] at the echoed prompts."""
    parts = []
    for line in out.splitlines():
        if line.startswith(PROMPT):
            parts.append((line[len(PROMPT):], []))
        elif parts:
            parts[-1][1].append(line)
    return parts


class Checker(E.Checker):
    def __init__(self, parts):
        super().__init__()
        self.parts = parts

    def out(self, cmd, nth=0):
        hits = [o for c, o in self.parts if c == cmd]
        if len(hits) <= nth:
            self.fail(f"command not echoed: {cmd!r}")
            return []
        return hits[nth]

    def expect(self, cond, msg, lines=None):
        if not cond:
            self.fail(msg + ("" if lines is None else "\n    " + "\n    ".join(lines)))

    def one_error(self, cmd, prefix):
        o = [l for l in self.out(cmd) if not l.startswith("Read CLI commands")]
        self.expect(len(o) == 1 and o[0].startswith(prefix),
                    f"{cmd[:40]!r}: want exactly one line starting {prefix!r}", o)


def flow_lines(lines):
    return [l for l in lines if l.lstrip().startswith("tcp")]


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    exe, root = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="synfin_cli_") as tmp:
        pcap = os.path.join(root, "test/data/quickstart.pcap")
        own_pcap = not os.path.isfile(pcap)
        if own_pcap:
            pcap = os.path.join(tmp, "cli.pcap")
            write_pcap(pcap)
        cmds = os.path.join(tmp, "cmds.txt")
        with open(cmds, "w") as f:
            f.write("\n".join(COMMANDS) + "\n")
        argv = E.synfin_argv(exe, [f"net_pcap0,rx_pcap={pcap}"],
                             ["--clock=packet", "--cmdline-file", cmds])
        try:
            p = E.run(argv, timeout=120)
        except subprocess.TimeoutExpired as e:
            print("FAIL: synfin did not exit after quit within 120 s")
            print(e.stdout)
            return 1
    print(p.stdout)
    if p.stderr:
        print("stderr:\n" + p.stderr)
    parts = transcript(p.stdout)
    ck = Checker(parts)

    ck.expect(p.returncode == 0, f"exit status {p.returncode}, want 0 after quit")
    echoed = [c for c, _ in parts]
    want = [c for c in COMMANDS if c and not c.startswith("#")]
    want = want[:want.index("quit") + 1]
    echoed_short = [c for c in echoed if not c.endswith("...")]
    ck.expect(echoed_short == [c for c in want if c != LONG],
              "echoed commands differ from the file (comments skipped, stop at quit)", echoed)
    ck.expect("show stats" not in echoed[echoed.index("quit"):] if "quit" in echoed else False,
              "a command after quit ran")

    # help lists every command
    h = "\n".join(ck.out("help"))
    for c in ["show stats", "show port stats all", "show port stats <port>", "show lcores",
              "show flows state <state> limit <n>", "show flow <src> <sport> <dst> <dport>",
              "show config", "set timeout <state> <seconds>", "set stats-period <seconds>",
              "clear stats", "flush flows", "start", "stop", "quit", "help"]:
        ck.expect(f"  {c} " in h, f"help does not list {c!r}")

    for c in ["show config", "show stats", "show port stats all", "show port stats 0",
              "show lcores"]:
        o = ck.out(c)
        ck.expect(len(o) > 0, f"{c!r} printed nothing")
        ck.expect(not any(l.startswith(c + ":") for l in o), f"{c!r} reported an error", o)

    if own_pcap:
        flows = flow_lines(ck.out("show flows"))
        ck.expect(len(flows) == 3, "show flows: want 3 flow lines", ck.out("show flows"))
        est = flow_lines(ck.out("show flows state established"))
        ck.expect(len(est) == 1 and "ESTABLISHED" in est[0] and "10.0.0.3" in est[0],
                  "show flows state established: want the open connection", est)
        tw = flow_lines(ck.out("show flows state time_wait"))
        ck.expect(len(tw) == 1 and "TIME_WAIT" in tw[0] and "10.0.0.1" in tw[0],
                  "show flows state time_wait: want the closed connection", tw)
        ck.expect(len(flow_lines(ck.out("show flows limit 1"))) == 1,
                  "show flows limit 1: want one line", ck.out("show flows limit 1"))
        ss = flow_lines(ck.out("show flows state syn_sent limit 1"))
        ck.expect(len(ss) == 1 and "2001:db8::1" in ss[0],
                  "show flows state syn_sent limit 1: want the IPv6 SYN", ss)
        f = "\n".join(ck.out("show flow 10.0.0.2 80 10.0.0.3 40001"))
        ck.expect("ESTABLISHED" in f and "10.0.0.3" in f,
                  "show flow (reverse 4-tuple) must find the open connection", [f])
        f = "\n".join(ck.out("show flow 2001:db8::1 50000 2001:db8::2 443"))
        ck.expect("SYN_SENT" in f, "show flow IPv6 must find the SYN_SENT flow", [f])
    else:
        ck.expect(len(flow_lines(ck.out("show flows"))) >= 1, "show flows: no flow line")
        ck.expect(len(flow_lines(ck.out("show flows limit 1"))) == 1,
                  "show flows limit 1: want one line", ck.out("show flows limit 1"))

    ck.one_error("show port stats 7", "show port stats:")
    ck.one_error("show flow 10.9.9.9 1 10.9.9.8 2", "show flow:")
    ck.expect(ck.out("set timeout established 1234") == [], "set timeout printed something",
              ck.out("set timeout established 1234"))
    ck.expect("1234" in "\n".join(ck.out("show config", 1)),
              "show config after set timeout does not show 1234", ck.out("show config", 1))
    ck.expect("1234" not in "\n".join(ck.out("show config", 0)), "1234 shown before it was set")
    ck.one_error("set timeout bogus 5", "set timeout: unknown state 'bogus'")
    ck.one_error("set timeout established 0", "set timeout:")
    ck.one_error("frobnicate", "Command not found")
    ck.one_error("show stats extra", "Bad arguments")
    long_parts = [o for c, o in parts if c.endswith("...")]
    ck.expect(len(long_parts) == 1 and len(long_parts[0]) == 1
              and "too long" in long_parts[0][0], "oversized line: want one error line",
              long_parts[0] if long_parts else None)
    for c in ["set stats-period 0", "clear stats", "stop", "start", "flush flows"]:
        ck.expect(not any(l.startswith(c + ":") for l in ck.out(c)), f"{c!r} failed",
                  ck.out(c))
    ck.expect(flow_lines(ck.out("show flows", 1)) == [], "flows left after flush flows",
              ck.out("show flows", 1))

    print("cli e2e:", "FAILED" if ck.failed else "ok", f"({ck.failed} failures)")
    return 1 if ck.failed else 0


if __name__ == "__main__":
    sys.exit(main())
