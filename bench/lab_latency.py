"""Lab latency: file change -> route in the router's kernel table, and SIGTERM -> next hop gone.

Run as root: `.venv/bin/python bench/lab_latency.py [--nodes 3] [--services 100] [--sigterm 5] [--no-phases]`.

It builds the lab (`bgplb.lab.run.build`: FRR router, N nodes running `bgplb run` on one shared config
directory) and measures, in one run:

1. bgplb: N Services added one by one (a file renamed into the config dir); for each, the time from the
   rename to the Service's /32 in the router's kernel table (first next hop), and to all N next hops (ECMP
   complete; every node reads the change, plans, sends its UPDATE, and FRR/zebra merge the paths).
2. FRR's own processing: a GoBGP sender (gobgpd in a namespace on the same LAN, a neighbor of the router
   in the nodes' peer group) originates as many /32s one by one; the time from `gobgp global rib add`
   returning (the path is in GoBGP's RIB) to the route in the kernel is what any speaker costs: GoBGP's
   send + bgpd + zebra + kernel. bgplb's own share is the difference.
3. SIGTERM of one node's `bgplb run` -> its next hop gone from the router's kernel table (Cease), repeated.
4. Where a node's share goes (`--phases`, before the lab): the same Services added one by one to a copy of
   the lab's directory in this process, each phase of one node's pass timed on its own: the notification
   (rename -> `FileSource.watch` calls back: inotify, quiet step, fingerprint), reload, allocate, publish,
   plan (`local_view` + `announce`), the Adj-RIB-Out diff of `set_routes`, and the state-file write (which
   runs after the speaker's pass, off the path to the router).

The kernel table is read in-process over netlink (pyroute2, a socket opened inside the router namespace,
`ip route get fibmatch`, ~0.25 ms per query), every millisecond while waiting. Goals (issue 5): p99 of (1)
under 50 ms plus FRR's own p99; SIGTERM -> next hop gone under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netns import popns, pushns

from bgplb.adapters.file_source import FileSource, local_view
from bgplb.adapters.state_file import Held, StateFile, encode
from bgplb.bgp.adj_rib_out import AdjRibOut
from bgplb.lab.daemons import Announcement, BgpSpec, Neighbor, wait_established
from bgplb.lab.gobgp import GobgpRouter
from bgplb.lab.netns import Netkit
from bgplb.lab.run import LiveLab, build, run_argv, wait_ready, write_config
from bgplb.lab.topology import LAN, NODE_ASN, POOL, ROUTER_ASN, LabSpec, router_plan, service_document
from bgplb.planning.allocation import allocate
from bgplb.planning.announcement import announce
from bgplb.planning.snapshot import ServiceRef
from bgplb.runtime.controller import Made, with_allocation, with_held

SERVICE_BASE, SENDER_BASE = 30, 130
SENDER = LAN[99]
RTPROT_BGP = 186
RTM_F_FIB_MATCH = 0x2000


class KernelTable:
    """The router namespace's main table over a netlink socket opened inside that namespace."""

    def __init__(self, namespace: str) -> None:
        pushns(namespace)
        try:
            self.ipr = IPRoute()
        finally:
            popns()

    def hops(self, prefix: ipaddress.IPv4Address) -> int:
        """Next hops of the BGP /32 to `prefix` (0 when absent): `ip route get fibmatch` over netlink."""
        try:
            routes = self.ipr.route("get", dst=str(prefix), flags=RTM_F_FIB_MATCH)
        except NetlinkError:
            return 0
        for route in routes:
            if route.get_attr("RTA_DST") == str(prefix) and route["proto"] == RTPROT_BGP:
                multipath = route.get_attr("RTA_MULTIPATH")
                return len(multipath) if multipath else 1
        return 0

    def wait(self, ready: Callable[[], bool], timeout: float = 10.0) -> float:
        """Poll every ms until `ready()`; the monotonic time it first held."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return time.monotonic()
            time.sleep(0.001)
        raise TimeoutError("condition not met within the timeout")

    def close(self) -> None:
        self.ipr.close()


def ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def bgplb_services(lab: LiveLab, table: KernelTable, count: int) -> tuple[list[float], list[float]]:
    """Add `count` Services one by one; (to first next hop, to all next hops) per Service."""
    config = Path(lab.record.config_dir)
    nodes = len(lab.record.nodes)
    first, full = [], []
    for i in range(count):
        address = POOL[SERVICE_BASE + i]
        text = yaml.safe_dump(service_document(f"bench{i}", (address,)))
        tmp = config / f".bench{i}.tmp"
        tmp.write_text(text)
        start = time.monotonic()
        tmp.rename(config / f"50-bench{i}.yaml")
        first.append(table.wait(lambda a=address: table.hops(a) >= 1) - start)  # type: ignore[misc]
        full.append(table.wait(lambda a=address: table.hops(a) == nodes) - start)  # type: ignore[misc]
    return first, full


def gobgp_sender(lab: LiveLab, table: KernelTable, count: int) -> tuple[list[float], list[float]]:
    """GoBGP originates `count` /32s one by one; (from rib add returned, from rib add started)."""
    ns = lab.kit.namespace("sender")
    lab.lan.attach(ns, [f"{SENDER}/24"])
    group = router_plan(lab.spec).groups[0].name
    lab.frr.vtysh("configure terminal", f"router bgp {ROUTER_ASN}", f"neighbor {SENDER} peer-group {group}")
    gobgp = GobgpRouter(ns, BgpSpec(NODE_ASN, SENDER, (Neighbor(LAN[1], ROUTER_ASN),)))
    gobgp.start()
    wait_established(lab.frr, SENDER, timeout=30)
    after, before = [], []
    for i in range(count):
        address = POOL[SENDER_BASE + i]
        start = time.monotonic()
        gobgp.add_route(Announcement(ipaddress.ip_network(f"{address}/32"), next_hop=SENDER))
        added = time.monotonic()
        seen = table.wait(lambda a=address: table.hops(a) >= 1)  # type: ignore[misc]
        after.append(seen - added)
        before.append(seen - start)
    return after, before


def sigterms(lab: LiveLab, table: KernelTable, rounds: int) -> list[float]:
    """SIGTERM the last node's `bgplb run`; time until its next hop leaves the Services' route."""
    node = lab.record.nodes[-1]
    web = POOL[10]
    nodes = len(lab.record.nodes)
    samples = []
    for _ in range(rounds):
        proc = next(p for p in reversed(lab.kit.processes) if p.name.startswith(f"{node.name}-bgplb-run"))
        start = time.monotonic()
        proc.signal(signal.SIGTERM)
        samples.append(table.wait(lambda: table.hops(web) == nodes - 1) - start)
        proc.popen.wait(10)
        lab.nodes[node.name].spawn(
            run_argv(lab.record, node), name=f"{node.name}-bgplb-run-{time.monotonic_ns()}"
        )
        table.wait(lambda: table.hops(web) == nodes, timeout=30)
    return samples


PHASES = ("notification", "reload", "allocate", "publish", "plan", "set_routes", "state write")


async def phases(spec: LabSpec, count: int) -> dict[str, list[float]]:
    """One node's pass, phase by phase, for `count` Services added one by one (see the docstring, 4)."""
    samples: dict[str, list[float]] = {name: [] for name in PHASES}
    node = spec.node_names[0]
    with tempfile.TemporaryDirectory(prefix="bgplb-phases-") as work:
        config = Path(work) / "config"
        write_config(config, spec)
        source, state_file, rib = FileSource(config), StateFile(Path(work) / "state.json"), AdjRibOut()
        source.reload()
        held: dict[ServiceRef, Held] = {}
        made: Made = {}
        changed = asyncio.Event()
        watch = asyncio.create_task(source.watch(changed.set))
        await asyncio.sleep(0.2)  # the watch is set up
        try:
            for i in range(count):
                tmp = config / f".bench{i}.tmp"
                tmp.write_text(yaml.safe_dump(service_document(f"bench{i}", (POOL[SERVICE_BASE + i],))))
                changed.clear()
                marks = [time.perf_counter()]
                tmp.rename(config / f"50-bench{i}.yaml")
                await asyncio.wait_for(changed.wait(), 5)
                marks.append(time.perf_counter())
                state = source.reload().state
                assert state is not None
                marks.append(time.perf_counter())
                snapshot = with_held(state.snapshot, held, made)
                allocation = allocate(snapshot, state.config)
                marks.append(time.perf_counter())
                published = with_allocation(snapshot, allocation)
                marks.append(time.perf_counter())
                plan = announce(local_view(published, node, state.checks, {}), state.config, node)
                marks.append(time.perf_counter())
                rib.set_routes(plan.sessions[0].routes)
                marks.append(time.perf_counter())
                held = {ref: Held(a.ips, a.pool) for ref, a in allocation.assignments.items()}
                state_file.write(encode(held))
                marks.append(time.perf_counter())
                for name, start, end in zip(PHASES, marks[:-1], marks[1:], strict=True):
                    samples[name].append(end - start)
        finally:
            watch.cancel()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--sigterm", type=int, default=5, help="SIGTERM rounds")
    parser.add_argument("--phases", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    breakdown = asyncio.run(phases(LabSpec(nodes=args.nodes), args.services)) if args.phases else {}
    with Netkit("bgplb-bench") as kit:
        lab = build(kit, LabSpec(nodes=args.nodes), say=lambda text: None)
        wait_ready(lab)
        table = KernelTable(lab.router.name)
        try:
            first, full = bgplb_services(lab, table, args.services)
            frr_after, frr_before = gobgp_sender(lab, table, args.services)
            terms = sigterms(lab, table, args.sigterm)
        finally:
            table.close()
    rows = [
        (f"bgplb: file change -> route in kernel (1st next hop), {args.services} Services", first),
        (f"bgplb: file change -> all {args.nodes} next hops (ECMP complete)", full),
        ("FRR's own: GoBGP path added -> route in kernel", frr_after),
        ("GoBGP incl. its CLI: `gobgp global rib add` started -> route in kernel", frr_before),
        (f"SIGTERM of a speaker -> its next hop gone ({args.sigterm} rounds)", terms),
    ]
    print(f"\nlab latency: {args.nodes} nodes running `bgplb run`, FRR 8.4 router (bgpd + zebra), ms")
    print(f"{'':76} {'p50':>7} {'p99':>7} {'max':>7}")
    for label, samples in rows:
        print(f"{label:76} {ms(samples, 0.5):7.1f} {ms(samples, 0.99):7.1f} {max(samples) * 1000:7.1f}")
    for q in (0.5, 0.99):
        own = ms(first, q) - ms(frr_after, q)
        print(f"bgplb's own share at p{q * 100:.0f} (bgplb - FRR's own): {own:.1f} ms (goal at p99: < 50 ms)")
    print(f"SIGTERM -> next hop gone p99: {ms(terms, 0.99):.1f} ms (goal < 100 ms)")
    tenth = max(1, len(first) // 5)
    early, late = statistics.median(first[:tenth]) * 1000, statistics.median(first[-tenth:]) * 1000
    print(
        f"file change -> first next hop, median of the first/last {tenth} Services: {early:.1f}/{late:.1f} ms"
    )
    if breakdown:
        tenth = max(1, args.services // 5)
        print(f"\none node's pass, in this process, by phase ({args.services} Services one by one), ms")
        print(f"{'':40} {'p50':>7} {'p99':>7} {'max':>7} {'first/last ' + str(tenth) + ' (median)':>24}")
        totals = [sum(parts) for parts in zip(*(breakdown[n] for n in PHASES[:-1]), strict=True)]
        for label, samples in [*breakdown.items(), ("to set_routes (all but the state write)", totals)]:
            early, late = (
                statistics.median(samples[:tenth]) * 1000,
                statistics.median(samples[-tenth:]) * 1000,
            )
            first_last = f"{early:.2f}/{late:.2f}"
            print(
                f"{label:40} {ms(samples, 0.5):7.2f} {ms(samples, 0.99):7.2f} {max(samples) * 1000:7.2f} "
                f"{first_last:>24}"
            )
    print(
        f"load average during the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (other load skews it)"
    )


if __name__ == "__main__":
    main()
