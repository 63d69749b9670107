"""Model values: IPRange arithmetic, Origin field paths, Config lookups, peer iBGP detection."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest
from pydantic import ValidationError

from bgplb.config.models import AddressPool, BgpPeer, Config, IPRange, Origin


def test_ip_range() -> None:
    r = IPRange(first=ip_address("10.0.0.1"), last=ip_address("10.0.0.6"))
    assert r.size == 6
    assert r.contains(ip_address("10.0.0.6")) and not r.contains(ip_address("10.0.0.7"))
    assert not r.contains(ip_address("::a00:1"))
    assert r.networks() == (
        ip_network("10.0.0.1/32"),
        ip_network("10.0.0.2/31"),
        ip_network("10.0.0.4/31"),
        ip_network("10.0.0.6/32"),
    )
    assert str(r) == "10.0.0.1-10.0.0.6"
    assert str(IPRange.from_network(ip_network("10.1.0.0/16"))) == "10.1.0.0/16"
    assert r.overlaps(IPRange(first=ip_address("10.0.0.6"), last=ip_address("10.0.0.9")))
    assert not r.overlaps(IPRange(first=ip_address("10.0.0.7"), last=ip_address("10.0.0.9")))


@pytest.mark.parametrize(("first", "last"), [("10.0.0.2", "10.0.0.1"), ("10.0.0.1", "2001:db8::1")])
def test_ip_range_rejects_bad_bounds(first: str, last: str) -> None:
    with pytest.raises(ValidationError):
        IPRange(first=ip_address(first), last=ip_address(last))


def test_models_are_frozen() -> None:
    pool = AddressPool(name="p", ranges=(), source="metallb")
    with pytest.raises(ValidationError):
        pool.name = "q"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        AddressPool(name="p", ranges=(), source="metallb", colour="red")  # type: ignore[call-arg]


def test_origin_field_paths() -> None:
    crd = Origin(kind="BGPPeer", name="ns/p", path="spec")
    assert [crd.field_for(f) for f in ("hold_time", "my_asn", "ebgp_multihop", "pools", "name")] == [
        "spec.holdTime",
        "spec.myASN",
        "spec.ebgpMultiHop",
        "spec.ipAddressPools",
        "metadata.name",
    ]
    legacy = Origin(kind="ConfigMap", name="ns/config", path="data.config.peers[0]", style="kebab")
    assert legacy.field_for("hold_time") == "data.config.peers[0].hold-time"
    assert legacy.field_for("name") == "data.config.peers[0].name"
    cilium = Origin(
        kind="CiliumBGPPeeringPolicy",
        path="spec.virtualRouters[0]",
        fields=(("my_asn", "spec.virtualRouters[0].localASN"),),
    )
    assert cilium.field_for("my_asn") == "spec.virtualRouters[0].localASN"


@pytest.mark.parametrize(
    ("peer_asn", "dynamic", "expected"),
    [
        (64512, None, True),
        (64513, None, False),
        (None, "internal", True),
        (None, "external", False),
        (None, None, None),
    ],
)
def test_is_ibgp(peer_asn: int | None, dynamic: str | None, expected: bool | None) -> None:
    peer = BgpPeer(name="p", my_asn=64512, peer_asn=peer_asn, dynamic_asn=dynamic)  # type: ignore[arg-type]
    assert peer.is_ibgp is expected


def test_config_lookups() -> None:
    pool = AddressPool(name="p", ranges=(IPRange.from_network(ip_network("10.0.0.0/30")),), source="metallb")
    config = Config(pools=(pool,))
    assert config.pool("p") is pool and config.pool("q") is None
    assert config.pool_of(ip_address("10.0.0.3")) is pool and config.pool_of(ip_address("10.0.0.4")) is None
    assert hash(config) == hash(Config(pools=(pool,)))


def test_password_stays_out_of_repr() -> None:
    peer = BgpPeer(name="p", my_asn=64512, peer_asn=64513, password="hunter2")
    assert "hunter2" not in repr(peer) and peer.password == "hunter2"
