"""The engine under `Session`: inputs go through the FSM table, and the actions are carried out here.

`Machine` holds all the state of one session — connection flags, buffers, deadlines, the negotiation, both
RIBs, counters — and knows how to do each `fsm.Action` (send the OPEN, start the hold timer, establish,
apply an UPDATE, mark a restarting peer's routes stale…). It never reads bytes: `session.Session` turns
bytes, connections and the caller's requests into inputs, and is the only public face.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from enum import Enum
from ipaddress import IPv4Address, IPv6Address

from bgplb.bgp.adj_rib_in import AdjRibIn
from bgplb.bgp.adj_rib_out import AdjRibOut
from bgplb.bgp.codec import encode
from bgplb.bgp.constants import CeaseSubcode, ErrorCode, Family, MessageType, RouteRefreshSubtype
from bgplb.bgp.events import (
    EndOfRibReceived,
    Event,
    RouteRefreshBegun,
    RouteRefreshEnded,
    SessionDown,
    SessionEstablished,
    StaleRoutesPurged,
    StateChanged,
    UpdateErrorHandled,
)
from bgplb.bgp.export import ExportPolicy
from bgplb.bgp.fsm import FSM_ERROR, Action, DownReason, Input, State, Transition, fsm_error_subcode, step
from bgplb.bgp.graceful_restart import local_capabilities, preserved_families, stale_families
from bgplb.bgp.messages import Keepalive, Message, Notification, Open, RouteRefresh, Update
from bgplb.bgp.negotiation import Negotiated
from bgplb.bgp.peer import GracefulRestartConfig, PeerConfig
from bgplb.bgp.route_refresh import RefreshTracker
from bgplb.bgp.stats import Counters

IPAddress = IPv4Address | IPv6Address
Reason = DownReason | None
LARGE_HOLD_TIME = 240.0  # RFC 4271 §8.2.2: "a large value", suggested 4 minutes


class Timer(Enum):
    """The deadlines a Session keeps; `tick` turns the due ones into inputs."""

    CONNECT_RETRY = "ConnectRetryTimer"
    HOLD = "HoldTimer"
    KEEPALIVE = "KeepaliveTimer"
    IDLE_HOLD = "IdleHoldTimer"  # the back-off before an automatic restart
    STALE = "stale routes"  # RFC 4724 §4.2 helper: restart time, then the wait for End-of-RIB
    REFRESH = "enhanced route refresh"  # RFC 7313 §4: the wait for an EoRR after a BoRR


_REASONS = {
    Input.MANUAL_STOP: DownReason.ADMIN_STOP,
    Input.AUTOMATIC_STOP: DownReason.MAX_PREFIX,
    Input.HOLD_TIMER_EXPIRES: DownReason.HOLD_TIMER_EXPIRED,
    Input.TCP_CONNECTION_FAILS: DownReason.CONNECTION_LOST,
    Input.BGP_HEADER_ERR: DownReason.HEADER_ERROR,
    Input.BGP_OPEN_MSG_ERR: DownReason.OPEN_ERROR,
    Input.OPEN_COLLISION_DUMP: DownReason.COLLISION,
    Input.NOTIF_MSG_VER_ERR: DownReason.PEER_NOTIFICATION,
    Input.NOTIF_MSG: DownReason.PEER_NOTIFICATION,
    Input.UPDATE_MSG_ERR: DownReason.UPDATE_ERROR,
}
_CONNECTED_STATES = (State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED)


class Machine:
    """Session state and the FSM actions; see `session.Session` for the API."""

    def __init__(self, config: PeerConfig, *, rng: random.Random | None = None, restarting: bool = False):
        """`rng` jitters the back-off (inject a seeded one in tests); `restarting=True` after our own
        restart with graceful restart configured: the OPEN carries the R bit (RFC 4724 §3)."""
        self.config = config
        self._rng = rng if rng is not None else random.Random()
        self._restarting = restarting and config.graceful_restart is not None
        self._state = State.IDLE
        self._admin_down = True
        self._connected = False
        self._closing = False
        self._outgoing: bool | None = None
        self._local_address: IPAddress | None = None
        self._inbuf = bytearray()
        self._outbuf: list[bytes] = []
        self._deadlines: dict[Timer, float] = {}
        self._retries = 0
        self._local_open: Open | None = None
        self._remote_open: Open | None = None
        self._negotiated: Negotiated | None = None
        self._pending_negotiated: Negotiated | None = None
        self._pending_update: Update | None = None
        self._pending_refresh: RouteRefresh | None = None
        self._notification: Notification | None = None
        self._reason: DownReason | None = None
        self._events: list[Event] = []
        self._rib_out = AdjRibOut()
        self._table: Iterator[bytes] | None = None  # the initial table, built as the connection drains
        self._rib_in = AdjRibIn(config.max_prefixes)
        self._refreshing = RefreshTracker()
        self._followup: tuple[Input, Notification] | None = None
        self._stats = Counters()

    def _fire(self, timer: Timer, now: float) -> None:
        if timer is Timer.CONNECT_RETRY:
            self._feed(Input.CONNECT_RETRY_TIMER_EXPIRES, now)
        elif timer is Timer.HOLD:
            self._feed(Input.HOLD_TIMER_EXPIRES, now, Notification(ErrorCode.HOLD_TIMER_EXPIRED, 0))
        elif timer is Timer.KEEPALIVE:
            self._feed(Input.KEEPALIVE_TIMER_EXPIRES, now)
        elif timer is Timer.IDLE_HOLD:
            passive = self.config.passive
            self._feed(Input.AUTOMATIC_START_PASSIVE if passive else Input.AUTOMATIC_START, now)
        elif timer is Timer.STALE:
            self._purge(None)
        else:
            for family in self._refreshing.expired(now):
                self._end_refresh(family, timed_out=True)

    def _run(
        self,
        event: Input,
        now: float,
        notification: Notification | None = None,
        reason: Reason = None,
    ) -> list[Event]:
        self._feed(event, now, notification, reason)
        return self._take_events()

    def _take_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def _feed(
        self,
        event: Input,
        now: float,
        notification: Notification | None = None,
        reason: Reason = None,
    ) -> None:
        transition = step(self._state, event)
        if event is Input.TCP_CONNECTION_FAILS and self._state is State.CONNECT:
            reason = DownReason.CONNECT_FAILED
        self._notification = notification
        self._reason = reason or _REASONS.get(event)
        if transition is None:
            transition = FSM_ERROR
            self._notification = Notification(ErrorCode.FSM, fsm_error_subcode(self._state))
            self._reason = DownReason.FSM_ERROR
        self._apply(transition, now)
        if self._followup is not None:  # an action asked for another input (max-prefix -> AutomaticStop)
            (event, cease), self._followup = self._followup, None
            self._feed(event, now, cease)

    def _apply(self, transition: Transition, now: float) -> None:
        old, new = self._state, transition.next
        up_since = self._stats.established_since
        if new is not old and up_since is not None and now - up_since >= self.config.backoff.reset_after:
            self._retries = 0  # it stayed up long enough: the next failure starts the back-off afresh
        self._state = new
        reason = self._reason if new in (State.IDLE, State.ACTIVE) and old is not new else None
        if old is not new:
            self._events.append(StateChanged(old, new, reason))
        for action in transition.actions:
            self._do(action, now, old, new)
        if reason is not None:
            self._stats.last_down_reason, self._stats.last_down_at = reason, now
            if old in _CONNECTED_STATES:
                self._events.append(SessionDown(reason, self._notification, old is State.ESTABLISHED))
        if new is State.IDLE and old is not new and not self._admin_down:
            self._deadlines[Timer.IDLE_HOLD] = now + self._backoff()

    def _backoff(self) -> float:
        return self.config.backoff.delay(self._retries, self._rng)

    def _do(self, action: Action, now: float, old: State, new: State) -> None:
        a = Action
        if action is a.SEND_NOTIFICATION:
            if self._notification is not None and self._connected and not self._closing:
                self._send(self._notification)
                self._stats.last_error, self._stats.last_error_from_peer = self._notification, False
        elif action is a.STOP_CONNECT_RETRY_TIMER:
            self._deadlines.pop(Timer.CONNECT_RETRY, None)
        elif action is a.START_CONNECT_RETRY_TIMER:
            if new is State.CONNECT:
                self._deadlines[Timer.CONNECT_RETRY] = now + self.config.connect_retry_time
            elif not self.config.passive:  # Active: wait out the back-off, then dial
                self._deadlines[Timer.CONNECT_RETRY] = now + self._backoff()
        elif action is a.INITIATE_TCP:
            self._stats.connect_attempts += 1
        elif action is a.DROP_TCP:
            self._closing = self._connected
        elif action is a.RELEASE_RESOURCES:
            self._release(now, old)
        elif action is a.ZERO_CONNECT_RETRY_COUNTER:
            self._retries = 0
        elif action is a.INCREMENT_CONNECT_RETRY_COUNTER:
            self._retries += 1
        elif action is a.SEND_OPEN:
            self._local_open = self._open()
            self._send(self._local_open)
        elif action is a.START_LARGE_HOLD_TIMER:
            self._deadlines[Timer.HOLD] = now + LARGE_HOLD_TIME
        elif action is a.PROCESS_OPEN:
            self._negotiated = self._pending_negotiated
            self._pending_negotiated = None
            self._after_reconnect(now)
        elif action is a.SEND_KEEPALIVE:
            self._send(Keepalive())
        elif action is a.START_TIMERS:
            self._restart_timer(Timer.HOLD, now)
            self._restart_timer(Timer.KEEPALIVE, now)
        elif action is a.RESTART_HOLD_TIMER:
            self._restart_timer(Timer.HOLD, now)
        elif action is a.RESTART_KEEPALIVE_TIMER:
            self._restart_timer(Timer.KEEPALIVE, now)
        elif action is a.ESTABLISH:
            self._establish(now)
        elif action is a.PROCESS_UPDATE:
            self._process_update(now)
        elif action is a.PROCESS_ROUTE_REFRESH:
            self._process_route_refresh(now)

    def _restart_timer(self, timer: Timer, now: float) -> None:
        negotiated = self._negotiated
        seconds = 0
        if negotiated is not None:
            seconds = negotiated.hold_time if timer is Timer.HOLD else negotiated.keepalive_time
        if seconds > 0:
            self._deadlines[timer] = now + seconds
        else:
            self._deadlines.pop(timer, None)

    def _send(self, message: Message) -> None:
        self._outbuf.append(encode(message, self._negotiated))
        self._stats.messages_out[_TYPES[type(message)]] += 1

    def _send_updates(self, messages: list[bytes]) -> None:
        self._outbuf += messages
        self._stats.messages_out[MessageType.UPDATE] += len(messages)

    def _open(self) -> Open:
        capabilities = local_capabilities(self.config, restarting=self._restarting)
        return Open(self.config.local_asn, self.config.hold_time, self.config.router_id, capabilities)

    def _establish(self, now: float) -> None:
        negotiated = self._negotiated
        if negotiated is None:
            return
        self._stats.established_since = now
        self._stats.established_count += 1
        self._restarting = False  # RFC 4724 §3: the R bit only in the OPEN right after the restart
        self._events.append(SessionEstablished(negotiated))
        local = self._local_address
        policy = ExportPolicy(
            negotiated=negotiated,
            local_asn=self.config.local_asn,
            ibgp=negotiated.peer_asn == self.config.local_asn,
            next_hop_ipv4=self.config.next_hop_ipv4 or (local if isinstance(local, IPv4Address) else None),
            next_hop_ipv6=self.config.next_hop_ipv6 or (local if isinstance(local, IPv6Address) else None),
        )
        self._table = self._rib_out.start(policy)

    def _release(self, now: float, old: State) -> None:
        for timer in (Timer.HOLD, Timer.KEEPALIVE, Timer.CONNECT_RETRY, Timer.REFRESH):
            self._deadlines.pop(timer, None)
        self._refreshing.clear()
        negotiated = self._negotiated
        self._negotiated = self._pending_negotiated = None
        self._pending_update = self._pending_refresh = None
        self._table = None
        self._rib_out.stop()
        if old is not State.ESTABLISHED:
            return  # nothing was received on this connection; stale routes of an earlier one stay
        self._stats.flaps += 1
        self._stats.established_since = None
        families = stale_families(negotiated, self._reason)
        if families and negotiated is not None and negotiated.peer_graceful_restart is not None:
            # RFC 4724 §4.2: the peer is restarting; keep its routes as stale for its restart time
            self._rib_in.mark_stale(families)
            self._deadlines[Timer.STALE] = now + negotiated.peer_graceful_restart.restart_time
        else:
            self._rib_in.clear()
            self._deadlines.pop(Timer.STALE, None)

    def _after_reconnect(self, now: float) -> None:
        """RFC 4724 §4.2: the peer is back; drop stale routes of families it no longer preserves."""
        if not self._rib_in.stale_count() or self._negotiated is None:
            return
        kept = preserved_families(self._negotiated)
        for family in self._rib_in.stale_families():
            if family not in kept:
                self._purge(family)
        stale_time = (self.config.graceful_restart or GracefulRestartConfig()).stale_routes_time
        self._deadlines[Timer.STALE] = now + stale_time

    def _process_update(self, now: float) -> None:
        update = self._pending_update
        self._pending_update = None
        if update is None:
            return
        if update.errors:
            self._stats.update_errors.update(error.action for error in update.errors)
            self._events.append(UpdateErrorHandled(update.errors))
        eor = update.is_end_of_rib()
        if eor is not None:
            self._events.append(EndOfRibReceived(eor))
            if not self._refreshing.active(eor):  # during an enhanced refresh, only the EoRR purges
                self._purge(eor)
            return
        over = self._rib_in.apply(update, treat_as_withdraw=update.treat_as_withdraw)
        limit = self._rib_in.max_prefixes
        if over is not None and limit is not None:  # RFC 4486 §4: AFI, SAFI, upper bound
            data = over.afi.to_bytes(2, "big") + bytes((over.safi,)) + limit.to_bytes(4, "big")
            cease = Notification(ErrorCode.CEASE, CeaseSubcode.MAXIMUM_PREFIXES_REACHED, data)
            self._followup = (Input.AUTOMATIC_STOP, cease)

    def _purge(self, family: Family | None) -> None:
        if family is None and self._refreshing.next_deadline() is not None:  # spare refreshing families
            for fam in self._rib_in.stale_families():
                if not self._refreshing.active(fam):
                    self._purge(fam)
            return
        purged = self._rib_in.purge_stale(family)
        if purged:
            self._events.append(StaleRoutesPurged(family, purged))
        if not self._rib_in.stale_count():
            self._deadlines.pop(Timer.STALE, None)

    def _process_route_refresh(self, now: float) -> None:
        request = self._pending_refresh
        self._pending_refresh = None
        negotiated = self._negotiated
        if request is None or negotiated is None or request.family not in negotiated.families:
            return  # RFC 2918 §4: ignore a family we did not advertise
        family, subtype = request.family, request.subtype
        if subtype == RouteRefreshSubtype.NORMAL:
            self._answer_refresh(family, negotiated.enhanced_route_refresh)
        elif not negotiated.enhanced_route_refresh:
            return  # BoRR/EoRR mean something only with RFC 7313 negotiated
        elif subtype == RouteRefreshSubtype.BEGIN_OF_RIB:
            stale = self._rib_in.mark_family_stale(family)
            self._refreshing.begin(family, now)
            self._schedule_refresh()
            self._events.append(RouteRefreshBegun(family, stale))
        elif subtype == RouteRefreshSubtype.END_OF_RIB and self._refreshing.end(family):
            self._end_refresh(family, timed_out=False)
        # RFC 7313 §4, §5: an EoRR without a BoRR, or another subtype, is ignored

    def _answer_refresh(self, family: Family, enhanced: bool) -> None:
        """RFC 2918 §4: the Adj-RIB-Out of `family` again; RFC 7313 §4: between a BoRR and an EoRR."""
        if self._rib_out.streaming:
            return  # the initial table, on its way, carries every route and the End-of-RIB
        updates = self._rib_out.refresh(family)
        if enhanced:
            self._send(RouteRefresh(family.afi, family.safi, RouteRefreshSubtype.BEGIN_OF_RIB))
        self._send_updates(updates)
        if enhanced:
            self._send(RouteRefresh(family.afi, family.safi, RouteRefreshSubtype.END_OF_RIB))

    def _end_refresh(self, family: Family, *, timed_out: bool) -> None:
        """The peer's EoRR for `family` (or its timeout): purge the routes it did not re-send."""
        purged = self._rib_in.purge_stale(family)
        self._events.append(RouteRefreshEnded(family, purged, timed_out))
        self._schedule_refresh()
        if not self._rib_in.stale_count():
            self._deadlines.pop(Timer.STALE, None)

    def _schedule_refresh(self) -> None:
        deadline = self._refreshing.next_deadline()
        if deadline is None:
            self._deadlines.pop(Timer.REFRESH, None)
        else:
            self._deadlines[Timer.REFRESH] = deadline


_TYPES: dict[type, MessageType] = {
    Open: MessageType.OPEN,
    Update: MessageType.UPDATE,
    Notification: MessageType.NOTIFICATION,
    Keepalive: MessageType.KEEPALIVE,
    RouteRefresh: MessageType.ROUTE_REFRESH,
}
