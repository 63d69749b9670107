"""Hand-built wire bytes for BGP tests, straight from the RFC 4271 layouts (independent of the codec)."""

from __future__ import annotations

MARKER = b"\xff" * 16


def frame(kind: int, body: bytes, length: int | None = None) -> bytes:
    """Header + body; `length` overrides the length field."""
    size = 19 + len(body) if length is None else length
    return MARKER + size.to_bytes(2, "big") + bytes((kind,)) + body


def attr(flags: int, code: int, value: bytes) -> bytes:
    """One path attribute (Extended Length when the flags ask for it)."""
    if flags & 0x10:
        return bytes((flags, code)) + len(value).to_bytes(2, "big") + value
    return bytes((flags, code, len(value))) + value


def update(attrs: bytes = b"", nlri: bytes = b"", withdrawn: bytes = b"") -> bytes:
    """An UPDATE message from raw fields."""
    body = len(withdrawn).to_bytes(2, "big") + withdrawn + len(attrs).to_bytes(2, "big") + attrs + nlri
    return frame(2, body)


def open_msg(
    params: bytes, asn: int = 65001, hold: int = 90, bgp_id: bytes = b"\x0a\x00\x00\x01", version: int = 4
) -> bytes:
    """An OPEN with the given optional parameters octets."""
    body = (
        bytes((version,)) + asn.to_bytes(2, "big") + hold.to_bytes(2, "big") + bgp_id + bytes((len(params),))
    )
    return frame(1, body + params)


def caps_param(*caps: bytes) -> bytes:
    """One Capabilities optional parameter holding the given capability TLVs."""
    value = b"".join(caps)
    return bytes((2, len(value))) + value


ORIGIN_IGP = attr(0x40, 1, b"\x00")
AS_PATH_65001 = attr(0x40, 2, b"\x02\x01\x00\x00\xfd\xe9")  # 4-octet: SEQUENCE [65001]
AS_PATH_65001_2 = attr(0x40, 2, b"\x02\x01\xfd\xe9")  # 2-octet
NEXT_HOP_192_0_2_1 = attr(0x40, 3, bytes((192, 0, 2, 1)))
NLRI_10_0_0_1 = b"\x20\x0a\x00\x00\x01"
