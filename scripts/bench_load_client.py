#!/usr/bin/env python3
"""Clients for scripts/bench-load.sh that wrk cannot be: one that chooses its source
address (a second caller on loopback), and one that holds many idle connections.

  bench_load_client.py rate --url http://127.0.0.1:PORT/PATH --source 127.0.0.2
                            [--duration S] [--connections N] [--token]
      GETs PATH over N keep-alive connections from SOURCE for S seconds (with an IMDSv2
      token obtained from the same source first when --token) and prints
      "rate REQ_PER_S ok OK errors ERR".
  bench_load_client.py idle --url http://127.0.0.1:PORT/PATH --count N --hold S
      Opens N connections, each answers one GET (so the server accepted and served it),
      then keeps them open and silent for S seconds; prints "idle OPEN served SERVED"
      once all are open, then waits, so the caller can probe the server meanwhile.
"""

import argparse
import socket
import sys
import threading
import time
import urllib.parse


def parse_url(url):
    parts = urllib.parse.urlsplit(url)
    return parts.hostname, parts.port, parts.path or "/"


def read_response(sock, buffer):
    """Reads one HTTP/1.1 response (Content-Length framed); returns (status, body, rest)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    return status, rest[:length], rest[length:]


def connect(host, port, source):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if source:
        sock.bind((source, 0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.connect((host, port))
    return sock


def get_token(host, port, source):
    sock = connect(host, port, source)
    request = (
        f"PUT /latest/api/token HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "X-aws-ec2-metadata-token-ttl-seconds: 21600\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    sock.sendall(request)
    status, body, _ = read_response(sock, b"")
    sock.close()
    if status != 200:
        sys.exit(f"token request answered {status}")
    return body.decode()


def rate(args):
    host, port, path = parse_url(args.url)
    header = ""
    if args.token:
        header = f"X-aws-ec2-metadata-token: {get_token(host, port, args.source)}\r\n"
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{header}\r\n".encode()
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + args.duration

    def worker():
        ok = errors = 0
        sock, buffer = None, b""
        while time.monotonic() < deadline:
            try:
                if sock is None:
                    sock, buffer = connect(host, port, args.source), b""
                sock.sendall(request)
                status, _, buffer = read_response(sock, buffer)
                if status == 200:
                    ok += 1
                else:
                    errors += 1
            except OSError:
                errors += 1
                if sock is not None:
                    sock.close()
                sock = None
        with lock:
            counts["ok"] += ok
            counts["errors"] += errors

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    print(f"rate {counts['ok'] / elapsed:.1f} ok {counts['ok']} errors {counts['errors']}", flush=True)


def idle(args):
    host, port, path = parse_url(args.url)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    socks, served = [], 0
    for _ in range(args.count):
        try:
            sock = connect(host, port, None)
            sock.settimeout(60)
            sock.sendall(request)
            status, _, _ = read_response(sock, b"")
            served += status == 200
            socks.append(sock)
        except OSError as err:
            print(f"idle: connection {len(socks) + 1} failed: {err}", file=sys.stderr, flush=True)
            break
    print(f"idle {len(socks)} served {served}", flush=True)
    time.sleep(args.hold)
    for sock in socks:
        sock.close()


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("rate")
    r.add_argument("--url", required=True)
    r.add_argument("--source")
    r.add_argument("--duration", type=float, default=5)
    r.add_argument("--connections", type=int, default=4)
    r.add_argument("--token", action="store_true")
    i = sub.add_parser("idle")
    i.add_argument("--url", required=True)
    i.add_argument("--count", type=int, default=1100)
    i.add_argument("--hold", type=float, default=20)
    args = parser.parse_args()
    rate(args) if args.mode == "rate" else idle(args)


if __name__ == "__main__":
    main()
