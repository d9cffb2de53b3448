#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""synfin-xdp --replay against synfin, packet for packet (python3 stdlib).

  test_xdp_diff.py SYNFIN SYNFIN_XDP PCAPGEN SOURCE_ROOT [PCAP...]

The same inputs go through synfin (net_pcap, --clock=packet) and through synfin-xdp --replay
(the XDP program under BPF_PROG_TEST_RUN, the capture's timestamps as its clock), with the same
tracker options: every scenario of test/scenarios/*.scn (synfin-pcapgen -u, grouped by tracker
configuration as test/e2e/test_predict.py groups them), test/data/quickstart.pcap, the fuzz
corpus's frames (test/fuzz/mkcorpus.py's parse seeds) with every truncation of each and a fixed
set of byte corruptions (the parser's reasons), and the PCAPs given (test/real/run.sh passes its
real-stack captures). Both runs must end with the same flows (--flows-json, every field but
`lcore`: an lcore there, a CPU here) and the same statistics block (every counter, verdict,
reason and flows-per-state figure; the per-second rates and the table capacity left out).

synfin-xdp tracks TCP only; synfin also tracks UDP, ICMP echo and other protocols (lib/l4).
An input where synfin saw such packets (the fuzz corpus has UDP and ICMP seeds) is compared in
its TCP view: synfin's non-TCP flows, its UDP/ICMP line and L4 flow classes are left out, and
so are the figures a non-TCP packet moves on one side only: not-TCP, accepted, flows active and
created,
the fragment reasons (synfin counts fragments of every protocol, the XDP twin those of TCP
only, as it passes the others before it looks at fragments) and the UDP/ICMP/L4 reasons. Every
other counter, reason and TCP flow must still agree exactly; the other inputs are TCP only and
compared whole.
Exit 77 (skipped) when the XDP program cannot be loaded here.
"""

import glob
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "fuzz"))
import e2elib as E  # noqa: E402


def block(out):
    """The statistics block's lines, rates and capacity left out."""
    lines = out[out.rfind("synfin statistics"):].splitlines()[1:]
    keep = []
    for line in lines:
        if line.strip().startswith("####"):
            break
        if "rates (since" in line:
            continue
        keep.append(re.sub(r"active of \d+", "active of N", line))
    return keep


# Reasons only a tracker of the non-TCP protocols moves (or moves for them too).
L4_REASON = re.compile(r"^(parse_(frag_\w+|\w*udp\w*|\w*icmp\w*)"
                       r"|invalid_(icmp\w*|kind_mismatch|l4_unexpected))$")


def has_l4(flows, lines):
    """Whether synfin's run saw packets that synfin-xdp does not track."""
    if any(f.get("proto") != "tcp" for f in flows):
        return True
    for line in lines:
        if line.strip().startswith("UDP:"):
            return any(int(n) for n in re.findall(r"\d+", line))
    return False


def tcp_view(flows, lines):
    """The flows and statistics of a run with what only non-TCP packets move left out."""
    flows = [f for f in flows if f.get("proto") == "tcp"]
    keep, reasons = [], {}
    in_reasons = False
    for line in lines:
        t = line.strip()
        if t.startswith("reasons:"):
            in_reasons = True
            t = t[len("reasons:"):]
        elif t.startswith("####"):
            in_reasons = False
        if in_reasons:
            for k, v in re.findall(r"(\w+)=(\d+)", t):
                if not L4_REASON.match(k):
                    reasons[k] = v
            continue
        if t.startswith("UDP:") or t.startswith("flows by L4 state:"):
            continue
        t = re.sub(r"not-TCP: \d+\s*", "", t)
        t = re.sub(r"accepted: \d+\s*", "", t)
        t = re.sub(r"created \d+ ", "", t)
        t = re.sub(r"^flows: \d+ active", "flows: active", t)
        keep.append(t)
    keep.append("reasons: " + " ".join(f"{k}={v}" for k, v in sorted(reasons.items())))
    return flows, keep


def flows_of(path):
    flows, err = E.read_json(path)
    if flows is None:
        return None
    for f in flows:
        f.pop("lcore", None)
    return sorted(flows, key=lambda f: repr(sorted(f.items())))


def run_synfin(exe, pcap, opts, tmp, tag):
    out = os.path.join(tmp, tag + "-s.json")
    argv = E.synfin_argv(exe, [f"net_pcap0,rx_pcap={pcap}"],
                         ["--clock=packet", "--idle-exit", "300", *opts, "--flows-json", out],
                         prefix=f"sf_xdpd{os.getpid()}_{tag}")
    p = E.run(argv, timeout=120, quiet=True)
    flows = flows_of(out) if p.returncode == 0 else None
    if flows is None:
        print("running:", " ".join(argv))
        print(p.stdout[-2000:], p.stderr[-2000:])
        return None, None
    return flows, block(p.stdout)


def run_xdp(exe, pcap, opts, tmp, tag):
    out = os.path.join(tmp, tag + "-x.json")
    argv = [exe, "--replay", pcap, *opts, "--flows-json", out]
    p = E.run(argv, timeout=120, quiet=True)
    flows = flows_of(out) if p.returncode == 0 else None
    if flows is None:
        print("running:", " ".join(argv))
        print(p.stdout[-2000:], p.stderr[-2000:])
        return None, None, p.stderr
    return flows, block(p.stdout), ""


def scenario_pcaps(pcapgen, scndir, tmp):
    files = sorted(glob.glob(os.path.join(scndir, "*.scn")))
    p = subprocess.run([pcapgen, "-u", "-o", tmp, *files], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
        return None
    groups = {}
    for path in sorted(glob.glob(os.path.join(tmp, "*.expect"))):
        e = dict(line.rstrip("\n").partition("=")[::2] for line in open(path))
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


def corpus_pcap(tmp):
    """The parse seeds of the fuzz corpus, each truncated at every length and corrupted at a
    fixed set of bytes: one frame per ms."""
    import mkcorpus
    seeds = [s[1:] for s in mkcorpus.parse_seeds()]
    rnd = random.Random(14)
    frames = []
    for s in seeds:
        frames.append(s)
        frames += [s[:n] for n in range(len(s))]
        for _ in range(40):
            b = bytearray(s)
            for _ in range(rnd.randint(1, 3)):
                b[rnd.randrange(len(b))] = rnd.randrange(256)
            frames.append(bytes(b))
    path = os.path.join(tmp, "corpus.pcap")
    E.write(path, frames)
    return path, len(frames)


def main():
    if len(sys.argv) < 5:
        print(__doc__)
        return 2
    synfin, xdp, pcapgen, root = sys.argv[1:5]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="synfin_xdpd_") as tmp:
        probe = os.path.join(root, "test", "data", "quickstart.pcap")
        p = E.run([xdp, "--replay", probe], timeout=120, quiet=True)
        if p.returncode != 0 and "cannot load" in p.stderr:
            print("SKIP: synfin-xdp cannot load its XDP program here:",
                  p.stderr.strip().splitlines()[-1])
            return 77
        inputs = scenario_pcaps(pcapgen, os.path.join(root, "test", "scenarios"), tmp)
        if inputs is None:
            print("FAIL: synfin-pcapgen")
            return 1
        inputs.append(("quickstart.pcap", probe, []))
        inputs.append(("quickstart.pcap [--no-predict --vlan-key]", probe,
                       ["--no-predict", "--vlan-key"]))
        cp, n = corpus_pcap(tmp)
        inputs.append((f"fuzz corpus frames ({n})", cp, []))
        for pc in sys.argv[5:]:
            inputs.append((os.path.basename(pc), pc, []))
        for i, (name, pcap, opts) in enumerate(inputs):
            a = run_synfin(synfin, pcap, opts, tmp, str(i))
            b = run_xdp(xdp, pcap, opts, tmp, str(i))
            view = ""
            if a[0] is not None and b[0] is not None and has_l4(a[0], a[1]):
                a, b = tcp_view(*a[:2]), tcp_view(*b[:2])
                view = " (TCP view)"
            if a[0] is None or b[0] is None:
                failed += 1
                print(f"FAIL {name}: a run failed")
            elif a[0] != b[0] or a[1] != b[1]:
                failed += 1
                print(f"FAIL {name}: synfin and synfin-xdp disagree")
                for x, y in zip(a[1], b[1]):
                    if x != y:
                        print("  synfin:    ", x, "\n  synfin-xdp:", y)
                sa = {repr(sorted(f.items())) for f in a[0]}
                sb = {repr(sorted(f.items())) for f in b[0]}
                for f in sorted(sa - sb)[:3]:
                    print("  synfin only:    ", f)
                for f in sorted(sb - sa)[:3]:
                    print("  synfin-xdp only:", f)
            else:
                print(f"ok   {name}{view}: {len(a[0])} flows, same flows and counters")
        print(f"xdp_diff: {len(inputs) - failed} of {len(inputs)} inputs agree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
