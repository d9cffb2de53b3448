#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end tests of synfin's configuration keys (python3 stdlib only).

  test_config.py SYNFIN_EXE SOURCE_ROOT CASE
    agree     the pieces generated from the key rows of app/synfin/config_keys.h (read here
              from the header itself, the [timeouts] rows from lib/tcp's CT_STATES) agree with
              them: --help lists every option, `show config` every file key under its section,
              telemetry's /synfin/config every file key (timeouts as timeout_<STATE> and
              timeout_<STATE>_ms), and the README's options and configuration-file tables list
              exactly the rows' options and keys
    timeouts  sub-second timeouts through the file ([timeouts] close = 0.5), the options
              (--timeout time_wait=0.05, =1500ms) and the command line (set timeout fin_wait
              250ms), as `show config` and telemetry then show them; refused forms (0.0001, 5s,
              -1, 1e3, empty, 0) exit 2 with one message naming the state, in an option and in
              the file
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as P  # noqa: E402
from test_features import runtime_dir, tel_query  # noqa: E402

EAL = ["--no-pci", "--no-huge", "-m", "512", "--log-level=error"]
PROMPT = "synfin> "
failed = 0


def check(cond, msg, detail=None):
    global failed
    if not cond:
        failed += 1
        print("FAIL:", msg)
        if detail is not None:
            print("   ", detail)
    return cond


def run(argv, timeout=60):
    print("running:", " ".join(argv))
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          errors="replace", timeout=timeout, stdin=subprocess.DEVNULL)


# ---- the rows, read from the header ----

def macro_body(text, name):
    """The replacement text of #define NAME (continuation lines joined, comments removed)."""
    m = re.search(r"^#define " + re.escape(name) + r"\b(\([^)]*\))?(.*?)(?<!\\)\n", text,
                  re.S | re.M)
    body = m.group(2).replace("\\\n", " ")
    return re.sub(r"/\*.*?\*/", " ", body, flags=re.S)


def calls(body, name):
    """The argument lists of every NAME(...) call in body (top-level commas, strings kept)."""
    out, i = [], 0
    while True:
        i = body.find(name + "(", i)
        if i < 0:
            return out
        i += len(name) + 1
        args, cur, depth, in_str = [], "", 0, False
        while True:
            c = body[i]
            i += 1
            if in_str:
                cur += c
                if c == "\\":
                    cur += body[i]
                    i += 1
                elif c == '"':
                    in_str = False
            elif c == '"':
                in_str, cur = True, cur + c
            elif c == "(":
                depth, cur = depth + 1, cur + c
            elif c == ")" and depth > 0:
                depth, cur = depth - 1, cur + c
            elif c == ")":
                args.append(cur.strip())
                break
            elif c == "," and depth == 0:
                args.append(cur.strip())
                cur = ""
            else:
                cur += c
        out.append(args)


def key_rows(root):
    """[{section, key, option (or None), type}] in row order."""
    keys_h = open(os.path.join(root, "app/synfin/config_keys.h")).read()
    tcp_h = open(os.path.join(root, "lib/tcp/ct_tcp.h")).read()
    l4_h = open(os.path.join(root, "lib/l4/ct_l4.h")).read()
    states = [a[0] for a in calls(macro_body(tcp_h, "CT_STATES"), "X")]
    l4_timeouts = [a[0] for a in calls(macro_body(l4_h, "CT_L4_TIMEOUTS"), "X")]
    timeout_row = calls(macro_body(keys_h, "SF_KEYS_TIMEOUT_ROW"), "SF_KEY")[0]
    l4_row = calls(macro_body(keys_h, "SF_KEYS_L4_TIMEOUT_ROW"), "SF_KEY")[0]
    rows = []
    body = macro_body(keys_h, "SF_CONFIG_KEYS")
    # split at the CT_STATES(...) and CT_L4_TIMEOUTS(...) expansion points to keep the order
    before, after = body.split("CT_STATES(SF_KEYS_TIMEOUT_ROW)")
    between, after = after.split("CT_L4_TIMEOUTS(SF_KEYS_L4_TIMEOUT_ROW)")

    def add(args):
        opt = None if args[2] == "NULL" else args[2].strip('"')
        rows.append({"section": args[0], "key": args[1], "option": opt,
                     "type": args[3].split("(")[0]})
    for a in calls(before, "SF_KEY"):
        add(a)
    for st in states:
        if st != "NONE":
            add([timeout_row[0], st] + timeout_row[2:])
    for a in calls(between, "SF_KEY"):
        add(a)
    for t in l4_timeouts:
        add([l4_row[0], t] + l4_row[2:])
    for a in calls(after, "SF_KEY"):
        add(a)
    return rows


def file_rows(rows):
    return [r for r in rows if r["section"] != "cmdline"]


def option_rows(rows):
    seen, out = set(), []
    for r in rows:
        if r["option"] and r["option"] not in seen:
            seen.add(r["option"])
            out.append(r)
    return out


def opt_text(r):
    return ("-" if len(r["option"]) == 1 else "--") + r["option"]


# ---- running the app with a command file and telemetry ----

def run_app(exe, tmp, name, opts, commands, until):
    """synfin on a one-frame pcap with opts and a --cmdline-file of commands; polls
    /synfin/config until until(conf) holds; SIGTERM. @return (stdout, stderr, conf)."""
    pcap = os.path.join(tmp, "one.pcap")
    P.write(pcap, [P.arp()])
    cmds = os.path.join(tmp, name + ".cmds")
    with open(cmds, "w") as f:
        f.write("\n".join(commands) + "\n")
    prefix = f"sf-cfg-{name}-{os.getpid()}"
    sock_path = os.path.join(runtime_dir(prefix), "dpdk_telemetry.v2")
    argv = [exe, "-l", "0", *EAL, f"--file-prefix={prefix}",
            f"--vdev=net_pcap0,rx_pcap={pcap}", "--", *opts, "--cmdline-file", cmds]
    print("running:", " ".join(argv))
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         errors="replace", stdin=subprocess.DEVNULL)
    conf = None
    try:
        import socket
        t0 = time.time()
        while not os.path.exists(sock_path) and time.time() - t0 < 20 and p.poll() is None:
            time.sleep(0.05)
        if check(os.path.exists(sock_path), f"no telemetry socket at {sock_path}"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            sock.connect(sock_path)
            sock.recv(1 << 16)
            while time.time() - t0 < 20:
                conf = tel_query(sock, "/synfin/config")
                if isinstance(conf, dict) and until(conf):
                    break
                time.sleep(0.05)
            sock.close()
        time.sleep(0.2)  # let the command file finish printing
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            so, se = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            so, se = p.communicate()
    print(so[-4000:], se[-2000:])
    check(p.returncode == 0, f"exit status {p.returncode} after SIGTERM, want 0", se)
    return so, se, conf


def outputs(stdout, command):
    """Output lines of each run of command in the transcript."""
    runs, cur = [], None
    for line in stdout.splitlines():
        if line.startswith(PROMPT):
            cur = [] if line[len(PROMPT):] == command else None
            if cur is not None:
                runs.append(cur)
        elif line.startswith("Read CLI commands") or line.startswith("synfin: final"):
            cur = None
        elif cur is not None:
            cur.append(line)
    return runs


def ini(lines):
    """{section: {key: value}} of show config's lines (an unset path, "; key = (not set)",
    is None)."""
    out, sec = {}, None
    for line in lines:
        m = re.match(r"^\[(\w+)\]$", line)
        u = re.match(r"^; (\w+) = \(not set\)$", line)
        if m:
            sec = out.setdefault(m.group(1), {})
        elif u and sec is not None:
            sec[u.group(1)] = None
        elif " = " in line and sec is not None:
            k, v = line.split(" = ", 1)
            sec[k] = v
    return out


# ---- cases ----

def case_agree(exe, root, tmp):
    rows = key_rows(root)
    check(len(file_rows(rows)) > 10 and any(r["key"] == "TIME_WAIT" for r in rows)
          and not any(r["key"] == "NONE" for r in rows), "rows read from config_keys.h", rows)
    h = run([exe, "--", "--help"])
    check(h.returncode == 0, "--help: exit 0", h.stderr)
    for r in option_rows(rows):
        check(re.search(r"^  " + re.escape(opt_text(r)) + r"\b", h.stdout, re.M),
              f"--help does not list {opt_text(r)}", h.stdout)
    so, _, conf = run_app(exe, tmp, "agree", ["--clock=packet"], ["show config"],
                          lambda c: "lcores" in c)
    shown = outputs(so, "show config")
    if check(len(shown) == 1, "show config ran once", so[-2000:]):
        cfg = ini(shown[0])
        for r in file_rows(rows):
            check(r["key"].lower() in cfg.get(r["section"], {}),
                  f"show config lacks [{r['section']}] {r['key'].lower()}", shown[0])
        want = {(r["section"], r["key"].lower()) for r in file_rows(rows)}
        got = {(s, k) for s, kv in cfg.items() for k in kv}
        check(got == want, "show config prints exactly the file keys", got ^ want)
    if check(isinstance(conf, dict), "/synfin/config: want a dict", conf):
        want = set()
        for r in file_rows(rows):
            if r["section"] == "timeouts":
                want |= {"timeout_" + r["key"], "timeout_" + r["key"] + "_ms"}
            else:
                want.add(r["key"])
        check(set(conf) - {"lcores"} == want, "/synfin/config has exactly the file keys",
              set(conf) ^ want)
        check(conf.get("clock") == "packet" and conf.get("timeout_TIME_WAIT") == 240
              and conf.get("timeout_TIME_WAIT_ms") == 240000, "/synfin/config values", conf)
    readme(root, rows)


def table_rows(text, heading):
    """Cells of the markdown table after heading (up to the next heading)."""
    part = text[text.index(heading):]
    part = part[:part.find("\n#", 1)]
    out = []
    for line in part.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            out.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return out[1:]  # the header row


def readme(root, rows):
    text = open(os.path.join(root, "README.md")).read()
    opts = set()
    for cells in table_rows(text, "### Options (after `--`)"):
        opts |= set(re.findall(r"`--?([a-z][a-z-]*)", cells[0]))
    bools = {r["option"] for r in rows if r["option"] and r["type"] == "BOOL"}
    opts = {o[3:] if o.startswith("no-") and o[3:] in bools else o for o in opts}
    want = {r["option"] for r in rows if r["option"]} | {"help"}
    check(opts == want, "README options table: want exactly the rows' options", opts ^ want)
    keys = set()
    for cells in table_rows(text, "### Configuration file"):
        keys |= {(cells[0], k) for k in re.findall(r"`(\w+)`", cells[1])}
    want = {(r["section"], r["key"].lower()) for r in file_rows(rows)}
    check(keys == want, "README configuration table: want exactly the file keys", keys ^ want)


def case_timeouts(exe, root, tmp):
    pcap = os.path.join(tmp, "one.pcap")
    P.write(pcap, [P.arp()])
    base = [exe, "-l", "0", *EAL, "--no-shconf", f"--vdev=net_pcap0,rx_pcap={pcap}", "--"]
    for bad in ["0.0001", "5s", "-1", "1e3", "", "0", ".5", "2147484"]:
        p = run(base + ["--timeout", f"time_wait={bad}"])
        err = p.stderr.strip().splitlines()
        check(p.returncode == 2 and len(err) == 1 and "time_wait" in err[0]
              and f"'{bad}'" in err[0], f"--timeout time_wait={bad}: exit 2, one message", err)
        if bad == "":
            continue  # rte_cfgfile refuses empty values itself
        path = os.path.join(tmp, "bad.conf")
        with open(path, "w") as f:
            f.write(f"[timeouts]\ntime_wait = {bad}\n")
        p = run(base + ["--config", path])
        err = p.stderr.strip().splitlines()
        check(p.returncode == 2 and len(err) == 1 and "[timeouts] time_wait" in err[0]
              and path in err[0], f"[timeouts] time_wait = {bad}: exit 2, one message", err)
    conf_path = os.path.join(tmp, "sub.conf")
    with open(conf_path, "w") as f:
        f.write("[timeouts]\nclose = 0.5\nsyn_recv = 50ms\ntime_wait = 9\n")
    so, _, conf = run_app(
        exe, tmp, "timeouts",
        ["--config", conf_path, "--timeout", "time_wait=0.05", "--timeout", "last_ack=1500ms"],
        ["show config", "set timeout fin_wait 250ms", "set timeout syn_sent 5s",
         "set timeout close_wait 0.0001", "show config"],
        lambda c: c.get("timeout_FIN_WAIT_ms") == 250)
    shown = outputs(so, "show config")
    if check(len(shown) == 2, "show config ran twice", so[-2000:]):
        first, second = ini(shown[0]).get("timeouts", {}), ini(shown[1]).get("timeouts", {})
        check(first.get("close") == "0.5" and first.get("syn_recv") == "0.05"
              and first.get("time_wait") == "0.05" and first.get("last_ack") == "1.5"
              and first.get("established") == "432000" and first.get("fin_wait") == "120",
              "show config: file and option timeouts", first)
        check(second.get("fin_wait") == "0.25" and second.get("syn_sent") == "120"
              and second.get("close_wait") == "60", "show config after set timeout", second)
    for cmd in ["set timeout syn_sent 5s", "set timeout close_wait 0.0001"]:
        o = outputs(so, cmd)
        check(len(o) == 1 and len(o[0]) == 1 and o[0][0].startswith("set timeout: "),
              f"{cmd}: one error line", o)
    if check(isinstance(conf, dict), "/synfin/config: want a dict", conf):
        check(conf.get("timeout_TIME_WAIT_ms") == 50 and conf.get("timeout_TIME_WAIT") == 0
              and conf.get("timeout_CLOSE_ms") == 500 and conf.get("timeout_LAST_ACK") == 1
              and conf.get("timeout_FIN_WAIT_ms") == 250
              and conf.get("timeout_ESTABLISHED") == 432000,
              "/synfin/config: milliseconds exact, seconds rounded down", conf)


def main():
    cases = ("agree", "timeouts")
    if len(sys.argv) != 4 or sys.argv[3] not in cases:
        print(__doc__)
        return 2
    exe, root, case = sys.argv[1:4]
    with tempfile.TemporaryDirectory(prefix="synfin_cfg_") as tmp:
        globals()["case_" + case](exe, root, tmp)
    print(f"e2e config {case}:", "FAILED" if failed else "ok", f"({failed} failures)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
