#!/usr/bin/env python3
"""tcp_peers.py — the two ends of e2e.sh's request/response and connection
benchmarks, written once so that the sockfs figure and the kernel-to-kernel
figure are measured by the same program.

    rr-client HOST PORT N          N 1-byte ping-pongs on one connection;
                                   prints round trips per second
    rr-server HOST PORT            kernel echo server for one connection
    rr-sockfs MNT LISTENER         the same echo server, on sockfs: accepts
                                   through MNT/LISTENER/accept and echoes
                                   through MNT/INO/data
    conn-client HOST PORT N        N connections one after another, each
                                   waiting for the server's FIN; prints
                                   connections per second
    conn-server HOST PORT N        kernel accept loop closing each connection
    conn-sockfs MNT LISTENER N     the same loop on sockfs: read an INO from
                                   accept, write "close" to its ctl

Every blocking call is bounded: sockets by a timeout, and e2e.sh runs each
peer under timeout(1) as well.
"""
import os
import socket
import sys
import time

TIMEOUT = 20.0


def listener(host, port):
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((host, port))
    l.listen(128)
    l.settimeout(TIMEOUT)
    return l


def rr_client(host, port, n):
    c = socket.create_connection((host, port), timeout=TIMEOUT)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    b = b"x"
    # one warm-up exchange so the clock does not include ARP or slow start
    c.sendall(b)
    if c.recv(1) != b:
        sys.exit("rr-client: echo mismatch")
    t0 = time.perf_counter()
    for _ in range(n):
        c.sendall(b)
        if c.recv(1) != b:
            sys.exit("rr-client: echo mismatch")
    dt = time.perf_counter() - t0
    c.close()
    print("%.0f" % (n / dt))


def rr_server(host, port):
    l = listener(host, port)
    c, _ = l.accept()
    c.settimeout(TIMEOUT)
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.close()


def read_ino(fd):
    line = b""
    while not line.endswith(b"\n"):
        b = os.read(fd, 64)
        if not b:
            sys.exit("accept: unexpected EOF")
        line += b
    return line.decode().strip()


def rr_sockfs(mnt, ls):
    afd = os.open(os.path.join(mnt, ls, "accept"), os.O_RDONLY)
    ino = read_ino(afd)
    os.close(afd)
    fd = os.open(os.path.join(mnt, ino, "data"), os.O_RDWR)
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        while b:
            b = b[os.write(fd, b):]
    os.close(fd)
    ctl(mnt, ino, "close")


def ctl(mnt, ino, cmd):
    fd = os.open(os.path.join(mnt, ino, "ctl"), os.O_WRONLY)
    try:
        os.write(fd, cmd.encode())
    finally:
        os.close(fd)


def conn_client(host, port, n):
    t0 = time.perf_counter()
    for i in range(n):
        c = socket.create_connection((host, port), timeout=TIMEOUT)
        # the server closes at once: its FIN ends this connection
        if c.recv(1) != b"":
            sys.exit("conn-client: data where a FIN was expected")
        c.close()
    dt = time.perf_counter() - t0
    print("%.0f" % (n / dt))


def conn_server(host, port, n):
    l = listener(host, port)
    for _ in range(n):
        c, _ = l.accept()
        c.close()
    l.close()


def conn_sockfs(mnt, ls, n):
    afd = os.open(os.path.join(mnt, ls, "accept"), os.O_RDONLY)
    pending = b""
    done = 0
    while done < n:
        b = os.read(afd, 64)
        if not b:
            sys.exit("accept: unexpected EOF")
        pending += b
        while b"\n" in pending and done < n:
            ino, pending = pending.split(b"\n", 1)
            ctl(mnt, ino.decode(), "close")
            done += 1
    os.close(afd)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "rr-client":
        rr_client(args[0], int(args[1]), int(args[2]))
    elif cmd == "rr-server":
        rr_server(args[0], int(args[1]))
    elif cmd == "rr-sockfs":
        rr_sockfs(args[0], args[1])
    elif cmd == "conn-client":
        conn_client(args[0], int(args[1]), int(args[2]))
    elif cmd == "conn-server":
        conn_server(args[0], int(args[1]), int(args[2]))
    elif cmd == "conn-sockfs":
        conn_sockfs(args[0], args[1], int(args[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
