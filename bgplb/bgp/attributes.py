"""Path attributes (RFC 4271 §4.3, §5 and extensions): frozen values that encode and decode their own value.

Each class knows its type code and canonical flags; `REGISTRY` maps a type code to the flags, the RFC 7606
action for a malformed instance and the value decoder. The attribute header (flags, type, length) and the
attribute-list rules (duplicates, missing attributes, AS4 merging) live in the codec. AS paths live in
`bgplb.bgp.aspath` and the multiprotocol attributes in `bgplb.bgp.mp_attributes` (both re-exported here);
community text forms live in `bgplb.bgp.communities`.
Decoders raise ProtocolError with the RFC 4271 §6.3 subcode; the codec adds the attribute as its data.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import ClassVar, NamedTuple, Self

from bgplb.bgp.aspath import As4Path, AsPath, AsPathSegment
from bgplb.bgp.constants import (
    AttrFlag,
    AttrType,
    ErrorCode,
    OriginType,
    UpdateErrorSubcode,
)
from bgplb.bgp.errors import ErrorAction, ProtocolError
from bgplb.bgp.mp_attributes import MpReachNlri, MpUnreachNlri, NextHopAddress

__all__ = [  # the AS path and MP types live in their own modules and are part of this module's API
    "REGISTRY",
    "Aggregator",
    "As4Aggregator",
    "As4Path",
    "AsPath",
    "AsPathSegment",
    "AtomicAggregate",
    "Attribute",
    "AttributeSpec",
    "Communities",
    "ExtendedCommunities",
    "LargeCommunities",
    "LocalPref",
    "MpReachNlri",
    "MpUnreachNlri",
    "MultiExitDisc",
    "NextHop",
    "NextHopAddress",
    "Origin",
    "UnknownAttribute",
]

WELL_KNOWN = int(AttrFlag.TRANSITIVE)
OPTIONAL = int(AttrFlag.OPTIONAL)
OPTIONAL_TRANSITIVE = int(AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE)
_TAW = ErrorAction.TREAT_AS_WITHDRAW
_U32 = 0xFFFFFFFF
_DISCARD = ErrorAction.ATTRIBUTE_DISCARD


def _error(subcode: UpdateErrorSubcode, reason: str, action: ErrorAction) -> ProtocolError:
    return ProtocolError(ErrorCode.UPDATE_MESSAGE, subcode, reason, action=action)


def _length_error(name: str, value: bytes, expected: str, action: ErrorAction) -> ProtocolError:
    reason = f"{name}: length {len(value)}, expected {expected}"
    return _error(UpdateErrorSubcode.ATTRIBUTE_LENGTH_ERROR, reason, action)


def _u32(value: bytes, name: str, action: ErrorAction) -> int:
    if len(value) != 4:
        raise _length_error(name, value, "4", action)
    return int.from_bytes(value, "big")


def _check(condition: bool, cls: str, field: str, reason: str) -> None:
    if not condition:
        raise ValueError(f"{cls}.{field}: {reason}")


@dataclass(frozen=True, slots=True)
class Origin:
    """ORIGIN (type 1, well-known mandatory)."""

    value: OriginType = OriginType.IGP
    type_code: ClassVar[int] = AttrType.ORIGIN
    flags: ClassVar[int] = WELL_KNOWN

    def encode_value(self, four_octet: bool) -> bytes:
        """One octet."""
        return bytes((self.value,))

    @classmethod
    def decode_value(cls, value: bytes, four_octet: bool) -> Self:
        """RFC 7606 §7.1: wrong length or undefined value -> treat-as-withdraw."""
        if len(value) != 1:
            raise _length_error("ORIGIN", value, "1", _TAW)
        if value[0] > OriginType.INCOMPLETE:
            reason = f"ORIGIN: undefined value {value[0]}"
            raise _error(UpdateErrorSubcode.INVALID_ORIGIN_ATTRIBUTE, reason, _TAW)
        return cls(OriginType(value[0]))


@dataclass(frozen=True, slots=True)
class NextHop:
    """NEXT_HOP (type 3, well-known; mandatory with IPv4 NLRI in the NLRI field)."""

    address: IPv4Address
    type_code: ClassVar[int] = AttrType.NEXT_HOP
    flags: ClassVar[int] = WELL_KNOWN

    def encode_value(self, four_octet: bool) -> bytes:
        """Four octets."""
        return self.address.packed

    @classmethod
    def decode_value(cls, value: bytes, four_octet: bool) -> Self:
        """RFC 7606 §7.3: wrong length -> treat-as-withdraw."""
        if len(value) != 4:
            raise _length_error("NEXT_HOP", value, "4", _TAW)
        return cls(IPv4Address(value))


@dataclass(frozen=True, slots=True)
class MultiExitDisc:
    """MULTI_EXIT_DISC (type 4, optional non-transitive)."""

    value: int
    type_code: ClassVar[int] = AttrType.MULTI_EXIT_DISC
    flags: ClassVar[int] = OPTIONAL

    def __post_init__(self) -> None:
        _check(0 <= self.value <= _U32, "MultiExitDisc", "value", "must be 0..4294967295")

    def encode_value(self, four_octet: bool) -> bytes:
        """Four octets."""
        return self.value.to_bytes(4, "big")

    @classmethod
    def decode_value(cls, value: bytes, four_octet: bool) -> Self:
        """RFC 7606 §7.4: wrong length -> treat-as-withdraw."""
        return cls(_u32(value, "MULTI_EXIT_DISC", _TAW))


@dataclass(frozen=True, slots=True)
class LocalPref:
    """LOCAL_PREF (type 5, well-known; iBGP only)."""

    value: int
    type_code: ClassVar[int] = AttrType.LOCAL_PREF
    flags: ClassVar[int] = WELL_KNOWN

    def __post_init__(self) -> None:
        _check(0 <= self.value <= _U32, "LocalPref", "value", "must be 0..4294967295")

    def encode_value(self, four_octet: bool) -> bytes:
        """Four octets."""
        return self.value.to_bytes(4, "big")

    @classmethod
    def decode_value(cls, value: bytes, four_octet: bool) -> Self:
        """RFC 7606 §7.5: wrong length -> treat-as-withdraw (from eBGP it is discarded in validation)."""
        return cls(_u32(value, "LOCAL_PREF", _TAW))


@dataclass(frozen=True, slots=True)
class AtomicAggregate:
    """ATOMIC_AGGREGATE (type 6, well-known discretionary, no value)."""

    type_code: ClassVar[int] = AttrType.ATOMIC_AGGREGATE
    flags: ClassVar[int] = WELL_KNOWN

    def encode_value(self, four_octet: bool) -> bytes:
        """No octets."""
        return b""

    @classmethod
    def decode_value(cls, value: bytes, four_octet: bool) -> Self:
        """RFC 7606 §7.6: non-zero length -> attribute discard."""
        if value:
            raise _length_error("ATOMIC_AGGREGATE", value, "0", _DISCARD)
        return cls()


def _decode_aggregator(value: bytes, four_octet: bool, name: str) -> tuple[int, IPv4Address]:
    width = 4 if four_octet else 2
    if len(value) != width + 4:
        raise _length_error(name, value, str(width + 4), _DISCARD)
    asn = int.from_bytes(value[:width], "big")
    if asn == 0:  # RFC 7607 §2
        raise _error(UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR, f"{name}: AS 0", _DISCARD)
    return asn, IPv4Address(value[width:])


@dataclass(frozen=True, slots=True)
class Aggregator:
    """AGGREGATOR (type 7, optional transitive): the aggregating AS and router."""

    asn: int
    address: IPv4Address
    type_code: ClassVar[int] = AttrType.AGGREGATOR
    flags: ClassVar[int] = OPTIONAL_TRANSITIVE

    def __post_init__(self) -> None:
        _check(0 <= self.asn <= _U32, "Aggregator", "asn", "must be 0..4294967295")

    def encode_value(self, four_octet: bool) -> bytes:
        """ASN (2 or 4 octets, as negotiated) + IPv4 address."""
        return self.asn.to_bytes(4 if four_octet else 2, "big") + self.address.packed

    @classmethod
    def decode_value(cls, value: bytes, four_octet: bool) -> Self:
        """RFC 7606 §7.7: wrong length -> attribute discard."""
        return cls(*_decode_aggregator(value, four_octet, "AGGREGATOR"))


@dataclass(frozen=True, slots=True)
class As4Aggregator:
    """AS4_AGGREGATOR (type 18, RFC 6793): the real aggregator ASN beside AGGREGATOR = AS_TRANS."""

    asn: int
    address: IPv4Address
    type_code: ClassVar[int] = AttrType.AS4_AGGREGATOR
    flags: ClassVar[int] = OPTIONAL_TRANSITIVE

    def __post_init__(self) -> None:
        _check(0 <= self.asn <= _U32, "As4Aggregator", "asn", "must be 0..4294967295")

    def encode_value(self, four_octet: bool) -> bytes:
        """4-octet ASN + IPv4 address."""
        return self.asn.to_bytes(4, "big") + self.address.packed

    @classmethod
    def decode_value(cls, value: bytes, four_octet: bool) -> Self:
        """RFC 6793 §6: malformed -> attribute discard."""
        return cls(*_decode_aggregator(value, True, "AS4_AGGREGATOR"))


def _unpack_u32s(value: bytes, name: str, group: int) -> tuple[int, ...]:
    if not value or len(value) % (4 * group):
        raise _length_error(name, value, f"a non-zero multiple of {4 * group}", _TAW)
    return struct.unpack(f">{len(value) // 4}I", value)


@dataclass(frozen=True, slots=True)
class Communities:
    """COMMUNITIES (type 8, RFC 1997): 32-bit values, conventionally ASN:value."""

    values: tuple[int, ...]
    type_code: ClassVar[int] = AttrType.COMMUNITIES
    flags: ClassVar[int] = OPTIONAL_TRANSITIVE

    def __post_init__(self) -> None:
        _check(all(0 <= v <= _U32 for v in self.values), "Communities", "values", "each must be 32 bits")

    def encode_value(self, four_octet: bool) -> bytes:
        """Four octets per community."""
        return struct.pack(f">{len(self.values)}I", *self.values)

    @classmethod
    def decode_value(cls, value: bytes, four_octet: bool) -> Self:
        """RFC 7606 §7.8: length 0 or not a multiple of 4 -> treat-as-withdraw."""
        return cls(_unpack_u32s(value, "COMMUNITIES", 1))


@dataclass(frozen=True, slots=True)
class ExtendedCommunities:
    """EXTENDED_COMMUNITIES (type 16, RFC 4360): 8-octet values kept as bytes."""

    values: tuple[bytes, ...]
    type_code: ClassVar[int] = AttrType.EXTENDED_COMMUNITIES
    flags: ClassVar[int] = OPTIONAL_TRANSITIVE

    def __post_init__(self) -> None:
        ok = all(len(v) == 8 for v in self.values)
        _check(ok, "ExtendedCommunities", "values", "each must be 8 octets")

    def encode_value(self, four_octet: bool) -> bytes:
        """Eight octets per community."""
        return b"".join(self.values)

    @classmethod
    def decode_value(cls, value: bytes, four_octet: bool) -> Self:
        """RFC 7606 §7.14: length not a multiple of 8 -> treat-as-withdraw."""
        if not value or len(value) % 8:
            raise _length_error("EXTENDED_COMMUNITIES", value, "a non-zero multiple of 8", _TAW)
        return cls(tuple(value[i : i + 8] for i in range(0, len(value), 8)))


@dataclass(frozen=True, slots=True)
class LargeCommunities:
    """LARGE_COMMUNITY (type 32, RFC 8092): (global administrator, local data 1, local data 2) triples."""

    values: tuple[tuple[int, int, int], ...]
    type_code: ClassVar[int] = AttrType.LARGE_COMMUNITY
    flags: ClassVar[int] = OPTIONAL_TRANSITIVE

    def __post_init__(self) -> None:
        ok = all(len(t) == 3 and all(0 <= v <= _U32 for v in t) for t in self.values)
        _check(ok, "LargeCommunities", "values", "each must be three 32-bit numbers")

    def encode_value(self, four_octet: bool) -> bytes:
        """Twelve octets per community."""
        return struct.pack(f">{3 * len(self.values)}I", *(n for triple in self.values for n in triple))

    @classmethod
    def decode_value(cls, value: bytes, four_octet: bool) -> Self:
        """RFC 8092 §6: length 0 or not a multiple of 12 -> treat-as-withdraw."""
        flat = _unpack_u32s(value, "LARGE_COMMUNITY", 3)
        return cls(tuple((flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)))


@dataclass(frozen=True, slots=True)
class UnknownAttribute:
    """An attribute we do not implement, kept verbatim (optional transitive: passed on with Partial set)."""

    flags: int
    type_code: int
    value: bytes

    def __post_init__(self) -> None:
        ok = 0 <= self.flags <= 255 and 0 <= self.type_code <= 255
        _check(ok, "UnknownAttribute", "flags/type_code", "must be octets")

    def encode_value(self, four_octet: bool) -> bytes:
        """The raw value octets."""
        return self.value


Attribute = (
    Origin
    | AsPath
    | NextHop
    | MultiExitDisc
    | LocalPref
    | AtomicAggregate
    | Aggregator
    | Communities
    | MpReachNlri
    | MpUnreachNlri
    | ExtendedCommunities
    | As4Path
    | As4Aggregator
    | LargeCommunities
    | UnknownAttribute
)


class AttributeSpec(NamedTuple):
    """How the codec treats one known attribute type."""

    flags: int  # canonical Optional/Transitive bits
    on_error: ErrorAction  # RFC 7606 action when malformed (also for a flags error, §3 c)
    decode: Callable[[bytes, bool], Attribute]


REGISTRY: dict[int, AttributeSpec] = {
    AttrType.ORIGIN: AttributeSpec(WELL_KNOWN, _TAW, Origin.decode_value),
    AttrType.AS_PATH: AttributeSpec(WELL_KNOWN, _TAW, AsPath.decode_value),
    AttrType.NEXT_HOP: AttributeSpec(WELL_KNOWN, _TAW, NextHop.decode_value),
    AttrType.MULTI_EXIT_DISC: AttributeSpec(OPTIONAL, _TAW, MultiExitDisc.decode_value),
    AttrType.LOCAL_PREF: AttributeSpec(WELL_KNOWN, _TAW, LocalPref.decode_value),
    AttrType.ATOMIC_AGGREGATE: AttributeSpec(WELL_KNOWN, _DISCARD, AtomicAggregate.decode_value),
    AttrType.AGGREGATOR: AttributeSpec(OPTIONAL_TRANSITIVE, _DISCARD, Aggregator.decode_value),
    AttrType.COMMUNITIES: AttributeSpec(OPTIONAL_TRANSITIVE, _TAW, Communities.decode_value),
    AttrType.MP_REACH_NLRI: AttributeSpec(OPTIONAL, ErrorAction.SESSION_RESET, MpReachNlri.decode_value),
    AttrType.MP_UNREACH_NLRI: AttributeSpec(OPTIONAL, ErrorAction.SESSION_RESET, MpUnreachNlri.decode_value),
    AttrType.EXTENDED_COMMUNITIES: AttributeSpec(OPTIONAL_TRANSITIVE, _TAW, ExtendedCommunities.decode_value),
    AttrType.AS4_PATH: AttributeSpec(OPTIONAL_TRANSITIVE, _DISCARD, As4Path.decode_value),
    AttrType.AS4_AGGREGATOR: AttributeSpec(OPTIONAL_TRANSITIVE, _DISCARD, As4Aggregator.decode_value),
    AttrType.LARGE_COMMUNITY: AttributeSpec(OPTIONAL_TRANSITIVE, _TAW, LargeCommunities.decode_value),
}
