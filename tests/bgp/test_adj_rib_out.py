"""Adj-RIB-Out: packing, diffs, End-of-RIB, attributes per session."""

from __future__ import annotations

from functools import cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgplb.bgp.adj_rib_out import AdjRibOut
from bgplb.bgp.aspath import As4Path
from bgplb.bgp.attributes import (
    AsPath,
    Communities,
    LargeCommunities,
    LocalPref,
    MpReachNlri,
    MpUnreachNlri,
    MultiExitDisc,
    NextHop,
)
from bgplb.bgp.codec import decode
from bgplb.bgp.constants import AS_TRANS, IPV4_UNICAST, IPV6_UNICAST, MAX_MESSAGE, Family
from bgplb.bgp.export import ExportPolicy
from bgplb.bgp.messages import Update
from bgplb.bgp.negotiation import Negotiated
from bgplb.bgp.nlri import Prefix
from bgplb.bgp.routes import Route

BOTH = frozenset({IPV4_UNICAST, IPV6_UNICAST})
LOCAL_V4 = IPv4Address("192.0.2.1")


def policy(
    *,
    ibgp: bool = False,
    extended: bool = False,
    four_octet: bool = True,
    families: frozenset[Family] = BOTH,
    local_asn: int = 64501,
    v4: IPv4Address | None = LOCAL_V4,
    v6: IPv6Address | None = None,
) -> ExportPolicy:
    negotiated = Negotiated(families=families, extended_message=extended, four_octet_as=four_octet)
    return ExportPolicy(negotiated, local_asn, ibgp, v4, v6)


def table(rib: AdjRibOut, pol: ExportPolicy) -> list[bytes]:
    """The whole initial table (the lazy stream of `start`, consumed)."""
    return list(rib.start(pol))


def decoded(messages: list[bytes], pol: ExportPolicy) -> list[Update]:
    out = []
    for data in messages:
        message = decode(data, pol.negotiated)
        assert isinstance(message, Update)
        assert not message.errors, message.errors
        out.append(message)
    return out


class PeerRib:
    """What a peer holds after applying our UPDATEs."""

    def __init__(self) -> None:
        self.routes: dict[Prefix, tuple[object, ...]] = {}
        self.eor: list[Family] = []

    def apply(self, updates: list[Update]) -> None:
        for update in updates:
            eor = update.is_end_of_rib()
            if eor is not None:
                self.eor.append(eor)
                continue
            for prefixes in update.withdrawn_by_family().values():
                for prefix in prefixes:
                    del self.routes[prefix]
            for prefixes in update.announced().values():
                for prefix in prefixes:
                    self.routes[prefix] = update.attributes


@cache
def _hosts(count: int, base: str) -> tuple[Route, ...]:
    start = int(IPv4Address(base))
    return tuple(Route(IPv4Network((start + i, 32))) for i in range(count))


def hosts(count: int, base: str = "10.0.0.0") -> list[Route]:
    """`count` consecutive /32 routes from `base` (built once per test run)."""
    return list(_hosts(count, base))


def test_100k_host_routes_pack_into_124_updates() -> None:
    rib = AdjRibOut()
    rib.set_routes(hosts(100_000))
    pol = policy()
    messages = table(rib, pol)
    updates = decoded(messages, pol)
    assert len(messages) == 124 + 2  # + End-of-RIB for IPv4 and IPv6
    assert max(map(len, messages)) <= MAX_MESSAGE
    assert sum(len(u.nlri) for u in updates) == 100_000
    assert len({u.nlri for u in updates if u.nlri}) == 124
    assert rib.advertised_count(IPV4_UNICAST) == 100_000


def test_extended_message_packs_into_fewer_updates() -> None:
    rib = AdjRibOut()
    rib.set_routes(hosts(100_000))
    messages = table(rib, policy(extended=True))
    assert len(messages) - 2 == 8
    assert max(map(len, messages)) <= 65535


def test_end_of_rib_once_per_negotiated_family() -> None:
    rib = AdjRibOut()
    rib.set_routes(hosts(3))
    pol = policy(families=frozenset({IPV4_UNICAST}))
    updates = decoded(table(rib, pol), pol)
    assert [u.is_end_of_rib() for u in updates] == [None, IPV4_UNICAST]
    rib.set_routes(hosts(4))
    assert [u.is_end_of_rib() for u in decoded(rib.flush(), pol)] == [None]
    assert rib.flush() == []


def test_nothing_goes_out_before_start_or_after_stop() -> None:
    rib = AdjRibOut()
    rib.set_routes(hosts(3))
    assert rib.flush() == [] and rib.advertised_count(IPV4_UNICAST) == 0
    table(rib, policy())
    rib.stop()
    rib.set_routes(hosts(5))
    assert rib.flush() == [] and rib.advertised_count(IPV4_UNICAST) == 0


def test_the_diff_is_minimal() -> None:
    rib = AdjRibOut()
    routes = hosts(10)
    rib.set_routes(routes)
    pol = policy()
    table(rib, pol)
    changed = Route(routes[3].prefix, med=5)
    rib.set_routes([*routes[:3], changed, *routes[4:9]])  # change one, drop the last
    updates = decoded(rib.flush(), pol)
    assert [(u.withdrawn, u.nlri) for u in updates] == [((routes[9].prefix,), ()), ((), (routes[3].prefix,))]
    assert updates[1].get(MultiExitDisc) == MultiExitDisc(5)
    rib.set_routes([*routes[:3], Route(routes[3].prefix, med=5), *routes[4:9]])  # equal, new objects
    assert rib.flush() == []


def test_withdraw_then_readd() -> None:
    rib = AdjRibOut()
    route = Route(ip_network("198.51.100.1/32"))
    pol = policy()
    rib.set_routes([route])
    table(rib, pol)
    rib.set_routes([])
    assert decoded(rib.flush(), pol)[0].withdrawn == (route.prefix,)
    rib.set_routes([route])
    assert decoded(rib.flush(), pol)[0].nlri == (route.prefix,)


def test_ipv6_goes_in_mp_reach_and_mp_unreach() -> None:
    rib = AdjRibOut()
    v6 = [Route(IPv6Network((0x20010DB8 << 96 | i, 128))) for i in range(1000)]
    pol = policy(v6=IPv6Address("2001:db8:ffff::1"))
    rib.set_routes(v6)
    messages = table(rib, pol)
    updates = decoded(messages, pol)
    reach = [u.get(MpReachNlri) for u in updates if u.get(MpReachNlri)]
    assert sum(len(r.nlri) for r in reach if r) == 1000
    assert {r.next_hops for r in reach if r} == {(IPv6Address("2001:db8:ffff::1"),)}
    assert all(not u.nlri for u in updates) and max(map(len, messages)) <= MAX_MESSAGE
    rib.set_routes([])
    withdrawn = [u.get(MpUnreachNlri) for u in decoded(rib.flush(), pol)]
    assert sum(len(w.withdrawn) for w in withdrawn if w) == 1000


def test_large_withdrawals_are_split() -> None:
    rib = AdjRibOut()
    pol = policy()
    rib.set_routes(hosts(5000))
    table(rib, pol)
    rib.set_routes([])
    messages = rib.flush()
    assert len(messages) == 7 and max(map(len, messages)) <= MAX_MESSAGE  # 814 /32s per UPDATE
    assert sum(len(u.withdrawn) for u in decoded(messages, pol)) == 5000


def test_routes_group_by_attribute_set() -> None:
    rib = AdjRibOut()
    pol = policy()
    a = [Route(ip_network(f"198.51.100.{i}/32"), communities=(0xFC000001,)) for i in range(5)]
    b = [Route(ip_network(f"203.0.113.{i}/32"), large_communities=((64500, 1, 2),)) for i in range(5)]
    rib.set_routes(a + b)
    updates = decoded(table(rib, pol), pol)[:-2]
    assert len(updates) == 2
    by_nlri = {u.nlri: u for u in updates}
    assert by_nlri[tuple(r.prefix for r in a)].get(Communities) == Communities((0xFC000001,))
    assert by_nlri[tuple(r.prefix for r in b)].get(LargeCommunities) == LargeCommunities(((64500, 1, 2),))


def test_ebgp_and_ibgp_attributes() -> None:
    route = Route(ip_network("198.51.100.1/32"), as_path_prepend=(64501, 64501), local_pref=200)
    for ibgp, path, local_pref in (
        (False, AsPath.sequence(64501, 64501, 64501), None),
        (True, AsPath.sequence(64501, 64501), LocalPref(200)),
    ):
        rib = AdjRibOut()
        rib.set_routes([route])
        pol = policy(ibgp=ibgp)
        (update, _eor4, _eor6) = decoded(table(rib, pol), pol)
        assert update.get(AsPath) == path
        assert update.get(LocalPref) == local_pref
        assert update.get(NextHop) == NextHop(LOCAL_V4)


def test_a_two_octet_peer_gets_as_trans_and_as4_path() -> None:
    rib = AdjRibOut()
    rib.set_routes([Route(ip_network("198.51.100.1/32"))])
    pol = policy(four_octet=False, local_asn=4200000001)
    (update, *_eors) = decoded(table(rib, pol), pol)
    assert update.get(AsPath) == AsPath.sequence(4200000001)  # merged back by the decoder (RFC 6793)
    raw = table(rib, pol)[0]
    assert AS_TRANS.to_bytes(2, "big") in raw and (4200000001).to_bytes(4, "big") in raw
    assert bytes((0xC0, As4Path.type_code, 6, 2, 1)) in raw  # AS4_PATH: one AS_SEQUENCE of one ASN


def test_routes_without_a_usable_next_hop_are_counted() -> None:
    rib = AdjRibOut()
    rib.set_routes([Route(ip_network("198.51.100.1/32")), Route(ip_network("2001:db8::1/128"))])
    pol = policy(v4=None, v6=IPv6Address("2001:db8::ffff"))
    updates = decoded(table(rib, pol), pol)
    assert [u.announced() for u in updates if u.announced()] == [
        {IPV6_UNICAST: (ip_network("2001:db8::1/128"),)}
    ]
    assert rib.unresolved == 1
    assert rib.flush() == [] and rib.unresolved == 1


def test_families_not_negotiated_are_not_sent() -> None:
    rib = AdjRibOut()
    rib.set_routes([Route(ip_network("2001:db8::1/128"))])
    pol = policy(families=frozenset({IPV4_UNICAST}))
    assert [u.is_end_of_rib() for u in decoded(table(rib, pol), pol)] == [IPV4_UNICAST]


def test_refresh_resends_one_family() -> None:
    rib = AdjRibOut()
    pol = policy(v6=IPv6Address("2001:db8::ffff"))
    rib.set_routes([*hosts(3), Route(ip_network("2001:db8::1/128"))])
    table(rib, pol)
    updates = decoded(rib.refresh(IPV4_UNICAST), pol)
    assert [len(u.nlri) for u in updates] == [3]
    assert rib.refresh(Family(25, 70)) == []


prefix_v4 = st.builds(
    lambda n, length: IPv4Network((n, length), strict=False), st.integers(0, 2**32 - 1), st.integers(8, 32)
)
prefix_v6 = st.builds(
    lambda n, length: IPv6Network((n, length), strict=False), st.integers(0, 2**128 - 1), st.integers(16, 128)
)
route_st = st.builds(
    Route,
    prefix=st.one_of(prefix_v4, prefix_v6),
    med=st.sampled_from([None, 10, 20]),
    communities=st.sampled_from([(), (1,), (2, 3)]),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(route_st, max_size=300),
    st.lists(route_st, max_size=300),
    st.sampled_from([False, True]),
)
def test_what_the_peer_ends_up_with_is_the_desired_set(
    first: list[Route], second: list[Route], extended: bool
) -> None:
    rib = AdjRibOut()
    pol = policy(extended=extended, v6=IPv6Address("2001:db8::ffff"))
    peer = PeerRib()
    limit = pol.negotiated.max_message_size
    for desired, initial in ((first, True), (second, False)):
        rib.set_routes(desired)
        messages = table(rib, pol) if initial else rib.flush()
        assert all(len(m) <= limit for m in messages)
        peer.apply(decoded(messages, pol))
        wanted = {r.prefix: r for r in desired}
        assert set(peer.routes) == set(wanted)
    assert peer.eor == [IPV4_UNICAST, IPV6_UNICAST]
    # Minimality: flushing again sends nothing.
    assert rib.flush() == []


@settings(max_examples=40, deadline=None)
@given(st.lists(route_st, min_size=1, max_size=200), st.data())
def test_only_changed_routes_are_sent(routes: list[Route], data: st.DataObject) -> None:
    rib = AdjRibOut()
    pol = policy(v6=IPv6Address("2001:db8::ffff"))
    unique = list({r.prefix: r for r in routes}.values())
    rib.set_routes(unique)
    table(rib, pol)
    keep = data.draw(st.lists(st.booleans(), min_size=len(unique), max_size=len(unique)))
    kept = [r for r, k in zip(unique, keep, strict=True) if k]
    dropped = {r.prefix for r, k in zip(unique, keep, strict=True) if not k}
    rib.set_routes(kept)
    updates = decoded(rib.flush(), pol)
    withdrawn = {p for u in updates for ps in u.withdrawn_by_family().values() for p in ps}
    announced = [p for u in updates for ps in u.announced().values() for p in ps]
    assert withdrawn == dropped and announced == []


@pytest.mark.parametrize("count", [0, 1, 810, 811])
def test_boundaries_of_one_update(count: int) -> None:
    rib = AdjRibOut()
    rib.set_routes(hosts(count))
    pol = policy(families=frozenset({IPV4_UNICAST}))
    messages = table(rib, pol)[:-1]
    assert len(messages) == (count + 809) // 810
    assert sum(len(u.nlri) for u in decoded(messages, pol)) == count


def test_the_initial_table_is_built_as_it_is_consumed() -> None:
    rib = AdjRibOut()
    rib.set_routes(hosts(100_000))
    pol = policy()
    stream = rib.start(pol)
    first = next(stream)
    assert len(decoded([first], pol)[0].nlri) == 810
    assert rib.advertised_count(IPV4_UNICAST) == 810  # the peer has what left so far, no more
    assert rib.flush() == [] and rib.refresh(IPV4_UNICAST) == []  # the stream is still going
    assert len(list(stream)) == 123 + 2


def test_changes_during_the_initial_table_go_out_before_end_of_rib() -> None:
    rib = AdjRibOut()
    routes = hosts(2000)
    rib.set_routes(routes)
    pol = policy(families=frozenset({IPV4_UNICAST}))
    stream = rib.start(pol)
    head = [next(stream)]
    late = Route(ip_network("198.51.100.1/32"))
    rib.set_routes([*routes[1:], late])  # drop the first route, add one
    peer = PeerRib()
    updates = decoded(head + list(stream), pol)
    peer.apply(updates)
    assert set(peer.routes) == {r.prefix for r in routes[1:]} | {late.prefix}
    assert updates[-1].is_end_of_rib() == IPV4_UNICAST and peer.eor == [IPV4_UNICAST]
    assert rib.flush() == []


def test_a_stream_outlived_by_stop_ends() -> None:
    rib = AdjRibOut()
    rib.set_routes(hosts(5000))
    stream = rib.start(policy())
    next(stream)
    rib.stop()
    assert list(stream) == []


def test_interleaved_attribute_sets_pack_as_tightly_as_sorted_ones() -> None:
    plain = hosts(3000)
    tagged = [Route(r.prefix, communities=(7,)) for r in hosts(3000, "10.1.0.0")]
    interleaved = [route for pair in zip(plain, tagged, strict=True) for route in pair]
    rib = AdjRibOut()
    rib.set_routes(interleaved)
    pol = policy(families=frozenset({IPV4_UNICAST}))
    messages = table(rib, pol)[:-1]
    by_sorted = AdjRibOut()
    by_sorted.set_routes(plain + tagged)
    assert len(messages) == len(table(by_sorted, pol)) - 1 == 8  # 4 + 4, not 6000
    assert sum(len(u.nlri) for u in decoded(messages, pol)) == 6000


def test_mixed_prefix_lengths_fill_updates() -> None:
    rib = AdjRibOut()
    routes = [Route(IPv4Network((0x0A000000 + (i << 8), 24 if i % 3 else 32))) for i in range(3000)]
    rib.set_routes(routes)
    pol = policy(families=frozenset({IPV4_UNICAST}))
    messages = table(rib, pol)[:-1]
    assert max(map(len, messages)) <= MAX_MESSAGE
    assert all(len(m) > MAX_MESSAGE - 5 for m in messages[:-1])  # full but for the last
    assert sum(len(u.nlri) for u in decoded(messages, pol)) == 3000
