#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# synfin live, as a bump in the wire between two real Linux TCP stacks. Three network
# namespaces: client -- veth -- middle -- veth -- server, one /24, no IP address and no bridge
# in the middle, so a segment crosses only when synfin (--mode inline --drop-invalid, TSC clock)
# forwards it between its two ports. Run once per PMD: net_af_packet and net_af_xdp (libbpf /
# libxdp load the XDP program that redirects the frames to the socket). The client runs one
# connection per ending (tcpapp.py, the behaviours of mkscenarios.sh); then synfin gets SIGINT
# and its --flows-json must show each connection in the state its ending leaves, no INVALID, no
# malformed packet, nothing dropped, and the bulk transfer's bytes in both directions.
# af_xdp_prog: net_af_xdp with synfin's own XDP program (the PMD's xdp_prog= devarg,
# bpf/synfin_afxdp.bpf.c), which redirects only IP/TCP to synfin and passes the rest to the
# kernel: the middle namespace gets an address, and the client must ping it (ARP and ICMP
# reach that kernel, not synfin) while the connections run through synfin; the endpoints know
# each other's MAC (permanent neighbours), as their ARP no longer crosses.
# Exits 77 (meson's skip) without root or network namespaces. Usage: live.py SYNFIN [PMD...]
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import e2elib as E  # noqa: E402

TCPAPP = os.path.join(HERE, "tcpapp.py")
L4APP = os.path.join(HERE, "l4app.py")  # its ICMP echo client: no ping binary needed
NET = "198.19.200"  # RFC 2544 benchmarking range, only inside these namespaces
CLI, SRV, MID = NET + ".1", NET + ".2", NET + ".3"
PORT, SPORT = 5400, 43000
BULK = 200000
# client behaviour -> (conntrack state, client state, server state); one connection each, source
# ports SPORT, SPORT + 1, ... in this order (tcpapp.py --sport)
CASES = [
    ("cc", ("TIME_WAIT", "TIME_WAIT", "CLOSED")),        # client closes first
    ("sc", ("TIME_WAIT", "CLOSED", "TIME_WAIT")),        # server closes first
    ("crst", ("CLOSE", "CLOSED", "CLOSED")),             # client aborts (SO_LINGER 0)
    ("srst", ("CLOSE", "CLOSED", "CLOSED")),             # server aborts
    ("half:3000", ("TIME_WAIT", "TIME_WAIT", "CLOSED")),  # data after the client's FIN
    ("bulk:%d" % BULK, ("TIME_WAIT", "TIME_WAIT", "CLOSED")),
    ("hold", ("ESTABLISHED", "ESTABLISHED", "ESTABLISHED")),  # left open
]
PMDS = {
    "af_packet": "net_af_packet{i},iface={ifc}",
    "af_xdp": "net_af_xdp{i},iface={ifc}",
    "af_xdp_prog": "net_af_xdp{i},iface={ifc},xdp_prog={prog}",
}
DEFAULT_PMDS = ["af_packet", "af_xdp", "af_xdp_prog"]


def afxdp_obj(synfin):
    """synfin's XDP program for net_af_xdp: $SYNFIN_AFXDP_OBJ, else next to the build's synfin."""
    return os.environ.get("SYNFIN_AFXDP_OBJ") or os.path.normpath(
        os.path.join(os.path.dirname(os.path.abspath(synfin)), "..", "..", "bpf",
                     "synfin_afxdp.bpf.o"))


def sh(*args, check=True, ns=None, **kw):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=30, **kw)


class Net:
    """The three namespaces and two veth pairs; removed by close()."""

    def __init__(self, tag):
        self.c, self.m, self.s = ("sfl%s%s" % (tag, x) for x in "cms")

    def open(self):
        for ns in (self.c, self.m, self.s):
            sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", "c0", "netns", self.c, "type", "veth", "peer", "name", "m0",
           "netns", self.m)
        sh("ip", "link", "add", "s0", "netns", self.s, "type", "veth", "peer", "name", "m1",
           "netns", self.m)
        for ns, ifc in ((self.c, "c0"), (self.m, "m0"), (self.m, "m1"), (self.s, "s0")):
            # frames as on a wire: no segmentation/receive offloads, real checksums
            sh("ethtool", "-K", ifc, "tso", "off", "gso", "off", "gro", "off", "tx", "off",
               "rx", "off", ns=ns, check=False)
            sh("ip", "link", "set", ifc, "up", ns=ns)
        for ns, ifc, addr in ((self.c, "c0", CLI), (self.s, "s0", SRV)):
            sh("ip", "addr", "add", addr + "/24", "dev", ifc, ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)

    def close(self):
        for ns in (self.c, self.m, self.s):
            subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)


def wait_line(proc, pattern, timeout, seen):
    """Reads proc's stdout lines into seen until one matches pattern; True when it did."""
    end = time.time() + timeout
    while time.time() < end:
        line = proc.stdout.readline()
        if not line:
            return False
        seen.append(line.rstrip("\n"))
        if re.search(pattern, line):
            return True
    return False


def run_pmd(synfin, pmd, net, out):
    """One live run. Returns a list of failures ([] = pass) or None when the PMD is unusable."""
    prog = afxdp_obj(synfin)
    if pmd == "af_xdp_prog":
        if not os.path.exists(prog):
            print("live %s: no XDP object %s (built with libbpf and clang)" % (pmd, prog))
            return None
        macs = {}
        for ns, ifc in ((net.c, "c0"), (net.s, "s0")):
            macs[ifc] = json.loads(sh("ip", "-j", "link", "show", "dev", ifc,
                                      ns=ns).stdout)[0]["address"]
        sh("ip", "neigh", "replace", SRV, "lladdr", macs["s0"], "dev", "c0", "nud", "permanent",
           ns=net.c)
        sh("ip", "neigh", "replace", CLI, "lladdr", macs["c0"], "dev", "s0", "nud", "permanent",
           ns=net.s)
        sh("ip", "addr", "add", MID + "/24", "dev", "m0", ns=net.m)
    vdevs = [PMDS[pmd].format(i=i, ifc=ifc, prog=prog) for i, ifc in enumerate(("m0", "m1"))]
    flows_json = os.path.join(out, "live-%s.flows.json" % pmd)
    log = os.path.join(out, "live-%s.synfin.log" % pmd)
    if os.path.exists(flows_json):
        os.unlink(flows_json)
    sf_out = []
    argv = E.synfin_argv(synfin, vdevs, ["--mode", "inline", "--drop-invalid", "--flows-json",
                                         flows_json], lcores=("-l", "0,1"))
    sf = subprocess.Popen(["ip", "netns", "exec", net.m] + argv,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    srv = cli = ping = None
    try:
        if not wait_line(sf, r"polls port0/q0 port1/q0", 20, sf_out):
            sf.kill()
            rest = sf.communicate(timeout=10)[0]
            open(log, "w").write("\n".join(sf_out) + rest)
            print("live %s: synfin did not start its ports (see %s):" % (pmd, log))
            print("\n".join(("    " + x) for x in (sf_out + rest.splitlines())[-5:]))
            return None
        srv = subprocess.Popen(["ip", "netns", "exec", net.s, sys.executable, TCPAPP, "server",
                                "--addr", SRV, "--port", str(PORT)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        srv_out = []
        if not wait_line(srv, "READY", 10, srv_out):
            return ["server did not start: %s" % srv_out]
        cmds = ",".join(c for c, _ in CASES)
        cli = subprocess.Popen(["ip", "netns", "exec", net.c, sys.executable, TCPAPP, "client",
                                "--src", CLI, "--dst", SRV, "--port", str(PORT), "--sport",
                                str(SPORT), "--cmd", cmds],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        cli_out = []
        if not wait_line(cli, "^DONE", 60, cli_out):
            return ["client did not finish through synfin: %s" % cli_out]
        time.sleep(0.5)  # the last ACKs reach the wire
        if pmd == "af_xdp_prog":
            ping = sh(sys.executable, L4APP, "ping", "--src", CLI, "--dst", MID, "--count", "2",
                      "--interval", "0.2", ns=net.c, check=False)
        sf.send_signal(signal.SIGINT)
        rest, _ = sf.communicate(timeout=30)
        sf_out += rest.splitlines()
        open(log, "w").write("\n".join(sf_out) + "\n")
    finally:
        for p in (cli, srv, sf):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()

    failures = []
    if ping is not None:
        answered = "DONE 2 of 2 replies" in ping.stdout
        print("live %s: ping of the middle namespace's kernel: %s" %
              (pmd, ping.stdout.strip() or "no output"))
        if not answered:
            failures.append("the host behind the XDP program did not answer ping (ARP/ICMP "
                            "not passed to the kernel): %s" % ping.stdout.strip()[-200:])
        if not re.search(r"\bICMP: 0\b", "\n".join(sf_out)):
            failures.append("synfin saw ICMP: the XDP program redirected the ping (see %s)" % log)
    if sf.returncode != 0:
        failures.append("synfin exit status %d after SIGINT" % sf.returncode)
    results = [x[len("client: "):] for x in cli_out if x.startswith("client: ")]
    print("live %s: client: %s" % (pmd, "; ".join(results)))
    for want in ("bulk: echoed %d/%d" % (BULK, BULK), "half: got 3000 bytes after FIN"):
        if want not in results:
            failures.append("client did not report %r" % want)
    text = "\n".join(sf_out)
    for pat, what in ((r"INVALID: 0\b", "INVALID segments"), (r"malformed: 0\b", "malformed"),
                      (r"TX-dropped: 0\b", "TX drops")):
        if not re.search(pat, text):
            failures.append("synfin counted %s (see %s)" % (what, log))
    try:
        flows = json.load(open(flows_json))
    except (OSError, ValueError) as e:
        return failures + ["no flows JSON: %s" % e]
    by_sport = {f["orig"]["sport"]: f for f in flows
                if f["orig"]["src"] == CLI and f["orig"]["dst"] == SRV}
    if len(flows) != len(CASES):
        failures.append("%d flows tracked, %d connections made" % (len(flows), len(CASES)))
    for i, (cmd, want) in enumerate(CASES):
        f = by_sport.get(SPORT + i)
        if f is None:
            failures.append("%s: no flow for sport %d" % (cmd, SPORT + i))
            continue
        got = (f["state"], f["client_state"], f["server_state"])
        ok = got == want and f["invalid"] == 0 and not f["picked_up"]
        print("live %s: %-12s %-12s client=%-12s server=%-12s packets %d/%d bytes %d/%d %s" %
              (pmd, cmd, got[0], got[1], got[2], f["packets"]["orig"], f["packets"]["reply"],
               f["bytes"]["orig"], f["bytes"]["reply"], "ok" if ok else "WRONG"))
        if not ok:
            failures.append("%s: %s, want %s (invalid %d, picked_up %s)" %
                            (cmd, got, want, f["invalid"], f["picked_up"]))
        if cmd.startswith("bulk") and min(f["bytes"]["orig"], f["bytes"]["reply"]) < BULK:
            failures.append("bulk: bytes %s, want >= %d each way" % (f["bytes"], BULK))
    return failures


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: live.py SYNFIN [PMD...]")
    synfin = sys.argv[1]
    pmds = sys.argv[2:] or DEFAULT_PMDS
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        sys.exit(77)
    out = os.environ.get("OUT", os.path.join(HERE, "out"))
    os.makedirs(out, exist_ok=True)
    ran, failed = 0, 0
    for pmd in pmds:
        # fresh namespaces per run: sockets of the last run (the held connection, TIME_WAIT)
        # die with them
        net = Net(os.getpid() % 100000)
        try:
            net.open()
        except (OSError, subprocess.CalledProcessError) as e:
            net.close()
            print("SKIP: cannot build the namespaces: %s" % getattr(e, "stdout", e))
            sys.exit(77)
        try:
            failures = run_pmd(synfin, pmd, net, out)
        finally:
            net.close()
        if failures is None:
            # af_xdp* need XDP on veth and AF_XDP sockets in this kernel; af_packet must work
            if pmd == "af_packet":
                failed += 1
            continue
        ran += 1
        for f in failures:
            print("live %s: FAIL %s" % (pmd, f))
        failed += bool(failures)
        print("live %s: %s" % (pmd, "FAIL" if failures else "PASS"))
    print("live: %d PMD runs, %d failed" % (ran, failed))
    sys.exit(1 if failed or ran == 0 else 0)


if __name__ == "__main__":
    main()
