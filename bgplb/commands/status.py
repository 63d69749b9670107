"""`bgplb status [sessions|routes|services|pools] [--output json]`: ask a running `bgplb run`.

Reads the daemon's JSON status endpoint on 127.0.0.1 and prints rich tables modelled on what people type on
their routers (`sessions` looks like FRR's `show bgp summary`), or the JSON itself for scripts. Without a
view it prints all four. Exit code 1 when the daemon cannot be reached.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bgplb.adapters.status_server import DEFAULT_PORT
from bgplb.commands import status_cluster


class View(StrEnum):
    """What to show."""

    SESSIONS = "sessions"
    ROUTES = "routes"
    SERVICES = "services"
    POOLS = "pools"


class Output(StrEnum):
    """Tables for people, JSON for scripts."""

    TABLE = "table"
    JSON = "json"


def fetch(port: int, view: str | None, timeout: float = 3.0) -> dict[str, Any]:
    """The status document (all views, or one) from the daemon on 127.0.0.1:`port`."""
    url = f"http://127.0.0.1:{port}/status" + (f"/{view}" if view else "")
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data: dict[str, Any] = json.loads(response.read())
    return data


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days}d{hours:02d}h{minutes:02d}m" if days else f"{hours:02d}:{minutes:02d}:{secs:02d}"


def sessions_table(rows: list[dict[str, Any]]) -> Table:
    """Peer, ASN, state, up/down, prefixes sent/received, last error."""
    table = Table(title="BGP sessions")
    for column in ("Peer", "Address", "AS", "State", "Up/Down", "PfxSnt", "PfxRcd", "Last error"):
        table.add_column(column, justify="right" if column.startswith("Pfx") else "left")
    for r in rows:
        state = r["state"]
        style = "green" if state == "Established" else "yellow"
        table.add_row(
            r["peer"],
            r["address"],
            str(r["peer_asn"]),
            f"[{style}]{state}[/{style}]",
            _duration(r["uptime"]),
            str(r["prefixes_sent"]),
            str(r["prefixes_received"]),
            r["last_error"] or "",
        )
    return table


def routes_table(rows: list[dict[str, Any]]) -> Table:
    """Per peer: prefix, next hop, communities, large communities, local-pref."""
    table = Table(title="Routes sent")
    for column in ("Peer", "Prefix", "Next hop", "Communities", "Large communities", "LocPrf"):
        table.add_column(column)
    for peer in rows:
        for route in peer["routes"]:
            table.add_row(
                peer["peer"],
                route["prefix"],
                route["next_hop"],
                " ".join(route["communities"]),
                " ".join(route["large_communities"]),
                "" if route["local_pref"] is None else str(route["local_pref"]),
            )
    return table


def services_table(rows: list[dict[str, Any]]) -> Table:
    """Service, address, pool, and announced-by or the reason it is not announced here."""
    table = Table(title="Services")
    for column in ("Service", "IP", "Pool", "Node", "Announced by / reason"):
        table.add_column(column)
    for r in rows:
        if r["announced"]:
            verdict = "[green]" + ", ".join(r["announced"]) + "[/green]"
        else:
            verdict = f"[yellow]{r['reason']}[/yellow]" + (f" {r['detail']}" if r.get("detail") else "")
        table.add_row(r["service"], r["ip"] or "-", r["pool"] or "-", r["node"], verdict)
    return table


def pools_table(rows: list[dict[str, Any]]) -> Table:
    """Used and free addresses per pool and family."""
    table = Table(title="Pools")
    for column in ("Pool", "Family", "Used", "Free"):
        table.add_column(column, justify="right" if column in ("Used", "Free") else "left")
    for r in rows:
        table.add_row(r["pool"], r["family"], str(r["used"]), str(r["free"]))
    return table


RENDERERS = {
    View.SESSIONS: sessions_table,
    View.ROUTES: routes_table,
    View.SERVICES: services_table,
    View.POOLS: pools_table,
}


def status(
    view: Annotated[View | None, typer.Argument(help="sessions, routes, services or pools")] = None,
    *,
    output: Annotated[Output, typer.Option("--output", "-o", help="table or json")] = Output.TABLE,
    port: Annotated[int, typer.Option("--port", help="the daemon's --status-port")] = DEFAULT_PORT,
    kubeconfig: Annotated[Path | None, typer.Option("--kubeconfig", help="ask this cluster instead")] = None,
    cluster: Annotated[bool, typer.Option("--cluster", help="ask the default kubeconfig's cluster")] = False,
    namespace: Annotated[str, typer.Option("--namespace", help="bgplb's namespace")] = "metallb-system",
    speaker_port: Annotated[int, typer.Option("--speaker-port", help="speakers' --http-port")] = 7473,
) -> None:
    """Show the sessions, routes, services and pools of the `bgplb run` on this host (or of a cluster)."""
    if kubeconfig is not None or cluster:
        name = view.value if view else None
        status_cluster.show(name, output is Output.JSON, kubeconfig, namespace, speaker_port)
        return
    try:
        data = fetch(port, view.value if view else None)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        typer.echo(f"error: no bgplb run answers on 127.0.0.1:{port}: {exc}", err=True)
        raise typer.Exit(1) from None
    if output is Output.JSON:
        typer.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    console = Console()
    config = data.get("config")
    if isinstance(config, dict) and config.get("errors"):
        console.print("[red]configuration errors (the last good configuration keeps running):[/red]")
        for error in config["errors"]:
            console.print(f"  {error}")
    for name in [view] if view else list(View):
        console.print(RENDERERS[name](data.get(name.value, [])))
