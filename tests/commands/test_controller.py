"""`bgplb controller` as a process against the API-server double: kubeconfig, allocation, SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import yaml

from tests.k8s_double.helpers import eventually, serving
from tests.k8s_double.store import KIND_BY_PATH

SERVICES = KIND_BY_PATH[("", "services")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def kubeconfig(path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "double", "cluster": {"server": server}}],
        "users": [{"name": "double", "user": {"token": "double"}}],
        "contexts": [{"name": "double", "context": {"cluster": "double", "user": "double"}}],
        "current-context": "double",
    }
    path.write_text(yaml.safe_dump(config))
    return path


async def test_controller_process_allocates_serves_metrics_and_stops_on_sigterm(tmp_path: Path) -> None:
    async with serving() as (api, _client):
        pool = {
            "metadata": {"name": "lan", "namespace": "metallb-system"},
            "spec": {"addresses": ["10.9.0.1/32"]},
        }
        api.seed("IPAddressPool", "ipaddresspools", pool, group="metallb.io")
        api.store.create(SERVICES, "default", {"metadata": {"name": "web"}, "spec": {"type": "LoadBalancer"}})
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bgplb", "controller",
            "--kubeconfig", str(kubeconfig(tmp_path / "kubeconfig", api.url)),
            "--http-port", str(port), "--log-format", "json", "--lease-name", "test-lease",
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:

            def allocated() -> bool:
                status = api.store.get(SERVICES, "default", "web").get("status") or {}
                return [i["ip"] for i in status.get("loadBalancer", {}).get("ingress", [])] == ["10.9.0.1"]

            await eventually(allocated, timeout=15.0, what="the controller process to allocate")
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /metrics HTTP/1.0\r\n\r\n")
            body = (await asyncio.wait_for(reader.read(), 5)).decode()
            writer.close()
            assert "bgplb_leader_is_leader 1.0" in body
            assert 'bgplb_allocator_addresses_in_use_total{pool="lan"} 1.0' in body
            lease = api.store.get(
                KIND_BY_PATH[("coordination.k8s.io", "leases")], "metallb-system", "test-lease"
            )
            assert lease["spec"]["holderIdentity"]
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 10)
        assert process.returncode == 0, stderr.decode()[-2000:]
        assert b'"level": "info"' in stderr
        released = api.store.get(
            KIND_BY_PATH[("coordination.k8s.io", "leases")], "metallb-system", "test-lease"
        )
        assert released["spec"]["holderIdentity"] == ""  # released on SIGTERM: a standby takes over at once
