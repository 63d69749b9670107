"""Inbound policies: BGPAdvertisement `peers` and `nodeSelectors` make each router (and each group of
neighbors) accept only the pools those nodes send it.

Checked against planning's own view of what a node sends each BGPPeer (`aggregate`, `peer_versions`,
and `announce` for whole nodes).
"""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address, ip_network

import pytest

from bgplb.config.models import Config
from bgplb.errors import ConfigError
from bgplb.planning.announcement import aggregate, announce, peer_versions
from bgplb.planning.snapshot import Endpoint, EndpointSlice, Service, ServiceRef, Snapshot
from bgplb.planning.snapshot import Node as SnapshotNode
from bgplb.routers.build import RouterOptions, build_plan
from bgplb.routers.plan import Family, PrefixRule
from tests.routers.test_build import BASIC, NODES, advertisement, config, node, peer, pool

TWO_ROUTERS = (
    pool("web", "198.51.100.0/26"),
    pool("db", "203.0.113.0/27"),
    pool("shared", "10.20.0.0/24", "2001:db8:20::/120"),
    advertisement("web-to-a", ["web"], peers=["tor-a"]),
    advertisement("db-to-b", ["db"], peers=["tor-b"]),
    advertisement("shared-to-a", ["shared"], peers=["tor-a"], aggregationLength=28, aggregationLengthV6=124),
    advertisement("shared-to-b", ["shared"], peers=["tor-b"]),
    peer("tor-a", "192.0.2.1", dualStackAddressFamily=True),
    peer("tor-b", "192.0.2.2", peer_asn=65001),
)


def rule(network: str, ge: int | None = None, le: int | None = None) -> PrefixRule:
    return PrefixRule(ip_network(network), ge, le)


def test_each_router_accepts_only_the_pools_advertised_to_it_at_its_lengths() -> None:
    cfg = config(*TWO_ROUTERS)
    tor_a = build_plan(cfg, NODES, RouterOptions(addresses=(ip_address("192.0.2.1"),)))
    assert [p.name for p in tor_a.policies] == [""]  # one policy: the plain names are kept
    assert tor_a.rules(Family.IPV4) == (rule("10.20.0.0/24", 28, 28), rule("198.51.100.0/26", le=32))
    assert tor_a.rules(Family.IPV6) == (rule("2001:db8:20::/120", 124, 124),)
    assert any("pool db is advertised only to BGPPeer(s) tor-b" in note for note in tor_a.notes)
    tor_b = build_plan(cfg, NODES, RouterOptions(peers=("tor-b",)))
    assert (tor_b.asn, tor_b.families) == (65001, (Family.IPV4,))
    assert tor_b.rules(Family.IPV4) == (rule("10.20.0.0/24", le=32), rule("203.0.113.0/27", le=32))
    assert any("pool web is advertised only to BGPPeer(s) tor-a" in note for note in tor_b.notes)


def test_plan_rules_match_what_the_speakers_announce_to_each_router() -> None:
    """What a node sends a BGPPeer (planning's aggregate) is accepted there; other routers' pools are not."""
    cfg = config(*TWO_ROUTERS)
    checked = 0
    for bgp_peer in cfg.peers:
        plan = build_plan(cfg, NODES, RouterOptions(peers=(bgp_peer.name,)))
        (group,) = plan.groups
        assert {f.value for f in group.families} == {f"ipv{v}" for v in peer_versions(bgp_peer)}
        for pool_ in cfg.pools:
            ads = [a for a in cfg.bgp_advertisements if pool_.name in a.pools]
            reaching = [a for a in ads if not a.peers or bgp_peer.name in a.peers]
            for network in pool_.networks():
                if network.version not in peer_versions(bgp_peer):
                    continue  # the speakers send this family to another BGPPeer only
                for ip in (network.network_address, network.broadcast_address):
                    for ad in ads:
                        sent = aggregate(ip, ad)
                        accepted = any(r.accepts(sent) for r in plan.rules(Family.of(sent), group.policy))
                        if ad in reaching or not reaching:
                            assert accepted == (ad in reaching), (bgp_peer.name, ad.name, sent)
                            checked += 1
    assert checked == 14
    # tor-a takes the shared pool only as /28 aggregates: tor-b's host routes of it are refused there.
    tor_a = build_plan(cfg, NODES, RouterOptions(peers=("tor-a",)))
    assert not any(r.accepts(ip_network("10.20.0.5/32")) for r in tor_a.rules(Family.IPV4))


RACKS = (
    pool("red", "198.51.100.0/26"),
    pool("blue", "198.51.100.64/26"),
    pool("common", "10.30.0.0/24"),
    advertisement("red-rack1", ["red"], peers=["rack1"]),
    advertisement("blue-rack2", ["blue"], peers=["rack2"]),
    advertisement("common", ["common"]),
    advertisement("common-agg", ["common"], peers=["rack2"], aggregationLength=26),
    peer("rack1", "192.0.2.1", nodeSelectors=[{"matchLabels": {"rack": "1"}}]),
    peer("rack2", "192.0.2.1", nodeSelectors=[{"matchLabels": {"rack": "2"}}]),
)


def test_peers_of_one_router_reaching_different_pools_get_named_policies() -> None:
    plan = build_plan(config(*RACKS), NODES)
    assert [(g.name, g.policy, [n.node for n in g.neighbors]) for g in plan.groups] == [
        ("BGPLB-RACK1", "RACK1", ["a"]),
        ("BGPLB-RACK2", "RACK2", ["b"]),
    ]
    assert plan.rules(Family.IPV4, "RACK1") == (rule("10.30.0.0/24", le=32), rule("198.51.100.0/26", le=32))
    assert plan.rules(Family.IPV4, "RACK2") == (
        rule("10.30.0.0/24", 26, 26),  # two lengths for one range: each exactly, not ge 26 le 32
        rule("10.30.0.0/24", 32, 32),
        rule("198.51.100.64/26", le=32),
    )
    assert len(plan.prefix_rules) == 5
    # Without the restrictions the same peers merge into one group with the one shared policy.
    unrestricted = (*RACKS[:3], advertisement("all", ["red", "blue", "common"]), *RACKS[7:])
    plan = build_plan(config(*unrestricted), NODES)
    assert [(g.policy, len(g.neighbors)) for g in plan.groups] == [("", 2)]
    assert [p.name for p in plan.policies] == [""]


def test_sessions_of_different_families_share_a_policy_when_they_agree_where_both_carry() -> None:
    resources = (
        pool("p4", "198.51.100.0/24"),
        pool("p6", "2001:db8:1::/120"),
        advertisement("to-v4", ["p4"], peers=["r4"]),
        advertisement("to-v6", ["p6"], peers=["r6"]),
        peer("r4", "192.0.2.1"),
        peer("r6", "2001:db8::1"),
    )
    plan = build_plan(config(*resources), NODES)
    assert [(g.families, g.policy) for g in plan.groups] == [((Family.IPV4,), ""), ((Family.IPV6,), "")]
    assert plan.policies[0].families == (Family.IPV4, Family.IPV6)
    assert [str(r.network) for r in plan.prefix_rules] == ["198.51.100.0/24", "2001:db8:1::/120"]


def test_peer_option_selects_bgppeers_by_name_and_names_an_unknown_one() -> None:
    cfg = config(*BASIC, peer("tor-a", "192.0.2.1"), peer("tor-b", "192.0.2.2"))
    with pytest.raises(ConfigError, match="--router-address or --peer"):
        build_plan(cfg, NODES)
    assert build_plan(cfg, NODES, RouterOptions(peers=("tor-b",))).router_id == IPv4Address("192.0.2.2")
    with pytest.raises(ConfigError, match="no such BGPPeer") as raised:
        build_plan(cfg, NODES, RouterOptions(peers=("tor-c",)))
    assert (raised.value.name, raised.value.field_path) == ("tor-c", "metadata.name")


def test_policy_names_stay_distinct_when_two_peer_names_spell_the_same_group_name() -> None:
    resources = (
        pool("red", "198.51.100.0/26"),
        pool("blue", "198.51.100.64/26"),
        advertisement("red", ["red"], peers=["rack.1"]),
        advertisement("blue", ["blue"], peers=["rack-1"]),
        peer("rack.1", "192.0.2.1", nodeSelectors=[{"matchLabels": {"rack": "1"}}]),
        peer("rack-1", "192.0.2.1", nodeSelectors=[{"matchLabels": {"rack": "2"}}]),
    )
    plan = build_plan(config(*resources), NODES)
    assert [p.name for p in plan.policies] == ["RACK-1", "RACK-1-2"]
    assert [g.policy for g in plan.groups] == ["RACK-1", "RACK-1-2"]


# Advertisement nodeSelectors: two racks by label, one router per BGPPeer. rack1-only (dual-stack) is sent
# from rack1 only; everywhere from every node, and from rack2 also as /28 aggregates, to tor-b only.
ZONE = "topology.kubernetes.io/zone"
RACK_NODES = [
    node("r1-n1", "192.0.2.11", **{ZONE: "rack1"}),
    node("r1-n2", "192.0.2.12", **{ZONE: "rack1"}),
    node("r2-n1", "192.0.2.21", **{ZONE: "rack2"}),
    node("r2-n2", "192.0.2.22", **{ZONE: "rack2"}),
]
RACK_ADS = (
    pool("rack1-only", "198.51.100.0/26", "2001:db8:30::/120"),
    pool("everywhere", "203.0.113.0/27"),
    advertisement("from-rack1", ["rack1-only"], nodeSelectors=[{"matchLabels": {ZONE: "rack1"}}]),
    advertisement("from-all", ["everywhere"]),
    advertisement(
        "rack2-agg",
        ["everywhere"],
        peers=["tor-b"],
        aggregationLength=28,
        nodeSelectors=[{"matchExpressions": [{"key": ZONE, "operator": "In", "values": ["rack2"]}]}],
    ),
    peer("tor-a", "192.0.2.1", dualStackAddressFamily=True),
    peer("tor-b", "192.0.2.2", peer_asn=65001),
)


def test_advertisement_node_selectors_split_a_peer_into_groups_by_what_the_nodes_send() -> None:
    cfg = config(*RACK_ADS)
    tor_a = build_plan(cfg, RACK_NODES, RouterOptions(peers=("tor-a",)))
    assert [(g.name, g.policy, g.families, [n.node for n in g.neighbors]) for g in tor_a.groups] == [
        ("BGPLB-TOR-A", "TOR-A", (Family.IPV4, Family.IPV6), ["r1-n1", "r1-n2"]),
        ("BGPLB-TOR-A-2", "TOR-A-2", (Family.IPV4,), ["r2-n1", "r2-n2"]),  # no IPv6 pool from rack2
    ]
    assert tor_a.rules(Family.IPV4, "TOR-A") == (
        rule("198.51.100.0/26", le=32),
        rule("203.0.113.0/27", le=32),
    )
    assert tor_a.rules(Family.IPV6, "TOR-A") == (rule("2001:db8:30::/120", le=128),)
    assert tor_a.rules(Family.IPV4, "TOR-A-2") == (rule("203.0.113.0/27", le=32),)
    assert tor_a.maximum_paths == 4
    tor_b = build_plan(cfg, RACK_NODES, RouterOptions(peers=("tor-b",)))
    assert [(g.policy, [n.node for n in g.neighbors]) for g in tor_b.groups] == [
        ("TOR-B", ["r1-n1", "r1-n2"]),
        ("TOR-B-2", ["r2-n1", "r2-n2"]),
    ]
    assert tor_b.rules(Family.IPV4, "TOR-B-2") == (
        rule("203.0.113.0/27", 28, 28),
        rule("203.0.113.0/27", 32, 32),
    )


def test_without_advertisement_node_selectors_the_groups_and_names_stay_as_they_were() -> None:
    unselected = [
        {**r, "spec": {k: v for k, v in r["spec"].items() if k != "nodeSelectors"}} for r in RACK_ADS
    ]
    plan = build_plan(config(*unselected), RACK_NODES, RouterOptions(peers=("tor-b",)))
    assert [(g.name, g.policy, len(g.neighbors)) for g in plan.groups] == [("BGPLB-TOR-B", "", 4)]


def test_a_node_no_advertisement_selects_may_send_nothing() -> None:
    resources = (
        pool("p", "198.51.100.0/26"),
        advertisement("rack1", ["p"], nodeSelectors=[{"matchLabels": {ZONE: "rack1"}}]),
        peer("tor", "192.0.2.1"),
    )
    plan = build_plan(config(*resources), RACK_NODES)
    assert [(g.policy, [n.node for n in g.neighbors]) for g in plan.groups] == [
        ("TOR", ["r1-n1", "r1-n2"]),
        ("TOR-2", ["r2-n1", "r2-n2"]),
    ]
    assert plan.rules(Family.IPV4, "TOR-2") == ()  # rendered as an explicit deny


def _snapshot(cfg: Config) -> Snapshot:
    """A Service at the first and last address of every pool range, served on every node."""
    services = []
    for pool_ in cfg.pools:
        for i, network in enumerate(pool_.networks()):
            ips = (network.network_address, network.broadcast_address)
            services += [
                Service(ServiceRef("default", f"{pool_.name}-{i}-{j}"), current_ips=(ip,))
                for j, ip in enumerate(ips)
            ]
    nodes = tuple(SnapshotNode(n.name, n.label_map, n.addresses) for n in RACK_NODES)
    slices = tuple(
        EndpointSlice(s.ref, s.ref.name, tuple(Endpoint(n.name) for n in RACK_NODES)) for s in services
    )
    return Snapshot(tuple(services), nodes, slices)


def test_each_neighbor_accepts_exactly_the_pools_planning_makes_its_node_send_that_router() -> None:
    """For every node and BGPPeer: the routes `announce` gives that session pass the node's inbound filter
    on that router, and no prefix of a pool the node sends nothing of (to that peer) does."""
    cfg = config(*RACK_ADS)
    snapshot = _snapshot(cfg)
    sent = {
        (n.name, p.name): {r.prefix for r in announce(snapshot, cfg, n.name).routes_for(p.name)}
        for n in RACK_NODES
        for p in cfg.peers
    }
    everything = set().union(*sent.values())
    assert len(everything) == 8  # rack1-only: 2 IPv4 + 2 IPv6 hosts; everywhere: 2 hosts + 2 /28s
    checked = refused = 0
    for bgp_peer in cfg.peers:
        plan = build_plan(cfg, RACK_NODES, RouterOptions(peers=(bgp_peer.name,)))
        for group in plan.groups:
            for neighbor in group.neighbors:
                mine = sent[(neighbor.node, bgp_peer.name)]
                pools = {cfg.pool_of(p.network_address) for p in mine}
                for prefix in everything:
                    family = Family.of(prefix)
                    rules = plan.rules(family, group.policy) if family in group.families else ()
                    accepted = any(r.accepts(prefix) for r in rules)
                    if prefix in mine:
                        assert accepted, (bgp_peer.name, neighbor.node, prefix)
                        checked += 1
                    elif cfg.pool_of(prefix.network_address) not in pools:
                        assert not accepted, (bgp_peer.name, neighbor.node, prefix)
                        refused += 1
    assert (checked, refused) == (32, 16)  # 6+6+2+2 to tor-a, 4 each to tor-b; rack2 x rack1-only x 2


def test_a_pool_whose_advertisements_select_none_of_the_routers_nodes_gets_a_note() -> None:
    resources = (
        pool("p", "198.51.100.0/26"),
        pool("q", "203.0.113.0/27"),
        advertisement("rack3", ["p"], nodeSelectors=[{"matchLabels": {ZONE: "rack3"}}]),
        advertisement("all", ["q"]),
        peer("tor", "192.0.2.1"),
    )
    plan = build_plan(config(*resources), RACK_NODES)
    assert [n for n in plan.notes if "nodeSelectors" in n] == [
        "pool p: the nodeSelectors of its BGPAdvertisement(s) select none of this router's neighbors:"
        " the router will not accept it"
    ]
    assert [r.network for r in plan.prefix_rules] == [ip_network("203.0.113.0/27")]
