#!/usr/bin/env python3
"""frames.py: craft Ethernet frames on the kernel's end of sockfsd's TAP.

The hostile-network tests need frames no kernel socket would send: spoofed
sources, SYN+FIN, broken IP options, ARP claims. This module writes them
through an AF_PACKET socket bound to the TAP (so they reach sockfsd as if
from the wire) and reads what sockfsd sends back. It runs only where the
test suite runs it, inside tests/run's network namespace; every send is
bounded by an explicit count.

As a module: Link(dev) to send and receive, and the builders ether(), arp(),
ipv4(), tcp(), icmp_echo(), and for IPv6 ipv6(), icmp6(), dest_opts(),
ns6(), ra6(), plus parse(). As a command:

  frames.py DEV STACK_IP COMMAND [ARGS...]

resolves the stack's MAC with an ARP request from the kernel's address (a
neighbour solicitation when STACK_IP is IPv6) and runs COMMAND (see --help), printing one line per answer it was asked to
wait for, or "none" if the wait (bounded, --timeout) ran out. With DEV lo
the same frames go to the kernel's own stack, the reference the tests
compare sockfsd with (STACK_IP then an address the test added to lo, not
127.0.0.1: a frame from outside to 127/8 is a martian to the kernel too).
"""

import argparse
import ipaddress
import os
import random
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
SO_RCVBUFFORCE = 33

TCP_FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20}


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def mac_str(b):
    return ":".join("%02x" % x for x in b)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ether(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def arp(op, sha, sip, tha, tip):
    return struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, op, sha,
                       socket.inet_aton(sip), tha, socket.inet_aton(tip))


def ipv4(src, dst, proto, payload, ttl=64, ident=1, options=b""):
    if len(options) % 4:
        raise ValueError("IP options must be padded to 4 bytes")
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), ident, 0,
                      ttl, proto, 0, socket.inet_aton(src), socket.inet_aton(dst)) + options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def tcp(src, dst, sport, dport, seq, ack=0, flags="S", window=65535, payload=b""):
    fl = sum(TCP_FLAGS[c] for c in flags)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, fl, window, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr) + len(payload))
    c = csum(pseudo + hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def ipv6(src, dst, nh, payload, hlim=64):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, hlim,
                       socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)) + payload


def icmp6(src, dst, typ, code, body):
    """An ICMPv6 message with its checksum over RFC 8200 §8.1's pseudo-header."""
    msg = struct.pack("!BBH", typ, code, 0) + body
    pseudo = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
              struct.pack("!I3xB", len(msg), 58))
    return msg[:2] + struct.pack("!H", csum(pseudo + msg)) + msg[4:]


def dest_opts(nh, options=1):
    """A destination options header (RFC 8200 §4.6) holding `options`
    skippable options of type 0x1e and no data, padded to 8 bytes."""
    body = bytes([nh, 0]) + b"\x1e\x00" * options
    pad = -len(body) % 8
    if pad == 1:
        body += b"\x00"  # Pad1
    elif pad:
        body += bytes([1, pad - 2]) + b"\x00" * (pad - 2)  # PadN
    return bytes([nh, len(body) // 8 - 1]) + body[2:]


def solicited_node(addr):
    a = socket.inet_pton(socket.AF_INET6, addr)
    return socket.inet_ntop(socket.AF_INET6, bytes.fromhex("ff0200000000000000000001ff") + a[13:])


def mcast_mac(addr):
    return b"\x33\x33" + socket.inet_pton(socket.AF_INET6, addr)[12:]


def ns6(src, target, mac):
    """A neighbour solicitation from src (link address mac) for target,
    to its solicited-node group, as a packet (RFC 4861 §4.3)."""
    dst = solicited_node(target)
    body = struct.pack("!4x16sBB6s", socket.inet_pton(socket.AF_INET6, target), 1, 1, mac)
    return dst, ipv6(src, dst, 58, icmp6(src, dst, 135, 0, body), hlim=255)


def ra6(src, mac, prefix):
    """A router advertisement from src (link address mac) to all nodes:
    a default router for 1800 s and the on-link, autonomous prefix/64
    (RFC 4861 §4.2, §4.6.2)."""
    dst = "ff02::1"
    body = struct.pack("!BBHII", 64, 0, 1800, 0, 0)
    body += struct.pack("!BB6s", 1, 1, mac)
    body += struct.pack("!BBBBII4x16s", 3, 4, 64, 0xC0, 0xFFFFFFFF, 0xFFFFFFFF,
                        socket.inet_pton(socket.AF_INET6, prefix))
    return dst, ipv6(src, dst, 58, icmp6(src, dst, 134, 0, body), hlim=255)


def icmp_echo(ident, seq, payload=b"frames.py"):
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    c = csum(hdr + payload)
    return hdr[:2] + struct.pack("!H", c) + hdr[4:] + payload


def parse(frame):
    """A dict of the fields the tests look at, or None for a runt."""
    if len(frame) < 14:
        return None
    d = {"dst": mac_str(frame[0:6]), "src": mac_str(frame[6:12]),
         "type": struct.unpack("!H", frame[12:14])[0]}
    p = frame[14:]
    if d["type"] == ETH_P_ARP and len(p) >= 28:
        op, sha, sip, tha, tip = struct.unpack("!6xH6s4s6s4s", p[:28])
        d.update(op=op, sha=mac_str(sha), sip=socket.inet_ntoa(sip), tha=mac_str(tha), tip=socket.inet_ntoa(tip))
    elif d["type"] == ETH_P_IP and len(p) >= 20:
        ihl = (p[0] & 15) * 4
        d.update(proto=p[9], saddr=socket.inet_ntoa(p[12:16]), daddr=socket.inet_ntoa(p[16:20]))
        t = p[ihl:]
        if d["proto"] == 6 and len(t) >= 20:
            sport, dport, seq, ack, _, fl = struct.unpack("!HHIIBB", t[:14])
            d.update(sport=sport, dport=dport, seq=seq, ack=ack,
                     flags="".join(c for c, b in TCP_FLAGS.items() if fl & b))
        elif d["proto"] == 1 and len(t) >= 8:
            d.update(icmp_type=t[0], icmp_code=t[1], icmp_rest=t[4:8])
    elif d["type"] == ETH_P_IPV6 and len(p) >= 40:
        d.update(nh=p[6], hlim=p[7], saddr=socket.inet_ntop(socket.AF_INET6, p[8:24]),
                 daddr=socket.inet_ntop(socket.AF_INET6, p[24:40]))
        t = p[40:]
        if d["nh"] == 58 and len(t) >= 8:
            d.update(icmp6_type=t[0], icmp6_code=t[1], icmp_rest=t[4:8])
            if t[0] in (135, 136) and len(t) >= 24:
                d.update(target=socket.inet_ntop(socket.AF_INET6, t[8:24]))
    return d


class Link:
    """An AF_PACKET socket on dev: send() frames out to sockfsd, recv()
    the frames sockfsd sends (the kernel's own transmissions skipped)."""

    def __init__(self, dev):
        self.dev = dev
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((dev, 0))
        # (ifname, proto, pkttype, hatype, hwaddr): the device's MAC. Not
        # /sys/class/net, which shows another namespace's devices.
        self.mac = self.sock.getsockname()[4].ljust(6, b"\0")[:6]

    def send(self, frame):
        self.sock.send(frame)

    def recv(self, deadline):
        """The next frame from sockfsd, or None at the deadline."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            frame, addr = self.sock.recvfrom(65536)
            if addr[2] != PACKET_OUTGOING:
                return frame

    def expect(self, pred, timeout, n=1):
        """Up to n parsed frames matching pred, in arrival order, within
        timeout seconds."""
        got, deadline = [], time.monotonic() + timeout
        while len(got) < n:
            f = self.recv(deadline)
            if f is None:
                break
            d = parse(f)
            if d is not None and pred(d):
                got.append(d)
        return got

    def resolve(self, ip, my_ip, timeout=5):
        """The MAC of ip, asked with an ARP request from my_ip (a
        neighbour solicitation when ip is IPv6)."""
        if ":" in ip:
            dst, pkt = ns6(my_ip, ip, self.mac)
            self.send(ether(mcast_mac(dst), self.mac, ETH_P_IPV6, pkt))
            r = self.expect(lambda d: d.get("icmp6_type") == 136 and d.get("target") == ip, timeout)
            if not r:
                raise SystemExit("frames.py: no neighbour advertisement from %s" % ip)
            return mac_bytes(r[0]["src"])
        bcast = b"\xff" * 6
        self.send(ether(bcast, self.mac, ETH_P_ARP, arp(1, self.mac, my_ip, b"\0" * 6, ip)))
        r = self.expect(lambda d: d.get("op") == 2 and d.get("sip") == ip, timeout)
        if not r:
            raise SystemExit("frames.py: no ARP reply from %s" % ip)
        return mac_bytes(r[0]["sha"])


def addrport(s):
    a, p = s.rsplit(":", 1)
    return a, int(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dev")
    ap.add_argument("stack_ip")
    ap.add_argument("--timeout", type=float, default=5, help="seconds to wait for answers")
    ap.add_argument("--arp-from", default="198.18.0.1",
                    help="the kernel's address on DEV, sender of the ARP request that finds the stack's MAC")
    sub = ap.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("tcp", help="send TCP segments; print the first --replies answers to --src")
    t.add_argument("--src", required=True, type=addrport)
    t.add_argument("--dst", required=True, type=addrport)
    t.add_argument("--seg", action="append", required=True,
                   help="FLAGS:SEQ[:ACK], e.g. SF:1000; repeat for several, sent in order")
    t.add_argument("--count", type=int, default=1, help="send the segments this many times (bounded)")
    t.add_argument("--random-src", metavar="CIDR",
                   help="each round from a random address in CIDR and a random port (spoofed flood)")
    t.add_argument("--replies", type=int, default=0)

    p = sub.add_parser("ping", help="send one echo request; print the first ICMP answer")
    p.add_argument("--src", required=True)
    p.add_argument("--ip-options", default="", help="hex bytes, padded to 4")

    e = sub.add_parser("echo6", help="send one ICMPv6 echo request to STACK_IP; print the first answer")
    e.add_argument("--src", required=True)
    e.add_argument("--dest-opts", type=int, default=0, metavar="N",
                   help="behind a chain of N destination options headers (bounded at 1000)")
    e.add_argument("--opts", type=int, default=1, help="options in each destination options header")

    n = sub.add_parser("ns6", help="send neighbour solicitations for STACK_IP; print how many NAs came back")
    n.add_argument("--src", required=True, help="the solicitor's address, or a /64 prefix with --count > 1")
    n.add_argument("--mac", required=True, help="its link address (the last 3 bytes vary with --count)")
    n.add_argument("--count", type=int, default=1, help="that many sources (bounded at 10000)")
    n.add_argument("--probe", action="store_true",
                   help="then wait for a unicast NS re-checking the (one) solicitor: print probed or none")

    r = sub.add_parser("ra6", help="send a router advertisement to all nodes")
    r.add_argument("--src", required=True, help="the router's link-local address")
    r.add_argument("--mac", required=True)
    r.add_argument("--prefix", required=True, help="the /64 it offers")

    a = sub.add_parser("arp", help="send an ARP frame, then a marker request; wait for the marker's reply")
    a.add_argument("--op", choices=["request", "reply"], required=True)
    a.add_argument("--sha", required=True)
    a.add_argument("--sip", required=True)
    a.add_argument("--tip", required=True)
    a.add_argument("--marker-ip", required=True, help="sender address of the marker request")

    args = ap.parse_args()
    if args.cmd == "tcp" and not 1 <= args.count <= 100000:
        raise SystemExit("frames.py: --count must be 1..100000")
    if args.cmd == "ns6" and not 1 <= args.count <= 10000 or args.cmd == "echo6" and not 0 <= args.dest_opts <= 1000:
        raise SystemExit("frames.py: --count must be 1..10000, --dest-opts 0..1000")
    link = Link(args.dev)
    # The kernel's own lo (the reference runs) has no ARP and no MAC.
    smac = link.mac if link.mac == b"\0" * 6 else link.resolve(args.stack_ip, args.arp_from, args.timeout)

    if args.cmd == "tcp":
        src, sport = args.src
        dst, dport = args.dst
        segs = []
        for s in args.seg:
            parts = s.split(":")
            segs.append((parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else 0))
        net = ipaddress.ip_network(args.random_src) if args.random_src else None
        rng = random.Random(os.getpid())
        for _ in range(args.count):
            if net is not None:
                src = str(net[rng.randrange(1, net.num_addresses - 1)])
                sport = rng.randrange(1024, 65536)
            for flags, seq, ack in segs:
                seg = tcp(src, dst, sport, dport, seq, ack, flags)
                link.send(ether(smac, link.mac, ETH_P_IP, ipv4(src, dst, 6, seg)))
        if args.replies:
            want = lambda d: d.get("proto") == 6 and d["saddr"] == dst and d["sport"] == dport and d["dport"] == sport
            got = link.expect(want, args.timeout, args.replies)
            for d in got:
                print("tcp flags=%s seq=%d ack=%d" % (d["flags"], d["seq"], d["ack"]))
            if not got:
                print("none")
    elif args.cmd == "ping":
        opts = bytes.fromhex(args.ip_options)
        ident = os.getpid() & 0xFFFF
        link.send(ether(smac, link.mac, ETH_P_IP, ipv4(args.src, args.stack_ip, 1, icmp_echo(ident, 1), options=opts)))
        got = link.expect(lambda d: d.get("proto") == 1 and d["saddr"] == args.stack_ip and
                          d.get("icmp_type", 8) != 8, args.timeout)
        for d in got:
            ptr = " pointer=%d" % d["icmp_rest"][0] if d["icmp_type"] == 12 else ""
            print("icmp type=%d code=%d%s" % (d["icmp_type"], d["icmp_code"], ptr))
        if not got:
            print("none")
    elif args.cmd == "echo6":
        ident = os.getpid() & 0xFFFF
        msg = icmp6(args.src, args.stack_ip, 128, 0, struct.pack("!HH", ident, 1) + b"frames.py")
        nh = 58
        for _ in range(args.dest_opts):
            msg = dest_opts(nh, args.opts) + msg
            nh = 60
        link.send(ether(smac, link.mac, ETH_P_IPV6, ipv6(args.src, args.stack_ip, nh, msg)))
        got = link.expect(lambda d: d.get("saddr") == args.stack_ip and d.get("icmp6_type") in (1, 2, 3, 4, 129),
                          args.timeout)
        for d in got:
            print("icmp6 type=%d code=%d" % (d["icmp6_type"], d["icmp6_code"]))
        if not got:
            print("none")
    elif args.cmd == "ns6":
        mac = mac_bytes(args.mac)
        prefix = socket.inet_pton(socket.AF_INET6, args.src)
        # Room for every answer while the flood goes out: no copies of
        # our own frames (PACKET_IGNORE_OUTGOING), a large buffer.
        link.sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        link.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
        for i in range(args.count):
            src = args.src
            if args.count > 1:
                src = socket.inet_ntop(socket.AF_INET6, prefix[:8] + struct.pack("!4xI", 0x10000 + i))
            m = mac if args.count == 1 else mac[:3] + struct.pack("!I", i)[1:]
            dst, pkt = ns6(src, args.stack_ip, m)
            link.send(ether(mcast_mac(dst), m, ETH_P_IPV6, pkt))
        got = link.expect(lambda d: d.get("icmp6_type") == 136 and d.get("target") == args.stack_ip,
                          args.timeout, args.count)
        print("%d advertisements" % len(got))
        if args.probe:
            got = link.expect(lambda d: d.get("icmp6_type") == 135 and d.get("target") == src and
                              d["daddr"] == src, args.timeout)
            print("probed" if got else "none")
    elif args.cmd == "ra6":
        mac = mac_bytes(args.mac)
        dst, pkt = ra6(args.src, mac, args.prefix)
        link.send(ether(mcast_mac(dst), mac, ETH_P_IPV6, pkt))
        print("sent")
    elif args.cmd == "arp":
        op = 1 if args.op == "request" else 2
        sha = mac_bytes(args.sha)
        tha = smac if op == 2 else b"\0" * 6
        dst = smac if op == 2 else b"\xff" * 6
        link.send(ether(dst, sha, ETH_P_ARP, arp(op, sha, args.sip, tha, args.tip)))
        # The stack handles frames in order: the marker's reply means the
        # frame before it has been processed.
        link.send(ether(b"\xff" * 6, link.mac, ETH_P_ARP, arp(1, link.mac, args.marker_ip, b"\0" * 6, args.stack_ip)))
        got = link.expect(lambda d: d.get("op") == 2 and d.get("tip") == args.marker_ip, args.timeout)
        print("marker answered" if got else "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
