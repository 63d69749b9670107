"""CiliumBGPPeeringPolicy (cilium.io/v2alpha1) -> BgpPeer per neighbor and BgpAdvertisement(s) per router.

Mapping:
- `nodeSelector` -> every peer's and advertisement's node selector (absent: all nodes);
- each `virtualRouters[i]` (localASN) with `neighbors[j]` -> BgpPeer `<policy>-<localASN>-<address>`
  (peerAddress is CIDR form in Cilium, "10.0.0.1/32"; a bare address is accepted with a warning);
- `serviceSelector` -> advertisement `<policy>-vr<i>` of LoadBalancer addresses of every Cilium pool to that
  router's neighbors. As in Cilium, no serviceSelector announces no Service (warned); the common
  `NotIn` with a dummy value selects every Service and needs no special case;
- `serviceAdvertisements` (default LoadBalancerIP): ClusterIP and ExternalIP are warned, bgplb only announces
  LoadBalancer addresses;
- a neighbor's `advertisedPathAttributes` with selectorType CiliumLoadBalancerIPPool -> one more
  advertisement for that neighbor and the selected pools, carrying its communities and localPreference;
  PodCIDR / CiliumPodIPPool attributes and `exportPodCIDR` / `podIPPoolSelector` are warned (no pod CIDRs).
"""

from __future__ import annotations

from ipaddress import ip_interface

from bgplb.config.cilium_common import (
    DEFAULT_CONNECT_RETRY,
    DEFAULT_HOLD,
    DEFAULT_KEEPALIVE,
    Session,
    make_peer,
    peer_name,
    read_communities,
    read_family,
    read_graceful_restart,
    read_secret,
    read_timer,
)
from bgplb.config.fields import Fields, ObjectMeta, read_selector
from bgplb.config.fragment import Fragment
from bgplb.config.models import BgpAdvertisement, Family, IPAddress, LabelSelector

_SERVICE_ADDRESS_TYPES = ("LoadBalancerIP", "ClusterIP", "ExternalIP")


def read_peering_policy(meta: ObjectMeta, spec: Fields, out: Fragment) -> None:
    """CiliumBGPPeeringPolicy v2alpha1."""
    node_fields = spec.mapping("nodeSelector")
    node_selector = read_selector(node_fields) if node_fields is not None else None
    node_selectors = (node_selector,) if node_selector is not None else ()
    routers = spec.mappings("virtualRouters")
    if not routers:
        spec.error("virtualRouters", "a CiliumBGPPeeringPolicy needs at least one virtual router")
    for index, router in enumerate(routers):
        _read_router(meta, index, router, node_selectors, out)
    spec.finish()


def _read_router(
    meta: ObjectMeta, index: int, router: Fields, node_selectors: tuple[LabelSelector, ...], out: Fragment
) -> None:
    local_asn = router.integer("localASN", 1, 4294967295)
    if local_asn is None and not router.has("localASN"):
        router.error("localASN", "a virtual router needs localASN")
    if router.boolean("exportPodCIDR"):
        router.warn(
            "exportPodCIDR", "bgplb announces LoadBalancer addresses only; pod CIDRs are not exported"
        )
    if router.has("podIPPoolSelector"):
        router.warn("podIPPoolSelector", "bgplb does not announce CiliumPodIPPools; ignored")
    selector_fields = router.mapping("serviceSelector")
    service_selector = read_selector(selector_fields) if selector_fields is not None else None
    if selector_fields is None:
        router.warn("serviceSelector", "not set: no Service is announced by this router (as in Cilium)")
    announce_lb = _read_service_advertisements(router)
    router_origin = meta.origin.model_copy(update={"path": router.path})
    peers: list[str] = []
    for neighbor in router.mappings("neighbors"):
        if local_asn is None:
            neighbor.ignore(*neighbor.data)
            continue
        name = _read_neighbor(
            meta,
            local_asn,
            neighbor,
            node_selectors,
            asn_path=router.at("localASN"),
            service_selector=service_selector,
            out=out,
        )
        if name is not None:
            peers.append(name)
    if not router.has("neighbors"):
        router.error("neighbors", "a virtual router needs at least one neighbor")
    router.finish()
    if service_selector is not None and announce_lb and peers:
        out.bgp_advertisements.append(
            BgpAdvertisement(
                name=f"{meta.name}-vr{index}",
                node_selectors=node_selectors,
                peers=tuple(sorted(peers)),
                service_selectors=(service_selector,),
                origin=router_origin,
            )
        )


def _read_service_advertisements(router: Fields) -> bool:
    """Whether LoadBalancer addresses are announced (the only kind bgplb announces)."""
    if not router.has("serviceAdvertisements"):
        return True
    kinds = router.strings("serviceAdvertisements")
    for kind, path in kinds:
        if kind not in _SERVICE_ADDRESS_TYPES:
            router.sink.error(
                router.origin, path, f"{kind!r} is not one of {', '.join(_SERVICE_ADDRESS_TYPES)}"
            )
        elif kind != "LoadBalancerIP":
            router.sink.warn(router.origin, path, f"{kind} addresses are not announced by bgplb; ignored")
    return any(kind == "LoadBalancerIP" for kind, _ in kinds)


def _read_address(neighbor: Fields) -> IPAddress | None:
    text = neighbor.string("peerAddress")
    if not text:
        neighbor.error("peerAddress", "a neighbor needs peerAddress")
        return None
    try:
        interface = ip_interface(text.strip())
    except ValueError:
        neighbor.error("peerAddress", f"{text!r} is not an address in CIDR form (e.g. 10.0.0.1/32)")
        return None
    if "/" not in text:
        neighbor.warn("peerAddress", f"Cilium expects CIDR form ({text}/{interface.max_prefixlen}); accepted")
    elif interface.network.prefixlen != interface.max_prefixlen:
        neighbor.warn("peerAddress", f"{text}: the prefix length is ignored, the peer is {interface.ip}")
    return interface.ip


def _read_neighbor(
    meta: ObjectMeta,
    local_asn: int,
    neighbor: Fields,
    node_selectors: tuple[LabelSelector, ...],
    *,
    asn_path: str,
    service_selector: LabelSelector | None,
    out: Fragment,
) -> str | None:
    address = _read_address(neighbor)
    peer_asn = neighbor.integer("peerASN", 1, 4294967295)
    if peer_asn is None and not neighbor.has("peerASN"):
        neighbor.error("peerASN", "a neighbor needs peerASN")
    gr_enabled, restart = read_graceful_restart(neighbor)
    families = tuple(f for entry in neighbor.mappings("families") if (f := _family(entry)) is not None)
    session = Session(
        peer_port=neighbor.integer("peerPort", 1, 65535) or 179,
        hold_time=read_timer(neighbor, "holdTimeSeconds", DEFAULT_HOLD, low=3),
        keepalive_time=read_timer(neighbor, "keepAliveTimeSeconds", DEFAULT_KEEPALIVE),
        connect_time=read_timer(neighbor, "connectRetryTimeSeconds", DEFAULT_CONNECT_RETRY),
        ebgp_multihop_ttl=neighbor.integer("eBGPMultihopTTL", 1, 255) or 1,
        graceful_restart=gr_enabled,
        restart_time=restart,
        secret=read_secret(neighbor),
        families=tuple(dict.fromkeys(families)) if neighbor.has("families") else ("ipv4", "ipv6"),
        paths=(
            ("my_asn", asn_path),
            *(
                (model, neighbor.at(source))
                for model, source in (
                    ("peer_asn", "peerASN"),
                    ("peer_port", "peerPort"),
                    ("hold_time", "holdTimeSeconds"),
                    ("keepalive_time", "keepAliveTimeSeconds"),
                    ("connect_time", "connectRetryTimeSeconds"),
                    ("ebgp_multihop", "eBGPMultihopTTL"),
                    ("password_secret", "authSecretRef"),
                    ("families", "families"),
                )
            ),
        ),
    )
    attributes = neighbor.mappings("advertisedPathAttributes")
    if address is None or peer_asn is None:
        for entry in attributes:
            entry.ignore(*entry.data)
        neighbor.finish()
        return None
    name = peer_name(meta.name, local_asn, address)
    origin = meta.origin.model_copy(update={"path": neighbor.path})
    out.peers.append(
        make_peer(
            name,
            origin,
            my_asn=local_asn,
            peer_asn=peer_asn,
            address=address,
            node_selectors=node_selectors,
            session=session,
            out=out,
        )
    )
    for number, entry in enumerate(attributes):
        _read_path_attributes(
            f"{name}-attrs{number}",
            name,
            entry,
            node_selectors=node_selectors,
            service_selector=service_selector,
            out=out,
        )
    neighbor.finish()
    return name


def _family(entry: Fields) -> Family | None:
    family = read_family(entry)
    entry.finish()
    return family


def _read_path_attributes(
    name: str,
    peer: str,
    entry: Fields,
    *,
    node_selectors: tuple[LabelSelector, ...],
    service_selector: LabelSelector | None,
    out: Fragment,
) -> None:
    selector_type = entry.string("selectorType")
    selector_fields = entry.mapping("selector")
    selector = read_selector(selector_fields) if selector_fields is not None else LabelSelector()
    standard, large = read_communities(entry, out)
    local_pref = entry.integer("localPreference", 0, 4294967295)
    entry.finish()
    if selector_type != "CiliumLoadBalancerIPPool":
        entry.warn(
            "selectorType", f"path attributes for {selector_type} are not used: bgplb announces no pod CIDRs"
        )
        return
    if selector is None or service_selector is None:
        return
    out.bgp_advertisements.append(
        BgpAdvertisement(
            name=name,
            pool_selectors=(selector,),
            local_pref=local_pref,
            communities=standard,
            large_communities=large,
            node_selectors=node_selectors,
            peers=(peer,),
            service_selectors=(service_selector,),
            origin=entry.origin.model_copy(
                update={
                    "path": entry.path,
                    "fields": (
                        ("local_pref", entry.at("localPreference")),
                        ("communities", entry.at("communities")),
                        ("pool_selectors", entry.at("selector")),
                    ),
                }
            ),
        )
    )
