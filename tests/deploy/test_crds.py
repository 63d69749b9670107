"""deploy/crds: structural schemas that accept the metallb.io YAML bgplb reads, reject wrongly typed YAML."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.structural import (
    load_crds,
    pruned_fields,
    served_schemas,
    structural_problems,
    validation_errors,
)

ROOT = Path(__file__).resolve().parents[2]
CRDS = load_crds(ROOT / "deploy" / "crds")
SCHEMAS = served_schemas(CRDS)
EXAMPLE_FILES = sorted((ROOT / "docs" / "examples").glob("*.yaml")) + sorted(
    (ROOT / "tests" / "config" / "data").glob("*.yaml")
)

# Every metallb.io kind and version bgplb reads (docs/configuration.md), and bgplb's own status kinds.
EXPECTED = {
    ("metallb.io/v1beta1", "IPAddressPool"),
    ("metallb.io/v1beta1", "BGPAdvertisement"),
    ("metallb.io/v1beta1", "L2Advertisement"),
    ("metallb.io/v1beta1", "Community"),
    ("metallb.io/v1beta1", "BFDProfile"),
    ("metallb.io/v1beta1", "BGPPeer"),
    ("metallb.io/v1beta2", "BGPPeer"),
    ("bgplb.io/v1alpha1", "ServiceBGPStatus"),
    ("bgplb.io/v1alpha1", "ConfigurationState"),
}


def _examples() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in EXAMPLE_FILES:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and str(doc.get("apiVersion", "")).startswith("metallb.io/"):
                out.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return out


EXAMPLES = _examples()


def _schema(obj: dict[str, Any]) -> dict[str, Any]:
    return dict(SCHEMAS[(obj["apiVersion"], obj["kind"])])


def test_every_kind_and_version_bgplb_reads_is_served() -> None:
    assert set(SCHEMAS) == EXPECTED


def test_examples_cover_every_metallb_kind() -> None:
    seen = {(obj["apiVersion"], obj["kind"]) for _, obj in EXAMPLES}
    assert seen == {key for key in EXPECTED if key[0].startswith("metallb.io")}


@pytest.mark.parametrize("crd", CRDS, ids=lambda c: c["metadata"]["name"])
def test_schemas_are_structural(crd: dict[str, Any]) -> None:
    for version in crd["spec"]["versions"]:
        assert structural_problems(version["schema"]["openAPIV3Schema"]) == [], version["name"]


@pytest.mark.parametrize("crd", CRDS, ids=lambda c: c["metadata"]["name"])
def test_one_storage_version_and_status_subresource(crd: dict[str, Any]) -> None:
    versions = crd["spec"]["versions"]
    assert sum(v["storage"] for v in versions) == 1
    assert all(v["served"] and v.get("subresources") == {"status": {}} for v in versions)
    assert crd["metadata"]["name"] == f"{crd['spec']['names']['plural']}.{crd['spec']['group']}"
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_bgppeer_versions_side_by_side_v1beta2_stored() -> None:
    (peer,) = [c for c in CRDS if c["spec"]["names"]["kind"] == "BGPPeer"]
    versions = {v["name"]: v for v in peer["spec"]["versions"]}
    assert set(versions) == {"v1beta1", "v1beta2"}
    assert versions["v1beta2"]["storage"] and not versions["v1beta1"]["storage"]
    assert versions["v1beta1"]["deprecated"] is True
    assert "conversion" not in peer["spec"]  # strategy None: no webhook that must be running


def test_ipaddresspool_status_counters() -> None:
    status = SCHEMAS[("metallb.io/v1beta1", "IPAddressPool")]["properties"]["status"]["properties"]
    assert set(status) == {"assignedIPv4", "assignedIPv6", "availableIPv4", "availableIPv6"}
    assert all(field["type"] == "integer" for field in status.values())


@pytest.mark.parametrize(("name", "obj"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_examples_are_accepted_and_nothing_is_pruned(name: str, obj: dict[str, Any]) -> None:
    schema = _schema(obj)
    assert validation_errors(obj, schema) == []
    assert pruned_fields(obj, schema) == []  # every field bgplb reads is known, so the API server keeps it


def _with(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    node = out
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    node[keys[-1]] = value
    return out


def _example(kind: str, api_version: str = "metallb.io/v1beta1") -> dict[str, Any]:
    for _, obj in EXAMPLES:
        if obj["kind"] == kind and obj["apiVersion"] == api_version:
            return obj
    raise LookupError(kind)


WRONG = [
    ("IPAddressPool", "metallb.io/v1beta1", "spec.addresses", "10.0.0.0/24", "spec.addresses"),
    ("IPAddressPool", "metallb.io/v1beta1", "spec.autoAssign", "yes", "spec.autoAssign"),
    (
        "IPAddressPool",
        "metallb.io/v1beta1",
        "spec.serviceAllocation.priority",
        "high",
        "spec.serviceAllocation",
    ),
    ("BGPAdvertisement", "metallb.io/v1beta1", "spec.aggregationLength", 0, "spec.aggregationLength"),
    ("BGPAdvertisement", "metallb.io/v1beta1", "spec.aggregationLength", "32", "spec.aggregationLength"),
    ("BGPAdvertisement", "metallb.io/v1beta1", "spec.communities", "no-export", "spec.communities"),
    ("L2Advertisement", "metallb.io/v1beta1", "spec.interfaces", [1], "spec.interfaces"),
    ("BFDProfile", "metallb.io/v1beta1", "spec.detectMultiplier", 1, "spec.detectMultiplier"),
    ("BFDProfile", "metallb.io/v1beta1", "spec.minimumTtl", 255, "spec.minimumTtl"),
    ("BGPPeer", "metallb.io/v1beta2", "spec.myASN", 4294967296, "spec.myASN"),
    ("BGPPeer", "metallb.io/v1beta2", "spec.peerASN", "64512", "spec.peerASN"),
    ("BGPPeer", "metallb.io/v1beta2", "spec.peerPort", 16385, "spec.peerPort"),
    ("BGPPeer", "metallb.io/v1beta2", "spec.dynamicASN", "auto", "spec.dynamicASN"),
    ("BGPPeer", "metallb.io/v1beta2", "spec.holdTime", 90, "spec.holdTime"),
    ("BGPPeer", "metallb.io/v1beta2", "spec.nodeSelectors.0.matchLabels", {"rack": 1}, "spec.nodeSelectors"),
    ("BGPPeer", "metallb.io/v1beta1", "spec.ebgpMultiHop", "true", "spec.ebgpMultiHop"),
]


@pytest.mark.parametrize(
    ("kind", "version", "path", "value", "where"), WRONG, ids=[f"{w[0]}-{w[2]}" for w in WRONG]
)
def test_wrong_types_and_ranges_are_rejected(
    kind: str, version: str, path: str, value: Any, where: str
) -> None:
    obj = _with(_example(kind, version), path, value)
    errors = validation_errors(obj, _schema(obj))
    assert errors, f"{kind} {path}={value!r} was accepted"
    assert all(error.startswith(where) for error in errors), errors


@pytest.mark.parametrize(
    ("kind", "version", "field"),
    [
        ("IPAddressPool", "metallb.io/v1beta1", "addresses"),
        ("BGPPeer", "metallb.io/v1beta2", "myASN"),
        ("BGPPeer", "metallb.io/v1beta1", "peerAddress"),
    ],
)
def test_missing_required_fields_are_rejected(kind: str, version: str, field: str) -> None:
    obj = copy.deepcopy(_example(kind, version))
    del obj["spec"][field]
    assert any(f"'{field}' is a required property" in e for e in validation_errors(obj, _schema(obj)))


def test_misspelt_fields_would_be_pruned() -> None:
    adv = _with(_example("BGPAdvertisement"), "spec.aggregationLenght", 24)
    peer = _with(_example("BGPPeer", "metallb.io/v1beta2"), "spec.passwordSecret.key", "password")
    assert pruned_fields(adv, _schema(adv)) == ["spec.aggregationLenght"]
    assert pruned_fields(peer, _schema(peer)) == ["spec.passwordSecret.key"]


def test_v1beta2_only_fields_are_unknown_to_v1beta1() -> None:
    peer = _with(_example("BGPPeer", "metallb.io/v1beta2"), "apiVersion", "metallb.io/v1beta1")
    pruned = pruned_fields(peer, _schema(peer))
    assert "spec.passwordSecret" in pruned


def test_bgplb_status_objects() -> None:
    sbs = {
        "apiVersion": "bgplb.io/v1alpha1",
        "kind": "ServiceBGPStatus",
        "metadata": {"name": "web-7d9f", "namespace": "metallb-system"},
        "status": {
            "node": "node-a",
            "serviceName": "web",
            "serviceNamespace": "shop",
            "peers": ["opnsense"],
            "prefixes": ["192.168.142.10/32"],
        },
    }
    state = {
        "apiVersion": "bgplb.io/v1alpha1",
        "kind": "ConfigurationState",
        "metadata": {"name": "speaker-node-a", "namespace": "metallb-system"},
        "spec": {"type": "Speaker", "nodeName": "node-a"},
        "status": {
            "validConfig": False,
            "lastError": "configuration rejected; the last good configuration stays in force (1 error).",
            "errors": [
                {"kind": "BGPPeer", "name": "metallb-system/router", "field": "spec.holdTime", "reason": "2s"}
            ],
            "warningCount": 0,
            "lastValidTime": "2026-01-01T00:00:00Z",
            "conditions": [
                {
                    "type": "ConfigValid",
                    "status": "False",
                    "reason": "ConfigRejected",
                    "message": "1 error",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ],
        },
    }
    for obj in (sbs, state):
        assert validation_errors(obj, _schema(obj)) == []
        assert pruned_fields(obj, _schema(obj)) == []
    bad = _with(state, "spec.type", "Router")
    assert validation_errors(bad, _schema(bad)) != []
    bad = _with(state, "status.conditions.0.status", "Yes")
    assert validation_errors(bad, _schema(bad)) != []
