"""How a Route becomes path attributes on one session (RFC 4271 §5.1): `ExportPolicy` + `export_attributes`.

eBGP: our ASN first in AS_PATH (then `as_path_prepend`), no LOCAL_PREF. iBGP: AS_PATH holds only the
prepends, LOCAL_PREF 100 unless the route sets it. NEXT_HOP is the route's, or ours on the session (an IPv6
route over an IPv4-only session gets `::ffff:<our IPv4>`, as FRR and BIRD do). The result is encoded once
per attribute set and session by the Adj-RIB-Out.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from bgplb.bgp.attributes import (
    AsPath,
    AsPathSegment,
    Attribute,
    Communities,
    ExtendedCommunities,
    LargeCommunities,
    LocalPref,
    MultiExitDisc,
    NextHop,
    Origin,
)
from bgplb.bgp.codec import encode_attributes
from bgplb.bgp.constants import IPV4_UNICAST, AsPathSegmentType, Family
from bgplb.bgp.negotiation import Negotiated
from bgplb.bgp.routes import Route

DEFAULT_LOCAL_PREF = 100
_MAPPED_V4 = 0xFFFF << 32


@dataclass(frozen=True, slots=True)
class ExportPolicy:
    """Who we are on one session, who the peer is, and our next-hop addresses there."""

    negotiated: Negotiated
    local_asn: int
    ibgp: bool
    next_hop_ipv4: IPv4Address | None
    next_hop_ipv6: IPv6Address | None


@dataclass(frozen=True, slots=True)
class EncodedAttributes:
    """The Path Attributes of one attribute set, encoded; IPv6 adds MP_REACH_NLRI around each UPDATE's
    prefixes with `next_hops`."""

    attributes: bytes
    next_hops: tuple[IPv6Address, ...]


def export_attributes(policy: ExportPolicy, family: Family, route: Route) -> EncodedAttributes | None:
    """The encoded attributes of `route` (and every route with its attribute key) on this session, or None
    when the session has no next hop of the route's family (e.g. IPv4 over IPv6 without next_hop_ipv4)."""
    if policy.ibgp:
        prepend = route.as_path_prepend
        segments = (AsPathSegment(AsPathSegmentType.AS_SEQUENCE, prepend),) if prepend else ()
    else:  # §5.1.2: an eBGP speaker prepends its own AS
        segments = (AsPathSegment(AsPathSegmentType.AS_SEQUENCE, (policy.local_asn, *route.as_path_prepend)),)
    attributes: list[Attribute] = [Origin(route.origin), AsPath(segments)]
    hops: tuple[IPv6Address, ...] = ()
    if family == IPV4_UNICAST:
        hop4 = route.next_hop if route.next_hop is not None else policy.next_hop_ipv4
        if not isinstance(hop4, IPv4Address):
            return None
        attributes.append(NextHop(hop4))
    else:
        hop6 = route.next_hop if route.next_hop is not None else policy.next_hop_ipv6
        if hop6 is None and policy.next_hop_ipv4 is not None:
            hop6 = IPv6Address(_MAPPED_V4 | int(policy.next_hop_ipv4))
        if not isinstance(hop6, IPv6Address):
            return None
        hops = (hop6,)
    if route.med is not None:
        attributes.append(MultiExitDisc(route.med))
    if policy.ibgp:  # §5.1.5: LOCAL_PREF only inside the AS
        attributes.append(LocalPref(DEFAULT_LOCAL_PREF if route.local_pref is None else route.local_pref))
    if route.communities:
        attributes.append(Communities(route.communities))
    if route.extended_communities:
        attributes.append(ExtendedCommunities(route.extended_communities))
    if route.large_communities:
        attributes.append(LargeCommunities(route.large_communities))
    return EncodedAttributes(encode_attributes(attributes, policy.negotiated), hops)
