"""Text forms of communities: "64500:100" and well-known names (RFC 1997), "64500:1:2" (RFC 8092), and
route-target / route-origin extended communities "rt:64500:100", "soo:192.0.2.1:7" (RFC 4360 §4).

Parsing raises ValueError naming the offending text; formatting is the inverse for every value.
"""

from __future__ import annotations

from ipaddress import IPv4Address

WELL_KNOWN_COMMUNITIES: dict[str, int] = {
    "graceful-shutdown": 0xFFFF0000,  # RFC 8326
    "accept-own": 0xFFFF0001,  # RFC 7611
    "llgr-stale": 0xFFFF0006,  # RFC 9494
    "no-llgr": 0xFFFF0007,
    "blackhole": 0xFFFF029A,  # RFC 7999
    "no-export": 0xFFFFFF01,  # RFC 1997
    "no-advertise": 0xFFFFFF02,
    "no-export-subconfed": 0xFFFFFF03,
    "no-peer": 0xFFFFFF04,  # RFC 3765
}
_NAMES = {value: name for name, value in WELL_KNOWN_COMMUNITIES.items()}
_U16, _U32 = 0xFFFF, 0xFFFFFFFF
# RFC 4360 §3/§4 and RFC 5668: (type octet, sub-type) of route target / route origin per administrator kind
_EXT_KINDS = {"rt": 0x02, "soo": 0x03}
_EXT_TYPES = {0x00: "as2", 0x01: "ipv4", 0x02: "as4"}


def _number(text: str, part: str, limit: int, what: str) -> int:
    if not part.isdigit() or int(part) > limit:
        raise ValueError(f"{what} {text!r}: {part!r} is not a number in 0..{limit}")
    return int(part)


def parse_community(text: str) -> int:
    """A standard community from "ASN:value", a well-known name (e.g. "no-export") or a plain number."""
    key = text.strip().lower().replace("_", "-")
    if key in WELL_KNOWN_COMMUNITIES:
        return WELL_KNOWN_COMMUNITIES[key]
    parts = key.split(":")
    if len(parts) == 1:
        return _number(text, parts[0], _U32, "community")
    if len(parts) != 2:
        raise ValueError(f"community {text!r}: expected ASN:value or a well-known name")
    return _number(text, parts[0], _U16, "community") << 16 | _number(text, parts[1], _U16, "community")


def format_community(value: int) -> str:
    """ "ASN:value", or the well-known name."""
    return _NAMES.get(value) or f"{value >> 16}:{value & _U16}"


def parse_large_community(text: str) -> tuple[int, int, int]:
    """A large community from "global:local1:local2" (three 32-bit numbers)."""
    parts = text.strip().split(":")
    if len(parts) != 3:
        raise ValueError(f"large community {text!r}: expected global:local1:local2")
    a, b, c = (_number(text, part, _U32, "large community") for part in parts)
    return (a, b, c)


def format_large_community(value: tuple[int, int, int]) -> str:
    """ "global:local1:local2"."""
    return ":".join(map(str, value))


def parse_extended_community(text: str) -> bytes:
    """A route target or route origin: "rt:ASN:value", "soo:ASN:value" or with an IPv4 address as
    administrator ("rt:192.0.2.1:7"). A 2-octet ASN takes a 4-octet value; a 4-octet ASN or an address
    takes a 2-octet one.
    """
    kind, _, rest = text.strip().lower().partition(":")
    admin, _, local = rest.rpartition(":")
    if kind not in _EXT_KINDS or not admin:
        raise ValueError(f"extended community {text!r}: expected rt:ADMIN:VALUE or soo:ADMIN:VALUE")
    subtype = _EXT_KINDS[kind]
    if "." in admin:
        try:
            address = IPv4Address(admin)
        except ValueError as exc:
            raise ValueError(f"extended community {text!r}: {exc}") from None
        return (
            bytes((0x01, subtype)) + address.packed + _number(text, local, _U16, "value").to_bytes(2, "big")
        )
    asn = _number(text, admin, _U32, "extended community")
    if asn <= _U16:
        return (
            bytes((0x00, subtype))
            + asn.to_bytes(2, "big")
            + _number(text, local, _U32, "value").to_bytes(4, "big")
        )
    return (
        bytes((0x02, subtype))
        + asn.to_bytes(4, "big")
        + _number(text, local, _U16, "value").to_bytes(2, "big")
    )


def format_extended_community(value: bytes) -> str:
    """ "rt:ADMIN:VALUE" / "soo:ADMIN:VALUE" for the kinds `parse_extended_community` knows, else hex."""
    kinds = {sub: name for name, sub in _EXT_KINDS.items()}
    admin_kind = _EXT_TYPES.get(value[0]) if len(value) == 8 else None
    if admin_kind is None or value[1] not in kinds:
        return value.hex()
    prefix = kinds[value[1]]
    if admin_kind == "as2":
        return f"{prefix}:{int.from_bytes(value[2:4], 'big')}:{int.from_bytes(value[4:], 'big')}"
    admin = str(IPv4Address(value[2:6])) if admin_kind == "ipv4" else str(int.from_bytes(value[2:6], "big"))
    return f"{prefix}:{admin}:{int.from_bytes(value[6:], 'big')}"
