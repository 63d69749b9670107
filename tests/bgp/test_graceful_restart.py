"""RFC 4724 graceful restart: bgplb as the restarting speaker and as the receiving speaker (helper)."""

from __future__ import annotations

import random
from ipaddress import IPv4Address, ip_network

import pytest

from bgplb.bgp.attributes import AsPath, NextHop, Origin
from bgplb.bgp.capabilities import GracefulRestart, GracefulRestartFamily, Multiprotocol
from bgplb.bgp.codec import encode
from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST
from bgplb.bgp.events import StaleRoutesPurged
from bgplb.bgp.fsm import DownReason, State
from bgplb.bgp.graceful_restart import local_capabilities, preserved_families, stale_families
from bgplb.bgp.messages import Keepalive, Notification, Open, Update
from bgplb.bgp.negotiation import Negotiated
from bgplb.bgp.routes import Route
from bgplb.bgp.session import GracefulRestartConfig, PeerConfig, Session
from tests.bgp.helpers import ADDRESS_A, ADDRESS_B, Pair, decode_stream, ebgp_configs, with_config

V4 = ip_network("198.51.100.10/32")
V4_OTHER = ip_network("198.51.100.11/32")
GR = GracefulRestartConfig(restart_time=120, stale_routes_time=360)


def opens(wire: list[bytes]) -> list[Open]:
    return [m for chunk in wire for m in decode_stream(chunk) if isinstance(m, Open)]


def gr_pair(**kwargs: object) -> Pair:
    ca, cb = ebgp_configs(graceful_restart=GR, **kwargs)
    return Pair.of(ca, cb)


def restart_a(pair: Pair, routes: list[Route], *, graceful: bool = True) -> Session:
    """Stop `a` keeping forwarding state, then start a new restarting Session in its place."""
    pair.events_a += pair.a.stop(pair.now, keep_forwarding=graceful)
    pair.pump()
    assert not pair.connected
    new = Session(pair.a.config, rng=random.Random(5), restarting=True)
    new.set_routes(routes)
    pair.a = new
    pair.events_a.clear()
    pair.wire_a_to_b.clear()
    pair.events_a += new.start(pair.now)
    return new


def test_a_graceful_stop_sends_no_notification() -> None:
    pair = gr_pair()
    pair.establish()
    pair.wire_a_to_b.clear()
    pair.a.stop(pair.now, "restarting", keep_forwarding=True)
    assert pair.a.should_close()
    assert pair.a.data_to_send() == b""
    assert pair.a.stats.last_down_reason is DownReason.GRACEFUL_STOP


def test_keep_forwarding_without_graceful_restart_still_sends_cease() -> None:
    pair = Pair.of(*ebgp_configs())
    pair.establish()
    pair.a.stop(pair.now, "bye", keep_forwarding=True)
    assert decode_stream(pair.a.data_to_send()) == [Notification.shutdown("bye")]


def test_the_restarting_speaker_sends_the_r_bit_then_its_table_and_end_of_rib() -> None:
    pair = gr_pair()
    pair.a.set_routes([Route(V4)])
    pair.establish()
    first = opens(pair.wire_a_to_b)[0].capability(GracefulRestart)
    assert first is not None and not first.restarting and first.restart_time == 120
    new = restart_a(pair, [Route(V4)])
    pair.advance(5)
    assert new.state is State.ESTABLISHED
    cap = opens(pair.wire_a_to_b)[0].capability(GracefulRestart)
    assert cap is not None and cap.restarting
    assert {(f.family, f.forwarding_preserved) for f in cap.families} == {
        (IPV4_UNICAST, True),
        (IPV6_UNICAST, True),
    }
    updates = [m for c in pair.wire_a_to_b for m in decode_stream(c) if isinstance(m, Update)]
    assert updates[0].nlri == (V4,) and [u.is_end_of_rib() for u in updates[1:]] == [
        IPV4_UNICAST,
        IPV6_UNICAST,
    ]
    # The R bit belongs to the first OPEN after the restart only.
    pair.wire_a_to_b.clear()
    pair.close()
    pair.advance(10)
    assert new.state is State.ESTABLISHED
    later = opens(pair.wire_a_to_b)[0].capability(GracefulRestart)
    assert later is not None and not later.restarting


def test_the_helper_keeps_stale_routes_until_end_of_rib() -> None:
    pair = gr_pair()
    pair.a.set_routes([Route(V4), Route(V4_OTHER)])
    pair.establish()
    restart_a(pair, [Route(V4)])
    # While `a` is away the helper keeps both routes, marked stale.
    assert pair.b.adj_rib_in.count(IPV4_UNICAST) == 2
    assert pair.b.stats.prefixes_stale == 2
    assert pair.b.stats.last_down_reason is DownReason.CONNECTION_LOST
    pair.advance(5)
    assert pair.a.state is State.ESTABLISHED
    # V4 came back fresh; V4_OTHER was not re-announced before End-of-RIB: purged.
    assert set(pair.b.adj_rib_in.routes(IPV4_UNICAST)) == {V4}
    assert pair.b.stats.prefixes_stale == 0
    purged = [e for e in pair.events_b if isinstance(e, StaleRoutesPurged)]
    assert purged == [StaleRoutesPurged(IPV4_UNICAST, 1)]


def test_the_helper_purges_stale_routes_after_the_restart_time() -> None:
    pair = gr_pair()
    pair.a.set_routes([Route(V4)])
    pair.establish()
    pair.events_a += pair.a.stop(pair.now, keep_forwarding=True)
    pair.pump()
    assert pair.b.stats.prefixes_stale == 1
    pair.advance(119)
    assert pair.b.adj_rib_in.count(IPV4_UNICAST) == 1
    pair.advance(2)
    assert pair.b.adj_rib_in.count(IPV4_UNICAST) == 0
    assert StaleRoutesPurged(None, 1) in pair.events_b


def test_the_helper_purges_at_once_when_the_peer_returns_without_graceful_restart() -> None:
    session = Session(
        PeerConfig(local_asn=64500, peer_asn=64501, router_id=IPv4Address("10.0.0.2"), graceful_restart=GR)
    )
    peer_gr = GracefulRestart(restart_time=120, families=(GracefulRestartFamily(1, 1, False),))
    with_gr = Open(64501, 90, IPv4Address("10.0.0.1"), (Multiprotocol(1, 1), peer_gr))
    session.start(0.0)
    session.connection_made(0.0, ADDRESS_B, ADDRESS_A)
    route = Update(attributes=(Origin(), AsPath.sequence(64501), NextHop(ADDRESS_A)), nlri=(V4,))
    session.receive_data(encode(with_gr) + encode(Keepalive()), 0.0)
    session.receive_data(encode(route, session.negotiated), 0.0)
    assert session.adj_rib_in.count(IPV4_UNICAST) == 1
    session.connection_lost(1.0)
    assert session.stats.prefixes_stale == 1
    session.tick(100.0)  # the back-off expired: dialling again
    session.connection_made(100.0, ADDRESS_B, ADDRESS_A)
    without_gr = Open(64501, 90, IPv4Address("10.0.0.1"), (Multiprotocol(1, 1),))
    events = session.receive_data(encode(without_gr), 100.0)
    assert session.adj_rib_in.count(IPV4_UNICAST) == 0
    assert StaleRoutesPurged(IPV4_UNICAST, 1) in events


def test_no_stale_routes_after_a_notification() -> None:
    pair = gr_pair()
    pair.a.set_routes([Route(V4)])
    pair.establish()
    pair.a.stop(pair.now, "going away for good")
    pair.pump()
    assert pair.b.adj_rib_in.count(IPV4_UNICAST) == 0
    assert pair.b.stats.prefixes_stale == 0


def test_no_helper_without_our_own_capability() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(with_config(ca, graceful_restart=GR), cb)
    pair.a.set_routes([Route(V4)])
    pair.establish()
    pair.a.stop(pair.now, keep_forwarding=True)
    pair.pump()
    assert pair.b.adj_rib_in.count(IPV4_UNICAST) == 0


@pytest.mark.parametrize("reason", [DownReason.CONNECTION_LOST, DownReason.HOLD_TIMER_EXPIRED])
def test_stale_families_on_tcp_failure_or_hold_timer(reason: DownReason) -> None:
    peer = GracefulRestart(families=(GracefulRestartFamily(1, 1), GracefulRestartFamily(2, 1)))
    negotiated = Negotiated(
        families=frozenset({IPV4_UNICAST}),
        peer_graceful_restart=peer,
        local_graceful_restart=GracefulRestart(),
    )
    assert stale_families(negotiated, reason) == (IPV4_UNICAST,)
    assert stale_families(negotiated, DownReason.PEER_NOTIFICATION) == ()
    assert (
        stale_families(Negotiated(families=frozenset({IPV4_UNICAST}), peer_graceful_restart=peer), reason)
        == ()
    )


def test_preserved_families_follow_the_f_bit() -> None:
    peer = GracefulRestart(families=(GracefulRestartFamily(1, 1, True), GracefulRestartFamily(2, 1, False)))
    assert preserved_families(Negotiated(peer_graceful_restart=peer)) == {IPV4_UNICAST}
    assert preserved_families(Negotiated()) == frozenset()


def test_local_capabilities() -> None:
    cfg = PeerConfig(
        local_asn=4200000001,
        peer_asn=64500,
        router_id=IPv4Address("10.0.0.1"),
        graceful_restart=GracefulRestartConfig(restart_time=90),
        hostname="node-1",
        domain="lab",
    )
    caps = local_capabilities(cfg, restarting=True)
    kinds = [type(c).__name__ for c in caps]
    assert kinds == [
        "Multiprotocol",
        "Multiprotocol",
        "RouteRefreshCapability",
        "EnhancedRouteRefresh",
        "ExtendedMessage",
        "GracefulRestart",
        "FourOctetAs",
        "Fqdn",
    ]
    gr = next(c for c in caps if isinstance(c, GracefulRestart))
    assert gr.restarting and gr.restart_time == 90 and all(f.forwarding_preserved for f in gr.families)
    plain = local_capabilities(
        PeerConfig(local_asn=64501, peer_asn=None, router_id=IPv4Address("1.1.1.1")), restarting=True
    )
    assert not any(isinstance(c, GracefulRestart) for c in plain)
    no_refresh = PeerConfig(
        local_asn=64501, peer_asn=None, router_id=IPv4Address("1.1.1.1"), route_refresh=False
    )
    kinds = [type(c).__name__ for c in local_capabilities(no_refresh, restarting=False)]
    assert "RouteRefreshCapability" not in kinds and "EnhancedRouteRefresh" not in kinds  # RFC 7313 §3


def test_the_helper_keeps_routes_when_the_peer_goes_silent() -> None:
    pair = gr_pair(hold_time=9)
    pair.a.set_routes([Route(V4)])
    pair.establish()
    frozen = pair.a
    pair.a, pair.b = pair.b, pair.a  # silence_b freezes `b`: make the announcing side `b`
    pair.silence_b()
    pair.advance(10)
    helper = pair.a
    assert helper.stats.last_down_reason is DownReason.HOLD_TIMER_EXPIRED
    assert helper.adj_rib_in.count(IPV4_UNICAST) == 1 and helper.stats.prefixes_stale == 1
    assert frozen.adj_rib_in.count(IPV4_UNICAST) == 0  # the silent side had nothing to keep


def test_stale_routes_go_when_the_peer_returns_but_never_sends_end_of_rib() -> None:
    session = Session(
        PeerConfig(local_asn=64500, peer_asn=64501, router_id=IPv4Address("10.0.0.2"), graceful_restart=GR)
    )
    peer_gr = GracefulRestart(restart_time=120, families=(GracefulRestartFamily(1, 1, True),))
    peer_open = Open(64501, 0, IPv4Address("10.0.0.1"), (Multiprotocol(1, 1), peer_gr))  # no hold timer
    route = Update(attributes=(Origin(), AsPath.sequence(64501), NextHop(ADDRESS_A)), nlri=(V4,))
    session.start(0.0)
    session.connection_made(0.0, ADDRESS_B, ADDRESS_A)
    session.receive_data(encode(peer_open) + encode(Keepalive()), 0.0)
    session.receive_data(encode(route, session.negotiated), 0.0)
    session.connection_lost(1.0)
    session.tick(100.0)
    session.connection_made(100.0, ADDRESS_B, ADDRESS_A)
    session.receive_data(encode(peer_open) + encode(Keepalive()), 100.0)
    assert session.state is State.ESTABLISHED and session.stats.prefixes_stale == 1  # F bit: kept
    session.tick(100.0 + 359)
    assert session.stats.prefixes_stale == 1
    events = session.tick(100.0 + 360)
    assert session.adj_rib_in.count(IPV4_UNICAST) == 0
    assert StaleRoutesPurged(None, 1) in events
