"""A minimal BGP receiver written straight from RFC 4271, independent of bgplb's codec.

It accepts one connection, answers the OPEN with its own OPEN (4-octet AS, IPv4 and IPv6 unicast) and a
KEEPALIVE, counts IPv4 NLRI and withdrawn prefixes per UPDATE, and stamps each message with
`loop.time()` on arrival. `keepalives=False` makes it go silent after the handshake (a frozen peer).
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address

MARKER = b"\xff" * 16
OPEN, UPDATE, NOTIFICATION, KEEPALIVE = 1, 2, 3, 4


def frame(kind: int, body: bytes) -> bytes:
    """A BGP message: marker, length, type, body."""
    return MARKER + struct.pack("!HB", 19 + len(body), kind) + body


def open_message(asn: int, hold: int, bgp_id: IPv4Address) -> bytes:
    """An OPEN with capabilities MP IPv4/IPv6 unicast, route refresh and 4-octet AS."""
    caps = bytes([1, 4, 0, 1, 0, 1]) + bytes([1, 4, 0, 2, 0, 1]) + bytes([2, 0])
    caps += bytes([65, 4]) + struct.pack("!I", asn)
    params = bytes([2, len(caps)]) + caps
    two_octet = asn if asn <= 0xFFFF else 23456
    return frame(OPEN, struct.pack("!BHH4sB", 4, two_octet, hold, bgp_id.packed, len(params)) + params)


def count_prefixes(data: bytes) -> int:
    """Prefixes in an RFC 4271 NLRI / withdrawn-routes field."""
    count = pos = 0
    while pos < len(data):
        pos += 1 + (data[pos] + 7) // 8
        count += 1
    return count


@dataclass
class Received:
    """One message as received: type, arrival time, announced and withdrawn IPv4 prefix counts."""

    kind: int
    at: float
    announced: int = 0
    withdrawn: int = 0
    body: bytes = b""


@dataclass
class CountingReceiver:
    """Serve one BGP connection on `reader`/`writer`; see the module docstring."""

    asn: int
    bgp_id: IPv4Address
    hold: int = 90
    keepalives: bool = True
    gate: asyncio.Event | None = None
    """If given, the OPEN is answered only once it is set (to line up a connection collision)."""
    keepalive_delay: float = 0.0
    """Seconds between our OPEN and our first KEEPALIVE (0: in the same segment)."""
    messages: list[Received] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    @property
    def announced(self) -> int:
        return sum(m.announced for m in self.messages)

    @property
    def updates(self) -> list[Received]:
        return [m for m in self.messages if m.kind == UPDATE]

    def of_kind(self, kind: int) -> list[Received]:
        return [m for m in self.messages if m.kind == kind]

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                header = await reader.readexactly(19)
                length, kind = struct.unpack("!HB", header[16:])
                body = await reader.readexactly(length - 19)
                received = Received(kind, loop.time(), body=body)
                if kind == UPDATE:
                    (wlen,) = struct.unpack_from("!H", body)
                    (alen,) = struct.unpack_from("!H", body, 2 + wlen)
                    received.withdrawn = count_prefixes(body[2 : 2 + wlen])
                    received.announced = count_prefixes(body[4 + wlen + alen :])
                self.messages.append(received)
                self.changed.set()
                if kind == OPEN:
                    if self.gate is not None:
                        await self.gate.wait()
                    writer.write(open_message(self.asn, self.hold, self.bgp_id))
                    if self.keepalive_delay:
                        await asyncio.sleep(self.keepalive_delay)
                    writer.write(frame(KEEPALIVE, b""))
                elif kind == KEEPALIVE and self.keepalives:
                    writer.write(frame(KEEPALIVE, b""))
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed = True
            self.changed.set()
        finally:
            writer.close()

    async def wait(self, condition: object, timeout: float) -> None:
        """Wait (bounded) until `condition()` holds, re-checking on every message."""
        assert callable(condition)
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                await self.changed.wait()
