"""Session routes: attributes per session type, diffs on the wire, End-of-RIB, refresh, counters."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgplb.bgp.attributes import AsPath, LocalPref, MpReachNlri, NextHop, Origin
from bgplb.bgp.capabilities import Multiprotocol
from bgplb.bgp.codec import decode, encode, split_frames
from bgplb.bgp.constants import AS_TRANS, IPV4_UNICAST, IPV6_UNICAST, MAX_MESSAGE, MessageType
from bgplb.bgp.events import EndOfRibReceived
from bgplb.bgp.fsm import State
from bgplb.bgp.messages import Keepalive, Notification, Open, RouteRefresh, Update
from bgplb.bgp.routes import Route
from bgplb.bgp.session import PeerConfig, Session
from tests.bgp.helpers import (
    ADDRESS_A,
    Pair,
    attrs_of,
    config,
    decode_stream,
    ebgp_configs,
    open_bytes,
    updates,
)

V4 = ip_network("198.51.100.10/32")
V6 = ip_network("2001:db8::10/128")


def test_ibgp_sends_local_pref_and_an_empty_as_path() -> None:
    pair = Pair.of(config(64500, 64500, "10.0.0.1"), config(64500, 64500, "10.0.0.2"))
    pair.a.set_routes([Route(V4), Route(ip_network("198.51.100.11/32"), local_pref=250)])
    pair.establish()
    received = pair.b.adj_rib_in.routes(IPV4_UNICAST)
    assert {attrs_of(received[V4], LocalPref)} == {LocalPref(100)}
    assert attrs_of(received[ip_network("198.51.100.11/32")], LocalPref) == LocalPref(250)
    assert attrs_of(received[V4], AsPath) == AsPath(())
    assert attrs_of(received[V4], NextHop) == NextHop(ADDRESS_A)


def test_ebgp_prepends_our_asn_sets_next_hop_self_and_no_local_pref() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(ca, cb)
    hop = IPv4Address("192.0.2.99")
    pair.a.set_routes([Route(V4, local_pref=300), Route(ip_network("198.51.100.12/32"), next_hop=hop)])
    pair.establish()
    received = pair.b.adj_rib_in.routes(IPV4_UNICAST)
    assert attrs_of(received[V4], AsPath) == AsPath.sequence(64501)
    assert attrs_of(received[V4], NextHop) == NextHop(ADDRESS_A)
    assert attrs_of(received[ip_network("198.51.100.12/32")], NextHop) == NextHop(hop)
    assert not [a for a in received[V4] if isinstance(a, LocalPref)]
    assert attrs_of(received[V4], Origin) == Origin()


def test_ipv6_over_an_ipv4_session_uses_the_mapped_next_hop() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(ca, cb)
    pair.a.set_routes([Route(V6)])
    pair.establish()
    reach = attrs_of(pair.b.adj_rib_in.routes(IPV6_UNICAST)[V6], MpReachNlri)
    assert isinstance(reach, MpReachNlri)
    assert reach.next_hops == (IPv6Address("::ffff:192.0.2.1"),)


@pytest.mark.parametrize(
    ("asn_a", "asn_b"), [(4200000001, 64500), (64501, 4200000002), (4200000001, 4200000002)]
)
def test_four_octet_asns(asn_a: int, asn_b: int) -> None:
    pair = Pair.of(config(asn_a, asn_b, "10.0.0.1"), config(asn_b, asn_a, "10.0.0.2"))
    pair.a.set_routes([Route(V4)])
    pair.establish()
    assert pair.a.negotiated is not None and pair.a.negotiated.peer_asn == asn_b
    assert attrs_of(pair.b.adj_rib_in.routes(IPV4_UNICAST)[V4], AsPath) == AsPath.sequence(asn_a)


def test_a_dynamic_peer_learns_the_asn_from_the_open() -> None:
    pair = Pair.of(config(64500, None, "10.0.0.1"), config(64500, 64500, "10.0.0.2"))
    pair.a.set_routes([Route(V4)])
    pair.establish()
    assert attrs_of(pair.b.adj_rib_in.routes(IPV4_UNICAST)[V4], LocalPref) == LocalPref(100)  # iBGP


def test_set_routes_when_established_sends_the_difference_at_once() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(ca, cb)
    pair.a.set_routes([Route(V4)])
    pair.establish()
    pair.wire_a_to_b.clear()
    pair.a.set_routes([Route(V4), Route(V6)])
    pair.pump()
    (sent,) = updates(pair.wire_a_to_b)
    assert sent.announced() == {IPV6_UNICAST: (V6,)}
    pair.wire_a_to_b.clear()
    pair.a.set_routes([Route(V6)])
    pair.pump()
    (sent,) = updates(pair.wire_a_to_b)
    assert sent.withdrawn == (V4,)
    assert pair.b.adj_rib_in.counts() == {IPV6_UNICAST: 1}
    assert pair.a.stats.prefixes_sent == {IPV4_UNICAST: 0, IPV6_UNICAST: 1}
    assert pair.b.stats.prefixes_received == {IPV6_UNICAST: 1}


def test_update_routes_when_established_sends_the_change_at_once() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(ca, cb)
    pair.a.set_routes([Route(V4)])
    pair.establish()
    pair.wire_a_to_b.clear()
    pair.a.update_routes(add=[Route(V6, med=5)], withdraw=[V4])
    pair.pump()
    sent = updates(pair.wire_a_to_b)
    assert [u.withdrawn for u in sent if u.withdrawn] == [(V4,)]
    assert [u.announced() for u in sent if u.announced()] == [{IPV6_UNICAST: (V6,)}]
    assert pair.b.adj_rib_in.counts() == {IPV6_UNICAST: 1}
    assert pair.a.stats.prefixes_sent == {IPV4_UNICAST: 0, IPV6_UNICAST: 1}


def test_a_copied_session_announces_the_same_routes() -> None:
    ca, cb = ebgp_configs()
    first = Session(ca)
    first.set_routes(Route(ip_network((0xC6336400 + i, 32))) for i in range(50))
    pair = Pair.of(ca, cb)
    pair.a.copy_routes(first)
    pair.establish()
    assert pair.b.adj_rib_in.counts() == {IPV4_UNICAST: 50}


def test_end_of_rib_follows_the_initial_table_once() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(ca, cb)
    pair.a.set_routes([Route(V4)])
    pair.establish()
    eors = [e.family for e in pair.events_b if isinstance(e, EndOfRibReceived)]
    assert sorted(eors, key=str) == [IPV4_UNICAST, IPV6_UNICAST]
    sent = updates(pair.wire_a_to_b)
    assert sent[0].nlri == (V4,) and sent[-1].is_end_of_rib() is not None
    pair.a.set_routes([])
    pair.pump()
    assert len([e for e in pair.events_b if isinstance(e, EndOfRibReceived)]) == 2


def test_route_refresh_resends_the_family() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(ca, cb)
    pair.a.set_routes([Route(V4), Route(V6)])
    pair.establish()
    pair.wire_a_to_b.clear()
    pair.feed_a(encode(RouteRefresh(1, 1)))
    pair.pump()
    (sent,) = updates(pair.wire_a_to_b)
    assert sent.nlri == (V4,)
    assert pair.a.stats.messages_in[MessageType.ROUTE_REFRESH] == 1


def test_stats_count_messages_both_ways() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(ca, cb)
    pair.a.set_routes([Route(V4)])
    pair.establish()
    a, b = pair.a.stats, pair.b.stats
    assert a.messages_out == b.messages_in
    assert a.messages_out[MessageType.OPEN] == 1 and a.messages_out[MessageType.UPDATE] == 3  # route + 2 EoR
    assert a.uptime(pair.now + 5) == 5 and a.established_since == pair.now
    assert a.state is State.ESTABLISHED and b.prefixes_received == {IPV4_UNICAST: 1}


def test_an_ipv4_route_over_an_ipv6_session_without_next_hop_is_counted_not_sent() -> None:
    cfg = PeerConfig(local_asn=64501, peer_asn=64500, router_id=IPv4Address("10.0.0.1"))
    session = Session(cfg)
    session.set_routes([Route(V4), Route(V6)])
    session.start(0.0)
    session.connection_made(0.0, IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2"))
    peer_open = Open(64500, 90, IPv4Address("10.0.0.2"), (Multiprotocol(1, 1), Multiprotocol(2, 1)))
    session.receive_data(encode(peer_open) + encode(Keepalive()), 0.0)
    assert session.state is State.ESTABLISHED
    sent = [m for m in decode_stream(session.data_to_send()) if isinstance(m, Update) and m.announced()]
    assert [m.announced() for m in sent] == [{IPV6_UNICAST: (V6,)}]
    assert session.stats.routes_unresolved == 1


def test_extended_messages_flow_when_both_sides_offer_them() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(ca, cb)
    pair.a.set_routes([Route(ip_network((0x0A000000 + i, 32))) for i in range(20_000)])
    pair.establish()
    sizes = [len(chunk) for chunk in pair.wire_a_to_b]
    assert pair.b.adj_rib_in.count(IPV4_UNICAST) == 20_000
    big = [m for m in updates(pair.wire_a_to_b) if len(m.nlri) > 1000]
    assert big and max(sizes) > 4096


def test_the_initial_table_comes_out_in_pieces_when_asked_with_a_limit() -> None:
    session = Session(config(64501, 64500, "10.0.0.1"))
    session.set_routes([Route(ip_network((0x0A000000 + i, 32))) for i in range(20_000)])
    session.start(0.0)
    session.connection_made(0.0, ADDRESS_A, IPv4Address("192.0.2.2"))
    session.data_to_send()
    session.receive_data(open_bytes() + encode(Keepalive()), 0.0)
    assert session.state is State.ESTABLISHED
    chunks = []
    while chunk := session.data_to_send(16_384):
        chunks.append(chunk)
        assert len(chunk) < 16_384 + 4096
        assert session.sending_table or not session.data_to_send(16_384)
    assert not session.sending_table
    sent = [m for chunk in chunks for m in decode_stream(chunk) if isinstance(m, Update)]
    assert len(chunks) > 5
    assert sum(len(m.nlri) for m in sent) == 20_000 and sent[-1].is_end_of_rib() == IPV4_UNICAST
    assert session.stats.prefixes_sent[IPV4_UNICAST] == 20_000
    assert session.stats.messages_out[MessageType.UPDATE] == len(sent)


def test_a_session_that_goes_down_mid_table_stops_sending_it() -> None:
    session = Session(config(64501, 64500, "10.0.0.1"))
    session.set_routes([Route(ip_network((0x0A000000 + i, 32))) for i in range(20_000)])
    session.start(0.0)
    session.connection_made(0.0, ADDRESS_A, IPv4Address("192.0.2.2"))
    session.receive_data(open_bytes() + encode(Keepalive()), 0.0)
    session.data_to_send(4096)
    session.receive_data(encode(Notification(6, 2)), 1.0)
    assert session.state is State.IDLE
    assert session.data_to_send() == b""


def test_a_two_octet_peer_sees_as_trans_and_as4_path() -> None:
    session = Session(config(4200000001, 64500, "10.0.0.1"))
    session.set_routes([Route(V4)])
    session.start(0.0)
    session.connection_made(0.0, ADDRESS_A, IPv4Address("192.0.2.2"))
    our_open = session.data_to_send()
    assert our_open[20:22] == AS_TRANS.to_bytes(2, "big")  # My Autonomous System (RFC 6793 §4.1)
    old_peer = Open(64500, 90, IPv4Address("10.0.0.2"), (Multiprotocol(1, 1),))  # no 4-octet capability
    session.receive_data(encode(old_peer) + encode(Keepalive()), 0.0)
    assert session.state is State.ESTABLISHED and session.negotiated is not None
    assert not session.negotiated.four_octet_as
    data = session.data_to_send()
    frames = split_frames(bytearray(data), MAX_MESSAGE)
    update = decode(frames[1], session.negotiated)  # frames[0] is the KEEPALIVE
    assert isinstance(update, Update) and update.nlri == (V4,)
    assert update.get(AsPath) == AsPath.sequence(4200000001)  # AS_PATH [23456] + AS4_PATH, merged
    assert bytes((0xC0, 17)) in frames[1] or bytes((0xD0, 17)) in frames[1]  # AS4_PATH is on the wire


def test_begin_and_end_of_rib_refresh_markers_are_not_requests() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(ca, cb)
    pair.a.set_routes([Route(V4)])
    pair.establish()
    pair.wire_a_to_b.clear()
    pair.feed_a(encode(RouteRefresh(1, 1, 1)) + encode(RouteRefresh(1, 1, 2)))
    pair.feed_a(encode(RouteRefresh(25, 70)))  # a family we never advertised: ignored (RFC 2918 §4)
    pair.pump()
    assert updates(pair.wire_a_to_b) == [] and pair.a.state is State.ESTABLISHED


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("routes"), st.sets(st.integers(0, 40), max_size=15)),
        st.tuples(st.just("advance"), st.floats(0.1, 120.0)),
        st.tuples(st.just("close"), st.none()),
        st.tuples(st.just("restart"), st.none()),
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(OPERATIONS)
def test_whatever_happens_the_peer_ends_up_with_the_desired_routes(
    operations: list[tuple[str, object]],
) -> None:
    pair = Pair.of(*ebgp_configs(hold_time=9))
    pair.start()
    desired: set[int] = set()

    def routes() -> list[Route]:
        return [Route(ip_network((0xC6336400 + i, 32))) for i in sorted(desired)]

    for operation, argument in operations:
        if operation == "routes":
            desired = set(argument)  # type: ignore[call-overload]
            pair.a.set_routes(routes())
            pair.pump()
        elif operation == "advance":
            pair.advance(float(argument))  # type: ignore[arg-type]
        elif operation == "close" and pair.connected:
            pair.close()
        elif operation == "restart":
            pair.events_a += pair.a.stop(pair.now, "restart")
            pair.pump()
            pair.events_a += pair.a.start(pair.now)
            pair.pump()
    pair.advance(300)  # longer than the largest back-off (60 s + 25 %) and several hold times
    assert pair.a.state is State.ESTABLISHED and pair.b.state is State.ESTABLISHED
    assert set(pair.b.adj_rib_in.routes(IPV4_UNICAST)) == {r.prefix for r in routes()}
