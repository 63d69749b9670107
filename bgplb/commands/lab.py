"""`bgplb lab [up|status|curl|down]`: a real FRR router, N bgplb nodes and a client in network namespaces.

`up` builds the lab and leaves it running (recorded under /run/bgplb-lab, or `--dir`/$BGPLB_LAB_DIR),
`status` shows the router's BGP table and kernel ECMP routes next to each node's `bgplb status`, `curl`
sends requests from the client and shows how they spread over the nodes, `down` removes everything.
Without an action: up, status and curl, then the lab keeps running (what `make lab` runs). Needs root.
See docs/lab.md.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bgplb.commands.status import services_table, sessions_table
from bgplb.errors import BgplbError
from bgplb.lab import observe, state
from bgplb.lab.run import down, up
from bgplb.lab.topology import SERVICES, LabSpec

INTERRUPTED = {
    "building": "lab torn down",
    "running": "the lab keeps running (bgplb lab down removes it)",
    "down": "run bgplb lab down again to finish",
}


class Action(StrEnum):
    """What to do with the lab."""

    UP = "up"
    STATUS = "status"
    CURL = "curl"
    DOWN = "down"


def show_status(record: state.LabRecord, console: Console) -> None:
    """The router's view (BGP table, kernel routes), then each node's sessions and services."""
    console.rule("[bold]router (FRR): show bgp ipv4 unicast")
    console.print(observe.bgp_table(record).rstrip(), markup=False, highlight=False)
    console.rule("[bold]router: kernel routes from BGP (ip route show proto bgp)")
    console.print(observe.kernel_text(record).rstrip() or "(none)", markup=False, highlight=False)
    for node in record.nodes:
        console.rule(f"[bold]{node.name} ({', '.join(node.addresses)}): bgplb status")
        try:
            data = observe.node_status(record, node.name)
        except BgplbError as exc:
            console.print(f"[red]{node.name}: bgplb status failed: {exc}[/red]")
            continue
        console.print(sessions_table(data.get("sessions", [])))
        console.print(services_table(data.get("services", [])))


def show_curl(record: state.LabRecord, service: str, requests: int, console: Console) -> bool:
    """Send `requests` requests to each address of `service` from the client; print the spread; True
    when every request was answered."""
    ok = True
    for address in observe.service_addresses(record, service):
        spread = observe.curl(record, address, requests)
        hops = observe.gateways(record, address)
        url = f"http://[{address}]/" if ":" in address else f"http://{address}/"
        console.print(f"[bold]curl {url}[/bold] x{requests} from the client ({service})")
        console.print(f"  router next hops: {', '.join(hops) or 'none'}")
        for node, count in sorted(spread.answers.items()):
            console.print(f"  {node:<8} {count:>4}  {'#' * count}")
        if spread.errors:
            console.print(f"  [red]{len(spread.errors)} failed[/red]: {spread.errors[0]}")
            ok = False
    return ok


def lab(
    action: Annotated[
        Action | None, typer.Argument(help="up, status, curl or down (none: up + status + curl)")
    ] = None,
    service: Annotated[str | None, typer.Argument(help="curl: a Service name (web, local) or an IP")] = None,
    *,
    nodes: Annotated[int, typer.Option("--nodes", help="up: number of nodes")] = 3,
    ipv6: Annotated[bool, typer.Option("--ipv6", help="up: dual stack (IPv6 pool and sessions too)")] = False,
    hold_time: Annotated[
        int, typer.Option("--hold-time", help="up: BGP hold time the nodes ask for (s)")
    ] = 9,
    requests: Annotated[int, typer.Option("--requests", "-n", help="curl: number of requests (1-1000)")] = 30,
    directory: Annotated[Path | None, typer.Option("--dir", help="where the lab is recorded")] = None,
) -> None:
    """A throw-away FRR router, bgplb nodes and a client in network namespaces (needs root)."""
    console = Console(emoji=False)
    if not console.is_terminal:  # logs and pipes: wide enough for the tables
        console.width = 140
    where = state.lab_dir(directory)
    if not 1 <= requests <= 1000:
        typer.echo("error: --requests must be between 1 and 1000", err=True)
        raise typer.Exit(2)
    phases: dict[Action | None, str] = {Action.STATUS: "running", Action.CURL: "running", Action.DOWN: "down"}
    phase = phases.get(action, "building")
    try:
        if action in (None, Action.UP):
            record = up(LabSpec(nodes=nodes, ipv6=ipv6, hold_time=hold_time), where, say=console.print)
            phase = "running"
            if action is None:
                show_status(record, console)
                for example in SERVICES:
                    show_curl(record, example.name, requests, console)
                _hints(console, where, directory is not None)
            else:
                console.print(f"lab up ({where}); next: bgplb lab status, bgplb lab curl web, bgplb lab down")
        elif action is Action.STATUS:
            show_status(state.load(where), console)
        elif action is Action.CURL:
            if not show_curl(state.load(where), service or "web", requests, console):
                raise typer.Exit(1)
        elif not down(where, say=console.print):
            console.print(f"no lab is recorded in {where}; nothing to tear down")
    except KeyboardInterrupt:
        typer.echo(f"interrupted; {INTERRUPTED[phase]}", err=True)
        raise typer.Exit(130) from None
    except BgplbError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _hints(console: Console, where: Path, explicit: bool) -> None:
    flag = f" --dir {where}" if explicit else ""
    prog = sys.argv[0] if Path(sys.argv[0]).name == "bgplb" else "bgplb"  # e.g. .venv/bin/bgplb from make
    console.rule("[bold]the lab keeps running")
    console.print(
        f"  {prog} lab status{flag}\n      the router's BGP table and ECMP routes next to each node's view\n"
        f"  {prog} lab curl web -n 50{flag}\n      requests from the client, spread over the nodes\n"
        f"  {prog} lab down{flag}\n      remove everything\n"
        f"  config shared by the nodes: {where}/work/config (edit or add a Service file: routes follow)\n"
        f"  logs: {where}/work/*.log\n"
        f"  a shell on a node: ip netns exec <namespace> bash (namespaces: {where}/state.json)\n"
        "  more: docs/lab.md",
        markup=False,
        highlight=False,
    )
