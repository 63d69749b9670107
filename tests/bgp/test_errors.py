"""ProtocolError: wire meaning, equality, text; the RFC 7606 strength order."""

from __future__ import annotations

from bgplb.bgp.constants import ErrorCode
from bgplb.bgp.errors import ErrorAction, ProtocolError, strongest
from bgplb.bgp.messages import Notification


def test_wire_text_and_notification() -> None:
    error = ProtocolError(
        ErrorCode.UPDATE_MESSAGE,
        6,
        "ORIGIN: undefined value 7",
        b"\x40\x01\x01\x07",
        ErrorAction.TREAT_AS_WITHDRAW,
    )
    assert error.wire == (3, 6, b"\x40\x01\x01\x07")
    assert str(error) == "ORIGIN: undefined value 7 (NOTIFICATION 3/6, treat-as-withdraw)"
    assert "UPDATE_MESSAGE" in repr(error) and "40010107" in repr(error)
    assert error.notification() == Notification(3, 6, b"\x40\x01\x01\x07")


def test_equality_is_by_wire_meaning_and_action() -> None:
    a = ProtocolError(ErrorCode.OPEN_MESSAGE, 2, "one text")
    b = ProtocolError(ErrorCode.OPEN_MESSAGE, 2, "another text")
    c = ProtocolError(ErrorCode.OPEN_MESSAGE, 2, "one text", action=ErrorAction.TREAT_AS_WITHDRAW)
    assert a == b and hash(a) == hash(b)
    assert a != c


def test_strongest_action() -> None:
    assert strongest([]) is None
    assert (
        strongest([ErrorAction.ATTRIBUTE_DISCARD, ErrorAction.TREAT_AS_WITHDRAW])
        == ErrorAction.TREAT_AS_WITHDRAW
    )
    assert strongest(list(ErrorAction)) == ErrorAction.SESSION_RESET
