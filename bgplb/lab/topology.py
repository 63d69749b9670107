"""The lab as data: addresses, the example configuration directory and the router's plan.

Design: nothing here touches the system. `LabSpec` (node count, IPv6, hold time) determines every
address and every document; `example_documents` is the YAML directory the nodes run `bgplb run` from (real
MetalLB and Kubernetes kinds, written once and shared by every node, as a cluster shares its API), and
`router_plan` feeds the same configuration and the node list to bgplb's router renderer, so the lab router
runs exactly what `bgplb router-config` prints for that cluster (AS 64500, nodes in AS 64501, seed 000).

Addresses: the LAN is 10.77.0.0/24 (router .1, nodes .11, .12, …; fd00:77::/64 with IPv6), the client sits
behind the router on 10.78.0.0/24 (router .1, client .2; fd00:78::/64). Service IPs come from
198.51.100.0/24 (2001:db8:100::/120) and are pinned with `metallb.io/loadBalancerIPs`, so the lab knows
them before the controller has run.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

from bgplb.config.build import build_config
from bgplb.errors import ConfigError
from bgplb.routers.build import RouterOptions, build_plan
from bgplb.routers.nodes import RouterNode
from bgplb.routers.plan import IPAddress, RouterPlan

ROUTER_ASN, NODE_ASN = 64500, 64501
LAN, LAN6 = IPv4Network("10.77.0.0/24"), IPv6Network("fd00:77::/64")
CLIENT_NET, CLIENT_NET6 = IPv4Network("10.78.0.0/24"), IPv6Network("fd00:78::/64")
POOL, POOL6 = IPv4Network("198.51.100.0/24"), IPv6Network("2001:db8:100::/120")
BACKEND_PORT = 80
META = {"namespace": "metallb-system"}
MAX_NODES = 8


@dataclass(frozen=True, slots=True)
class ExampleService:
    """One example Service: its name, its host offset in the pools, Local policy on one node or not."""

    name: str
    host: int
    local_node: str | None = None


SERVICES = (ExampleService("web", 10), ExampleService("local", 11, local_node="node1"))
HEALTH_INTERVAL = 0.5


@dataclass(frozen=True, slots=True)
class LabSpec:
    """What `bgplb lab up` builds: `nodes` nodes, dual stack or not, the BGP hold time the nodes ask for."""

    nodes: int = 3
    ipv6: bool = False
    hold_time: int = 9

    def __post_init__(self) -> None:
        if not 1 <= self.nodes <= MAX_NODES:
            raise ConfigError("LabSpec", "lab", "nodes", f"{self.nodes}: use 1 to {MAX_NODES} nodes")
        if self.hold_time < 3:
            raise ConfigError("LabSpec", "lab", "hold_time", f"{self.hold_time}: at least 3 seconds")

    @property
    def node_names(self) -> tuple[str, ...]:
        """node1, node2, …"""
        return tuple(f"node{i + 1}" for i in range(self.nodes))

    def node_addresses(self, name: str) -> tuple[IPAddress, ...]:
        """The LAN addresses of node `name` (IPv4 first)."""
        index = self.node_names.index(name)
        v4: IPAddress = LAN[11 + index]
        return (v4, LAN6[0x11 + index]) if self.ipv6 else (v4,)

    @property
    def router_addresses(self) -> tuple[IPAddress, ...]:
        """The router's LAN addresses (IPv4 first)."""
        return (LAN[1], LAN6[1]) if self.ipv6 else (LAN[1],)

    @property
    def client_link(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(router side, client side) interface addresses of the client link, with prefix lengths."""
        router = [f"{CLIENT_NET[1]}/24"] + ([f"{CLIENT_NET6[1]}/64"] if self.ipv6 else [])
        client = [f"{CLIENT_NET[2]}/24"] + ([f"{CLIENT_NET6[2]}/64"] if self.ipv6 else [])
        return tuple(router), tuple(client)

    def service_ips(self, service: ExampleService) -> tuple[IPAddress, ...]:
        """The addresses pinned to `service` (IPv4, then IPv6 with `ipv6`)."""
        v4: IPAddress = POOL[service.host]
        return (v4, POOL6[service.host]) if self.ipv6 else (v4,)


def service_ip(host: int, version: int = 4) -> IPv4Address | IPv6Address:
    """The pool address at offset `host` of IP `version`."""
    return POOL[host] if version == 4 else POOL6[host]


def _doc(
    api: str, kind: str, name: str, spec: dict[str, Any], namespace: str = "metallb-system"
) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def config_documents(spec: LabSpec) -> list[dict[str, Any]]:
    """The pool, one BGPPeer per router address, one BGPAdvertisement with a community."""
    ranges = [str(POOL), str(POOL6)] if spec.ipv6 else [str(POOL)]  # dual-stack IPs come from one pool
    pools = [_doc("metallb.io/v1beta1", "IPAddressPool", "lab", {"addresses": ranges})]
    peers = [
        _doc(
            "metallb.io/v1beta2",
            "BGPPeer",
            f"router-v{address.version}",
            {
                "myASN": NODE_ASN,
                "peerASN": ROUTER_ASN,
                "peerAddress": str(address),
                "holdTime": f"{spec.hold_time}s",
                "connectTime": "1s",
            },
        )
        for address in spec.router_addresses
    ]
    advertisement = _doc(
        "metallb.io/v1beta1",
        "BGPAdvertisement",
        "lab",
        {"ipAddressPools": [p["metadata"]["name"] for p in pools], "communities": [f"{NODE_ASN}:100"]},
    )
    return [*pools, *peers, advertisement]


def service_document(name: str, ips: tuple[IPAddress, ...], *, local: bool = False) -> dict[str, Any]:
    """A LoadBalancer Service on port 80 with pinned `ips` (dual stack when there are two)."""
    spec: dict[str, Any] = {"type": "LoadBalancer", "ports": [{"port": BACKEND_PORT, "protocol": "TCP"}]}
    if local:
        spec["externalTrafficPolicy"] = "Local"
    if len(ips) > 1:
        spec["ipFamilyPolicy"] = "RequireDualStack"
        spec["ipFamilies"] = ["IPv4", "IPv6"]
    document = _doc("v1", "Service", name, spec, namespace="default")
    document["metadata"]["annotations"] = {"metallb.io/loadBalancerIPs": ",".join(str(ip) for ip in ips)}
    return document


def endpoint_slice_document(service: str, node: str) -> dict[str, Any]:
    """An EndpointSlice with one ready endpoint of `service` on `node`."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service}-lab",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.0.10"], "nodeName": node, "conditions": {"ready": True}}],
    }


def health_check_document(service: str) -> dict[str, Any]:
    """A bgplb HealthCheck: the node's own backend must accept TCP connections on port 80."""
    spec = {
        "service": service,
        "tcp": {"host": "127.0.0.1", "port": BACKEND_PORT},
        "intervalSeconds": HEALTH_INTERVAL,
        "riseCount": 1,
        "fallCount": 2,
    }
    return _doc("bgplb.io/v1alpha1", "HealthCheck", service, spec, namespace="default")


def node_documents(spec: LabSpec) -> list[dict[str, Any]]:
    """One v1 Node per lab node, with its LAN addresses as InternalIPs."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {
                "addresses": [{"type": "InternalIP", "address": str(a)} for a in spec.node_addresses(name)]
            },
        }
        for name in spec.node_names
    ]


def example_files(spec: LabSpec) -> dict[str, list[dict[str, Any]]]:
    """The example configuration directory: file name -> its documents (`web`: every node, health-checked;
    `local`: externalTrafficPolicy Local with its endpoint on node1)."""
    files: dict[str, list[dict[str, Any]]] = {
        "00-config.yaml": config_documents(spec),
        "10-nodes.yaml": node_documents(spec),
    }
    for service in SERVICES:
        local = service.local_node is not None
        docs = [service_document(service.name, spec.service_ips(service), local=local)]
        if service.local_node is not None:
            docs.append(endpoint_slice_document(service.name, service.local_node))
        else:
            docs.append(health_check_document(service.name))
        files[f"20-service-{service.name}.yaml"] = docs
    return files


def router_plan(spec: LabSpec) -> RouterPlan:
    """The router's plan for the example configuration and the lab's nodes (as `bgplb router-config`)."""
    result = build_config(config_documents(spec))
    if result.config is None:
        raise result.errors[0] if result.errors else ConfigError("Config", "lab", "", "no configuration")
    nodes = [RouterNode(name, spec.node_addresses(name)) for name in spec.node_names]
    return build_plan(result.config, nodes, RouterOptions(asn=ROUTER_ASN, router_id=LAN[1]))
