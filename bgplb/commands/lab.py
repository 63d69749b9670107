"""`bgplb lab`: a throw-away FRR router and one bgplb node in network namespaces (needs root)."""

from __future__ import annotations

from typing import Annotated

import typer

from bgplb.lab.run import run_lab


def lab(
    keep: Annotated[bool, typer.Option("--keep", help="keep the lab running until Ctrl-C")] = False,
) -> None:
    """Start FRR and a bgplb speaker in namespaces, show the announced route on the router, tear down."""
    try:
        run_lab(keep=keep, say=typer.echo)
    except KeyboardInterrupt:
        typer.echo("interrupted; lab torn down")
        raise typer.Exit(130) from None
