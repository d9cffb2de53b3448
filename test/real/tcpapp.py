#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Real-stack TCP endpoints for the synfin verification harness (test/real/mkscenarios.sh): a
# threaded server whose per-connection behaviour is chosen by the first line the client sends
# ("cc", "sc", "crst", "srst", "half N", "hold", "bulk N", "simul"), and a client that runs one
# or many of those behaviours (plus "refused", "syn" and "reuse" which need no server command). A client command is
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
import socket
import struct
import subprocess
import sys
import threading
import time

IO_TIMEOUT = 30.0
HOLD_CMDS = ("hold",)


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
    args = p.parse_args()
    if args.role == "server":
        server(args)
    else:
        client(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
