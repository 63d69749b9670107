"""Loading configuration files: multi-document YAML, kind: List, bare legacy config, directories, errors."""

from __future__ import annotations

from pathlib import Path

from bgplb.adapters.config_files import legacy_configmap, load_paths, parse_documents
from bgplb.config.build import build_config

POOL = (
    "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a}\n"
    "spec: {addresses: [10.0.0.0/24]}\n"
)
ADV = "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: adv}\n"


def test_multi_document_file(tmp_path: Path) -> None:
    path = tmp_path / "all.yaml"
    path.write_text(f"---\n{POOL}---\n---\n{ADV}")
    loaded = load_paths([path])
    assert loaded.errors == []
    assert [r["kind"] for r in loaded.resources] == ["IPAddressPool", "BGPAdvertisement"]


def test_kind_list_is_flattened() -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n"
        "- kind: ConfigMapList\n  items: [{kind: Node, metadata: {name: n}}]\n"
    )
    errors: list = []
    resources = parse_documents(text, "x.yaml", errors)
    assert [r["kind"] for r in resources] == ["Secret", "Node"] and errors == []


def test_bare_legacy_config_is_wrapped_into_its_configmap() -> None:
    errors: list = []
    (resource,) = parse_documents(
        "address-pools:\n- name: p\n  protocol: layer2\n  addresses: [10.0.0.0/24]\n", "c.yaml", errors
    )
    assert resource["kind"] == "ConfigMap" and resource["metadata"] == {
        "name": "config",
        "namespace": "metallb-system",
    }
    result = build_config([resource])
    assert result.errors == () and result.config is not None and result.config.pools[0].name == "p"
    assert legacy_configmap({"peers": []}, namespace="lb")["metadata"]["namespace"] == "lb"


def test_directory_is_read_recursively_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text(ADV)
    (tmp_path / "a.yaml").write_text(POOL)
    (tmp_path / "notes.txt").write_text("not yaml: [")
    loaded = load_paths([tmp_path])
    assert [p.name for p in loaded.files] == ["a.yaml", "b.yml"]
    assert build_config(loaded.resources).errors == ()


def test_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [unclosed\n")
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("--- just a string\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    loaded = load_paths([bad, scalar, empty, tmp_path / "missing.yaml"])
    assert [(e.kind, Path(e.name).name) for e in loaded.errors] == [
        ("file", "bad.yaml"),
        ("file", "scalar.yaml"),
        ("file", "empty"),
        ("file", "missing.yaml"),
    ]
    assert loaded.errors[0].field_path == "line 1" or loaded.errors[0].field_path.startswith("line ")
    assert loaded.errors[1].field_path == "document 1"
