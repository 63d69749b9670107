"""What bgplb announces: a `Route` is a prefix plus the path attributes the caller controls.

A Route carries its prefix's NLRI encoding (`nlri`) and its `attribute_key`, computed once when it is
built. It says nothing about the session it goes out on: AS_PATH, NEXT_HOP (when `next_hop` is None, i.e.
next-hop-self) and LOCAL_PREF (iBGP only) are filled in per session by the Adj-RIB-Out. Two routes whose
`attribute_key` is equal share one encoded attribute set and are packed into the same UPDATEs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address
from operator import attrgetter

from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST, Family, OriginType
from bgplb.bgp.nlri import Prefix, encode_prefix

AttributeKey = tuple[object, ...]
"""Everything in a Route except its prefix; routes with equal keys share one attribute set on the wire."""

_PLAIN: AttributeKey = (None, OriginType.IGP, None, None, (), (), (), ())
_INTERNED: dict[AttributeKey, AttributeKey] = {}
_INTERN_LIMIT = 4096

_MAX_U32 = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Route:
    """A prefix to announce and the attributes to announce it with.

    `next_hop` None means "our own address on that session". `local_pref` goes to iBGP peers only (default
    100 there). `as_path_prepend` is inserted after our own ASN on eBGP sessions, before the path on iBGP.
    """

    prefix: Prefix
    next_hop: IPv4Address | IPv6Address | None = None
    origin: OriginType = OriginType.IGP
    med: int | None = None
    local_pref: int | None = None
    communities: tuple[int, ...] = ()
    large_communities: tuple[tuple[int, int, int], ...] = ()
    extended_communities: tuple[bytes, ...] = ()
    as_path_prepend: tuple[int, ...] = ()
    nlri: bytes = field(init=False, repr=False, compare=False)
    """The prefix as NLRI octets, computed once here so that packing 100,000 routes is a join."""
    attribute_key: AttributeKey = field(init=False, repr=False, compare=False)
    """Everything but the prefix (see `AttributeKey`), computed once here."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "nlri", encode_prefix(self.prefix))
        key = _attribute_key(self)
        if key != _PLAIN:  # the defaults need no checking; 100,000 plain routes are built in one go
            self._validate()
        if len(_INTERNED) >= _INTERN_LIMIT:
            _INTERNED.clear()
        # One tuple per attribute set, not per route: 10 MB less for 100,000 routes, and equal keys
        # compare by identity when the Adj-RIB-Out groups them.
        object.__setattr__(self, "attribute_key", _INTERNED.setdefault(key, key))

    def _validate(self) -> None:
        if self.next_hop is not None and self.next_hop.version != self.prefix.version:
            raise ValueError(f"Route {self.prefix}: next hop {self.next_hop} is not of the prefix's family")
        for name, value in (("med", self.med), ("local_pref", self.local_pref)):
            if value is not None and not 0 <= value <= _MAX_U32:
                raise ValueError(f"Route {self.prefix}: {name} {value} is not a 32-bit unsigned integer")
        for community in self.communities:
            if not 0 <= community <= _MAX_U32:
                raise ValueError(f"Route {self.prefix}: community {community} is not a 32-bit value")
        for large in self.large_communities:
            if len(large) != 3 or not all(0 <= part <= _MAX_U32 for part in large):
                raise ValueError(f"Route {self.prefix}: large community {large} is not three 32-bit values")
        for extended in self.extended_communities:
            if len(extended) != 8:
                raise ValueError(f"Route {self.prefix}: extended community {extended.hex()} is not 8 octets")
        for asn in self.as_path_prepend:
            if not 1 <= asn <= _MAX_U32:
                raise ValueError(f"Route {self.prefix}: as_path_prepend ASN {asn} is out of range")

    @property
    def family(self) -> Family:
        """IPv4 or IPv6 unicast, by the prefix."""
        return family_of(self.prefix)


_attribute_key: Callable[[Route], AttributeKey] = attrgetter(
    "next_hop",
    "origin",
    "med",
    "local_pref",
    "communities",
    "large_communities",
    "extended_communities",
    "as_path_prepend",
)


def family_of(prefix: Prefix) -> Family:
    """The unicast family of `prefix`."""
    return IPV4_UNICAST if isinstance(prefix, IPv4Network) else IPV6_UNICAST
