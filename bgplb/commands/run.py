"""`bgplb run --config DIR --node NAME`: controller and speaker for one host, without Kubernetes.

Logs go to stderr (one line per event: config errors, assignments, session changes, health flips). Exit
codes: 0 after SIGTERM/SIGINT, 1 when a supervised task failed, 2 for bad arguments or an unreadable state
file. See docs/no-kubernetes.md.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from bgplb.adapters.state_file import StateFileError
from bgplb.adapters.status_server import DEFAULT_PORT
from bgplb.runtime.run import RunOptions, Runtime
from bgplb.runtime.speaker import parse_router_id

STATE_DIR = Path("/var/lib/bgplb")


def run(
    *,
    config: Annotated[Path, typer.Option("--config", "-c", help="directory of YAML files")],
    node: Annotated[str, typer.Option("--node", "-n", help="this host's node name")],
    state_file: Annotated[
        Path | None,
        typer.Option("--state-file", help="allocation state (default: /var/lib/bgplb/state-NODE.json)"),
    ] = None,
    status_port: Annotated[
        int, typer.Option("--status-port", help="status HTTP port on 127.0.0.1")
    ] = DEFAULT_PORT,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", help="seconds between file checks")
    ] = 1.0,
    resync: Annotated[float, typer.Option("--resync", help="seconds between full reconcile passes")] = 30.0,
    router_id: Annotated[str | None, typer.Option("--router-id", help="BGP identifier A.B.C.D")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning, error")] = "info",
) -> None:
    """Run the controller and the speaker of this host from a directory of YAML files until SIGTERM."""
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not config.is_dir():
        typer.echo(f"error: --config {config}: not a directory", err=True)
        raise typer.Exit(2)
    if poll_interval <= 0 or resync <= 0:
        typer.echo("error: --poll-interval and --resync must be positive", err=True)
        raise typer.Exit(2)
    state = state_file or STATE_DIR / f"state-{node}.json"
    if state.resolve().is_relative_to(config.resolve()):
        typer.echo(
            f"error: --state-file {state} must lie outside --config {config} (it is not config)", err=True
        )
        raise typer.Exit(2)
    try:
        rid = parse_router_id(router_id)
    except ValueError as exc:
        typer.echo(f"error: --router-id: {exc}", err=True)
        raise typer.Exit(2) from None
    options = RunOptions(
        config_dir=config,
        node=node,
        state_file=state,
        status_port=status_port,
        poll_interval=poll_interval,
        resync=resync,
        router_id=rid,
    )
    raise typer.Exit(asyncio.run(_main(options)))


async def _main(options: RunOptions) -> int:
    try:
        runtime = Runtime(options)
    except StateFileError as exc:
        logging.getLogger("bgplb.run").error("%s", exc)
        return 2
    return await runtime.run()
