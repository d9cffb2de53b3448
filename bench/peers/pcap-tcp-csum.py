#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Copy a classic pcap, filling in the TCP checksum of every untagged IPv4/TCP frame.

synfin-bench writes TCP checksums as 0 (synfin does not verify them, nor does testpmd). OVS's
conntrack verifies the TCP checksum in software when the port does not vouch for it (net_pcap
vdevs do not), and marks a bad one invalid, so bench/peers/ovs-dpdk.sh gives OVS-DPDK a copy of
the same frames with correct checksums. Usage: pcap-tcp-csum.py IN.pcap OUT.pcap
"""
import struct
import sys


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def fix(frame: bytearray) -> None:
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return
    ihl = (frame[14] & 0xF) * 4
    tot = struct.unpack("!H", frame[16:18])[0]
    t = 14 + ihl
    seg_len = tot - ihl
    if seg_len < 20 or t + seg_len > len(frame):
        return
    frame[t + 16:t + 18] = b"\0\0"
    pseudo = bytes(frame[26:34]) + struct.pack("!BBH", 0, 6, seg_len)
    frame[t + 16:t + 18] = struct.pack("!H", csum(pseudo + bytes(frame[t:t + seg_len])))


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        print("not a classic pcap", file=sys.stderr)
        return 1
    out = bytearray(data[:24])
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        frame = bytearray(data[off + 16:off + 16 + incl])
        fix(frame)
        out += data[off:off + 16] + frame
        off += 16 + incl
    with open(sys.argv[2], "wb") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
