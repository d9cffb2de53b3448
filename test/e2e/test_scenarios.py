#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Every TCP scenario of test/scenarios/*.scn through the synfin application (python3 stdlib).

  test_scenarios.py PCAPGEN SYNFIN SCENARIO_DIR [--each]

synfin-pcapgen -u writes one pcap and one .expect per scenario, each scenario on its own address
pair (C = 10.H.L.1:40000, S = 10.H.L.2:80). The pcaps of all scenarios that share a tracker
configuration (`conf loose=/liberal=`) are concatenated (timestamps 1 ms apart) and replayed by
one synfin run (-l 0, net_pcap, --clock=packet, --idle-exit, --flows-json), so the whole folder
takes a few runs, not one per scenario; with --each every scenario gets its own run. For each
scenario the flow found on its address pair must match the .expect: number of flows (0 when the
scenario never creates one), the client's address (S after a reopen from S), the conntrack state,
client_state, server_state and packets per direction. A scenario whose segments cannot be IPv4
datagrams (payload over 65495 bytes) is reported as SKIP with its reason. Also checked: the
number of scenarios equals the `scenario` lines of the folder, and synfin's `created` counter
equals the flows the scenarios create (NEW + REOPEN).
"""

import glob
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402


def read_expect(path):
    e = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            e[k] = v
    return e


def run_synfin(exe, pcap, opts, out, prefix):
    argv = E.synfin_argv(exe, [f"net_pcap0,rx_pcap={pcap}"],
                         ["--clock=packet", "--idle-exit", "300", *opts, "--flows-json", out],
                         prefix=prefix)
    p = E.run(argv, timeout=120, quiet=True)
    flows = None
    if p.returncode == 0:
        flows, _ = E.read_json(out)
    if p.returncode != 0 or flows is None:
        print("running:", " ".join(argv))
        print(p.stdout[-3000:], p.stderr[-2000:])
    m = re.search(r"created (\d+)", p.stdout)
    return p.returncode, flows, int(m.group(1)) if m else -1


def check_one(e, flows):
    """Compare the flows on the scenario's address pair with its .expect: list of problems."""
    c_ip = e.get("client", "").rsplit(":", 1)[0]
    s_ip = e.get("server", "").rsplit(":", 1)[0]
    mine = [f for f in flows if {f["orig"]["src"], f["orig"]["dst"]} == {c_ip, s_ip}]
    bad = []
    want_n = int(e["flows"])
    if len(mine) != want_n:
        return [f"want {want_n} flow(s), got {len(mine)}: {mine}"]
    if want_n == 0:
        return []
    f = mine[0]
    got_client = f"{f['orig']['src']}:{f['orig']['sport']}"
    if got_client != e["client"]:
        bad.append(f"client {got_client}, want {e['client']}")
    for k in ("state", "client_state", "server_state"):
        if f[k] != e[k]:
            bad.append(f"{k} {f[k]}, want {e[k]}")
    for d in ("orig", "reply"):
        if f["packets"][d] != int(e["packets_" + d]):
            bad.append(f"packets {d} {f['packets'][d]}, want {e['packets_' + d]}")
    return bad


def describe(e):
    if e["flows"] == "0":
        return "no flow"
    return f"{e['state']} client {e['client']} {e['client_state']}/{e['server_state']}"


def main():
    args = [a for a in sys.argv[1:] if a != "--each"]
    each = "--each" in sys.argv[1:]
    if len(args) != 3:
        print(__doc__)
        return 2
    pcapgen, exe, scndir = args
    files = sorted(glob.glob(os.path.join(scndir, "*.scn")))
    declared = 0
    for path in files:
        with open(path) as f:
            declared += sum(1 for l in f if l.split("#")[0].split()[:1] == ["scenario"])
    failed, ok, skipped = [], 0, []
    with tempfile.TemporaryDirectory(prefix="synfin_scn_") as tmp:
        p = subprocess.run([pcapgen, "-u", "-o", tmp, *files], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            print(p.stdout, p.stderr)
            print("FAIL: synfin-pcapgen exit status", p.returncode)
            return 1
        exp = {}
        for path in sorted(glob.glob(os.path.join(tmp, "*.expect"))):
            e = read_expect(path)
            exp[e["scenario"]] = e
        if declared == 0 or len(exp) != declared:
            print(f"FAIL: {declared} scenarios declared in {scndir}, {len(exp)} generated")
            return 1
        groups = {}
        for name, e in sorted(exp.items()):
            if "skip" in e:
                skipped.append(name)
                print(f"SKIP {name}: {e['skip']} ({e['source']})")
                continue
            opts = (["--no-loose"] if e["loose"] == "0" else []) + \
                (["--liberal"] if e["liberal"] == "1" else [])
            key = (name,) if each else tuple(opts)
            groups.setdefault(key, (opts, []))[1].append(name)
        want_created = got_created = 0
        for gi, (key, (opts, names)) in enumerate(sorted(groups.items())):
            recs = []
            for name in names:
                recs += E.read_records(os.path.join(tmp, name + ".pcap"))
            pcap = os.path.join(tmp, f"group{gi}.pcap")
            E.write(pcap, recs, snaplen=262144)
            out = os.path.join(tmp, f"group{gi}.json")
            rc, flows, created = run_synfin(exe, pcap, opts, out, f"sf_scn{os.getpid()}_{gi}")
            print(f"run {gi + 1}/{len(groups)}: {len(names)} scenario(s), {len(recs)} packets, "
                  f"options [{' '.join(opts)}]: exit {rc}, {len(flows or [])} flows")
            want_created += sum(int(exp[n]["created"]) for n in names)
            got_created += created
            for name in names:
                e = exp[name]
                bad = ([f"synfin exit status {rc}"] if rc != 0 or flows is None
                       else check_one(e, flows))
                if e["replay"] != "ok":
                    bad.append("the FSM replay itself disagrees: " + e["replay"])
                if bad:
                    failed.append(name)
                    print(f"FAIL {name} ({e['source']}): " + "; ".join(bad))
                else:
                    ok += 1
                    print(f"ok   {name}: {describe(e)}")
        if got_created != want_created:
            failed.append("(created counter)")
            print(f"FAIL: synfin created {got_created} flows, the scenarios create {want_created}")
    print(f"scenarios: {ok} ok, {len(failed)} failed, {len(skipped)} skipped "
          f"(not representable as IPv4: {', '.join(skipped) or 'none'}) of {declared}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
