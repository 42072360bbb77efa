#!/usr/bin/env python3
"""A minimal transparent TCP proxy for the IPv6 network-namespace tests.

haproxy 2.6 only asks the kernel for the pre-NAT destination of IPv4 connections, so for IPv6
this stands in for the sidecar: it accepts connections that iptables REDIRECTed to its outbound
and inbound ports, reads the original destination with getsockopt(SO_ORIGINAL_DST) — level
SOL_IPV6 / IP6T_SO_ORIGINAL_DST (80) for IPv6, SOL_IP / SO_ORIGINAL_DST (80) for IPv4 — and
forwards there. Inbound connections are re-originated from the inbound source address (::6),
the address pillion-init's rules recognise as "the proxy delivering to the app".

Every accepted connection is logged to stdout as one JSON line *before* forwarding, so a test can
prove a connection went through the proxy and with which original destination:
  {"listener": "outbound"|"inbound", "client_addr", "client_port", "orig_addr", "orig_port"}
Diagnostics go to stderr. Concurrency is capped so a capture loop shows up as a bounded run of
log lines instead of exhausting the machine.

Usage: original_dst_proxy.py [--family 6|4|both] [--outbound-port 15001] [--inbound-port 15006]
                             [--inbound-source ::6]
("both": the stand-in for a dual-stack Envoy in the real-node suite, an IPv4 and an IPv6 listener
on each port, inbound re-originated from 127.0.0.6 or ::6 by family; --inbound-source is then
not allowed.)
"""
import argparse
import json
import socket
import struct
import sys
import threading

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h; IP6T_SO_ORIGINAL_DST has the same value
MAX_CONNECTIONS = 64
slots = threading.BoundedSemaphore(MAX_CONNECTIONS)


def original_destination(conn, family):
    if family == socket.AF_INET6:
        # struct sockaddr_in6: family, port (network order), flowinfo, 16-byte address, scope id
        raw = conn.getsockopt(socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
        port = struct.unpack("!H", raw[2:4])[0]
        return socket.inet_ntop(socket.AF_INET6, raw[8:24]), port
    raw = conn.getsockopt(socket.IPPROTO_IP, SO_ORIGINAL_DST, 16)
    port = struct.unpack("!H", raw[2:4])[0]
    return socket.inet_ntop(socket.AF_INET, raw[4:8]), port


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def handle(conn, client, listener, family, source):
    try:
        orig = original_destination(conn, family)
        print(json.dumps({
            "listener": listener,
            "client_addr": client[0],
            "client_port": client[1],
            "orig_addr": orig[0],
            "orig_port": orig[1],
        }), flush=True)
        upstream = socket.socket(family, socket.SOCK_STREAM)
        upstream.settimeout(3)
        if source is not None:
            upstream.bind((source, 0))
        upstream.connect(orig)
        upstream.settimeout(None)
        back = threading.Thread(target=pipe, args=(upstream, conn), daemon=True)
        back.start()
        pipe(conn, upstream)
        back.join(10)
        upstream.close()
    except OSError as err:
        print(f"original_dst_proxy: {listener} {client}: {err}", file=sys.stderr, flush=True)
    finally:
        conn.close()
        slots.release()


def accept_loop(listen_sock, listener, family, source):
    while True:
        conn, client = listen_sock.accept()
        if not slots.acquire(blocking=False):
            print(f"original_dst_proxy: over {MAX_CONNECTIONS} connections, refusing", file=sys.stderr, flush=True)
            conn.close()
            continue
        threading.Thread(target=handle, args=(conn, client, listener, family, source), daemon=True).start()


def listen(family, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind(("::", port))
    else:
        s.bind(("0.0.0.0", port))
    s.listen(128)
    return s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--family", choices=["4", "6", "both"], default="6")
    parser.add_argument("--outbound-port", type=int, default=15001)
    parser.add_argument("--inbound-port", type=int, default=15006)
    parser.add_argument("--inbound-source", default=None)
    args = parser.parse_args()
    if args.family == "both" and args.inbound_source is not None:
        parser.error("--inbound-source needs a single --family")
    families = {"4": [socket.AF_INET], "6": [socket.AF_INET6], "both": [socket.AF_INET, socket.AF_INET6]}[args.family]
    for family in families:
        source = args.inbound_source or ("::6" if family == socket.AF_INET6 else "127.0.0.6")
        outbound = listen(family, args.outbound_port)
        inbound = listen(family, args.inbound_port)
        threading.Thread(target=accept_loop, args=(inbound, "inbound", family, source), daemon=True).start()
        threading.Thread(target=accept_loop, args=(outbound, "outbound", family, None), daemon=True).start()
    print("READY", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
