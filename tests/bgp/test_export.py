"""export_attributes: the path attributes a Route gets on an eBGP or iBGP session (RFC 4271 §5.1)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network

from bgplb.bgp.attribute_codec import decode_attributes
from bgplb.bgp.attributes import (
    AsPath,
    Communities,
    ExtendedCommunities,
    LargeCommunities,
    LocalPref,
    MultiExitDisc,
    NextHop,
    Origin,
)
from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST, OriginType
from bgplb.bgp.export import ExportPolicy, export_attributes
from bgplb.bgp.negotiation import Negotiated
from bgplb.bgp.routes import Route

V4 = ip_network("198.51.100.1/32")
V6 = ip_network("2001:db8::1/128")
US_V4 = IPv4Address("192.0.2.1")


def policy(*, ibgp: bool, v4: IPv4Address | None = US_V4, v6: IPv6Address | None = None) -> ExportPolicy:
    return ExportPolicy(Negotiated(), 64501, ibgp, v4, v6)


def attributes(route: Route, pol: ExportPolicy) -> list[object]:
    encoded = export_attributes(pol, route.family, route)
    assert encoded is not None
    attrs, errors = decode_attributes(encoded.attributes, True)
    assert errors == []
    return attrs


def test_ebgp_with_everything() -> None:
    route = Route(
        V4,
        origin=OriginType.INCOMPLETE,
        med=7,
        local_pref=300,
        communities=(0xFDE80064,),
        large_communities=((64500, 1, 2),),
        extended_communities=(bytes(8),),
        as_path_prepend=(64501,),
    )
    assert attributes(route, policy(ibgp=False)) == [
        Origin(OriginType.INCOMPLETE),
        AsPath.sequence(64501, 64501),
        NextHop(US_V4),
        MultiExitDisc(7),
        Communities((0xFDE80064,)),
        ExtendedCommunities((bytes(8),)),
        LargeCommunities(((64500, 1, 2),)),
    ]


def test_ibgp_has_local_pref_and_no_own_asn() -> None:
    assert attributes(Route(V4), policy(ibgp=True)) == [Origin(), AsPath(()), NextHop(US_V4), LocalPref(100)]
    assert LocalPref(250) in attributes(Route(V4, local_pref=250), policy(ibgp=True))


def test_explicit_next_hop_wins() -> None:
    hop = IPv4Address("192.0.2.77")
    assert NextHop(hop) in attributes(Route(V4, next_hop=hop), policy(ibgp=False))


def test_ipv6_next_hops() -> None:
    mapped = export_attributes(policy(ibgp=False), IPV6_UNICAST, Route(V6))
    assert mapped is not None and mapped.next_hops == (IPv6Address("::ffff:192.0.2.1"),)
    own = export_attributes(policy(ibgp=False, v6=IPv6Address("2001:db8::ff")), IPV6_UNICAST, Route(V6))
    assert own is not None and own.next_hops == (IPv6Address("2001:db8::ff"),)
    assert export_attributes(policy(ibgp=False, v4=None), IPV6_UNICAST, Route(V6)) is None


def test_no_ipv4_next_hop_no_attributes() -> None:
    assert (
        export_attributes(
            policy(ibgp=False, v4=None, v6=IPv6Address("2001:db8::ff")), IPV4_UNICAST, Route(V4)
        )
        is None
    )
