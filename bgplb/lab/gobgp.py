"""GoBGP (gobgpd 3.x) in a namespace: a generated TOML config, the gRPC API on the namespace's own loopback.

gobgpd runs in the foreground with `--api-hosts 127.0.0.1:<port>`; since every namespace has its own
loopback, the default port never collides between instances. Queries go through the `gobgp` CLI with `-j`
(JSON). GoBGP's TOML cannot hold originated routes, so `BgpSpec.announce` is added over the API right after
start (before any neighbor is enabled when the neighbors start `shutdown`), or in bulk with `inject_mrt`.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

from bgplb.lab.daemons import (
    Announcement,
    BgpSpec,
    DaemonError,
    IpAddress,
    Route,
    ensure_alive,
    family_of,
    runtime_dir,
)
from bgplb.lab.netns import Namespace, Process
from bgplb.lab.wait import wait_for

_STATES = {
    0: "unknown",
    1: "idle",
    2: "connect",
    3: "active",
    4: "opensent",
    5: "openconfirm",
    6: "established",
}
# GoBGP's path attribute type codes (BGP attribute codes) in `-j` output.
_ATTR_AS_PATH, _ATTR_NEXT_HOP, _ATTR_MED, _ATTR_LOCAL_PREF, _ATTR_COMMUNITIES = 2, 3, 4, 5, 8
_ATTR_MP_REACH, _ATTR_LARGE_COMMUNITIES = 14, 32


def render(spec: BgpSpec) -> str:
    """A gobgpd TOML configuration for `spec` (routes are added separately: TOML cannot hold them)."""
    lines = [
        "[global.config]",
        f"  as = {spec.asn}",
        f'  router-id = "{spec.router_id}"',
        f"  port = {spec.listen_port}",
    ]
    for n in spec.neighbors:
        lines += ["", "[[neighbors]]", "  [neighbors.config]", f'    neighbor-address = "{n.address}"']
        lines.append(f"    peer-as = {n.asn}")
        if n.password:
            lines.append(f'    auth-password = "{n.password}"')
        if n.shutdown:
            lines.append("    admin-down = true")
        transport = []
        if n.passive:
            transport.append("    passive-mode = true")
        if n.local_address:
            transport.append(f'    local-address = "{n.local_address}"')
        if n.port:
            transport.append(f"    remote-port = {n.port}")
        if transport:
            lines += ["  [neighbors.transport.config]", *transport]
        if n.hold_time is not None:
            keepalive = n.hold_time // 3
            lines += ["  [neighbors.timers.config]", f"    hold-time = {n.hold_time}"]
            lines.append(f"    keepalive-interval = {keepalive}")
        if n.ebgp_multihop:
            lines += ["  [neighbors.ebgp-multihop.config]", "    enabled = true"]
            lines.append(f"    multihop-ttl = {n.ebgp_multihop}")
        for afi in n.afis:
            lines += ["  [[neighbors.afi-safis]]", "    [neighbors.afi-safis.config]"]
            lines.append(f'      afi-safi-name = "{afi}-unicast"')
    lines += list(spec.extra)
    return "\n".join(lines) + "\n"


class GobgpRouter:
    """gobgpd in `namespace` with a TOML `config` (text or `BgpSpec`), its API on the namespace loopback."""

    def __init__(self, namespace: Namespace, config: str | BgpSpec, *, api_port: int = 50051) -> None:
        self.namespace = namespace
        self.spec = config if isinstance(config, BgpSpec) else None
        self.config = render(config) if isinstance(config, BgpSpec) else config
        self.api_port = api_port
        self.rundir = runtime_dir(namespace, "gobgp")
        self.processes: list[Process] = []

    def check_config(self) -> None:
        """Dry-run the configuration (`gobgpd -d`); raise `DaemonError` with gobgpd's complaint."""
        conf = self.rundir / "gobgpd.toml"
        conf.write_text(self.config)
        check = self.namespace.run(["gobgpd", "-d", "-f", str(conf), "-t", "toml"], check=False)
        if check.returncode != 0:
            raise DaemonError(f"gobgpd rejected {conf}: {(check.stderr + check.stdout).strip()[-800:]}")

    def start(self) -> None:
        """Check the config, start gobgpd, wait for its API, add the `BgpSpec.announce` routes."""
        self.check_config()
        conf = self.rundir / "gobgpd.toml"
        argv = ["gobgpd", "-f", str(conf), "-t", "toml", "--api-hosts", f"127.0.0.1:{self.api_port}"]
        argv += ["--pprof-disable", "-p", "-l", "info"]
        self.processes.append(self.namespace.spawn(argv, name=f"{self.namespace.role}-gobgpd"))
        wait_for(
            lambda: self.cli("global", check_alive=True),
            timeout=15,
            description=f"gobgpd in {self.namespace.name} to answer on its API",
        )
        for a in self.spec.announce if self.spec else ():
            self.add_route(a)

    def stop(self) -> None:
        """Stop gobgpd."""
        for proc in self.processes:
            proc.stop()

    def cli(self, *args: str, check_alive: bool = False, timeout: float = 20.0) -> str:
        """Run `gobgp -p <api port> ARGS` in the namespace and return its output."""
        if check_alive:
            ensure_alive(self.processes, "GoBGP")
        argv = ["gobgp", "-u", "127.0.0.1", "-p", str(self.api_port), *args]
        done = self.namespace.run(argv, check=False, timeout=timeout)
        if done.returncode != 0:
            raise DaemonError(
                f"gobgp {' '.join(args)} in {self.namespace.name}: {(done.stderr + done.stdout).strip()}"
            )
        return done.stdout

    def cli_json(self, *args: str) -> Any:
        """Run a `gobgp ... -j` query and parse it."""
        out = self.cli(*args, "-j")
        try:
            return json.loads(out) if out.strip() else None
        except json.JSONDecodeError as exc:
            raise DaemonError(f"gobgp {' '.join(args)} -j: not JSON: {out[:300]!r}") from exc

    def add_route(self, a: Announcement) -> None:
        """Originate `a` (`gobgp global rib add`) with its next hop, communities, MED and local-pref."""
        args = ["global", "rib", "-a", family_of(a.prefix), "add", str(a.prefix)]
        if a.next_hop:
            args += ["nexthop", str(a.next_hop)]
        if a.communities:
            args += ["community", ",".join(a.communities)]
        if a.large_communities:
            args += ["large-community", ",".join(a.large_communities)]
        if a.med is not None:
            args += ["med", str(a.med)]
        if a.local_pref is not None:
            args += ["local-pref", str(a.local_pref)]
        self.cli(*args)

    def delete_route(self, prefix: ipaddress.IPv4Network | ipaddress.IPv6Network) -> None:
        """Withdraw an originated prefix."""
        self.cli("global", "rib", "-a", family_of(prefix), "del", str(prefix))

    def inject_mrt(self, path: Path, timeout: float = 120.0) -> None:
        """Load a TABLE_DUMP_V2 MRT file into the global RIB (`gobgp mrt inject global`), e.g. 100k routes."""
        self.cli("mrt", "inject", "global", str(path), timeout=timeout)

    def enable(self, peer: IpAddress) -> None:
        """Bring an admin-down neighbor up."""
        self.cli("neighbor", str(peer), "enable")

    def _neighbor(self, peer: IpAddress) -> dict[str, Any]:
        data = self.cli_json("neighbor", str(peer))
        if isinstance(data, list):
            data = data[0] if data else None
        if not isinstance(data, dict):
            raise DaemonError(f"GoBGP in {self.namespace.name}: no neighbor {peer}")
        return data

    def peer_state(self, peer: IpAddress) -> str:
        """GoBGP's session state for `peer` in lower case (idle … established)."""
        raw = self._neighbor(peer).get("state", {}).get("session_state", 0)
        return _STATES.get(raw, str(raw)) if isinstance(raw, int) else str(raw).lower()

    def established(self, peer: IpAddress) -> bool:
        """True when the session with `peer` is Established."""
        return self.peer_state(peer) == "established"

    def received_count(self, peer: IpAddress) -> int:
        """Prefixes accepted from `peer`, summed over its address families."""
        total = 0
        for af in self._neighbor(peer).get("afi_safis", []):
            total += int(af.get("state", {}).get("accepted", 0))
        return total

    def rib(self, version: int = 4) -> list[Route]:
        """The global RIB (`gobgp global rib -a ipv4|ipv6 -j`), best paths."""
        data = self.cli_json("global", "rib", "-a", "ipv4" if version == 4 else "ipv6")
        if not isinstance(data, dict):
            return []
        return [_route(prefix, paths) for prefix, paths in data.items() if paths]


def _route(prefix: str, paths: list[dict[str, Any]]) -> Route:
    best = next((p for p in paths if p.get("best")), paths[0])
    attrs: dict[int, Any] = {a["type"]: a for a in best.get("attrs", [])}
    hops: list[IpAddress] = []
    if _ATTR_NEXT_HOP in attrs:
        hops.append(ipaddress.ip_address(attrs[_ATTR_NEXT_HOP]["nexthop"]))
    if _ATTR_MP_REACH in attrs:
        hops += [ipaddress.ip_address(h) for h in attrs[_ATTR_MP_REACH].get("nexthop", "").split(",") if h]
    as_path: list[int] = []
    for seg in attrs.get(_ATTR_AS_PATH, {}).get("as_paths", []) or []:
        as_path += [int(x) for x in seg.get("asns", [])]
    return Route(
        prefix=ipaddress.ip_network(prefix),
        next_hops=tuple(hops),
        as_path=tuple(as_path),
        communities=frozenset(_community(c) for c in attrs.get(_ATTR_COMMUNITIES, {}).get("communities", [])),
        large_communities=frozenset(
            f"{c['ASN']}:{c['LocalData1']}:{c['LocalData2']}"
            for c in attrs.get(_ATTR_LARGE_COMMUNITIES, {}).get("value", [])
        ),
        local_pref=attrs[_ATTR_LOCAL_PREF]["value"] if _ATTR_LOCAL_PREF in attrs else None,
        med=attrs[_ATTR_MED]["metric"] if _ATTR_MED in attrs else None,
    )


def _community(value: int) -> str:
    return f"{value >> 16}:{value & 0xFFFF}"
