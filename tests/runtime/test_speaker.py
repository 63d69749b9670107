"""SpeakerLoop: BgpPeer -> PeerSpec, and plans driven into real sessions against a loopback receiver."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address

import pytest

from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST
from bgplb.bgp.events import RouteRefreshBegun, RouteRefreshEnded, StateChanged
from bgplb.bgp.fsm import DownReason, State
from bgplb.config.models import BgpAdvertisement, BgpPeer, Config
from bgplb.planning.announcement import announce
from bgplb.planning.snapshot import Endpoint, EndpointSlice, Node, Service, ServiceRef, Snapshot
from bgplb.runtime import report
from bgplb.runtime.speaker import SessionEventLog, SpeakerLoop, parse_router_id, peer_spec, router_id_for
from tests.adapters.counting_receiver import NOTIFICATION, CountingReceiver
from tests.planning.alloc_helpers import pool


def test_peer_spec_conversion() -> None:
    peer = BgpPeer(
        name="r",
        my_asn=64501,
        peer_asn=64500,
        peer_address=ip_address("192.0.2.1"),
        hold_time=9,
        connect_time=2,
        password="secret",
        ebgp_multihop=True,
        dual_stack_address_family=True,
        enable_graceful_restart=True,
    )
    spec = peer_spec(peer, IPv4Address("10.0.0.11"), "n1")
    assert (spec.address, spec.port, spec.connect_timeout) == (ip_address("192.0.2.1"), 179, 2.0)
    assert (spec.config.local_asn, spec.config.peer_asn, spec.config.hold_time) == (64501, 64500, 9)
    assert spec.config.families == (IPV4_UNICAST, IPV6_UNICAST)
    assert spec.config.graceful_restart is not None
    assert (spec.tcp.password, spec.tcp.ttl) == ("secret", 255)
    internal = peer_spec(
        BgpPeer(name="i", my_asn=65000, dynamic_asn="internal", peer_address=ip_address("192.0.2.2")),
        IPv4Address("10.0.0.11"),
        "n1",
    )
    assert (internal.config.peer_asn, internal.tcp.ttl, internal.config.hold_time) == (65000, None, 90)
    with pytest.raises(ValueError, match="unnumbered"):
        peer_spec(BgpPeer(name="u", my_asn=1, peer_asn=2, interface="eth0"), IPv4Address("10.0.0.1"), "n1")


def test_router_id_choice() -> None:
    peer = BgpPeer(name="r", my_asn=1, peer_asn=2, peer_address=ip_address("127.0.0.1"))
    node = Node("n1", addresses=(ip_address("fd00::1"), ip_address("10.0.0.11")))
    assert router_id_for(
        peer.model_copy(update={"router_id": IPv4Address("1.2.3.4")}), node, None
    ) == IPv4Address("1.2.3.4")
    assert router_id_for(peer, node, IPv4Address("5.6.7.8")) == IPv4Address("5.6.7.8")
    assert router_id_for(peer, node, None) == IPv4Address("10.0.0.11")
    assert router_id_for(peer, Node("n1"), None) == IPv4Address(
        "127.0.0.1"
    )  # source address towards the peer
    assert parse_router_id("10.1.1.1") == IPv4Address("10.1.1.1")
    with pytest.raises(ValueError, match="IPv4"):
        parse_router_id("fd00::1")


@dataclass
class Receiver:
    port: int
    sessions: list[CountingReceiver]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    sessions: list[CountingReceiver] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = CountingReceiver(64500, IPv4Address("10.255.0.1"))
        sessions.append(session)
        await session.serve(reader, writer)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield Receiver(server.sockets[0].getsockname()[1], sessions)
    server.close()


def plan_for(port: int, hosts: range) -> tuple[Snapshot, Config]:
    web = [ServiceRef("default", f"s{h}") for h in hosts]
    snap = Snapshot(
        services=tuple(
            Service(ref, current_ips=(IPv4Address(f"198.51.100.{h}"),))
            for ref, h in zip(web, hosts, strict=True)
        ),
        nodes=(Node("n1"),),
        endpoint_slices=tuple(EndpointSlice(ref, "e", (Endpoint("n1"),)) for ref in web),
    )
    peer = BgpPeer(
        name="router", my_asn=64501, peer_asn=64500, peer_address=ip_address("127.0.0.1"), peer_port=port
    )
    config = Config(
        pools=(pool("public", "198.51.100.0/24"),),
        peers=(peer,),
        bgp_advertisements=(BgpAdvertisement(name="a", pools=("public",)),),
    )
    return snap, config


async def test_plans_drive_sessions_and_removal_sends_cease(receiver: Receiver) -> None:
    loop = SpeakerLoop("n1")
    snap, config = plan_for(receiver.port, range(1, 4))
    await loop.apply(announce(snap, config, "n1"), snap.nodes[0])
    try:
        async with asyncio.timeout(5):
            while not receiver.sessions:
                await asyncio.sleep(0.01)
            session = receiver.sessions[0]
            await session.wait(lambda: session.announced == 3, timeout=5)
            snap, config = plan_for(receiver.port, range(1, 3))
            await loop.apply(announce(snap, config, "n1"), snap.nodes[0])
            await session.wait(lambda: sum(m.withdrawn for m in session.messages) == 1, timeout=5)
        (row,) = report.session_rows(loop.sessions())
        assert (row["peer"], row["state"], row["prefixes_sent"]) == ("router", "Established", 2)
        (routes,) = report.route_rows(loop.sessions())
        assert [r["prefix"] for r in routes["routes"]] == ["198.51.100.1/32", "198.51.100.2/32"]
        await loop.apply(announce(snap, config.model_copy(update={"peers": ()}), "n1"), snap.nodes[0])
        await session.wait(lambda: session.closed, timeout=5)
        assert session.of_kind(NOTIFICATION)
        assert loop.sessions() == []
    finally:
        await loop.stop()


async def test_stop_sends_cease_with_the_given_message(receiver: Receiver) -> None:
    loop = SpeakerLoop("n1")
    snap, config = plan_for(receiver.port, range(1, 2))
    await loop.apply(announce(snap, config, "n1"), snap.nodes[0])
    async with asyncio.timeout(5):
        while not receiver.sessions:
            await asyncio.sleep(0.01)
    session = receiver.sessions[0]
    await session.wait(lambda: session.announced == 1, timeout=5)
    await loop.stop("maintenance of n1")
    await session.wait(lambda: session.closed, timeout=5)
    (notification,) = session.of_kind(NOTIFICATION)
    message = b"maintenance of n1"
    assert notification.body == bytes([6, 2, len(message)]) + message  # Cease/Administrative Shutdown


def test_session_events_are_logged_with_the_peer(caplog: pytest.LogCaptureFixture) -> None:
    log = SessionEventLog("router")
    address = IPv4Address("192.0.2.1")
    with caplog.at_level(logging.INFO, logger="bgplb.runtime.speaker"):
        log(address, StateChanged(State.OPEN_CONFIRM, State.ESTABLISHED))
        log(address, RouteRefreshBegun(IPV4_UNICAST, stale=3))
        log(address, RouteRefreshEnded(IPV4_UNICAST, purged=1, timed_out=True))
        SessionEventLog()(address, StateChanged(State.ESTABLISHED, State.IDLE, DownReason.HOLD_TIMER_EXPIRED))
    assert [r.getMessage() for r in caplog.records] == [
        "peer router 192.0.2.1: OpenConfirm -> Established",
        "peer router 192.0.2.1: route refresh of ipv4-unicast begun, 3 route(s) marked stale",
        "peer router 192.0.2.1: route refresh of ipv4-unicast ended (no EoRR in time), 1 route(s) purged",
        "peer 192.0.2.1: Established -> Idle (hold-timer-expired)",
    ]
