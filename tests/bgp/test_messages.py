"""Message values: End-of-RIB, shutdown messages, attribute and capability look-ups."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bgplb.bgp.attributes import AsPath, MpReachNlri, MpUnreachNlri, NextHop, Origin
from bgplb.bgp.capabilities import FourOctetAs, Multiprotocol, RouteRefreshCapability
from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST, Family
from bgplb.bgp.errors import ErrorAction, ProtocolError
from bgplb.bgp.messages import Notification, Open, RouteRefresh, Update, end_of_rib


def test_end_of_rib_markers() -> None:
    assert end_of_rib(IPV4_UNICAST) == Update()
    assert end_of_rib(IPV4_UNICAST).is_end_of_rib() == IPV4_UNICAST
    assert end_of_rib(IPV6_UNICAST).is_end_of_rib() == IPV6_UNICAST
    assert Update(nlri=(IPv4Network("10.0.0.0/8"),)).is_end_of_rib() is None
    assert Update(attributes=(MpUnreachNlri(2, 1, (IPv6Network("::/0"),)),)).is_end_of_rib() is None
    assert Update(attributes=(Origin(),)).is_end_of_rib() is None


def test_errors_do_not_take_part_in_equality() -> None:
    error = ProtocolError(3, 6, "bad", action=ErrorAction.TREAT_AS_WITHDRAW)  # type: ignore[arg-type]
    assert Update(errors=(error,)) == Update()
    assert Update(errors=(error,)).treat_as_withdraw
    assert not Update().treat_as_withdraw


def test_announced_and_withdrawn_per_family() -> None:
    update = Update(
        withdrawn=(IPv4Network("10.0.0.0/8"),),
        attributes=(
            Origin(),
            AsPath(),
            NextHop(IPv4Address("192.0.2.1")),
            MpReachNlri(2, 1, (IPv6Address("2001:db8::1"),), (IPv6Network("2001:db8:1::/48"),)),
            MpUnreachNlri(2, 1, (IPv6Network("2001:db8:2::/48"),)),
        ),
        nlri=(IPv4Network("10.1.0.0/16"),),
    )
    assert update.announced() == {
        IPV4_UNICAST: (IPv4Network("10.1.0.0/16"),),
        IPV6_UNICAST: (IPv6Network("2001:db8:1::/48"),),
    }
    assert update.withdrawn_by_family() == {
        IPV4_UNICAST: (IPv4Network("10.0.0.0/8"),),
        IPV6_UNICAST: (IPv6Network("2001:db8:2::/48"),),
    }
    assert update.get(NextHop) == NextHop(IPv4Address("192.0.2.1"))


def test_open_capability_lookups() -> None:
    message = Open(
        4200000001,
        90,
        IPv4Address("10.0.0.1"),
        (Multiprotocol(1, 1), Multiprotocol(2, 1), FourOctetAs(4200000001)),
    )
    assert message.four_octet_as
    assert message.capability(RouteRefreshCapability) is None
    assert message.all_capabilities(Multiprotocol) == (Multiprotocol(1, 1), Multiprotocol(2, 1))


@given(st.text(max_size=300))
def test_shutdown_message_round_trips_within_255_octets(text: str) -> None:
    notification = Notification.shutdown(text)
    assert (notification.code, notification.subcode) == (6, 2)
    assert len(notification.data) <= 256
    decoded = notification.shutdown_message
    if text:
        assert decoded is not None
        assert text.startswith(decoded)
        assert len(decoded.encode()) <= 255
    else:
        assert notification.data == b""


def test_shutdown_message_is_none_when_absent_or_malformed() -> None:
    assert Notification(6, 2, b"\x05abc").shutdown_message is None
    assert Notification(6, 3, b"\x03abc").shutdown_message is None
    assert Notification(6, 4, b"\x03abc").shutdown_message == "abc"
    assert Notification(6, 2, b"\x01\xff").shutdown_message is None


def test_notification_text_names_the_error() -> None:
    assert str(Notification.shutdown("bye")) == "NOTIFICATION CEASE/2: 'bye'"
    assert str(Notification(4, 0)) == "NOTIFICATION HOLD_TIMER_EXPIRED/0"
    assert str(Notification(99, 1, b"\x01")) == "NOTIFICATION code 99/1 data 01"


def test_route_refresh_family() -> None:
    assert RouteRefresh(2, 1).family == Family(2, 1) == IPV6_UNICAST


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Open(1 << 32, 90, IPv4Address("10.0.0.1")), r"Open\.asn"),
        (lambda: Open(64500, 70000, IPv4Address("10.0.0.1")), r"Open\.hold_time"),
        (lambda: Notification(256, 0), r"Notification\.code"),
        (lambda: RouteRefresh(1, 256), r"RouteRefresh\.afi/safi/subtype"),
    ],
)
def test_out_of_range_fields_are_named(build: object, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        build()  # type: ignore[operator]
