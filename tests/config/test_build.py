"""build_config: seeds build cleanly, dispatch by kind, rejection rule, order independence, idempotence."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bgplb.config.build import REJECTED, build_config, read_resource
from tests.config.factories import bgp_adv, configmap, crd, l2_adv, peer, pool, secret, valid_base

DATA = Path(__file__).parent / "data"


def _load(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DATA / name).read_text()) if d]


def test_seed_001_legacy_configmap_builds() -> None:
    result = build_config(_load("seed001_metallb_configmap.yaml"))
    assert result.errors == () and result.config is not None
    assert [p.name for p in result.config.pools] == ["default", "layer2"]
    (peer_,) = result.config.peers
    assert (peer_.my_asn, peer_.peer_asn, peer_.is_ibgp) == (64512, 64512, True)
    assert [a.pools for a in result.config.bgp_advertisements] == [("default",)]
    assert [a.pools for a in result.config.l2_advertisements] == [("layer2",)]


def test_seed_002_metallb_crds_build() -> None:
    result = build_config(_load("seed002_metallb_crds.yaml"))
    assert result.errors == () and result.config is not None
    assert [str(r) for r in result.config.pools[0].ranges] == ["10.8.0.0/16"]
    assert result.config.bgp_advertisements[0].pools == ("rubrik-address-pool",)
    # 64501 lies in the RFC 5398 documentation range: accepted, with a warning naming the field.
    assert [(w.kind, w.field_path) for w in result.warnings] == [("BGPPeer", "spec.myASN")]


def test_seed_003_cilium_builds() -> None:
    result = build_config(_load("seed003_cilium.yaml"))
    assert result.errors == (), result.errors
    assert result.config is not None
    assert [p.name for p in result.config.pools] == ["service-pool"]
    assert [p.source for p in result.config.peers] == ["cilium"]


def test_all_seeds_together_build() -> None:
    resources = [*_load("seed001_metallb_configmap.yaml"), *_load("seed002_metallb_crds.yaml")]
    result = build_config(resources)
    assert result.errors == () and result.config is not None
    assert len(result.config.pools) == 3


def test_snapshot_kinds_are_ignored_and_other_kinds_warned() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"}}
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
    slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "web-x"}}
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
    }
    other_cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kube-proxy"},
        "data": {"x": "y"},
    }
    result = build_config([*valid_base(), service, node, slice_, deploy, other_cm])
    assert result.errors == ()
    assert sorted((w.kind, w.name) for w in result.warnings) == [
        ("ConfigMap", "kube-proxy"),
        ("Deployment", "default/web"),
    ]


def test_garbage_resources_are_errors_not_crashes() -> None:
    result = build_config(
        [
            *valid_base(),
            "text",
            {"metadata": {"name": "x"}},
            {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": "oops", "spec": []},
        ]
    )  # type: ignore[list-item]
    assert result.config is None
    assert {e.kind for e in result.errors} >= {"resource", "IPAddressPool"}


def test_secret_registers_only_its_name() -> None:
    fragment = read_resource({**secret("s"), "data": {"password": "c2VjcmV0"}})
    assert [(s.namespace, s.name) for s in fragment.secrets] == [("metallb-system", "s")]
    assert fragment.errors == [] and fragment.warnings == []


def test_rejection_rule() -> None:
    good = build_config(valid_base())
    bad = build_config([*valid_base(), peer("broken", my_asn=0)])
    assert good.config is not None and good.rejection is None
    assert bad.config is None
    assert bad.rejection == f"{REJECTED} (1 error)"


def test_advertisement_without_pools_selects_every_metallb_pool() -> None:
    result = build_config(
        [pool("a", "10.0.0.0/24"), pool("b", "10.0.1.0/24"), bgp_adv("all"), l2_adv("all-l2")]
    )
    assert result.config is not None
    assert result.config.bgp_advertisements[0].pools == ("a", "b")
    assert result.config.l2_advertisements[0].pools == ("a", "b")


def test_config_tuples_are_sorted_by_name() -> None:
    result = build_config([pool("z", "10.0.9.0/24"), pool("a", "10.0.1.0/24"), bgp_adv("adv")])
    assert result.config is not None
    assert [p.name for p in result.config.pools] == ["a", "z"]


# ---- property tests -------------------------------------------------------------------------------------

POOL_NAMES = ["p0", "p1", "p2", "p3"]
PEER_NAMES = ["r0", "r1", "r2"]

pools_st = st.builds(
    lambda name, octet, length, ns: crd(
        "IPAddressPool", name, namespace=ns, addresses=[f"10.{octet}.0.0/{length}"]
    ),
    st.sampled_from(POOL_NAMES),
    st.integers(0, 5),
    st.sampled_from([16, 24, 25]),
    st.sampled_from(["metallb-system", "other"]),
)
peers_st = st.builds(
    lambda name, my, remote, hold, multihop: peer(
        name, my_asn=my, peer_asn=remote, holdTime=hold, ebgpMultiHop=multihop
    ),
    st.sampled_from(PEER_NAMES),
    st.sampled_from([0, 64512, 13335, 23456]),
    st.sampled_from([64512, 64513, 4294967296]),
    st.sampled_from(["0s", "2s", "90s"]),
    st.booleans(),
)
adv_st = st.builds(
    lambda name, pools, peers, pref, agg, comms: bgp_adv(
        name, *pools, peers=peers, localPref=pref, aggregationLength=agg, communities=comms
    ),
    st.sampled_from(["a0", "a1", "a2"]),
    st.lists(st.sampled_from([*POOL_NAMES, "ghost"]), max_size=2),
    st.lists(st.sampled_from([*PEER_NAMES, "nobody"]), max_size=2),
    st.sampled_from([None, 100, 200]),
    st.sampled_from([16, 24, 32]),
    st.lists(st.sampled_from(["65000:1", "alias", "no-export", "large:1:2:3", "undefined"]), max_size=2),
)
extra_st = st.sampled_from(
    [
        crd("Community", "c", communities=[{"name": "alias", "value": "65000:7"}]),
        crd("Community", "c2", communities=[{"name": "alias", "value": "65000:8"}]),
        l2_adv("l2", "p1"),
        secret("s"),
        configmap("address-pools:\n- name: legacy\n  protocol: layer2\n  addresses: [10.3.0.0/24]\n"),
        *_load("seed003_cilium.yaml"),
    ]
)
resources_st = st.lists(st.one_of(pools_st, peers_st, adv_st, extra_st), max_size=10)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), resources=resources_st)
def test_result_does_not_depend_on_input_order(data: st.DataObject, resources: list[dict[str, Any]]) -> None:
    shuffled = data.draw(st.permutations(resources))
    assert build_config(shuffled) == build_config(resources)


@settings(max_examples=100, deadline=None)
@given(resources=resources_st)
def test_build_is_idempotent_and_leaves_its_input_alone(resources: list[dict[str, Any]]) -> None:
    before = copy.deepcopy(resources)
    first = build_config(resources)
    assert resources == before
    assert build_config(resources) == first
    if first.config is not None:
        # a valid config built twice from the same objects is the same value, hash included
        assert hash(first.config) == hash(build_config(before).config)


json_st = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 2**33)
    | st.text(max_size=12)
    | st.sampled_from(["10.0.0.0/24", "90s"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
SPEC_KEYS = [
    "addresses",
    "autoAssign",
    "serviceAllocation",
    "ipAddressPools",
    "ipAddressPoolSelectors",
    "communities",
    "aggregationLength",
    "localPref",
    "nodeSelectors",
    "peers",
    "myASN",
    "peerASN",
    "peerAddress",
    "holdTime",
    "passwordSecret",
    "routerID",
    "dynamicASN",
    "interfaces",
    "receiveInterval",
]
LEGACY_KEYS = ["peers", "address-pools", "bgp-communities", "bfd-profiles"]
junk_st = st.one_of(
    st.builds(
        lambda version, kind, name, spec: {
            "apiVersion": f"metallb.io/{version}",
            "kind": kind,
            "metadata": {"name": name},
            "spec": spec,
        },
        st.sampled_from(["v1beta1", "v1beta2"]),
        st.sampled_from(
            ["IPAddressPool", "BGPAdvertisement", "L2Advertisement", "Community", "BFDProfile", "BGPPeer"]
        ),
        st.text(max_size=5),
        st.dictionaries(st.sampled_from(SPEC_KEYS), json_st, max_size=5) | json_st,
    ),
    st.builds(
        lambda config: configmap(yaml.safe_dump(config)),
        st.dictionaries(
            st.sampled_from(LEGACY_KEYS),
            st.lists(st.dictionaries(st.text(max_size=10), json_st, max_size=4), max_size=2) | json_st,
            max_size=3,
        ),
    ),
    json_st,
)


@settings(max_examples=300, deadline=None)
@given(resources=st.lists(junk_st, max_size=4))
def test_garbage_never_crashes(resources: list[Any]) -> None:
    result = build_config(resources)
    assert (result.config is None) == bool(result.errors)
