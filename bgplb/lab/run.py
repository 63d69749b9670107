"""The lab: a real FRR router, N nodes running `bgplb run`, a client, in network namespaces on this machine.

```
   client ──── router (FRR: zebra + bgpd, AS 64500, ECMP, L4 hashing) ──── LAN (bridge)
                                                                    ├── node1: bgplb run + backend
                                                                    ├── node2: bgplb run + backend
                                                                    └── node3: bgplb run + backend
```

Design: `build` creates everything through a caller's `Netkit` (`topology` gives the data) and returns a
`LiveLab`; the benchmark uses it directly and the kit tears it down. `up` builds into a kit, waits until the
router's kernel has the example Services' ECMP routes, records the lab (`state`) and detaches the kit, so
the namespaces and daemons outlive the command; on any failure or Ctrl-C before that, the kit removes
everything. `down` (another invocation) stops the processes of every recorded namespace, SIGTERM first so
the speakers send Cease, then deletes the namespaces. `start_node`/`start_backend` restart a node's
processes detached (the e2e tests stop and restart speakers). What the lab shows lives in `observe`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from bgplb.errors import BgplbError
from bgplb.lab import state
from bgplb.lab.cleanup import delete_namespace, list_namespaces, unregister
from bgplb.lab.frr import FrrRouter
from bgplb.lab.netns import Bridge, Namespace, Netkit
from bgplb.lab.observe import gateways
from bgplb.lab.process import run_command
from bgplb.lab.state import LabRecord, NodeRecord
from bgplb.lab.topology import (
    CLIENT_NET,
    CLIENT_NET6,
    LAN,
    LAN6,
    POOL,
    POOL6,
    SERVICES,
    LabSpec,
    example_files,
    router_plan,
)
from bgplb.lab.wait import FatalProbeError, wait_for
from bgplb.routers import frr as frr_renderer
from bgplb.routers.plan import IPAddress

LAB_PREFIX = "bgplb-lab"
WORK = "work"
Say = Callable[[str], None]

ROOT_NEEDED = (
    "bgplb lab needs root: it creates network namespaces, veth pairs and a bridge, and FRR's zebra programs "
    "the routing table of the router's namespace. Nothing is changed outside those namespaces. "
    "Run it as root, e.g. `sudo make lab` or `sudo .venv/bin/bgplb lab up`."
)


class LabError(BgplbError):
    """The lab cannot be built, found or driven; the message says why and what to do."""


@dataclass(slots=True)
class LiveLab:
    """A lab held by this process: its kit, namespaces, FRR router and record."""

    kit: Netkit
    spec: LabSpec
    lan: Bridge
    router: Namespace
    frr: FrrRouter
    client: Namespace
    nodes: dict[str, Namespace]
    record: LabRecord


def require_root() -> None:
    """`LabError` explaining why root is needed, for a non-root user."""
    if os.geteuid() != 0:
        raise LabError(ROOT_NEEDED)


def run_argv(record: LabRecord, node: NodeRecord) -> list[str]:
    """The `bgplb run` command line of `node`."""
    argv = [sys.executable, "-m", "bgplb", "run", "--config", record.config_dir, "--node", node.name]
    return [*argv, "--state-file", node.state_file, "--log-level", "info"]


def backend_argv(node: str) -> list[str]:
    """The HTTP backend's command line on `node`."""
    return [sys.executable, "-m", "bgplb.lab.backend", node]


def write_config(directory: Path, spec: LabSpec) -> None:
    """Write the example configuration directory (see `topology.example_files`)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, documents in example_files(spec).items():
        (directory / name).write_text(yaml.safe_dump_all(documents, sort_keys=False))


def _with_lengths(addresses: Sequence[IPAddress]) -> list[str]:
    return [f"{a}/{24 if a.version == 4 else 64}" for a in addresses]


def build(kit: Netkit, spec: LabSpec, say: Say = print) -> LiveLab:
    """Create the lab's namespaces, links, FRR router, nodes (backend + `bgplb run`) and client in `kit`."""
    config_dir = kit.workdir / "config"
    write_config(config_dir, spec)
    lan = kit.bridge("lan")
    router = kit.namespace("router", forwarding=True)
    router.sysctl({"net.ipv4.fib_multipath_hash_policy": 1, "net.ipv6.fib_multipath_hash_policy": 1})
    lan.attach(router, _with_lengths(spec.router_addresses))
    client = kit.namespace("client")
    router_side, client_side = spec.client_link
    kit.veth(router, client, router_side, client_side, a_name="to-client", b_name="eth0")
    client.ip(
        f"route add default via {CLIENT_NET[1]}",
        *([f"route add default via {CLIENT_NET6[1]}"] if spec.ipv6 else []),
    )
    plan_text = frr_renderer.render(router_plan(spec))
    say(
        f"router {router.name}: FRR (zebra + bgpd) AS 64500, frr.conf from bgplb's renderer "
        f"({len(plan_text.splitlines())} lines)"
    )
    frr = FrrRouter(router, plan_text)
    frr.start()
    # bgpd refuses connections from a neighbor still Idle after configuration; the nodes would back off
    wait_for(
        lambda: {str(n.get("bgpState")) for n in frr.neighbors().values() if isinstance(n, dict)},
        ready=lambda states: bool(states) and states <= {"Connect", "Active"},
        timeout=15,
        description="FRR's neighbors to leave Idle",
    )
    nodes: dict[str, Namespace] = {}
    records: list[NodeRecord] = []
    for name in spec.node_names:
        ns = kit.namespace(name)
        addresses = spec.node_addresses(name)
        lan.attach(ns, _with_lengths(addresses))
        routes = [f"route add default via {LAN[1]}", f"route add local {POOL} dev lo"]
        if spec.ipv6:
            routes += [f"route add default via {LAN6[1]}", f"route add local {POOL6} dev lo"]
        ns.ip(*routes)
        nodes[name] = ns
        backend = ns.spawn(backend_argv(name), name=f"{name}-backend")
        node = NodeRecord(
            name, ns.name, tuple(map(str, addresses)), str(kit.workdir / f"{name}.state.json"), 0, backend.pid
        )
        records.append(node)
    record = LabRecord(
        directory=str(kit.workdir),
        config_dir=str(config_dir),
        router_namespace=router.name,
        router_rundir=str(frr.rundir),
        client_namespace=client.name,
        namespaces=tuple(ns.name for ns in kit.namespaces),
        nodes=tuple(records),
        services={s.name: tuple(map(str, spec.service_ips(s))) for s in SERVICES},
        ipv6=spec.ipv6,
        hold_time=spec.hold_time,
    )
    for node in records:
        run = nodes[node.name].spawn(run_argv(record, node), name=f"{node.name}-bgplb-run")
        record = record.with_node(replace(node, run_pid=run.pid))
    say(f"nodes {', '.join(spec.node_names)}: bgplb run (AS 64501) + HTTP backend; client {client.name}")
    return LiveLab(kit, spec, lan, router, frr, client, nodes, record)


def wait_ready(lab: LiveLab, timeout: float = 60.0) -> float:
    """Wait until every example Service is in the router's kernel table with its expected next hops."""
    started = time.monotonic()
    expected = expected_gateways(lab.record)

    def probe() -> dict[str, list[str]]:
        for proc in lab.kit.processes:
            if not proc.alive():
                raise FatalProbeError(f"{proc.name} exited:\n{proc.log()[-1500:]}")
        return {ip: gateways(lab.record, ip) for ip in expected}

    wait_for(
        probe,
        ready=lambda seen: seen == expected,
        timeout=timeout,
        interval=0.1,
        description="the example Services' routes in the router's kernel table",
    )
    return time.monotonic() - started


def expected_gateways(record: LabRecord) -> dict[str, list[str]]:
    """Service IP -> sorted next hops a healthy lab shows (every node for web, node1 for local)."""
    out: dict[str, list[str]] = {}
    for service in SERVICES:
        for ip in record.services[service.name]:
            version = 6 if ":" in ip else 4
            nodes = [service.local_node] if service.local_node else [n.name for n in record.nodes]
            out[ip] = sorted(_address(record.node(n), version) for n in nodes)
    return out


def _address(node: NodeRecord, version: int) -> str:
    return next(a for a in node.addresses if (":" in a) == (version == 6))


def up(spec: LabSpec, directory: Path, say: Say = print) -> LabRecord:
    """Build the lab, wait for its routes, record it and leave it running; remove it all on failure."""
    require_root()
    if state.exists(directory):
        record = state.load(directory)
        if set(record.namespaces) & set(list_namespaces()):
            raise LabError(f"the lab is already up (recorded in {directory}); see: bgplb lab status")
        say(f"forgetting a lab whose namespaces are gone ({directory})")
        state.forget(directory)
    work = directory / WORK
    shutil.rmtree(work, ignore_errors=True)
    kit = Netkit(LAB_PREFIX, work)
    try:
        lab = build(kit, spec, say)
        seconds = wait_ready(lab)
        say(
            f"the example Services' routes are in the router's kernel table "
            f"({seconds:.1f}s after the nodes started)"
        )
        state.save(lab.record, directory)
    except BaseException:
        kit.close()
        say(f"lab torn down; its logs stay in {work} until the next `bgplb lab up`")
        raise
    unregister(kit)  # detach: the namespaces and daemons outlive this command
    return lab.record


def down(directory: Path, say: Say = print) -> bool:
    """Stop and delete everything the recorded lab created; False when no lab is recorded here."""
    require_root()
    if not state.exists(directory):
        return False
    record = state.load(directory)
    present = set(list_namespaces())
    namespaces = [ns for ns in record.namespaces if ns in present]
    for ns in namespaces:  # SIGTERM first: speakers send Cease, FRR exits cleanly
        for pid in _pids(ns):
            _kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_pids(ns) for ns in namespaces):
        time.sleep(0.05)
    for ns in reversed(namespaces):
        delete_namespace(ns)
    state.forget(directory)
    shutil.rmtree(Path(record.directory), ignore_errors=True)
    say(f"lab down: {len(namespaces)} namespaces removed")
    return True


def _pids(namespace: str) -> list[int]:
    out = run_command(["ip", "netns", "pids", namespace], timeout=10, check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def _kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _spawn_detached(namespace: str, argv: Sequence[str], log: Path) -> int:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", namespace, *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc.pid


def signal_node(record: LabRecord, node: str, sig: int) -> None:
    """Send `sig` to the `bgplb run` of `node`."""
    _kill(record.node(node).run_pid, sig)


def start_node(record: LabRecord, directory: Path, node: str) -> LabRecord:
    """Start `bgplb run` on `node` again (after it was stopped); the record is updated and saved."""
    current = record.node(node)
    pid = _spawn_detached(current.namespace, run_argv(record, current), record.log(f"{node}-bgplb-run"))
    updated = record.with_node(replace(current, run_pid=pid))
    state.save(updated, directory)
    return updated


def stop_backend(record: LabRecord, node: str) -> None:
    """Stop the HTTP backend of `node` (its health check then fails)."""
    _kill(record.node(node).backend_pid, signal.SIGTERM)


def start_backend(record: LabRecord, directory: Path, node: str) -> LabRecord:
    """Start the HTTP backend of `node` again; the record is updated and saved."""
    current = record.node(node)
    pid = _spawn_detached(current.namespace, backend_argv(node), record.log(f"{node}-backend"))
    updated = record.with_node(replace(current, backend_pid=pid))
    state.save(updated, directory)
    return updated
