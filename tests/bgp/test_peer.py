"""PeerConfig and GracefulRestartConfig: bad values are refused with the field named."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from bgplb.bgp.constants import Family
from bgplb.bgp.session import GracefulRestartConfig, PeerConfig

ID = IPv4Address("10.0.0.1")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"local_asn": 0}, "local_asn"),
        ({"local_asn": 2**32}, "local_asn"),
        ({"peer_asn": 0}, "peer_asn"),
        ({"hold_time": 2}, "hold_time"),
        ({"keepalive_time": 0}, "keepalive_time"),
        ({"connect_retry_time": 0.0}, "connect_retry_time"),
        ({"families": ()}, "families"),
        ({"families": (Family(25, 70),)}, "families"),
        ({"max_prefixes": 0}, "max_prefixes"),
        ({"router_id": IPv4Address(0)}, "router_id"),
    ],
)
def test_bad_peer_config_names_the_field(kwargs: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"local_asn": 64501, "peer_asn": 64500, "router_id": ID, **kwargs}
    with pytest.raises(ValueError, match=f"PeerConfig.{field}"):
        PeerConfig(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"restart_time": 4096}, "restart_time"), ({"stale_routes_time": 0}, "stale_routes_time")],
)
def test_bad_graceful_restart_config_names_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=f"GracefulRestartConfig.{field}"):
        GracefulRestartConfig(**kwargs)  # type: ignore[arg-type]


def test_ibgp_is_known_once_the_peer_asn_is() -> None:
    assert PeerConfig(local_asn=64500, peer_asn=64500, router_id=ID).ibgp is True
    assert PeerConfig(local_asn=64500, peer_asn=64501, router_id=ID).ibgp is False
    assert PeerConfig(local_asn=64500, peer_asn=None, router_id=ID).ibgp is None
