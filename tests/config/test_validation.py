"""One row per validation rule: the finding names kind, namespace/name and field path."""

from __future__ import annotations

from typing import Any

import pytest

from bgplb.config.build import REJECTED, build_config
from tests.config.factories import NS, bgp_adv, configmap, crd, l2_adv, peer, pool, secret, valid_base

Row = tuple[list[dict[str, Any]], str, str, str, str]

BASE = valid_base()

ERRORS = [
    pytest.param(
        [*BASE, pool("b", "198.51.100.128/25"), bgp_adv("b-adv", "b")],
        "IPAddressPool",
        f"{NS}/b",
        "spec.addresses[0]",
        id="overlapping-pools",
    ),
    pytest.param(
        [pool("a", "10.0.0.0/24", "10.0.0.10-10.0.0.20"), bgp_adv("a-adv", "a")],
        "IPAddressPool",
        f"{NS}/a",
        "spec.addresses[1]",
        id="overlap-inside-one-pool",
    ),
    pytest.param(
        [
            *BASE,
            configmap("address-pools:\n- name: legacy\n  protocol: bgp\n  addresses: [198.51.100.7/32]\n"),
        ],
        "ConfigMap",
        f"{NS}/config",
        "data.config.address-pools[0].addresses[0]",
        id="overlap-across-sources",
    ),
    pytest.param(
        [pool("a", "10.0.0.0/33")], "IPAddressPool", f"{NS}/a", "spec.addresses[0]", id="invalid-cidr"
    ),
    pytest.param(
        [pool("a", "10.0.0.1-10.0.0.x")], "IPAddressPool", f"{NS}/a", "spec.addresses[0]", id="invalid-range"
    ),
    pytest.param(
        [pool("a", "10.0.0.1-2001:db8::1")],
        "IPAddressPool",
        f"{NS}/a",
        "spec.addresses[0]",
        id="mixed-family-range",
    ),
    pytest.param(
        [pool("a", "10.0.0.9-10.0.0.1")],
        "IPAddressPool",
        f"{NS}/a",
        "spec.addresses[0]",
        id="range-start-after-stop",
    ),
    pytest.param([pool("a")], "IPAddressPool", f"{NS}/a", "spec.addresses", id="pool-without-addresses"),
    pytest.param([*BASE, peer("p", my_asn=0)], "BGPPeer", f"{NS}/p", "spec.myASN", id="asn-zero"),
    pytest.param(
        [*BASE, peer("p", peer_asn=4294967296)], "BGPPeer", f"{NS}/p", "spec.peerASN", id="asn-out-of-range"
    ),
    pytest.param(
        [*BASE, peer("p", holdTime="2s")], "BGPPeer", f"{NS}/p", "spec.holdTime", id="hold-time-below-3s"
    ),
    pytest.param(
        [*BASE, peer("p", holdTime="30s", keepaliveTime="1m")],
        "BGPPeer",
        f"{NS}/p",
        "spec.keepaliveTime",
        id="keepalive-above-hold",
    ),
    pytest.param(
        [*BASE, peer("p", holdTime="ninety")], "BGPPeer", f"{NS}/p", "spec.holdTime", id="bad-duration"
    ),
    pytest.param(
        [pool("a", "10.0.0.0/24"), bgp_adv("adv", "a", aggregationLength=23)],
        "BGPAdvertisement",
        f"{NS}/adv",
        "spec.aggregationLength",
        id="aggregation-shorter-than-pool",
    ),
    pytest.param(
        [pool("a", "10.0.0.1-10.0.0.5"), bgp_adv("adv", "a", aggregationLength=30)],
        "BGPAdvertisement",
        f"{NS}/adv",
        "spec.aggregationLength",
        id="aggregation-covers-outside-range",
    ),
    pytest.param(
        [pool("a", "2001:db8::/64"), bgp_adv("adv", "a", aggregationLengthV6=48)],
        "BGPAdvertisement",
        f"{NS}/adv",
        "spec.aggregationLengthV6",
        id="aggregation-v6",
    ),
    pytest.param(
        [*BASE, bgp_adv("adv", "base", "missing")],
        "BGPAdvertisement",
        f"{NS}/adv",
        "spec.ipAddressPools[1]",
        id="missing-pool-bgp",
    ),
    pytest.param(
        [*BASE, l2_adv("l2", "missing")],
        "L2Advertisement",
        f"{NS}/l2",
        "spec.ipAddressPools[0]",
        id="missing-pool-l2",
    ),
    pytest.param(
        [*BASE, bgp_adv("adv", "base", peers=["base-peer", "nope"])],
        "BGPAdvertisement",
        f"{NS}/adv",
        "spec.peers[1]",
        id="missing-peer",
    ),
    pytest.param(
        [*BASE, bgp_adv("adv", "base", communities=["65000:1", "no-such-alias"])],
        "BGPAdvertisement",
        f"{NS}/adv",
        "spec.communities[1]",
        id="missing-community-alias",
    ),
    pytest.param(
        [*BASE, bgp_adv("adv", "base", communities=["65536:1"])],
        "BGPAdvertisement",
        f"{NS}/adv",
        "spec.communities[0]",
        id="invalid-community",
    ),
    pytest.param(
        [*BASE, bgp_adv("adv", "base", communities=["large:1:2"])],
        "BGPAdvertisement",
        f"{NS}/adv",
        "spec.communities[0]",
        id="invalid-large-community",
    ),
    pytest.param(
        [*BASE, peer("p", bfdProfile="fast")],
        "BGPPeer",
        f"{NS}/p",
        "spec.bfdProfile",
        id="missing-bfd-profile",
    ),
    pytest.param(
        [*BASE, peer("p", passwordSecret={"name": "bgp-auth"})],
        "BGPPeer",
        f"{NS}/p",
        "spec.passwordSecret",
        id="missing-secret",
    ),
    pytest.param(
        [*BASE, peer("p", password="x", passwordSecret={"name": "s"}), secret("s")],
        "BGPPeer",
        f"{NS}/p",
        "spec.passwordSecret",
        id="password-and-secret",
    ),
    pytest.param(
        [*BASE, peer("p", peer_asn=64512, ebgpMultiHop=True)],
        "BGPPeer",
        f"{NS}/p",
        "spec.ebgpMultiHop",
        id="ebgp-multihop-on-ibgp",
    ),
    pytest.param(
        [*BASE, peer("base-peer")], "BGPPeer", f"{NS}/base-peer", "metadata.name", id="duplicate-peer"
    ),
    pytest.param(
        [*BASE, peer("twin", address="192.0.2.1")],
        "BGPPeer",
        f"{NS}/twin",
        "spec.peerAddress",
        id="colliding-sessions",
    ),
    pytest.param(
        [*BASE, crd("IPAddressPool", "base", namespace="other", addresses=["203.0.113.0/24"])],
        "IPAddressPool",
        "other/base",
        "metadata.name",
        id="duplicate-pool-name-any-namespace",
    ),
    pytest.param(
        [
            *BASE,
            bgp_adv("pref-a", "base", localPref=100),
            bgp_adv("pref-b", "base", localPref=200, peers=["base-peer"]),
        ],
        "BGPAdvertisement",
        f"{NS}/pref-b",
        "spec.localPref",
        id="conflicting-local-pref",
    ),
    pytest.param(
        [*BASE, peer("p", peer_asn=64513, dynamicASN="external")],
        "BGPPeer",
        f"{NS}/p",
        "spec.dynamicASN",
        id="peer-asn-and-dynamic-asn",
    ),
    pytest.param([*BASE, peer("p", peer_asn=None)], "BGPPeer", f"{NS}/p", "spec.peerASN", id="no-peer-asn"),
    pytest.param(
        [*BASE, peer("p", interface="eth0")],
        "BGPPeer",
        f"{NS}/p",
        "spec.peerAddress",
        id="address-and-interface",
    ),
    pytest.param(
        [*BASE, peer("p", routerID="2001:db8::1")], "BGPPeer", f"{NS}/p", "spec.routerID", id="v6-router-id"
    ),
    pytest.param(
        [pool("a", "10.0.0.0/24", autoAssign="yes")],
        "IPAddressPool",
        f"{NS}/a",
        "spec.autoAssign",
        id="wrong-type",
    ),
    pytest.param(
        [
            *BASE,
            bgp_adv("adv", "base", nodeSelectors=[{"matchExpressions": [{"key": "k", "operator": "In"}]}]),
        ],
        "BGPAdvertisement",
        f"{NS}/adv",
        "spec.nodeSelectors[0].matchExpressions[0].values",
        id="selector-no-values",
    ),
    pytest.param(
        [
            *BASE,
            crd("Community", "c1", communities=[{"name": "vpn", "value": "65000:1"}]),
            crd("Community", "c2", communities=[{"name": "vpn", "value": "65000:2"}]),
        ],
        "Community",
        f"{NS}/c2",
        "spec.communities[0].value",
        id="community-alias-defined-twice",
    ),
    pytest.param(
        [
            *BASE,
            configmap(
                "peers:\n- peer-address: 192.0.2.9\n  peer-asn: 64513\n  my-asn: 64512\n  hold-time: 1s\n"
            ),
        ],
        "ConfigMap",
        f"{NS}/config",
        "data.config.peers[0].hold-time",
        id="legacy-hold-time",
    ),
    pytest.param(
        [configmap("address-pools:\n- name: x\n  protocol: ospf\n  addresses: [10.1.0.0/24]\n")],
        "ConfigMap",
        f"{NS}/config",
        "data.config.address-pools[0].protocol",
        id="legacy-bad-protocol",
    ),
    pytest.param(
        [configmap("peers: [")],
        "ConfigMap",
        f"{NS}/config",
        "data.config",
        id="legacy-yaml-syntax",
    ),
    pytest.param(
        [
            {
                "apiVersion": "metallb.io/v1beta1",
                "kind": "IPAddressPool",
                "metadata": {},
                "spec": {"addresses": ["10.9.0.0/24"]},
            }
        ],
        "IPAddressPool",
        "",
        "metadata.name",
        id="missing-name",
    ),
]


@pytest.mark.parametrize(("resources", "kind", "name", "field_path"), ERRORS)
def test_error_rule_names_object_and_field(
    resources: list[dict[str, Any]], kind: str, name: str, field_path: str
) -> None:
    result = build_config(resources)
    found = {(e.kind, e.name, e.field_path) for e in result.errors}
    assert (kind, name, field_path) in found, result.errors
    assert result.config is None
    assert result.rejection is not None and result.rejection.startswith(REJECTED)


WARNINGS = [
    pytest.param(
        [pool("a", "10.0.0.1-10.0.0.5"), bgp_adv("adv", "a", aggregationLength=31)],
        "BGPAdvertisement",
        f"{NS}/adv",
        "spec.aggregationLength",
        id="aggregate-of-a-range-edge-covers-outside",
    ),
    pytest.param([*BASE, peer("p", my_asn=13335)], "BGPPeer", f"{NS}/p", "spec.myASN", id="public-asn"),
    pytest.param(
        [*BASE, peer("p", my_asn=64500)], "BGPPeer", f"{NS}/p", "spec.myASN", id="documentation-asn"
    ),
    pytest.param([*BASE, peer("p", peer_asn=23456)], "BGPPeer", f"{NS}/p", "spec.peerASN", id="as-trans"),
    pytest.param(
        [*BASE, pool("m", "::ffff:10.0.0.0/120"), bgp_adv("m-adv", "m")],
        "IPAddressPool",
        f"{NS}/m",
        "spec.addresses[0]",
        id="ipv4-mapped-pool",
    ),
    pytest.param(
        [*BASE, pool("h", "10.20.0.1/24"), bgp_adv("h-adv", "h")],
        "IPAddressPool",
        f"{NS}/h",
        "spec.addresses[0]",
        id="host-bits",
    ),
    pytest.param(
        [*BASE, pool("lonely", "10.30.0.0/24")],
        "IPAddressPool",
        f"{NS}/lonely",
        "metadata.name",
        id="unannounced-pool",
    ),
    pytest.param([*BASE, peer("p", vrf="red")], "BGPPeer", f"{NS}/p", "spec.vrf", id="vrf"),
    pytest.param(
        [*BASE, peer("p", bfdProfile="fast"), crd("BFDProfile", "fast")],
        "BGPPeer",
        f"{NS}/p",
        "spec.bfdProfile",
        id="bfd-without-daemon",
    ),
    pytest.param(
        [*BASE, peer("p", peer_asn=None, dynamicASN="external")],
        "BGPPeer",
        f"{NS}/p",
        "spec.dynamicASN",
        id="dynamic-asn",
    ),
    pytest.param([*BASE, peer("p", localASN=64600)], "BGPPeer", f"{NS}/p", "spec.localASN", id="local-asn"),
    pytest.param([*BASE, peer("p", disableMP=True)], "BGPPeer", f"{NS}/p", "spec.disableMP", id="disable-mp"),
    pytest.param(
        [*BASE, crd("BGPPeer", "u", version="v1beta2", myASN=64512, interface="eth1", peerASN=64513)],
        "BGPPeer",
        f"{NS}/u",
        "spec.interface",
        id="unnumbered",
    ),
    pytest.param(
        [*BASE, bgp_adv("pref", "base", localPref=120)],
        "BGPAdvertisement",
        f"{NS}/pref",
        "spec.localPref",
        id="local-pref-towards-ebgp-only",
    ),
    pytest.param([*BASE, peer("p", bogus=1)], "BGPPeer", f"{NS}/p", "spec.bogus", id="unknown-field"),
    pytest.param(
        [*BASE, configmap("peers: []\nfrobnicate: 1\n")],
        "ConfigMap",
        f"{NS}/config",
        "data.config.frobnicate",
        id="legacy-unknown-field",
    ),
    pytest.param(
        [*BASE, {**pool("v", "10.40.0.0/24"), "apiVersion": "metallb.io/v1alpha9"}, bgp_adv("v-adv", "v")],
        "IPAddressPool",
        f"{NS}/v",
        "apiVersion",
        id="unknown-api-version",
    ),
    pytest.param(
        [*BASE, {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}],
        "Widget",
        "w",
        "kind",
        id="unknown-kind",
    ),
]


@pytest.mark.parametrize(("resources", "kind", "name", "field_path"), WARNINGS)
def test_warning_rule_names_object_and_field(
    resources: list[dict[str, Any]], kind: str, name: str, field_path: str
) -> None:
    result = build_config(resources)
    assert result.errors == ()
    assert result.config is not None
    found = {(w.kind, w.name, w.field_path) for w in result.warnings}
    assert (kind, name, field_path) in found, result.warnings


def test_the_valid_base_has_no_findings() -> None:
    result = build_config(BASE)
    assert result.errors == () and result.warnings == ()
    assert result.rejection is None


def test_local_pref_agreeing_or_on_disjoint_peers_is_fine() -> None:
    resources = [
        *BASE,
        peer("other", address="192.0.2.2"),
        bgp_adv("a", "base", localPref=100, peers=["base-peer"]),
        bgp_adv("b", "base", localPref=200, peers=["other"]),
        bgp_adv("c", "base", localPref=100, peers=["base-peer"]),
        bgp_adv("d", "base", localPref=300, aggregationLength=24, peers=["base-peer"]),
    ]
    assert build_config(resources).errors == ()


def test_adjacent_pools_do_not_overlap() -> None:
    resources = [pool("a", "10.0.0.0/25"), pool("b", "10.0.0.128-10.0.0.255"), bgp_adv("adv")]
    assert build_config(resources).errors == ()


def test_aggregation_equal_to_the_pool_prefix_is_fine() -> None:
    resources = [
        pool("a", "10.0.0.0/24", "2001:db8::/64"),
        bgp_adv("adv", "a", aggregationLength=24, aggregationLengthV6=64),
    ]
    assert build_config(resources).errors == ()


def test_hold_time_zero_matching_keepalive_and_keepalive_alone_are_fine() -> None:
    resources = [
        *BASE,
        peer("z", address="192.0.2.3", holdTime="0s"),
        peer("same-router-other-nodes", address="192.0.2.1", nodeSelectors=[{"matchLabels": {"rack": "r2"}}]),
        peer("k", address="192.0.2.4", holdTime="9s", keepaliveTime="3s"),
        peer("keepalive-only", address="192.0.2.5", keepaliveTime="2m"),
    ]
    assert build_config(resources).errors == ()
