"""The BGP finite state machine of RFC 4271 §8 as data: one table `(State, Input) -> Transition`.

The Session feeds an `Input` and executes the `Action`s of the transition it gets back, in order. A pair that
is not in the table is an FSM error (RFC 6608): the Session sends NOTIFICATION 5 with the subcode of
`fsm_error_subcode(state)` when it has a connection, and goes to Idle. The optional RFC 4271 attributes
DelayOpen, DampPeerOscillations and SendNOTIFICATIONwithoutOPEN are off; a connection collision is resolved
between two Session objects (`session.resolve_collision`), so a Session has one TCP connection at a time.

Deviations from the RFC's wording, each for a reason:
- a NOTIFICATION received in OpenSent ends the session quietly (RFC 4271 answers it with an FSM error);
  it is how a peer rejects our OPEN, and answering a NOTIFICATION helps nobody.
- a header error in Established sends the Message Header Error NOTIFICATION of §6.1, not an FSM error.
- the ConnectRetryCounter drives the restart back-off (`Backoff`): every failure, a failed dial
  included, increments it; an automatic start does not zero it; a ManualStart does, and so does a
  session that stays Established for `Backoff.reset_after` seconds.
- a passive peer never dials: the ConnectRetryTimer does not run in Active for it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from bgplb.bgp.constants import FsmErrorSubcode


class State(Enum):
    """RFC 4271 §8.2.2 session states."""

    IDLE = "Idle"
    CONNECT = "Connect"
    ACTIVE = "Active"
    OPEN_SENT = "OpenSent"
    OPEN_CONFIRM = "OpenConfirm"
    ESTABLISHED = "Established"


class Input(Enum):
    """RFC 4271 §8.1 events that this implementation produces (event number in the comment)."""

    MANUAL_START = "ManualStart"  # 1
    MANUAL_STOP = "ManualStop"  # 2
    AUTOMATIC_START = "AutomaticStart"  # 3
    MANUAL_START_PASSIVE = "ManualStart_with_PassiveTcpEstablishment"  # 4
    AUTOMATIC_START_PASSIVE = "AutomaticStart_with_PassiveTcpEstablishment"  # 5
    AUTOMATIC_STOP = "AutomaticStop"  # 8: e.g. the maximum number of prefixes was exceeded
    CONNECT_RETRY_TIMER_EXPIRES = "ConnectRetryTimer_Expires"  # 9
    HOLD_TIMER_EXPIRES = "HoldTimer_Expires"  # 10
    KEEPALIVE_TIMER_EXPIRES = "KeepaliveTimer_Expires"  # 11
    TCP_CR_ACKED = "Tcp_CR_Acked"  # 16: our outgoing connection succeeded
    TCP_CONNECTION_CONFIRMED = "TcpConnectionConfirmed"  # 17: we accepted the peer's connection
    TCP_CONNECTION_FAILS = "TcpConnectionFails"  # 18
    BGP_OPEN = "BGPOpen"  # 19
    BGP_HEADER_ERR = "BGPHeaderErr"  # 21
    BGP_OPEN_MSG_ERR = "BGPOpenMsgErr"  # 22
    OPEN_COLLISION_DUMP = "OpenCollisionDump"  # 23
    NOTIF_MSG_VER_ERR = "NotifMsgVerErr"  # 24
    NOTIF_MSG = "NotifMsg"  # 25
    KEEPALIVE_MSG = "KeepAliveMsg"  # 26
    UPDATE_MSG = "UpdateMsg"  # 27
    UPDATE_MSG_ERR = "UpdateMsgErr"  # 28
    ROUTE_REFRESH_MSG = "RouteRefreshMsg"  # RFC 2918


class Action(Enum):
    """What the Session does on a transition, in the order the transition lists them."""

    SEND_NOTIFICATION = "send the pending NOTIFICATION, if any"
    STOP_CONNECT_RETRY_TIMER = "stop the ConnectRetryTimer"
    START_CONNECT_RETRY_TIMER = "start the ConnectRetryTimer (not for a passive peer in Active)"
    INITIATE_TCP = "ask the transport to dial"
    DROP_TCP = "ask the transport to close the connection"
    RELEASE_RESOURCES = "stop timers, forget the negotiation and what was advertised; GR helper: keep stale"
    ZERO_CONNECT_RETRY_COUNTER = "reset the back-off"
    INCREMENT_CONNECT_RETRY_COUNTER = "lengthen the back-off"
    SEND_OPEN = "send our OPEN"
    START_LARGE_HOLD_TIMER = "start the HoldTimer at 4 minutes (RFC 4271 §8.2.2 OpenSent)"
    PROCESS_OPEN = "keep the negotiation of the OPEN just received"
    SEND_KEEPALIVE = "send a KEEPALIVE"
    START_TIMERS = "start the KeepaliveTimer and the HoldTimer at the negotiated values"
    RESTART_HOLD_TIMER = "restart the HoldTimer at the negotiated value"
    RESTART_KEEPALIVE_TIMER = "restart the KeepaliveTimer"
    ESTABLISH = "announce the Adj-RIB-Out and End-of-RIB, report SessionEstablished"
    PROCESS_UPDATE = "apply the UPDATE to the Adj-RIB-In"
    PROCESS_ROUTE_REFRESH = "re-send the Adj-RIB-Out of the family asked for"


@dataclass(frozen=True, slots=True)
class Transition:
    """Where an input leads from a state, and what to do on the way."""

    next: State
    actions: tuple[Action, ...] = ()


class DownReason(Enum):
    """Why a session left (or never reached) Established; a log field and a metric label."""

    ADMIN_STOP = "admin-stop"
    GRACEFUL_STOP = "graceful-stop"
    CONNECT_FAILED = "connect-failed"
    CONNECTION_LOST = "connection-lost"
    HOLD_TIMER_EXPIRED = "hold-timer-expired"
    PEER_NOTIFICATION = "peer-notification"
    HEADER_ERROR = "header-error"
    OPEN_ERROR = "open-error"
    UPDATE_ERROR = "update-error"
    FSM_ERROR = "fsm-error"
    MAX_PREFIX = "max-prefix"
    COLLISION = "collision"


_A = Action
_S = State
_I = Input
_STARTS = (_I.MANUAL_START, _I.AUTOMATIC_START, _I.MANUAL_START_PASSIVE, _I.AUTOMATIC_START_PASSIVE)
_TO_IDLE_QUIETLY = (_A.STOP_CONNECT_RETRY_TIMER, _A.RELEASE_RESOURCES, _A.DROP_TCP)
_FAIL = (*_TO_IDLE_QUIETLY, _A.INCREMENT_CONNECT_RETRY_COUNTER)
_NOTIFY_AND_FAIL = (_A.SEND_NOTIFICATION, *_FAIL)
_MANUAL_STOP = (_A.SEND_NOTIFICATION, *_TO_IDLE_QUIETLY, _A.ZERO_CONNECT_RETRY_COUNTER)
_OPENING = (_A.STOP_CONNECT_RETRY_TIMER, _A.SEND_OPEN, _A.START_LARGE_HOLD_TIMER)


def _build() -> dict[tuple[State, Input], Transition]:
    table: dict[tuple[State, Input], Transition] = {}

    def add(state: State, inputs: tuple[Input, ...], next_state: State, actions: tuple[Action, ...]) -> None:
        for event in inputs:
            table[state, event] = Transition(next_state, actions)

    # Idle (§8.2.2): starts lead out of it; every other event is ignored.
    start = (_A.ZERO_CONNECT_RETRY_COUNTER, _A.START_CONNECT_RETRY_TIMER, _A.INITIATE_TCP)
    add(_S.IDLE, (_I.MANUAL_START,), _S.CONNECT, start)
    add(_S.IDLE, (_I.AUTOMATIC_START,), _S.CONNECT, start[1:])
    add(_S.IDLE, (_I.MANUAL_START_PASSIVE,), _S.ACTIVE, (_A.ZERO_CONNECT_RETRY_COUNTER,))
    add(_S.IDLE, (_I.AUTOMATIC_START_PASSIVE,), _S.ACTIVE, ())
    add(_S.IDLE, tuple(i for i in Input if i not in _STARTS), _S.IDLE, ())

    # Connect and Active: waiting for TCP. A received message cannot happen before OpenSent here (the
    # OPEN goes out as soon as TCP is up), so messages are FSM errors by omission.
    for state in (_S.CONNECT, _S.ACTIVE):
        add(state, _STARTS, state, ())
        add(state, (_I.MANUAL_STOP,), _S.IDLE, _MANUAL_STOP)
        add(state, (_I.TCP_CR_ACKED, _I.TCP_CONNECTION_CONFIRMED), _S.OPEN_SENT, _OPENING)
        add(state, (_I.TCP_CONNECTION_FAILS,), _S.IDLE, _FAIL)
    retry = (_A.DROP_TCP, _A.START_CONNECT_RETRY_TIMER, _A.INITIATE_TCP)
    add(_S.CONNECT, (_I.CONNECT_RETRY_TIMER_EXPIRES,), _S.CONNECT, retry)
    add(_S.ACTIVE, (_I.CONNECT_RETRY_TIMER_EXPIRES,), _S.CONNECT, retry[1:])

    # OpenSent, OpenConfirm, Established: the connection is up and our OPEN is out.
    for state in (_S.OPEN_SENT, _S.OPEN_CONFIRM, _S.ESTABLISHED):
        add(state, _STARTS, state, ())
        add(state, (_I.MANUAL_STOP,), _S.IDLE, _MANUAL_STOP)
        add(
            state,
            (_I.AUTOMATIC_STOP, _I.HOLD_TIMER_EXPIRES, _I.OPEN_COLLISION_DUMP),
            _S.IDLE,
            _NOTIFY_AND_FAIL,
        )
        add(state, (_I.BGP_HEADER_ERR,), _S.IDLE, _NOTIFY_AND_FAIL)
        add(state, (_I.NOTIF_MSG_VER_ERR,), _S.IDLE, _TO_IDLE_QUIETLY)
        add(state, (_I.NOTIF_MSG,), _S.IDLE, _FAIL)
    add(_S.OPEN_SENT, (_I.BGP_OPEN_MSG_ERR,), _S.IDLE, _NOTIFY_AND_FAIL)
    add(_S.OPEN_CONFIRM, (_I.BGP_OPEN_MSG_ERR,), _S.IDLE, _NOTIFY_AND_FAIL)
    lost_in_open_sent = (
        _A.RELEASE_RESOURCES,
        _A.INCREMENT_CONNECT_RETRY_COUNTER,
        _A.START_CONNECT_RETRY_TIMER,
    )
    add(_S.OPEN_SENT, (_I.TCP_CONNECTION_FAILS,), _S.ACTIVE, lost_in_open_sent)
    add(_S.OPEN_CONFIRM, (_I.TCP_CONNECTION_FAILS,), _S.IDLE, _FAIL)
    add(_S.ESTABLISHED, (_I.TCP_CONNECTION_FAILS,), _S.IDLE, _FAIL)
    open_received = (_A.STOP_CONNECT_RETRY_TIMER, _A.PROCESS_OPEN, _A.SEND_KEEPALIVE, _A.START_TIMERS)
    add(_S.OPEN_SENT, (_I.BGP_OPEN,), _S.OPEN_CONFIRM, open_received)
    keepalive = (_A.SEND_KEEPALIVE, _A.RESTART_KEEPALIVE_TIMER)
    add(_S.OPEN_CONFIRM, (_I.KEEPALIVE_TIMER_EXPIRES,), _S.OPEN_CONFIRM, keepalive)
    add(_S.ESTABLISHED, (_I.KEEPALIVE_TIMER_EXPIRES,), _S.ESTABLISHED, keepalive)
    add(_S.OPEN_CONFIRM, (_I.KEEPALIVE_MSG,), _S.ESTABLISHED, (_A.RESTART_HOLD_TIMER, _A.ESTABLISH))
    add(_S.ESTABLISHED, (_I.KEEPALIVE_MSG,), _S.ESTABLISHED, (_A.RESTART_HOLD_TIMER,))
    add(_S.ESTABLISHED, (_I.UPDATE_MSG,), _S.ESTABLISHED, (_A.RESTART_HOLD_TIMER, _A.PROCESS_UPDATE))
    add(_S.ESTABLISHED, (_I.UPDATE_MSG_ERR,), _S.IDLE, _NOTIFY_AND_FAIL)
    refresh = (_A.RESTART_HOLD_TIMER, _A.PROCESS_ROUTE_REFRESH)
    add(_S.ESTABLISHED, (_I.ROUTE_REFRESH_MSG,), _S.ESTABLISHED, refresh)
    return table


TRANSITIONS: dict[tuple[State, Input], Transition] = _build()
"""THE transition table. Any (State, Input) pair not in it is an FSM error."""

FSM_ERROR = Transition(State.IDLE, _NOTIFY_AND_FAIL)
"""What an FSM error does: NOTIFICATION 5/`fsm_error_subcode(state)` (when connected), then Idle."""

_FSM_SUBCODES = {
    State.OPEN_SENT: FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPEN_SENT,
    State.OPEN_CONFIRM: FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM,
    State.ESTABLISHED: FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_ESTABLISHED,
}


def fsm_error_subcode(state: State) -> FsmErrorSubcode:
    """RFC 6608 §4: the FSM error subcode for an unexpected event in `state` (0 outside the OPEN states)."""
    return _FSM_SUBCODES.get(state, FsmErrorSubcode.UNSPECIFIED)


def step(state: State, event: Input) -> Transition | None:
    """The transition for `event` in `state`, or None when it is an FSM error."""
    return TRANSITIONS.get((state, event))


@dataclass(frozen=True, slots=True)
class Backoff:
    """Jittered exponential back-off between connection attempts.

    After n consecutive failures the wait is `initial * 2**(n-1)` seconds, capped at `maximum`, times a
    random factor in [1 - jitter, 1 + jitter]. The failure count is reset once a session has stayed
    Established for `reset_after` seconds.
    """

    initial: float = 1.0
    maximum: float = 60.0
    jitter: float = 0.25
    reset_after: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum:
            raise ValueError(f"Backoff: need 0 < initial ({self.initial}) <= maximum ({self.maximum})")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"Backoff: jitter {self.jitter} must be in [0, 1)")

    def delay(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait before the next attempt after `failures` consecutive failures."""
        doublings = min(max(failures - 1, 0), 64)
        base = min(self.maximum, self.initial * 2.0**doublings)
        return base * rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
