"""Inbound policies: BGPAdvertisement `peers` make each router (and each group) accept only its pools.

Checked against planning's own view of what a node sends each BGPPeer (`aggregate`, `peer_versions`).
"""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address, ip_network

import pytest

from bgplb.errors import ConfigError
from bgplb.planning.announcement import aggregate, peer_versions
from bgplb.routers.build import RouterOptions, build_plan
from bgplb.routers.plan import Family, PrefixRule
from tests.routers.test_build import BASIC, NODES, advertisement, config, peer, pool

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
