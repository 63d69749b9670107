"""Enhanced route refresh (RFC 7313) as the receiving speaker: which families are being refreshed, until when.

A peer that negotiated the Enhanced Route Refresh capability frames the re-advertisement of one family
between a BoRR (ROUTE-REFRESH subtype 1) and an EoRR (subtype 2). On the BoRR the Session marks the
family's Adj-RIB-In routes stale (an UPDATE makes a route fresh again) and starts a `RefreshTracker`
entry; on the EoRR it purges what is still stale. RFC 7313 §4 leaves the wait for a missing EoRR to the
implementation: bgplb waits `ENHANCED_REFRESH_STALE_TIME` seconds, then purges as if the EoRR had come.
`RefreshRefusedError` is what `Session.request_refresh` raises when it cannot ask the peer for a refresh.
"""

from __future__ import annotations

from enum import Enum

from bgplb.bgp.constants import Family

ENHANCED_REFRESH_STALE_TIME = 300.0
"""Seconds a BoRR waits for its EoRR before the still-stale routes are purged (RFC 7313 §4)."""


class RefreshRefusal(Enum):
    """Why `Session.request_refresh` did not send a ROUTE-REFRESH."""

    NOT_ESTABLISHED = "session not Established"
    NOT_NEGOTIATED = "Route Refresh capability (RFC 2918) not negotiated"
    FAMILY_NOT_NEGOTIATED = "address family not negotiated"


class RefreshRefusedError(ValueError):
    """A ROUTE-REFRESH request that cannot be sent; `reason` says why."""

    def __init__(self, family: Family, reason: RefreshRefusal) -> None:
        super().__init__(f"route refresh of {family}: {reason.value}")
        self.family = family
        self.reason = reason


class RefreshTracker:
    """The families whose BoRR came and whose EoRR has not, each with the time its routes get purged."""

    def __init__(self, stale_time: float = ENHANCED_REFRESH_STALE_TIME) -> None:
        self.stale_time = stale_time
        self._deadlines: dict[Family, float] = {}

    def begin(self, family: Family, now: float) -> None:
        """A BoRR for `family` arrived at `now` (a repeated BoRR restarts the wait)."""
        self._deadlines[family] = now + self.stale_time

    def end(self, family: Family) -> bool:
        """An EoRR for `family` arrived; False when no BoRR preceded it (RFC 7313 §4: ignore it)."""
        return self._deadlines.pop(family, None) is not None

    def active(self, family: Family) -> bool:
        """A refresh of `family` is in progress."""
        return family in self._deadlines

    def expired(self, now: float) -> list[Family]:
        """The families whose EoRR is overdue at `now`; they are no longer tracked."""
        due = [family for family, deadline in self._deadlines.items() if deadline <= now]
        for family in due:
            del self._deadlines[family]
        return due

    def next_deadline(self) -> float | None:
        """The earliest purge time, or None."""
        return min(self._deadlines.values(), default=None)

    def clear(self) -> None:
        """The session went down: no refresh is in progress any more."""
        self._deadlines.clear()
