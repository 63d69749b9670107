"""`bgplb check-config`: report, exit codes, JSON output, the docs examples."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bgplb.cli import app

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "config" / "data"
runner = CliRunner()


def test_valid_files_exit_zero_and_show_the_config() -> None:
    result = runner.invoke(
        app,
        [
            "check-config",
            str(DATA / "seed001_metallb_configmap.yaml"),
            str(DATA / "seed002_metallb_crds.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    for text in (
        "Address pools",
        "rubrik-address-pool",
        "192.168.10.0/24",
        "pfsense-peer",
        "64501/64500",
        "configuration valid",
    ):
        assert text in result.output
    assert "spec.myASN" in result.output  # the documentation-ASN warning names its field


def test_errors_exit_one_and_name_kind_object_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: r, namespace: lb}\n"
        "spec: {myASN: 64512, peerASN: 64513, peerAddress: 192.0.2.1, holdTime: 1s}\n"
    )
    result = runner.invoke(app, ["check-config", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "BGPPeer" in result.output and "lb/r" in result.output and "spec.holdTime" in result.output
    assert "configuration rejected; the last good configuration stays in force" in result.output


def test_json_output(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\n"
        "spec: {addresses: [10.0.0.9-10.0.0.1]}\n"
    )
    result = runner.invoke(app, ["check-config", "--output", "json", str(path)])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False and report["config"] is None
    assert report["errors"][0] == {
        "kind": "IPAddressPool",
        "name": "p",
        "field": "spec.addresses[0]",
        "reason": "invalid address range '10.0.0.9-10.0.0.1': start 10.0.0.9 is after stop 10.0.0.1",
    }
    good = runner.invoke(app, ["check-config", "-o", "json", str(DATA / "seed002_metallb_crds.yaml")])
    assert good.exit_code == 0
    config = json.loads(good.output)["config"]
    assert config["pools"][0]["ranges"] == [{"first": "10.8.0.0", "last": "10.8.255.255"}]


def test_strict_fails_on_warnings() -> None:
    path = str(DATA / "seed002_metallb_crds.yaml")
    assert runner.invoke(app, ["check-config", path]).exit_code == 0
    assert runner.invoke(app, ["check-config", "--strict", path]).exit_code == 1


def test_docs_examples_check_clean() -> None:
    examples = sorted((ROOT / "docs" / "examples").glob("metallb-*.yaml"))
    assert [p.name for p in examples] == ["metallb-configmap.yaml", "metallb-crds.yaml"]
    for example in examples:
        result = runner.invoke(app, ["check-config", str(example)])
        assert result.exit_code == 0, result.output


def test_json_never_prints_passwords() -> None:
    result = runner.invoke(
        app, ["check-config", "-o", "json", str(DATA / "metallb_configmap_all_fields.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "yourPassword" not in result.output
    peers = json.loads(result.output)["config"]["peers"]
    assert [p["password"] for p in peers] == ["<redacted>", None]
    text = runner.invoke(app, ["check-config", str(DATA / "metallb_configmap_all_fields.yaml")])
    assert "yourPassword" not in text.output


def test_bfd_profiles_and_aliases_are_listed() -> None:
    result = runner.invoke(
        app, ["check-config", str(DATA / "metallb_configmap_all_fields.yaml")], env={"COLUMNS": "160"}
    )
    assert result.exit_code == 0, result.output
    assert "BFD profiles" in result.output and "full1" in result.output and "179/180" in result.output
    assert "bar=64512:200" in result.output and "big=large:1:2:3" in result.output
