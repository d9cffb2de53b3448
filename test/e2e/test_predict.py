#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Header prediction against the full path, through the application (python3 stdlib).

  test_predict.py SYNFIN PCAPGEN SCENARIO_DIR [PCAP...]

Every scenario of SCENARIO_DIR (synfin-pcapgen -u, all of one tracker configuration in one pcap),
test/data/quickstart.pcap and the real-stack captures given (test/real/run.sh passes its own)
are replayed twice through synfin (PCAPGEN "-": no scenarios) (net_pcap, --clock=packet): once as shipped, once with
--no-predict (every segment through ct_tcp_track()). The two runs must end with the same flows
(--flows-json, every field) and the same counters (the final statistics' tracker block, every
verdict and reason counter).
"""

import glob
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402


def replay(exe, pcap, opts, tmp, tag):
    out = os.path.join(tmp, tag + ".json")
    argv = E.synfin_argv(exe, [f"net_pcap0,rx_pcap={pcap}"],
                         ["--clock=packet", "--idle-exit", "300", *opts, "--flows-json", out],
                         prefix=f"sf_pred{os.getpid()}_{tag}")
    p = E.run(argv, timeout=120, quiet=True)
    flows = None
    if p.returncode == 0:
        flows, _ = E.read_json(out)
    if flows is None:
        print("running:", " ".join(argv))
        print(p.stdout[-3000:], p.stderr[-2000:])
        return None, None
    block = p.stdout[p.stdout.rfind("synfin statistics"):].splitlines()[1:]
    counters = []
    for line in block:
        if line.strip().startswith("####"):
            break
        if "-pps" in line or "rates (since" in line:
            continue  # per-second rates depend on the wall clock, not on the tracking
        counters.append(line)
    return sorted(flows, key=lambda f: repr(sorted(f.items()))), counters


def scenario_pcaps(pcapgen, scndir, tmp):
    files = sorted(glob.glob(os.path.join(scndir, "*.scn")))
    p = subprocess.run([pcapgen, "-u", "-o", tmp, *files], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
        return None
    groups = {}
    for path in sorted(glob.glob(os.path.join(tmp, "*.expect"))):
        e = dict(l.rstrip("\n").partition("=")[::2] for l in open(path))
        if "skip" in e:
            continue
        opts = (("--no-loose",) if e["loose"] == "0" else ()) + \
            (("--liberal",) if e["liberal"] == "1" else ())
        groups.setdefault(opts, []).append(path[:-len(".expect")] + ".pcap")
    out = []
    for gi, (opts, pcaps) in enumerate(sorted(groups.items())):
        recs = []
        for pc in pcaps:
            recs += E.read_records(pc)
        path = os.path.join(tmp, f"group{gi}.pcap")
        E.write(path, recs, snaplen=262144)
        out.append((f"scenarios [{' '.join(opts)}] ({len(pcaps)})", path, list(opts)))
    return out


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    exe, pcapgen, scndir = sys.argv[1:4]
    root = os.path.dirname(os.path.dirname(os.path.abspath(scndir)))
    failed = 0
    with tempfile.TemporaryDirectory(prefix="synfin_pred_") as tmp:
        inputs = [] if pcapgen == "-" else scenario_pcaps(pcapgen, scndir, tmp)
        if inputs is None:
            print("FAIL: synfin-pcapgen")
            return 1
        quick = os.path.join(root, "test", "data", "quickstart.pcap")
        for pc in [quick] + sys.argv[4:]:
            if os.path.exists(pc):
                inputs.append((os.path.basename(pc), pc, []))
        for i, (name, pcap, opts) in enumerate(inputs):
            a = replay(exe, pcap, opts, tmp, f"{i}p")
            b = replay(exe, pcap, opts + ["--no-predict"], tmp, f"{i}f")
            if a[0] is None or b[0] is None or not any("accepted" in l for l in a[1]):
                failed += 1
                print(f"FAIL {name}: a run failed")
            elif a != b:
                failed += 1
                print(f"FAIL {name}: prediction changes the result")
                for x, y in zip(a[1], b[1]):
                    if x != y:
                        print("  predicted:", x, "\n  full:     ", y)
                for x, y in zip(a[0], b[0]):
                    if x != y:
                        print("  predicted:", x, "\n  full:     ", y)
                        break
            else:
                print(f"ok   {name}: {len(a[0])} flows, same flows and counters")
        print(f"predict: {len(inputs) - failed} of {len(inputs)} inputs agree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
