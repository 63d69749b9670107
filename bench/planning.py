"""Planning benchmark: `python -m bench.planning [--sizes 1000,10000,50000]`.

One reconcile pass rebuilds the whole plan from the snapshot (DESIGN: level-triggered), so its cost is the
latency floor of every Service change. Three scenarios, each at every size:

- simple: one /16 pool, one BGPAdvertisement, one peer, one node, one EndpointSlice per Service;
- variant: the same Services over 50 pools, announced to 3 peers by 3 advertisements with node selectors,
  communities, large communities, local-pref and aggregation;
- rich: 50 pools (10 of them dual-stack, 25 with service selectors), 3 peers (eBGP, iBGP, one selected by
  node labels), 3 advertisements with node/service selectors, communities, large communities, local-pref
  and aggregation, 5 nodes, a mix of Cluster and Local Services, some without endpoints, some sharing an
  address.

Timed: `announce(snapshot, config, "n1")` and `allocate` on an already-allocated snapshot (the steady state:
every Service keeps its addresses), best of 3 runs, each started after a garbage collection. The goal is
announce < 60 ms and allocate < 50 ms at 10,000 Services; the ratio column scales that goal linearly with
the size (ratio < 1 meets it).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv4Address, ip_address, ip_network

from bgplb.config.models import (
    AddressPool,
    BgpAdvertisement,
    BgpPeer,
    Config,
    IPRange,
    LabelRequirement,
    LabelSelector,
    ServiceAllocation,
)
from bgplb.planning.allocation import allocate
from bgplb.planning.announcement import announce
from bgplb.planning.snapshot import (
    Endpoint,
    EndpointSlice,
    IPFamilyPolicy,
    Node,
    Service,
    ServicePort,
    ServiceRef,
    Snapshot,
)

GOAL_ANNOUNCE = 0.060
GOAL_ALLOCATE = 0.050
GOAL_SIZE = 10_000
POOLS = 50
DUAL_STACK_POOLS = 10


def best_of(runs: int, work: Callable[[], object]) -> float:
    """The shortest wall time of `runs` runs, each started after a collection."""
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def simple(count: int) -> tuple[Snapshot, Config]:
    """`count` Services holding addresses of one /16 pool, announced to one peer from node n1."""
    network = ip_network("10.96.0.0/16")
    config = Config(
        pools=(AddressPool(name="p", ranges=(IPRange.from_network(network),), source="metallb"),),
        peers=(BgpPeer(name="r", my_asn=64513, peer_asn=64512, peer_address=ip_address("127.0.0.1")),),
        bgp_advertisements=(BgpAdvertisement(name="a", pools=("p",)),),
    )
    services = []
    slices = []
    for i in range(count):
        ref = ServiceRef("default", f"s{i}")
        services.append(
            Service(
                ref,
                ports=(ServicePort("TCP", 80),),
                selector={"app": f"s{i}"},
                current_ips=(network[i + 1],),
                creation_timestamp=1.0,
            )
        )
        endpoint = Endpoint("n1", (ip_address("10.0.0.1"),))
        slices.append(EndpointSlice(ref, f"s{i}-x", (endpoint,)))
    snapshot = Snapshot(
        services=tuple(services),
        nodes=(Node("n1", addresses=(ip_address("10.1.0.1"),)),),
        endpoint_slices=tuple(slices),
    )
    return snapshot, config


def variant(count: int) -> tuple[Snapshot, Config]:
    """`count` Services spread over 50 pools, 3 peers and 3 advertisements (`_rich_config` without the
    pools' service selectors and dual-stack ranges), one node, one EndpointSlice per Service."""
    config = _rich_config(plain=True)
    assert count <= POOLS * 4094, "a /20 per pool"
    services = []
    slices = []
    for i in range(count):
        ref = ServiceRef("default", f"s{i}")
        address = IPv4Address(f"10.{100 + i % POOLS}.0.0") + 1 + i // POOLS
        labels = {"env": "prod" if i % 3 else "dev"}
        services.append(Service(ref, labels=labels, current_ips=(address,), creation_timestamp=1.0))
        slices.append(EndpointSlice(ref, f"s{i}-x", (Endpoint("n1"),)))
    node = Node("n1", labels={"rack": "b", "zone": "z1"})
    return Snapshot(services=tuple(services), nodes=(node,), endpoint_slices=tuple(slices)), config


def _rich_config(*, plain: bool = False) -> Config:
    pools = []
    for i in range(POOLS):
        ranges = [IPRange.from_network(ip_network(f"10.{100 + i}.0.0/20"))]
        if i < DUAL_STACK_POOLS and not plain:
            ranges.append(IPRange.from_network(ip_network(f"2001:db8:{i:x}::/116")))
        allocation = None
        if i % 2 and not plain:
            allocation = ServiceAllocation(
                priority=i % 5, service_selectors=(LabelSelector(match_labels={"team": f"t{i % 25}"}),)
            )
        pools.append(
            AddressPool(
                name=f"pool-{i:02d}", ranges=tuple(ranges), service_allocation=allocation, source="metallb"
            )
        )
    names = tuple(p.name for p in pools)
    rack = LabelRequirement(key="rack", operator="In", values=("a", "b"))
    peers = (
        BgpPeer(name="r1", my_asn=64513, peer_asn=64512, peer_address=ip_address("192.0.2.1")),
        BgpPeer(name="r2", my_asn=64513, peer_asn=64513, peer_address=ip_address("192.0.2.2")),
        BgpPeer(
            name="r3",
            my_asn=64513,
            peer_asn=64514,
            peer_address=ip_address("2001:db8:ffff::3"),
            families=("ipv4", "ipv6"),
            node_selectors=(LabelSelector(match_labels={"zone": "z1"}),),
        ),
    )
    advertisements = (
        BgpAdvertisement(name="all", pools=names, communities=("64512:100",)),
        BgpAdvertisement(
            name="agg",
            pools=names[:25],
            aggregation_length=24,
            aggregation_length_v6=120,
            local_pref=200,
            large_communities=("64512:1:2",),
            peers=("r2", "r3"),
            node_selectors=(LabelSelector(match_expressions=(rack,)),),
        ),
        BgpAdvertisement(
            name="prod",
            pools=names[20:],
            communities=("64512:7", "65535:65281"),
            service_selectors=(LabelSelector(match_labels={"env": "prod"}),),
            node_selectors=(LabelSelector(match_labels={"zone": "z1"}),),
        ),
    )
    return Config(pools=tuple(pools), peers=peers, bgp_advertisements=advertisements)


def rich(count: int) -> tuple[Snapshot, Config]:
    """`count` Services over 50 pools, 3 peers, 3 advertisements and 5 nodes, already allocated."""
    config = _rich_config()
    nodes = tuple(Node(f"n{k}", labels={"rack": "abc"[k % 3], "zone": f"z{k % 2}"}) for k in range(1, 6))
    services = []
    slices = []
    for i in range(count):
        ref = ServiceRef(f"ns{i % 7}", f"svc-{i:05d}")
        dual = i % 10 == 0
        services.append(
            Service(
                ref,
                ports=(ServicePort("TCP", 80 + i % 3),),
                sharing_key=f"k{i // 50}" if i % 50 < 3 else None,
                requested_pool=f"pool-{2 * ((i // 10) % 5):02d}" if dual else None,
                ip_families=("IPv4", "IPv6") if dual else ("IPv4",),
                ip_family_policy=IPFamilyPolicy.REQUIRE_DUAL_STACK if dual else IPFamilyPolicy.SINGLE_STACK,
                external_traffic_policy="Local" if i % 4 == 0 else "Cluster",
                selector={"app": f"a{i}"},
                labels={"team": f"t{i % 25}", "env": "prod" if i % 3 else "dev"},
                creation_timestamp=float(i % 100),
            )
        )
        if i % 13:
            endpoints = (Endpoint(f"n{1 + i % 5}", ready=i % 11 != 0),)
            slices.append(EndpointSlice(ref, f"svc-{i:05d}-x", endpoints))
    fresh = Snapshot(services=tuple(services), nodes=nodes, endpoint_slices=tuple(slices))
    result = allocate(fresh, config)
    assert not result.failures, next(iter(result.failures.values()))
    allocated = tuple(replace(s, current_ips=result.assignments[s.ref].ips) for s in services)
    return replace(fresh, services=allocated), config


def measure(name: str, count: int, snapshot: Snapshot, config: Config) -> None:
    """Check the steady state, then print the best-of-3 times of announce and allocate."""
    again = allocate(snapshot, config)
    assert len(again.assignments) == count and not again.released and not again.failures
    assert all(again.assignments[s.ref].ips == s.current_ips for s in snapshot.services)  # nothing moved
    announced = announce(snapshot, config, "n1")  # also fills the route cache, as any earlier pass would
    assert any(d.reason is None for d in announced.decisions)
    routes = sum(len(s.routes) for s in announced.sessions)
    t_announce = best_of(3, lambda: announce(snapshot, config, "n1"))
    t_allocate = best_of(3, lambda: allocate(snapshot, config))
    scale = count / GOAL_SIZE
    ratio_announce = t_announce / (GOAL_ANNOUNCE * scale)
    ratio_allocate = t_allocate / (GOAL_ALLOCATE * scale)
    print(
        f"{name:7} {count:>6,}  announce {t_announce * 1e3:7.1f} ms (ratio {ratio_announce:.2f})"
        f"   allocate {t_allocate * 1e3:7.1f} ms (ratio {ratio_allocate:.2f})"
        f"   {routes:,} routes to {len(announced.sessions)} peer(s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="comma-separated Service counts")
    args = parser.parse_args()
    for count in (int(size) for size in args.sizes.split(",")):
        for name, build in (("simple", simple), ("variant", variant), ("rich", rich)):
            snapshot, config = build(count)
            measure(name, count, snapshot, config)


if __name__ == "__main__":
    main()
