"""`bgplb lab`: the plain command (up + status + curl, left running), Ctrl-C during up, errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bgplb.cli import app
from bgplb.lab import state
from bgplb.lab.cleanup import list_namespaces

pytestmark = [pytest.mark.netns, pytest.mark.interop, pytest.mark.timeout(90)]

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def bgplb(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bgplb", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
        check=False,
    )


def test_plain_lab_shows_status_and_curl_then_keeps_running_until_down(tmp_path: Path) -> None:
    where = str(tmp_path)
    done = bgplb("lab", "--nodes", "2", "--requests", "40", "--dir", where, timeout=90)
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        out = done.stdout
        assert "show bgp ipv4 unicast" in out and "198.51.100.10/32" in out
        assert out.count("nexthop via 10.77.0.1") == 2  # web over both nodes
        assert "curl http://198.51.100.10/" in out and "curl http://198.51.100.11/" in out
        assert f"bgplb lab down --dir {where}" in out  # how to take it down
        record = state.load(tmp_path)
        assert set(record.namespaces) <= set(list_namespaces())  # still running after the command
        unknown = bgplb("lab", "curl", "nosuch", "--dir", where)
        assert unknown.returncode == 1 and "local, web" in unknown.stderr
    finally:
        down = bgplb("lab", "down", "--dir", where)
    assert down.returncode == 0, down.stderr
    assert not set(record.namespaces) & set(list_namespaces())
    assert not state.exists(tmp_path)


def test_ctrl_c_during_up_removes_everything(tmp_path: Path) -> None:
    lab = subprocess.Popen(
        [sys.executable, "-m", "bgplb", "lab", "up", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )
    prefix = f"bgplb-lab-{lab.pid}-"
    try:
        assert lab.stdout is not None
        deadline = time.monotonic() + 30
        for line in lab.stdout:
            if line.startswith("router ") or time.monotonic() > deadline:
                break
        assert any(ns.startswith(prefix) for ns in list_namespaces()), "the lab should be building"
        lab.send_signal(signal.SIGINT)
        rest, _ = lab.communicate(timeout=30)
    finally:
        if lab.poll() is None:
            lab.kill()
            lab.wait(5)
    assert lab.returncode == 130, rest
    assert "torn down" in rest
    assert not [ns for ns in list_namespaces() if ns.startswith(prefix)]
    assert not state.exists(tmp_path)


def test_commands_without_a_lab_say_so(tmp_path: Path) -> None:
    shown = bgplb("lab", "status", "--dir", str(tmp_path))
    assert shown.returncode == 1 and "no lab is running" in shown.stderr
    down = bgplb("lab", "down", "--dir", str(tmp_path))
    assert down.returncode == 0 and "nothing to tear down" in down.stdout


def test_a_non_root_user_is_told_why_root_is_needed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    done = CliRunner().invoke(app, ["lab", "up", "--dir", str(tmp_path / "lab")])
    assert done.exit_code == 1, done.output
    assert "needs root" in done.output and "network namespaces" in done.output
    assert not (tmp_path / "lab").exists()
