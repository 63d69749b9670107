"""Negotiation: hold time, keepalive, capabilities both sides must have, families."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from bgplb.bgp.capabilities import (
    Capability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    FourOctetAs,
    Fqdn,
    GracefulRestart,
    Multiprotocol,
    RouteRefreshCapability,
)
from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST
from bgplb.bgp.messages import Open
from bgplb.bgp.negotiation import Negotiated, negotiate

ALL: tuple[Capability, ...] = (
    Multiprotocol(1, 1),
    Multiprotocol(2, 1),
    RouteRefreshCapability(),
    EnhancedRouteRefresh(),
    ExtendedMessage(),
    FourOctetAs(64501),
)


def _open(hold: int = 90, caps: tuple[Capability, ...] = ALL, asn: int = 64501) -> Open:
    return Open(asn, hold, IPv4Address("10.0.0.1"), caps)


@pytest.mark.parametrize(
    ("local", "remote", "configured", "hold", "keepalive"),
    [
        (90, 180, None, 90, 30),
        (90, 9, None, 9, 3),
        (90, 0, None, 0, 0),
        (90, 90, 10, 90, 10),
        (9, 90, 10, 9, 3),
        (3, 90, None, 3, 1),
    ],
)
def test_hold_and_keepalive(
    local: int, remote: int, configured: int | None, hold: int, keepalive: int
) -> None:
    result = negotiate(_open(local), _open(remote), keepalive_time=configured)
    assert (result.hold_time, result.keepalive_time) == (hold, keepalive)


def test_everything_both_sides_support() -> None:
    result = negotiate(
        _open(), _open(caps=(*ALL, Fqdn("router", "lan"), GracefulRestart(restart_time=90)), asn=64500)
    )
    assert (
        result.four_octet_as
        and result.extended_message
        and result.route_refresh
        and result.enhanced_route_refresh
    )
    assert result.families == frozenset({IPV4_UNICAST, IPV6_UNICAST})
    assert result.max_message_size == 65535
    assert result.peer_asn == 64500
    assert result.peer_hostname == "router"
    assert result.peer_graceful_restart == GracefulRestart(restart_time=90)
    assert result.local_graceful_restart is None


@pytest.mark.parametrize(
    "missing", [FourOctetAs, ExtendedMessage, RouteRefreshCapability, EnhancedRouteRefresh]
)
def test_a_capability_on_one_side_only_is_off(missing: type) -> None:
    remote = _open(caps=tuple(c for c in ALL if not isinstance(c, missing)))
    result = negotiate(_open(), remote)
    flags = {
        FourOctetAs: result.four_octet_as,
        ExtendedMessage: result.extended_message,
        RouteRefreshCapability: result.route_refresh,
        EnhancedRouteRefresh: result.enhanced_route_refresh,
    }
    assert flags.pop(missing) is False
    assert all(flags.values())


def test_no_multiprotocol_capability_means_ipv4_unicast() -> None:
    assert negotiate(_open(), _open(caps=())).families == frozenset({IPV4_UNICAST})
    ipv6_only = _open(caps=(Multiprotocol(2, 1),))
    assert negotiate(ipv6_only, _open(caps=())).families == frozenset()
    assert negotiate(ipv6_only, _open()).families == frozenset({IPV6_UNICAST})


def test_default_context_is_a_plain_4096_octet_session() -> None:
    assert Negotiated().max_message_size == 4096
