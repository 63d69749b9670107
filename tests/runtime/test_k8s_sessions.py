"""ListeningSessions: one listening transport, restarted only when the peers change (in a private netns)."""

from __future__ import annotations

import asyncio
import socket
from ipaddress import ip_address, ip_network

import pytest

from bgplb.bgp.routes import Route
from bgplb.config.models import BgpPeer
from bgplb.planning.announcement import NodeAnnouncements, PeerRoutes
from bgplb.runtime.k8s_sessions import ListeningSessions
from tests.adapters.thread_netns import private_namespace

A, B = Route(prefix=ip_network("192.0.2.10/32")), Route(prefix=ip_network("192.0.2.11/32"))


def plan(*sessions: PeerRoutes) -> NodeAnnouncements:
    return NodeAnnouncements("node-1", sessions, (), ())


def free_port() -> int:
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.netns
@pytest.mark.timeout(30)
async def test_routes_change_in_place_and_peer_changes_restart_the_listener() -> None:
    with private_namespace():
        port = free_port()
        closed = free_port()  # the peer's port: nothing listens, our own dial is refused
        sessions = ListeningSessions("node-1", port)
        peer = BgpPeer(
            name="r", my_asn=64501, peer_asn=64500, peer_address=ip_address("127.0.0.1"), peer_port=closed
        )
        try:
            await sessions.apply(plan(PeerRoutes(peer, (A,))), None)
            assert sessions.restarts == 1
            _, writer = await asyncio.open_connection("127.0.0.1", port)  # the listener is there
            writer.close()
            await sessions.apply(plan(PeerRoutes(peer, (A, B))), None)
            assert sessions.restarts == 1
            [view] = sessions.sessions()
            assert view.routes == (A, B) and view.peer.name == "r"
            changed = peer.model_copy(update={"hold_time": 30})
            await sessions.apply(plan(PeerRoutes(changed, (B,))), None)
            assert sessions.restarts == 2
            assert [v.routes for v in sessions.sessions()] == [(B,)]
            unnumbered = BgpPeer(name="u", my_asn=64501, peer_asn=64500, interface="eth0")
            await sessions.apply(plan(PeerRoutes(changed, (B,)), PeerRoutes(unnumbered, (A,))), None)
            assert sessions.restarts == 2
            assert list(sessions.errors) == [("", "u")]
            await sessions.apply(plan(), None)
            assert sessions.sessions() == []
            with pytest.raises(OSError):
                await asyncio.open_connection("127.0.0.1", port)  # the listener closed with the last peer
        finally:
            await sessions.stop()
