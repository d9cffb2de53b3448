#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# The UDP and ICMP endpoints of test/real's non-TCP scenarios (mkscenarios.sh), plain Python
# sockets: a UDP echo server; a DNS-like client (one query, one answer); a UDP stream (datagrams
# echoed one by one over a few seconds, so Linux's conntrack sees a stream); a datagram to a
# port nobody listens on (the kernel answers ICMP port unreachable, the connected socket gets
# ECONNREFUSED); an ICMP echo exchange on a raw socket. Prints READY (server) or DONE (client).
"""Usage: l4app.py udpserver --addr A --port P
       l4app.py dns|stream|unreach --src A --sport S --dst D --port P [--count N --interval T]
       l4app.py ping --src A --dst D --id N [--count N --interval T]
"""

import argparse
import socket
import struct
import sys
import time


def udpserver(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.addr, a.port))
    print("READY", flush=True)
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)


def udp_client(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.src, a.sport))
    s.connect((a.dst, a.port))
    s.settimeout(2.0)
    return s


def dns(a):
    s = udp_client(a)
    # A DNS-shaped query: id, flags, one question (the contents do not matter to a tracker).
    q = struct.pack("!HHHHHH", 0x5f5f, 0x0100, 1, 0, 0, 0) + b"\x07example\x03org\x00\x00\x01\x00\x01"
    s.send(q)
    r = s.recv(2048)
    print("DONE answer %d bytes" % len(r), flush=True)


def stream(a):
    s = udp_client(a)
    got = 0
    for i in range(a.count):
        s.send(b"%04d" % i + b"x" * 96)
        got += len(s.recv(2048)) > 0
        time.sleep(a.interval)
    print("DONE %d of %d echoed" % (got, a.count), flush=True)


def unreach(a):
    s = udp_client(a)
    s.send(b"anyone there?")
    try:
        s.recv(2048)
        print("DONE unexpected answer", flush=True)
    except ConnectionRefusedError:
        print("DONE refused (ICMP port unreachable)", flush=True)
    except socket.timeout:
        print("DONE no answer", flush=True)


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    n = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    n = (n >> 16) + (n & 0xFFFF)
    n += n >> 16
    return ~n & 0xFFFF


def ping(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.bind((a.src, 0))
    s.settimeout(2.0)
    got = 0
    for seq in range(1, a.count + 1):
        payload = b"synfin-l4 %02d" % seq + b"." * 43
        hdr = struct.pack("!BBHHH", 8, 0, 0, a.id, seq)
        pkt = struct.pack("!BBHHH", 8, 0, checksum(hdr + payload), a.id, seq) + payload
        s.sendto(pkt, (a.dst, 0))
        deadline = time.time() + 2
        while time.time() < deadline:
            try:
                r = s.recv(2048)
            except socket.timeout:
                break
            ihl = (r[0] & 15) * 4
            t, _, _, rid, rseq = struct.unpack("!BBHHH", r[ihl:ihl + 8])
            if t == 0 and rid == a.id and rseq == seq:
                got += 1
                break
        time.sleep(a.interval)
    print("DONE %d of %d replies" % (got, a.count), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cmd", choices=["udpserver", "dns", "stream", "unreach", "ping"])
    p.add_argument("--addr")
    p.add_argument("--src")
    p.add_argument("--dst")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--sport", type=int, default=0)
    p.add_argument("--id", type=int, default=0x1234)
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--interval", type=float, default=0.3)
    a = p.parse_args()
    {"udpserver": udpserver, "dns": dns, "stream": stream, "unreach": unreach,
     "ping": ping}[a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
