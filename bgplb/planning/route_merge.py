"""Turning announced addresses into routes: one plan's merge table, in integers, and the routes it yields.

A prefix is keyed by one int that orders like prefixes do (IPv4 below every IPv6, then the network address,
then the length): `((address & netmask) << 8) | tag`, the tag holding the family and the length. An
advertisement is one bit (its index in the configuration); the table maps each prefix key to the bits of the
advertisements that yielded it. A peer's routes are the keys whose bits include an advertisement that
reaches the peer for that family, with the merged attributes of those advertisements (`announcement`'s
docstring states the merge rule). Everything in the per-address path is a dict update on ints.

Equal prefixes and equal routes are the same objects from one plan to the next (bounded caches keyed by
their fields): handed to `set_routes` again, unchanged routes let the Adj-RIB-Out diff only the changed
middle instead of every route (docs/bgp-session.md, "Changing the routes"), and nothing is rebuilt.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from typing import NamedTuple

from bgplb.bgp.communities import parse_community, parse_large_community
from bgplb.bgp.nlri import Prefix
from bgplb.bgp.routes import Route
from bgplb.config.models import BgpAdvertisement
from bgplb.planning.snapshot import IPAddress

CACHED = 1 << 16
"""Prefixes and routes kept for reuse across plans (a larger table still plans right, only slower)."""

_V6_KEY = 1 << 136
_LOW_128 = (1 << 128) - 1
Attributes = tuple[tuple[int, ...], tuple[tuple[int, int, int], ...], int | None]
"""A route's communities, large communities (both sorted) and local-pref."""


@lru_cache(maxsize=CACHED)
def prefix(ip: IPAddress, length: int) -> Prefix:
    """`ip` widened to `length` bits (raises NetmaskValueError for a length the family does not have)."""
    network = IPv4Network if ip.version == 4 else IPv6Network
    return network((int(ip), length), strict=False)


class Target(NamedTuple):
    """How one advertisement widens one family's addresses: the netmask and tag of its prefix keys, and
    its bit."""

    mask: int
    tag: int
    bit: int

    @classmethod
    def of(cls, index: int, adv: BgpAdvertisement, ip: IPAddress) -> Target:
        """The target of the advertisement at `index` for the family of `ip`."""
        length = adv.aggregation_length if ip.version == 4 else adv.aggregation_length_v6
        netmask = int(prefix(ip, length).netmask)  # raises, as `aggregate` does, on a bad length
        return cls(netmask, (_V6_KEY if ip.version == 6 else 0) | length, 1 << index)


@lru_cache(maxsize=256)
def _communities(texts: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(parse_community(c) for c in texts)


@lru_cache(maxsize=256)
def _large_communities(texts: tuple[str, ...]) -> tuple[tuple[int, int, int], ...]:
    return tuple(parse_large_community(c) for c in texts)


def _prefix_of(key: int) -> Prefix:
    network = IPv6Network if key >= _V6_KEY else IPv4Network
    return network((((key >> 8) & _LOW_128), key & 0xFF))


@lru_cache(maxsize=CACHED)
def _route(key: int, attributes: Attributes) -> Route:
    communities, large_communities, local_pref = attributes
    return Route(
        prefix=_prefix_of(key),
        communities=communities,
        large_communities=large_communities,
        local_pref=local_pref,
    )


class RouteTable:
    """The prefixes one plan announces, each with the bits of the advertisements that yielded it."""

    def __init__(self, advertisements: tuple[BgpAdvertisement, ...]) -> None:
        self.advertisements = advertisements
        self.merged: dict[int, int] = {}

    def add(self, value: int, targets: Iterable[Target]) -> None:
        """Record the address `value` (an int of the targets' family) under each target."""
        merged = self.merged
        for mask, tag, bit in targets:
            key = ((value & mask) << 8) | tag
            merged[key] = merged.get(key, 0) | bit

    def routes(self, wanted: Iterable[tuple[int, int, bool]]) -> list[tuple[Route, ...]]:
        """For each (IPv4 bits, IPv6 bits, iBGP) - the advertisements reaching one peer per family and its
        session type - that peer's routes in prefix order."""
        keys = sorted(self.merged)
        bits = [self.merged[key] for key in keys]
        split = bisect_left(keys, _V6_KEY)
        families = ((keys[:split], bits[:split]), (keys[split:], bits[split:]))
        attributes: dict[bool, dict[int, Attributes]] = {True: {}, False: {}}  # iBGP? -> bits -> merged
        out = []
        for reach4, reach6, ibgp in wanted:
            known = attributes[ibgp]
            routes: list[Route] = []
            for (family_keys, family_bits), reach in zip(families, (reach4, reach6), strict=True):
                for key, found in zip(family_keys, family_bits, strict=True) if reach else ():
                    mine = found & reach
                    if mine:
                        merged = known.get(mine)
                        if merged is None:
                            merged = known[mine] = self._attributes(mine, ibgp)
                        routes.append(_route(key, merged))
            out.append(tuple(routes))
        return out

    def _attributes(self, bits: int, ibgp: bool) -> Attributes:
        """The union of the (large) communities of the advertisements in `bits` and their highest
        local-pref (dropped for eBGP peers)."""
        communities: set[int] = set()
        large: set[tuple[int, int, int]] = set()
        local_pref: int | None = None
        for index, adv in enumerate(self.advertisements):
            if bits >> index & 1:
                communities.update(_communities(adv.communities))
                large.update(_large_communities(adv.large_communities))
                if adv.local_pref is not None:
                    local_pref = max(adv.local_pref, local_pref or 0)
        return tuple(sorted(communities)), tuple(sorted(large)), local_pref if ibgp else None
