"""The speaker's BGP sessions when it also accepts connections (`--bgp-listen-port`): one listening transport.

`runtime.speaker.SpeakerLoop` (the default) gives every peer its own `BgpSpeaker`, so that a peer added,
removed or changed never disturbs the others; but a transport only accepts connections for the peers it was
started with, so per-peer transports cannot share one listening port. `ListeningSessions` therefore runs all
of the node's peers in ONE `BgpSpeaker` that also listens on the port (`::` with IPv4 included, or `0.0.0.0`
where IPv6 is disabled; each peer's MD5 key set on the socket; connections from unknown addresses
refused). Route changes go to `set_routes` as usual; a change to the set of peers or to any peer's session
parameters restarts that transport (Cease to every peer, then the new set, each with its routes loaded
before the listener opens). Peers come and go rarely, routes often, so this is the trade for being
reachable by routers that only dial.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from bgplb.adapters.bgp_transport import BgpSpeaker, PeerSpec
from bgplb.adapters.tcp_options import IpAddress
from bgplb.bgp.routes import Route
from bgplb.config.models import BgpPeer
from bgplb.planning.announcement import NodeAnnouncements
from bgplb.planning.snapshot import Node
from bgplb.runtime.speaker import PeerKey, SessionEventLog, SessionView, checked_spec

log = logging.getLogger(__name__)

ANY6, ANY4 = IPv6Address("::"), IPv4Address("0.0.0.0")
SHUTDOWN_MESSAGE = "bgplb speaker stopped"


@dataclass(slots=True)
class _Planned:
    peer: BgpPeer
    spec: PeerSpec
    routes: tuple[Route, ...]


class ListeningSessions:
    """All peers of the node in one transport listening on `port` (see the module docstring)."""

    def __init__(self, node: str, port: int, router_id: IPv4Address | None = None) -> None:
        self.node = node
        self.port = port
        self.router_id = router_id
        self.errors: dict[PeerKey, str] = {}
        self.restarts = 0
        self._transport: BgpSpeaker | None = None
        self._planned: dict[PeerKey, _Planned] = {}

    async def apply(self, plan: NodeAnnouncements, node: Node | None) -> None:
        """Make the sessions and their routes match `plan`."""
        planned: dict[PeerKey, _Planned] = {}
        for session in plan.sessions:
            key = (session.peer.namespace, session.peer.name)
            spec = checked_spec(session.peer, node, self.router_id, self.node, self.errors)
            if spec is None:
                continue
            planned[key] = _Planned(session.peer, spec, session.routes)
        specs = {key: p.spec for key, p in planned.items()}
        failed = self._transport is not None and self._transport.failure is not None
        if failed or specs != {key: p.spec for key, p in self._planned.items()}:
            await self._restart(planned)
        else:
            assert self._transport is not None or not planned
            for key, wanted in planned.items():
                if self._transport is not None and self._planned[key].routes != wanted.routes:
                    self._transport.set_routes(wanted.spec.address, wanted.routes)
        self._planned = planned

    async def _restart(self, planned: dict[PeerKey, _Planned]) -> None:
        if self._transport is not None:
            await self._transport.stop("peer configuration changed")
            self._transport = None
        if not planned:
            return
        self.restarts += 1
        transport = BgpSpeaker(SessionEventLog())
        routes: dict[IpAddress, tuple[Route, ...]] = {p.spec.address: p.routes for p in planned.values()}
        try:
            await transport.start(
                [p.spec for p in planned.values()], listen=[(listen_address(), self.port)], routes=routes
            )
        except OSError:  # the port is taken or needs NET_BIND_SERVICE: no half-started transport
            await transport.stop("cannot listen")
            raise
        self._transport = transport
        log.info("listening for BGP on port %d for %d peer(s)", self.port, len(planned))

    def sessions(self) -> list[SessionView]:
        """Every planned session, by peer name."""
        if self._transport is None:
            return []
        status = {s.address: s for s in self._transport.status()}
        return [
            SessionView(p.peer, status[p.spec.address], p.routes)
            for _, p in sorted(self._planned.items())
            if p.spec.address in status
        ]

    async def stop(self) -> None:
        """Cease to every peer, close the listener."""
        if self._transport is not None:
            await self._transport.stop(SHUTDOWN_MESSAGE)
            self._transport = None
        self._planned = {}


def listen_address() -> IpAddress:
    """`::` (IPv4 too, as mapped addresses) where IPv6 works, else `0.0.0.0` (IPv6 disabled on the host)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::", 0))
    except OSError:
        return ANY4
    return ANY6
