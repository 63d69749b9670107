"""Small builders of MetalLB resource dicts for the config tests (plain data, as parsed from YAML)."""

from __future__ import annotations

import zlib
from typing import Any

NS = "metallb-system"
Resource = dict[str, Any]


def crd(kind: str, name: str, version: str = "v1beta1", namespace: str = NS, **spec: Any) -> Resource:
    """A metallb.io object with `spec`."""
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    labels = spec.pop("labels", None)
    if labels:
        meta["labels"] = labels
    return {"apiVersion": f"metallb.io/{version}", "kind": kind, "metadata": meta, "spec": spec}


def pool(name: str, *addresses: str, **spec: Any) -> Resource:
    """An IPAddressPool."""
    return crd("IPAddressPool", name, addresses=list(addresses), **spec)


def peer(
    name: str, my_asn: int = 64512, peer_asn: int | None = 64513, address: str | None = None, **spec: Any
) -> Resource:
    """A v1beta2 BGPPeer; the router address defaults to one derived from the name (distinct sessions)."""
    if address is None:
        digest = zlib.crc32(name.encode())
        address = f"172.16.{(digest >> 8) & 255}.{digest & 255}"
    fields: dict[str, Any] = {"myASN": my_asn, "peerAddress": address, **spec}
    if peer_asn is not None:
        fields["peerASN"] = peer_asn
    return crd("BGPPeer", name, version="v1beta2", **fields)


def bgp_adv(name: str, *pools: str, **spec: Any) -> Resource:
    """A BGPAdvertisement of `pools`."""
    if pools:
        spec["ipAddressPools"] = list(pools)
    return crd("BGPAdvertisement", name, **spec)


def l2_adv(name: str, *pools: str, **spec: Any) -> Resource:
    """An L2Advertisement of `pools`."""
    if pools:
        spec["ipAddressPools"] = list(pools)
    return crd("L2Advertisement", name, **spec)


def secret(name: str, namespace: str = NS) -> Resource:
    """A v1 Secret (only its name matters to bgplb)."""
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}}


def configmap(config: str, name: str = "config", namespace: str = NS) -> Resource:
    """A MetalLB legacy ConfigMap holding `config` (YAML text) under data.config."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"config": config},
    }


def valid_base() -> list[Resource]:
    """A small valid configuration: one pool, one peer, one advertisement."""
    return [
        pool("base", "198.51.100.0/24"),
        peer("base-peer", address="192.0.2.1"),
        bgp_adv("base-adv", "base"),
    ]
