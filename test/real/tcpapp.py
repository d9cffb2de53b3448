#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Real-stack TCP endpoints for the synfin verification harness (test/real/mkscenarios.sh): a
# threaded server whose per-connection behaviour is chosen by the first line the client sends
# ("cc", "sc", "crst", "srst", "half N", "hold", "bulk N", "simul", "rot"), and a client that runs
# one or many of those behaviours (plus "refused", "syn", "reuse", "tfo", "tforot", "spoofrst"
# and "rstchallenge", which send "cc" or "rot" themselves or no server command). A client command is
# NAME[:ARG][@DST]: ARG is a byte count, DST overrides the destination address.
# Everything is plain Linux sockets so that the packets come from the kernel's own TCP; the
# shell script runs each side in its own network namespace and reads READY/DONE lines from
# stdout to know when to take the oracle's snapshots.
"""Usage:
  tcpapp.py server --addr A --port P
  tcpapp.py client --src A --dst B --port P --cmd CMD[,CMD...] [--sport S] [--many N]
"""

import argparse
import errno
import random
import select
import socket
import struct
import subprocess
import sys
import threading
import time

IO_TIMEOUT = 30.0  # the client's socket operations; --io-timeout sets it
HOLD_CMDS = ("hold",)
TCP_FASTOPEN = 23  # linux/tcp.h: server, queue length
TCP_FASTOPEN_CONNECT = 30  # linux/tcp.h: client, SYN carries the first write
ETH_P_IP = 0x0800
ETH_P_ALL = 0x0003  # outgoing frames reach only ETH_P_ALL packet sockets
PACKET_OUTGOING = 4


def log(*a):
    print(*a, flush=True)


def linger0(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        buf += c
    return buf.decode(errors="replace").strip()


def read_exact(s, n):
    got = 0
    while got < n:
        d = s.recv(min(65536, n - got))
        if not d:
            break
        got += len(d)
    return got


def read_to_eof(s):
    """Reads until EOF; returns bytes read, or -1 when the peer reset the connection."""
    n = 0
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return n
            n += len(d)
    except (ConnectionResetError, BrokenPipeError):
        return -1


def nft(args):
    subprocess.run(["nft"] + args, check=True, timeout=10)


def hold_fins(port, on, field):
    """Drops (on) or stops dropping (off) FIN segments arriving for PORT in this namespace.

    Used for the simultaneous close: each endpoint holds back the peer's FIN at its own input,
    outside the router, so both FINs cross the router before either is acknowledged."""
    if on:
        nft(["add", "table", "inet", "sfsim"])
        nft(["add", "chain", "inet", "sfsim", "in",
             "{ type filter hook input priority 0; }"])
        nft(["add", "rule", "inet", "sfsim", "in", "tcp", field, str(port),
             "tcp", "flags", "&", "fin", "==", "fin", "drop"])
    else:
        nft(["delete", "table", "inet", "sfsim"])


# ----------------------------------------------------------------------------------- server


def serve_one(conn, port):
    conn.settimeout(3600)
    try:
        line = read_line(conn)
        words = line.split()
        cmd = words[0] if words else ""
        arg = int(words[1]) if len(words) > 1 else 0
        if cmd == "cc":  # client closes first
            conn.sendall(b"ok\n")
            read_to_eof(conn)
            conn.close()
        elif cmd == "sc":  # server closes first
            conn.sendall(b"ok\n")
            conn.close()
        elif cmd == "srst":  # server aborts with RST
            conn.sendall(b"ok\n")
            time.sleep(0.05)
            linger0(conn)
            conn.close()
        elif cmd == "crst":  # client aborts; the server just reads
            conn.sendall(b"ok\n")
            read_to_eof(conn)
            conn.close()
        elif cmd == "half":  # client shuts down its side; the server sends after the FIN
            read_to_eof(conn)
            conn.sendall(b"x" * max(arg, 1))
            conn.close()
        elif cmd == "hold":  # stays ESTABLISHED until the process is killed
            conn.sendall(b"ok\n")
            read_to_eof(conn)
            conn.close()
        elif cmd == "bulk":  # read ARG bytes, echo as many, client closes first
            read_exact(conn, arg)
            conn.sendall(b"y" * arg)
            read_to_eof(conn)
            conn.close()
        elif cmd == "rot":  # TFO: a new server key, so the cookies given so far are refused
            key = "-".join("%08x" % random.getrandbits(32) for _ in range(4))
            with open("/proc/sys/net/ipv4/tcp_fastopen_key", "w") as f:
                f.write(key)
            conn.sendall(b"ok\n")
            read_to_eof(conn)
            conn.close()
        elif cmd == "simul":
            hold_fins(port, True, "dport")
            conn.sendall(b"ok\n")
            if read_line(conn) != "go":
                raise RuntimeError("simul: no go")
            conn.shutdown(socket.SHUT_WR)
            time.sleep(0.5)
            hold_fins(port, False, "dport")
            read_to_eof(conn)
            conn.close()
        else:
            log("server: unknown command %r" % line)
            conn.close()
    except OSError as e:
        log("server: %s" % e)
        conn.close()


def server(args):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.addr, args.port))
    # TCP Fast Open on the listener; it takes effect where net.ipv4.tcp_fastopen has the
    # server bit (the tfo_* scenarios), and changes nothing elsewhere.
    ls.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, 16)
    ls.listen(1024)
    log("READY")
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve_one, args=(conn, args.port), daemon=True).start()


# ----------------------------------------------------------------------------------- client


def new_sock(src, sport):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, sport))
    s.settimeout(IO_TIMEOUT)
    return s


def own_ifname():
    """The only non-loopback interface of this namespace."""
    names = [n for _, n in socket.if_nameindex() if n != "lo"]
    if len(names) != 1:
        raise SystemExit("client: want one interface besides lo, have %s" % names)
    return names[0]


def tcp_frame(eth_dst, eth_src, src, dst, sport, dport, seq, ack, flags, ttl=64):
    """An Ethernet/IPv4/TCP frame without payload, both checksums right."""
    def csum(b):
        if len(b) % 2:
            b += b"\0"
        t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        while t >> 16:
            t = (t & 0xFFFF) + (t >> 16)
        return ~t & 0xFFFF
    sa, da = socket.inet_aton(src), socket.inet_aton(dst)
    th = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                     flags, 0, 0, 0)
    th = th[:16] + struct.pack("!H", csum(sa + da + struct.pack("!BBH", 0, 6, len(th)) + th)) \
        + th[18:]
    ih = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0x5f5f, 0, ttl, 6, 0, sa, da)
    ih = ih[:10] + struct.pack("!H", csum(ih)) + ih[12:]
    return eth_dst + eth_src + struct.pack("!H", ETH_P_IP) + ih + th


def sniff_own(ps, ifname, sport, want, deadline):
    """The next outgoing TCP segment from port sport for which want(flags) holds, read from
    the packet socket ps: (frame, seq, ack, flags, payload length), or None at the deadline."""
    while time.time() < deadline:
        ps.settimeout(max(0.01, deadline - time.time()))
        try:
            fr, addr = ps.recvfrom(65535)
        except socket.timeout:
            return None
        if (addr[0] != ifname or addr[2] != PACKET_OUTGOING or len(fr) < 54 or fr[12:14] != b"\x08\x00"
                or fr[23] != 6):
            continue
        ihl = (fr[14] & 15) * 4
        th = 14 + ihl
        sp, = struct.unpack_from("!H", fr, th)
        if sp != sport or not want(fr[th + 13]):
            continue
        seq, ack = struct.unpack_from("!II", fr, th + 4)
        tot, = struct.unpack_from("!H", fr, 16)
        return fr, seq, ack, fr[th + 13], tot - ihl - (fr[th + 12] >> 4) * 4
    return None


def client_conn(args, cmd, sport, barrier=None, holds=None):
    """Runs one client behaviour; returns a short result string."""
    cmd, _, dst = cmd.partition("@")
    dst = dst or args.dst
    words = cmd.split(":")
    name = words[0]
    arg = int(words[1]) if len(words) > 1 else 0
    s = new_sock(args.src, sport)
    if name == "syn":
        # Bounded SYN retries towards a blackholed port: 1 SYN + 2 retransmissions (~7 s).
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 2)
        s.settimeout(None)
        try:
            s.connect((dst, args.port))
            return "syn: unexpectedly connected"
        except OSError as e:
            s.close()
            return "syn: %s" % errno.errorcode.get(e.errno, e.errno)
    if name == "refused":
        try:
            s.connect((dst, args.port))
            return "refused: unexpectedly connected"
        except ConnectionRefusedError:
            s.close()
            return "refused: ECONNREFUSED"
    if name in ("tfo", "tforot"):
        # TCP Fast Open: the SYN carries the first write when a cookie is cached for dst,
        # else it asks for one (the data follows the handshake).
        s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)
        s.connect((dst, args.port))
        s.sendall(b"cc\n" if name == "tfo" else b"rot\n")
        read_line(s)
        s.close()
        return name + ": ok"
    if name == "spoofrst":
        # A spoofed RST+ACK "from the server", acking our SYN, sent right after it with TTL 1:
        # the router's conntrack sees it (and deletes its entry: the only reply is an RST),
        # the router does not forward it, so the client never gets it. The server's first
        # SYN+ACK and our SYN retransmissions are dropped (mkscenarios.sh), so the server's
        # SYN+ACK retransmission, after the RST, completes the handshake; then "cc".
        ifname = own_ifname()
        ps = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.setblocking(False)
        s.connect_ex((dst, args.port))
        got = sniff_own(ps, ifname, sport, lambda f: (f & 0x12) == 0x02, time.time() + 5)
        if got is None:
            raise SystemExit("client: spoofrst: own SYN not seen")
        fr, isn = got[0], got[1]
        ps.sendto(tcp_frame(fr[0:6], fr[6:12], dst, args.src, args.port, sport, 0, isn + 1,
                            0x14, ttl=1), (ifname, 0))
        ps.close()
        s.setblocking(True)
        s.settimeout(IO_TIMEOUT)
        if not select.select([], [s], [], 10)[1] or s.getsockopt(socket.SOL_SOCKET,
                                                                 socket.SO_ERROR):
            raise SystemExit("client: spoofrst: no connection")
        s.sendall(b"cc\n")
        read_line(s)
        s.close()
        return "spoofrst: connected after the spoofed RST"
    if name == "rstchallenge":
        # An RST "from us" inside the server's window but not at its RCV.NXT (RFC 5961 3.2):
        # the server answers with a challenge ACK and keeps the connection; then "cc".
        ifname = own_ifname()
        ps = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.connect((dst, args.port))
        s.sendall(b"cc\n")
        read_line(s)
        last = None
        deadline = time.time() + 1.0
        while True:  # our last segment: its seq + length is our SND.NXT
            got = sniff_own(ps, ifname, sport, lambda f: f & 0x10, deadline)
            if got is None:
                break
            last = got
        if last is None:
            raise SystemExit("client: rstchallenge: own segments not seen")
        fr, seq, ack, _, plen = last
        ps.sendto(tcp_frame(fr[0:6], fr[6:12], args.src, dst, sport, args.port,
                            seq + plen + 1000, ack, 0x04), (ifname, 0))
        ps.close()
        time.sleep(0.3)
        s.close()
        return "rstchallenge: inexact RST sent, connection closed normally"
    s.connect((dst, args.port))
    if barrier is not None:
        barrier.wait()
    if name == "cc":
        s.sendall(b"cc\n")
        read_line(s)
        s.close()
    elif name == "sc":
        s.sendall(b"sc\n")
        read_to_eof(s)
        s.close()
    elif name == "crst":
        s.sendall(b"crst\n")
        read_line(s)
        linger0(s)
        s.close()
    elif name == "srst":
        s.sendall(b"srst\n")
        r = read_to_eof(s)
        s.close()
        return "srst: %s" % ("reset" if r < 0 else "eof")
    elif name == "half":
        n = arg or 2000
        s.sendall(b"half %d\n" % n + b"request after which the client shuts down\n")
        s.shutdown(socket.SHUT_WR)
        got = read_to_eof(s)
        s.close()
        return "half: got %d bytes after FIN" % got
    elif name == "hold":
        s.sendall(b"hold\n")
        read_line(s)
        holds.append(s)
    elif name == "bulk":
        n = arg or 65536
        s.sendall(b"bulk %d\n" % n)
        s.sendall(b"z" * n)
        got = read_exact(s, n)
        s.close()
        return "bulk: echoed %d/%d" % (got, n)
    elif name == "simul":
        s.sendall(b"simul\n")
        read_line(s)
        hold_fins(args.port, True, "sport")
        s.sendall(b"go\n")
        time.sleep(0.05)
        s.shutdown(socket.SHUT_WR)
        time.sleep(0.5)
        hold_fins(args.port, False, "sport")
        read_to_eof(s)
        s.close()
    elif name == "reuse":
        # The server closes first (it holds TIME_WAIT), then a new SYN on the same 4-tuple.
        s.sendall(b"sc\n")
        read_to_eof(s)
        s.close()
        time.sleep(0.3)
        s2 = new_sock(args.src, sport)
        s2.connect((dst, args.port))
        s2.sendall(b"hold\n")
        read_line(s2)
        holds.append(s2)
        return "reuse: reconnected from port %d" % sport
    else:
        raise SystemExit("client: unknown command %r" % cmd)
    return name + ": ok"


def client(args):
    cmds = args.cmd.split(",")
    holds = []
    if args.many:
        # N concurrent connections: all connect first, then all end at once, cycling the
        # endings through the command list.
        n = args.many
        barrier = threading.Barrier(n)
        results = [None] * n

        def run(i):
            try:
                sport = args.sport + i if args.sport else 0
                results[i] = client_conn(args, cmds[i % len(cmds)], sport, barrier, holds)
            except Exception as e:  # noqa: BLE001 - reported, counted
                results[i] = "error: %s" % e
                try:
                    barrier.abort()
                except Exception:  # noqa: BLE001
                    pass

        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        errors = [r for r in results if r.startswith("error")]
        log("client: %d connections, %d errors %s" % (n, len(errors), errors[:3]))
    else:
        for i, c in enumerate(cmds):
            sport = args.sport + i if args.sport else 0
            log("client: " + client_conn(args, c, sport, None, holds))
    log("DONE")
    if holds:
        time.sleep(3600)


def main():
    global IO_TIMEOUT
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="role", required=True)
    ps = sub.add_parser("server")
    ps.add_argument("--addr", required=True)
    ps.add_argument("--port", type=int, required=True)
    pc = sub.add_parser("client")
    pc.add_argument("--src", required=True)
    pc.add_argument("--dst", required=True)
    pc.add_argument("--port", type=int, required=True)
    pc.add_argument("--sport", type=int, default=0, help="first source port (0: ephemeral)")
    pc.add_argument("--cmd", required=True, help="comma-separated behaviours")
    pc.add_argument("--many", type=int, default=0, help="N concurrent connections")
    pc.add_argument("--io-timeout", type=float, default=IO_TIMEOUT,
                    help="seconds a socket operation may wait (default %(default)s)")
    args = p.parse_args()
    if args.role == "server":
        server(args)
    else:
        IO_TIMEOUT = args.io_timeout
        client(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
