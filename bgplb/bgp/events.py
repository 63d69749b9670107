"""What a Session reports to its transport: frozen event values returned by its methods.

The transport logs them, updates metrics and tells the CLI; none of them asks the transport to act (the
Session's `wants_connection`, `should_close` and `data_to_send` do that).
"""

from __future__ import annotations

from dataclasses import dataclass

from bgplb.bgp.constants import Family
from bgplb.bgp.errors import ProtocolError
from bgplb.bgp.fsm import DownReason, State
from bgplb.bgp.messages import Notification
from bgplb.bgp.negotiation import Negotiated


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The FSM moved; `reason` says why when it fell back to Idle or Active."""

    old: State
    new: State
    reason: DownReason | None = None


@dataclass(frozen=True, slots=True)
class SessionEstablished:
    """The session reached Established with these parameters."""

    negotiated: Negotiated


@dataclass(frozen=True, slots=True)
class SessionDown:
    """A connection past OpenSent ended; `notification` is the one sent or received, if any."""

    reason: DownReason
    notification: Notification | None
    was_established: bool


@dataclass(frozen=True, slots=True)
class EndOfRibReceived:
    """The peer finished sending its table of `family` (RFC 4724 §2)."""

    family: Family


@dataclass(frozen=True, slots=True)
class UpdateErrorHandled:
    """An UPDATE had RFC 7606 errors that were handled without a reset (treat-as-withdraw, discard)."""

    errors: tuple[ProtocolError, ...]


@dataclass(frozen=True, slots=True)
class StaleRoutesPurged:
    """Graceful-restart helper: stale routes of a restarting peer were deleted (EoR or timer)."""

    family: Family | None
    count: int


@dataclass(frozen=True, slots=True)
class RouteRefreshBegun:
    """Enhanced route refresh (RFC 7313): the peer's BoRR marked its `stale` routes of `family` stale."""

    family: Family
    stale: int


@dataclass(frozen=True, slots=True)
class RouteRefreshEnded:
    """The peer's EoRR came (or, with `timed_out`, did not in time); `purged` routes were not re-sent."""

    family: Family
    purged: int
    timed_out: bool = False


Event = (
    StateChanged
    | SessionEstablished
    | SessionDown
    | EndOfRibReceived
    | UpdateErrorHandled
    | StaleRoutesPurged
    | RouteRefreshBegun
    | RouteRefreshEnded
)
