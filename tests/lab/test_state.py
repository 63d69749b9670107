"""The lab record: written atomically, read back equal, clear errors when missing or broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from bgplb.lab import state
from bgplb.lab.state import LabRecord, LabStateError, NodeRecord


def record(directory: Path) -> LabRecord:
    node = NodeRecord("node1", "ns-node1", ("10.77.0.11", "fd00:77::11"), "/x/node1.state.json", 41, 42)
    return LabRecord(
        directory=str(directory / "work"),
        config_dir=str(directory / "work" / "config"),
        router_namespace="ns-router",
        router_rundir="/x/router-frr",
        client_namespace="ns-client",
        namespaces=("ns-lan", "ns-router", "ns-client", "ns-node1"),
        nodes=(node,),
        services={"web": ("198.51.100.10",)},
        ipv6=True,
        hold_time=3,
    )


def test_save_then_load_gives_the_same_record(tmp_path: Path) -> None:
    saved = record(tmp_path)
    assert not state.exists(tmp_path)
    state.save(saved, tmp_path)
    assert state.load(tmp_path) == saved
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temp file left
    moved = saved.with_node(NodeRecord("node1", "ns-node1", ("10.77.0.11",), "/s", 7, 8))
    assert moved.node("node1").run_pid == 7 and moved.log("node1-backend").name == "node1-backend.log"
    state.forget(tmp_path)
    assert not state.exists(tmp_path)


def test_missing_and_broken_records_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(LabStateError, match=r"no lab is running.*bgplb lab up"):
        state.load(tmp_path)
    (tmp_path / "state.json").write_text('{"nodes": []}')
    with pytest.raises(LabStateError, match=r"unreadable.*bgplb lab down"):
        state.load(tmp_path)
    with pytest.raises(LabStateError, match=r"no node 'node9'.*node1"):
        record(tmp_path).node("node9")


def test_lab_dir_prefers_the_option_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(state.DIR_ENV, raising=False)
    assert state.lab_dir() == Path("/run/bgplb-lab")
    monkeypatch.setenv(state.DIR_ENV, "/tmp/elsewhere")
    assert state.lab_dir() == Path("/tmp/elsewhere")
    assert state.lab_dir(Path("/opt/lab")) == Path("/opt/lab")
