"""`bgplb status --kubeconfig`: a cluster's services, pools, config and each speaker's sessions.

The API-server double holds the cluster; node-1's speaker runs in-process (its BGP side recorded) with its
HTTP endpoint on 127.0.0.1, which is node-1's InternalIP here; node-2's speaker does not answer.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bgplb.cli import app
from bgplb.commands.status_cluster import collect
from bgplb.errors import ConfigError
from tests.k8s_double.helpers import eventually, serving
from tests.k8s_double.server import ApiServerDouble
from tests.runtime.k8s_objects import NS, advertisement, endpoint_slice, node, peer, pool, seed, service
from tests.runtime.test_k8s_speaker import running

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{{name: d, cluster: {{server: "{url}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: c, context: {{cluster: d, user: u}}}}]
current-context: c
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        port: int = sock.getsockname()[1]
        return port


def setup(api: ApiServerDouble) -> None:
    lan = pool("lan", "192.168.10.0/24")
    lan["status"] = {"assignedIPv4": 1, "availableIPv4": 255, "assignedIPv6": 0, "availableIPv6": 0}
    web = service("web", "192.168.10.240")
    web["metadata"]["annotations"] = {"metallb.io/ip-allocated-from-pool": "lan"}
    seed(
        api,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}},
        node("node-1", "127.0.0.1"),
        node("node-2", "127.0.0.2"),
        lan,
        advertisement("lan-bgp", "lan"),
        peer("router", "10.0.0.1"),
        web,
        service("pending", None),
        endpoint_slice("web", "node-1"),
    )
    seed(api, {**service("internal", None), "spec": {"type": "ClusterIP"}})


async def test_collect_joins_services_pools_config_and_speaker_sessions() -> None:
    async with serving() as (api, client):
        setup(api)
        async with running(api, client) as (speaker, sessions):
            await eventually(lambda: sessions.prefixes() == {"192.168.10.240/32"}, what="the route")
            writer = speaker.status.writer
            error = ConfigError("BGPPeer", f"{NS}/router", "spec.peerAddress", "unreachable")
            await writer.set_configuration_state(NS, "node-2", [error], 0, now=0.0)
            await eventually(lambda: bool(api.objects("servicebgpstatuses", group="bgplb.io")), what="status")
            data = await collect(client, NS, speaker.http.port, timeout=1.0)
    assert data["services"] == [
        {"service": "default/pending", "ips": [], "pool": None, "announced_by": []},
        {
            "service": "default/web",
            "ips": ["192.168.10.240"],
            "pool": "lan",
            "announced_by": [{"node": "node-1", "peers": ["router"], "prefixes": ["192.168.10.240/32"]}],
        },
    ]
    assert data["pools"] == [
        {
            "pool": "lan",
            "addresses": ["192.168.10.0/24"],
            "assignedIPv4": 1,
            "availableIPv4": 255,
            "assignedIPv6": 0,
            "availableIPv6": 0,
        }
    ]
    valid = {r["name"]: r["valid"] for r in data["config"]}
    assert valid == {"speaker-node-1": True, "speaker-node-2": False}
    [bad] = [r for r in data["config"] if r["valid"] is False]
    assert bad["errors"][0]["field"] == "spec.peerAddress"
    [session, unreachable] = data["sessions"]
    assert session["node"] == "node-1" and session["peer"] == "router" and session["state"] == "Established"
    assert unreachable["node"] == "node-2" and unreachable["error"].startswith("speaker not reachable")
    [routes] = data["routes"]
    assert routes["node"] == "node-1" and [r["prefix"] for r in routes["routes"]] == ["192.168.10.240/32"]


async def test_the_command_prints_tables_and_json(tmp_path: Path) -> None:
    async with serving() as (api, client):
        setup(api)
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(KUBECONFIG.format(url=api.url))
        async with running(api, client) as (speaker, sessions):
            await eventually(lambda: sessions.prefixes() != set(), what="the route")
            await eventually(lambda: bool(api.objects("servicebgpstatuses", group="bgplb.io")), what="status")
            port = str(speaker.http.port)
            runner = CliRunner()

            def invoke(*args: str) -> Any:
                argv = ["status", *args, "--kubeconfig", str(kubeconfig), "--speaker-port", port]
                return runner.invoke(app, argv)

            as_json = await asyncio.to_thread(invoke, "services", "--output", "json")
            table = await asyncio.to_thread(invoke)
    assert as_json.exit_code == 0, as_json.output
    assert [r["service"] for r in json.loads(as_json.output)["services"]] == [
        "default/pending",
        "default/web",
    ]
    assert table.exit_code == 0, table.output
    for text in (
        "Services",
        "default/web",
        "node-1: router",
        "Pools",
        "1/256",
        "BGP sessions",
        "Established",
    ):
        assert text in table.output


def test_unreachable_api_server_exits_1(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG.format(url=f"http://127.0.0.2:{free_port()}"))
    result = CliRunner().invoke(app, ["status", "--kubeconfig", str(kubeconfig)])
    assert result.exit_code == 1
    assert "the API server cannot be read" in result.output


def test_missing_kubeconfig_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["status", "--kubeconfig", str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert "no usable kubeconfig" in result.output
