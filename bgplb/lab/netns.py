"""Network namespaces, veth pairs, bridges, addresses and processes that are always torn down.

A `Netkit` is a registry and a context manager: everything created through it (namespaces, and the
processes started inside them) is deleted by `close()`, which runs on leaving the `with` block (also on an
exception or KeyboardInterrupt), from an atexit hook, and from a SIGTERM handler. Names are
`<prefix>-<pid>-<counter>-<role>`, so parallel runs never collide and `cleanup_stale()` can tell a crashed
run's leftovers (dead pid) from a live run's namespaces.

The kit drives iproute2 (`ip netns`, `ip -n NS -batch -`, `ip netns exec`) rather than pyroute2: the commands
are the ones a person types to inspect the same state, `ip netns exec` also gives each process the namespace's
own /sys and /etc/netns view, and the cost (a few ms per batch) is nothing next to a daemon's start-up.
Veth ends are created directly inside their namespaces, so nothing ever appears in the root namespace.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from bgplb.lab.cleanup import (
    cleanup_stale,
    close_all,
    delete_namespace,
    list_namespaces,
    register,
    unregister,
)
from bgplb.lab.process import NetnsError, Process, run_command

__all__ = [
    "Bridge",
    "Interface",
    "Link",
    "Namespace",
    "Netkit",
    "NetnsError",
    "Process",
    "cleanup_stale",
    "close_all",
    "list_namespaces",
]

IpInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
Address = IpInterface | str

_IFNAMSIZ = 15
_COUNTER = itertools.count(1)
_ROLE = re.compile(r"^[a-z0-9][a-z0-9-]{0,20}$")

# An ICMP echo with an unprivileged ping socket (no ping binary needed); prints the round trip in seconds.
_PING = """
import socket, sys, time
addr, timeout = sys.argv[1], float(sys.argv[2])
v6 = ":" in addr
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM,
                  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
s.settimeout(timeout)
start = time.monotonic()
s.sendto(bytes([128 if v6 else 8, 0, 0, 0, 0, 0, 0, 1]) + b"bgplb", (addr, 0))
reply = s.recv(2048)
assert reply[0] == (129 if v6 else 0), reply
print(time.monotonic() - start)
"""


def _ip_interface(value: Address) -> IpInterface:
    try:
        return ipaddress.ip_interface(value)
    except ValueError as exc:
        raise NetnsError(f"address {value!r}: not an IP interface like 10.0.0.1/24 or fd00::1/64") from exc


@dataclass(frozen=True, slots=True)
class Interface:
    """One interface inside one namespace with the addresses the kit gave it."""

    namespace: str
    name: str
    addresses: tuple[IpInterface, ...]

    def address(self, version: int = 4) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        """The first configured address of IP `version` (4 or 6)."""
        for iface in self.addresses:
            if iface.version == version:
                return iface.ip
        raise NetnsError(f"interface {self.name} in {self.namespace}: no IPv{version} address")


@dataclass(frozen=True, slots=True)
class Link:
    """A veth pair: `a` in one namespace, `b` in the other."""

    a: Interface
    b: Interface


class Namespace:
    """A network namespace created by a `Netkit`; run commands and start processes inside it."""

    def __init__(self, kit: Netkit, name: str, role: str) -> None:
        self.kit = kit
        self.name = name
        self.role = role
        self.ifnames: set[str] = {"lo"}

    def __repr__(self) -> str:
        return f"Namespace({self.name!r})"

    def run(
        self, argv: Sequence[str], *, timeout: float = 10.0, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `argv` inside the namespace and return its completed process (raise on failure if `check`)."""
        return run_command(
            ["ip", "netns", "exec", self.name, *argv], timeout=timeout, check=check, stdin=stdin
        )

    def run_json(self, argv: Sequence[str], *, timeout: float = 10.0) -> object:
        """Run `argv` inside the namespace and parse its standard output as JSON."""
        out = self.run(argv, timeout=timeout).stdout
        try:
            return json.loads(out)
        except json.JSONDecodeError as exc:
            raise NetnsError(f"{' '.join(argv)} in {self.name}: not JSON: {out[:300]!r}") from exc

    def ip(self, *commands: str, timeout: float = 10.0) -> None:
        """Apply iproute2 commands (`"link set eth0 up"`, …) to this namespace in one `ip -batch` call."""
        if commands:
            run_command(
                ["ip", "-n", self.name, "-batch", "-"],
                timeout=timeout,
                check=True,
                stdin="\n".join(commands) + "\n",
            )

    def add_addresses(self, ifname: str, addresses: Iterable[Address]) -> tuple[IpInterface, ...]:
        """Bring `ifname` up and add addresses (IPv6 with `nodad`, usable at once)."""
        parsed = tuple(_ip_interface(a) for a in addresses)
        cmds = [f"link set {ifname} up"]
        cmds += [
            f"addr add {a.with_prefixlen} dev {ifname}" + (" nodad" if a.version == 6 else "") for a in parsed
        ]
        self.ip(*cmds)
        return parsed

    def ping(
        self, address: ipaddress.IPv4Address | ipaddress.IPv6Address | str, timeout: float = 1.0
    ) -> float:
        """Send one ICMP echo from this namespace; return the round-trip seconds or raise `NetnsError`."""
        target = ipaddress.ip_address(address)
        done = self.run(
            [sys.executable, "-c", _PING, str(target), str(timeout)], timeout=timeout + 5, check=False
        )
        if done.returncode != 0:
            raise NetnsError(f"ping {target} from {self.name}: no reply within {timeout}s")
        return float(done.stdout)

    def sysctl(self, settings: Mapping[str, str | int]) -> None:
        """Set sysctls inside the namespace (only `net.*` keys are per namespace)."""
        args = [f"{key}={value}" for key, value in settings.items()]
        self.run(["sysctl", "-q", "-w", *args])

    def routes(self, version: int = 4) -> list[dict[str, object]]:
        """The main routing table as iproute2 JSON (`ip -j route show`), e.g. to check ECMP nexthops."""
        data = self.run_json(["ip", f"-{version}", "-j", "route", "show"])
        if not isinstance(data, list):
            raise NetnsError(f"ip -j route in {self.name}: expected a list")
        return [r for r in data if isinstance(r, dict)]

    def spawn(
        self, argv: Sequence[str], *, name: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> Process:
        """Start a long-running process inside this namespace (see `Netkit.spawn`)."""
        return self.kit.spawn(self, argv, name=name, env=env, cwd=cwd)

    def unique_ifname(self, wanted: str) -> str:
        """`wanted` cut to 15 characters, with a numeric suffix if already taken in this namespace."""
        base = wanted[:_IFNAMSIZ]
        candidate = base
        for n in itertools.count(1):
            if candidate not in self.ifnames:
                break
            suffix = str(n)
            candidate = base[: _IFNAMSIZ - len(suffix)] + suffix
        self.ifnames.add(candidate)
        return candidate


class Bridge:
    """A LAN: a Linux bridge `br0` alone in its own namespace; `attach` plugs a namespace into it."""

    def __init__(self, namespace: Namespace) -> None:
        self.namespace = namespace
        self.members: list[Interface] = []

    def attach(self, ns: Namespace, addresses: Iterable[Address] = (), ifname: str = "eth0") -> Interface:
        """Connect `ns` to the bridge with a veth pair; `ifname` (inside `ns`) gets `addresses`."""
        inner = ns.unique_ifname(ifname)
        port = self.namespace.unique_ifname(f"p-{ns.role}")
        self.namespace.kit.create_veth(ns, inner, self.namespace, port)
        self.namespace.ip(f"link set {port} master br0", f"link set {port} up")
        iface = Interface(ns.name, inner, ns.add_addresses(inner, addresses))
        self.members.append(iface)
        return iface


class Netkit:
    """Registry of namespaces and processes, torn down by `close()`; use it as a context manager.

    `prefix` starts every namespace name (`cleanup_stale(prefix)` removes a crashed run's leftovers);
    `workdir` receives the process logs and daemon runtime dirs (a fresh temporary dir if not given,
    removed on close unless `keep_workdir`).
    """

    def __init__(
        self, prefix: str = "bgplb", workdir: Path | None = None, *, keep_workdir: bool = False
    ) -> None:
        if not _ROLE.match(prefix):
            raise NetnsError(f"prefix {prefix!r}: use lower-case letters, digits and '-'")
        self.prefix = prefix
        self._own_workdir = workdir is None
        self.keep_workdir = keep_workdir or workdir is not None
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-")) if workdir is None else workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.namespaces: list[Namespace] = []
        self.processes: list[Process] = []
        self._closed = False
        register(self)

    def __enter__(self) -> Netkit:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def namespace(self, role: str, *, forwarding: bool = False) -> Namespace:
        """Create a namespace named `<prefix>-<pid>-<n>-<role>` with `lo` up and IPv6 DAD off."""
        if self._closed:
            raise NetnsError("this Netkit is closed")
        if not _ROLE.match(role):
            raise NetnsError(f"namespace role {role!r}: use 1-21 lower-case letters, digits and '-'")
        ns = Namespace(self, f"{self.prefix}-{os.getpid()}-{next(_COUNTER)}-{role}", role)
        run_command(["ip", "netns", "add", ns.name], timeout=10, check=True)
        self.namespaces.append(ns)
        ns.ip("link set lo up")
        flag = 1 if forwarding else 0
        ns.sysctl(
            {
                "net.ipv6.conf.all.accept_dad": 0,
                "net.ipv6.conf.default.accept_dad": 0,
                "net.ipv4.ip_forward": flag,
                "net.ipv6.conf.all.forwarding": flag,
                "net.ipv4.ping_group_range": "0 2147483647",
            }
        )
        return ns

    def create_veth(self, a: Namespace, a_name: str, b: Namespace, b_name: str) -> None:
        """Create a veth pair whose ends are born inside `a` and `b` (nothing touches the root namespace)."""
        cmd = ["ip", "link", "add", "name", a_name, "netns", a.name, "type", "veth", "peer", "name", b_name]
        run_command([*cmd, "netns", b.name], timeout=10, check=True)

    def veth(
        self,
        a: Namespace,
        b: Namespace,
        a_addresses: Iterable[Address] = (),
        b_addresses: Iterable[Address] = (),
        *,
        a_name: str | None = None,
        b_name: str | None = None,
    ) -> Link:
        """Connect two namespaces with a veth pair, bring both ends up and add their addresses."""
        a_if = a.unique_ifname(a_name or f"to-{b.role}")
        b_if = b.unique_ifname(b_name or f"to-{a.role}")
        self.create_veth(a, a_if, b, b_if)
        return Link(
            Interface(a.name, a_if, a.add_addresses(a_if, a_addresses)),
            Interface(b.name, b_if, b.add_addresses(b_if, b_addresses)),
        )

    def bridge(self, role: str = "lan") -> Bridge:
        """Create a namespace holding bridge `br0` (no STP, no multicast snooping); attach members to it."""
        ns = self.namespace(role)
        ns.ip("link add br0 type bridge stp_state 0 mcast_snooping 0", "link set br0 up")
        return Bridge(ns)

    def spawn(
        self,
        ns: Namespace,
        argv: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Process:
        """Start `argv` in `ns` as a new process group; stdout and stderr go to `<workdir>/<name>.log`."""
        if self._closed:
            raise NetnsError("this Netkit is closed")
        log_path = self.workdir / f"{name}.log"
        full_env = {**os.environ, **(env or {})}
        with log_path.open("ab") as log:
            try:
                popen = subprocess.Popen(
                    ["ip", "netns", "exec", ns.name, *argv],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=full_env,
                    cwd=cwd,
                    start_new_session=True,
                )
            except OSError as exc:
                raise NetnsError(f"{name}: cannot start {argv[0]}: {exc}") from exc
        proc = Process(name, ns.name, tuple(argv), log_path, popen)
        self.processes.append(proc)
        return proc

    def close(self, timeout: float = 5.0) -> None:
        """Stop every process (TERM, then KILL after `timeout`), delete every namespace; idempotent."""
        if self._closed:
            return
        self._closed = True
        errors: list[str] = []
        for proc in reversed(self.processes):
            try:
                proc.stop(timeout)
            except (OSError, subprocess.TimeoutExpired) as exc:
                errors.append(f"{proc.name}: {exc}")
        for ns in reversed(self.namespaces):
            try:
                delete_namespace(ns.name)
            except NetnsError as exc:
                errors.append(str(exc))
        if self._own_workdir and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        unregister(self)
        if errors:
            raise NetnsError("teardown incomplete: " + "; ".join(errors))
