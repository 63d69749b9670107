"""The merge table: integer prefix keys order like prefixes, attributes merge by MetalLB's rule, routes are
reused between tables."""

from __future__ import annotations

from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    NetmaskValueError,
    ip_address,
    ip_network,
)

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bgplb.bgp.communities import parse_community, parse_large_community
from bgplb.config.models import BgpAdvertisement
from bgplb.planning.route_merge import RouteTable, Target
from bgplb.planning.snapshot import IPAddress

ADDRESSES = st.one_of(
    st.integers(0, 2**32 - 1).map(IPv4Address),
    st.integers(0, 2**128 - 1).map(IPv6Address),
)


def adv(name: str = "a", **kw: object) -> BgpAdvertisement:
    return BgpAdvertisement(name=name, **kw)  # type: ignore[arg-type]


def routes_of(table: RouteTable, reach4: int = 1, reach6: int = 1, ibgp: bool = True) -> list[str]:
    (routes,) = table.routes([(reach4, reach6, ibgp)])
    return [str(r.prefix) for r in routes]


@given(st.lists(st.tuples(ADDRESSES, st.integers(0, 128)), max_size=12))
def test_routes_come_in_prefix_order_and_cover_exactly_the_aggregates(
    entries: list[tuple[IPAddress, int]],
) -> None:
    table = RouteTable((adv(),))
    expected = set()
    for ip, wanted in entries:
        length = min(wanted, ip.max_prefixlen)
        table.add(
            int(ip),
            (Target.of(0, adv(aggregation_length=min(length, 32), aggregation_length_v6=length), ip),),
        )
        network = IPv4Network if ip.version == 4 else IPv6Network
        expected.add(network((int(ip), length), strict=False))
    got = [ip_network(p) for p in routes_of(table)]
    assert got == sorted(expected, key=lambda n: (n.version, int(n.network_address), n.prefixlen))


def test_a_family_without_reaching_advertisements_gets_no_routes() -> None:
    table = RouteTable((adv(),))
    for text in ("10.0.0.1", "2001:db8::1"):
        ip = ip_address(text)
        table.add(int(ip), (Target.of(0, table.advertisements[0], ip),))
    assert routes_of(table) == ["10.0.0.1/32", "2001:db8::1/128"]
    assert routes_of(table, reach6=0) == ["10.0.0.1/32"]
    assert routes_of(table, reach4=0) == ["2001:db8::1/128"]


def test_attributes_merge_union_and_highest_local_pref_dropped_for_ebgp() -> None:
    advertisements = (
        adv("a", communities=("64500:1",), local_pref=100),
        adv("b", communities=("64500:2", "64500:1"), large_communities=("1:2:3",), local_pref=200),
        adv("c", communities=("64500:3",)),
    )
    table = RouteTable(advertisements)
    ip = ip_address("198.51.100.7")
    table.add(int(ip), [Target.of(i, a, ip) for i, a in enumerate(advertisements)])
    ibgp_both, ebgp_both, only_c = table.routes([(0b011, 0, True), (0b011, 0, False), (0b100, 0, True)])
    (route,) = ibgp_both
    assert route.communities == tuple(sorted(parse_community(c) for c in ("64500:1", "64500:2")))
    assert route.large_communities == (parse_large_community("1:2:3"),) and route.local_pref == 200
    assert ebgp_both[0].local_pref is None and ebgp_both[0].communities == route.communities
    assert only_c[0].communities == (parse_community("64500:3"),) and only_c[0].local_pref is None


def test_equal_routes_are_the_same_objects_across_tables() -> None:
    advertisement = adv(communities=("64500:9",))
    first, second = RouteTable((advertisement,)), RouteTable((advertisement,))
    ip = ip_address("203.0.113.9")
    for table in (first, second):
        table.add(int(ip), (Target.of(0, advertisement, ip),))
    assert first.routes([(1, 0, True)])[0][0] is second.routes([(1, 0, True)])[0][0]


def test_a_length_the_family_does_not_have_is_refused_like_aggregate() -> None:
    with pytest.raises(NetmaskValueError):
        Target.of(0, adv(aggregation_length=33), ip_address("10.0.0.1"))
