"""`bgplb speaker`: argument checks, and the real process against the API-server double (ready, SIGTERM)."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bgplb.cli import app
from tests.deploy.k8s_tools import render
from tests.k8s_double.helpers import eventually, serving
from tests.runtime.k8s_objects import NS, cluster, endpoint_slice, seed, service

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{{name: d, cluster: {{server: "{url}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: c, context: {{cluster: d, user: u}}}}]
current-context: c
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--node", ""], "--node is empty"),
        (["--node", "n1", "--http-port", "0"], "out of range"),
        (["--node", "n1", "--router-id", "2001:db8::1"], "--router-id"),
        (["--node", "n1", "--kubeconfig", "/nonexistent/kubeconfig"], "no usable kubeconfig"),
    ],
)
def test_bad_arguments_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["speaker", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_unknown_config_source_is_refused() -> None:
    result = CliRunner().invoke(app, ["speaker", "--node", "n1", "--config-source", "calico"])
    assert result.exit_code == 2


async def http_get(port: int, path: str) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.timeout(60)
async def test_the_process_becomes_ready_writes_status_and_stops_on_sigterm(tmp_path: Path) -> None:
    async with serving() as (api, _):
        cluster(
            api, peer_address="127.0.0.1", peerPort=free_port()
        )  # nothing listens: the session stays down
        seed(api, service("web", "192.168.10.240"), endpoint_slice("web", "node-1"))
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(KUBECONFIG.format(url=api.url))
        port = free_port()
        argv = [sys.executable, "-m", "bgplb", "speaker", "--node=node-1", f"--namespace={NS}"]
        argv += [f"--http-port={port}", "--log-format=json", f"--kubeconfig={kubeconfig}"]
        proc = await asyncio.create_subprocess_exec(*argv, stderr=asyncio.subprocess.PIPE)
        try:

            async def ready() -> bool:
                try:
                    return (await http_get(port, "/readyz"))[0] == 200
                except OSError:
                    return False

            for _ in range(200):
                if await ready():
                    break
                await asyncio.sleep(0.05)
            assert await ready()
            await eventually(
                lambda: bool(api.objects("servicebgpstatuses", group="bgplb.io")), what="ServiceBGPStatus"
            )
            code, body = await http_get(port, "/status/services")
            assert code == 200 and json.loads(body)["services"][0]["announced"] == ["bgp:router"]
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(15):
                _, stderr = await proc.communicate()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 0
        lines = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
        messages = [line["msg"] for line in lines]
        assert "node node-1: stopped" in messages
        assert all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
        assert api.objects("servicebgpstatuses", group="bgplb.io") == []  # deleted on the way out


def daemonset_args(objs: list[dict[str, Any]]) -> list[str]:
    [ds] = [o for o in objs if o.get("kind") == "DaemonSet"]
    args: list[str] = ds["spec"]["template"]["spec"]["containers"][0]["args"]
    return [a.replace("$(NODE_NAME)", "node-1").replace("$(POD_NAMESPACE)", NS) for a in args]


@pytest.mark.parametrize(
    "source",
    ["manifest", "helm-defaults", "helm-everything"],
)
def test_the_manifests_arguments_are_understood(source: str) -> None:
    """Every flag the DaemonSet passes parses; only the (deliberately absent) kubeconfig stops the start."""
    root = Path(__file__).parents[2] / "deploy"
    if source == "manifest":
        args = daemonset_args([yaml.safe_load((root / "speaker/daemonset.yaml").read_text())])
    else:
        overrides = (
            {}
            if source == "helm-defaults"
            else {
                "loadBalancerClass": "example.com/lb",
                "logFormat": "json",
                "configSource": "cilium",
                "speaker": {"bgpListen": True},
            }
        )
        args = daemonset_args(render(root / "helm/bgplb", overrides))
    assert args[0] == "speaker"
    result = CliRunner().invoke(app, [*args, "--kubeconfig", "/nonexistent/kubeconfig"])
    assert result.exit_code == 2
    assert "no usable kubeconfig" in result.output  # every flag before it was accepted
    if source == "helm-everything":
        assert {"--lb-class=example.com/lb", "--bgp-listen-port=179", "--config-source=cilium"} <= set(args)
