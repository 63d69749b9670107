"""Capabilities: RFC layouts, round trips, unknown codes kept, malformed values rejected."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bgplb.bgp.capabilities import (
    REGISTRY,
    Capability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    FourOctetAs,
    Fqdn,
    GracefulRestart,
    GracefulRestartFamily,
    Multiprotocol,
    RouteRefreshCapability,
    UnknownCapability,
    decode_capabilities,
    encode_capability,
)
from bgplb.bgp.constants import IPV6_UNICAST
from bgplb.bgp.errors import ProtocolError
from tests.bgp.codec_strategies import capabilities

LAYOUTS = [
    (Multiprotocol(2, 1), "010400020001"),
    (RouteRefreshCapability(), "0200"),
    (EnhancedRouteRefresh(), "4600"),
    (ExtendedMessage(), "0600"),
    (FourOctetAs(4200000001), "4104fa56ea01"),
    (
        GracefulRestart(True, True, 300, (GracefulRestartFamily(1, 1, True), GracefulRestartFamily(2, 1))),
        "400ac12c000101800002 0100",
    ),
    (GracefulRestart(), "40020078"),
    (Fqdn("node1", ""), "4907056e6f64653100"),
    (UnknownCapability(128, b""), "8000"),
    (
        UnknownCapability(69, b"\x00\x01\x01\x01"),
        "450400010101",
    ),  # ADD-PATH is not implemented: kept as bytes
]


@pytest.mark.parametrize(
    ("capability", "hexed"), LAYOUTS, ids=lambda v: type(v).__name__ if not isinstance(v, str) else ""
)
def test_capability_layout(capability: Capability, hexed: str) -> None:
    data = bytes.fromhex(hexed.replace(" ", ""))
    assert encode_capability(capability) == data
    assert decode_capabilities(data) == (capability,)


@given(st.lists(capabilities, max_size=10))
def test_capabilities_round_trip(caps: list[Capability]) -> None:
    assert decode_capabilities(b"".join(map(encode_capability, caps))) == tuple(caps)


def test_several_capabilities_share_one_parameter() -> None:
    data = bytes.fromhex("0104000100010104000200010200")
    assert decode_capabilities(data) == (Multiprotocol(1, 1), Multiprotocol(2, 1), RouteRefreshCapability())
    assert Multiprotocol(2, 1).family == IPV6_UNICAST


def test_every_known_code_is_registered() -> None:
    assert set(REGISTRY) == {1, 2, 6, 64, 65, 70, 73}


@pytest.mark.parametrize(
    "hexed",
    ["0103000100", "020100", "4103000001", "40030078ff", "4904050a0b0c", "49030161", "41", "4105000000"],
)
def test_malformed_capability_is_an_open_error(hexed: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_capabilities(bytes.fromhex(hexed))
    assert (info.value.code, info.value.subcode) == (2, 0)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: GracefulRestart(restart_time=4096), "restart_time"),
        (lambda: FourOctetAs(-1), "asn"),
        (lambda: Fqdn("x" * 256), "hostname"),
        (lambda: Multiprotocol(70000, 1), "afi"),
        (lambda: UnknownCapability(300), "code"),
    ],
)
def test_out_of_range_values_name_the_field(build: object, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        build()  # type: ignore[operator]
