"""Adj-RIB-In: received routes per family, counts, max-prefix reporting, stale marks (RFC 4724 helper)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network

from bgplb.bgp.adj_rib_in import AdjRibIn
from bgplb.bgp.attributes import AsPath, MpReachNlri, MpUnreachNlri, NextHop, Origin
from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST
from bgplb.bgp.messages import Update

A = ip_network("198.51.100.1/32")
B = ip_network("198.51.100.2/32")
C = ip_network("198.51.100.3/32")
V6 = ip_network("2001:db8::1/128")
ATTRS = (Origin(), AsPath.sequence(64500), NextHop(IPv4Address("192.0.2.2")))


def announce(*prefixes: object) -> Update:
    return Update(attributes=ATTRS, nlri=prefixes)  # type: ignore[arg-type]


def announce_v6(*prefixes: object) -> Update:
    reach = MpReachNlri(2, 1, (IPv6Address("2001:db8::2"),), prefixes)  # type: ignore[arg-type]
    return Update(attributes=(reach, Origin(), AsPath.sequence(64500)))


def test_announce_and_withdraw_per_family() -> None:
    rib = AdjRibIn()
    assert rib.apply(announce(A, B)) is None
    assert rib.apply(announce_v6(V6)) is None
    assert rib.counts() == {IPV4_UNICAST: 2, IPV6_UNICAST: 1}
    rib.apply(Update(withdrawn=(A,)))
    rib.apply(Update(attributes=(MpUnreachNlri(2, 1, (V6,)),)))
    assert rib.counts() == {IPV4_UNICAST: 1}
    assert set(rib.routes(IPV4_UNICAST)) == {B}


def test_stored_attributes_drop_the_mp_nlri() -> None:
    rib = AdjRibIn()
    rib.apply(announce_v6(V6))
    (reach,) = [a for a in rib.routes(IPV6_UNICAST)[V6] if isinstance(a, MpReachNlri)]
    assert reach.nlri == () and reach.next_hops == (IPv6Address("2001:db8::2"),)


def test_treat_as_withdraw_removes_what_the_update_announces() -> None:
    rib = AdjRibIn()
    rib.apply(announce(A, B))
    rib.apply(announce(A, C), treat_as_withdraw=True)
    assert set(rib.routes(IPV4_UNICAST)) == {B}


def test_max_prefixes_is_reported_per_family() -> None:
    rib = AdjRibIn(max_prefixes=2)
    assert rib.apply(announce(A, B)) is None
    assert rib.apply(announce_v6(V6)) is None
    assert rib.apply(announce(C)) == IPV4_UNICAST
    assert rib.apply(announce(A)) == IPV4_UNICAST  # still over


def test_stale_marking_and_purging() -> None:
    rib = AdjRibIn()
    rib.apply(announce(A, B))
    rib.apply(announce_v6(V6))
    assert rib.mark_stale([IPV4_UNICAST]) == 2
    assert rib.counts() == {IPV4_UNICAST: 2}  # IPv6 was not preserved: gone
    rib.apply(announce(A))  # re-announced: fresh again
    assert rib.stale_count(IPV4_UNICAST) == 1 and rib.stale_families() == [IPV4_UNICAST]
    rib.apply(Update(withdrawn=(B,)))  # withdrawn: no longer stale either
    assert rib.stale_count() == 0
    rib.mark_stale([IPV4_UNICAST])
    assert rib.purge_stale(IPV4_UNICAST) == 1 and rib.count(IPV4_UNICAST) == 0
    assert rib.purge_stale() == 0


def test_clear() -> None:
    rib = AdjRibIn()
    rib.apply(announce(A))
    rib.mark_stale([IPV4_UNICAST])
    rib.clear()
    assert rib.counts() == {} and rib.stale_count() == 0
