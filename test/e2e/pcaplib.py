# SPDX-License-Identifier: BSD-3-Clause
"""Classic pcap writing for the e2e tests (python3 stdlib only): Ethernet/IPv4/IPv6/TCP frames
with correct checksums, one record per frame, timestamps 1 ms apart unless given."""

import ipaddress
import struct

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _tcp(sport, dport, seq, ack, flags, payload, pseudo, win=65535):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, win, 0, 0)
    c = csum(pseudo + hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def tcp4(src, dst, sport, dport, seq, ack, flags, payload=b"", vlan=None):
    """IPv4/TCP frame; with vlan=ID an 802.1Q tag (priority 0) before the IPv4 EtherType."""
    s, d = ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed
    pseudo = s + d + struct.pack("!BBH", 0, 6, 20 + len(payload))
    tcp = _tcp(sport, dport, seq, ack, flags, payload, pseudo)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 1, 0x4000, 64, 6, 0, s, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    tag = b"" if vlan is None else struct.pack("!HH", 0x8100, vlan & 0xFFF)
    return MAC_B + MAC_A + tag + b"\x08\x00" + ip + tcp


def tcp6(src, dst, sport, dport, seq, ack, flags, payload=b""):
    s, d = ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed
    plen = 20 + len(payload)
    pseudo = s + d + struct.pack("!I3xB", plen, 6)
    tcp = _tcp(sport, dport, seq, ack, flags, payload, pseudo)
    ip = struct.pack("!IHBB16s16s", 6 << 28, plen, 6, 64, s, d)
    return MAC_B + MAC_A + b"\x86\xdd" + ip + tcp


def udp4(src, dst, sport, dport, payload=b"x"):
    s, d = ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, s, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return MAC_B + MAC_A + b"\x08\x00" + ip + udp


def arp():
    return b"\xff" * 6 + MAC_A + b"\x08\x06" + bytes(28)


def write(path, frames, t0=1700000000.0, step=0.001):
    """Write frames (bytes, or (seconds, bytes)) as a microsecond pcap."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            t, p = fr if isinstance(fr, tuple) else (t0 + i * step, fr)
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(p), len(p)))
            f.write(p)
