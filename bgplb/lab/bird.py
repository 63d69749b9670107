"""BIRD 2 in a namespace: `bird -f -c CONF -s SOCK -P PID`, queried with `birdc -s SOCK`.

`check_config` runs `bird -p -c CONF` (parse only), so a rendered bird.conf can be checked without starting
anything. BIRD has no JSON output, so `peer_state`, `received_count` and `rib` parse `show protocols all`
and `show route all`, whose layout has been stable across BIRD 2.0.x.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from bgplb.lab.daemons import (
    Announcement,
    BgpSpec,
    DaemonError,
    IpAddress,
    Route,
    ensure_alive,
    runtime_dir,
)
from bgplb.lab.netns import Namespace, Process
from bgplb.lab.wait import wait_for

_ROUTE_HEAD = re.compile(
    r"^(?P<prefix>[0-9a-fA-F.:]+/\d+)?\s+(?:unicast|blackhole|unreachable)\s+\[(?P<proto>\S+)"
)
_IMPORTED = re.compile(r"Routes:\s+(\d+) imported")


def protocol_name(address: IpAddress) -> str:
    """The BIRD protocol name used for the neighbor at `address` (`n_10_0_0_1`, `n_fd00__1`)."""
    return "n_" + re.sub(r"[.:]", "_", str(address))


def _attributes(a: Announcement) -> str:
    parts = [f"bgp_community.add(({c.replace(':', ',')}));" for c in a.communities]
    parts += [f"bgp_large_community.add(({c.replace(':', ',')}));" for c in a.large_communities]
    if a.med is not None:
        parts.append(f"bgp_med = {a.med};")
    if a.local_pref is not None:
        parts.append(f"bgp_local_pref = {a.local_pref};")
    return " { " + " ".join(parts) + " }" if parts else ""


def render(spec: BgpSpec, *, log_path: Path | None = None, kernel: bool = True) -> str:
    """A bird.conf for `spec`: static originated routes, one `bgp` protocol per neighbor, kernel export."""
    lines = [f'log "{log_path}" all;' if log_path else "log stderr all;", f"router id {spec.router_id};"]
    lines.append("protocol device { scan time 10; }")
    for afi, v in (("ipv4", 4), ("ipv6", 6)):
        if kernel:
            lines.append(f"protocol kernel k{v} {{ {afi} {{ import none; export all; }}; merge paths on; }}")
        routes = [a for a in spec.announce if a.prefix.version == v]
        if routes:
            lines.append(f"protocol static s{v} {{ {afi};")
            lines += [f"  route {a.prefix} blackhole{_attributes(a)};" for a in routes]
            lines.append("}")
    for n in spec.neighbors:
        lines.append(f"protocol bgp {protocol_name(n.address)} {{")
        local = f" {n.local_address}" if n.local_address else ""
        lines.append(f"  local{local} as {spec.asn};")
        lines.append(f"  neighbor {n.address}{f' port {n.port}' if n.port else ''} as {n.asn};")
        if n.passive:
            lines.append("  passive on;")
        if n.shutdown:
            lines.append("  disabled on;")
        if n.password:
            lines.append(f'  password "{n.password}";')
        if n.hold_time is not None:
            lines.append(f"  hold time {n.hold_time};")
        if n.ebgp_multihop:
            lines.append(f"  multihop {n.ebgp_multihop};")
        for afi in n.afis:
            lines.append(f"  {afi} {{ import all; export where source = RTS_STATIC; }};")
        lines.append("}")
    lines += list(spec.extra)
    return "\n".join(lines) + "\n"


class BirdRouter:
    """bird in `namespace`, configured from a bird.conf text or a `BgpSpec`."""

    def __init__(self, namespace: Namespace, config: str | BgpSpec, *, kernel: bool = True) -> None:
        self.namespace = namespace
        self.rundir = runtime_dir(namespace, "bird")
        self.log_path = self.rundir / "bird.log"
        self.config = (
            render(config, log_path=self.log_path, kernel=kernel) if isinstance(config, BgpSpec) else config
        )
        self.socket = self.rundir / "bird.ctl"
        self.processes: list[Process] = []

    def check_config(self, text: str | None = None) -> None:
        """Parse-check a bird.conf (`bird -p`); raise `DaemonError` with BIRD's message if it is invalid."""
        path = self.rundir / "check.conf"
        path.write_text(self.config if text is None else text)
        done = self.namespace.run(["bird", "-p", "-c", str(path)], check=False)
        if done.returncode != 0:
            raise DaemonError(f"BIRD rejected {path}: {(done.stderr + done.stdout).strip()}")

    def start(self) -> None:
        """Check the config, start bird in the foreground and wait for its control socket."""
        self.check_config()
        conf = self.rundir / "bird.conf"
        conf.write_text(self.config)
        argv = ["bird", "-f", "-c", str(conf), "-s", str(self.socket), "-P", str(self.rundir / "bird.pid")]
        self.processes.append(self.namespace.spawn(argv, name=f"{self.namespace.role}-bird"))
        wait_for(
            lambda: self.birdc("show status", check_alive=True),
            timeout=15,
            description=f"bird in {self.namespace.name} to answer on {self.socket}",
        )

    def stop(self) -> None:
        """Stop bird."""
        for proc in self.processes:
            proc.stop()

    def birdc(self, command: str, *, check_alive: bool = False) -> str:
        """Run one birdc command and return its output without the greeting line."""
        if check_alive:
            ensure_alive(self.processes, "BIRD")
        done = self.namespace.run(["birdc", "-s", str(self.socket), command], check=False, timeout=30)
        if done.returncode != 0 or "Unable to connect" in done.stdout:
            raise DaemonError(
                f"birdc {command!r} in {self.namespace.name}: {(done.stderr + done.stdout).strip()}"
            )
        lines = done.stdout.splitlines()
        return "\n".join(lines[1:] if lines and lines[0].startswith("BIRD ") else lines)

    def enable(self, peer: IpAddress) -> None:
        """Enable a neighbor that started `disabled`."""
        self.birdc(f"enable {protocol_name(peer)}")

    def protocol(self, peer: IpAddress) -> str:
        """`show protocols all <neighbor>` output."""
        return self.birdc(f"show protocols all {protocol_name(peer)}")

    def peer_state(self, peer: IpAddress) -> str:
        """BIRD's `BGP state:` for `peer` (Idle, Connect, Active, OpenSent, OpenConfirm, Established…)."""
        match = re.search(r"BGP state:\s+(\S+)", self.protocol(peer))
        return match.group(1) if match else "Down"

    def established(self, peer: IpAddress) -> bool:
        """True when the session with `peer` is Established."""
        return self.peer_state(peer) == "Established"

    def received_count(self, peer: IpAddress) -> int:
        """Routes imported from `peer`, summed over its channels."""
        return sum(int(n) for n in _IMPORTED.findall(self.protocol(peer)))

    def rib(self, version: int = 4) -> list[Route]:
        """Primary routes of `show route all` in table master4 or master6, with their BGP attributes."""
        return parse_routes(self.birdc(f"show route all table master{version}"))


def parse_routes(text: str) -> list[Route]:
    """Parse `birdc show route all`: one `Route` per prefix from its preferred (`*`) entry."""
    routes: list[Route] = []
    prefix: str | None = None
    current: dict[str, list[str]] | None = None

    def flush() -> None:
        if current is not None and prefix is not None:
            routes.append(_bird_route(prefix, current))

    for line in text.splitlines():
        head = _ROUTE_HEAD.match(line)
        if head:
            if head.group("prefix"):
                flush()
                prefix, current = head.group("prefix"), None
            elif current is not None:
                flush()
                current = None
            if "*" in line.split("]", 1)[-1][:3] and current is None:
                current = {"via": []}
            continue
        if current is None:
            continue
        stripped = line.strip()
        if stripped.startswith("via "):
            current["via"].append(stripped.split()[1])
        elif stripped.startswith("BGP.") and ":" in stripped:
            key, value = stripped.split(":", 1)
            current[key] = [value.strip()]
    flush()
    return routes


def _bird_route(prefix: str, attrs: dict[str, list[str]]) -> Route:
    def one(key: str) -> str:
        return attrs.get(key, [""])[0]

    return Route(
        prefix=ipaddress.ip_network(prefix),
        next_hops=tuple(ipaddress.ip_address(v) for v in attrs["via"]),
        as_path=tuple(int(x) for x in one("BGP.as_path").split() if x.isdigit()),
        communities=frozenset(f"{a}:{b}" for a, b in re.findall(r"\((\d+),\s*(\d+)\)", one("BGP.community"))),
        large_communities=frozenset(
            f"{a}:{b}:{c}"
            for a, b, c in re.findall(r"\((\d+),\s*(\d+),\s*(\d+)\)", one("BGP.large_community"))
        ),
        local_pref=int(one("BGP.local_pref")) if one("BGP.local_pref") else None,
        med=int(one("BGP.med")) if one("BGP.med") else None,
    )
