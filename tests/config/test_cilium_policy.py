"""CiliumBGPPeeringPolicy v2alpha1: each field mapped, unsupported ones warned, bad ones named."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

import pytest

from bgplb.config import cilium
from bgplb.config.fragment import Fragment
from bgplb.config.models import LabelSelector, SecretRef

ALL = {"matchExpressions": [{"key": "x", "operator": "NotIn", "values": ["never"]}]}


def policy(
    router: dict[str, Any] | None = None, neighbor: dict[str, Any] | None = None, **spec: Any
) -> Fragment:
    n = {"peerAddress": "10.0.0.1/32", "peerASN": 65000, **(neighbor or {})}
    r = {"localASN": 65001, "serviceSelector": ALL, "neighbors": [n], **(router or {})}
    body = {"virtualRouters": [r], **spec}
    return cilium.read(
        {
            "apiVersion": "cilium.io/v2alpha1",
            "kind": "CiliumBGPPeeringPolicy",
            "metadata": {"name": "pol"},
            "spec": body,
        }
    )


def test_defaults_are_ciliums() -> None:
    out = policy()
    assert out.errors == [] and out.warnings == []
    (peer,) = out.peers
    assert peer.name == "pol-65001-10.0.0.1" and peer.source == "cilium"
    assert (peer.my_asn, peer.peer_asn, peer.peer_port) == (65001, 65000, 179)
    assert (peer.hold_time, peer.keepalive_time, peer.connect_time) == (90, 30, 120)
    assert peer.ebgp_multihop is False and not peer.enable_graceful_restart
    assert peer.families == ("ipv4", "ipv6") and peer.node_selectors == () and peer.password_secret is None
    (adv,) = out.bgp_advertisements
    assert adv.name == "pol-vr0" and adv.peers == (peer.name,) and adv.pools == ()


@pytest.mark.parametrize(
    ("neighbor", "field", "expected"),
    [
        ({"peerPort": 1179}, "peer_port", 1179),
        ({"holdTimeSeconds": 9}, "hold_time", 9),
        ({"keepAliveTimeSeconds": 3}, "keepalive_time", 3),
        ({"connectRetryTimeSeconds": 5}, "connect_time", 5),
        ({"eBGPMultihopTTL": 4}, "ebgp_multihop", 4),
        ({"eBGPMultihopTTL": 1}, "ebgp_multihop", False),
        ({"gracefulRestart": {"enabled": True}}, "graceful_restart_time", 120),
        ({"gracefulRestart": {"enabled": True, "restartTimeSeconds": 30}}, "graceful_restart_time", 30),
        ({"gracefulRestart": {"enabled": True}}, "enable_graceful_restart", True),
        ({"authSecretRef": "bgp-pw"}, "password_secret", SecretRef(name="bgp-pw", namespace="kube-system")),
        ({"families": [{"afi": "ipv6", "safi": "unicast"}]}, "families", ("ipv6",)),
        ({"peerAddress": "fd00::1/128"}, "peer_address", ip_address("fd00::1")),
    ],
)
def test_neighbor_field_mapped(neighbor: dict[str, Any], field: str, expected: object) -> None:
    out = policy(neighbor=neighbor)
    assert out.errors == []
    assert getattr(out.peers[0], field) == expected


def test_node_selector_goes_to_peers_and_advertisements() -> None:
    out = policy(nodeSelector={"matchLabels": {"io.cilium/bgp": "worker"}})
    selector = (LabelSelector(match_labels={"io.cilium/bgp": "worker"}),)
    assert out.peers[0].node_selectors == selector and out.bgp_advertisements[0].node_selectors == selector


def test_path_attributes_become_an_advertisement_for_the_neighbor_and_selected_pools() -> None:
    attrs = {
        "selectorType": "CiliumLoadBalancerIPPool",
        "selector": {"matchLabels": {"bgp": "yes"}},
        "communities": {
            "standard": ["65001:7"],
            "large": ["65001:1:2"],
            "wellKnown": ["no-export", "internet"],
        },
        "localPreference": 200,
    }
    out = policy(neighbor={"advertisedPathAttributes": [attrs]})
    assert out.errors == []
    extra = next(a for a in out.bgp_advertisements if a.name.endswith("attrs0"))
    assert extra.peers == (out.peers[0].name,)
    assert extra.pool_selectors == (LabelSelector(match_labels={"bgp": "yes"}),)
    assert extra.communities == ("0:0", "65001:7", "65535:65281") and extra.large_communities == (
        "65001:1:2",
    )
    assert extra.local_pref == 200
    assert extra.service_selectors == out.bgp_advertisements[0].service_selectors


@pytest.mark.parametrize(
    ("router", "neighbor", "path"),
    [
        ({"exportPodCIDR": True}, {}, "spec.virtualRouters[0].exportPodCIDR"),
        ({"podIPPoolSelector": {}}, {}, "spec.virtualRouters[0].podIPPoolSelector"),
        (
            {"serviceAdvertisements": ["LoadBalancerIP", "ClusterIP"]},
            {},
            "spec.virtualRouters[0].serviceAdvertisements[1]",
        ),
        ({"serviceAdvertisements": ["ExternalIP"]}, {}, "spec.virtualRouters[0].serviceAdvertisements[0]"),
        ({"serviceSelector": None}, {}, "spec.virtualRouters[0].serviceSelector"),
        ({}, {"peerAddress": "10.0.0.1"}, "spec.virtualRouters[0].neighbors[0].peerAddress"),
        ({}, {"peerAddress": "10.0.0.1/24"}, "spec.virtualRouters[0].neighbors[0].peerAddress"),
        (
            {},
            {"families": [{"afi": "l2vpn", "safi": "evpn"}]},
            "spec.virtualRouters[0].neighbors[0].families[0].afi",
        ),
        (
            {},
            {"families": [{"afi": "ipv4", "safi": "multicast"}]},
            "spec.virtualRouters[0].neighbors[0].families[0].safi",
        ),
        (
            {},
            {"advertisedPathAttributes": [{"selectorType": "PodCIDR"}]},
            "spec.virtualRouters[0].neighbors[0].advertisedPathAttributes[0].selectorType",
        ),
        ({}, {"peerASN": 65001, "eBGPMultihopTTL": 3}, "spec.virtualRouters[0].neighbors[0].eBGPMultihopTTL"),
        ({}, {"bogus": 1}, "spec.virtualRouters[0].neighbors[0].bogus"),
    ],
)
def test_unsupported_fields_warn_naming_the_field(
    router: dict[str, Any], neighbor: dict[str, Any], path: str
) -> None:
    out = policy(router=router, neighbor=neighbor)
    assert out.errors == []
    assert [(w.kind, w.name, w.field_path) for w in out.warnings] == [("CiliumBGPPeeringPolicy", "pol", path)]


def test_no_service_selector_or_no_lb_addresses_announces_nothing() -> None:
    assert policy(router={"serviceSelector": None}).bgp_advertisements == []
    assert policy(router={"serviceAdvertisements": ["ClusterIP"]}).bgp_advertisements == []


@pytest.mark.parametrize(
    ("router", "neighbor", "path"),
    [
        ({"localASN": None}, {}, "spec.virtualRouters[0].localASN"),
        ({"localASN": "abc"}, {}, "spec.virtualRouters[0].localASN"),
        ({"neighbors": None}, {}, "spec.virtualRouters[0].neighbors"),
        ({}, {"peerAddress": "not-an-ip/32"}, "spec.virtualRouters[0].neighbors[0].peerAddress"),
        ({}, {"peerASN": None}, "spec.virtualRouters[0].neighbors[0].peerASN"),
        ({}, {"holdTimeSeconds": 2}, "spec.virtualRouters[0].neighbors[0].holdTimeSeconds"),
        ({}, {"peerPort": 70000}, "spec.virtualRouters[0].neighbors[0].peerPort"),
        (
            {},
            {
                "advertisedPathAttributes": [
                    {"selectorType": "CiliumLoadBalancerIPPool", "communities": {"standard": ["1:2:3"]}}
                ]
            },
            "spec.virtualRouters[0].neighbors[0].advertisedPathAttributes[0].communities.standard[0]",
        ),
        ({"serviceAdvertisements": ["Everything"]}, {}, "spec.virtualRouters[0].serviceAdvertisements[0]"),
        (
            {"serviceSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}},
            {},
            "spec.virtualRouters[0].serviceSelector.matchExpressions[0].operator",
        ),
    ],
)
def test_errors_name_the_field(router: dict[str, Any], neighbor: dict[str, Any], path: str) -> None:
    out = policy(router=router, neighbor=neighbor)
    assert path in [e.field_path for e in out.errors]
    assert all(e.kind == "CiliumBGPPeeringPolicy" and e.name == "pol" for e in out.errors)


def test_a_policy_without_routers_is_an_error() -> None:
    out = cilium.read(
        {
            "apiVersion": "cilium.io/v2alpha1",
            "kind": "CiliumBGPPeeringPolicy",
            "metadata": {"name": "pol"},
            "spec": {},
        }
    )
    assert [e.field_path for e in out.errors] == ["spec.virtualRouters"]


NEIGHBOR_KEYS = [
    "peerAddress",
    "peerASN",
    "peerPort",
    "eBGPMultihopTTL",
    "connectRetryTimeSeconds",
    "holdTimeSeconds",
    "keepAliveTimeSeconds",
    "gracefulRestart",
    "authSecretRef",
    "families",
    "advertisedPathAttributes",
]


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        (key, bad)
        for key in NEIGHBOR_KEYS
        for bad in ({"nested": 1}, [[1]], True)
        if not (key == "gracefulRestart" and isinstance(bad, dict))  # a mapping is the right type there
    ],
)
def test_a_wrongly_typed_neighbor_field_is_an_error_naming_it(key: str, bad: object) -> None:
    out = policy(neighbor={key: bad})
    path = f"spec.virtualRouters[0].neighbors[0].{key}"
    assert any(e.field_path.startswith(path) for e in out.errors), [str(e) for e in out.errors]
