# SPDX-License-Identifier: BSD-3-Clause
"""The one copy of what the synfin tests share (python3 stdlib only): Ethernet/IPv4/IPv6/TCP/UDP
frames with correct checksums (or none, for fuzz seeds), classic microsecond pcap writing and
reading, the synfin command line with the EAL options every test uses (-l 0 --no-pci --no-huge
-m 512 --no-shconf --log-level=error, an optional --file-prefix), running and stopping it, its
--flows-json output, nfdump's collector (nfcapd on loopback, read back with nfdump), and a
failure counter with the case dispatch of the e2e scripts. Used by
test/e2e/*.py, test/fuzz/mkcorpus.py and test/real/live.py (those two put test/e2e on sys.path).
"""

import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
T0 = 1700000000  # seconds: the first timestamp of a written pcap

# ---- frames ----


def csum(data):
    """The Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _packed(addr, cls):
    """An address as bytes: a string through ipaddress, bytes or a list of ints as they are."""
    return cls(addr).packed if isinstance(addr, str) else bytes(addr)


def tcp_segment(sport, dport, seq, ack, flags, payload=b"", win=65535, opts=b"", src=None,
                dst=None):
    """TCP header (options padded to 32 bits) and payload. The checksum covers the IPv4 or IPv6
    pseudo header of src and dst (packed addresses) when they are given, else it is 0."""
    opts += b"\0" * (-len(opts) % 4)
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      ((20 + len(opts)) // 4) << 4, flags, win, 0, 0) + opts + payload
    if src is None:
        return seg
    if len(src) == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(seg))
    else:
        pseudo = src + dst + struct.pack("!I3xB", len(seg), 6)
    return seg[:16] + struct.pack("!H", csum(pseudo + seg)) + seg[18:]


def ipv4(src, dst, l4, proto=6, frag=0):
    """IPv4 header (id 1, TTL 64, checksum) and l4; frag is the flags+offset field."""
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, frag, 64, proto, 0,
                    _packed(src, ipaddress.IPv4Address), _packed(dst, ipaddress.IPv4Address))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + l4


def ipv6(src, dst, l4, nh=6, ext=b""):
    """IPv6 header (hop limit 64), extension headers ext (nh names the first) and l4."""
    return struct.pack("!IHBB16s16s", 6 << 28, len(ext) + len(l4), nh, 64,
                       _packed(src, ipaddress.IPv6Address),
                       _packed(dst, ipaddress.IPv6Address)) + ext + l4


def eth(l3, etype, vlans=()):
    """Ethernet frame MAC_A -> MAC_B with the tags vlans ((TPID, TCI) pairs) before etype."""
    h = MAC_B + MAC_A
    for tpid, tci in vlans:
        h += struct.pack("!HH", tpid, tci)
    return h + struct.pack("!H", etype) + l3


def tcp4(src, dst, sport, dport, seq, ack, flags, payload=b"", vlan=None):
    """IPv4/TCP frame (DF set); with vlan=ID an 802.1Q tag (priority 0) before the IPv4
    EtherType."""
    s, d = _packed(src, ipaddress.IPv4Address), _packed(dst, ipaddress.IPv4Address)
    seg = tcp_segment(sport, dport, seq, ack, flags, payload, src=s, dst=d)
    tags = () if vlan is None else [(0x8100, vlan & 0xFFF)]
    return eth(ipv4(s, d, seg, frag=0x4000), 0x0800, tags)


def tcp6(src, dst, sport, dport, seq, ack, flags, payload=b""):
    """IPv6/TCP frame."""
    s, d = _packed(src, ipaddress.IPv6Address), _packed(dst, ipaddress.IPv6Address)
    return eth(ipv6(s, d, tcp_segment(sport, dport, seq, ack, flags, payload, src=s, dst=d)),
               0x86DD)


def udp4(src, dst, sport, dport, payload=b"x"):
    """IPv4/UDP frame (UDP checksum 0)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return eth(ipv4(src, dst, udp, proto=17), 0x0800)


def icmp4(src, dst, icmp_type, ident, seq=1, code=0):
    """IPv4/ICMP echo-style frame (type, code, checksum, identifier, sequence, 8 data bytes)."""
    body = struct.pack("!BBHHH", icmp_type, code, 0, ident, seq) + bytes(8)
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    return eth(ipv4(src, dst, body, proto=1), 0x0800)


def icmp6(src, dst, icmp_type, ident, seq=1, code=0):
    """IPv6/ICMPv6 echo-style frame (checksum over the pseudo-header)."""
    s, d = _packed(src, ipaddress.IPv6Address), _packed(dst, ipaddress.IPv6Address)
    body = struct.pack("!BBHHH", icmp_type, code, 0, ident, seq) + bytes(8)
    pseudo = s + d + struct.pack("!IxxxB", len(body), 58)
    body = body[:2] + struct.pack("!H", csum(pseudo + body)) + body[4:]
    return eth(ipv6(s, d, body, nh=58), 0x86DD)


def ip4_proto(src, dst, proto, payload=b"\x00" * 8):
    """IPv4 frame of protocol number proto carrying payload."""
    return eth(ipv4(src, dst, payload, proto=proto), 0x0800)


def arp():
    """A broadcast ARP frame (all zero body)."""
    return b"\xff" * 6 + MAC_A + b"\x08\x06" + bytes(28)


def handshake(c, s, cp, sp, isn_c, isn_s, vlan=None, data=b""):
    """SYN, SYN+ACK, ACK (and one PSH+ACK data segment from c when given) of one IPv4
    connection c:cp -> s:sp."""
    fr = [tcp4(c, s, cp, sp, isn_c, 0, SYN, vlan=vlan),
          tcp4(s, c, sp, cp, isn_s, isn_c + 1, SYN | ACK, vlan=vlan),
          tcp4(c, s, cp, sp, isn_c + 1, isn_s + 1, ACK, vlan=vlan)]
    if data:
        fr.append(tcp4(c, s, cp, sp, isn_c + 1, isn_s + 1, PSH | ACK, data, vlan=vlan))
    return fr


# ---- pcap files ----


def write(path, frames, times_us=None, snaplen=65535):
    """Writes frames as a classic microsecond pcap. A frame is bytes, or (bytes, original
    length) as read_records() returns it; timestamps are times_us (integer microseconds, one a
    frame), else T0 and then 1 ms apart."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1))
        for i, fr in enumerate(frames):
            data, orig = fr if isinstance(fr, tuple) else (fr, len(fr))
            t = T0 * 1000000 + i * 1000 if times_us is None else times_us[i]
            f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(data), orig))
            f.write(data)


def read_records(path):
    """The records of a classic little-endian pcap: [(frame bytes, original length)]."""
    with open(path, "rb") as f:
        data = f.read()
    off, recs = 24, []
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack_from("<IIII", data, off)
        recs.append((data[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    return recs


# ---- running synfin ----


def synfin_argv(exe, vdevs=(), args=(), lcores=("-l", "0"), prefix=None, shconf=False):
    """exe, the lcore options, the tests' EAL options (--no-shconf unless shconf), --file-prefix
    when prefix is given, one --vdev= per vdevs, then -- and the application's args."""
    argv = [exe, *lcores, "--no-pci", "--no-huge", "-m", "512"]
    argv += ([] if shconf else ["--no-shconf"]) + ["--log-level=error"]
    if prefix is not None:
        argv.append("--file-prefix=" + prefix)
    return argv + ["--vdev=" + v for v in vdevs] + ["--", *args]


def run(argv, timeout=60, quiet=False, **kw):
    """Runs argv to the end (stdin closed; printed first unless quiet): the CompletedProcess
    with text stdout and stderr."""
    if not quiet:
        print("running:", " ".join(argv))
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          errors="replace", timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def start(argv):
    """Starts argv (stdin closed, text stdout and stderr piped) and returns its Popen."""
    print("running:", " ".join(argv))
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace", stdin=subprocess.DEVNULL)


def stop(p, sig=signal.SIGTERM, timeout=30):
    """Sends sig to p unless it has exited and waits up to timeout s, then kills it:
    (stdout, stderr, whether it exited within timeout)."""
    if p.poll() is None:
        p.send_signal(sig)
    try:
        so, se = p.communicate(timeout=timeout)
        return so, se, True
    except subprocess.TimeoutExpired:
        p.kill()
        so, se = p.communicate()
        return so, se, False


def read_json(path):
    """(the JSON value of path, None), or (None, the error) when it cannot be read or parsed."""
    try:
        with open(path) as f:
            return json.load(f), None
    except (OSError, ValueError) as e:
        return None, e


# ---- checks ----


class Checker:
    """Counts failed checks; a failure prints FAIL: and its detail."""

    def __init__(self):
        self.failed = 0

    def fail(self, msg, detail=None):
        self.failed += 1
        print("FAIL:", msg)
        if detail is not None:
            print("   ", detail)

    def check(self, cond, msg, detail=None):
        """Counts a failure when cond is false; returns cond."""
        if not cond:
            self.fail(msg, detail)
        return cond


def main_cases(doc, cases, ck):
    """`script SYNFIN_EXE CASE`: runs cases[CASE](exe, tmpdir) and reports ck's failures; the
    exit status (2 with doc printed on a usage error)."""
    if len(sys.argv) != 3 or sys.argv[2] not in cases:
        print(doc)
        return 2
    exe, case = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="synfin_e2e_") as tmp:
        cases[case](exe, tmp)
    print(f"e2e {case}:", "FAILED" if ck.failed else "ok", f"({ck.failed} failures)")
    return 1 if ck.failed else 0


# ---- nfdump's collector ----

# proto src sport dst dport in-packets in-bytes out-packets out-bytes, plain numbers (-N)
NFDUMP_FMT = "fmt:%pr %sa %sp %da %dp %ipkt %ibyt %opkt %obyt"


def nfdump_missing():
    """The nfdump tools (nfcapd, nfdump) that are not installed (Debian package nfdump)."""
    return [t for t in ("nfcapd", "nfdump") if shutil.which(t) is None]


def free_udp_port():
    """A UDP port of 127.0.0.1 free when asked."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_socket(port):
    """(found, receive queue bytes, drops) of the socket bound to 127.0.0.1:port in
    /proc/net/udp."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == want:
                return True, int(fields[4].split(":")[1], 16), int(fields[-1])
    return False, 0, 0


def wait_for(cond, seconds):
    """Polls cond every 50 ms for up to seconds: its last value."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


class Nfcapd:
    """nfcapd listening on a free UDP port of 127.0.0.1, writing into DIR/NAME/ (one file: -t
    3600 rotates none within a test; SIGTERM writes it out). Failures count on ck."""

    def __init__(self, tmp, ck, name="nfcapd"):
        self.ck = ck
        self.dir = os.path.join(tmp, name)
        os.mkdir(self.dir)
        self.port = free_udp_port()
        self.log_path = self.dir + ".log"
        with open(self.log_path, "w") as log:
            self.p = subprocess.Popen(["nfcapd", "-b", "127.0.0.1", "-p", str(self.port),
                                       "-w", self.dir, "-t", "3600"], stdout=log,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.ok = ck.check(wait_for(lambda: udp_socket(self.port)[0] or self.p.poll()
                                    is not None, 10) and self.p.poll() is None,
                           f"nfcapd does not listen on 127.0.0.1:{self.port}")

    def addr(self):
        """HOST:PORT to send to."""
        return f"127.0.0.1:{self.port}"

    def stop(self):
        """Waits until nfcapd has read every datagram (its socket's receive queue is empty;
        none dropped), stops it with SIGTERM: (its log, the path of its one flow file), or
        (log, None)."""
        ck = self.ck
        if self.ok and self.p.poll() is None:
            ck.check(wait_for(lambda: udp_socket(self.port)[1] == 0, 10),
                     "nfcapd left datagrams unread")
            drops = udp_socket(self.port)[2]
            ck.check(drops == 0, f"nfcapd's socket dropped {drops} datagrams")
            time.sleep(0.3)
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            ck.fail("nfcapd did not exit within 30 s of SIGTERM")
        with open(self.log_path) as f:
            log = f.read()
        ck.check(self.p.returncode == 0, f"nfcapd exited with {self.p.returncode}", log)
        files = [n for n in os.listdir(self.dir)
                 if n.startswith("nfcapd.") and "current" not in n]
        if not ck.check(len(files) == 1, f"want one nfcapd file, found {os.listdir(self.dir)}"):
            return log, None
        return log, os.path.join(self.dir, files[0])


def nfcapd_counts(log):
    """(flows, sequence errors) of nfcapd's exit summary in its log, or None."""
    m = re.search(r"Flows: (\d+).*Sequence Errors: (\d+)", log)
    return (int(m.group(1)), int(m.group(2))) if m else None


def nfdump_flows(path, ck):
    """The flows of nfcapd file path as nfdump -N prints them in NFDUMP_FMT, one string each
    (fields single-spaced; ICMP's destination port type.code turned back into type << 8 |
    code), or None (the failure counted on ck)."""
    r = subprocess.run(["nfdump", "-r", path, "-N", "-q", "-o", NFDUMP_FMT],
                       capture_output=True, text=True, timeout=30)
    if not ck.check(r.returncode == 0, f"nfdump exited with {r.returncode}", r.stderr):
        return None
    out = []
    for line in r.stdout.splitlines():
        f = line.split()
        if not f:
            continue
        if len(f) == 9 and "." in f[4] and f[0] in ("1", "58"):
            t, c = f[4].split(".")
            f[4] = str(int(t) << 8 | int(c))
        out.append(" ".join(f))
    return out
