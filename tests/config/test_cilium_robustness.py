"""The Cilium reader never raises: any content becomes model objects, errors or warnings."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bgplb.config import cilium

KINDS = [
    ("v2alpha1", "CiliumLoadBalancerIPPool"),
    ("v2", "CiliumLoadBalancerIPPool"),
    ("v2alpha1", "CiliumBGPPeeringPolicy"),
    ("v2", "CiliumBGPClusterConfig"),
    ("v2", "CiliumBGPPeerConfig"),
    ("v2", "CiliumBGPAdvertisement"),
]
KEYS = st.sampled_from(
    [
        "blocks",
        "cidrs",
        "cidr",
        "start",
        "stop",
        "serviceSelector",
        "allowFirstLastIPs",
        "disabled",
        "nodeSelector",
        "virtualRouters",
        "localASN",
        "neighbors",
        "peerAddress",
        "peerASN",
        "peerPort",
        "eBGPMultihopTTL",
        "holdTimeSeconds",
        "gracefulRestart",
        "families",
        "afi",
        "safi",
        "advertisedPathAttributes",
        "selectorType",
        "communities",
        "standard",
        "large",
        "wellKnown",
        "bgpInstances",
        "peers",
        "peerConfigRef",
        "name",
        "transport",
        "timers",
        "advertisements",
        "advertisementType",
        "service",
        "addresses",
        "selector",
        "attributes",
        "matchLabels",
        "matchExpressions",
        "key",
        "operator",
        "values",
        "serviceAdvertisements",
        "authSecretRef",
    ]
)
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-1, 70000)
    | st.text(max_size=10)
    | st.sampled_from(
        [
            "10.0.0.0/24",
            "10.0.0.1/32",
            "fd00::1",
            "Yes",
            "No",
            "In",
            "NotIn",
            "ipv4",
            "unicast",
            "Service",
            "LoadBalancerIP",
            "CiliumLoadBalancerIPPool",
            "65000:1",
        ]
    )
)
TREES = st.recursive(
    LEAVES,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KINDS), st.dictionaries(KEYS, TREES, max_size=5)), max_size=3))
def test_read_all_never_raises(objects: list[tuple[tuple[str, str], dict[str, Any]]]) -> None:
    resources = [
        {"apiVersion": f"cilium.io/{version}", "kind": kind, "metadata": {"name": f"o{i}"}, "spec": spec}
        for i, ((version, kind), spec) in enumerate(objects)
    ]
    out = cilium.read_all(resources)
    for finding in [*out.errors, *out.warnings]:
        assert finding.kind.startswith("Cilium") and finding.name.startswith("o")
