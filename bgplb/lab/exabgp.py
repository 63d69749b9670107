"""ExaBGP 4.2 in a namespace: a generated config, run in the foreground as root, received routes from its API.

ExaBGP is configured through environment variables (`exabgp_daemon_user=root`, no daemonizing, no CLI pipe,
logs to a file) so nothing outside the runtime dir is touched. Every neighbor gets an API process that
appends ExaBGP's JSON messages (state changes and parsed UPDATEs) to `received.jsonl`; `peer_state`,
`received_count` and `rib` replay that file. Static routes may use ExaBGP's `split /N` to expand a block.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import sys
from typing import Any

from bgplb.lab.daemons import (
    Announcement,
    BgpSpec,
    DaemonError,
    IpAddress,
    IpNetwork,
    Route,
    ensure_alive,
    runtime_dir,
    source_address,
)
from bgplb.lab.netns import Namespace, Process
from bgplb.lab.wait import wait_for

# The API process: copy ExaBGP's JSON lines to a file, flushing each one.
_RECORDER = """import sys
with open(sys.argv[1], "a") as out:
    for line in sys.stdin:
        out.write(line)
        out.flush()
"""


def _route_line(a: Announcement, split: int | None = None) -> str:
    parts = [f"route {a.prefix}", f"next-hop {a.next_hop or 'self'}"]
    if a.communities:
        parts.append(f"community [{' '.join(a.communities)}]")
    if a.large_communities:
        parts.append(f"large-community [{' '.join(a.large_communities)}]")
    if a.med is not None:
        parts.append(f"med {a.med}")
    if a.local_pref is not None:
        parts.append(f"local-preference {a.local_pref}")
    if split is not None:
        parts.append(f"split /{split}")
    return " ".join(parts) + ";"


def render(spec: BgpSpec, *, recorder: str, split: int | None = None) -> str:
    """An ExaBGP 4.2 config for `spec`; `recorder` is the API process command line, `split` expands routes.

    ExaBGP needs every neighbor's `local_address`.
    """
    lines = ["process recorder {", f"  run {recorder};", "  encoder json;", "}"]
    for n in spec.neighbors:
        if n.local_address is None:
            raise DaemonError(f"ExaBGP neighbor {n.address}: local_address is required")
        lines += [f"neighbor {n.address} {{", f"  router-id {spec.router_id};", f"  local-as {spec.asn};"]
        lines.append(f"  peer-as {n.asn};")
        if n.local_address:
            lines.append(f"  local-address {n.local_address};")
        if n.passive:
            lines.append("  passive true;")
        if n.password:
            lines.append(f'  md5-password "{n.password}";')
        if n.hold_time is not None:
            lines.append(f"  hold-time {n.hold_time};")
        if n.ebgp_multihop:
            lines.append(f"  outgoing-ttl {n.ebgp_multihop};")
        if n.port:
            lines.append(f"  connect {n.port};")
        lines.append("  family {")
        lines += [f"    {afi} unicast;" for afi in n.afis]
        lines.append("  }")
        lines += ["  api {", "    processes [ recorder ];", "    neighbor-changes;"]
        lines += ["    receive { parsed; update; }", "  }"]
        mine = [a for a in spec.announce if f"ipv{a.prefix.version}" in n.afis]
        if mine:
            lines.append("  static {")
            lines += [f"    {_route_line(a, split)}" for a in mine]
            lines.append("  }")
        lines.append("}")
    lines += list(spec.extra)
    return "\n".join(lines) + "\n"


class ExabgpRouter:
    """exabgp in `namespace` from a `BgpSpec` (or a config text whose API process writes `received.jsonl`).

    `split` announces every `BgpSpec.announce` prefix as its /`split` host routes (ExaBGP's `split`).
    Neighbors without `local_address` get the namespace's source address towards them at `start()`.
    """

    def __init__(self, namespace: Namespace, config: str | BgpSpec, *, split: int | None = None) -> None:
        self.namespace = namespace
        self.rundir = runtime_dir(namespace, "exabgp")
        self.received_path = self.rundir / "received.jsonl"
        self.log_path = self.rundir / "exabgp.log"
        recorder_path = self.rundir / "recorder.py"
        recorder_path.write_text(_RECORDER)
        self.recorder = f"{sys.executable} {recorder_path} {self.received_path}"
        self.spec = config if isinstance(config, BgpSpec) else None
        self.split = split
        self.config = config if isinstance(config, str) else ""
        self.processes: list[Process] = []

    def environment(self) -> dict[str, str]:
        """The environment that keeps ExaBGP in the foreground, as root, with files under the runtime dir."""
        env = {
            "exabgp_daemon_user": "root",
            "exabgp_daemon_daemonize": "false",
            "exabgp_daemon_drop": "false",
            "exabgp_log_destination": str(self.log_path),
            "exabgp_api_cli": "false",
            "exabgp_api_ack": "false",
        }
        passive = [n for n in self.spec.neighbors if n.passive] if self.spec else []
        if passive:
            env["exabgp_tcp_bind"] = " ".join(str(n.local_address) for n in passive if n.local_address)
        return env

    def start(self) -> None:
        """Render and write the config, start exabgp, and wait until it has loaded the configuration."""
        if self.spec is not None:
            neighbors = tuple(
                n
                if n.local_address
                else dataclasses.replace(n, local_address=source_address(self.namespace, n.address))
                for n in self.spec.neighbors
            )
            self.spec = dataclasses.replace(self.spec, neighbors=neighbors)
            self.config = render(self.spec, recorder=self.recorder, split=self.split)
        conf = self.rundir / "exabgp.conf"
        conf.write_text(self.config)
        self.received_path.touch()
        proc = self.namespace.spawn(
            ["exabgp", str(conf)],
            name=f"{self.namespace.role}-exabgp",
            env=self.environment(),
            cwd=self.rundir,
        )
        self.processes.append(proc)

        def started() -> bool:
            ensure_alive(self.processes, "ExaBGP")
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            return "loaded new configuration successfully" in log + proc.log()

        wait_for(
            started, timeout=20, description=f"exabgp in {self.namespace.name} to load its configuration"
        )

    def stop(self) -> None:
        """Stop exabgp (and its API process, which shares its process group)."""
        for proc in self.processes:
            proc.stop()

    def messages(self) -> list[dict[str, Any]]:
        """Every JSON message ExaBGP's API process recorded so far."""
        out: list[dict[str, Any]] = []
        for raw in self.received_path.read_text(errors="replace").splitlines():
            line = raw.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line still being written
        return out

    def peer_state(self, peer: IpAddress) -> str:
        """The last neighbor state ExaBGP reported for `peer` (`up` means Established), or `idle`."""
        state = "idle"
        for msg in self.messages():
            if msg.get("type") == "state" and _peer_of(msg) == peer:
                state = str(msg["neighbor"].get("state", state))
        return state

    def established(self, peer: IpAddress) -> bool:
        """True when ExaBGP reported the session with `peer` up."""
        return self.peer_state(peer) == "up"

    def received(self, peer: IpAddress | None = None) -> dict[IpNetwork, Route]:
        """Routes announced to ExaBGP now (by `peer`, or by anyone), replaying announces and withdraws."""
        table: dict[IpNetwork, Route] = {}
        for msg in self.messages():
            if msg.get("type") != "update" or (peer is not None and _peer_of(msg) != peer):
                continue
            update = msg["neighbor"].get("message", {}).get("update", {})
            attrs = update.get("attribute", {})
            for family in update.get("withdraw", {}).values():
                for nlri in family:
                    table.pop(ipaddress.ip_network(nlri["nlri"]), None)
            for family in update.get("announce", {}).values():
                for next_hop, nlris in family.items():
                    for nlri in nlris:
                        prefix = ipaddress.ip_network(nlri["nlri"])
                        table[prefix] = _route(prefix, next_hop, attrs)
        return table

    def received_count(self, peer: IpAddress) -> int:
        """Prefixes currently announced by `peer`."""
        return len(self.received(peer))

    def rib(self, version: int = 4) -> list[Route]:
        """Routes of IP `version` received from all neighbors."""
        return [r for p, r in self.received().items() if p.version == version]


def _peer_of(msg: dict[str, Any]) -> IpAddress | None:
    try:
        return ipaddress.ip_address(msg["neighbor"]["address"]["peer"])
    except (KeyError, TypeError, ValueError):
        return None


def _route(prefix: IpNetwork, next_hop: str, attrs: dict[str, Any]) -> Route:
    return Route(
        prefix=prefix,
        next_hops=(ipaddress.ip_address(next_hop),),
        as_path=tuple(int(x) for x in attrs.get("as-path", [])),
        communities=frozenset(f"{a}:{b}" for a, b in attrs.get("community", [])),
        large_communities=frozenset(":".join(str(x) for x in c) for c in attrs.get("large-community", [])),
        local_pref=attrs.get("local-preference"),
        med=attrs.get("med"),
    )
