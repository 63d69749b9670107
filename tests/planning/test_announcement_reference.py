"""`announce` gives exactly what the plain reference gives (tests/planning/announce_reference.py).

The fast planner indexes pools, hoists selector and peer facts out of the per-address loop and merges routes
in integer-keyed tables; these tests generate small clusters and configurations covering every rule (pools
with several ranges and both families, overlapping pools, advertisements with selectors, peers, aggregation,
communities and local-pref, layer 2, Local and Cluster Services, blocked nodes) and compare whole results.
"""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from hypothesis import given, settings
from hypothesis import strategies as st

from bgplb.config.models import (
    AddressPool,
    BgpAdvertisement,
    BgpPeer,
    Config,
    IPRange,
    L2Advertisement,
    LabelRequirement,
    LabelSelector,
)
from bgplb.config.selectors import Operator
from bgplb.planning.announcement import EXCLUDE_LABEL, NotAnnounced, announce
from bgplb.planning.snapshot import (
    Endpoint,
    EndpointSlice,
    IPAddress,
    Node,
    NodeCondition,
    Service,
    ServiceRef,
    Snapshot,
)
from tests.planning.announce_reference import reference_announce

PEERS = ("r0", "r1", "r2")


def _selectors(r: random.Random, key: str, values: str) -> tuple[LabelSelector, ...]:
    choice = r.randrange(4)
    if choice == 0:
        return ()
    if choice == 1:
        return (LabelSelector(match_labels={key: r.choice(values)}),)
    if choice == 2:
        operator: Operator = r.choice(["In", "NotIn", "Exists", "DoesNotExist"])
        values_ = (r.choice(values),) if operator in ("In", "NotIn") else ()
        return (
            LabelSelector(match_expressions=(LabelRequirement(key=key, operator=operator, values=values_),)),
        )
    return (LabelSelector(match_labels={key: values[0]}), LabelSelector(match_labels={key: values[1]}))


def _pool(r: random.Random, index: int) -> AddressPool:
    ranges = []
    base = ip_network(f"10.{index // 3}.0.0/24")  # pools 0-2 share a /24: some overlap
    if r.random() < 0.85:
        low = r.randrange(0, 60)
        ranges.append(IPRange(first=base[low], last=base[low + r.randrange(0, 40)]))
        if r.random() < 0.3:
            ranges.append(IPRange(first=base[200], last=base[r.randrange(200, 256)]))
    if r.random() < 0.4 or not ranges:
        six = ip_network(f"2001:db8:{index}::/120")
        ranges.append(IPRange(first=six[r.randrange(0, 4)], last=six[r.randrange(4, 40)]))
    return AddressPool(name=f"p{index}", ranges=tuple(ranges), source="metallb")


def _config(r: random.Random) -> Config:
    pools = tuple(_pool(r, i) for i in range(r.randrange(0, 5)))
    names = [p.name for p in pools] + ["ghost"]
    peers = tuple(
        BgpPeer(
            name=name,
            my_asn=64500,
            peer_asn=r.choice([64500, 64501, None]),
            dynamic_asn=r.choice([None, "internal", "external"]),
            peer_address=r.choice(
                [IPv4Address(f"192.0.2.{i + 1}"), IPv6Address(f"2001:db8:ff::{i + 1}"), None]
            ),
            families=r.choice([(), ("ipv4",), ("ipv6",), ("ipv4", "ipv6")]),
            dual_stack_address_family=r.random() < 0.2,
            node_selectors=_selectors(r, "zone", "ab"),
        )
        for i, name in enumerate(sorted(r.sample(PEERS, r.randrange(0, 4))))
    )
    bgp = tuple(
        BgpAdvertisement(
            name=f"adv{i}",
            pools=tuple(r.sample(names, r.randrange(0, len(names) + 1))),
            aggregation_length=r.choice([32, 32, 31, 28, 24]),
            aggregation_length_v6=r.choice([128, 124, 120]),
            local_pref=r.choice([None, 0, 100, 200]),
            communities=tuple(r.sample(["64500:1", "64500:2", "65535:65281"], r.randrange(0, 3))),
            large_communities=tuple(r.sample(["1:2:3", "4:5:6"], r.randrange(0, 3))),
            node_selectors=_selectors(r, "zone", "ab"),
            service_selectors=_selectors(r, "team", "xyz"),
            peers=tuple(r.sample([*PEERS, "absent"], r.randrange(0, 3))),
        )
        for i in range(r.randrange(0, 4))
    )
    l2 = tuple(
        L2Advertisement(
            name=f"l2-{i}",
            pools=tuple(r.sample(names, r.randrange(0, len(names) + 1))),
            node_selectors=_selectors(r, "zone", "ab"),
            service_selectors=_selectors(r, "team", "xyz"),
            interfaces=tuple(r.sample(["eth0", "eth1"], r.randrange(0, 3))),
        )
        for i in range(r.randrange(0, 3))
    )
    return Config(pools=pools, peers=peers, bgp_advertisements=bgp, l2_advertisements=l2)


def _address(r: random.Random, config: Config) -> IPAddress:
    if config.pools and r.random() < 0.85:
        chosen = r.choice(r.choice(config.pools).ranges)
        return type(chosen.first)(r.randrange(int(chosen.first), int(chosen.last) + 1))
    return ip_address(r.choice(["203.0.113.5", "2001:db8:eeee::1", "10.0.0.0"]))


def _snapshot(r: random.Random, config: Config) -> Snapshot:
    nodes = tuple(
        Node(
            f"n{k}",
            labels={"zone": r.choice("ab"), **({EXCLUDE_LABEL: ""} if r.random() < 0.1 else {})},
            conditions=(NodeCondition("NetworkUnavailable", r.random() < 0.1),),
        )
        for k in range(r.randrange(1, 4))
    )
    services = []
    slices: list[EndpointSlice] = []
    for i in range(r.randrange(0, 16)):
        ref = ServiceRef(r.choice("ab"), f"s{i}")
        services.append(
            Service(
                ref,
                type=r.choice(["LoadBalancer"] * 8 + ["ClusterIP"]),
                load_balancer_class=r.choice([None] * 6 + ["bgplb.io/lb", "other"]),
                external_traffic_policy=r.choice(["Cluster", "Local"]),
                labels={"team": r.choice("xyz")} if r.random() < 0.9 else {},
                current_ips=tuple(_address(r, config) for _ in range(r.choice([0, 1, 1, 1, 2, 3]))),
            )
        )
        for _ in range(r.choice([0, 1, 1, 2])):
            endpoints = tuple(
                Endpoint(
                    r.choice([None, *(n.name for n in nodes)]),
                    ready=r.random() < 0.7,
                    serving=r.random() < 0.8,
                )
                for _ in range(r.randrange(0, 3))
            )
            slices.append(EndpointSlice(ref, f"x{len(slices)}", endpoints))
    return Snapshot(services=tuple(services), nodes=nodes, endpoint_slices=tuple(slices))


@settings(max_examples=300, deadline=None)
@given(st.randoms(use_true_random=False), st.booleans())
def test_announce_equals_the_reference(r: random.Random, handle_unset_class: bool) -> None:
    config = _config(r)
    snapshot = _snapshot(r, config)
    for node in (*(n.name for n in snapshot.nodes), "absent"):
        got = announce(snapshot, config, node, handle_unset_class=handle_unset_class)
        assert got == reference_announce(snapshot, config, node, handle_unset_class=handle_unset_class)


def test_generated_cases_reach_every_outcome() -> None:
    """The generator is worth its name: across a fixed seed range it produces every reason and routes."""
    reasons: set[NotAnnounced | None] = set()
    routes = l2 = 0
    for seed in range(150):
        r = random.Random(seed)
        config = _config(r)
        snapshot = _snapshot(r, config)
        for node in (*(n.name for n in snapshot.nodes), "absent"):
            plan = announce(snapshot, config, node)
            reasons.update(d.reason for d in plan.decisions)
            routes += sum(len(s.routes) for s in plan.sessions)
            l2 += len(plan.l2)
    assert len(reasons) == 12  # the 11 reasons and None (announced)
    assert routes > 50 and l2 > 20
