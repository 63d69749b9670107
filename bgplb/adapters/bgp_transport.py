"""asyncio BGP speaker: the peers by address, the listening sockets, and the supervised tasks.

Design: a `BgpSpeaker` is the transport's public face (`start`, `set_routes`, `request_refresh`, `status`,
`stop`). Each configured neighbour is a `bgp_peer.Peer` driving one sans-IO `Session`; the listeners accept
only configured peers (their TCP MD5 keys are set on the listening socket per peer, and GTSM too when all
its peers share one minimum TTL) and hand each accepted connection to its peer. Tasks are named and
supervised: a crash is recorded and `wait_failed` returns it.
`stop()` sends Cease/Administrative Shutdown to every peer (or closes silently to keep forwarding state
under graceful restart) and waits, bounded, for the bytes to leave before cancelling the tasks.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from bgplb.adapters import tcp_options
from bgplb.adapters.bgp_peer import Connection, EventSink, Peer, PeerSpec, PeerStatus, factory
from bgplb.adapters.tcp_options import IpAddress, TcpOptions
from bgplb.bgp.constants import Family
from bgplb.bgp.nlri import Prefix
from bgplb.bgp.routes import Route
from bgplb.bgp.session import Session

__all__ = ["BgpPort", "BgpSpeaker", "PeerSpec", "PeerStatus", "RecordingBgpPort"]

log = logging.getLogger(__name__)


class BgpPort(Protocol):
    """What the runtime needs from the BGP transport (DESIGN: declarative ports)."""

    def set_routes(self, peer: IpAddress, routes: Iterable[Route]) -> None:
        """The full set of routes `peer` should have."""

    def status(self) -> list[PeerStatus]:
        """One snapshot per peer."""


@dataclass
class RecordingBgpPort:
    """A `BgpPort` fake for tests: remembers the last route set per peer, reports fixed statuses."""

    routes: dict[IpAddress, tuple[Route, ...]] = field(default_factory=dict)
    calls: int = 0
    statuses: list[PeerStatus] = field(default_factory=list)

    def set_routes(self, peer: IpAddress, routes: Iterable[Route]) -> None:
        self.routes[peer] = tuple(routes)
        self.calls += 1

    def status(self) -> list[PeerStatus]:
        return list(self.statuses)


class BgpSpeaker:
    """Owns the peers (by address), the listening sockets and the tasks; the transport's public face."""

    def __init__(self, on_event: EventSink | None = None) -> None:
        self._peers: dict[IpAddress, Peer] = {}
        self._listeners: list[socket.socket] = []
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._on_event = on_event or (lambda peer, event: None)
        self._stopping = False
        self._failed = asyncio.Event()
        self.failure: BaseException | None = None

    async def start(
        self,
        peers: Iterable[PeerSpec],
        listen: Iterable[tuple[IpAddress, int]] = (),
        routes: Mapping[IpAddress, Iterable[Route]] | None = None,
    ) -> None:
        """Start one task per peer, then open the listening sockets (with each peer's MD5 key).

        `routes`: each peer's initial set, loaded before the listeners open (as `set_routes` would)."""
        specs = list(peers)
        for spec in specs:
            peer = Peer(spec, self._on_event)
            self._peers[spec.address] = peer
            if routes is not None and spec.address in routes:
                peer.set_routes(routes[spec.address])
            self._spawn(f"bgp-peer-{spec.address}", peer.run())
        for address, port in listen:
            gtsm = _listener_gtsm(address, port, specs)
            sock = tcp_options.listen_socket(address, port, min_ttl=gtsm.min_ttl, ttl=gtsm.ttl)
            self._listeners.append(sock)
            for spec in specs:
                if spec.tcp.password and (sock.family == socket.AF_INET6 or spec.address.version == 4):
                    tcp_options.set_md5(sock, spec.address, spec.tcp.password)
            self._spawn(f"bgp-listen-{address}:{port}", self._accept(sock))

    def set_routes(self, peer: IpAddress, routes: Iterable[Route]) -> None:
        """The full set of routes `peer` should have; the difference is written before this returns.

        Reuse the Route objects of the previous call (a tuple or list) and only the changed middle is
        diffed; a generator is stored compactly (docs/bgp-session.md, "Changing the routes")."""
        self._peers[peer].set_routes(routes)

    def update_routes(
        self, peer: IpAddress, add: Iterable[Route] = (), withdraw: Iterable[Prefix] = ()
    ) -> None:
        """ExaBGP-style incremental change for `peer`: withdraw `withdraw`, add (or replace) `add`; written
        before this returns, at a cost proportional to the change."""
        self._peers[peer].update_routes(add, withdraw)

    def request_refresh(self, peer: IpAddress, family: Family) -> None:
        """Ask `peer` to re-send its routes of `family` (ROUTE-REFRESH; with RFC 7313 framed by BoRR/EoRR,
        and routes it does not re-send are purged). Raises `RefreshRefusedError` (not Established, Route
        Refresh not negotiated, family not negotiated) or KeyError for an unknown peer."""
        self._peers[peer].request_refresh(family)

    def status(self) -> list[PeerStatus]:
        """One snapshot per peer, in configuration order."""
        return [peer.status() for peer in self._peers.values()]

    def session(self, peer: IpAddress) -> Session:
        """The Session currently driving `peer` (for tests and diagnostics)."""
        return self._peers[peer].session

    async def stop(self, message: str = "", keep_forwarding: bool = False, timeout: float = 2.0) -> None:
        """Cease/Administrative Shutdown to every peer (or close silently with `keep_forwarding`), wait
        at most `timeout` for the bytes to flush, then cancel every task and close the listeners."""
        self._stopping = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        closing: list[asyncio.Future[None]] = []
        for peer in self._peers.values():
            closing.extend(peer.stop(message, keep_forwarding))
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        for sock in self._listeners:
            sock.close()
        if closing:
            await asyncio.wait(closing, timeout=timeout)
        self._tasks.clear()

    async def wait_failed(self) -> BaseException:
        """Block until a supervised task crashes; return its exception."""
        await self._failed.wait()
        assert self.failure is not None
        return self.failure

    def _spawn(self, name: str, coro: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks[name] = task
        task.add_done_callback(self._supervise)

    def _supervise(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._stopping:
            return
        exc = task.exception()
        log.error("task %s ended unexpectedly: %r", task.get_name(), exc, exc_info=exc)
        self.failure = exc or RuntimeError(f"task {task.get_name()} returned")
        self._failed.set()

    async def _accept(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            sock, sockaddr = await loop.sock_accept(listener)
            remote = tcp_options.peer_address(sockaddr)
            peer = self._peers.get(remote)
            if peer is None or self._stopping:
                log.info("refused a connection from %s: not a configured peer", remote)
                sock.close()
                continue
            try:
                tcp = peer.spec.tcp
                tcp_options.apply(sock, remote, TcpOptions(ttl=tcp.ttl, min_ttl=tcp.min_ttl))
                conn = Connection(peer, peer.session)
                await loop.connect_accepted_socket(factory(conn), sock=sock)
            except OSError as exc:
                log.warning("connection from %s: %s", remote, exc)
                sock.close()
                continue
            peer.adopt(conn)


def _listener_gtsm(address: IpAddress, port: int, specs: list[PeerSpec]) -> TcpOptions:
    """GTSM on the listening socket (RFC 5082). The minimum TTL only when every peer this listener accepts
    has the same one: a SYN from too far is then dropped before any handshake. Otherwise each accepted
    socket gets its peer's minimum after accept (logged, once per listener). The outgoing TTL is 255 as
    soon as one peer uses GTSM: the listener sends the SYN-ACK, which a GTSM peer drops below 255."""
    minimums = {spec.tcp.min_ttl for spec in specs if tcp_options.accepts(address, spec.address)}
    gtsm = {m for m in minimums if m is not None}
    if not gtsm:
        return TcpOptions()
    if len(minimums) == 1:
        return TcpOptions(ttl=tcp_options.MAX_TTL, min_ttl=gtsm.pop())
    log.info(
        "listener %s:%d: GTSM applied per connection after accept: its peers' minimum TTLs differ (%s)",
        address,
        port,
        ", ".join(sorted(str(m or "none") for m in minimums)),
    )
    return TcpOptions(ttl=tcp_options.MAX_TTL)
