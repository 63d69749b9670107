"""FRR 8.4 (zebra + bgpd, optionally staticd) in a namespace, configured through vtysh, queried as JSON.

The daemons are started straight from /usr/lib/frr in the foreground as root with the `frrvty` group (FRR's
privilege check wants its vty group; `-u root -g frrvty` satisfies it without touching /etc/group), with every
path explicit: `--vty_socket` (the runtime dir), `-z` (zebra's API socket), `-i` (pid file), `-f` (an empty
startup file) and `-P 0` (no TCP vty). The configuration is then applied with `vtysh -f`, which dispatches
each line to the right daemon and reports rejected lines, so `apply_config` doubles as an acceptance check
of a rendered frr.conf. zebra installs BGP routes into the namespace's kernel table (`kernel_routes`).
Show commands go through `vtysh`, or, when speed matters (the benchmark polls bgpd every few ms), straight
to a daemon's vty socket with `Vty` (tens of microseconds instead of tens of milliseconds per query).
"""

from __future__ import annotations

import ipaddress
import json
import socket
from pathlib import Path
from typing import Any

from bgplb.lab.daemons import (
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

FRR_DIR = Path("/usr/lib/frr")


def render(spec: BgpSpec) -> str:
    """An frr.conf for `spec`: eBGP without mandatory policy, ECMP, per-family activation and networks."""
    lines = ["frr defaults traditional", f"hostname {spec.hostname}", "!", f"router bgp {spec.asn}"]
    lines += [
        f" bgp router-id {spec.router_id}",
        " no bgp ebgp-requires-policy",
        " no bgp default ipv4-unicast",
        " no bgp network import-check",
    ]
    lines += [" bgp bestpath as-path multipath-relax"]
    for n in spec.neighbors:
        lines.append(f" neighbor {n.address} remote-as {n.asn}")
        if n.passive:
            lines.append(f" neighbor {n.address} passive")
        if n.shutdown:
            lines.append(f" neighbor {n.address} shutdown")
        if n.password:
            lines.append(f" neighbor {n.address} password {n.password}")
        if n.hold_time is not None:
            lines.append(f" neighbor {n.address} timers {n.hold_time // 3} {n.hold_time}")
        if n.ebgp_multihop:
            lines.append(f" neighbor {n.address} ebgp-multihop {n.ebgp_multihop}")
        if n.port:
            lines.append(f" neighbor {n.address} port {n.port}")
        if n.local_address:
            lines.append(f" neighbor {n.address} update-source {n.local_address}")
    lines += [f" {line}" for line in spec.extra]
    for afi in ("ipv4", "ipv6"):
        members = [n for n in spec.neighbors if afi in n.afis]
        nets = [a for a in spec.announce if family_of(a.prefix) == afi]
        if not members and not nets:
            continue
        lines.append(f" address-family {afi} unicast")
        lines += [f"  network {a.prefix}" for a in nets]
        lines.append(f"  maximum-paths {spec.ecmp}")
        lines += [f"  neighbor {n.address} activate" for n in members]
        lines.append(" exit-address-family")
    lines += ["exit", "!", "end", ""]
    return "\n".join(lines)


class Vty:
    """A persistent connection to one FRR daemon's vty socket (the protocol vtysh speaks).

    A command is sent NUL-terminated; the daemon answers with the output followed by three NUL bytes
    and a status byte (0 = success). The socket is reachable from the root namespace (it is a file).
    """

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))

    def command(self, text: str) -> str:
        """Run one command and return its output; `DaemonError` if the daemon reports a failure."""
        self.sock.sendall(text.encode() + b"\0")
        buf = bytearray()
        while len(buf) < 4 or buf[-4:-1] != b"\0\0\0":
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise DaemonError(f"{self.path}: closed during {text!r}")
            buf += chunk
        out = buf[:-4].decode(errors="replace")
        if buf[-1] != 0:
            raise DaemonError(f"{self.path}: {text!r} failed ({buf[-1]}): {out.strip()}")
        return out

    def json(self, text: str) -> dict[str, Any]:
        """Run one `... json` command and parse the answer."""
        data = json.loads(self.command(text))
        if not isinstance(data, dict):
            raise DaemonError(f"{self.path}: {text!r}: expected a JSON object")
        return data

    def close(self) -> None:
        """Close the connection."""
        self.sock.close()


class FrrRouter:
    """zebra + bgpd (+ staticd) in `namespace`; `config` (an frr.conf text) is applied at start.

    `kernel=False` runs bgpd with `-n` (routes stay out of the kernel table).
    """

    def __init__(
        self,
        namespace: Namespace,
        config: str | BgpSpec | None = None,
        *,
        staticd: bool = False,
        kernel: bool = True,
        bgp_port: int = 179,
    ) -> None:
        self.namespace = namespace
        self.config = render(config) if isinstance(config, BgpSpec) else config
        self.staticd = staticd
        self.kernel = kernel
        self.bgp_port = config.listen_port if isinstance(config, BgpSpec) else bgp_port
        self.rundir = runtime_dir(namespace, "frr")
        self.processes: list[Process] = []
        self.bgpd: Process | None = None

    def _start_daemon(self, daemon: str, *extra: str) -> Process:
        r = self.rundir
        argv = [str(FRR_DIR / daemon), "-u", "root", "-g", "frrvty", "-P", "0", "--vty_socket", str(r)]
        argv += ["-z", str(r / "zserv.api"), "-i", str(r / f"{daemon}.pid"), "-f", str(r / "empty.conf")]
        argv += ["--log", f"file:{r / daemon}.log", "--limit-fds", "1024", *extra]
        proc = self.namespace.spawn(argv, name=f"{self.namespace.role}-{daemon}")
        self.processes.append(proc)

        def vty_ready() -> bool:
            ensure_alive([proc], "FRR")
            return (r / f"{daemon}.vty").exists()

        wait_for(
            vty_ready,
            timeout=15,
            description=f"FRR {daemon} in {self.namespace.name} to open its vty socket",
        )
        return proc

    def start(self) -> None:
        """Start zebra, bgpd (and staticd), then apply the configuration; `DaemonError` if it is rejected."""
        (self.rundir / "empty.conf").write_text("")
        (self.rundir / "vtysh.conf").write_text("")
        self._start_daemon("zebra")
        bgp_args = ["-p", str(self.bgp_port)] + ([] if self.kernel else ["-n"])
        self.bgpd = self._start_daemon("bgpd", *bgp_args)
        if self.staticd:
            self._start_daemon("staticd")
        if self.config:
            self.apply_config(self.config)

    def stop(self) -> None:
        """Stop the FRR daemons (bgpd first)."""
        for proc in reversed(self.processes):
            proc.stop()

    def vtysh(self, *commands: str, timeout: float = 20.0) -> str:
        """Run vtysh commands (`-c` each) against this instance and return the output."""
        argv = ["vtysh", "--vty_socket", str(self.rundir), "--config_dir", str(self.rundir)]
        for cmd in commands:
            argv += ["-c", cmd]
        done = self.namespace.run(argv, timeout=timeout, check=False)
        if done.returncode != 0:
            ensure_alive(self.processes, "FRR")
            raise DaemonError(
                f"vtysh {commands!r} in {self.namespace.name}: {(done.stderr or done.stdout).strip()}"
            )
        return done.stdout

    def vty(self, daemon: str = "bgpd") -> Vty:
        """A direct, persistent vty connection to one daemon (fast show commands; close it when done)."""
        return Vty(self.rundir / f"{daemon}.vty")

    def vtysh_json(self, command: str, timeout: float = 20.0) -> dict[str, Any]:
        """Run one `... json` show command and parse it."""
        out = self.vtysh(command, timeout=timeout)
        try:
            data = json.loads(out)
        except json.JSONDecodeError as exc:
            raise DaemonError(f"vtysh {command!r}: not JSON: {out[:300]!r}") from exc
        if not isinstance(data, dict):
            raise DaemonError(f"vtysh {command!r}: expected an object")
        return data

    def check_config(self, text: str) -> None:
        """Dry-run an frr.conf text (`vtysh -C -f`, needs no daemon); `DaemonError` lists rejected lines."""
        path = self.rundir / "check.conf"
        path.write_text(text)
        (self.rundir / "vtysh.conf").touch()
        argv = ["vtysh", "--config_dir", str(self.rundir), "-C", "-f", str(path)]
        done = self.namespace.run(argv, timeout=30, check=False)
        if done.returncode != 0:
            raise DaemonError(f"FRR rejects {path}:\n{(done.stderr + done.stdout).strip()}")

    def apply_config(self, text: str) -> None:
        """Apply an frr.conf text with `vtysh -f`; raise `DaemonError` listing every rejected line."""
        path = self.rundir / "frr.conf"
        path.write_text(text)
        argv = ["vtysh", "--vty_socket", str(self.rundir), "--config_dir", str(self.rundir), "-f", str(path)]
        done = self.namespace.run(argv, timeout=30, check=False)
        if done.returncode != 0:
            raise DaemonError(
                f"FRR in {self.namespace.name} rejected {path}:\n{(done.stderr + done.stdout).strip()}"
            )

    def neighbors(self) -> dict[str, Any]:
        """`show bgp neighbors json`: per-neighbor details keyed by address."""
        return self.vtysh_json("show bgp neighbors json")

    def summary(self) -> dict[str, Any]:
        """`show bgp summary json`, keyed by family (`ipv4Unicast`, `ipv6Unicast`)."""
        return self.vtysh_json("show bgp summary json")

    def _neighbor(self, peer: IpAddress) -> dict[str, Any]:
        data = self.vtysh_json(f"show bgp neighbors {peer} json").get(str(peer))
        if not isinstance(data, dict):
            raise DaemonError(f"FRR in {self.namespace.name}: no neighbor {peer}")
        return data

    def peer_state(self, peer: IpAddress) -> str:
        """FRR's `bgpState` for `peer` (Idle, Connect, Active, OpenSent, OpenConfirm, Established)."""
        return str(self._neighbor(peer).get("bgpState", "unknown"))

    def established(self, peer: IpAddress) -> bool:
        """True when the session with `peer` is Established."""
        return self.peer_state(peer) == "Established"

    def received_count(self, peer: IpAddress) -> int:
        """Prefixes accepted from `peer`, summed over families (`acceptedPrefixCounter`)."""
        families = self._neighbor(peer).get("addressFamilyInfo", {})
        return sum(int(af.get("acceptedPrefixCounter", 0)) for af in families.values())

    def prefixes(self, version: int = 4) -> set[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """Prefixes in the BGP table (`show bgp ipv4|ipv6 unicast json`); cheap enough for big tables."""
        afi = "ipv4" if version == 4 else "ipv6"
        routes = self.vtysh_json(f"show bgp {afi} unicast json", timeout=120).get("routes", {})
        return {ipaddress.ip_network(p) for p in routes} if isinstance(routes, dict) else set()

    def rib(self, version: int = 4) -> list[Route]:
        """Best (and ECMP multipath) routes with their attributes, from one detailed query per prefix."""
        afi = "ipv4" if version == 4 else "ipv6"
        prefixes = sorted(self.prefixes(version), key=str)
        if not prefixes:
            return []
        out = self.vtysh(*(f"show bgp {afi} unicast {p} json" for p in prefixes), timeout=60)
        decoder = json.JSONDecoder()
        routes: list[Route] = []
        pos = 0
        while (pos := _skip_space(out, pos)) < len(out):
            detail, pos = decoder.raw_decode(out, pos)
            paths = [
                p
                for p in detail.get("paths", [])
                if p.get("bestpath", {}).get("overall") or p.get("multipath")
            ]
            if paths:
                routes.append(_frr_route(detail["prefix"], paths))
        return routes

    def kernel_routes(
        self, version: int = 4
    ) -> dict[ipaddress.IPv4Network | ipaddress.IPv6Network, list[str]]:
        """Kernel routes installed by zebra from BGP: prefix -> gateways (several for ECMP)."""
        table: dict[ipaddress.IPv4Network | ipaddress.IPv6Network, list[str]] = {}
        for r in self.namespace.routes(version):
            if r.get("protocol") != "bgp":
                continue
            dst = str(r.get("dst"))
            prefix = ipaddress.ip_network(dst if "/" in dst else f"{dst}/{32 if version == 4 else 128}")
            hops = r.get("nexthops")
            gateways = (
                [str(h["gateway"]) for h in hops if isinstance(h, dict)] if isinstance(hops, list) else []
            )
            table[prefix] = gateways or [str(r.get("gateway"))]
        return table


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _frr_route(prefix: str, paths: list[dict[str, Any]]) -> Route:
    best = paths[0]
    hops: list[IpAddress] = []
    for path in paths:
        for hop in path.get("nexthops", []):
            if hop.get("scope", "global") == "global" and "ip" in hop:
                hops.append(ipaddress.ip_address(hop["ip"]))
    return Route(
        prefix=ipaddress.ip_network(prefix),
        next_hops=tuple(dict.fromkeys(hops)),
        as_path=tuple(int(x) for x in str(best.get("aspath", {}).get("string", "")).split() if x.isdigit()),
        communities=frozenset(best.get("community", {}).get("list", [])),
        large_communities=frozenset(best.get("largeCommunity", {}).get("list", [])),
        local_pref=best.get("locPrf"),
        med=best.get("metric"),
    )
