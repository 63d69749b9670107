"""`bgplb run` as a process: arguments, SIGHUP reload, status endpoint, SIGTERM exit (no BGP peers here)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bgplb.cli import app
from bgplb.commands.status import fetch

CONFIG = """
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: public, namespace: metallb-system}
spec: {addresses: [198.51.100.0/30]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l2, namespace: metallb-system}
spec: {ipAddressPools: [public]}
"""


def service(name: str) -> str:
    return f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec: {{type: LoadBalancer}}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", "/nonexistent", "--node", "n1"], "not a directory"),
        (["--node", "n1", "--router-id", "fd00::1"], "must be an IPv4 address"),
        (["--node", "n1", "--poll-interval", "0"], "must be positive"),
        (["--node", "n1", "--state-file", "{dir}/state.json"], "must lie outside"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    args = [a.format(dir=tmp_path) for a in args]
    if "--config" not in args:
        args = ["--config", str(tmp_path), *args]
    result = CliRunner().invoke(app, ["run", *args])
    assert result.exit_code == 2
    assert message in result.output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_status(port: int, view: str, ready: Any, proc: subprocess.Popen[bytes]) -> Any:
    deadline = time.monotonic() + 15
    last: Any = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        try:
            last = fetch(port, view, timeout=1)[view]
        except OSError:
            last = None
        if last is not None and ready(last):
            return last
        time.sleep(0.05)
    raise AssertionError(f"status {view} never became ready; last {last}")


@pytest.mark.timeout(60)
def test_run_reloads_on_sighup_serves_status_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.yaml").write_text(CONFIG)
    (config / "web.yaml").write_text(service("web"))
    port = free_port()
    argv = [sys.executable, "-m", "bgplb", "run", "--config", str(config), "--node", "n1"]
    argv += [
        "--state-file",
        str(tmp_path / "state.json"),
        "--status-port",
        str(port),
        "--poll-interval",
        "600",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        rows = wait_status(port, "services", lambda rows: len(rows) == 1, proc)
        assert rows[0]["ip"] == "198.51.100.0"
        assert rows[0]["announced"] == ["l2"]
        (config / "api.yaml").write_text(service("api"))
        proc.send_signal(signal.SIGHUP)  # the poll interval is 10 minutes: only SIGHUP can explain a reload
        rows = wait_status(port, "services", lambda rows: len(rows) == 2, proc)
        assert {r["service"]: r["ip"] for r in rows} == {
            "default/web": "198.51.100.0",
            "default/api": "198.51.100.1",
        }
        pools = wait_status(port, "pools", bool, proc)
        assert pools == [{"family": "IPv4", "free": 2, "pool": "public", "used": 2}]
        status = subprocess.run(
            [sys.executable, "-m", "bgplb", "status", "pools", "--port", str(port), "--output", "json"],
            capture_output=True,
            timeout=20,
            check=True,
        )
        assert json.loads(status.stdout) == {"pools": pools}
        table = subprocess.run(
            [sys.executable, "-m", "bgplb", "status", "--port", str(port)],
            capture_output=True,
            timeout=20,
            check=True,
            env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"},
        )
        assert "198.51.100.1" in table.stdout.decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(10)
    output = proc.stdout.read().decode() if proc.stdout else ""
    assert code == 0, output
    assert "stopped" in output
    assert json.loads((tmp_path / "state.json").read_text())["services"]["default/api"]["ips"] == [
        "198.51.100.1"
    ]
