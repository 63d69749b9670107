"""What every real-daemon launcher shares: the session description, the route view and the common interface.

A launcher (`frr.FrrRouter`, `bird.BirdRouter`, `gobgp.GobgpRouter`, `exabgp.ExabgpRouter`) renders its
daemon's configuration from a `BgpSpec` (or takes a configuration text you rendered yourself), starts the
daemon in a `Namespace` with its own runtime dir under the kit's workdir (never /etc, never the system
services), and answers questions in one vocabulary: `peer_state`, `established`, `received_count` and `rib`
(a list of `Route`). Every launcher satisfies the `BgpDaemon` protocol, so a test or the benchmark can
treat the four daemons alike.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bgplb.errors import BgplbError
from bgplb.lab.netns import Namespace, Process
from bgplb.lab.wait import FatalProbeError, wait_for

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class DaemonError(BgplbError):
    """A daemon failed to start, rejected its configuration, or answered a query with nonsense."""


class DaemonExitedError(DaemonError, FatalProbeError):
    """A daemon process exited while it was expected to run; the message holds its log tail."""


def family_of(address: IpAddress | IpNetwork) -> str:
    """`"ipv4"` or `"ipv6"`."""
    return "ipv4" if address.version == 4 else "ipv6"


@dataclass(frozen=True, slots=True)
class Neighbor:
    """One BGP neighbor as the daemon under test sees it.

    `shutdown` starts the session administratively down (routes load first, `enable()` later);
    `passive` waits for the peer to connect; `families` defaults to the address family of `address`.
    """

    address: IpAddress
    asn: int
    local_address: IpAddress | None = None
    passive: bool = False
    shutdown: bool = False
    password: str | None = None
    hold_time: int | None = None
    ebgp_multihop: int | None = None
    port: int | None = None
    families: tuple[str, ...] = ()

    @property
    def afis(self) -> tuple[str, ...]:
        """The address families to activate (`families`, or the family of `address`)."""
        return self.families or (family_of(self.address),)


@dataclass(frozen=True, slots=True)
class Announcement:
    """A prefix the daemon itself originates, with optional attributes (not every daemon renders all)."""

    prefix: IpNetwork
    next_hop: IpAddress | None = None
    communities: tuple[str, ...] = ()
    large_communities: tuple[str, ...] = ()
    med: int | None = None
    local_pref: int | None = None


@dataclass(frozen=True, slots=True)
class BgpSpec:
    """Local side of the daemon: ASN, router id, neighbors, originated prefixes, listening port."""

    asn: int
    router_id: ipaddress.IPv4Address
    neighbors: tuple[Neighbor, ...] = ()
    announce: tuple[Announcement, ...] = ()
    listen_port: int = 179
    hostname: str = "router"
    ecmp: int = 64
    extra: tuple[str, ...] = field(default=())
    """Extra daemon-native configuration lines, appended inside the BGP instance block where applicable."""

    def neighbor(self, address: IpAddress) -> Neighbor:
        """The neighbor with this address."""
        for n in self.neighbors:
            if n.address == address:
                return n
        raise DaemonError(f"BgpSpec AS{self.asn}: no neighbor {address}")


@dataclass(frozen=True, slots=True)
class Route:
    """One best (or ECMP) route as a daemon shows it, normalised across daemons."""

    prefix: IpNetwork
    next_hops: tuple[IpAddress, ...]
    as_path: tuple[int, ...] = ()
    communities: frozenset[str] = frozenset()
    large_communities: frozenset[str] = frozenset()
    local_pref: int | None = None
    med: int | None = None


class BgpDaemon(Protocol):
    """The interface every launcher offers; `peer` is the neighbor's address."""

    namespace: Namespace
    processes: list[Process]

    def start(self) -> None:
        """Start the daemon and wait until it answers queries."""

    def stop(self) -> None:
        """Stop the daemon (its processes are also stopped by the kit's teardown)."""

    def peer_state(self, peer: IpAddress) -> str:
        """The daemon's own name of the session state with `peer`."""

    def established(self, peer: IpAddress) -> bool:
        """True when the session with `peer` is Established."""

    def received_count(self, peer: IpAddress) -> int:
        """Prefixes accepted from `peer` (all families)."""

    def rib(self, version: int = 4) -> list[Route]:
        """Routes of IP `version` in the daemon's RIB."""


def runtime_dir(ns: Namespace, daemon: str) -> Path:
    """A fresh runtime dir `<workdir>/<namespace role>-<daemon>` for one daemon instance."""
    base = ns.kit.workdir / f"{ns.role}-{daemon}"
    path = base
    n = 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    return path


def wait_established(daemon: BgpDaemon, peer: IpAddress, timeout: float = 30.0) -> None:
    """Wait until `daemon` reports its session with `peer` Established; the error shows the last state."""
    wait_for(
        lambda: (daemon.established(peer), daemon.peer_state(peer)),
        timeout=timeout,
        interval=0.1,
        ready=lambda seen: seen[0],
        description=f"{type(daemon).__name__} in {daemon.namespace.name}: session with {peer} Established",
    )


def wait_received(daemon: BgpDaemon, peer: IpAddress, count: int, timeout: float = 30.0) -> int:
    """Wait until `daemon` has accepted at least `count` prefixes from `peer`; return the count seen."""
    return wait_for(
        lambda: daemon.received_count(peer),
        timeout=timeout,
        interval=0.1,
        ready=lambda seen: seen >= count,
        description=f"{type(daemon).__name__} in {daemon.namespace.name}: {count} prefixes from {peer}",
    )


def source_address(ns: Namespace, peer: IpAddress) -> IpAddress:
    """The address `ns` would use to reach `peer` (`ip route get`), for daemons that need it spelled out."""
    data = ns.run_json(["ip", "-j", "route", "get", str(peer)])
    if isinstance(data, list) and data and isinstance(data[0], dict) and "prefsrc" in data[0]:
        return ipaddress.ip_address(data[0]["prefsrc"])
    raise DaemonError(f"namespace {ns.name}: no route (and so no source address) towards {peer}")


def ensure_alive(processes: Sequence[Process], what: str) -> None:
    """Raise `DaemonExitedError` with the log tail if any of `processes` has exited."""
    for proc in processes:
        if not proc.alive():
            tail = proc.log()[-1500:]
            raise DaemonExitedError(
                f"{what}: {proc.name} exited with {proc.popen.returncode}; log tail:\n{tail}"
            )
