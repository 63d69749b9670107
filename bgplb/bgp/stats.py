"""Per-session counters (`Counters`, kept by the Session) and their frozen snapshot (`SessionStats`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from bgplb.bgp.constants import Family, MessageType
from bgplb.bgp.errors import ErrorAction
from bgplb.bgp.fsm import DownReason, State
from bgplb.bgp.messages import Notification


@dataclass(frozen=True, slots=True)
class SessionStats:
    """What `show bgp summary` shows about one session, at one moment."""

    state: State
    established_since: float | None
    established_count: int
    flaps: int
    connect_attempts: int
    messages_in: Mapping[MessageType, int]
    messages_out: Mapping[MessageType, int]
    prefixes_received: Mapping[Family, int]
    prefixes_sent: Mapping[Family, int]
    prefixes_stale: int
    routes_unresolved: int
    update_errors: Mapping[ErrorAction, int]
    last_error: Notification | None
    last_error_from_peer: bool
    last_down_reason: DownReason | None
    last_down_at: float | None

    def uptime(self, now: float) -> float:
        """Seconds in Established, 0 when not Established."""
        return 0.0 if self.established_since is None else max(0.0, now - self.established_since)

    @property
    def shutdown_message(self) -> str | None:
        """The RFC 9003 text of the last Cease/Administrative Shutdown or Reset, sent or received."""
        return self.last_error.shutdown_message if self.last_error is not None else None


@dataclass(slots=True)
class Counters:
    """The mutable side, updated by the Session as things happen."""

    established_since: float | None = None
    established_count: int = 0
    flaps: int = 0
    connect_attempts: int = 0
    messages_in: Counter[MessageType] = field(default_factory=Counter)
    messages_out: Counter[MessageType] = field(default_factory=Counter)
    update_errors: Counter[ErrorAction] = field(default_factory=Counter)
    last_error: Notification | None = None
    last_error_from_peer: bool = False
    last_down_reason: DownReason | None = None
    last_down_at: float | None = None

    def snapshot(
        self,
        *,
        state: State,
        prefixes_received: Mapping[Family, int],
        prefixes_sent: Mapping[Family, int],
        prefixes_stale: int,
        routes_unresolved: int,
    ) -> SessionStats:
        """A frozen copy, completed with what the RIBs know."""
        return SessionStats(
            state=state,
            established_since=self.established_since,
            established_count=self.established_count,
            flaps=self.flaps,
            connect_attempts=self.connect_attempts,
            messages_in=dict(self.messages_in),
            messages_out=dict(self.messages_out),
            prefixes_received=dict(prefixes_received),
            prefixes_sent=dict(prefixes_sent),
            prefixes_stale=prefixes_stale,
            routes_unresolved=routes_unresolved,
            update_errors=dict(self.update_errors),
            last_error=self.last_error,
            last_error_from_peer=self.last_error_from_peer,
            last_down_reason=self.last_down_reason,
            last_down_at=self.last_down_at,
        )
