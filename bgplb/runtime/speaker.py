"""The speaker side of `bgplb run`: plan -> one BGP transport per peer -> `set_routes`.

Each pass gets a `NodeAnnouncements` from `announce` and makes the transports match it: a peer that left
the plan is stopped (Cease/Administrative Shutdown), a new peer, or one whose session parameters changed,
gets its own `BgpSpeaker` (one per peer, so adding or removing a peer never touches the other sessions),
and every peer is handed its full route set (the transport sends only the difference). A transport whose
task crashed is replaced on the next pass. `stop()` sends Cease to every peer at once, bounded in time.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address

from bgplb.adapters.bgp_transport import BgpSpeaker, PeerSpec, PeerStatus
from bgplb.adapters.tcp_options import IpAddress, TcpOptions
from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST
from bgplb.bgp.events import RouteRefreshBegun, RouteRefreshEnded, SessionDown, StateChanged
from bgplb.bgp.fsm import Backoff
from bgplb.bgp.peer import GracefulRestartConfig, PeerConfig
from bgplb.bgp.routes import Route
from bgplb.config.models import BgpPeer
from bgplb.planning.announcement import NodeAnnouncements, peer_versions
from bgplb.planning.snapshot import Node

log = logging.getLogger(__name__)

SHUTDOWN_MESSAGE = "bgplb run stopped"
PeerKey = tuple[str, str]


def router_id_for(peer: BgpPeer, node: Node | None, default: IPv4Address | None) -> IPv4Address:
    """The peer's routerID, else `default`, else the node's first IPv4 address, else our source address
    towards the peer (what the kernel would pick), else 127.0.0.1."""
    if peer.router_id is not None:
        return peer.router_id
    if default is not None:
        return default
    for address in node.addresses if node is not None else ():
        if isinstance(address, IPv4Address):
            return address
    if peer.peer_address is not None and peer.peer_address.version == 4:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((str(peer.peer_address), peer.peer_port))
                return IPv4Address(probe.getsockname()[0])
            except OSError:
                pass
    return IPv4Address("127.0.0.1")


def peer_spec(peer: BgpPeer, router_id: IPv4Address, hostname: str) -> PeerSpec:
    """The transport's view of a BgpPeer; ValueError when it cannot be dialled (e.g. unnumbered)."""
    if peer.peer_address is None:
        raise ValueError(
            f"BGPPeer {peer.name}: unnumbered peers (interface {peer.interface}) are not supported"
        )
    peer_asn = peer.peer_asn
    if peer_asn is None and peer.dynamic_asn == "internal":
        peer_asn = peer.my_asn
    retry = float(peer.connect_time or 5)
    families = tuple(IPV4_UNICAST if v == 4 else IPV6_UNICAST for v in sorted(peer_versions(peer)))
    graceful = None
    if peer.enable_graceful_restart:
        graceful = GracefulRestartConfig(restart_time=peer.graceful_restart_time or 120)
    config = PeerConfig(
        local_asn=peer.my_asn,
        peer_asn=peer_asn,
        router_id=router_id,
        hold_time=peer.hold_time if peer.hold_time is not None else 90,
        keepalive_time=peer.keepalive_time,
        connect_retry_time=retry,
        backoff=Backoff(initial=1.0, maximum=6.0 * retry),
        families=families,
        graceful_restart=graceful,
        hostname=hostname,
    )
    multihop = 255 if peer.ebgp_multihop is True else (peer.ebgp_multihop or None)
    tcp = TcpOptions.for_peer(
        password=peer.password, ebgp=peer.is_ibgp is False, ebgp_multihop=multihop, ttl_security=None
    )
    return PeerSpec(
        address=peer.peer_address,
        config=config,
        port=peer.peer_port,
        source_address=peer.source_address,
        tcp=tcp,
        connect_timeout=retry,
    )


@dataclass(slots=True)
class _Running:
    peer: BgpPeer
    spec: PeerSpec
    transport: BgpSpeaker
    routes: tuple[Route, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionView:
    """One peer's session and routes for the status endpoint."""

    peer: BgpPeer
    status: PeerStatus
    routes: tuple[Route, ...]


def checked_spec(
    peer: BgpPeer, node: Node | None, router_id: IPv4Address | None, name: str, errors: dict[PeerKey, str]
) -> PeerSpec | None:
    """`peer_spec` for `peer`, or None when it cannot be built: then the reason is in `errors` (logged once
    per change) until the peer works again."""
    key = (peer.namespace, peer.name)
    try:
        spec = peer_spec(peer, router_id_for(peer, node, router_id), name)
    except ValueError as exc:
        if errors.get(key) != str(exc):
            log.error("%s", exc)
        errors[key] = str(exc)
        return None
    errors.pop(key, None)
    return spec


class SpeakerLoop:
    """The transports of one node, driven by successive plans."""

    def __init__(self, node: str, router_id: IPv4Address | None = None) -> None:
        self.node = node
        self.router_id = router_id
        self.plan: NodeAnnouncements | None = None
        self.errors: dict[PeerKey, str] = {}
        self._running: dict[PeerKey, _Running] = {}

    async def apply(self, plan: NodeAnnouncements, node: Node | None) -> None:
        """Make the sessions and their routes match `plan`."""
        wanted: dict[PeerKey, tuple[BgpPeer, tuple[Route, ...]]] = {
            (s.peer.namespace, s.peer.name): (s.peer, s.routes) for s in plan.sessions
        }
        for key in [k for k in self._running if k not in wanted]:
            await self._stop_one(key, "peer removed from the configuration")
        for key, (peer, routes) in wanted.items():
            spec = checked_spec(peer, node, self.router_id, self.node, self.errors)
            if spec is None:
                continue
            running = self._running.get(key)
            if running is not None and (running.spec != spec or running.transport.failure is not None):
                await self._stop_one(key, "peer configuration changed")
                running = None
            if running is None:
                transport = BgpSpeaker(SessionEventLog(peer.name))
                await transport.start([spec])
                running = self._running[key] = _Running(peer, spec, transport)
            if running.routes != routes:
                running.transport.set_routes(spec.address, routes)
                running.routes = routes
            running.peer = peer
        self.plan = plan

    async def _stop_one(self, key: PeerKey, message: str) -> None:
        running = self._running.pop(key)
        await running.transport.stop(message)

    def sessions(self) -> list[SessionView]:
        """Every running session, by peer name."""
        return [
            SessionView(r.peer, r.transport.status()[0], r.routes) for _, r in sorted(self._running.items())
        ]

    async def stop(self, message: str = SHUTDOWN_MESSAGE) -> None:
        """Cease/Administrative Shutdown with `message` (RFC 9003) to every peer at once (bounded by the
        transports' own timeouts)."""
        running = list(self._running.values())
        self._running.clear()
        await asyncio.gather(*(r.transport.stop(message) for r in running))


class SessionEventLog:
    """Logs a transport's session events: state changes, downs with their NOTIFICATION, and a peer's
    enhanced route refresh (RFC 7313) of the routes it sent us."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def __call__(self, address: IpAddress, event: object) -> None:
        peer = f"{self.name} {address}" if self.name else str(address)
        if isinstance(event, StateChanged):
            why = f" ({event.reason.value})" if event.reason is not None else ""
            log.info("peer %s: %s -> %s%s", peer, event.old.value, event.new.value, why)
        elif isinstance(event, SessionDown) and event.notification is not None:
            log.warning("peer %s: session down: %s", peer, event.notification)
        elif isinstance(event, RouteRefreshBegun):
            family, stale = event.family, event.stale
            log.info("peer %s: route refresh of %s begun, %d route(s) marked stale", peer, family, stale)
        elif isinstance(event, RouteRefreshEnded):
            late = " (no EoRR in time)" if event.timed_out else ""
            family, purged = event.family, event.purged
            log.info("peer %s: route refresh of %s ended%s, %d route(s) purged", peer, family, late, purged)


def parse_router_id(text: str | None) -> IPv4Address | None:
    """`--router-id` text -> address (ValueError when it is not IPv4)."""
    if text is None:
        return None
    address = ip_address(text)
    if not isinstance(address, IPv4Address):
        raise ValueError(f"router id {text!r} must be an IPv4 address")
    return address
