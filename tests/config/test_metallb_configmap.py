"""The legacy ConfigMap reader: every key lands in the model; errors point into data.config."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest
import yaml

from bgplb.config import metallb_configmap
from bgplb.config.build import build_config
from bgplb.config.models import Config
from bgplb.config.selectors import LabelRequirement, LabelSelector
from tests.config.factories import configmap

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def config() -> Config:
    result = build_config(yaml.safe_load_all((DATA / "metallb_configmap_all_fields.yaml").read_text()))
    assert result.errors == ()
    assert result.config is not None
    return result.config


def test_peer_every_key(config: Config) -> None:
    peer = config.peer("peer1")
    assert peer is not None
    assert (peer.my_asn, peer.peer_asn, peer.peer_port, peer.is_ibgp) == (64500, 64501, 1179, False)
    assert (peer.peer_address, peer.source_address) == (ip_address("10.0.0.1"), ip_address("10.0.0.5"))
    assert (peer.hold_time, peer.keepalive_time, peer.router_id) == (120, 40, ip_address("10.0.0.5"))
    assert (peer.password, peer.bfd_profile, peer.ebgp_multihop) == ("yourPassword", "full1", True)
    assert peer.node_selectors == (
        LabelSelector(
            match_labels={"rack": "frontend"},
            match_expressions=(LabelRequirement(key="network-speed", operator="NotIn", values=("slow",)),),
        ),
    )
    assert peer.source == "metallb-configmap"
    second = config.peer("peer2")
    assert second is not None and second.is_ibgp


def test_pools_and_advertisements(config: Config) -> None:
    pool = config.pool("my-ip-space")
    assert pool is not None
    assert [str(r) for r in pool.ranges] == ["198.51.100.0/24", "203.0.113.0/24"]
    assert (pool.auto_assign, pool.avoid_buggy_ips) == (False, True)
    first, second = config.bgp_advertisements_for("my-ip-space")
    assert (first.aggregation_length, first.aggregation_length_v6, first.local_pref) == (32, 128, 100)
    assert first.communities == ("64512:200", "65535:65282")
    assert first.large_communities == ("1:2:3",)
    assert (second.aggregation_length, second.local_pref, second.communities) == (24, 200, ("65535:65282",))
    (l2,) = config.l2_advertisements_for("l2-space")
    assert l2.pools == ("l2-space",)
    assert config.bgp_advertisements_for("l2-space") == ()


def test_bfd_profile_every_key(config: Config) -> None:
    profile = config.bfd_profile("full1")
    assert profile is not None
    assert (profile.receive_interval, profile.transmit_interval, profile.echo_interval) == (179, 180, 62)
    assert (profile.echo_mode, profile.passive_mode, profile.minimum_ttl, profile.detect_multiplier) == (
        False,
        False,
        254,
        3,
    )


def test_bgp_pool_without_advertisements_gets_the_default() -> None:
    fragment = metallb_configmap.read(
        configmap("address-pools:\n- name: p\n  protocol: bgp\n  addresses: [10.0.0.0/24]\n")
    )
    (adv,) = fragment.bgp_advertisements
    assert (adv.pools, adv.aggregation_length, adv.aggregation_length_v6) == (("p",), 32, 128)


def test_an_already_parsed_config_mapping_is_accepted() -> None:
    resource = configmap("")
    resource["data"]["config"] = {
        "address-pools": [{"name": "p", "protocol": "layer2", "addresses": ["10.0.0.0/24"]}]
    }
    fragment = metallb_configmap.read(resource)
    assert [p.name for p in fragment.pools] == ["p"] and fragment.errors == []


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("peers:\n- peer-asn: 1\n  my-asn: 2\n", "data.config.peers[0].peer-address"),
        ("peers:\n- peer-address: 10.0.0.1\n  peer-asn: 1\n", "data.config.peers[0].my-asn"),
        (
            "address-pools:\n- protocol: bgp\n  addresses: [10.0.0.0/24]\n",
            "data.config.address-pools[0].name",
        ),
        (
            "address-pools:\n- name: p\n  protocol: layer2\n  addresses: [10.0.0.0/24]\n"
            "  bgp-advertisements: [{localpref: 1}]\n",
            "data.config.address-pools[0].bgp-advertisements",
        ),
        (
            "address-pools:\n- name: p\n  protocol: bgp\n  addresses: [10.0.0.0/24]\n"
            "  bgp-advertisements:\n  - aggregation-length: 40\n",
            "data.config.address-pools[0].bgp-advertisements[0].aggregation-length",
        ),
        ("bgp-communities:\n  x: notacommunity:1\n", "data.config.bgp-communities.x"),
        ("bfd-profiles:\n- receive-interval: 300\n", "data.config.bfd-profiles[0].name"),
        ("- just\n- a list\n", "data.config"),
    ],
)
def test_errors_point_into_data_config(text: str, field: str) -> None:
    fragment = metallb_configmap.read(configmap(text))
    assert field in {e.field_path for e in fragment.errors}, fragment.errors
    assert all(e.kind == "ConfigMap" and e.name == "metallb-system/config" for e in fragment.errors)
