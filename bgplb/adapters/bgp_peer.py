"""One BGP neighbour over asyncio TCP: its `Session`, its connection(s), and the task that dials and ticks.

Design: every protocol decision stays in the sans-IO `Session`; a `Peer` only moves bytes and time.
Bytes are pumped synchronously: `data_received` feeds the session and writes its answer at once, and
`set_routes`/`update_routes` write the resulting UPDATEs before returning, so an added route is on the wire
immediately (no coalescing timer). The initial table goes out in `WRITE_CHUNK` pieces, one per loop
iteration while the socket drains (none while asyncio has paused writing), so the first UPDATE leaves as
soon as it is built and the peer's KEEPALIVEs are read meanwhile. The peer's task sleeps until
`next_deadline()` (loop.time() is the clock), calls `tick`, and dials when `wants_connection()`. A
second, inbound connection while ours is not Established gets its own Session (the "rival") until
`resolve_collision` (RFC 4271 §6.8) picks one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bgplb.adapters import tcp_options
from bgplb.adapters.tcp_options import IpAddress, TcpOptions
from bgplb.bgp.codec import split_frames
from bgplb.bgp.constants import MAX_EXTENDED_MESSAGE, Family
from bgplb.bgp.errors import ProtocolError
from bgplb.bgp.events import Event
from bgplb.bgp.fsm import State
from bgplb.bgp.nlri import Prefix
from bgplb.bgp.routes import Route
from bgplb.bgp.session import PeerConfig, Session, resolve_collision
from bgplb.bgp.stats import SessionStats

log = logging.getLogger(__name__)

EventSink = Callable[[IpAddress, Event], None]
WRITE_HIGH_WATER = 8 << 20
WRITE_CHUNK = 16 << 10
"""Octets of the initial table built and written per event-loop iteration (about four UPDATEs)."""


@dataclass(frozen=True, slots=True)
class PeerSpec:
    """A neighbour as the transport sees it: where to connect and the Session's configuration."""

    address: IpAddress
    config: PeerConfig
    port: int = 179
    source_address: IpAddress | None = None
    tcp: TcpOptions = field(default_factory=TcpOptions)
    connect_timeout: float = 5.0
    restarting: bool = False
    """We restarted with graceful restart: our OPENs carry the R bit (RFC 4724 §3)."""


@dataclass(frozen=True, slots=True)
class PeerStatus:
    """A snapshot of one peer for the CLI and metrics: the Session's counters plus transport facts."""

    address: IpAddress
    state: State
    connected: bool
    uptime: float | None
    stats: SessionStats


class Connection(asyncio.Protocol):
    """One TCP connection bound to one Session; forwards everything to its `Peer`."""

    def __init__(self, peer: Peer, session: Session) -> None:
        self.peer = peer
        self.session = session
        self.transport: asyncio.Transport | None = None
        self.paused = False
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.peer.on_data(self, data)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self.peer.pump()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self.peer.on_lost(self)

    def write(self, data: bytes) -> None:
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        """Close once the buffered bytes are flushed."""
        if self.transport is not None:
            self.transport.close()
        elif not self.closed.done():
            self.closed.set_result(None)

    def endpoints(self) -> tuple[IpAddress, IpAddress]:
        """(local, remote) addresses, IPv4-mapped ones unmapped."""
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        return tcp_options.peer_address(sock.getsockname()), tcp_options.peer_address(sock.getpeername())


class Peer:
    """One neighbour: its Session, its connection(s), and the task that dials and fires timers.

    `conn` is the connection of `session`; `rival` a second, inbound connection with its own Session
    while a collision (RFC 4271 §6.8) is unresolved.
    """

    def __init__(self, spec: PeerSpec, emit: EventSink) -> None:
        self.spec = spec
        self.session = Session(spec.config, restarting=spec.restarting)
        self.conn: Connection | None = None
        self.rival: Connection | None = None
        self._emit = emit
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._dial: asyncio.Task[None] | None = None
        self._again: asyncio.Handle | None = None  # the next chunk of an initial table

    @property
    def now(self) -> float:
        return self._loop.time()

    # -- events from the connections --------------------------------------------------------------
    def on_data(self, conn: Connection, data: bytes) -> None:
        if conn is not self.conn and conn is not self.rival:
            return
        if self.rival is None:
            self._publish(conn.session.receive_data(data, self.now))
            self.pump()
            return
        # A collision is pending: feed one message at a time, so that it is resolved on the OPEN
        # (RFC 4271 §6.8), before a KEEPALIVE in the same segment takes a connection to Established.
        chunks = _messages(data)
        for index, chunk in enumerate(chunks):
            self._publish(conn.session.receive_data(chunk, self.now))
            self._collide()
            if self.rival is None:
                rest = b"".join(chunks[index + 1 :])
                if rest and conn is self.conn:
                    self._publish(conn.session.receive_data(rest, self.now))
                break
        self.pump()

    def on_lost(self, conn: Connection) -> None:
        """The connection closed under us (the peer, or the kernel); a close we asked for is detached."""
        if conn is self.conn or conn is self.rival:
            self._detach(conn)
            self.pump()

    def adopt(self, conn: Connection) -> None:
        """An inbound connection from this peer: the session's own, a collision rival, or refused.

        While our own dial is in flight the inbound one is a rival too: the peer may already have
        accepted our connection, and both sides must then resolve the same collision (RFC 4271 §6.8).
        """
        if self.conn is None and self._dial is None:
            self._attach(conn, self.session, outgoing=False)
        elif self.rival is None and self.session.state is not State.ESTABLISHED:
            rival = Session(self.spec.config, restarting=self.spec.restarting)
            self._publish(rival.start(self.now))
            self.rival = conn
            self._attach(conn, rival, outgoing=False)
        else:
            conn.close()
        self.pump()

    def _attach(self, conn: Connection, session: Session, *, outgoing: bool) -> None:
        conn.session = session
        if session is self.session:
            self.conn = conn
        local, remote = conn.endpoints()
        if session is not self.session:
            session.copy_routes(self.session)
        self._publish(session.connection_made(self.now, local, remote, outgoing=outgoing))

    def _detach(self, conn: Connection) -> None:
        if conn is self.rival:
            self.rival = None
        if conn is self.conn:
            self.conn = None
            if self.rival is not None and self._dial is None:
                self._promote_rival()
        self._publish(conn.session.connection_lost(self.now))

    def _collide(self) -> None:
        """RFC 4271 §6.8: once both connections are up and either has the peer's OPEN, keep one."""
        rival = self.rival
        if rival is None or self.conn is None:  # no collision, or our dial is still in flight
            return
        if self.session.peer_id is None and rival.session.peer_id is None:
            return
        keep = resolve_collision(self.session, rival.session)
        loser = self.conn if keep is rival.session else rival
        self._publish(loser.session.close_for_collision(self.now))
        if loser is self.conn:
            self.session, self.conn = rival.session, rival
        self.rival = None
        loser.write(loser.session.data_to_send())
        loser.close()
        self._publish(loser.session.connection_lost(self.now))

    def _promote_rival(self) -> None:
        """Our dial failed while the peer's connection waited: the peer's connection is the session."""
        assert self.rival is not None
        self.session, self.conn, self.rival = self.rival.session, self.rival, None

    # -- the pump ---------------------------------------------------------------------------------
    def pump(self) -> None:
        """Write what the session(s) want sent (an initial table a chunk per loop iteration); close what
        they want closed; wake the task."""
        for conn in (self.conn, self.rival):
            if conn is None or conn.paused:
                continue
            conn.write(conn.session.data_to_send(WRITE_CHUNK))
            if conn.session.sending_table and self._again is None:
                self._again = self._loop.call_soon(self._pump_again)
            if conn.session.should_close():
                conn.close()
                self._detach(conn)
        self._wake.set()

    def _pump_again(self) -> None:
        self._again = None
        self.pump()

    def set_routes(self, routes: Iterable[Route]) -> None:
        """The full desired set; the session writes the difference now (a collision rival gets it too)."""
        if self.rival is not None and not isinstance(routes, tuple | list):
            routes = tuple(routes)
        self.session.set_routes(routes)
        if self.rival is not None:
            self.rival.session.set_routes(routes)
        self.pump()

    def update_routes(self, add: Iterable[Route], withdraw: Iterable[Prefix]) -> None:
        """Withdraw `withdraw`, add (or replace) `add`; the session writes the change now."""
        if self.rival is not None:
            add, withdraw = tuple(add), tuple(withdraw)
            self.rival.session.update_routes(add, withdraw)
        self.session.update_routes(add, withdraw)
        self.pump()

    def request_refresh(self, family: Family) -> None:
        """Send a ROUTE-REFRESH for `family` now (raises `RefreshRefusedError` when the session cannot)."""
        self.session.request_refresh(family)
        self.pump()

    def _publish(self, events: Iterable[Event]) -> None:
        for event in events:
            self._emit(self.spec.address, event)

    # -- the task ---------------------------------------------------------------------------------
    async def run(self) -> None:
        """Dial when the session wants a connection, tick at its deadlines; until cancelled."""
        self._publish(self.session.start(self.now))
        while True:
            self.pump()
            if self.conn is None and self._dial is None and self.session.wants_connection():
                self._dial = asyncio.create_task(self._connect(), name=f"bgp-dial-{self.spec.address}")
            deadlines = [c.session.next_deadline() for c in (self.conn, self.rival) if c is not None]
            deadlines.append(self.session.next_deadline())
            deadline = min((d for d in deadlines if d is not None), default=None)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(deadline):
                    await self._wake.wait()
            now = self.now
            self._publish(self.session.tick(now))
            if self.rival is not None:
                self._publish(self.rival.session.tick(now))

    async def _connect(self) -> None:
        spec = self.spec
        try:
            sock = tcp_options.dial_socket(spec.address, spec.tcp, spec.source_address)
        except OSError as exc:
            log.warning("peer %s: cannot create a socket: %s", spec.address, exc)
            self._dial_failed()
            return
        conn = Connection(self, self.session)
        try:
            async with asyncio.timeout(spec.connect_timeout):
                await self._loop.sock_connect(sock, (str(spec.address), spec.port))
            await self._loop.create_connection(lambda: conn, sock=sock)
        except (OSError, TimeoutError) as exc:
            sock.close()
            log.debug("peer %s: connect failed: %s", spec.address, exc)
            self._dial_failed()
            return
        except asyncio.CancelledError:
            sock.close()
            raise
        self._dial = None
        if self.conn is not None or not self.session.wants_connection():
            conn.close()  # the session moved on meanwhile
            return
        self._attach(conn, self.session, outgoing=True)
        self._collide()
        self.pump()

    def _dial_failed(self) -> None:
        self._dial = None
        if self.conn is None and self.rival is not None:
            self._promote_rival()
        elif self.conn is None and self.session.wants_connection():
            self._publish(self.session.connection_failed(self.now))
        self._wake.set()

    def _cancel_dial(self) -> None:
        if self._dial is not None:
            self._dial.cancel()
            self._dial = None

    # -- shutdown ---------------------------------------------------------------------------------
    def stop(self, message: str, keep_forwarding: bool) -> list[asyncio.Future[None]]:
        """Stop the session(s); return futures done when their connections are closed."""
        self._cancel_dial()
        if self._again is not None:
            self._again.cancel()
            self._again = None
        waiting = [c.closed for c in (self.conn, self.rival) if c is not None]
        if self.rival is not None:
            self._publish(self.rival.session.stop(self.now, message, keep_forwarding=keep_forwarding))
        self._publish(self.session.stop(self.now, message, keep_forwarding=keep_forwarding))
        self.pump()
        for conn in (self.conn, self.rival):  # a session that did not ask to close: close anyway
            if conn is not None:
                conn.close()
                self._detach(conn)
        return waiting

    def status(self) -> PeerStatus:
        stats = self.session.stats
        since = stats.established_since
        established = self.session.state is State.ESTABLISHED
        return PeerStatus(
            address=self.spec.address,
            state=self.session.state,
            connected=self.conn is not None,
            uptime=self.now - since if established and since is not None else None,
            stats=stats,
        )


def factory(conn: Connection) -> Callable[[], Connection]:
    """A protocol factory returning `conn` (for `connect_accepted_socket`)."""
    return lambda: conn


def _messages(data: bytes) -> list[bytes]:
    """`data` cut at BGP message boundaries (a trailing partial message kept); uncut if it does not frame."""
    buffer = bytearray(data)
    try:
        frames = split_frames(buffer, MAX_EXTENDED_MESSAGE)
    except ProtocolError:
        return [data]
    return [*frames, bytes(buffer)] if buffer else frames
