#!/usr/bin/env python3
"""One TCP connection or one UDP query, reported as a JSON line on stdout.

Usage: net_client.py tcp|udp HOST PORT [--timeout SECONDS]
Output: {"ok": true, "local_addr", "local_port", "reply": <the server's JSON line>}
     or {"ok": false, "local_addr", "local_port", "error": "..."}
The local address/port is what getsockname() shows before NAT; the tests compare it with the
peer address the server saw to tell a direct connection from one the proxy re-originated.
Exit status is 0 whenever a result was printed (a refused connection is a result), 2 on bad usage.
"""
import argparse
import json
import socket
import sys


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def run_tcp(host, port, timeout):
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.settimeout(timeout)
    result = {"ok": False, "local_addr": None, "local_port": None}
    try:
        s.connect((host, port))
        result["local_addr"], result["local_port"] = s.getsockname()[:2]
        chunks = []
        while True:
            data = s.recv(4096)
            if not data:
                break
            chunks.append(data)
        text = b"".join(chunks).decode()
        if text.strip() == "":
            result["error"] = "connection closed without a reply"
        else:
            result["reply"] = json.loads(text)
            result["ok"] = True
    except (OSError, ValueError) as err:
        if result["local_addr"] is None:
            try:
                result["local_addr"], result["local_port"] = s.getsockname()[:2]
            except OSError:
                pass
        result["error"] = f"{type(err).__name__}: {err}"
    finally:
        s.close()
    return result


def run_udp(host, port, timeout):
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.settimeout(timeout)
    result = {"ok": False, "local_addr": None, "local_port": None}
    try:
        # connect() makes the kernel drop datagrams from any other source, so a reply
        # proves it came (after reverse NAT) from the address we queried.
        s.connect((host, port))
        result["local_addr"], result["local_port"] = s.getsockname()[:2]
        s.send(b"query")
        result["reply"] = json.loads(s.recv(4096).decode())
        result["ok"] = True
    except (OSError, ValueError) as err:
        result["error"] = f"{type(err).__name__}: {err}"
    finally:
        s.close()
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("proto", choices=["tcp", "udp"])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()
    run = run_tcp if args.proto == "tcp" else run_udp
    print(json.dumps(run(args.host, args.port, args.timeout)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
