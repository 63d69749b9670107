"""Cilium's v2 BGP API: ClusterConfig + PeerConfig + Advertisement resolved together."""

from __future__ import annotations

from copy import deepcopy
from ipaddress import ip_address
from typing import Any

import pytest

from bgplb.config import cilium
from bgplb.config.fragment import Fragment
from bgplb.config.models import LabelSelector, SecretRef

CLUSTER: dict[str, Any] = {
    "apiVersion": "cilium.io/v2",
    "kind": "CiliumBGPClusterConfig",
    "metadata": {"name": "cc"},
    "spec": {
        "nodeSelector": {"matchLabels": {"rack": "r0"}},
        "bgpInstances": [
            {
                "name": "i1",
                "localASN": 65001,
                "peers": [
                    {
                        "name": "tor",
                        "peerAddress": "10.0.0.1",
                        "peerASN": 65000,
                        "peerConfigRef": {"name": "pc"},
                    }
                ],
            }
        ],
    },
}
PEER_CONFIG: dict[str, Any] = {
    "apiVersion": "cilium.io/v2",
    "kind": "CiliumBGPPeerConfig",
    "metadata": {"name": "pc"},
    "spec": {
        "transport": {"peerPort": 1790},
        "timers": {"holdTimeSeconds": 9, "keepAliveTimeSeconds": 3, "connectRetryTimeSeconds": 5},
        "ebgpMultihop": 3,
        "authSecretRef": "bgp-auth",
        "gracefulRestart": {"enabled": True, "restartTimeSeconds": 60},
        "families": [{"afi": "ipv4", "safi": "unicast", "advertisements": {"matchLabels": {"adv": "bgp"}}}],
    },
}
ADVERTISEMENT: dict[str, Any] = {
    "apiVersion": "cilium.io/v2",
    "kind": "CiliumBGPAdvertisement",
    "metadata": {"name": "ads", "labels": {"adv": "bgp"}},
    "spec": {
        "advertisements": [
            {
                "advertisementType": "Service",
                "service": {"addresses": ["LoadBalancerIP"]},
                "selector": {"matchLabels": {"expose": "bgp"}},
                "attributes": {
                    "communities": {"standard": ["65001:10"], "large": ["65001:2:3"]},
                    "localPreference": 120,
                },
            }
        ]
    },
}


def read(*objects: dict[str, Any]) -> Fragment:
    return cilium.read_all([deepcopy(o) for o in objects])


def test_all_fields_are_resolved_across_objects() -> None:
    out = read(CLUSTER, PEER_CONFIG, ADVERTISEMENT)
    assert out.errors == [] and out.warnings == []
    (peer,) = out.peers
    assert peer.name == "cc-i1-tor"
    assert (peer.my_asn, peer.peer_asn, peer.peer_address) == (65001, 65000, ip_address("10.0.0.1"))
    assert (peer.peer_port, peer.hold_time, peer.keepalive_time, peer.connect_time) == (1790, 9, 3, 5)
    assert peer.ebgp_multihop == 3 and peer.password_secret == SecretRef(
        name="bgp-auth", namespace="kube-system"
    )
    assert peer.enable_graceful_restart and peer.graceful_restart_time == 60
    assert peer.families == ("ipv4",)
    assert peer.node_selectors == (LabelSelector(match_labels={"rack": "r0"}),)
    (adv,) = out.bgp_advertisements
    assert adv.peers == ("cc-i1-tor",) and adv.pools == ()
    assert adv.service_selectors == (LabelSelector(match_labels={"expose": "bgp"}),)
    assert (
        adv.communities == ("65001:10",) and adv.large_communities == ("65001:2:3",) and adv.local_pref == 120
    )
    assert adv.node_selectors == peer.node_selectors


def test_result_does_not_depend_on_object_order() -> None:
    a = read(CLUSTER, PEER_CONFIG, ADVERTISEMENT)
    b = read(ADVERTISEMENT, PEER_CONFIG, CLUSTER)
    assert (a.peers, a.bgp_advertisements) == (b.peers, b.bgp_advertisements)


def test_a_missing_peer_config_is_an_error_naming_the_reference() -> None:
    out = read(CLUSTER, ADVERTISEMENT)
    assert [(e.kind, e.name, e.field_path) for e in out.errors] == [
        ("CiliumBGPClusterConfig", "cc", "spec.bgpInstances[0].peers[0].peerConfigRef.name")
    ]
    assert out.peers == []


def test_no_peer_config_reference_uses_ciliums_defaults_and_advertises_nothing() -> None:
    cluster = deepcopy(CLUSTER)
    del cluster["spec"]["bgpInstances"][0]["peers"][0]["peerConfigRef"]
    out = read(cluster, ADVERTISEMENT)
    (peer,) = out.peers
    assert (peer.hold_time, peer.keepalive_time, peer.connect_time, peer.peer_port) == (90, 30, 120, 179)
    assert peer.families == ("ipv4", "ipv6") and out.bgp_advertisements == []


def test_unselected_advertisements_are_not_used() -> None:
    other = deepcopy(ADVERTISEMENT)
    other["metadata"]["labels"] = {"adv": "other"}
    assert read(CLUSTER, PEER_CONFIG, other).bgp_advertisements == []


@pytest.mark.parametrize(
    ("obj", "patch", "path"),
    [
        (ADVERTISEMENT, {"advertisementType": "PodCIDR"}, "spec.advertisements[0].advertisementType"),
        (
            ADVERTISEMENT,
            {"service": {"addresses": ["LoadBalancerIP", "ClusterIP"]}},
            "spec.advertisements[0].service.addresses[1]",
        ),
        (ADVERTISEMENT, {"selector": None}, "spec.advertisements[0].selector"),
        (ADVERTISEMENT, {"extra": 1}, "spec.advertisements[0].extra"),
    ],
)
def test_unsupported_advertisement_fields_warn(obj: dict[str, Any], patch: dict[str, Any], path: str) -> None:
    changed = deepcopy(obj)
    changed["spec"]["advertisements"][0].update(patch)
    out = read(CLUSTER, PEER_CONFIG, changed)
    assert out.errors == []
    assert path in [w.field_path for w in out.warnings]


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"transport": {"localPort": 179}}, "spec.transport.localPort"),
        ({"families": [{"afi": "ipv4", "safi": "mpls_vpn"}]}, "spec.families[0].safi"),
    ],
)
def test_unsupported_peer_config_fields_warn(patch: dict[str, Any], path: str) -> None:
    changed = deepcopy(PEER_CONFIG)
    changed["spec"].update(patch)
    out = read(CLUSTER, changed)
    assert out.errors == [] and path in [w.field_path for w in out.warnings]


@pytest.mark.parametrize(
    ("peer_patch", "path", "is_error"),
    [
        ({"peerAddress": None}, "spec.bgpInstances[0].peers[0].peerAddress", True),
        ({"peerAddress": "10.0.0.300"}, "spec.bgpInstances[0].peers[0].peerAddress", True),
        ({"peerASN": 0}, "spec.bgpInstances[0].peers[0].peerASN", True),
        ({"autoDiscovery": {"mode": "DefaultGateway"}}, "spec.bgpInstances[0].peers[0].autoDiscovery", False),
    ],
)
def test_cluster_config_peer_fields(peer_patch: dict[str, Any], path: str, is_error: bool) -> None:
    cluster = deepcopy(CLUSTER)
    cluster["spec"]["bgpInstances"][0]["peers"][0].update(peer_patch)
    out = read(cluster, PEER_CONFIG)
    found = out.errors if is_error else out.warnings
    assert path in [f.field_path for f in found]


def test_instance_without_local_asn_and_config_without_instances_are_errors() -> None:
    cluster = deepcopy(CLUSTER)
    del cluster["spec"]["bgpInstances"][0]["localASN"]
    assert "spec.bgpInstances[0].localASN" in [e.field_path for e in read(cluster, PEER_CONFIG).errors]
    cluster["spec"]["bgpInstances"] = []
    assert [e.field_path for e in read(cluster).errors] == ["spec.bgpInstances"]


def test_read_one_v2_object_alone_reports_the_missing_peer_config() -> None:
    out = cilium.read(deepcopy(CLUSTER))
    assert [e.field_path for e in out.errors] == ["spec.bgpInstances[0].peers[0].peerConfigRef.name"]
