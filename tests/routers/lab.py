"""The interop topology of the router tests: one router and N nodes on a bridged LAN, `bgplb speak` on nodes.

The configuration is real MetalLB YAML (as dicts) built by `build_config`, the nodes are `RouterNode`s with
the addresses the kit gave them, so the rendered router config is exactly what `bgplb router-config`
prints for that cluster. With `ipv6=True` the LAN is dual stack: a second pool (IPv6) and a second BGPPeer
(the router's IPv6 address), i.e. one session per family as MetalLB does by default. With
`two_routers=True` a second router (BGPPeer `router-b` at 10.99.0.2) joins the LAN and the advertisements
use `peers`: pool to `router` only, pool-b to `router-b` only; each router gets its own rendered plan. With
`racks=True` the first half of the nodes carry label `rack: rack1`, the others `rack: rack2`, and pool is
advertised from rack1's nodes only (advertisement nodeSelectors), pool-b from every node.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv6Address, ip_network
from typing import Any

from bgplb.config.build import build_config
from bgplb.lab.netns import Namespace, Netkit
from bgplb.routers.build import RouterOptions, build_plan
from bgplb.routers.nodes import RouterNode
from bgplb.routers.plan import IPAddress, IPNetwork, RouterPlan
from tests.interop.speaker import Speak

ROUTER_ASN = 64600
NODE_ASN = 64601
ROUTER_ADDRESS = IPv4Address("10.99.0.1")
ROUTER_ADDRESS6 = IPv6Address("fd00:99::1")
ROUTER_B_ADDRESS = IPv4Address("10.99.0.2")
POOL = ip_network("10.250.0.0/24")
POOL6 = ip_network("fd00:250::/120")
SERVICE_IP = ip_network("10.250.0.7/32")
SERVICE_IP6 = ip_network("fd00:250::7/128")
POOL_B = ip_network("10.251.0.0/24")
SERVICE_IP_B = ip_network("10.251.0.7/32")
"""An address of pool-b, which the two-router configuration advertises to router-b only."""
OUTSIDE = ip_network("192.0.2.99/32")
OUTSIDE6 = ip_network("2001:db8:dead::1/128")
"""Prefixes outside every pool: a node announcing them must be refused by the router's inbound filter."""
META = {"namespace": "metallb-system"}
RACK_LABEL = "rack"


def _peer(name: str, address: IPAddress) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta2",
        "kind": "BGPPeer",
        "metadata": {"name": name, **META},
        "spec": {"myASN": NODE_ASN, "peerASN": ROUTER_ASN, "peerAddress": str(address)},
    }


def _pool(name: str, network: IPNetwork) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, **META},
        "spec": {"addresses": [str(network)]},
    }


def _advertisement(name: str, pools: list[str], peers: list[str], rack: str = "") -> dict[str, Any]:
    selectors = {"nodeSelectors": [{"matchLabels": {RACK_LABEL: rack}}]} if rack else {}
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "BGPAdvertisement",
        "metadata": {"name": name, **META},
        "spec": {"ipAddressPools": pools, **({"peers": peers} if peers else {}), **selectors},
    }


def metallb_resources(ipv6: bool, two_routers: bool = False, racks: bool = False) -> list[dict[str, Any]]:
    """The cluster's configuration: the pool(s), the BGPAdvertisement(s), one BGPPeer per router address."""
    pools = ["pool", "pool6"] if ipv6 else ["pool"]
    if racks:
        return [
            _pool("pool", POOL),
            _pool("pool-b", POOL_B),
            _advertisement("rack1-hosts", ["pool"], [], rack="rack1"),
            _advertisement("hosts-b", ["pool-b"], []),
            _peer("router", ROUTER_ADDRESS),
        ]
    if two_routers:
        return [
            _pool("pool", POOL),
            _pool("pool-b", POOL_B),
            _advertisement("hosts", ["pool"], ["router"]),
            _advertisement("hosts-b", ["pool-b"], ["router-b"]),
            _peer("router", ROUTER_ADDRESS),
            _peer("router-b", ROUTER_B_ADDRESS),
        ]
    resources = [_pool("pool", POOL), _advertisement("hosts", pools, []), _peer("router", ROUTER_ADDRESS)]
    return [*resources, _pool("pool6", POOL6), _peer("router6", ROUTER_ADDRESS6)] if ipv6 else resources


@dataclass(frozen=True, slots=True)
class Topology:
    """The router namespace, the node namespaces with their addresses (IPv4 first), and the plan for them.

    `router_b` and `plan_b` are the second router of a two-router topology.
    """

    router: Namespace
    nodes: tuple[tuple[Namespace, tuple[IPAddress, ...]], ...]
    plan: RouterPlan
    ipv6: bool
    router_b: Namespace | None = None
    plan_b: RouterPlan | None = None


def build(
    netkit: Netkit,
    count: int,
    *,
    ipv6: bool = False,
    options: RouterOptions | None = None,
    two_routers: bool = False,
    racks: bool = False,
) -> Topology:
    """A LAN: the router at 10.99.0.1 (fd00:99::1), nodes at 10.99.0.11, .12, ... (fd00:99::11, ...).

    With `two_routers`, router-b at 10.99.0.2 (IPv4 only).
    """
    lan = netkit.bridge("lan")
    router = netkit.namespace("router", forwarding=True)
    lan.attach(router, [f"{ROUTER_ADDRESS}/24", *([f"{ROUTER_ADDRESS6}/64"] if ipv6 else [])])
    router_b = netkit.namespace("router-b", forwarding=True) if two_routers else None
    if router_b is not None:
        lan.attach(router_b, [f"{ROUTER_B_ADDRESS}/24"])
    nodes = []
    for i in range(count):
        ns = netkit.namespace(f"node{i + 1}")
        addresses: tuple[IPAddress, ...] = (IPv4Address(f"10.99.0.{11 + i}"),)
        if ipv6:
            addresses += (IPv6Address(f"fd00:99::{11 + i}"),)
        lan.attach(ns, [f"{a}/{24 if a.version == 4 else 64}" for a in addresses])
        nodes.append((ns, addresses))
    result = build_config(metallb_resources(ipv6, two_routers, racks))
    assert result.config is not None, result.errors
    router_nodes = [
        RouterNode(ns.role, addresses, ((RACK_LABEL, "rack1" if i < (count + 1) // 2 else "rack2"),))
        for i, (ns, addresses) in enumerate(nodes)
    ]
    if router_b is None:
        return Topology(router, tuple(nodes), build_plan(result.config, router_nodes, options), ipv6)
    base = options or RouterOptions()
    plan, plan_b = (
        build_plan(result.config, router_nodes, replace(base, peers=(name,)))
        for name in ("router", "router-b")
    )
    return Topology(router, tuple(nodes), plan, ipv6, router_b, plan_b)


def start_speakers(
    topology: Topology, prefixes: tuple[IPNetwork, ...], *, ttl_security: bool = False
) -> list[Speak]:
    """`bgplb speak` on every node (AS 64601), each prefix announced on every session of its family.

    Sending every prefix to every router is what a misconfigured node does: the routers' filters decide.
    """
    routers: list[IPAddress] = [ROUTER_ADDRESS, *([ROUTER_ADDRESS6] if topology.ipv6 else [])]
    if topology.router_b is not None:
        routers.append(ROUTER_B_ADDRESS)
    speakers = []
    for ns, addresses in topology.nodes:
        config = {
            "local_asn": NODE_ASN,
            "router_id": str(addresses[0]),
            "peers": [
                {"address": str(r), "asn": ROUTER_ASN, "families": [f"ipv{r.version}"]}
                | ({"ttl_security": 1} if ttl_security else {})
                for r in routers
            ],
            "prefixes": [
                {"prefix": str(p), "peers": [str(r) for r in routers if r.version == p.version]}
                for p in prefixes
            ],
        }
        speakers.append(Speak(ns, config, name=f"speak-{ns.role}").start())
    for speaker in speakers:
        for router in routers:
            speaker.wait_established(router, timeout=30)
    return speakers
