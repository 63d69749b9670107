"""`bgplb router-config`: print the router's half of the BGP setup, or check an existing FRR config.

Design: load the configuration files (the adapter), build the Config, read the nodes (a `--nodes` YAML
file, else the Node objects found among the configuration files), build the RouterPlan and either render
it in the chosen format or compare it with `--check EXISTING.conf`. Exit codes: 0 ok, 1 the existing
config lacks something (`--check`), 2 the input cannot be used (named object and field on stderr).
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from bgplb.adapters.config_files import load_paths
from bgplb.config.build import build_config
from bgplb.errors import ConfigError
from bgplb.routers.build import RouterOptions, build_plan
from bgplb.routers.check import check
from bgplb.routers.nodes import RouterNode, parse_nodes
from bgplb.routers.plan import RouterPlan
from bgplb.routers.render import RouterFormat, render

INPUT_ERROR = 2


def router_config(  # noqa: PLR0917 (typer maps parameters to options)
    paths: Annotated[
        list[Path], typer.Argument(help="Configuration files or directories (MetalLB, Cilium).")
    ],
    router_format: Annotated[
        RouterFormat, typer.Option("--format", "-f", help="Router flavour to write.")
    ] = RouterFormat.FRR,
    nodes: Annotated[
        Path | None,
        typer.Option("--nodes", help="YAML: a list of {name, addresses, labels} or Kubernetes Node objects."),
    ] = None,
    router_asn: Annotated[
        int | None, typer.Option("--router-asn", help="The router's ASN (peerASN).")
    ] = None,
    router_addresses: Annotated[
        list[str] | None,
        typer.Option("--router-address", help="Only the BGPPeers with this peerAddress (repeatable)."),
    ] = None,
    peers: Annotated[
        list[str] | None,
        typer.Option("--peer", help="Only the BGPPeer with this name (repeatable)."),
    ] = None,
    router_id: Annotated[str | None, typer.Option("--router-id", help="The router's BGP router id.")] = None,
    default_route: Annotated[
        bool, typer.Option("--default-route", help="Also send a default route to the nodes.")
    ] = False,
    ttl_security: Annotated[
        bool, typer.Option("--ttl-security", help="GTSM (RFC 5082) on directly connected sessions.")
    ] = False,
    existing: Annotated[
        Path | None, typer.Option("--check", help="An existing FRR config to compare with the plan.")
    ] = None,
) -> None:
    """Write the router side (FRR, OPNsense, pfSense, VyOS, BIRD) for the nodes and the configuration."""
    try:
        options = RouterOptions(
            asn=router_asn,
            addresses=tuple(_address(text) for text in router_addresses or ()),
            peers=tuple(peers or ()),
            router_id=_router_id(router_id),
            default_originate=default_route,
            ttl_security=ttl_security,
        )
        plan = _plan(paths, nodes, options)
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(INPUT_ERROR) from None
    if existing is None:
        typer.echo(render(plan, router_format), nl=False)
        return
    try:
        text = existing.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        typer.echo(f"error: cannot read {existing}: {error}", err=True)
        raise typer.Exit(INPUT_ERROR) from None
    findings = check(plan, text)
    for finding in findings:
        typer.echo(str(finding))
    failed = [f for f in findings if f.is_error]
    summary = f"{len(failed)} problem(s)" if failed else "nothing missing"
    typer.echo(f"{existing}: {summary} for {len(plan.neighbors)} node neighbor(s) of AS {plan.asn}")
    if failed:
        raise typer.Exit(1)


def _plan(paths: list[Path], nodes_file: Path | None, options: RouterOptions) -> RouterPlan:
    loaded = load_paths(paths)
    if loaded.errors:
        raise loaded.errors[0]
    result = build_config(loaded.resources)
    for warning in result.warnings:
        typer.echo(f"warning: {warning.kind} {warning.name} {warning.field_path}: {warning.reason}", err=True)
    if result.config is None:
        raise result.errors[0]
    nodes = _nodes(nodes_file, [r for r in loaded.resources if r.get("kind") == "Node"])
    return build_plan(result.config, nodes, options)


def _address(text: str) -> IPv4Address | IPv6Address:
    try:
        return ip_address(text)
    except ValueError:
        raise ConfigError("option", "--router-address", "", f"{text!r} is not an IP address") from None


def _router_id(text: str | None) -> IPv4Address | None:
    if text is None:
        return None
    try:
        return IPv4Address(text)
    except ValueError:
        raise ConfigError("option", "--router-id", "", f"{text!r} is not an IPv4 address") from None


def _nodes(nodes_file: Path | None, in_config: list[Mapping[str, Any]]) -> tuple[RouterNode, ...]:
    if nodes_file is None:
        if not in_config:
            raise ConfigError(
                "option",
                "--nodes",
                "",
                "no nodes: give --nodes FILE or put Node objects in the configuration",
            )
        return parse_nodes(in_config)
    try:
        documents = list(yaml.safe_load_all(nodes_file.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError("file", str(nodes_file), "", f"cannot read the nodes file: {error}") from None
    return parse_nodes(documents)
