"""The lab client: N HTTP requests, each on a fresh TCP connection, counting which node answered.

Run inside the client namespace as `python -m bgplb.lab.client IP PORT COUNT`. Every request opens a new
connection, so the kernel picks a new source port and the router's L4 multipath hash
(`fib_multipath_hash_policy=1`) can send it to another next hop. Each request is bounded by a 1 s timeout
and the whole run by COUNT seconds; the result is one JSON line `{"answers": {node: n}, "errors": [...]}`.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections import Counter

TIMEOUT = 1.0


def request(address: str, port: int) -> str:
    """One GET / on a new connection; the body (the node's name)."""
    with socket.create_connection((address, port), timeout=TIMEOUT) as sock:
        sock.sendall(f"GET / HTTP/1.0\r\nHost: {address}\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.0 200") and not head.startswith(b"HTTP/1.1 200"):
        raise OSError(f"unexpected answer {head[:40]!r}")
    return body.decode().strip()


def spread(address: str, port: int, count: int) -> dict[str, object]:
    """Send `count` requests (bounded by `count` seconds overall) and tally the answers."""
    answers: Counter[str] = Counter()
    errors: list[str] = []
    deadline = time.monotonic() + max(count * TIMEOUT, 2.0)
    for _ in range(count):
        if time.monotonic() > deadline:
            errors.append("overall deadline reached")
            break
        try:
            answers[request(address, port)] += 1
        except OSError as exc:
            errors.append(str(exc) or type(exc).__name__)
    return {"answers": dict(answers), "errors": errors}


if __name__ == "__main__":
    print(json.dumps(spread(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
