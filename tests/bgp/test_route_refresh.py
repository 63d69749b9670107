"""Route refresh between two Sessions: RFC 2918 requests, RFC 7313 BoRR/EoRR framing, stale purge, timer."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_network

import pytest

from bgplb.bgp.capabilities import EnhancedRouteRefresh, FourOctetAs, Multiprotocol, RouteRefreshCapability
from bgplb.bgp.codec import encode
from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST, MessageType
from bgplb.bgp.events import Event, RouteRefreshBegun, RouteRefreshEnded
from bgplb.bgp.fsm import State
from bgplb.bgp.messages import Keepalive, Message, Open, RouteRefresh, Update
from bgplb.bgp.route_refresh import (
    ENHANCED_REFRESH_STALE_TIME,
    RefreshRefusal,
    RefreshRefusedError,
    RefreshTracker,
)
from bgplb.bgp.routes import Route
from bgplb.bgp.session import Session
from tests.bgp import wire
from tests.bgp.helpers import ADDRESS_A, ADDRESS_B, Pair, config, decode_stream, ebgp_configs, notifications

P1 = ip_network("198.51.100.1/32")
P2 = ip_network("198.51.100.2/32")
V6 = ip_network("2001:db8::10/128")
BORR = RouteRefresh(1, 1, 1)
EORR = RouteRefresh(1, 1, 2)


def _messages(chunks: list[bytes]) -> list[Message]:
    return [m for chunk in chunks for m in decode_stream(chunk) if not isinstance(m, Keepalive)]


def _ended(events: list[Event]) -> list[RouteRefreshEnded]:
    return [e for e in events if isinstance(e, RouteRefreshEnded)]


def _established(enhanced_a: bool = True, enhanced_b: bool = True) -> Pair:
    """`b` announces P1 and P2 to `a` (with ERR on each side as asked)."""
    pair = Pair.of(
        config(64501, 64500, "10.0.0.1", enhanced_route_refresh=enhanced_a),
        config(64500, 64501, "10.0.0.2", enhanced_route_refresh=enhanced_b),
    )
    pair.b.set_routes([Route(P1), Route(P2), Route(V6)])
    pair.establish()
    assert pair.a.adj_rib_in.count(IPV4_UNICAST) == 2
    pair.wire_a_to_b.clear()
    pair.wire_b_to_a.clear()
    pair.events_a.clear()
    return pair


def test_the_answer_to_a_refresh_is_framed_by_borr_and_eorr() -> None:
    pair = _established()
    assert pair.a.negotiated is not None and pair.a.negotiated.enhanced_route_refresh
    pair.a.request_refresh(IPV4_UNICAST)
    pair.pump()
    assert _messages(pair.wire_a_to_b) == [RouteRefresh(1, 1, 0)]
    answer = _messages(pair.wire_b_to_a)
    assert answer[0] == BORR and answer[-1] == EORR, answer
    middle = answer[1:-1]
    assert middle and all(isinstance(m, Update) for m in middle)
    assert {p for m in middle if isinstance(m, Update) for p in m.nlri} == {P1, P2}  # IPv4 only
    assert pair.events_a == [RouteRefreshBegun(IPV4_UNICAST, 2), RouteRefreshEnded(IPV4_UNICAST, 0)]
    assert pair.a.adj_rib_in.count(IPV4_UNICAST) == 2 and pair.a.stats.prefixes_stale == 0
    assert pair.b.stats.messages_in[MessageType.ROUTE_REFRESH] == 1
    assert pair.a.stats.messages_in[MessageType.ROUTE_REFRESH] == 2


def test_a_route_the_peer_does_not_resend_is_purged_at_the_eorr() -> None:
    pair = _established()
    pair.b.update_routes(withdraw=[P2])
    pair.b.data_to_send()  # the withdrawal is lost: `a` still holds P2 (the inconsistency RFC 7313 repairs)
    assert set(pair.a.adj_rib_in.routes(IPV4_UNICAST)) == {P1, P2}
    pair.a.request_refresh(IPV4_UNICAST)
    pair.pump()
    assert set(pair.a.adj_rib_in.routes(IPV4_UNICAST)) == {P1}
    assert _ended(pair.events_a) == [RouteRefreshEnded(IPV4_UNICAST, 1)]
    assert pair.a.adj_rib_in.count(IPV6_UNICAST) == 1  # the other family is untouched


def test_routes_readvertised_after_borr_are_fresh_and_the_rest_stale_until_eorr() -> None:
    pair = _established()
    pair.feed_a(encode(BORR))
    assert pair.a.stats.prefixes_stale == 2
    pair.b.update_routes(add=[Route(P1, med=5)])  # P1 re-advertised (new MED): fresh again
    pair.pump()
    assert pair.a.stats.prefixes_stale == 1 and pair.a.adj_rib_in.count(IPV4_UNICAST) == 2
    pair.feed_a(encode(EORR))
    assert set(pair.a.adj_rib_in.routes(IPV4_UNICAST)) == {P1}
    assert pair.a.stats.prefixes_stale == 0 and pair.a.next_deadline() is not None  # keepalive/hold only


def test_a_borr_without_eorr_purges_at_the_stale_time() -> None:
    pair = _established()
    pair.feed_a(encode(BORR))
    pair.b.update_routes(add=[Route(P1, med=5)])
    pair.pump()
    pair.advance(ENHANCED_REFRESH_STALE_TIME - 1)
    assert pair.a.adj_rib_in.count(IPV4_UNICAST) == 2 and not _ended(pair.events_a)
    pair.advance(2)
    assert set(pair.a.adj_rib_in.routes(IPV4_UNICAST)) == {P1}
    assert _ended(pair.events_a) == [RouteRefreshEnded(IPV4_UNICAST, 1, timed_out=True)]
    assert pair.a.state is State.ESTABLISHED
    pair.feed_a(encode(EORR))  # a late EoRR: no BoRR pending any more, ignored
    assert len(_ended(pair.events_a)) == 1


def test_an_eorr_without_borr_is_ignored() -> None:
    pair = _established()
    pair.feed_a(encode(EORR))
    assert pair.events_a == [] and pair.a.adj_rib_in.count(IPV4_UNICAST) == 2


def test_without_err_negotiated_the_answer_is_plain_and_borr_is_ignored() -> None:
    pair = _established(enhanced_b=False)
    assert pair.a.negotiated is not None and not pair.a.negotiated.enhanced_route_refresh
    assert pair.a.negotiated.route_refresh
    pair.b.request_refresh(IPV4_UNICAST)
    pair.pump()
    answer = _messages(pair.wire_a_to_b)
    assert not any(isinstance(m, RouteRefresh) for m in answer)  # `a` has nothing: not even markers
    pair.wire_b_to_a.clear()
    pair.a.request_refresh(IPV4_UNICAST)
    pair.pump()
    plain = _messages(pair.wire_b_to_a)
    assert plain and all(isinstance(m, Update) for m in plain)
    pair.feed_a(encode(BORR) + encode(EORR))  # unsolicited markers without RFC 7313: nothing purged
    assert pair.a.adj_rib_in.count(IPV4_UNICAST) == 2 and pair.a.stats.prefixes_stale == 0
    assert not _ended(pair.events_a)


def test_an_unknown_subtype_is_ignored_whatever_its_length() -> None:
    pair = _established()
    pair.feed_a(wire.frame(5, b"\x00\x01\x03\x01") + wire.frame(5, b"\x00\x01\xff\x01\x00\x00"))
    assert pair.a.state is State.ESTABLISHED and pair.events_a == []
    assert notifications(pair.wire_a_to_b) == []


def test_a_borr_of_the_wrong_length_is_a_route_refresh_message_error() -> None:
    pair = _established()
    bad = wire.frame(5, b"\x00\x01\x01\x01\x00")
    pair.feed_a(bad)
    pair.pump()
    (sent,) = notifications(pair.wire_a_to_b)
    assert (sent.code, sent.subcode, sent.data) == (7, 1, bad)  # RFC 7313 §5: the whole message as data
    assert pair.a.state is not State.ESTABLISHED


def test_a_session_going_down_mid_refresh_forgets_it() -> None:
    pair = _established()
    pair.feed_a(encode(BORR))
    pair.close()
    assert pair.a.adj_rib_in.count(IPV4_UNICAST) == 0 and pair.a.stats.prefixes_stale == 0
    pair.advance(ENHANCED_REFRESH_STALE_TIME + 1)
    assert not _ended(pair.events_a)


def test_request_refresh_is_refused_when_it_cannot_be_sent() -> None:
    ca, _ = ebgp_configs()
    with pytest.raises(RefreshRefusedError, match="not Established") as caught:
        Session(ca).request_refresh(IPV4_UNICAST)
    assert caught.value.reason is RefreshRefusal.NOT_ESTABLISHED
    pair = Pair.of(
        config(64501, 64500, "10.0.0.1"),
        config(64500, 64501, "10.0.0.2", route_refresh=False),
    )
    pair.establish()
    with pytest.raises(RefreshRefusedError) as caught:
        pair.a.request_refresh(IPV4_UNICAST)
    assert caught.value.reason is RefreshRefusal.NOT_NEGOTIATED
    pair = Pair.of(
        config(64501, 64500, "10.0.0.1", families=(IPV4_UNICAST,)), config(64500, 64501, "10.0.0.2")
    )
    pair.establish()
    with pytest.raises(RefreshRefusedError) as caught:
        pair.b.request_refresh(IPV6_UNICAST)
    assert caught.value.reason is RefreshRefusal.FAMILY_NOT_NEGOTIATED and "ipv6-unicast" in str(caught.value)
    assert pair.b.data_to_send() == b""


def test_a_refresh_during_the_initial_table_adds_no_markers() -> None:
    session = Session(config(64501, 64500, "10.0.0.1"))
    session.set_routes([Route(ip_network((0x0A000000 + i, 32))) for i in range(5_000)])
    session.start(0.0)
    session.connection_made(0.0, ADDRESS_A, ADDRESS_B)
    session.data_to_send()
    caps = (Multiprotocol(1, 1), RouteRefreshCapability(), EnhancedRouteRefresh(), FourOctetAs(64500))
    peer_open = Open(64500, 90, IPv4Address("10.0.0.2"), caps)
    session.receive_data(encode(peer_open) + encode(Keepalive()), 0.0)
    first = session.data_to_send(4096)
    session.receive_data(encode(RouteRefresh(1, 1)), 1.0)
    rest = decode_stream(first + session.data_to_send())
    assert not any(isinstance(m, RouteRefresh) for m in rest)
    sent = [m for m in rest if isinstance(m, Update)]
    assert sum(len(m.nlri) for m in sent) == 5_000 and sent[-1].is_end_of_rib() == IPV4_UNICAST


def test_tracker_orders_deadlines_and_forgets_ended_families() -> None:
    tracker = RefreshTracker(stale_time=10)
    tracker.begin(IPV4_UNICAST, 0)
    tracker.begin(IPV6_UNICAST, 5)
    assert tracker.next_deadline() == 10 and tracker.active(IPV4_UNICAST)
    assert tracker.expired(9) == [] and tracker.expired(12) == [IPV4_UNICAST]
    assert not tracker.end(IPV4_UNICAST) and tracker.end(IPV6_UNICAST)
    assert tracker.next_deadline() is None
