"""The attribute list: canonical order, Extended Length, Partial, AS4 attributes per session kind."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network

from bgplb.bgp.attribute_codec import attribute_header, decode_attributes, encode_attributes
from bgplb.bgp.attributes import (
    Aggregator,
    As4Aggregator,
    As4Path,
    AsPath,
    AsPathSegment,
    Communities,
    MpReachNlri,
    NextHop,
    Origin,
    UnknownAttribute,
)
from bgplb.bgp.constants import AS_TRANS, AsPathSegmentType
from tests.bgp import wire

AGG_ADDR = IPv4Address("198.51.100.1")


def test_header_uses_extended_length_only_when_needed() -> None:
    assert attribute_header(0xC0, 8, 255) == b"\xc0\x08\xff"
    assert attribute_header(0xD0, 8, 4) == b"\xc0\x08\x04"
    assert attribute_header(0xC0, 8, 256) == b"\xd0\x08\x01\x00"


def test_mp_attributes_first_then_type_order() -> None:
    reach = MpReachNlri(2, 1, (IPv6Address("2001:db8::1"),), (IPv6Network("2001:db8::/64"),))
    data = encode_attributes([Communities((1,)), AsPath(), reach, Origin()], True)
    attrs, errors = decode_attributes(data, True)
    assert [type(a).__name__ for a in attrs] == ["MpReachNlri", "Origin", "AsPath", "Communities"]
    assert errors == []


def test_two_octet_session_gets_as_trans_and_as4_attributes() -> None:
    attrs = [AsPath.sequence(4200000001, 65001), Aggregator(4200000002, AGG_ADDR)]
    data = encode_attributes(attrs, False)
    assert data == (
        wire.attr(0x40, 2, bytes.fromhex("02025ba0fde9"))
        + wire.attr(0xC0, 7, bytes.fromhex("5ba0") + AGG_ADDR.packed)
        + wire.attr(0xC0, 17, bytes.fromhex("0202fa56ea010000fde9"))
        + wire.attr(0xC0, 18, bytes.fromhex("fa56ea02") + AGG_ADDR.packed)
    )
    assert decode_attributes(data, False) == (attrs, [])


def test_four_octet_session_never_sends_or_keeps_as4_attributes() -> None:
    as4 = As4Path((AsPathSegment(AsPathSegmentType.AS_SEQUENCE, (7,)),))
    assert encode_attributes([Origin(), as4, As4Aggregator(7, AGG_ADDR)], True) == wire.ORIGIN_IGP
    received = wire.ORIGIN_IGP + wire.attr(0xC0, 17, bytes.fromhex("020100000007"))
    assert decode_attributes(received, True) == ([Origin()], [])


def test_as4_values_are_stale_when_a_2_octet_speaker_aggregated_later() -> None:
    # RFC 6793 §4.2.3: AGGREGATOR is not AS_TRANS and AS4_AGGREGATOR is present -> ignore AS4_*
    received = (
        wire.attr(0x40, 2, bytes.fromhex("0202fde85ba0"))
        + wire.attr(0xC0, 7, bytes.fromhex("fde8") + AGG_ADDR.packed)
        + wire.attr(0xC0, 17, bytes.fromhex("0201fa56ea01"))
        + wire.attr(0xC0, 18, bytes.fromhex("fa56ea02") + AGG_ADDR.packed)
    )
    attrs, _ = decode_attributes(received, False)
    assert attrs == [AsPath.sequence(65000, AS_TRANS), Aggregator(65000, AGG_ADDR)]


def test_as_trans_aggregator_without_as4_aggregator_stays() -> None:
    received = wire.attr(0xC0, 7, bytes.fromhex("5ba0") + AGG_ADDR.packed)
    assert decode_attributes(received, False) == ([Aggregator(AS_TRANS, AGG_ADDR)], [])


def test_unknown_attributes_keep_their_flags_and_transitive_ones_gain_partial() -> None:
    data = encode_attributes([UnknownAttribute(0xC0, 200, b"x"), UnknownAttribute(0x80, 201, b"y")], True)
    assert data == wire.attr(0xE0, 200, b"x") + wire.attr(0x80, 201, b"y")


def test_unknown_attribute_with_extended_length_is_kept_without_the_bit() -> None:
    attrs, _ = decode_attributes(wire.attr(0xD0, 200, b"z" * 3), True)
    assert attrs == [UnknownAttribute(0xC0, 200, b"zzz")]


def test_next_hop_alone_is_not_an_error_here() -> None:
    assert decode_attributes(wire.NEXT_HOP_192_0_2_1, True) == ([NextHop(IPv4Address("192.0.2.1"))], [])
