"""The protocol error: what went wrong on the wire, which NOTIFICATION it maps to, and what to do about it.

`ProtocolError` is the only exception the codec raises. It carries the NOTIFICATION code, subcode and data
(RFC 4271 §4.5, §6) and the RFC 7606 §2 action: errors with `SESSION_RESET` end the session; the others are
collected in `Update.errors` and the session carries on (treat-as-withdraw, attribute discard).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from bgplb.bgp.constants import ErrorCode

if TYPE_CHECKING:
    from bgplb.bgp.messages import Notification


class ErrorAction(Enum):
    """RFC 7606 §2 error-handling approaches, strongest first."""

    SESSION_RESET = "session-reset"
    AFI_SAFI_DISABLE = "afi-safi-disable"
    TREAT_AS_WITHDRAW = "treat-as-withdraw"
    ATTRIBUTE_DISCARD = "attribute-discard"


_STRENGTH = {action: rank for rank, action in enumerate(ErrorAction)}


def strongest(actions: list[ErrorAction]) -> ErrorAction | None:
    """The most severe of `actions` (RFC 7606 §3: the strongest applicable approach wins), or None."""
    return min(actions, key=_STRENGTH.__getitem__) if actions else None


class ProtocolError(Exception):
    """A malformed or unacceptable BGP message, with its NOTIFICATION meaning and RFC 7606 action."""

    code: ErrorCode
    subcode: int
    data: bytes
    action: ErrorAction
    reason: str

    def __init__(
        self,
        code: ErrorCode,
        subcode: int,
        reason: str,
        data: bytes = b"",
        action: ErrorAction = ErrorAction.SESSION_RESET,
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.subcode = int(subcode)
        self.data = bytes(data)
        self.action = action
        self.reason = reason

    def __repr__(self) -> str:
        return (
            f"ProtocolError({self.code.name}, {self.subcode}, {self.reason!r}, "
            f"data={self.data.hex()!r}, action={self.action.name})"
        )

    def __str__(self) -> str:
        return f"{self.reason} (NOTIFICATION {int(self.code)}/{self.subcode}, {self.action.value})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProtocolError):
            return NotImplemented
        return self.wire == other.wire and self.action == other.action

    def __hash__(self) -> int:
        return hash((self.wire, self.action))

    @property
    def wire(self) -> tuple[int, int, bytes]:
        """(code, subcode, data) as they go into the NOTIFICATION."""
        return (int(self.code), self.subcode, self.data)

    def notification(self) -> Notification:
        """The NOTIFICATION message to send for this error."""
        from bgplb.bgp.messages import Notification  # noqa: PLC0415 - messages imports this module

        return Notification(int(self.code), self.subcode, self.data)
