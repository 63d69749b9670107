"""Wire vectors (tests/bgp/vectors/*.json, hand-built from the RFC layouts): decode to the expected fields,
re-encode to the same bytes (or to `reencoded_hex` where our canonical form differs)."""

from __future__ import annotations

import dataclasses
import enum
import json
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path

import pytest

from bgplb.bgp.codec import decode, encode, split_frames
from bgplb.bgp.negotiation import Negotiated

VECTORS = sorted((Path(__file__).parent / "vectors").glob("*.json"))


def as_data(value: object) -> object:
    """A decoded value in the JSON form the vectors use."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {"type": type(value).__name__}
        for f in dataclasses.fields(value):
            if f.name == "errors":
                continue
            out["type_" if f.name == "type" else f.name] = as_data(getattr(value, f.name))
        return out
    if isinstance(value, tuple | list):
        return [as_data(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, IPv4Address | IPv6Address | IPv4Network | IPv6Network):
        return str(value)
    return value


def _context(raw: dict[str, bool] | None) -> Negotiated | None:
    return None if raw is None else Negotiated(**raw)


def test_there_are_vectors_for_every_message_type() -> None:
    kinds = {json.loads(p.read_text())["decoded"]["type"] for p in VECTORS}
    assert kinds == {"Open", "Update", "Keepalive", "Notification", "RouteRefresh"}


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_vector_decodes_and_reencodes(path: Path) -> None:
    vector = json.loads(path.read_text())
    data = bytes.fromhex("".join(vector["hex"]))
    negotiated = _context(vector["negotiated"])
    buffer = bytearray(data)
    assert split_frames(buffer, 4096) == [data]
    message = decode(data, negotiated)
    assert as_data(message) == vector["decoded"]
    assert getattr(message, "errors", ()) == ()
    expected = bytes.fromhex("".join(vector.get("reencoded_hex", vector["hex"])))
    assert encode(message, negotiated) == expected
    assert encode(decode(expected, negotiated), negotiated) == expected  # the canonical form is a fixed point
