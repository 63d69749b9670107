"""Adj-RIB-Out: changing the desired set — the identity fast path of `set_routes`, `update_routes`,
`copy_routes`, changes while the initial table streams, and the compact storage of streamed routes."""

from __future__ import annotations

import tracemalloc
from ipaddress import IPv4Network, IPv6Address, ip_network

from hypothesis import given, settings
from hypothesis import strategies as st

from bgplb.bgp.adj_rib_out import AdjRibOut
from bgplb.bgp.attributes import MpReachNlri
from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST
from bgplb.bgp.routes import Route
from tests.bgp.test_adj_rib_out import PeerRib, decoded, hosts, policy, table

POL = policy(v6=IPv6Address("2001:db8::ffff"))
PREFIXES = [ip_network(f"198.51.100.{i}/32") for i in range(12)] + [
    ip_network(f"2001:db8::{i}/128") for i in range(6)
]
route_st = st.builds(
    Route,
    prefix=st.sampled_from(PREFIXES),
    med=st.sampled_from([None, 10]),
    communities=st.sampled_from([(), (7,)]),
)
EDITS = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "replace", "duplicate", "copy"]),
        st.integers(0, 40),
        route_st,
    ),
    min_size=1,
    max_size=12,
)


def held(peer: PeerRib) -> dict[object, tuple[object, ...]]:
    """The peer's routes with MP_REACH_NLRI reduced to its next hops (its NLRI depend on the packing)."""
    return {
        prefix: tuple(("mp", a.next_hops) if isinstance(a, MpReachNlri) else a for a in attributes)
        for prefix, attributes in peer.routes.items()
    }


def reference(routes: tuple[Route, ...]) -> dict[object, tuple[object, ...]]:
    """What a peer holds after the initial table of a fresh Adj-RIB-Out wanting `routes`."""
    rib = AdjRibOut()
    rib.set_routes(list(routes))
    peer = PeerRib()
    peer.apply(decoded(table(rib, POL), POL))
    return held(peer)


def edit(routes: list[Route], operation: str, position: int, route: Route) -> None:
    """Change `routes` in place, reusing every object that is not touched."""
    at = position % (len(routes) + 1)
    if operation == "insert" or not routes:
        routes.insert(at, route)
        return
    at %= len(routes)
    if operation == "delete":
        del routes[at]
    elif operation == "replace":
        routes[at] = route
    elif operation == "duplicate":  # the same prefix twice: the last one wins
        routes.insert(position % (len(routes) + 1), routes[at])
    else:  # an equal Route, but another object
        old = routes[at]
        routes[at] = Route(old.prefix, med=old.med, communities=old.communities)


@settings(max_examples=80, deadline=None)
@given(st.lists(route_st, max_size=15), st.lists(EDITS, min_size=1, max_size=4))
def test_edited_tuples_leave_the_peer_with_the_desired_set_and_send_only_the_change(
    start: list[Route], rounds: list[list[tuple[str, int, Route]]]
) -> None:
    rib = AdjRibOut()
    current = tuple(start)
    rib.set_routes(current)
    peer = PeerRib()
    peer.apply(decoded(table(rib, POL), POL))
    for edits in rounds:
        routes = list(current)
        for operation, position, route in edits:
            edit(routes, operation, position, route)
        before, current = held(peer), tuple(routes)
        rib.set_routes(current)
        updates = decoded(rib.flush(), POL)
        peer.apply(updates)
        after = held(peer)
        assert after == reference(current)
        announced = {p for u in updates for ps in u.announced().values() for p in ps}
        withdrawn = {p for u in updates for ps in u.withdrawn_by_family().values() for p in ps}
        assert withdrawn == before.keys() - after.keys()
        assert announced == {p for p, attrs in after.items() if before.get(p) != attrs}
        assert rib.flush() == []


def test_one_route_added_to_a_reused_tuple_sends_one_update() -> None:
    routes = tuple(hosts(20_000))
    rib = AdjRibOut()
    rib.set_routes(routes)
    table(rib, POL)
    extra = Route(ip_network("192.0.2.1/32"))
    for new in ((*routes, extra), routes, (*routes[:500], extra, *routes[500:]), routes, routes[1:]):
        rib.set_routes(new)
        [update] = decoded(rib.flush(), POL)
        assert len(update.nlri) + len(update.withdrawn) == 1
    assert rib.advertised_count(IPV4_UNICAST) == 19_999


def test_update_routes_adds_replaces_and_withdraws_in_place() -> None:
    rib = AdjRibOut()
    rib.set_routes(hosts(1000))
    table(rib, POL)
    tagged = Route(hosts(1)[0].prefix, communities=(9,))
    v6 = Route(ip_network("2001:db8::1/128"))
    rib.update_routes(add=[tagged, v6], withdraw=[hosts(2)[1].prefix, ip_network("192.0.2.77/32")])
    updates = decoded(rib.flush(), POL)
    withdrawn = [p for u in updates for ps in u.withdrawn_by_family().values() for p in ps]
    announced = {p for u in updates for ps in u.announced().values() for p in ps}
    assert withdrawn == [hosts(2)[1].prefix] and announced == {tagged.prefix, v6.prefix}
    assert rib.advertised_count(IPV4_UNICAST) == 999 and rib.advertised_count(IPV6_UNICAST) == 1
    rib.set_routes(hosts(1000))  # a full set after in-place changes takes the general path
    updates = decoded(rib.flush(), POL)
    assert {p for u in updates for ps in u.announced().values() for p in ps} == {p.prefix for p in hosts(2)}
    assert [p for u in updates for ps in u.withdrawn_by_family().values() for p in ps] == [v6.prefix]


def test_copy_routes_wants_the_same_set() -> None:
    original = AdjRibOut()
    original.set_routes(tuple(hosts(3000)))
    original.update_routes(add=[Route(ip_network("2001:db8::5/128"), med=5)])
    copy = AdjRibOut()
    copy.copy_routes(original)
    peers = []
    for rib in (original, copy):
        peer = PeerRib()
        peer.apply(decoded(table(rib, POL), POL))
        peers.append(peer.routes)
    assert peers[0] == peers[1] and len(peers[1]) == 3001


def test_changes_while_the_table_streams_do_not_disturb_it() -> None:
    routes = tuple(hosts(5000))
    rib = AdjRibOut()
    rib.set_routes(routes)
    stream = rib.start(POL)
    head = [next(stream)]
    late = Route(ip_network("192.0.2.9/32"))
    rib.set_routes((*routes[10:], late))  # the fast path, while the stream iterates the table
    rib.update_routes(add=[Route(ip_network("2001:db8::9/128"))], withdraw=[routes[20].prefix])
    peer = PeerRib()
    peer.apply(decoded(head + list(stream), POL))
    wanted = {r.prefix for r in routes[10:] if r is not routes[20]} | {
        late.prefix,
        ip_network("2001:db8::9/128"),
    }
    assert set(peer.routes) == wanted and peer.eor == [IPV4_UNICAST, IPV6_UNICAST]
    assert rib.flush() == []


def test_routes_from_a_generator_are_kept_compactly() -> None:
    """A streamed set keeps NLRI bytes and shared attribute keys, not 100,000 Route + IPv4Network
    values (~600 bytes each): well under 200 bytes per route."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        rib = AdjRibOut()
        rib.set_routes(Route(IPv4Network((0x0A000000 + i, 32))) for i in range(100_000))
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 100_000 * 200, kept
    peer = PeerRib()
    peer.apply(decoded(table(rib, POL), POL))
    assert len(peer.routes) == 100_000
