"""Wire numbers match their RFCs."""

from __future__ import annotations

from bgplb.bgp.constants import (
    AS_TRANS,
    HEADER_LEN,
    IPV4_UNICAST,
    IPV6_UNICAST,
    MAX_EXTENDED_MESSAGE,
    MAX_MESSAGE,
    MIN_MESSAGE_LEN,
    AttrFlag,
    CapabilityCode,
    CeaseSubcode,
    ErrorCode,
    Family,
    FsmErrorSubcode,
    MessageType,
    UpdateErrorSubcode,
)


def test_sizes() -> None:
    assert (HEADER_LEN, MAX_MESSAGE, MAX_EXTENDED_MESSAGE, AS_TRANS) == (19, 4096, 65535, 23456)
    assert {MessageType(k).name: v for k, v in MIN_MESSAGE_LEN.items()} == {
        "OPEN": 29,
        "UPDATE": 23,
        "NOTIFICATION": 21,
        "KEEPALIVE": 19,
        "ROUTE_REFRESH": 23,
    }


def test_codes() -> None:
    assert [int(f) for f in AttrFlag] == [0x80, 0x40, 0x20, 0x10]
    assert [int(c) for c in ErrorCode] == [1, 2, 3, 4, 5, 6, 7]
    assert CapabilityCode.FQDN == 73 and CapabilityCode.ENHANCED_ROUTE_REFRESH == 70
    assert CeaseSubcode.MAXIMUM_PREFIXES_REACHED == 1 and CeaseSubcode.OUT_OF_RESOURCES == 8
    assert CeaseSubcode.CONNECTION_COLLISION_RESOLUTION == 7
    assert FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_ESTABLISHED == 3
    assert UpdateErrorSubcode.MALFORMED_AS_PATH == 11


def test_families_compare_with_plain_numbers_and_print_their_names() -> None:
    assert Family(1, 1) == IPV4_UNICAST and hash(Family(2, 1)) == hash(IPV6_UNICAST)
    assert str(IPV6_UNICAST) == "ipv6-unicast"
    assert str(Family(25, 70)) == "afi25-safi70"
