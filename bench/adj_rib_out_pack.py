"""Micro-benchmark: pack 100,000 IPv4 /32 routes with one attribute set into UPDATEs (Adj-RIB-Out).

Prints the median CPU time (the machine is shared: wall time is noisier) of several runs for: building
the Route values (the caller's side; each Route caches its NLRI encoding), set_routes (done before the
session is up), start -> first UPDATE and start -> the whole table with End-of-RIB (what happens on
Established), and one route added to a full and to a small table (set_routes with the caller's tuple
reused — the identity fast path —, with new Route objects — the general path —, and update_routes; each
+ flush). Run:
    .venv/bin/python bench/adj_rib_out_pack.py [count]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network

from bgplb.bgp.adj_rib_out import AdjRibOut
from bgplb.bgp.constants import HEADER_LEN, IPV4_UNICAST, IPV6_UNICAST, MAX_MESSAGE
from bgplb.bgp.export import ExportPolicy
from bgplb.bgp.negotiation import Negotiated
from bgplb.bgp.routes import Route

RUNS = 7
POLICY = ExportPolicy(
    Negotiated(families=frozenset({IPV4_UNICAST, IPV6_UNICAST})), 64501, False, IPv4Address("192.0.2.1"), None
)


def median_ms(action: Callable[[], object], runs: int = RUNS) -> float:
    """Median CPU milliseconds of this process spent in `action`."""
    samples = []
    for _ in range(runs):
        start = time.process_time()
        action()
        samples.append((time.process_time() - start) * 1000)
    return statistics.median(samples)


def loaded(routes: list[Route]) -> AdjRibOut:
    """An Adj-RIB-Out that wants `routes`."""
    rib = AdjRibOut()
    rib.set_routes(routes)
    return rib


def one_added_ms(routes: list[Route], runs: int, how: str) -> float:
    """One more route + flush (the one UPDATE), then back, against an established table; `how`:
    "reused" (set_routes, the same Route objects in a tuple), "new" (set_routes, equal new objects) or
    "incremental" (update_routes)."""
    table = tuple(routes)
    rib = loaded(routes)
    rib.set_routes(table)
    list(rib.start(POLICY))
    extra = Route(IPv4Network("198.51.100.1/32"))
    # "new": add with an equal copy of the table, remove with the original: both calls differ by identity
    base = tuple(Route(r.prefix) for r in table) if how == "new" else table

    def add_then_remove() -> None:
        if how == "incremental":
            rib.update_routes(add=(extra,))
        else:
            rib.set_routes((*base, extra))
        assert len(rib.flush()) == 1
        if how == "incremental":
            rib.update_routes(withdraw=(extra.prefix,))
        else:
            rib.set_routes(table)
        assert len(rib.flush()) == 1

    return median_ms(add_then_remove, runs) / 2


def main(count: int) -> None:
    networks = [IPv4Network((0x0A000000 + i, 32)) for i in range(count)]
    build_ms = median_ms(lambda: [Route(n) for n in networks], runs=3)
    routes = [Route(n) for n in networks]
    set_ms = median_ms(lambda: loaded(routes))
    ribs = [loaded(routes) for _ in range(RUNS)]
    first_ms = median_ms(lambda: next(ribs.pop().start(POLICY)))
    ribs = [loaded(routes) for _ in range(RUNS)]
    table_ms = median_ms(lambda: list(ribs.pop().start(POLICY)))
    messages = list(loaded(routes).start(POLICY))
    updates = [m for m in messages if len(m) > HEADER_LEN + 10]  # not the End-of-RIB markers
    print(f"routes: {count} IPv4 /32, one attribute set, eBGP, 4096-octet messages (median CPU time)")
    print(f"build Route values (caller):        {build_ms:8.1f} ms")
    print(f"set_routes (before Established):    {set_ms:8.1f} ms")
    print(f"start -> first UPDATE:              {first_ms:8.1f} ms")
    print(f"start -> whole table + End-of-RIB:  {table_ms:8.1f} ms")
    print(
        f"UPDATEs: {len(updates)} (+{len(messages) - len(updates)} End-of-RIB), "
        f"{sum(map(len, updates))} octets, largest {max(map(len, updates))} <= {MAX_MESSAGE}"
    )
    for how in ("reused", "new", "incremental"):
        call = "update_routes" if how == "incremental" else f"set_routes, {how} objects"
        big, small = one_added_ms(routes, RUNS, how), one_added_ms(routes[:10], 101, how)
        print(f"one route added + flush ({call:25}): {big:7.2f} ms to {count}, {small:6.3f} ms to 10")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
