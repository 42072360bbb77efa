#!/usr/bin/env python3
"""Identifying TCP/UDP responders for the network-namespace tests.

Every listener answers each TCP connection (or UDP datagram) with one JSON line naming the server
and the addresses the kernel showed it: the local address (where the connection landed, after any
NAT) and the peer address (who connected: the app, the peer, or the proxy's 127.0.0.6 / ::6).
Tests tell "went through the proxy" from "went direct" by those addresses, so the reply must be
what the socket saw, never something the client asked for.

Usage: servers.py --name NAME [--tcp PORT]... [--udp PORT]... [--listen-when FILE]
Binds each port on 0.0.0.0 and on :: (IPV6_V6ONLY, so the two families stay apart).
Prints "READY" on stdout once every socket is bound; logs nothing else to stdout.
With --listen-when, TCP connections are refused (bound, not listening: an app still starting)
until FILE exists: it prints "BOUND" first, then "READY" once it listens.
"""
import argparse
import json
import os
import selectors
import socket
import struct
import sys
import time

# Linux values; Python's socket module does not export IP_PKTINFO.
IP_PKTINFO = 8


def describe(sockaddr):
    return sockaddr[0], sockaddr[1]


def reply(name, proto, local, peer):
    local_addr, local_port = describe(local)
    peer_addr, peer_port = describe(peer)
    body = {
        "server": name,
        "proto": proto,
        "local_addr": local_addr,
        "local_port": local_port,
        "peer_addr": peer_addr,
        "peer_port": peer_port,
    }
    return (json.dumps(body) + "\n").encode()


def open_sockets(tcp_ports, udp_ports, listen=True):
    sockets = []
    for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        for proto, ports, kind in (("tcp", tcp_ports, socket.SOCK_STREAM), ("udp", udp_ports, socket.SOCK_DGRAM)):
            for port in ports:
                s = socket.socket(family, kind)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((host, port))
                if proto == "tcp":
                    if listen:
                        s.listen(64)
                elif family == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
                else:
                    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
                s.setblocking(False)
                sockets.append((proto, s))
    return sockets


def serve(name, sockets):
    sel = selectors.DefaultSelector()
    for proto, s in sockets:
        sel.register(s, selectors.EVENT_READ, proto)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if key.data == "tcp":
                try:
                    conn, peer = s.accept()
                except BlockingIOError:
                    continue
                with conn:
                    conn.setblocking(True)
                    conn.settimeout(2)
                    try:
                        conn.sendall(reply(name, "tcp", conn.getsockname(), peer))
                    except OSError as err:
                        print(f"servers.py {name}: send failed: {err}", file=sys.stderr, flush=True)
            else:
                answer_datagram(name, s)


def answer_datagram(name, s):
    """Answer from the address the query was sent to.

    A socket bound to the wildcard would otherwise reply from whatever source address the kernel
    picks (on a link with two addresses, maybe the other one), and a connected client drops
    replies from any address but the one it queried.
    """
    try:
        _, ancdata, _, peer = s.recvmsg(2048, socket.CMSG_SPACE(20))
    except BlockingIOError:
        return
    local = None
    control = []
    for level, kind, data in ancdata:
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
            local = socket.inet_ntop(socket.AF_INET6, data[:16])
            control = [(level, kind, struct.pack("16sI", data[:16], 0))]
        elif level == socket.IPPROTO_IP and kind == IP_PKTINFO:
            local = socket.inet_ntop(socket.AF_INET, data[8:12])
            control = [(level, kind, struct.pack("i4s4s", 0, data[8:12], bytes(4)))]
    if local is None:
        local = s.getsockname()[0]
    s.sendmsg([reply(name, "udp", (local, s.getsockname()[1]), peer)], control, 0, peer)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--tcp", type=int, action="append", default=[])
    parser.add_argument("--udp", type=int, action="append", default=[])
    parser.add_argument("--listen-when")
    args = parser.parse_args()
    sockets = open_sockets(args.tcp, args.udp, listen=args.listen_when is None)
    if args.listen_when is not None:
        print("BOUND", flush=True)
        while not os.path.exists(args.listen_when):
            time.sleep(0.005)
        for proto, s in sockets:
            if proto == "tcp":
                s.listen(64)
    print("READY", flush=True)
    try:
        serve(args.name, sockets)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
