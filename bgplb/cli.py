"""The `bgplb` command line: one typer app, one module per command under bgplb/commands/."""

from __future__ import annotations

import typer

from bgplb import __version__
from bgplb.commands import check_config, controller, lab, router_config, run, speak, speaker, status

app = typer.Typer(
    name="bgplb",
    help="A load balancer for bare-metal Kubernetes: IPAM, BGP and layer-2 announcements, router configs.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def root() -> None:
    """A load balancer for bare-metal Kubernetes."""


@app.command()
def version() -> None:
    """Print bgplb's version."""
    typer.echo(__version__)


# Commands register here, one line each, in the order of the help text.
app.command("check-config")(check_config.check_config)
app.command("router-config")(router_config.router_config)
app.command("speak")(speak.speak)
app.command("run")(run.run)
app.command("status")(status.status)
app.command("lab")(lab.lab)
app.command("speaker")(speaker.speaker)
app.command("controller")(controller.controller)


def main() -> None:
    """Entry point of the `bgplb` console script."""
    app()
