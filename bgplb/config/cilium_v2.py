"""Cilium's v2 BGP API: ClusterConfig, PeerConfig and Advertisement objects, resolved together.

- ClusterConfig `nodeSelector` and `bgpInstances[i]` (localASN) with `peers[j]` (name, peerAddress, peerASN,
  peerConfigRef.name) -> BgpPeer `<clusterconfig>-<instance>-<peer>`; its session settings come from the
  referenced PeerConfig (`transport.peerPort`, `timers`, `ebgpMultihop`, `authSecretRef`, `gracefulRestart`,
  `families`), or Cilium's defaults when there is no reference. A reference to a missing PeerConfig is an
  error.
- A PeerConfig's `families[].advertisements` label selector picks CiliumBGPAdvertisements; each of their
  `advertisements[]` entries of type Service whose `service.addresses` include LoadBalancerIP becomes one
  BgpAdvertisement for the peers that select it, with the entry's `selector` as service selector and its
  `attributes` (communities standard/large/wellKnown, localPreference). The selector is per family in Cilium;
  bgplb's advertisement is not, so the union over a peer's families is used. PodCIDR / CiliumPodIPPool
  entries and ClusterIP / ExternalIP addresses are warned.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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
from bgplb.config.models import BgpAdvertisement, Family, LabelSelector, Origin
from bgplb.config.values import parse_ip


@dataclass(slots=True)
class V2Objects:
    """The v2 BGP objects of one read, by kind, waiting to be resolved."""

    cluster_configs: list[tuple[ObjectMeta, Fields]] = field(default_factory=list)
    peer_configs: list[tuple[ObjectMeta, Fields]] = field(default_factory=list)
    advertisements: list[tuple[ObjectMeta, Fields]] = field(default_factory=list)

    def add(self, meta: ObjectMeta, spec: Fields) -> None:
        """Queue one object for `read_v2`."""
        {
            "CiliumBGPClusterConfig": self.cluster_configs,
            "CiliumBGPPeerConfig": self.peer_configs,
            "CiliumBGPAdvertisement": self.advertisements,
        }[meta.kind].append((meta, spec))


@dataclass(frozen=True, slots=True)
class _PeerConfig:
    session: Session
    advertisement_selectors: tuple[LabelSelector, ...]


@dataclass(frozen=True, slots=True)
class _Entry:
    """One Service advertisement entry of a CiliumBGPAdvertisement."""

    name: str
    labels: dict[str, str]
    service_selector: LabelSelector | None
    communities: tuple[str, ...]
    large: tuple[str, ...]
    local_pref: int | None
    origin: Origin


def read_v2(objects: V2Objects, out: Fragment) -> None:
    """Resolve the queued v2 objects into peers and advertisements."""
    peer_configs = {meta.name: _read_peer_config(spec, out) for meta, spec in objects.peer_configs}
    entries = [e for meta, spec in objects.advertisements for e in _read_advertisement(meta, spec, out)]
    for meta, spec in objects.cluster_configs:
        _read_cluster_config(meta, spec, peer_configs, entries, out)


def _read_peer_config(spec: Fields, out: Fragment) -> _PeerConfig:
    transport = spec.mapping("transport")
    port = 179
    if transport is not None:
        port = transport.integer("peerPort", 1, 65535) or 179
        if transport.has("localPort"):
            transport.warn("localPort", "bgplb's speaker connects from an ephemeral port; ignored")
        transport.finish()
    timers = spec.mapping("timers") or Fields({}, spec.at("timers"), spec.origin, spec.sink)
    gr_enabled, restart = read_graceful_restart(spec)
    families: list[Family] = []
    selectors: list[LabelSelector] = []
    for entry in spec.mappings("families"):
        family = read_family(entry)
        adv_fields = entry.mapping("advertisements")
        selector = read_selector(adv_fields) if adv_fields is not None else None
        entry.finish()
        if family is not None:
            families.append(family)
            if selector is not None:
                selectors.append(selector)
    session = Session(
        peer_port=port,
        hold_time=read_timer(timers, "holdTimeSeconds", DEFAULT_HOLD, low=3),
        keepalive_time=read_timer(timers, "keepAliveTimeSeconds", DEFAULT_KEEPALIVE),
        connect_time=read_timer(timers, "connectRetryTimeSeconds", DEFAULT_CONNECT_RETRY),
        ebgp_multihop_ttl=spec.integer("ebgpMultihop", 1, 255) or 1,
        graceful_restart=gr_enabled,
        restart_time=restart,
        secret=read_secret(spec),
        families=tuple(dict.fromkeys(families)) if spec.has("families") else ("ipv4", "ipv6"),
        paths=(
            ("peer_port", spec.at("transport.peerPort")),
            ("hold_time", timers.at("holdTimeSeconds")),
            ("keepalive_time", timers.at("keepAliveTimeSeconds")),
            ("connect_time", timers.at("connectRetryTimeSeconds")),
            ("ebgp_multihop", spec.at("ebgpMultihop")),
            ("password_secret", spec.at("authSecretRef")),
        ),
    )
    timers.finish()
    spec.finish()
    return _PeerConfig(session, tuple(selectors))


def _read_advertisement(meta: ObjectMeta, spec: Fields, out: Fragment) -> list[_Entry]:
    entries: list[_Entry] = []
    for number, item in enumerate(spec.mappings("advertisements")):
        kind = item.string("advertisementType")
        service = item.mapping("service")
        addresses = service.strings("addresses") if service is not None else ()
        if service is not None:
            service.finish()
        selector_fields = item.mapping("selector")
        selector = read_selector(selector_fields) if selector_fields is not None else None
        attributes = item.mapping("attributes")
        standard: tuple[str, ...] = ()
        large: tuple[str, ...] = ()
        local_pref = None
        if attributes is not None:
            standard, large = read_communities(attributes, out)
            local_pref = attributes.integer("localPreference", 0, 4294967295)
            attributes.finish()
        item.finish()
        if kind != "Service":
            item.warn(
                "advertisementType", f"{kind} advertisements are not made by bgplb (pod CIDRs); ignored"
            )
            continue
        for text, path in addresses:
            if text != "LoadBalancerIP":
                out.warn(item.origin, path, f"{text} addresses are not announced by bgplb; ignored")
        if not any(text == "LoadBalancerIP" for text, _ in addresses):
            continue
        if selector is None:
            item.warn("selector", "not set: no Service is selected by this advertisement (as in Cilium)")
            continue
        origin = meta.origin.model_copy(update={"path": item.path, "fields": _attribute_paths(item)})
        entries.append(
            _Entry(f"{meta.name}-{number}", meta.labels, selector, standard, large, local_pref, origin)
        )
    spec.finish()
    return entries


def _attribute_paths(item: Fields) -> tuple[tuple[str, str], ...]:
    return (
        ("local_pref", item.at("attributes.localPreference")),
        ("communities", item.at("attributes.communities")),
        ("service_selectors", item.at("selector")),
    )


def _read_cluster_config(
    meta: ObjectMeta,
    spec: Fields,
    peer_configs: dict[str, _PeerConfig],
    entries: list[_Entry],
    out: Fragment,
) -> None:
    node_fields = spec.mapping("nodeSelector")
    node_selector = read_selector(node_fields) if node_fields is not None else None
    node_selectors = (node_selector,) if node_selector is not None else ()
    selected: dict[str, list[str]] = {}  # advertisement entry name -> peer names
    instances = spec.mappings("bgpInstances")
    if not instances:
        spec.error("bgpInstances", "a CiliumBGPClusterConfig needs at least one BGP instance")
    for instance in instances:
        instance_name = instance.string("name") or ""
        local_asn = instance.integer("localASN", 1, 4294967295)
        if local_asn is None:
            instance.error("localASN", "bgplb needs localASN on every BGP instance")
        if instance.has("localPort"):
            instance.warn("localPort", "bgplb's speaker listens on its own port setting; ignored")
        for peer in instance.mappings("peers"):
            config = _peer_config(peer, peer_configs)
            name = _read_peer(
                meta,
                instance=instance_name,
                local_asn=local_asn,
                asn_path=instance.at("localASN"),
                peer=peer,
                config=config,
                node_selectors=node_selectors,
                out=out,
            )
            if name is not None and config is not None:
                for entry in entries:
                    if any(s.matches(entry.labels) for s in config.advertisement_selectors):
                        selected.setdefault(entry.name, []).append(name)
        instance.finish()
    spec.finish()
    for entry in entries:
        peers = selected.get(entry.name)
        if peers and entry.service_selector is not None:
            out.bgp_advertisements.append(
                BgpAdvertisement(
                    name=f"{meta.name}-{entry.name}",
                    local_pref=entry.local_pref,
                    communities=entry.communities,
                    large_communities=entry.large,
                    node_selectors=node_selectors,
                    peers=tuple(sorted(peers)),
                    service_selectors=(entry.service_selector,),
                    origin=entry.origin,
                )
            )


def _peer_config(peer: Fields, peer_configs: dict[str, _PeerConfig]) -> _PeerConfig | None:
    ref = peer.mapping("peerConfigRef")
    if ref is None:
        return _PeerConfig(Session(), ())
    name = ref.string("name")
    ref.ignore("group", "kind")
    ref.finish()
    config = peer_configs.get(name or "")
    if config is None:
        ref.error("name", f"CiliumBGPPeerConfig {name!r} does not exist")
    return config


def _read_peer(
    meta: ObjectMeta,
    *,
    instance: str,
    local_asn: int | None,
    asn_path: str,
    peer: Fields,
    config: _PeerConfig | None,
    node_selectors: tuple[LabelSelector, ...],
    out: Fragment,
) -> str | None:
    name = peer.string("name") or ""
    address_text = peer.string("peerAddress")
    peer_asn = peer.integer("peerASN", 0, 4294967295)
    if peer.has("autoDiscovery"):
        peer.warn("autoDiscovery", "peer auto-discovery is not supported by bgplb; set peerAddress")
    peer.finish()
    if not address_text:
        peer.error("peerAddress", "bgplb needs peerAddress on every peer")
        return None
    try:
        address = parse_ip(address_text)
    except ValueError as exc:
        peer.error("peerAddress", str(exc))
        return None
    if not peer_asn:
        peer.error("peerASN", "bgplb needs the peer's ASN (peerASN 0, auto-detection, is not supported)")
        return None
    if local_asn is None or config is None:
        return None
    full_name = peer_name(meta.name, instance, name or address)
    paths = (*config.session.paths, ("my_asn", asn_path), ("peer_asn", peer.at("peerASN")))
    session = replace(config.session, paths=paths)
    origin = meta.origin.model_copy(update={"path": peer.path})
    out.peers.append(
        make_peer(
            full_name,
            origin,
            my_asn=local_asn,
            peer_asn=peer_asn,
            address=address,
            node_selectors=node_selectors,
            session=session,
            out=out,
        )
    )
    return full_name
