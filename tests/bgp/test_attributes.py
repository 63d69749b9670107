"""Path attribute values: RFC layouts, round trips per attribute, the RFC 7606 action of each decoder."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bgplb.bgp.attributes import (
    REGISTRY,
    Aggregator,
    As4Aggregator,
    AtomicAggregate,
    Communities,
    ExtendedCommunities,
    LargeCommunities,
    LocalPref,
    MpReachNlri,
    MpUnreachNlri,
    MultiExitDisc,
    NextHop,
    Origin,
)
from bgplb.bgp.constants import AttrType, OriginType
from bgplb.bgp.errors import ErrorAction, ProtocolError
from tests.bgp.codec_strategies import ipv4, ipv6, ipv6_networks, path_attributes

LAYOUTS = [
    (Origin(OriginType.EGP), True, "01"),
    (NextHop(IPv4Address("192.0.2.1")), True, "c0000201"),
    (MultiExitDisc(0xDEADBEEF), True, "deadbeef"),
    (LocalPref(100), True, "00000064"),
    (AtomicAggregate(), True, ""),
    (Aggregator(65001, IPv4Address("192.0.2.9")), False, "fde9c0000209"),
    (Aggregator(4200000001, IPv4Address("192.0.2.9")), True, "fa56ea01c0000209"),
    (As4Aggregator(4200000001, IPv4Address("192.0.2.9")), False, "fa56ea01c0000209"),
    (Communities((0xFBF40064, 0xFFFFFF01)), True, "fbf40064ffffff01"),
    (ExtendedCommunities((bytes.fromhex("0002fbf400000064"),)), True, "0002fbf400000064"),
    (LargeCommunities(((64500, 1, 2),)), True, "0000fbf40000000100000002"),
    (
        MpReachNlri(1, 1, (IPv4Address("192.0.2.1"),), (IPv4Network("10.0.0.0/8"),)),
        True,
        "00010104c000020100080a",
    ),
    (MpUnreachNlri(2, 1, (IPv6Network("2001:db8::/32"),)), True, "0002012020010db8"),
]


@pytest.mark.parametrize(
    ("attribute", "four_octet", "hexed"),
    LAYOUTS,
    ids=lambda v: type(v).__name__ if hasattr(v, "type_code") else "",
)
def test_attribute_value_layout(attribute: object, four_octet: bool, hexed: str) -> None:
    value = bytes.fromhex(hexed)
    assert attribute.encode_value(four_octet) == value  # type: ignore[attr-defined]
    spec = REGISTRY[attribute.type_code]  # type: ignore[attr-defined]
    assert spec.decode(value, four_octet) == attribute
    assert spec.flags == attribute.flags  # type: ignore[attr-defined]


@given(path_attributes(four_octet=True))
def test_every_attribute_value_round_trips(attrs: list[object]) -> None:
    for attribute in attrs:
        spec = REGISTRY.get(attribute.type_code)  # type: ignore[attr-defined]
        if spec is not None:
            assert spec.decode(attribute.encode_value(True), True) == attribute  # type: ignore[attr-defined]


@given(st.one_of(ipv6.map(lambda h: (h,)), st.tuples(ipv6, ipv6)), st.lists(ipv6_networks(), max_size=8))
def test_ipv6_mp_reach_round_trips_with_one_or_two_next_hops(
    hops: tuple[IPv6Address, ...], nlri: list[IPv6Network]
) -> None:
    attribute = MpReachNlri(2, 1, hops, tuple(nlri))
    assert MpReachNlri.decode_value(attribute.encode_value(True), True) == attribute


@given(ipv4)
def test_ipv4_mp_reach_round_trips(hop: IPv4Address) -> None:
    attribute = MpReachNlri(1, 1, (hop,), (IPv4Network("10.0.0.1/32"),))
    assert MpReachNlri.decode_value(attribute.encode_value(True), True) == attribute


ACTIONS = {
    AttrType.ORIGIN: ErrorAction.TREAT_AS_WITHDRAW,  # RFC 7606 §7.1
    AttrType.AS_PATH: ErrorAction.TREAT_AS_WITHDRAW,  # §7.2
    AttrType.NEXT_HOP: ErrorAction.TREAT_AS_WITHDRAW,  # §7.3
    AttrType.MULTI_EXIT_DISC: ErrorAction.TREAT_AS_WITHDRAW,  # §7.4
    AttrType.LOCAL_PREF: ErrorAction.TREAT_AS_WITHDRAW,  # §7.5
    AttrType.ATOMIC_AGGREGATE: ErrorAction.ATTRIBUTE_DISCARD,  # §7.6
    AttrType.AGGREGATOR: ErrorAction.ATTRIBUTE_DISCARD,  # §7.7
    AttrType.COMMUNITIES: ErrorAction.TREAT_AS_WITHDRAW,  # §7.8
    AttrType.MP_REACH_NLRI: ErrorAction.SESSION_RESET,  # §7.11
    AttrType.MP_UNREACH_NLRI: ErrorAction.SESSION_RESET,  # §7.12
    AttrType.EXTENDED_COMMUNITIES: ErrorAction.TREAT_AS_WITHDRAW,  # §7.14
    AttrType.AS4_PATH: ErrorAction.ATTRIBUTE_DISCARD,  # RFC 6793 §6
    AttrType.AS4_AGGREGATOR: ErrorAction.ATTRIBUTE_DISCARD,  # RFC 6793 §6
    AttrType.LARGE_COMMUNITY: ErrorAction.TREAT_AS_WITHDRAW,  # RFC 8092 §6
}


@pytest.mark.parametrize("code", list(ACTIONS), ids=lambda c: c.name)
def test_a_malformed_value_carries_the_rfc_7606_action(code: AttrType) -> None:
    spec = REGISTRY[code]
    assert spec.on_error == ACTIONS[code]
    bad = b"\x05\x01\x02" if code != AttrType.ATOMIC_AGGREGATE else b"\x00"
    with pytest.raises(ProtocolError) as info:
        spec.decode(bad, True)
    assert info.value.action == ACTIONS[code]
    assert info.value.code == 3


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: ExtendedCommunities((b"\x00" * 7,)), "ExtendedCommunities.values"),
        (lambda: MpReachNlri(2, 1, ()), "MpReachNlri.next_hops"),
        (lambda: MultiExitDisc(-1), "MultiExitDisc.value"),
        (lambda: LocalPref(1 << 32), "LocalPref.value"),
        (lambda: Communities((1 << 32,)), "Communities.values"),
        (lambda: LargeCommunities(((1, 2),)), "LargeCommunities.values"),  # type: ignore[arg-type]
        (lambda: Aggregator(1 << 32, IPv4Address("192.0.2.1")), "Aggregator.asn"),
    ],
)
def test_invalid_values_name_the_field(build: object, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        build()  # type: ignore[operator]
