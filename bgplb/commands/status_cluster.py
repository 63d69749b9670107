"""`bgplb status --kubeconfig FILE` (or `--cluster`): the same views for a whole cluster.

Read with the caller's kubeconfig, nothing written:
- services: every LoadBalancer Service, its addresses (status.loadBalancer.ingress), its pool (the
  `metallb.io/ip-allocated-from-pool` annotation the controller writes) and which nodes announce it to which
  peers (the speakers' ServiceBGPStatus objects in bgplb's namespace);
- pools: each IPAddressPool's addresses and its status counters (assigned/available per family);
- config: each daemon's ConfigurationState (valid, or every error with kind, name and field);
- sessions and routes: asked from every speaker (a `speaker-<node>` ConfigurationState) on its node's
  InternalIP at `--speaker-port` (its /status endpoint, served with /metrics); a speaker that does not
  answer is listed with the error.
Tables for people, `--output json` for scripts. Exit code 1 when the API server cannot be reached.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx2
import typer
from lightkube import ALL_NS, ApiError, AsyncClient
from lightkube.config.kubeconfig import KubeConfig
from lightkube.core.exceptions import ConfigError as KubeConfigError
from lightkube.generic_resource import GenericNamespacedResource
from rich.console import Console
from rich.table import Table

from bgplb.adapters.k8s_status import CONFIGURATION_STATE, POOL, POOL_ANNOTATION, SERVICE, SERVICE_BGP_STATUS
from bgplb.adapters.k8s_watch import global_resource

NODE = global_resource("", "v1", "Node", "nodes")
DEFAULT_SPEAKER_PORT = 7473
VIEWS = ("sessions", "routes", "services", "pools", "config")
Json = dict[str, Any]


def _get(obj: Mapping[str, Any], *path: str) -> Any:
    value: Any = obj
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


async def _list(client: AsyncClient, resource: type[GenericNamespacedResource], namespace: str) -> list[Json]:
    try:
        return [dict(obj) async for obj in client.list(resource, namespace=namespace)]
    except ApiError as exc:
        if exc.status.code == 404:  # the CRD is not installed
            return []
        raise


def service_rows(services: list[Json], statuses: list[Json]) -> list[Json]:
    """One row per LoadBalancer Service: addresses, pool, and per announcing node its peers and prefixes."""
    announced: dict[tuple[str, str], list[Json]] = {}
    for obj in statuses:
        status = obj.get("status") or {}
        key = (str(status.get("serviceNamespace")), str(status.get("serviceName")))
        announced.setdefault(key, []).append(
            {
                "node": status.get("node"),
                "peers": list(status.get("peers") or []),
                "prefixes": list(status.get("prefixes") or []),
            }
        )
    rows = []
    for svc in services:
        if _get(svc, "spec", "type") != "LoadBalancer":
            continue
        ns, name = str(_get(svc, "metadata", "namespace")), str(_get(svc, "metadata", "name"))
        ingress = _get(svc, "status", "loadBalancer", "ingress") or []
        rows.append(
            {
                "service": f"{ns}/{name}",
                "ips": [str(i.get("ip")) for i in ingress if isinstance(i, Mapping) and i.get("ip")],
                "pool": (_get(svc, "metadata", "annotations") or {}).get(POOL_ANNOTATION),
                "announced_by": sorted(announced.get((ns, name), []), key=lambda a: str(a["node"])),
            }
        )
    return sorted(rows, key=lambda r: str(r["service"]))


def pool_rows(pools: list[Json]) -> list[Json]:
    """Each IPAddressPool: its addresses and status counters (None when the controller wrote none yet)."""
    rows = []
    for obj in pools:
        status = obj.get("status") or {}
        row: Json = {
            "pool": _get(obj, "metadata", "name"),
            "addresses": list(_get(obj, "spec", "addresses") or []),
        }
        for field in ("assignedIPv4", "availableIPv4", "assignedIPv6", "availableIPv6"):
            row[field] = status.get(field)
        rows.append(row)
    return sorted(rows, key=lambda r: str(r["pool"]))


def config_rows(states: list[Json]) -> list[Json]:
    """Each daemon's ConfigurationState."""
    return sorted(
        (
            {
                "name": _get(obj, "metadata", "name"),
                "type": _get(obj, "spec", "type"),
                "node": _get(obj, "spec", "nodeName"),
                "valid": _get(obj, "status", "validConfig"),
                "last_error": _get(obj, "status", "lastError") or "",
                "errors": list(_get(obj, "status", "errors") or []),
            }
            for obj in states
        ),
        key=lambda r: str(r["name"]),
    )


def node_address(node: Mapping[str, Any]) -> str | None:
    """A Node's InternalIP (else ExternalIP): where its hostNetwork speaker listens."""
    addresses = [a for a in _get(node, "status", "addresses") or [] if isinstance(a, Mapping)]
    for kind in ("InternalIP", "ExternalIP"):
        for address in addresses:
            if address.get("type") == kind and address.get("address"):
                return str(address["address"])
    return None


async def fetch_speaker(host: str, port: int, timeout: float) -> Json:
    """GET http://host:port/status (the speaker's views)."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(f"GET /status HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            await writer.drain()
            data = await reader.read()
        finally:
            writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    code = head.split(b" ", 2)[1:2]
    if code != [b"200"]:
        raise ValueError(f"HTTP {code[0].decode() if code else '?'} from the speaker")
    document: Json = json.loads(body)
    return document


async def speaker_rows(
    client: AsyncClient, config: list[Json], port: int, timeout: float
) -> tuple[list[Json], list[Json]]:
    """Sessions and routes of every speaker named by a ConfigurationState, each row tagged with its node."""
    sessions: list[Json] = []
    routes: list[Json] = []
    for node_name in sorted(str(r["node"]) for r in config if r["type"] == "Speaker" and r["node"]):
        try:
            node = dict(await client.get(NODE, node_name))
            host = node_address(node)
            if host is None:
                raise ValueError("the Node has no InternalIP or ExternalIP")
            document = await fetch_speaker(host, port, timeout)
        except (ApiError, OSError, TimeoutError, ValueError) as exc:
            reason = exc.status.message if isinstance(exc, ApiError) else (str(exc) or type(exc).__name__)
            sessions.append({"node": node_name, "error": f"speaker not reachable: {reason}"})
            continue
        sessions.extend({"node": node_name, **row} for row in document.get("sessions") or [])
        routes.extend({"node": node_name, **row} for row in document.get("routes") or [])
    return sessions, routes


async def collect(client: AsyncClient, namespace: str, speaker_port: int, timeout: float = 3.0) -> Json:
    """Every view, from the API server and the speakers."""
    services = await _list(client, SERVICE, ALL_NS)
    statuses = await _list(client, SERVICE_BGP_STATUS, namespace)
    config = config_rows(await _list(client, CONFIGURATION_STATE, namespace))
    sessions, routes = await speaker_rows(client, config, speaker_port, timeout)
    return {
        "services": service_rows(services, statuses),
        "pools": pool_rows(await _list(client, POOL, namespace)),
        "config": config,
        "sessions": sessions,
        "routes": routes,
    }


def _count(used: object, free: object) -> str:
    if not isinstance(used, int) and not isinstance(free, int):
        return "-"
    in_use = used if isinstance(used, int) else 0
    return f"{in_use}/{in_use + (free if isinstance(free, int) else 0)}"


def tables(data: Json) -> dict[str, Table]:
    """A rich table per view."""
    services = Table(title="Services")
    for column in ("Service", "IP", "Pool", "Announced by (node: peers)"):
        services.add_column(column)
    for r in data["services"]:
        by = "; ".join(f"{a['node']}: {', '.join(a['peers'])}" for a in r["announced_by"])
        services.add_row(
            r["service"], ", ".join(r["ips"]) or "-", r["pool"] or "-", by or "[yellow]-[/yellow]"
        )
    pools = Table(title="Pools")
    for column in ("Pool", "Addresses", "IPv4 used/total", "IPv6 used/total"):
        pools.add_column(column)
    for r in data["pools"]:
        v4 = _count(r["assignedIPv4"], r["availableIPv4"])
        pools.add_row(r["pool"], ", ".join(r["addresses"]), v4, _count(r["assignedIPv6"], r["availableIPv6"]))
    sessions = Table(title="BGP sessions (per speaker)")
    for column in ("Node", "Peer", "Address", "AS", "State", "PfxSnt", "Last error"):
        sessions.add_column(column)
    for r in data["sessions"]:
        if "error" in r:
            sessions.add_row(r["node"], "", "", "", f"[red]{r['error']}[/red]", "", "")
            continue
        style = "green" if r["state"] == "Established" else "yellow"
        sessions.add_row(
            r["node"],
            r["peer"],
            r["address"],
            str(r["peer_asn"]),
            f"[{style}]{r['state']}[/{style}]",
            str(r["prefixes_sent"]),
            r["last_error"] or "",
        )
    routes = Table(title="Routes sent")
    for column in ("Node", "Peer", "Prefix", "Communities"):
        routes.add_column(column)
    for peer in data["routes"]:
        for route in peer["routes"]:
            routes.add_row(peer["node"], peer["peer"], route["prefix"], " ".join(route["communities"]))
    return {"services": services, "pools": pools, "sessions": sessions, "routes": routes}


def show(view: str | None, as_json: bool, kubeconfig: Path | None, namespace: str, speaker_port: int) -> None:
    """Print the cluster's status (called by `bgplb status` with --kubeconfig or --cluster)."""
    try:
        config = KubeConfig.from_file(kubeconfig) if kubeconfig is not None else KubeConfig.from_env()
    except (KubeConfigError, OSError, ValueError) as exc:
        typer.echo(f"error: no usable kubeconfig: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        data = asyncio.run(_collect(config, namespace, speaker_port))
    except (ApiError, httpx2.HTTPError, OSError) as exc:
        typer.echo(f"error: the API server cannot be read: {exc}", err=True)
        raise typer.Exit(1) from None
    if view is not None:
        data = {view: data.get(view, [])}
    if as_json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    console = Console()
    for state in data.get("config", []):
        if state["valid"] is False:
            console.print(f"[red]{state['name']}: {state['last_error']}[/red]")
            for error in state["errors"]:
                where = f" field {error['field']}" if error.get("field") else ""
                console.print(f"  {error['kind']} {error.get('name', '')}{where}: {error['reason']}")
    for name, table in tables({**_EMPTY, **data}).items():
        if name in data:
            console.print(table)


_EMPTY: Json = {name: [] for name in VIEWS}


async def _collect(config: KubeConfig, namespace: str, speaker_port: int) -> Json:
    client = AsyncClient(config=config)
    try:
        return await collect(client, namespace, speaker_port)
    finally:
        await client.close()
