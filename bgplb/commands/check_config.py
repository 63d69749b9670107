"""`bgplb check-config PATH...`: read configuration files, validate them, print a report.

Design: the adapter loads every YAML document (files or directories), `build_config` does all the work,
this module only renders: errors, then warnings, then the resulting pools, peers and advertisements
(rich tables), or one JSON object with `--output json`. Exit code 1 when there is any error (or any
warning with `--strict`), else 0.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bgplb.adapters.config_files import load_paths
from bgplb.config.build import REJECTED, BuildResult, build_config
from bgplb.config.models import AddressPool, BgpPeer, Config
from bgplb.config.warnings import ConfigWarning
from bgplb.errors import ConfigError

REDACTED = "<redacted>"


class Output(StrEnum):
    """Report formats."""

    TEXT = "text"
    JSON = "json"


def check_config(
    paths: Annotated[
        list[Path], typer.Argument(help="YAML files or directories (MetalLB, legacy ConfigMap, Cilium).")
    ],
    output: Annotated[Output, typer.Option("--output", "-o", help="text (rich) or json.")] = Output.TEXT,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too.")] = False,
) -> None:
    """Validate configuration files and print the normalised configuration with every error and warning."""
    loaded = load_paths(paths)
    result = build_config(loaded.resources)
    errors = (*loaded.errors, *result.errors)
    if output is Output.JSON:
        typer.echo(json.dumps(report(result, errors), indent=2, sort_keys=False))
    else:
        render(Console(), result, errors, len(loaded.files))
    if errors or (strict and result.warnings):
        raise typer.Exit(1)


def report(result: BuildResult, errors: tuple[ConfigError, ...]) -> dict[str, Any]:
    """The JSON report: ok, rejection, errors, warnings and the normalised config (or null)."""
    return {
        "ok": not errors,
        "rejection": f"{REJECTED} ({_count(len(errors), 'error')})" if errors else None,
        "errors": [_finding(e) for e in errors],
        "warnings": [_finding(w) for w in result.warnings],
        "config": _redacted(result.config) if result.config is not None and not errors else None,
    }


def _redacted(config: Config) -> dict[str, Any]:
    """The config as JSON data, with TCP-MD5 passwords replaced (they must not end up in CI logs)."""
    data = config.model_dump(mode="json")
    for peer in data["peers"]:
        if peer.get("password"):
            peer["password"] = REDACTED
    return data


def _finding(finding: ConfigError | ConfigWarning) -> dict[str, str]:
    return {"kind": finding.kind, "name": finding.name, "field": finding.field_path, "reason": finding.reason}


def render(console: Console, result: BuildResult, errors: tuple[ConfigError, ...], files: int) -> None:
    """Print the human report."""
    for title, findings, style in (("Errors", errors, "red"), ("Warnings", result.warnings, "yellow")):
        if not findings:
            continue
        table = Table(title=f"{title} ({len(findings)})", title_style=f"bold {style}", expand=False)
        for column in ("kind", "name", "field", "reason"):
            table.add_column(column, overflow="fold")
        for finding in findings:
            table.add_row(finding.kind, finding.name, finding.field_path, finding.reason)
        console.print(table)
    if errors:
        console.print(f"[bold red]{REJECTED}[/] ({_count(len(errors), 'error')}).")
        return
    if result.config is not None:
        _render_config(console, result.config)
    console.print(f"[bold green]configuration valid[/] ({_count(files, 'file')} read).")


def _render_config(console: Console, config: Config) -> None:
    pools = Table(title="Address pools")
    for column in ("pool", "from", "addresses", "options"):
        pools.add_column(column, overflow="fold")
    for pool in config.pools:
        pools.add_row(
            pool.name, pool.origin.kind, "\n".join(str(r) for r in pool.ranges), _pool_options(pool)
        )
    console.print(pools)
    if config.peers:
        peers = Table(title="BGP peers")
        for column in ("peer", "from", "ASN local/peer", "address", "hold/keepalive", "options"):
            peers.add_column(column, overflow="fold")
        for peer in config.peers:
            remote = str(peer.peer_asn) if peer.peer_asn is not None else f"({peer.dynamic_asn})"
            where = str(peer.peer_address or peer.interface or "")
            peers.add_row(
                peer.name,
                peer.origin.kind,
                f"{peer.my_asn}/{remote}",
                where if peer.peer_port == 179 else f"{where} port {peer.peer_port}",
                f"{_opt(peer.hold_time)}/{_opt(peer.keepalive_time)}",
                _peer_options(peer),
            )
        console.print(peers)
    if config.bgp_advertisements:
        bgp = Table(title="BGP advertisements")
        for column in ("advertisement", "pools", "aggr.", "localPref", "communities", "peers"):
            bgp.add_column(column, overflow="fold")
        for adv in config.bgp_advertisements:
            bgp.add_row(
                adv.name,
                ", ".join(adv.pools),
                f"/{adv.aggregation_length} /{adv.aggregation_length_v6}",
                _opt(adv.local_pref),
                ", ".join([*adv.communities, *(f"large:{c}" for c in adv.large_communities)]),
                ", ".join(adv.peers) or "all",
            )
        console.print(bgp)
    if config.l2_advertisements:
        l2 = Table(title="L2 advertisements")
        for column in ("advertisement", "pools", "interfaces"):
            l2.add_column(column, overflow="fold")
        for l2_adv in config.l2_advertisements:
            l2.add_row(l2_adv.name, ", ".join(l2_adv.pools), ", ".join(l2_adv.interfaces) or "all")
        console.print(l2)
    if config.bfd_profiles:
        bfd = Table(title="BFD profiles (router side only)")
        for column in ("profile", "rx/tx ms", "multiplier", "echo", "passive"):
            bfd.add_column(column, overflow="fold")
        for profile in config.bfd_profiles:
            bfd.add_row(
                profile.name,
                f"{_opt(profile.receive_interval)}/{_opt(profile.transmit_interval)}",
                _opt(profile.detect_multiplier),
                "yes" if profile.echo_mode else "no",
                "yes" if profile.passive_mode else "no",
            )
        console.print(bfd)
    if config.communities:
        console.print(
            "Community aliases: "
            + ", ".join(f"{name}={value}" for name, value in sorted(config.communities.items()))
        )


def _pool_options(pool: AddressPool) -> str:
    parts = [] if pool.auto_assign else ["no auto-assign"]
    if pool.avoid_buggy_ips:
        parts.append("avoid-buggy-ips")
    if not pool.allow_first_last:
        parts.append("no first/last")
    if pool.disabled:
        parts.append("disabled")
    allocation = pool.service_allocation
    if allocation is not None:
        if allocation.priority is not None:
            parts.append(f"priority {allocation.priority}")
        if allocation.namespaces:
            parts.append("namespaces " + ", ".join(allocation.namespaces))
        if allocation.namespace_selectors or allocation.service_selectors:
            parts.append("selectors")
    return ", ".join(parts)


def _peer_options(peer: BgpPeer) -> str:
    ibgp = peer.is_ibgp
    parts = ["iBGP" if ibgp else "eBGP" if ibgp is False else "ASN learned"]
    if peer.ebgp_multihop:
        parts.append("multihop" if isinstance(peer.ebgp_multihop, bool) else f"multihop {peer.ebgp_multihop}")
    if peer.password or peer.password_secret:
        parts.append("TCP-MD5")
    if peer.bfd_profile:
        parts.append(f"BFD {peer.bfd_profile}")
    if peer.node_selectors:
        parts.append("node selectors")
    return ", ".join(parts)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _opt(value: int | None) -> str:
    return "-" if value is None else str(value)
