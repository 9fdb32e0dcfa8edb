#!/usr/bin/env python3
"""synflood.py IFACE DST_MAC DST_IP DST_PORT COUNT RATE SRC_NET

A bounded SYN flood for the bats suite: COUNT TCP SYNs to DST_IP:DST_PORT,
each from a different spoofed address in SRC_NET (an IPv4 /16 given as A.B,
or, when DST_IP is IPv6, a /64 given as its prefix, 2001:2::), sent as
Ethernet frames through an AF_PACKET socket on IFACE (the kernel's end of
sockfsd's TAP, so they reach sockfsd and nothing else), at most RATE a
second, and never for longer than 60 s. Half the SYNs carry timestamps (so
the cookies encode options in them), half do not. Prints how many it sent.

Only ever run inside the test network namespace (tests/run makes one).
"""

import random
import socket
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, dst, sport, dport, seq, with_ts):
    """An IPv4 or IPv6 packet (by the addresses' length) with the SYN."""
    v6 = len(dst) == 16
    opts = struct.pack("!BBH", 2, 4, 1440 if v6 else 1460)  # MSS
    if with_ts:
        opts += struct.pack("!BBBBII", 4, 2, 8, 10, random.getrandbits(32), 0)  # SACK_PERM, TS
        opts += struct.pack("!BBBB", 1, 3, 3, 7)  # NOP, WSCALE 7
    doff = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, doff << 4, 0x02, 64240, 0, 0) + opts
    if v6:  # RFC 8200 §8.1's pseudo-header
        pseudo = src + dst + struct.pack("!I3xB", len(tcp), 6)
    else:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    if v6:
        return struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, src, dst) + tcp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp


def main():
    iface, dmac, dip, dport, count, rate, net = sys.argv[1:8]
    dport, count, rate = int(dport), int(count), int(rate)
    if count > 100000 or rate > 100000:
        sys.exit("synflood.py: COUNT and RATE are bounded at 100000")
    v6 = ":" in dip
    dmac = bytes.fromhex(dmac.replace(":", ""))
    if v6:
        dst = socket.inet_pton(socket.AF_INET6, dip)
        prefix = socket.inet_pton(socket.AF_INET6, net)[:8]
        if prefix[:6] != bytes.fromhex("200100020000"):
            sys.exit("synflood.py: IPv6 sources only from 2001:2::/48")
    else:
        a, b = (int(x) for x in net.split("."))
        dst = socket.inet_aton(dip)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    smac = s.getsockname()[4]
    eth = dmac + smac + (b"\x86\xdd" if v6 else b"\x08\x00")
    rng = random.Random(20000)
    start = time.monotonic()
    sent = 0
    batch = max(1, rate // 100)
    while sent < count and time.monotonic() - start < 60:
        for _ in range(min(batch, count - sent)):
            # Skip .0.0-.0.255 (::0-::ff): the stack and the kernel live there.
            host = rng.randrange(256, 65534)
            if v6:
                src = prefix + struct.pack("!6xH", host)
            else:
                src = bytes([a, b, host >> 8, host & 0xFF])
            frame = eth + syn(src, dst, rng.randrange(1024, 65535), dport, rng.getrandbits(32), sent % 2 == 0)
            try:
                s.send(frame)
            except OSError:
                time.sleep(0.001)  # the TAP's queue is full: pace down
                continue
            sent += 1
        due = start + sent / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
    print(sent)


if __name__ == "__main__":
    main()
