"""The metallb.io reader: every field lands in the model, per kind and version."""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest
import yaml

from bgplb.config import metallb_crds
from bgplb.config.build import build_config
from bgplb.config.models import Config, IPRange
from bgplb.config.selectors import LabelRequirement, LabelSelector

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def config() -> Config:
    result = build_config(yaml.safe_load_all((DATA / "metallb_all_fields.yaml").read_text()))
    assert result.errors == ()
    assert result.config is not None
    return result.config


def test_pool_every_field(config: Config) -> None:
    gold = config.pool("gold")
    assert gold is not None
    assert gold.ranges == (
        IPRange.from_network(ip_network("10.10.0.0/24")),
        IPRange(first=ip_address("10.10.1.10"), last=ip_address("10.10.1.20")),
        IPRange(first=ip_address("10.10.2.7"), last=ip_address("10.10.2.7")),
        IPRange(first=ip_address("10.10.3.8"), last=ip_address("10.10.3.8")),
        IPRange.from_network(ip_network("2001:db8:10::/120")),
    )
    assert (gold.auto_assign, gold.avoid_buggy_ips, gold.source) == (False, True, "metallb")
    assert gold.labels == {"tier": "gold"}
    allocation = gold.service_allocation
    assert allocation is not None
    assert allocation.priority == 10
    assert allocation.namespaces == ("prod", "staging")
    assert allocation.namespace_selectors == (LabelSelector(match_labels={"team": "web"}),)
    assert allocation.service_selectors == (
        LabelSelector(
            match_expressions=(LabelRequirement(key="app", operator="In", values=("shop", "blog")),)
        ),
    )
    assert gold.origin.item_paths[1] == "spec.addresses[1]"


def test_bgp_advertisement_every_field(config: Config) -> None:
    (adv,) = config.bgp_advertisements
    assert adv.pools == ("gold", "silver")  # explicit silver + gold by selector, sorted
    assert (adv.aggregation_length, adv.aggregation_length_v6, adv.local_pref) == (32, 128, 150)
    assert adv.communities == ("65000:100", "65000:300", "65535:65281")
    assert adv.large_communities == ("1:2:3", "64512:1:2")
    assert adv.node_selectors == (LabelSelector(match_labels={"kubernetes.io/hostname": "node-a"}),)
    assert adv.peers == ("router-v2", "router-v1")
    assert adv.service_selectors == (LabelSelector(match_labels={"expose": "bgp"}),)
    assert config.communities == {"vpn-only": "65000:300", "big": "large:64512:1:2"}


def test_l2_advertisement_every_field(config: Config) -> None:
    (l2,) = config.l2_advertisements
    assert l2.pools == ("gold", "silver")
    assert l2.interfaces == ("eth0", "bond0")
    assert l2.node_selectors == (LabelSelector(match_labels={"l2": "yes"}),)
    assert l2.service_selectors == (LabelSelector(match_labels={"expose": "arp"}),)
    assert config.l2_advertisements_for("gold") == (l2,)


def test_bfd_profile_every_field(config: Config) -> None:
    profile = config.bfd_profile("fast")
    assert profile is not None
    assert (profile.receive_interval, profile.transmit_interval, profile.detect_multiplier) == (300, 310, 5)
    assert (profile.echo_interval, profile.echo_mode, profile.passive_mode, profile.minimum_ttl) == (
        60,
        True,
        True,
        250,
    )


def test_peer_v1beta2_every_field(config: Config) -> None:
    peer = config.peer("router-v2")
    assert peer is not None
    assert (peer.my_asn, peer.peer_asn, peer.is_ibgp) == (64512, 64600, False)
    assert peer.peer_address == ip_address("192.0.2.1")
    assert peer.source_address == ip_address("192.0.2.10")
    assert peer.peer_port == 1179
    assert (peer.hold_time, peer.keepalive_time, peer.connect_time) == (90, 30, 5)
    assert peer.router_id == ip_address("10.0.0.1")
    assert peer.node_selectors == (
        LabelSelector(
            match_labels={"rack": "r1"},
            match_expressions=(LabelRequirement(key="role", operator="NotIn", values=("storage",)),),
        ),
    )
    assert peer.password_secret is not None and peer.password_secret.name == "bgp-auth"
    assert peer.bfd_profile == "fast"
    assert (peer.enable_graceful_restart, peer.ebgp_multihop, peer.vrf) == (True, True, "red")
    assert (peer.disable_mp, peer.dual_stack_address_family, peer.families) == (True, True, ("ipv4", "ipv6"))


def test_peer_v1beta1_every_field(config: Config) -> None:
    peer = config.peer("router-v1")
    assert peer is not None
    assert (peer.my_asn, peer.is_ibgp, peer.hold_time, peer.password) == (4200000001, True, 9, "s3cret")
    assert peer.families == ("ipv6",)
    assert peer.node_selectors[0].match_expressions == (LabelRequirement(key="gpu", operator="DoesNotExist"),)


def test_unsupported_fields_are_warnings_not_silence() -> None:
    result = build_config(yaml.safe_load_all((DATA / "metallb_all_fields.yaml").read_text()))
    fields = {w.field_path for w in result.warnings if w.name == "metallb-system/router-v2"}
    assert {"spec.vrf", "spec.bfdProfile", "spec.disableMP"} <= fields


def test_unknown_kind_in_the_group_is_a_warning() -> None:
    fragment = metallb_crds.read(
        {"apiVersion": "metallb.io/v1beta1", "kind": "ServiceL2Status", "metadata": {"name": "x"}}
    )
    assert [(w.kind, w.field_path) for w in fragment.warnings] == [("ServiceL2Status", "kind")]
    assert fragment.errors == []


def test_default_values() -> None:
    fragment = metallb_crds.read(
        {
            "apiVersion": "metallb.io/v1beta2",
            "kind": "BGPPeer",
            "metadata": {"name": "p"},
            "spec": {"myASN": 64512, "peerASN": 64513, "peerAddress": "192.0.2.1"},
        }
    )
    (peer,) = fragment.peers
    assert (peer.peer_port, peer.hold_time, peer.ebgp_multihop, peer.families) == (
        179,
        None,
        False,
        ("ipv4",),
    )
    assert fragment.errors == [] and fragment.warnings == []


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"myASN": "many"}, "spec.myASN"),
        ({"myASN": 64512, "peerASN": 1, "peerAddress": "300.1.1.1"}, "spec.peerAddress"),
        ({"myASN": 64512, "peerASN": 1, "peerAddress": "192.0.2.1", "peerPort": 70000}, "spec.peerPort"),
        (
            {"myASN": 64512, "peerASN": 1, "peerAddress": "192.0.2.1", "passwordSecret": {}},
            "spec.passwordSecret.name",
        ),
        (
            {"myASN": 64512, "peerASN": 1, "peerAddress": "192.0.2.1", "nodeSelectors": "rack"},
            "spec.nodeSelectors",
        ),
        ({"myASN": 64512, "dynamicASN": "sideways", "peerAddress": "192.0.2.1"}, "spec.dynamicASN"),
    ],
)
def test_bad_peer_fields_are_errors(spec: dict[str, object], field: str) -> None:
    fragment = metallb_crds.read(
        {"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": "p"}, "spec": spec}
    )
    assert field in {e.field_path for e in fragment.errors}
