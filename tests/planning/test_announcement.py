"""Table-driven tests of `announce`: one case per MetalLB rule, plus merging and property tests."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgplb.bgp.communities import parse_community
from bgplb.config.models import BgpAdvertisement, BgpPeer, Config, L2Advertisement, LabelSelector
from bgplb.planning import election
from bgplb.planning.announcement import EXCLUDE_LABEL, NotAnnounced, aggregate, announce
from bgplb.planning.snapshot import (
    Endpoint,
    EndpointSlice,
    Node,
    NodeCondition,
    Service,
    ServiceRef,
    Snapshot,
)
from tests.planning.alloc_helpers import pool

WEB = ServiceRef("default", "web")
IP = ip_address("198.51.100.7")
IP6 = ip_address("2001:db8::7")


def sel(**labels: str) -> tuple[LabelSelector, ...]:
    return (LabelSelector(match_labels=labels),)


def peer(name: str = "router", address: str = "192.0.2.1", **kw: Any) -> BgpPeer:
    kw.setdefault("my_asn", 64501)
    kw.setdefault("peer_asn", 64500)
    return BgpPeer(name=name, peer_address=ip_address(address), **kw)


def adv(name: str = "adv", pools: tuple[str, ...] = ("public",), **kw: Any) -> BgpAdvertisement:
    return BgpAdvertisement(name=name, pools=pools, **kw)


def config(
    *,
    advs: tuple[BgpAdvertisement, ...] = (adv(),),
    peers: tuple[BgpPeer, ...] = (peer(),),
    l2: tuple[L2Advertisement, ...] = (),
) -> Config:
    pools = (pool("public", "198.51.100.0/24", "2001:db8::/120"), pool("private", "10.9.0.0/24"))
    return Config(pools=pools, peers=peers, bgp_advertisements=advs, l2_advertisements=l2)


def service(ips: tuple[str, ...] = (str(IP),), **kw: Any) -> Service:
    return Service(ref=WEB, current_ips=tuple(ip_address(i) for i in ips), **kw)


def snapshot(
    svc: Service | None = None,
    nodes: tuple[Node, ...] = (Node("n1"),),
    endpoints: tuple[Endpoint, ...] = (Endpoint("n1"),),
) -> Snapshot:
    return Snapshot(
        services=(svc or service(),),
        nodes=nodes,
        endpoint_slices=(EndpointSlice(WEB, "web-1", endpoints),),
    )


def reason(snap: Snapshot, cfg: Config, node: str = "n1") -> NotAnnounced | None:
    (decision,) = announce(snap, cfg, node).decisions
    return decision.reason


CASES: list[tuple[str, Snapshot, Config, NotAnnounced | None]] = [
    ("announced", snapshot(), config(), None),
    ("unknown node", snapshot(nodes=(Node("other"),)), config(), NotAnnounced.NODE_UNKNOWN),
    ("address in no pool", snapshot(service(("203.0.113.1",))), config(), NotAnnounced.NOT_IN_POOL),
    ("pool without advertisement", snapshot(service(("10.9.0.1",))), config(), NotAnnounced.NO_ADVERTISEMENT),
    (
        "service selector",
        snapshot(),
        config(advs=(adv(service_selectors=sel(tier="edge")),)),
        NotAnnounced.SERVICE_NOT_SELECTED,
    ),
    (
        "service selector matches",
        snapshot(service(labels={"tier": "edge"})),
        config(advs=(adv(service_selectors=sel(tier="edge")),)),
        None,
    ),
    (
        "advertisement node selector",
        snapshot(),
        config(advs=(adv(node_selectors=sel(rack="a")),)),
        NotAnnounced.NODE_NOT_SELECTED,
    ),
    (
        "advertisement node selector matches",
        snapshot(nodes=(Node("n1", labels={"rack": "a"}),)),
        config(advs=(adv(node_selectors=sel(rack="a")),)),
        None,
    ),
    (
        "exclude label",
        snapshot(nodes=(Node("n1", labels={EXCLUDE_LABEL: ""}),)),
        config(),
        NotAnnounced.NODE_EXCLUDED,
    ),
    (
        "network unavailable",
        snapshot(nodes=(Node("n1", conditions=(NodeCondition("NetworkUnavailable", True),)),)),
        config(),
        NotAnnounced.NETWORK_UNAVAILABLE,
    ),
    (
        "network available",
        snapshot(nodes=(Node("n1", conditions=(NodeCondition("NetworkUnavailable", False),)),)),
        config(),
        None,
    ),
    ("cluster: no endpoint", snapshot(endpoints=()), config(), NotAnnounced.NO_SERVING_ENDPOINT),
    (
        "cluster: endpoint elsewhere is enough",
        snapshot(endpoints=(Endpoint("n2"),)),
        config(),
        None,
    ),
    (
        "cluster: only non-serving endpoints",
        snapshot(endpoints=(Endpoint("n1", ready=False, serving=False),)),
        config(),
        NotAnnounced.NO_SERVING_ENDPOINT,
    ),
    (
        "cluster: terminating but serving",
        snapshot(endpoints=(Endpoint("n2", ready=False, serving=True, terminating=True),)),
        config(),
        None,
    ),
    (
        "local: endpoint elsewhere only",
        snapshot(service(external_traffic_policy="Local"), endpoints=(Endpoint("n2"),)),
        config(),
        NotAnnounced.NO_LOCAL_ENDPOINT,
    ),
    (
        "local: ready endpoint here",
        snapshot(service(external_traffic_policy="Local"), endpoints=(Endpoint("n1", serving=False),)),
        config(),
        None,
    ),
    (
        "local: serving endpoint here",
        snapshot(service(external_traffic_policy="Local"), endpoints=(Endpoint("n1", ready=False),)),
        config(),
        None,
    ),
    (
        "local: endpoint here neither ready nor serving",
        snapshot(
            service(external_traffic_policy="Local"), endpoints=(Endpoint("n1", ready=False, serving=False),)
        ),
        config(),
        NotAnnounced.NO_LOCAL_ENDPOINT,
    ),
    (
        "peer selector excludes the node",
        snapshot(),
        config(peers=(peer(node_selectors=sel(bgp="yes")),)),
        NotAnnounced.NO_PEER,
    ),
    (
        "advertisement names another peer",
        snapshot(),
        config(advs=(adv(peers=("other",)),)),
        NotAnnounced.NO_PEER,
    ),
    ("IPv6 address, IPv4-only peer", snapshot(service((str(IP6),))), config(), NotAnnounced.NO_PEER),
    (
        "IPv6 address, dual-stack peer",
        snapshot(service((str(IP6),))),
        config(peers=(peer(dual_stack_address_family=True),)),
        None,
    ),
]


@pytest.mark.parametrize(("snap", "cfg", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(snap: Snapshot, cfg: Config, expected: NotAnnounced | None) -> None:
    plan = announce(snap, cfg, "n1")
    (decision,) = plan.decisions
    assert decision.reason is expected
    announced = [r.prefix for s in plan.sessions for r in s.routes]
    assert announced == (
        [] if expected is not None else [ip_network(f"{decision.ip}/{decision.ip.max_prefixlen}")]
    )


def test_sessions_are_opened_even_without_routes() -> None:
    plan = announce(snapshot(endpoints=()), config(peers=(peer("a"), peer("b", "192.0.2.2"))), "n1")
    assert [(s.peer.name, s.routes) for s in plan.sessions] == [("a", ()), ("b", ())]


def test_peer_node_selector_decides_which_sessions_open() -> None:
    peers = (
        peer("rack-a", node_selectors=sel(rack="a")),
        peer("rack-b", "192.0.2.2", node_selectors=sel(rack="b")),
    )
    snap = snapshot(nodes=(Node("n1", labels={"rack": "b"}),))
    plan = announce(snap, config(peers=peers), "n1")
    assert [s.peer.name for s in plan.sessions] == ["rack-b"]
    assert plan.decisions[0].peers == ("rack-b",)


def test_aggregation_lengths() -> None:
    cfg = config(
        advs=(adv(aggregation_length=24, aggregation_length_v6=64),), peers=(peer(families=("ipv4", "ipv6")),)
    )
    plan = announce(snapshot(service((str(IP), str(IP6)))), cfg, "n1")
    assert [r.prefix for r in plan.routes_for("router")] == [
        ip_network("198.51.100.0/24"),
        ip_network("2001:db8::/64"),
    ]


def test_same_prefix_from_several_advertisements_is_one_route_with_the_union() -> None:
    advs = (
        adv(
            "a", communities=("64500:1",), large_communities=("1:2:3",), local_pref=100, aggregation_length=24
        ),
        adv("b", communities=("64500:2", "64500:1"), local_pref=200, aggregation_length=24),
    )
    ibgp = peer(peer_asn=64501)
    snap = Snapshot(
        services=(
            service(),
            Service(ServiceRef("default", "api"), current_ips=(ip_address("198.51.100.9"),)),
        ),
        nodes=(Node("n1"),),
        endpoint_slices=(
            EndpointSlice(WEB, "w", (Endpoint("n1"),)),
            EndpointSlice(ServiceRef("default", "api"), "a", (Endpoint("n1"),)),
        ),
    )
    (route,) = announce(snap, config(advs=advs, peers=(ibgp,)), "n1").routes_for("router")
    assert route.prefix == ip_network("198.51.100.0/24")
    assert route.communities == (parse_community("64500:1"), parse_community("64500:2"))
    assert route.large_communities == ((1, 2, 3),)
    assert route.local_pref == 200
    assert route.next_hop is None


def test_local_pref_is_dropped_for_ebgp_peers() -> None:
    (route,) = announce(snapshot(), config(advs=(adv(local_pref=150),)), "n1").routes_for("router")
    assert route.local_pref is None


def test_shared_address_is_announced_once_when_any_service_wants_it() -> None:
    api = Service(ServiceRef("default", "api"), current_ips=(IP,))
    snap = Snapshot(
        services=(service(), api),
        nodes=(Node("n1"),),
        endpoint_slices=(EndpointSlice(WEB, "w", (Endpoint("n1"),)),),
    )
    plan = announce(snap, config(), "n1")
    assert len(plan.routes_for("router")) == 1
    assert plan.not_announced == {(api.ref, IP): NotAnnounced.NO_SERVING_ENDPOINT}


def test_services_of_other_classes_are_ignored() -> None:
    snap = snapshot(service(load_balancer_class="example.com/other"))
    assert announce(snap, config(), "n1").decisions == ()


def l2_snapshot(*names: str, local_on: str | None = None) -> Snapshot:
    svc = service(external_traffic_policy="Local" if local_on else "Cluster")
    endpoints = (Endpoint(local_on),) if local_on else (Endpoint(names[0]),)
    return snapshot(svc, nodes=tuple(Node(n) for n in names), endpoints=endpoints)


def test_l2_exactly_one_owner_among_nodes() -> None:
    cfg = config(advs=(), l2=(L2Advertisement(name="l2", pools=("public",), interfaces=("eth1",)),))
    names = ("n1", "n2", "n3")
    plans = {n: announce(l2_snapshot(*names), cfg, n) for n in names}
    owners = [n for n, p in plans.items() if p.l2]
    assert owners == [election.owner(names, IP)]
    assert plans[owners[0]].l2[0].interfaces == ("eth1",)
    assert {p.decisions[0].reason for n, p in plans.items() if n not in owners} == {NotAnnounced.NOT_L2_OWNER}


def test_l2_local_policy_owner_is_the_node_with_the_endpoint() -> None:
    cfg = config(advs=(), l2=(L2Advertisement(name="l2", pools=("public",)),))
    for holder in ("n1", "n2", "n3"):
        owners = [
            n
            for n in ("n1", "n2", "n3")
            if announce(l2_snapshot("n1", "n2", "n3", local_on=holder), cfg, n).l2
        ]
        assert owners == [holder]


def test_l2_excluded_node_is_not_elected() -> None:
    cfg = config(advs=(), l2=(L2Advertisement(name="l2", pools=("public",)),))
    first = election.owner(("n1", "n2"), IP)
    assert first is not None
    nodes = tuple(Node(n, labels={EXCLUDE_LABEL: ""} if n == first else {}) for n in ("n1", "n2"))
    snap = snapshot(nodes=nodes, endpoints=(Endpoint("n1"),))
    owners = [n for n in ("n1", "n2") if announce(snap, cfg, n).l2]
    assert owners == [n for n in ("n1", "n2") if n != first]


nodes_st = st.lists(st.sampled_from(["n1", "n2", "n3", "n4"]), min_size=1, max_size=4, unique=True)


@settings(max_examples=60, deadline=None)
@given(
    names=nodes_st,
    hosts=st.lists(st.integers(1, 254), min_size=1, max_size=5, unique=True),
    local=st.booleans(),
    ready=st.lists(st.booleans(), min_size=4, max_size=4),
    seed=st.randoms(use_true_random=False),
)
def test_announce_is_deterministic_and_order_independent(
    names: list[str], hosts: list[int], local: bool, ready: list[bool], seed: Any
) -> None:
    services = tuple(
        Service(
            ServiceRef("default", f"s{h}"),
            current_ips=(IPv4Address(f"198.51.100.{h}"),),
            external_traffic_policy="Local" if local else "Cluster",
        )
        for h in hosts
    )
    slices = tuple(
        EndpointSlice(
            s.ref, "e", tuple(Endpoint(n, ready=r, serving=r) for n, r in zip(names, ready, strict=False))
        )
        for s in services
    )
    nodes = tuple(Node(n) for n in names)
    cfg = config(
        advs=(adv(communities=("64500:7",)),),
        l2=(L2Advertisement(name="l2", pools=("public",)),),
    )
    snap = Snapshot(services, nodes, slices)
    shuffled = list(services), list(nodes), list(slices)
    for part in shuffled:
        seed.shuffle(part)
    other = Snapshot(tuple(shuffled[0]), tuple(shuffled[1]), tuple(shuffled[2]))
    for name in names:
        assert announce(snap, cfg, name) == announce(other, cfg, name)
    expected_owners = 1 if any(ready[: len(names)]) else 0
    for svc in services:
        ip = svc.current_ips[0]
        count = sum(1 for n in names if any(a.ip == ip for a in announce(snap, cfg, n).l2))
        assert count == expected_owners


def test_decision_carries_pool_and_peers() -> None:
    decision = announce(snapshot(), config(), "n1").decisions[0]
    assert (decision.pool, decision.peers, decision.l2) == ("public", ("router",), False)


def test_unchanged_routes_are_the_same_objects_in_the_next_plan() -> None:
    """What lets the Adj-RIB-Out diff only the changed middle (docs/bgp-session.md)."""
    cfg = config(advs=(adv(communities=("64501:100",)),))
    one = Service(ServiceRef("default", "one"), current_ips=(ip_address("198.51.100.1"),))
    two = Service(ServiceRef("default", "two"), current_ips=(ip_address("198.51.100.2"),))
    eps = (EndpointSlice(one.ref, "e", (Endpoint("n1"),)), EndpointSlice(two.ref, "e", (Endpoint("n1"),)))
    before = announce(Snapshot(services=(one,), nodes=(Node("n1"),), endpoint_slices=eps), cfg, "n1")
    after = announce(Snapshot(services=(one, two), nodes=(Node("n1"),), endpoint_slices=eps), cfg, "n1")
    (old,) = before.routes_for("router")
    first, second = after.routes_for("router")
    assert first is old
    assert second.prefix == ip_network("198.51.100.2/32")
    assert second.communities == (parse_community("64501:100"),)
    changed = announce(
        Snapshot(services=(one,), nodes=(Node("n1"),), endpoint_slices=eps),
        config(advs=(adv(communities=("64501:200",)),)),
        "n1",
    )
    (new,) = changed.routes_for("router")
    assert new is not old and new.communities == (parse_community("64501:200"),)


@given(st.integers(0, 2**32 - 1), st.integers(0, 32), st.integers(0, 2**128 - 1), st.integers(0, 128))
def test_aggregate_widens_the_address(v4: int, length: int, v6: int, length6: int) -> None:
    advertisement = adv(aggregation_length=length, aggregation_length_v6=length6)
    four, six = IPv4Address(v4), IPv6Address(v6)
    assert aggregate(four, advertisement) == ip_network(f"{four}/{length}", strict=False)
    assert aggregate(six, advertisement) == ip_network(f"{six}/{length6}", strict=False)
