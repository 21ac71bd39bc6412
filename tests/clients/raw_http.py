"""Sends one request exactly as given and prints the answer as one JSON line.

Usage: raw_http.py HOST REQUEST
REQUEST is the whole request (request line, headers, blank line), sent byte for byte
(latin-1), so a test can send what no HTTP client would: an over-long request line, a
malformed one, an oversized header. Standard library only (it runs in the client image
on the imds-spoof network, tests/docker_errors.rs). Prints
{"status": N, "reason": "...", "headers": [[name, value], ...], "body": "..."}, or
{"status": 0, ...} when the connection closed without an answer. Exit 0, or 3 on a bug.
"""

import json
import socket
import sys


def main() -> int:
    host, request = sys.argv[1], sys.argv[2]
    with socket.create_connection((host, 80), timeout=10) as sock:
        try:
            sock.sendall(request.encode("latin-1"))
        except OSError:
            pass  # refused before the whole request was read: read the answer anyway
        received = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except OSError:
            pass
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2) if lines and lines[0] else []
    answer = {
        "status": int(status_line[1]) if len(status_line) > 1 else 0,
        "reason": status_line[2] if len(status_line) > 2 else "",
        "headers": [
            [name.strip(), value.strip()]
            for name, _, value in (line.partition(":") for line in lines[1:])
        ],
        "body": body.decode("latin-1"),
    }
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as err:  # noqa: BLE001 - report any bug as exit 3
        print(f"raw_http.py: {err!r}", file=sys.stderr)
        sys.exit(3)
