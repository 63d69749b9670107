"""Kubernetes objects for the speaker tests (plain dicts as the API server stores them), and seeding."""

from __future__ import annotations

from typing import Any

from tests.k8s_double.server import ApiServerDouble

NS = "metallb-system"
Obj = dict[str, Any]


def node(name: str, address: str, **labels: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **labels}},
        "status": {
            "addresses": [{"type": "InternalIP", "address": address}],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def service(name: str, ip: str | None, *, policy: str = "Cluster", ns: str = "default", **spec: Any) -> Obj:
    status = {"loadBalancer": {"ingress": [{"ip": ip}]}} if ip else {}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "annotations": {}},
        "spec": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": policy,
            "ports": [{"port": 80, "protocol": "TCP"}],
            **spec,
        },
        "status": status,
    }


def endpoint_slice(service_name: str, *nodes: str, ns: str = "default", ready: bool = True) -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service_name}-abcde",
            "namespace": ns,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": [f"10.244.{i}.10"], "conditions": {"ready": ready}, "nodeName": n}
            for i, n in enumerate(nodes)
        ],
        "ports": [{"port": 8080, "protocol": "TCP"}],
    }


def pool(name: str, *addresses: str) -> Obj:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"addresses": list(addresses)},
    }


def advertisement(name: str, *pools: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "BGPAdvertisement",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"ipAddressPools": list(pools), **spec},
    }


def peer(name: str, address: str, *, my_asn: int = 64501, peer_asn: int = 64500, **spec: Any) -> Obj:
    return {
        "apiVersion": "metallb.io/v1beta2",
        "kind": "BGPPeer",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"myASN": my_asn, "peerASN": peer_asn, "peerAddress": address, **spec},
    }


PLURALS = {
    "Node": ("nodes", ""),
    "Service": ("services", ""),
    "EndpointSlice": ("endpointslices", "discovery.k8s.io"),
    "IPAddressPool": ("ipaddresspools", "metallb.io"),
    "BGPAdvertisement": ("bgpadvertisements", "metallb.io"),
    "BGPPeer": ("bgppeers", "metallb.io"),
    "Secret": ("secrets", ""),
    "Namespace": ("namespaces", ""),
}


def seed(api: ApiServerDouble, *objects: Obj) -> None:
    """Store each object as-is (status included)."""
    for obj in objects:
        plural, group = PLURALS[obj["kind"]]
        api.seed(obj["kind"], plural, obj, group=group)


def cluster(
    api: ApiServerDouble, peer_address: str = "10.0.0.1", node_name: str = "node-1", **peer_spec: Any
) -> None:
    """Two nodes, one pool with a BGP advertisement, one peer, the default namespace."""
    seed(
        api,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}},
        node(node_name, "10.0.0.2"),
        node("node-2", "10.0.0.3"),
        pool("lan", "192.168.10.0/24"),
        advertisement("lan-bgp", "lan"),
        peer("router", peer_address, **peer_spec),
    )
