"""One BGP session, sans-IO: bytes and time in, events and bytes out (RFC 4271 §8, RFC 4724, RFC 7606).

The transport owns the TCP connection and the clock. It calls `start`, `connection_made/failed/lost`,
`receive_data` and `tick`; after each call it sends `data_to_send()` (in pieces: the initial table is
built as it is asked for), closes the connection when `should_close()`, dials when `wants_connection()`,
and sleeps until `next_deadline()`. docs/bgp-session.md is the transport's manual. Everything a
Session does is decided by the transition table of `fsm` (an input missing from it is an FSM error);
this module turns bytes, connections and deadlines into inputs, `machine` carries out the actions.
One Session has one TCP connection at a time: a second connection to the same peer is a second Session,
and `resolve_collision` (RFC 4271 §6.8) says which one to keep.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address

from bgplb.bgp.adj_rib_in import AdjRibIn
from bgplb.bgp.codec import decode, split_frames
from bgplb.bgp.constants import (
    HEADER_LEN,
    MAX_EXTENDED_MESSAGE,
    MAX_MESSAGE,
    CeaseSubcode,
    ErrorCode,
    Family,
    HeaderErrorSubcode,
    MessageType,
    OpenErrorSubcode,
)
from bgplb.bgp.errors import ProtocolError
from bgplb.bgp.events import Event
from bgplb.bgp.fsm import DownReason, Input, State
from bgplb.bgp.machine import IPAddress, Machine, Timer
from bgplb.bgp.messages import Keepalive, Message, Notification, Open, RouteRefresh, Update
from bgplb.bgp.negotiation import Negotiated, negotiate
from bgplb.bgp.nlri import Prefix
from bgplb.bgp.peer import GracefulRestartConfig, PeerConfig
from bgplb.bgp.route_refresh import RefreshRefusal, RefreshRefusedError
from bgplb.bgp.routes import Route
from bgplb.bgp.stats import SessionStats
from bgplb.bgp.validation import validate_open, validate_update

__all__ = ["GracefulRestartConfig", "PeerConfig", "Session", "resolve_collision"]

_ERROR_INPUTS = {
    ErrorCode.MESSAGE_HEADER: Input.BGP_HEADER_ERR,
    ErrorCode.OPEN_MESSAGE: Input.BGP_OPEN_MSG_ERR,
}
_TYPE_CODES = {int(kind): kind for kind in MessageType}


class Session(Machine):
    """The BGP state machine of one peer over one TCP connection at a time."""

    @property
    def state(self) -> State:
        """The FSM state."""
        return self._state

    @property
    def negotiated(self) -> Negotiated | None:
        """What the OPENs agreed on, from OpenConfirm until the session goes down."""
        return self._negotiated

    @property
    def peer_id(self) -> IPv4Address | None:
        """The peer's BGP Identifier, once its OPEN arrived on this connection."""
        return self._remote_open.bgp_id if self._remote_open is not None else None

    @property
    def stopped(self) -> bool:
        """Administratively down: before `start`, after `stop` or `close_for_collision`; no restarts."""
        return self._admin_down

    @property
    def outgoing(self) -> bool | None:
        """True if we dialled the current connection, False if the peer did, None without one."""
        return self._outgoing if self._connected else None

    @property
    def adj_rib_in(self) -> AdjRibIn:
        """What the peer announced (read it, do not change it)."""
        return self._rib_in

    @property
    def stats(self) -> SessionStats:
        """Counters and timestamps for `show bgp summary`-like output (a frozen snapshot)."""
        return self._stats.snapshot(
            state=self._state,
            prefixes_received=self._rib_in.counts(),
            prefixes_sent={f: self._rib_out.advertised_count(f) for f in self.config.families},
            prefixes_stale=self._rib_in.stale_count(),
            routes_unresolved=self._rib_out.unresolved,
        )

    def wants_connection(self) -> bool:
        """The transport should dial the peer now (we are in Connect without a connection)."""
        return self._state is State.CONNECT and not self._connected

    def should_close(self) -> bool:
        """The transport should close the connection once `data_to_send()` is written."""
        return self._connected and self._closing

    def data_to_send(self, limit: int | None = None) -> bytes:
        """Bytes for the peer, in order; each call drains them.

        The initial table after Established is built as it is asked for: with `limit`, whole messages
        up to about `limit` octets come out per call, so the first UPDATE leaves early; call again until
        it returns b"" (without `limit` everything comes at once).
        """
        out = self._outbuf
        table = self._table
        if table is not None:
            size = sum(map(len, out))
            sent = 0
            while limit is None or size < limit:
                message = next(table, None)
                if message is None:
                    self._table = None
                    break
                out.append(message)
                size += len(message)
                sent += 1
            self._stats.messages_out[MessageType.UPDATE] += sent
        data = b"".join(out)
        out.clear()
        return data

    @property
    def sending_table(self) -> bool:
        """The initial table is still being built: call `data_to_send` again (after the last write)."""
        return self._table is not None

    def next_deadline(self) -> float | None:
        """When `tick` has something to do next, or None."""
        return min(self._deadlines.values(), default=None)

    def start(self, now: float) -> list[Event]:
        """ManualStart: dial (Connect), or for a passive peer wait for its connection (Active)."""
        self._admin_down = False
        self._deadlines.pop(Timer.IDLE_HOLD, None)
        return self._run(Input.MANUAL_START_PASSIVE if self.config.passive else Input.MANUAL_START, now)

    def stop(
        self,
        now: float,
        message: str = "",
        keep_forwarding: bool = False,
        *,
        cease: CeaseSubcode = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
    ) -> list[Event]:
        """ManualStop: Cease/Administrative Shutdown with an RFC 9003 `message`, no automatic restart.

        `cease` picks another RFC 4486 subcode (3 peer de-configured, 4 administrative reset — the message
        goes with 2 and 4 only —, 6 other configuration change, 8 out of resources); `start` again to
        re-establish. With `keep_forwarding` and graceful restart configured, close without a NOTIFICATION
        so that the peer keeps our routes as stale while we restart (RFC 4724 §4.1).
        """
        self._admin_down = True
        self._deadlines.pop(Timer.IDLE_HOLD, None)
        if keep_forwarding and self.config.graceful_restart is not None:
            return self._run(Input.MANUAL_STOP, now, None, DownReason.GRACEFUL_STOP)
        notification = Notification(ErrorCode.CEASE, cease)
        if cease in (CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, CeaseSubcode.ADMINISTRATIVE_RESET):
            notification = Notification.shutdown(message, cease)
        return self._run(Input.MANUAL_STOP, now, notification, DownReason.ADMIN_STOP)

    def close_for_collision(self, now: float) -> list[Event]:
        """Close this connection as the loser of a collision (Cease/7); this Session is then retired."""
        self._admin_down = True
        self._deadlines.pop(Timer.IDLE_HOLD, None)
        cease = Notification(ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION)
        return self._run(Input.OPEN_COLLISION_DUMP, now, cease)

    def connection_made(
        self, now: float, local_address: IPAddress, remote_address: IPAddress, *, outgoing: bool | None = None
    ) -> list[Event]:
        """A TCP connection is up. `outgoing` defaults to True in Connect (our dial), False otherwise.

        An incoming connection while we back off after a failure starts the session at once (the peer
        is back); while stopped it is refused with Cease/5 (Connection Rejected, RFC 4486).
        """
        if self._connected:  # one connection at a time: a second one is an FSM error (use a second Session)
            return self._run(Input.TCP_CR_ACKED if outgoing else Input.TCP_CONNECTION_CONFIRMED, now)
        self._connected, self._closing = True, False
        self._outgoing = self._state is State.CONNECT if outgoing is None else outgoing
        if self._state is State.IDLE and not self._admin_down:  # backing off: the peer is back, take it
            self._deadlines.pop(Timer.IDLE_HOLD, None)
            passive = self.config.passive
            self._feed(Input.AUTOMATIC_START_PASSIVE if passive else Input.AUTOMATIC_START, now)
        mapped = local_address.ipv4_mapped if isinstance(local_address, IPv6Address) else None
        self._local_address = mapped or local_address
        self._remote_open = None
        self._inbuf.clear()
        self._outbuf.clear()
        events = self._run(Input.TCP_CR_ACKED if self._outgoing else Input.TCP_CONNECTION_CONFIRMED, now)
        if self._state is State.IDLE and not self._closing:  # stopped: RFC 4486 Connection Rejected
            self._send(Notification(ErrorCode.CEASE, CeaseSubcode.CONNECTION_REJECTED))
            self._closing = True
        return events

    def connection_failed(self, now: float) -> list[Event]:
        """Our dial failed or timed out."""
        return self._run(Input.TCP_CONNECTION_FAILS, now, None, DownReason.CONNECT_FAILED)

    def connection_lost(self, now: float) -> list[Event]:
        """The connection is closed (by the peer, or by the transport after `should_close`)."""
        if not self._connected:
            return []
        closing = self._closing
        self._connected, self._closing = False, False
        self._inbuf.clear()
        self._outbuf.clear()
        self._table = None
        return [] if closing else self._run(Input.TCP_CONNECTION_FAILS, now)

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Bytes from the peer: whole messages are handled, a partial one waits for the rest."""
        if not self._connected or self._closing:
            return []
        self._inbuf += data
        limit = MAX_EXTENDED_MESSAGE if self.config.extended_message else MAX_MESSAGE
        try:
            frames = split_frames(self._inbuf, limit)
        except ProtocolError as error:
            return self._run(Input.BGP_HEADER_ERR, now, error.notification())
        for frame in frames:
            self._handle_frame(frame, now)
            if self._closing or not self._connected:
                break
        return self._take_events()

    def tick(self, now: float) -> list[Event]:
        """Fire every timer due at `now`, earliest first."""
        for _ in range(2 * len(Timer)):
            due = [(deadline, timer) for timer, deadline in self._deadlines.items() if deadline <= now]
            if not due:
                break
            _, timer = min(due, key=lambda item: item[0])
            del self._deadlines[timer]
            self._fire(timer, now)
        return self._take_events()

    def set_routes(self, routes: Iterable[Route]) -> None:
        """The full set of routes to announce; when Established the difference goes out at once.

        Pass a tuple or list reusing the Route objects of the previous call and only the changed middle
        is diffed (see docs/bgp-session.md); a generator is stored compactly, its Routes not kept.
        """
        self._rib_out.set_routes(routes)
        self._flush()

    def update_routes(self, add: Iterable[Route] = (), withdraw: Iterable[Prefix] = ()) -> None:
        """Change the announced set in place: withdraw the `withdraw` prefixes, add (or replace) the
        `add` routes; when Established the change goes out at once. Costs O(change), not O(table)."""
        self._rib_out.update_routes(add, withdraw)
        self._flush()

    def copy_routes(self, other: Session) -> None:
        """Announce what `other` announces (a second connection to the same peer: a collision rival)."""
        self._rib_out.copy_routes(other._rib_out)
        self._flush()

    def request_refresh(self, family: Family) -> None:
        """Ask the peer to send its routes of `family` again (ROUTE-REFRESH, RFC 2918 §3).

        With RFC 7313 negotiated the peer frames its answer with BoRR/EoRR, and routes it does not
        re-send are purged. Raises `RefreshRefusedError` when not Established, when the Route Refresh
        capability was not negotiated (both sides must send it), or for a family not negotiated.
        """
        negotiated = self._negotiated
        if self._state is not State.ESTABLISHED or negotiated is None or self._closing:
            raise RefreshRefusedError(family, RefreshRefusal.NOT_ESTABLISHED)
        if not negotiated.route_refresh:
            raise RefreshRefusedError(family, RefreshRefusal.NOT_NEGOTIATED)
        if family not in negotiated.families:
            raise RefreshRefusedError(family, RefreshRefusal.FAMILY_NOT_NEGOTIATED)
        self._send(RouteRefresh(family.afi, family.safi))

    def _flush(self) -> None:
        if self._state is State.ESTABLISHED and self._connected and not self._closing:
            self._send_updates(self._rib_out.flush())

    def _handle_frame(self, frame: bytes, now: float) -> None:
        kind = frame[HEADER_LEN - 1]
        if kind in _TYPE_CODES:
            self._stats.messages_in[_TYPE_CODES[kind]] += 1
        limit = self._negotiated.max_message_size if self._negotiated is not None else MAX_MESSAGE
        if len(frame) > limit:  # RFC 8654 §4: larger than negotiated
            length = len(frame).to_bytes(2, "big")
            error = Notification(ErrorCode.MESSAGE_HEADER, HeaderErrorSubcode.BAD_MESSAGE_LENGTH, length)
            self._feed(Input.BGP_HEADER_ERR, now, error)
            return
        try:
            message = decode(frame, self._negotiated)
        except ProtocolError as error:
            self._feed(_ERROR_INPUTS.get(error.code, Input.UPDATE_MSG_ERR), now, error.notification())
            return
        self._handle_message(message, now)

    def _handle_message(self, message: Message, now: float) -> None:
        if isinstance(message, Keepalive):
            self._feed(Input.KEEPALIVE_MSG, now)
        elif isinstance(message, Update):
            self._handle_update(message, now)
        elif isinstance(message, Notification):
            self._stats.last_error, self._stats.last_error_from_peer = message, True
            unsupported = (ErrorCode.OPEN_MESSAGE, OpenErrorSubcode.UNSUPPORTED_VERSION_NUMBER)
            is_version = (message.code, message.subcode) == unsupported
            self._feed(Input.NOTIF_MSG_VER_ERR if is_version else Input.NOTIF_MSG, now, message)
        elif isinstance(message, Open):
            self._handle_open(message, now)
        else:
            self._pending_refresh = message
            self._feed(Input.ROUTE_REFRESH_MSG, now)

    def _handle_open(self, message: Open, now: float) -> None:
        if self._state is not State.OPEN_SENT or self._local_open is None:
            self._feed(Input.BGP_OPEN, now)  # an FSM error in any other state
            return
        try:
            validate_open(
                message,
                expected_peer_asn=self.config.peer_asn,
                local_id=self.config.router_id,
                local_asn=self.config.local_asn,
            )
        except ProtocolError as error:
            self._feed(Input.BGP_OPEN_MSG_ERR, now, error.notification())
            return
        self._remote_open = message
        self._pending_negotiated = negotiate(self._local_open, message, self.config.keepalive_time)
        self._feed(Input.BGP_OPEN, now)

    def _handle_update(self, message: Update, now: float) -> None:
        negotiated = self._negotiated
        if negotiated is not None and self._state is State.ESTABLISHED:
            local = (self._local_address,) if self._local_address is not None else ()
            message = validate_update(
                message,
                negotiated,
                ibgp=negotiated.peer_asn == self.config.local_asn,
                local_asn=self.config.local_asn,
                local_addresses=local,
            )
        self._pending_update = message
        self._feed(Input.UPDATE_MSG, now)


def resolve_collision(a: Session, b: Session) -> Session:
    """RFC 4271 §6.8: of two connections to the same peer, the one to keep (close the other with
    `close_for_collision`). An Established one wins; otherwise the connection opened by the speaker with
    the higher BGP Identifier survives. Raises ValueError when neither has the peer's OPEN yet."""
    if a.state is State.ESTABLISHED:
        return a
    if b.state is State.ESTABLISHED:
        return b
    remote = a.peer_id or b.peer_id
    if remote is None:
        raise ValueError("resolve_collision: no OPEN received on either connection yet")
    if a.outgoing is None or b.outgoing is None or a.outgoing == b.outgoing:
        raise ValueError("resolve_collision: need one outgoing and one incoming connection")
    keep_outgoing = int(a.config.router_id) > int(remote)
    return a if a.outgoing == keep_outgoing else b
