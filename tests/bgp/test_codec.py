"""Codec: framing, round trips, the error table (code, subcode, data, action) and the wire vectors."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgplb.bgp.attributes import AsPath, LargeCommunities, NextHop, Origin
from bgplb.bgp.codec import decode, encode, encode_update_raw, frame, split_frames
from bgplb.bgp.constants import MAX_EXTENDED_MESSAGE, MAX_MESSAGE
from bgplb.bgp.errors import ErrorAction, ProtocolError
from bgplb.bgp.messages import Keepalive, Notification, Open, RouteRefresh, Update
from bgplb.bgp.negotiation import Negotiated
from tests.bgp import wire
from tests.bgp.codec_strategies import messages, negotiated_contexts, opens, updates

RESET = ErrorAction.SESSION_RESET
TAW = ErrorAction.TREAT_AS_WITHDRAW
DISCARD = ErrorAction.ATTRIBUTE_DISCARD
FOUR = Negotiated(four_octet_as=True)
TWO = Negotiated(four_octet_as=False)


# --- round trips ------------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.data(), negotiated_contexts)
def test_every_message_survives_encode_then_decode(data: st.DataObject, negotiated: Negotiated) -> None:
    message = data.draw(messages(negotiated))
    decoded = decode(encode(message, negotiated), negotiated)
    assert decoded == message
    if isinstance(decoded, Update):
        assert decoded.errors == ()


@settings(max_examples=200, deadline=None)
@given(updates(four_octet=False))
def test_four_octet_asns_cross_a_two_octet_session_through_as4_path(message: Update) -> None:
    wire_bytes = encode(message, TWO)
    assert decode(wire_bytes, TWO) == message


@settings(max_examples=100, deadline=None)
@given(opens())
def test_open_reencodes_to_the_same_bytes(message: Open) -> None:
    first = encode(message)
    assert encode(decode(first)) == first


def test_large_values_use_the_extended_length_bit() -> None:
    big = LargeCommunities(tuple((i, i, i) for i in range(30)))  # 360 octets
    attrs = (Origin(), AsPath.sequence(65001), NextHop(IPv4Address("192.0.2.1")), big)
    message = Update(attributes=attrs, nlri=(IPv4Network("10.0.0.1/32"),))
    data = encode(message, FOUR)
    assert bytes((0xD0, 32)) + (360).to_bytes(2, "big") in data
    assert decode(data, FOUR) == message


def test_extended_message_allows_updates_beyond_4096_octets() -> None:
    nlri = tuple(IPv4Network((0x0A000000 + i, 32)) for i in range(1500))
    message = Update(attributes=(Origin(), AsPath(), NextHop(IPv4Address("192.0.2.1"))), nlri=nlri)
    extended = Negotiated(extended_message=True)
    data = encode(message, extended)
    assert MAX_MESSAGE < len(data) <= MAX_EXTENDED_MESSAGE
    assert decode(data, extended) == message
    with pytest.raises(ValueError, match="exceeds the 4096-octet maximum"):
        encode(message, Negotiated())
    with pytest.raises(ProtocolError) as info:
        decode(data, Negotiated())
    assert info.value.wire == (1, 2, len(data).to_bytes(2, "big"))


def test_raw_building_blocks_match_the_message_encoder() -> None:
    message = Update(withdrawn=(IPv4Network("10.1.0.0/16"),))
    assert encode(message) == encode_update_raw(b"\x10\x0a\x01", b"", b"")
    assert encode(Keepalive()) == frame(4, b"") == wire.frame(4, b"")


# --- framing ----------------------------------------------------------------------------------------------
def test_split_frames_returns_whole_messages_and_keeps_the_rest() -> None:
    keepalive = encode(Keepalive())
    refresh = encode(RouteRefresh(1, 1))
    buffer = bytearray(keepalive + refresh + keepalive[:7])
    assert split_frames(buffer, MAX_MESSAGE) == [keepalive, refresh]
    assert buffer == bytearray(keepalive[:7])
    buffer += keepalive[7:]
    assert split_frames(buffer, MAX_MESSAGE) == [keepalive]
    assert buffer == bytearray()


def test_split_frames_waits_for_a_partial_header() -> None:
    buffer = bytearray(b"\xff" * 18)
    assert split_frames(buffer, MAX_MESSAGE) == []
    assert len(buffer) == 18


def test_split_frames_keeps_good_frames_in_front_of_a_bad_header_out_of_the_buffer() -> None:
    keepalive = encode(Keepalive())
    buffer = bytearray(keepalive + b"\x00" * 19)
    with pytest.raises(ProtocolError) as info:
        split_frames(buffer, MAX_MESSAGE)
    assert info.value.wire == (1, 1, b"")
    assert bytes(buffer) == b"\x00" * 19  # the good KEEPALIVE was consumed


# --- the error table ----------------------------------------------------------------------------------------
def _u(attrs: bytes, nlri: bytes = wire.NLRI_10_0_0_1) -> bytes:
    return wire.update(attrs, nlri)


BASE4 = wire.ORIGIN_IGP + wire.AS_PATH_65001 + wire.NEXT_HOP_192_0_2_1
ERRORS = [
    # (id, bytes, negotiated, code, subcode, data, action)
    ("bad-marker", b"\x00" * 16 + b"\x00\x13\x04", None, 1, 1, b"", RESET),
    ("length-below-19", wire.frame(4, b"", length=18), None, 1, 2, b"\x00\x12", RESET),
    ("open-above-4096", wire.frame(1, b"\x00" * 4078), None, 1, 2, b"\x10\x01", RESET),
    ("unknown-type", wire.frame(9, b""), None, 1, 3, b"\x09", RESET),
    ("bad-length-before-bad-type", wire.frame(9, b"", length=5000), None, 1, 2, b"\x13\x88", RESET),
    ("keepalive-not-19", wire.frame(4, b"\x00"), None, 1, 2, b"\x00\x14", RESET),
    ("open-below-29", wire.frame(1, b"\x04" + b"\x00" * 8), None, 1, 2, b"\x00\x1c", RESET),
    ("update-below-23", wire.frame(2, b"\x00\x00\x00"), None, 1, 2, b"\x00\x16", RESET),
    ("notification-below-21", wire.frame(3, b"\x06"), None, 1, 2, b"\x00\x14", RESET),
    ("refresh-below-23", wire.frame(5, b"\x00\x01\x00"), None, 1, 2, b"\x00\x16", RESET),
    ("refresh-too-long", wire.frame(5, b"\x00\x01\x00\x01\x00"), None, 1, 2, b"\x00\x18", RESET),
    ("update-above-4096", wire.frame(2, b"\x00" * 4078), None, 1, 2, b"\x10\x01", RESET),
    ("frame-shorter-than-length", wire.frame(4, b"", length=19)[:-1], None, 1, 2, b"", RESET),
    # OPEN (RFC 4271 §6.2, RFC 5492, RFC 6793)
    ("open-version-3", wire.open_msg(b"", version=3), None, 2, 1, b"\x00\x04", RESET),
    ("open-param-type-1", wire.open_msg(b"\x01\x02\x00\x00"), None, 2, 4, b"", RESET),
    ("open-param-length-mismatch", wire.open_msg(b"\x02\x06\x41\x04\x00\x00"), None, 2, 0, b"", RESET),
    ("open-param-overrun", wire.open_msg(b"\x02\x05\x41\x04\x00\x00"), None, 2, 0, b"", RESET),
    (
        "open-capability-overrun",
        wire.open_msg(wire.caps_param(b"\x41\x05\x00\x00\xfd\xe9")),
        None,
        2,
        0,
        b"",
        RESET,
    ),
    (
        "open-multiprotocol-length-3",
        wire.open_msg(wire.caps_param(b"\x01\x03\x00\x01\x00")),
        None,
        2,
        0,
        b"",
        RESET,
    ),
    (
        "open-graceful-restart-length-3",
        wire.open_msg(wire.caps_param(b"\x40\x03\x00\x78\x00")),
        None,
        2,
        0,
        b"",
        RESET,
    ),
    ("open-fqdn-overrun", wire.open_msg(wire.caps_param(b"\x49\x03\x05ab")), None, 2, 0, b"", RESET),
    (
        "open-as4-disagrees",
        wire.open_msg(wire.caps_param(b"\x41\x04\x00\x00\xfd\xea")),
        None,
        2,
        2,
        b"\xfd\xe9",
        RESET,
    ),
    # UPDATE message structure (RFC 4271 §6.3, RFC 7606 §4, §5.3)
    ("withdrawn-length-overrun", wire.frame(2, b"\x00\x05\x00\x00"), None, 3, 1, b"", RESET),
    ("attribute-length-overrun", wire.frame(2, b"\x00\x00\x00\x05\x40"), None, 3, 1, b"", RESET),
    ("withdrawn-prefix-33", wire.update(withdrawn=b"\x21\x0a\x00\x00\x01\x00"), None, 3, 10, b"", RESET),
    ("nlri-truncated", _u(BASE4, b"\x18\x0a\x00"), FOUR, 3, 10, b"", RESET),
    ("attribute-header-truncated", _u(BASE4 + b"\x40\x05"), FOUR, 3, 1, b"", TAW),
    ("attribute-value-overrun", _u(BASE4 + b"\x80\x04\x04\x00\x00"), FOUR, 3, 1, b"", TAW),
    ("unrecognized-well-known", _u(BASE4 + wire.attr(0x40, 99, b"x")), FOUR, 3, 2, b"\x40\x63\x01x", RESET),
    ("duplicate-attribute", _u(BASE4 + wire.attr(0x40, 1, b"\x01")), FOUR, 3, 1, b"", DISCARD),
    (
        "duplicate-mp-reach",
        _u(
            BASE4
            + (
                mp := wire.attr(
                    0x80, 14, b"\x00\x02\x01\x10" + b"\x20\x01\x0d\xb8" + b"\x00" * 11 + b"\x01\x00"
                )
            )
            + mp
        ),
        FOUR,
        3,
        1,
        b"",
        RESET,
    ),
    ("missing-origin", _u(wire.AS_PATH_65001 + wire.NEXT_HOP_192_0_2_1), FOUR, 3, 3, b"\x01", TAW),
    ("missing-as-path", _u(wire.ORIGIN_IGP + wire.NEXT_HOP_192_0_2_1), FOUR, 3, 3, b"\x02", TAW),
    ("missing-next-hop", _u(wire.ORIGIN_IGP + wire.AS_PATH_65001), FOUR, 3, 3, b"\x03", TAW),
    # per attribute (RFC 7606 §7)
    ("origin-undefined", _u(wire.attr(0x40, 1, b"\x03") + BASE4[4:]), FOUR, 3, 6, b"\x40\x01\x01\x03", TAW),
    (
        "origin-length-2",
        _u(wire.attr(0x40, 1, b"\x00\x00") + BASE4[4:]),
        FOUR,
        3,
        5,
        b"\x40\x01\x02\x00\x00",
        TAW,
    ),
    (
        "origin-flags-optional",
        _u(wire.attr(0xC0, 1, b"\x00") + BASE4[4:]),
        FOUR,
        3,
        4,
        b"\xc0\x01\x01\x00",
        TAW,
    ),
    (
        "as-path-segment-type-5",
        _u(wire.ORIGIN_IGP + wire.attr(0x40, 2, b"\x05\x01\x00\x00\xfd\xe9") + wire.NEXT_HOP_192_0_2_1),
        FOUR,
        3,
        11,
        b"",
        TAW,
    ),
    (
        "as-path-empty-segment",
        _u(wire.ORIGIN_IGP + wire.attr(0x40, 2, b"\x02\x00") + wire.NEXT_HOP_192_0_2_1),
        FOUR,
        3,
        11,
        b"",
        TAW,
    ),
    (
        "as-path-overrun",
        _u(wire.ORIGIN_IGP + wire.attr(0x40, 2, b"\x02\x02\x00\x00\xfd\xe9") + wire.NEXT_HOP_192_0_2_1),
        FOUR,
        3,
        11,
        b"",
        TAW,
    ),
    (
        "as-path-as-zero",
        _u(wire.ORIGIN_IGP + wire.attr(0x40, 2, b"\x02\x01\x00\x00\x00\x00") + wire.NEXT_HOP_192_0_2_1),
        FOUR,
        3,
        11,
        b"",
        TAW,
    ),
    (
        "aggregator-as-zero",
        _u(BASE4 + wire.attr(0xC0, 7, b"\x00" * 4 + b"\xc0\x00\x02\x01")),
        FOUR,
        3,
        9,
        None,
        DISCARD,
    ),
    (
        "as-path-2-octet-odd",
        _u(wire.ORIGIN_IGP + wire.attr(0x40, 2, b"\x02\x01\xfd") + wire.NEXT_HOP_192_0_2_1),
        TWO,
        3,
        11,
        b"",
        TAW,
    ),
    (
        "next-hop-length-5",
        _u(wire.ORIGIN_IGP + wire.AS_PATH_65001 + wire.attr(0x40, 3, b"\xc0\x00\x02\x01\x00")),
        FOUR,
        3,
        5,
        b"\x40\x03\x05\xc0\x00\x02\x01\x00",
        TAW,
    ),
    (
        "med-length-3",
        _u(BASE4 + wire.attr(0x80, 4, b"\x00\x00\x01")),
        FOUR,
        3,
        5,
        b"\x80\x04\x03\x00\x00\x01",
        TAW,
    ),
    (
        "med-flags-transitive",
        _u(BASE4 + wire.attr(0xC0, 4, b"\x00\x00\x00\x01")),
        FOUR,
        3,
        4,
        b"\xc0\x04\x04\x00\x00\x00\x01",
        TAW,
    ),
    (
        "local-pref-length-2",
        _u(BASE4 + wire.attr(0x40, 5, b"\x00\x64")),
        FOUR,
        3,
        5,
        b"\x40\x05\x02\x00\x64",
        TAW,
    ),
    (
        "atomic-aggregate-length-1",
        _u(BASE4 + wire.attr(0x40, 6, b"\x00")),
        FOUR,
        3,
        5,
        b"\x40\x06\x01\x00",
        DISCARD,
    ),
    (
        "aggregator-length-7",
        _u(BASE4 + wire.attr(0xC0, 7, b"\x00" * 7)),
        FOUR,
        3,
        5,
        b"\xc0\x07\x07" + b"\x00" * 7,
        DISCARD,
    ),
    (
        "aggregator-8-on-2-octet",
        _u(
            wire.ORIGIN_IGP + wire.AS_PATH_65001_2 + wire.NEXT_HOP_192_0_2_1 + wire.attr(0xC0, 7, b"\x00" * 8)
        ),
        TWO,
        3,
        5,
        b"\xc0\x07\x08" + b"\x00" * 8,
        DISCARD,
    ),
    (
        "communities-length-5",
        _u(BASE4 + wire.attr(0xC0, 8, b"\x00" * 5)),
        FOUR,
        3,
        5,
        b"\xc0\x08\x05" + b"\x00" * 5,
        TAW,
    ),
    ("communities-empty", _u(BASE4 + wire.attr(0xC0, 8, b"")), FOUR, 3, 5, b"\xc0\x08\x00", TAW),
    (
        "ext-communities-length-7",
        _u(BASE4 + wire.attr(0xC0, 16, b"\x00" * 7)),
        FOUR,
        3,
        5,
        b"\xc0\x10\x07" + b"\x00" * 7,
        TAW,
    ),
    (
        "large-communities-length-13",
        _u(BASE4 + wire.attr(0xC0, 32, b"\x00" * 13)),
        FOUR,
        3,
        5,
        b"\xc0\x20\x0d" + b"\x00" * 13,
        TAW,
    ),
    (
        "as4-path-confed",
        _u(
            wire.ORIGIN_IGP
            + wire.AS_PATH_65001_2
            + wire.NEXT_HOP_192_0_2_1
            + wire.attr(0xC0, 17, b"\x03\x01\x00\x00\xfd\xe9")
        ),
        TWO,
        3,
        11,
        b"",
        DISCARD,
    ),
    (
        "as4-aggregator-length-6",
        _u(
            wire.ORIGIN_IGP
            + wire.AS_PATH_65001_2
            + wire.NEXT_HOP_192_0_2_1
            + wire.attr(0xC0, 18, b"\x00" * 6)
        ),
        TWO,
        3,
        5,
        b"\xc0\x12\x06" + b"\x00" * 6,
        DISCARD,
    ),
    (
        "mp-reach-ipv6-next-hop-4",
        _u(
            wire.ORIGIN_IGP
            + wire.AS_PATH_65001
            + wire.attr(0x80, 14, b"\x00\x02\x01\x04\xc0\x00\x02\x01\x00"),
            b"",
        ),
        FOUR,
        3,
        9,
        b"\x80\x0e\x09\x00\x02\x01\x04\xc0\x00\x02\x01\x00",
        RESET,
    ),
    (
        "mp-reach-unknown-afi",
        _u(
            wire.ORIGIN_IGP
            + wire.AS_PATH_65001
            + wire.attr(0x80, 14, b"\x00\x03\x01\x04\xc0\x00\x02\x01\x00"),
            b"",
        ),
        FOUR,
        3,
        9,
        b"\x80\x0e\x09\x00\x03\x01\x04\xc0\x00\x02\x01\x00",
        RESET,
    ),
    (
        "mp-reach-prefix-129",
        _u(
            wire.attr(
                0x80,
                14,
                b"\x00\x02\x01\x10" + b"\x20\x01\x0d\xb8" + b"\x00" * 12 + b"\x00\x81" + b"\x00" * 16,
            ),
            b"",
        ),
        FOUR,
        3,
        9,
        None,
        RESET,
    ),
    (
        "mp-reach-flags-transitive",
        _u(wire.attr(0xC0, 14, b"\x00\x02\x01\x10" + b"\x00" * 16 + b"\x00"), b""),
        FOUR,
        3,
        4,
        None,
        RESET,
    ),
    (
        "mp-unreach-length-2",
        _u(wire.attr(0x80, 15, b"\x00\x02"), b""),
        FOUR,
        3,
        9,
        b"\x80\x0f\x02\x00\x02",
        RESET,
    ),
    # ROUTE-REFRESH (RFC 7313 §5)
    ("borr-too-long", (m := wire.frame(5, b"\x00\x01\x01\x01\x00")), None, 7, 1, m, RESET),
]


@pytest.mark.parametrize(
    ("message", "negotiated", "code", "subcode", "data", "action"),
    [e[1:] for e in ERRORS],
    ids=[e[0] for e in ERRORS],
)
def test_malformed_input_maps_to_the_rfc_error(
    message: bytes,
    negotiated: Negotiated | None,
    code: int,
    subcode: int,
    data: bytes | None,
    action: ErrorAction,
) -> None:
    try:
        result = decode(message, negotiated)
    except ProtocolError as exc:
        error = exc
    else:
        assert isinstance(result, Update), result
        assert len(result.errors) == 1, result.errors
        error = result.errors[0]
    assert (int(error.code), error.subcode, error.action) == (code, subcode, action), repr(error)
    if data is not None:
        assert error.data == data
    assert error.reason


def test_split_frames_applies_the_same_header_checks() -> None:
    with pytest.raises(ProtocolError) as info:
        split_frames(bytearray(wire.frame(4, b"\x00")), MAX_MESSAGE)
    assert info.value.wire == (1, 2, b"\x00\x14")


def test_treat_as_withdraw_keeps_the_nlri_and_drops_the_bad_attribute() -> None:
    message = _u(wire.attr(0x40, 1, b"\x07") + BASE4[4:])
    update = decode(message, FOUR)
    assert isinstance(update, Update)
    assert update.treat_as_withdraw
    assert update.nlri == (IPv4Network("10.0.0.1/32"),)
    assert update.get(Origin) is None


def test_duplicate_attribute_keeps_the_first() -> None:
    update = decode(_u(BASE4 + wire.attr(0x40, 1, b"\x02")), FOUR)
    assert isinstance(update, Update)
    assert update.get(Origin) == Origin()
    assert not update.treat_as_withdraw


def test_unknown_optional_transitive_is_passed_on_with_partial() -> None:
    update = decode(_u(BASE4 + wire.attr(0xC0, 99, b"abc")), FOUR)
    assert isinstance(update, Update)
    assert b"\xe0\x63\x03abc" in encode(update, FOUR)


def test_notification_from_a_protocol_error() -> None:
    error = ProtocolError(3, 6, "bad origin", b"\x40\x01\x01\x05")  # type: ignore[arg-type]
    assert error.notification() == Notification(3, 6, b"\x40\x01\x01\x05")
    assert decode(encode(error.notification())) == Notification(3, 6, b"\x40\x01\x01\x05")


def test_route_refresh_with_an_unknown_subtype_decodes_whatever_its_length() -> None:
    """RFC 7313 §5: such a message is ignored, never an error (the Session drops it)."""
    assert decode(wire.frame(5, b"\x00\x01\x03\x01\x00\x00")) == RouteRefresh(1, 1, 3)
    assert decode(wire.frame(5, b"\x00\x02\xff\x01")) == RouteRefresh(2, 1, 255)
