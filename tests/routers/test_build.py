"""build_plan: Config + nodes -> RouterPlan (neighbors, groups, families, filters, ECMP, notes, errors)."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address, ip_network
from typing import Any

import pytest

from bgplb.config.build import build_config
from bgplb.config.models import Config
from bgplb.errors import ConfigError
from bgplb.routers.build import MAX_PATHS, RouterOptions, build_plan
from bgplb.routers.nodes import RouterNode
from bgplb.routers.plan import Family, PrefixRule

META = {"namespace": "metallb-system"}


def pool(name: str, *addresses: str) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, **META},
        "spec": {"addresses": list(addresses)},
    }


def advertisement(name: str, pools: list[str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "BGPAdvertisement",
        "metadata": {"name": name, **META},
        "spec": {"ipAddressPools": pools, **spec},
    }


def peer(name: str, address: str, my_asn: int = 65010, peer_asn: int = 65000, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta2",
        "kind": "BGPPeer",
        "metadata": {"name": name, **META},
        "spec": {"myASN": my_asn, "peerASN": peer_asn, "peerAddress": address, **spec},
    }


def config(*resources: dict[str, Any]) -> Config:
    result = build_config(list(resources))
    assert result.config is not None, result.errors
    return result.config


def node(name: str, *addresses: str, **labels: str) -> RouterNode:
    return RouterNode(name, tuple(ip_address(a) for a in addresses), tuple(sorted(labels.items())))


NODES = [node("a", "192.0.2.11", "2001:db8::11", rack="1"), node("b", "192.0.2.12", rack="2")]
BASIC = (pool("p", "198.51.100.0/24"), advertisement("adv", ["p"]))


def test_one_neighbor_per_selected_node_in_one_ebgp_group() -> None:
    plan = build_plan(config(*BASIC, peer("r", "192.0.2.1")), NODES)
    assert plan.asn == 65000 and plan.router_id == IPv4Address("192.0.2.1")
    (group,) = plan.groups
    assert [str(n.address) for n in group.neighbors] == ["192.0.2.11", "192.0.2.12"]
    assert (group.remote_asn, group.ibgp, group.families) == (65010, False, (Family.IPV4,))
    assert group.update_source == ip_address("192.0.2.1")
    assert plan.prefix_rules == (PrefixRule(ip_network("198.51.100.0/24"), le=32),)
    assert (plan.maximum_paths, plan.multipath_relax) == (2, False)


def test_same_asn_is_ibgp_and_node_selectors_pick_nodes() -> None:
    selector = [{"matchLabels": {"rack": "2"}}]
    plan = build_plan(config(*BASIC, peer("r", "192.0.2.1", 65000, 65000, nodeSelectors=selector)), NODES)
    (group,) = plan.groups
    assert group.ibgp and [n.node for n in group.neighbors] == ["b"]
    assert plan.maximum_paths_ibgp == 1


def test_peers_with_equal_settings_share_a_group_and_different_asns_need_multipath_relax() -> None:
    rack1 = [{"matchLabels": {"rack": "1"}}]
    rack2 = [{"matchLabels": {"rack": "2"}}]
    same = config(
        *BASIC, peer("r1", "192.0.2.1", nodeSelectors=rack1), peer("r2", "192.0.2.1", nodeSelectors=rack2)
    )
    assert [len(g.neighbors) for g in build_plan(same, NODES).groups] == [2]
    other = config(
        *BASIC,
        peer("r1", "192.0.2.1", nodeSelectors=rack1),
        peer("r2", "192.0.2.1", 65011, nodeSelectors=rack2),
    )
    plan = build_plan(other, NODES)
    assert [g.remote_asn for g in plan.groups] == [65010, 65011]
    assert plan.multipath_relax and plan.maximum_paths == 2


def test_ipv6_session_and_a_node_without_ipv6_is_noted() -> None:
    resources = (pool("p6", "2001:db8:1::/120"), advertisement("adv", ["p6"]), peer("r6", "2001:db8::1"))
    plan = build_plan(config(*resources), NODES, RouterOptions(router_id=IPv4Address("192.0.2.1")))
    (group,) = plan.groups
    assert group.families == (Family.IPV6,) and [n.node for n in group.neighbors] == ["a"]
    assert any("node b has no ipv6 address" in note for note in plan.notes)


def test_dual_stack_address_family_carries_both_families_on_one_session() -> None:
    resources = (
        pool("p4", "198.51.100.0/24"),
        pool("p6", "2001:db8:1::/120"),
        advertisement("adv", ["p4", "p6"]),
    )
    plan = build_plan(config(*resources, peer("r", "192.0.2.1", dualStackAddressFamily=True)), NODES)
    assert plan.groups[0].families == (Family.IPV4, Family.IPV6)
    plain = build_plan(config(*resources, peer("r", "192.0.2.1")), NODES)
    assert plain.groups[0].families == (Family.IPV4,)
    assert any("no session carries ipv6" in note for note in plain.notes)


def test_aggregation_length_becomes_ge_le() -> None:
    resources = (pool("p", "10.20.0.0/24"), advertisement("adv", ["p"], aggregationLength=28))
    plan = build_plan(config(*resources, peer("r", "192.0.2.1")), NODES)
    assert plan.prefix_rules == (PrefixRule(ip_network("10.20.0.0/24"), ge=28, le=28),)


def test_timers_password_bfd_gr_multihop() -> None:
    bfd = {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "BFDProfile",
        "metadata": {"name": "fast", **META},
        "spec": {"receiveInterval": 200, "detectMultiplier": 5},
    }
    spec: dict[str, Any] = {
        "holdTime": "60s",
        "password": "pw",
        "bfdProfile": "fast",
        "enableGracefulRestart": True,
        "ebgpMultiHop": True,
    }
    (group,) = build_plan(config(*BASIC, bfd, peer("r", "192.0.2.1", **spec)), NODES).groups
    assert (group.hold_time, group.keepalive_time, group.password, group.multihop) == (60, 20, "pw", 255)
    assert group.bfd is not None and (group.bfd.receive_interval, group.bfd.detect_multiplier) == (200, 5)
    assert group.graceful_restart


def test_ecmp_is_capped() -> None:
    many = [node(f"n{i}", f"10.0.{i // 250}.{i % 250 + 1}") for i in range(MAX_PATHS + 6)]
    plan = build_plan(config(*BASIC, peer("r", "10.0.0.254")), many)
    assert plan.maximum_paths == MAX_PATHS
    assert any(f"{MAX_PATHS + 6} nodes" in note for note in plan.notes)


def test_several_routers_need_router_asn() -> None:
    cfg = config(*BASIC, peer("r1", "192.0.2.1"), peer("r2", "192.0.2.2", peer_asn=65001))
    with pytest.raises(ConfigError, match="--router-asn"):
        build_plan(cfg, NODES)
    plan = build_plan(cfg, NODES, RouterOptions(asn=65001))
    assert plan.asn == 65001 and plan.router_id == IPv4Address("192.0.2.2")
    with pytest.raises(ConfigError, match="no BGPPeer has peerASN 65002"):
        build_plan(cfg, NODES, RouterOptions(asn=65002))


def test_no_peer_or_no_ipv4_router_id_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="no BGP peer"):
        build_plan(config(*BASIC), NODES)
    with pytest.raises(ConfigError, match="--router-id") as raised:
        build_plan(config(*BASIC, peer("r6", "2001:db8::1")), NODES)
    assert raised.value.field_path == "peerAddress"


def test_pool_without_advertisement_is_noted_and_not_accepted() -> None:
    resources = (pool("p", "198.51.100.0/24"), pool("q", "203.0.113.0/24"), advertisement("adv", ["p"]))
    plan = build_plan(config(*resources, peer("r", "192.0.2.1")), NODES)
    assert [str(r.network) for r in plan.prefix_rules] == ["198.51.100.0/24"]
    assert any("pool q has no BGPAdvertisement" in note for note in plan.notes)


def test_ttl_security_only_on_directly_connected_groups() -> None:
    rack1 = [{"matchLabels": {"rack": "1"}}]
    rack2 = [{"matchLabels": {"rack": "2"}}]
    cfg = config(
        *BASIC,
        peer("direct", "192.0.2.1", nodeSelectors=rack1),
        peer("far", "192.0.2.1", ebgpMultiHop=True, nodeSelectors=rack2),
    )
    plan = build_plan(cfg, NODES, RouterOptions(ttl_security=True))
    assert [(g.name, g.ttl_security, g.multihop) for g in plan.groups] == [
        ("BGPLB-DIRECT", 1, None),
        ("BGPLB-FAR", None, 255),
    ]
    assert any("BGPLB-FAR is multihop" in note for note in plan.notes)
    assert all(g.ttl_security is None for g in build_plan(cfg, NODES).groups)


def test_two_routers_in_one_asn_need_router_address() -> None:
    cfg = config(*BASIC, peer("tor-a", "192.0.2.1"), peer("tor-b", "192.0.2.2"))
    with pytest.raises(ConfigError, match=r"several routers \(192.0.2.1, 192.0.2.2\).*--router-address"):
        build_plan(cfg, NODES)
    plan = build_plan(cfg, NODES, RouterOptions(addresses=(ip_address("192.0.2.2"),)))
    assert plan.router_id == IPv4Address("192.0.2.2") and plan.groups[0].name == "BGPLB-TOR-B"
    with pytest.raises(ConfigError, match=r"no BGPPeer has peerAddress 192\.0\.2\.9"):
        build_plan(cfg, NODES, RouterOptions(addresses=(ip_address("192.0.2.9"),)))
