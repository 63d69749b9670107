"""What the lab shows: the router's BGP table and kernel routes, each node's `bgplb status`, client requests.

Design: every function takes the `LabRecord` of a running lab (see `state`) and looks from inside the
namespaces with the tools a person would type there: `vtysh` against the router's FRR runtime dir,
`ip -j route` in the router namespace, `bgplb status --output json` in a node namespace (its status
endpoint listens on that namespace's 127.0.0.1), and `bgplb.lab.client` in the client namespace. All are
bounded by timeouts.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from dataclasses import dataclass
from typing import Any

from bgplb.errors import BgplbError
from bgplb.lab.process import run_command
from bgplb.lab.state import LabRecord
from bgplb.lab.topology import BACKEND_PORT


class ObserveError(BgplbError):
    """A look into the lab failed (a daemon does not answer, a command failed)."""


@dataclass(frozen=True, slots=True)
class Spread:
    """How `count` client requests to one address were answered: node -> requests, plus errors."""

    address: str
    count: int
    answers: dict[str, int]
    errors: tuple[str, ...]


def _in(namespace: str, argv: list[str], timeout: float = 20.0) -> str:
    done = run_command(["ip", "netns", "exec", namespace, *argv], timeout=timeout, check=False)
    if done.returncode != 0:
        raise ObserveError(f"{' '.join(argv)} in {namespace}: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def vtysh(record: LabRecord, *commands: str) -> str:
    """Run vtysh commands on the lab router."""
    argv = ["vtysh", "--vty_socket", record.router_rundir, "--config_dir", record.router_rundir]
    for command in commands:
        argv += ["-c", command]
    return _in(record.router_namespace, argv)


def kernel_routes(record: LabRecord, version: int = 4) -> dict[str, list[str]]:
    """The router's kernel routes installed by BGP: destination (no /32 or /128) -> sorted gateways."""
    out = _in(record.router_namespace, ["ip", f"-{version}", "-j", "route", "show", "proto", "bgp"])
    table: dict[str, list[str]] = {}
    for route in json.loads(out or "[]"):
        hops = route.get("nexthops")
        gws = [str(h.get("gateway")) for h in hops] if isinstance(hops, list) else [str(route.get("gateway"))]
        table[str(route.get("dst"))] = sorted(gws)
    return table


def gateways(record: LabRecord, address: str) -> list[str]:
    """The router's kernel next hops for one Service address (empty when it has no BGP route)."""
    version = ipaddress.ip_address(address).version
    return kernel_routes(record, version).get(address, [])


def kernel_text(record: LabRecord) -> str:
    """`ip route show proto bgp` (and -6 with IPv6) on the router, as a person would read it."""
    text = _in(record.router_namespace, ["ip", "route", "show", "proto", "bgp"])
    if record.ipv6:
        text += _in(record.router_namespace, ["ip", "-6", "route", "show", "proto", "bgp"])
    return text


def bgp_table(record: LabRecord) -> str:
    """`show bgp ipv4 unicast` (and ipv6 with IPv6) on the router."""
    commands = ["show bgp ipv4 unicast"] + (["show bgp ipv6 unicast"] if record.ipv6 else [])
    return vtysh(record, *commands)


def node_status(record: LabRecord, node: str) -> dict[str, Any]:
    """`bgplb status --output json` run inside `node`'s namespace."""
    argv = [sys.executable, "-m", "bgplb", "status", "--output", "json"]
    out = _in(record.node(node).namespace, argv)
    try:
        data: dict[str, Any] = json.loads(out)
    except json.JSONDecodeError as exc:
        raise ObserveError(f"bgplb status on {node}: not JSON: {out[:200]!r}") from exc
    return data


def service_addresses(record: LabRecord, service: str) -> tuple[str, ...]:
    """The lab addresses of an example Service (IPv4 first), or `service` itself when it is an address."""
    try:
        return (str(ipaddress.ip_address(service)),)
    except ValueError:
        pass
    if service not in record.services:
        raise ObserveError(f"no Service {service!r} in the lab (Services: {', '.join(record.services)})")
    return record.services[service]


def curl(record: LabRecord, address: str, count: int) -> Spread:
    """Send `count` HTTP requests from the client to `address`, each on a new connection (new source port)."""
    argv = [sys.executable, "-m", "bgplb.lab.client", address, str(BACKEND_PORT), str(count)]
    out = _in(record.client_namespace, argv, timeout=count * 1.5 + 10)
    data = json.loads(out)
    return Spread(address, count, dict(data["answers"]), tuple(data["errors"]))
