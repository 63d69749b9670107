"""MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760): the multiprotocol path attributes, IPv4 and IPv6 unicast.

Split from `bgplb.bgp.attributes` (which re-exports them and registers their decoders). A malformed MP
attribute is a session reset: RFC 7606 §7.11 says its NLRI cannot be located reliably.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import ClassVar, Self

from bgplb.bgp.constants import Afi, AttrFlag, AttrType, ErrorCode, UpdateErrorSubcode
from bgplb.bgp.errors import ErrorAction, ProtocolError
from bgplb.bgp.nlri import Prefix, decode_prefixes, encode_prefixes

OPTIONAL = int(AttrFlag.OPTIONAL)


def _check(condition: bool, cls: str, field: str, reason: str) -> None:
    if not condition:
        raise ValueError(f"{cls}.{field}: {reason}")


NextHopAddress = IPv4Address | IPv6Address
_NH_LENGTHS: dict[int, tuple[int, ...]] = {Afi.IPV4: (4,), Afi.IPV6: (16, 32)}
_NLRI_SAFIS = (1, 2)  # unicast and multicast share the RFC 4271 prefix encoding


def _mp_error(reason: str) -> ProtocolError:
    # RFC 4760 §7 (Optional Attribute Error); RFC 7606 §7.11: NLRI cannot be located reliably -> reset
    return ProtocolError(
        ErrorCode.UPDATE_MESSAGE,
        UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        reason,
        action=ErrorAction.SESSION_RESET,
    )


def _mp_family(value: bytes, minimum: int, name: str) -> tuple[int, int]:
    if len(value) < minimum:
        raise _mp_error(f"{name}: length {len(value)} is shorter than {minimum}")
    afi, safi = int.from_bytes(value[:2], "big"), value[2]
    if afi not in _NH_LENGTHS or safi not in _NLRI_SAFIS:
        raise _mp_error(f"{name}: unsupported AFI/SAFI {afi}/{safi}")
    return afi, safi


def _mp_prefixes(data: bytes, afi: int, name: str) -> tuple[Prefix, ...]:
    try:
        return decode_prefixes(data, afi)
    except ProtocolError as exc:
        raise _mp_error(f"{name}: {exc.reason}") from None


@dataclass(frozen=True, slots=True)
class MpReachNlri:
    """MP_REACH_NLRI (type 14, RFC 4760 §3): next hop(s) and reachable prefixes of one AFI/SAFI.

    IPv6 carries one global next hop, optionally followed by a link-local one (RFC 2545 §3).
    """

    afi: int
    safi: int
    next_hops: tuple[NextHopAddress, ...]
    nlri: tuple[Prefix, ...] = ()
    type_code: ClassVar[int] = AttrType.MP_REACH_NLRI
    flags: ClassVar[int] = OPTIONAL

    def __post_init__(self) -> None:
        _check(1 <= len(self.next_hops) <= 2, "MpReachNlri", "next_hops", "must hold one or two addresses")

    def encode_value(self, four_octet: bool) -> bytes:
        """AFI, SAFI, next-hop length and addresses, reserved octet, NLRI."""
        hops = b"".join(hop.packed for hop in self.next_hops)
        head = self.afi.to_bytes(2, "big") + bytes((self.safi, len(hops)))
        return head + hops + b"\x00" + encode_prefixes(self.nlri)

    @classmethod
    def decode_value(cls, value: bytes, four_octet: bool) -> Self:
        """RFC 7606 §7.11: a next-hop length unexpected for the AFI or bad NLRI -> session reset."""
        afi, safi = _mp_family(value, 5, "MP_REACH_NLRI")
        hop_len = value[3]
        if hop_len not in _NH_LENGTHS[afi] or len(value) < 5 + hop_len:
            raise _mp_error(f"MP_REACH_NLRI: next-hop length {hop_len} invalid for AFI {afi}")
        raw = value[4 : 4 + hop_len]
        hops: tuple[NextHopAddress, ...]
        if afi == Afi.IPV4:
            hops = (IPv4Address(raw),)
        else:
            hops = tuple(IPv6Address(raw[i : i + 16]) for i in range(0, hop_len, 16))
        return cls(afi, safi, hops, _mp_prefixes(value[5 + hop_len :], afi, "MP_REACH_NLRI"))


@dataclass(frozen=True, slots=True)
class MpUnreachNlri:
    """MP_UNREACH_NLRI (type 15, RFC 4760 §4): withdrawn prefixes of one AFI/SAFI (none: End-of-RIB)."""

    afi: int
    safi: int
    withdrawn: tuple[Prefix, ...] = ()
    type_code: ClassVar[int] = AttrType.MP_UNREACH_NLRI
    flags: ClassVar[int] = OPTIONAL

    def encode_value(self, four_octet: bool) -> bytes:
        """AFI, SAFI, withdrawn routes."""
        return self.afi.to_bytes(2, "big") + bytes((self.safi,)) + encode_prefixes(self.withdrawn)

    @classmethod
    def decode_value(cls, value: bytes, four_octet: bool) -> Self:
        """RFC 7606 §7.12 / §5.3: unparseable -> session reset."""
        afi, safi = _mp_family(value, 3, "MP_UNREACH_NLRI")
        return cls(afi, safi, _mp_prefixes(value[3:], afi, "MP_UNREACH_NLRI"))
