"""A minimal BGP receiver that only counts: one session, OPEN/KEEPALIVE, NLRI counted as fast as possible.

Used by bench/bgp_announce.py as the "counting receiver" target: it dials the sender (or accepts one
connection), completes the OPEN exchange, then counts the IPv4 NLRI and MP_REACH NLRI of every UPDATE until
`--expect` prefixes have arrived, recording monotonic timestamps of Established, the first UPDATE and the
moment the last expected prefix arrived. Established is the moment it sends its KEEPALIVE, which it does
only after reading the sender's OPEN: the sender cannot be Established earlier (RFC 4271 §8.2.2, it waits
for that KEEPALIVE in OpenConfirm), so no UPDATE can be timed from a later instant. It then sends a
NOTIFICATION (Cease / Administrative Shutdown), writes a JSON result and exits. It never installs anything.

    python bench/bgp_receiver.py --connect 10.0.0.2 --asn 64500 --router-id 10.0.0.1 --expect 100000 \
        --result out.json
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import struct
import sys
import time
from pathlib import Path

MARKER = b"\xff" * 16
OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE_REFRESH = 1, 2, 3, 4, 5
MP_REACH, MP_UNREACH = 14, 15
AS_TRANS = 23456
KEEPALIVE_EVERY = 20.0


def _message(kind: int, body: bytes = b"") -> bytes:
    return MARKER + struct.pack("!HB", 19 + len(body), kind) + body


def open_message(asn: int, router_id: str, hold_time: int) -> bytes:
    """OPEN with capabilities: multiprotocol IPv4 and IPv6 unicast, route refresh, 4-octet AS."""
    caps = b"".join(
        [
            bytes([1, 4, 0, 1, 0, 1]),
            bytes([1, 4, 0, 2, 0, 1]),
            bytes([2, 0]),
            bytes([65, 4]) + struct.pack("!I", asn),
        ]
    )
    params = bytes([2, len(caps)]) + caps
    my_as = asn if asn <= 0xFFFF else AS_TRANS
    body = struct.pack("!BHH4sB", 4, my_as, hold_time, socket.inet_aton(router_id), len(params)) + params
    return _message(OPEN, body)


def count_nlri(data: memoryview, start: int, end: int) -> int:
    """Number of prefixes in an NLRI field (length octet + ceil(length / 8) octets each)."""
    count = 0
    i = start
    while i < end:
        i += 1 + (data[i] + 7) // 8
        count += 1
    return count


def count_update(body: memoryview) -> int:
    """Prefixes announced by one UPDATE body: IPv4 NLRI plus MP_REACH_NLRI (RFC 4760) NLRI."""
    withdrawn = int.from_bytes(body[0:2], "big")
    attrs_start = 2 + withdrawn + 2
    attrs_len = int.from_bytes(body[2 + withdrawn : attrs_start], "big")
    attrs_end = attrs_start + attrs_len
    total = count_nlri(body, attrs_end, len(body))
    i = attrs_start
    while i < attrs_end:
        flags, code = body[i], body[i + 1]
        if flags & 0x10:
            length = int.from_bytes(body[i + 2 : i + 4], "big")
            value = i + 4
        else:
            length = body[i + 2]
            value = i + 3
        if code == MP_REACH:
            nh_len = body[value + 3]
            nlri_start = value + 4 + nh_len + 1  # AFI(2) SAFI(1) NH-len(1) NH, reserved(1)
            total += count_nlri(body, nlri_start, value + length)
        i = value + length
    return total


class Counter:
    """The receiving side of one session: parse framed messages, count, timestamp."""

    def __init__(self, expect: int) -> None:
        self.expect = expect
        self.buffer = bytearray()
        self.established: float | None = None
        self.first_update: float | None = None
        self.all_received: float | None = None
        self.prefixes = 0
        self.updates = 0
        self.update_bytes = 0
        self.updates_at_all = 0
        self.bytes_at_all = 0
        self.peer_asn: int | None = None
        self.open_seen = False
        self.error: str | None = None

    def feed(self, chunk: bytes, now: float) -> None:
        """Consume bytes from the socket; updates counters and timestamps."""
        self.buffer += chunk
        view = memoryview(self.buffer)
        pos = 0
        try:
            while len(view) - pos >= 19:
                length = int.from_bytes(view[pos + 16 : pos + 18], "big")
                if length < 19:
                    self.error = f"bad message length {length}"
                    return
                if len(view) - pos < length:
                    break
                self._message(view[pos + 18], view[pos + 19 : pos + length], length, now)
                pos += length
        finally:
            view.release()
        del self.buffer[:pos]

    def _message(self, kind: int, body: memoryview, length: int, now: float) -> None:
        if kind == UPDATE:
            if self.first_update is None:
                self.first_update = now
            self.updates += 1
            self.update_bytes += length
            self.prefixes += count_update(body)
            if self.all_received is None and self.prefixes >= self.expect:
                self.all_received = now
                self.updates_at_all = self.updates
                self.bytes_at_all = self.update_bytes
        elif kind == OPEN:
            self.open_seen = True
            self.peer_asn = int.from_bytes(body[1:3], "big")
        elif kind == NOTIFICATION:
            self.error = f"NOTIFICATION {body[0]}/{body[1]} from the sender"

    def result(self) -> dict[str, object]:
        """The JSON-able summary; durations are seconds after Established."""

        def since(t: float | None) -> float | None:
            return None if t is None or self.established is None else round(t - self.established, 6)

        return {
            "expect": self.expect,
            "prefixes": self.prefixes,
            "est_to_first_update": since(self.first_update),
            "est_to_all": since(self.all_received),
            "updates": self.updates_at_all or self.updates,
            "update_bytes": self.bytes_at_all or self.update_bytes,
            "peer_asn": self.peer_asn,
            "error": self.error,
        }


def _endpoint(text: str) -> tuple[str, int]:
    """`ADDR`, `ADDR:PORT` or `[V6ADDR]:PORT` -> (address, port)."""
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    ipaddress.ip_address(host)
    return host, int(port or 179)


def _connect(args: argparse.Namespace, deadline: float) -> socket.socket:
    if args.listen:
        host, port = _endpoint(args.listen)
        server = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(1)
        server.settimeout(max(deadline - time.monotonic(), 0.1))
        conn, _ = server.accept()
        server.close()
        return conn
    host, port = _endpoint(args.connect)
    last: OSError | None = None
    while time.monotonic() < deadline:
        try:
            return socket.create_connection((host, port), timeout=2)
        except OSError as exc:  # the sender is not listening yet
            last = exc
            time.sleep(0.05)
    raise TimeoutError(f"could not connect to {host}:{port}: {last}")


def session(args: argparse.Namespace, deadline: float) -> Counter:
    """One session: OPEN exchange, then count until all N prefixes arrived, an error, or the deadline."""
    counter = Counter(args.expect)
    sock = _connect(args, deadline)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.sendall(open_message(args.asn, args.router_id, args.hold_time))
    sock.settimeout(0.5)
    last_keepalive = time.monotonic()
    try:
        while counter.all_received is None and counter.error is None:
            now = time.monotonic()
            if now > deadline:
                counter.error = f"timeout after {args.timeout}s"
                break
            if now - last_keepalive > KEEPALIVE_EVERY:
                sock.sendall(_message(KEEPALIVE))
                last_keepalive = now
            try:
                chunk = sock.recv(1 << 20)
            except TimeoutError:
                continue
            if not chunk:
                counter.error = counter.error or "connection closed by the sender"
                break
            counter.feed(chunk, time.monotonic())
            if counter.established is None:
                if counter.open_seen:  # OpenSent -> OpenConfirm: our KEEPALIVE lets the sender in
                    counter.established = time.monotonic()
                    sock.sendall(_message(KEEPALIVE))
                    last_keepalive = counter.established
            elif args.nudge:
                sock.sendall(_message(KEEPALIVE))  # wakes senders that wait for input between bursts
        if counter.all_received is not None:
            cease = bytes([6, 2])  # Cease / Administrative Shutdown (RFC 4486)
            sock.sendall(_message(NOTIFICATION, cease))
    except ConnectionError as exc:
        counter.error = f"{type(exc).__name__}: {exc}"
    finally:
        sock.close()
    return counter


def run(args: argparse.Namespace) -> dict[str, object]:
    """Run sessions until one completes; a sender that closes before Established is dialled again."""
    deadline = time.monotonic() + args.timeout
    while True:
        counter = session(args, deadline)
        if counter.established is not None or time.monotonic() > deadline or args.listen:
            return counter.result()
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--connect", help="dial the sender at ADDR[:PORT]")
    where.add_argument("--listen", help="accept one connection on ADDR[:PORT]")
    parser.add_argument("--asn", type=int, default=64500)
    parser.add_argument("--router-id", default="10.0.0.1")
    parser.add_argument("--hold-time", type=int, default=180)
    parser.add_argument("--expect", type=int, required=True, help="prefixes to wait for")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--nudge", action="store_true", help="answer every received chunk with a KEEPALIVE")
    parser.add_argument("--result", type=Path, help="write the JSON result here (default: stdout)")
    args = parser.parse_args(argv)
    result = run(args)
    text = json.dumps(result)
    if args.result:
        args.result.write_text(text)
    else:
        print(text)
    return 0 if result["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
