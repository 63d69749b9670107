"""IPAM benchmark: `python -m bench.allocation` (or `python bench/allocation.py`).

Three scenarios from issue 3, each checked for correctness before its time is printed (best of 3 runs,
each started after a garbage collection; the collector stays on while timing):
1. 65,534 Services from one /16 pool (goal < 1 s), with the per-Service cost of the first and the last 1,000
   Services of that same run (flatness: the lowest free address is found from a cursor, not by a scan), and a
   naive scan-from-the-start allocator on the first 8,192 Services, measured in the same run, for comparison;
2. 10,000 Services over 100 pools with service and namespace selectors and priorities;
3. re-planning those 10,000 already-allocated Services, as after a controller restart (goal < 0.5 s).
The per-chunk timing drives the allocator's run object directly, Service by Service, as `allocate` does.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv4Address, ip_network

from bgplb.config.models import AddressPool, Config, IPRange, LabelSelector, ServiceAllocation
from bgplb.planning.allocation import Allocation, _Run, allocate
from bgplb.planning.snapshot import Namespace, Service, ServiceRef, Snapshot

CHUNK = 1000


def best_of(runs: int, work: Callable[[], Allocation]) -> tuple[float, Allocation]:
    """The shortest wall time of `runs` runs (each started after a collection) and the last result."""
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def _services(count: int, **kw: object) -> list[Service]:
    return [Service(ServiceRef(f"ns{i % 10}", f"svc-{i:05d}"), **kw) for i in range(count)]  # type: ignore[arg-type]


def one_slash16() -> tuple[float, float, float]:
    """Allocate 65,534 Services from 10.0.0.0/16; returns (total s, first-1000 µs/svc, last-1000 µs/svc)."""
    config = Config(
        pools=(
            AddressPool(
                name="big", ranges=(IPRange.from_network(ip_network("10.0.0.0/16")),), source="metallb"
            ),
        )
    )
    services = _services(65534)
    snapshot = Snapshot(services=tuple(services))
    total, result = best_of(3, lambda: allocate(snapshot, config))
    assert len(result.assignments) == 65534 and not result.failures
    assert len({a.ips for a in result.assignments.values()}) == 65534

    ordered = sorted(services, key=lambda s: s.ref)
    best: list[float] = []
    for _ in range(3):  # the same per-Service work as `allocate`, timed chunk by chunk; best of 3 runs
        run = _Run(snapshot, config)
        gc.collect()  # start each timed run without the previous run's garbage
        chunks = []
        for offset in range(0, len(ordered), CHUNK):
            part = ordered[offset : offset + CHUNK]
            t0 = time.perf_counter()
            for service in part:
                run.assign(service)
            chunks.append((time.perf_counter() - t0) / len(part))
        assert len(run.assignments) == 65534
        best = [min(a, b) for a, b in zip(best, chunks, strict=True)] if best else chunks
    chunks = best
    return total, chunks[0] * 1e6, chunks[-1] * 1e6


def naive_scan(count: int) -> float:
    """Seconds for a scan-from-the-start allocator (a set of used addresses) to place `count` Services."""
    network = ip_network("10.0.0.0/16")
    first = int(network.network_address)
    used: set[int] = set()
    start = time.perf_counter()
    for _ in range(count):
        value = first
        while value in used:
            value += 1
        used.add(value)
        IPv4Address(value)
    return time.perf_counter() - start


def hundred_pools() -> tuple[Snapshot, Config]:
    """100 /25 pools, two per team (a team's 200 Services fill one and overflow into the other).

    Pools select by team label; some are also bound to their team's namespace or to prod namespaces.
    """
    pools = []
    for i in range(100):
        selectors = (LabelSelector(match_labels={"team": f"t{i % 50}"}),)
        bound = (f"ns{i % 10}",) if i < 50 and i % 5 == 0 else ()
        by_label = (LabelSelector(match_labels={"env": "prod"}),) if i < 50 and i % 10 in (1, 3) else ()
        pools.append(
            AddressPool(
                name=f"pool-{i:03d}",
                ranges=(IPRange.from_network(ip_network(f"10.{i}.0.0/25")),),
                service_allocation=ServiceAllocation(
                    priority=i % 7 if i % 3 else None,
                    namespaces=bound,
                    namespace_selectors=by_label,
                    service_selectors=selectors,
                ),
                source="metallb",
            )
        )
    services = [
        Service(
            ServiceRef(f"ns{i % 10}", f"svc-{i:05d}"), labels={"team": f"t{i % 50}", "app": f"a{i % 997}"}
        )
        for i in range(10000)
    ]
    namespaces = tuple(Namespace(f"ns{i}", {"env": "prod" if i % 2 else "dev"}) for i in range(10))
    return Snapshot(services=tuple(services), namespaces=namespaces), Config(pools=tuple(pools))


def _admits(pool: AddressPool, service: Service, snapshot: Snapshot) -> bool:
    """The serviceAllocation rule written out independently of the allocator, to check its answers."""
    sa = pool.service_allocation
    if sa is None:
        return True
    labels = snapshot.namespace_labels().get(service.ref.namespace, {})
    if (sa.namespaces or sa.namespace_selectors) and not (
        service.ref.namespace in sa.namespaces or any(s.matches(labels) for s in sa.namespace_selectors)
    ):
        return False
    return not sa.service_selectors or any(s.matches(service.labels) for s in sa.service_selectors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    total, first_us, last_us = one_slash16()
    print(
        f"/16, 65,534 Services:      total {total:.3f} s ({total / 65534 * 1e6:.1f} µs/Service; goal < 1 s)"
    )
    print(
        f"  per Service, first 1,000: {first_us:.1f} µs   last 1,000: {last_us:.1f} µs   "
        f"ratio last/first {last_us / first_us:.2f}"
    )
    naive = naive_scan(8192)
    print(
        f"  naive scan from the start, first 8,192 Services: {naive:.3f} s "
        f"({naive / 8192 * 1e6:.1f} µs/Service; cursor allocator {first_us:.1f} µs)"
    )

    snapshot, config = hundred_pools()
    total, result = best_of(3, lambda: allocate(snapshot, config))
    assert len(result.assignments) == 10000 and not result.failures
    assert all(  # every Service got a pool that admits it
        result.assignments[s.ref].pool in {p.name for p in config.pools if _admits(p, s, snapshot)}
        for s in snapshot.services
    )
    print(
        f"100 pools, 10,000 Services: total {total:.3f} s ({total / 10000 * 1e6:.1f} µs/Service); "
        f"{len({a.pool for a in result.assignments.values()})} pools used"
    )

    observed = Snapshot(
        services=tuple(
            replace(s, current_ips=result.assignments[s.ref].ips) if s.ref in result.assignments else s
            for s in snapshot.services
        ),
        namespaces=snapshot.namespaces,
    )
    total, again = best_of(3, lambda: allocate(observed, config))
    assert again.assignments == result.assignments and not again.released
    print(
        f"restart re-plan, 10,000:    total {total:.3f} s ({total / 10000 * 1e6:.1f} µs/Service; "
        "goal < 0.5 s), nothing moved"
    )


if __name__ == "__main__":
    main()
