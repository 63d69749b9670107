"""Reader of MetalLB's legacy ConfigMap (metallb-system/config, YAML under `data.config`).

The legacy format has no object names for peers and advertisements; bgplb names them after their
position (`peer1`, `<pool>-bgp1`, `<pool>-l2`) so that the model stays uniform. Every object keeps the
ConfigMap as its origin with a kebab-case path into `data.config`, so errors point at the YAML line.
A `protocol: bgp` pool without `bgp-advertisements` gets MetalLB's default advertisement (/32, /128).
"""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from bgplb.config.fields import Fields, ObjectMeta, read_object, read_selectors
from bgplb.config.fragment import Fragment
from bgplb.config.metallb_bgp import families_for, read_duration, read_ip, read_router_id, warn_unsupported
from bgplb.config.metallb_pools import add_alias, read_addresses, read_communities
from bgplb.config.models import AddressPool, BfdProfile, BgpAdvertisement, BgpPeer, L2Advertisement

CONFIG_PATH = "data.config"


def is_metallb_configmap(resource: Mapping[str, object]) -> bool:
    """Whether a v1 ConfigMap carries MetalLB's legacy configuration (a `config` key)."""
    data = resource.get("data")
    return isinstance(data, Mapping) and "config" in data


def read(resource: Mapping[str, object]) -> Fragment:
    """Read a MetalLB legacy ConfigMap into a Fragment."""
    out = Fragment()
    meta, data = read_object(resource, out, path="data")
    raw = data.raw("config")
    data.ignore("config")
    data.finish()
    if isinstance(raw, str):
        try:
            raw = yaml.safe_load(raw) or {}
        except yaml.YAMLError as exc:
            out.error(meta.origin, CONFIG_PATH, f"data.config is not valid YAML: {exc}")
            return out
    if not isinstance(raw, Mapping):
        out.error(meta.origin, CONFIG_PATH, "data.config must hold a YAML mapping")
        return out
    config = Fields(raw, CONFIG_PATH, meta.origin, out)
    for index, peer in enumerate(config.mappings("peers")):
        _read_peer(meta, index, peer, out)
    for pool in config.mappings("address-pools"):
        _read_pool(meta, pool, out)
    communities = config.mapping("bgp-communities")
    if communities is not None:
        for name in communities.data:
            value = communities.string(str(name))
            if value is not None:
                add_alias(out, meta.origin, str(name), value, communities.at(str(name)))
    for profile in config.mappings("bfd-profiles"):
        _read_bfd_profile(meta, profile, out)
    config.finish()
    return out


def _origin_for(meta: ObjectMeta, fields: Fields) -> Fields:
    fields.origin = meta.origin.model_copy(update={"path": fields.path, "style": "kebab"})
    return fields


def _read_peer(meta: ObjectMeta, index: int, peer: Fields, out: Fragment) -> None:
    _origin_for(meta, peer)
    my_asn = peer.integer("my-asn")
    peer_asn = peer.integer("peer-asn")
    address = read_ip(peer, "peer-address")
    for key, value in (("my-asn", my_asn), ("peer-asn", peer_asn), ("peer-address", address)):
        if value is None and not peer.has(key):
            peer.error(key, f"a legacy peer needs {key}")
    model = BgpPeer(
        name=f"peer{index + 1}",
        namespace=meta.namespace,
        my_asn=my_asn or 0,
        peer_asn=peer_asn,
        peer_address=address,
        peer_port=peer.integer("peer-port", 1, 65535) or 179,
        source_address=read_ip(peer, "source-address"),
        hold_time=read_duration(peer, "hold-time"),
        keepalive_time=read_duration(peer, "keepalive-time"),
        router_id=read_router_id(peer, "router-id"),
        node_selectors=read_selectors(peer, "node-selectors", "configmap"),
        password=peer.string("password") or None,
        bfd_profile=peer.string("bfd-profile") or None,
        ebgp_multihop=bool(peer.boolean("ebgp-multihop")),
        families=families_for(address, False),
        source="metallb-configmap",
        origin=peer.origin,
    )
    peer.finish()
    if my_asn is None or address is None:
        return
    warn_unsupported(model, out)
    out.peers.append(model)


def _read_pool(meta: ObjectMeta, pool: Fields, out: Fragment) -> None:
    _origin_for(meta, pool)
    name = pool.string("name")
    protocol = pool.string("protocol")
    ranges, paths = read_addresses(pool, "addresses")
    if not ranges and not pool.items("addresses"):
        pool.error("addresses", "an address pool needs at least one address")
    auto_assign = pool.boolean("auto-assign")
    avoid_buggy = pool.boolean("avoid-buggy-ips")
    advertisements = pool.mappings("bgp-advertisements")
    if not name:
        pool.error("name", "an address pool needs a name")
        pool.finish()
        return
    if protocol not in ("bgp", "layer2"):
        pool.error("protocol", f"protocol must be bgp or layer2, not {protocol!r}")
    elif protocol == "layer2":
        if advertisements:
            pool.error("bgp-advertisements", "bgp-advertisements are only allowed with protocol: bgp")
        out.l2_advertisements.append(
            L2Advertisement(name=f"{name}-l2", namespace=meta.namespace, pools=(name,), origin=pool.origin)
        )
    else:
        _read_bgp_advertisements(meta, name, pool, advertisements, out)
    out.pools.append(
        AddressPool(
            name=name,
            namespace=meta.namespace,
            ranges=ranges,
            auto_assign=True if auto_assign is None else auto_assign,
            avoid_buggy_ips=bool(avoid_buggy),
            source="metallb-configmap",
            origin=pool.origin.model_copy(update={"item_paths": paths}),
        )
    )
    pool.finish()


def _read_bgp_advertisements(
    meta: ObjectMeta, pool_name: str, pool: Fields, advertisements: tuple[Fields, ...], out: Fragment
) -> None:
    if not advertisements:
        out.bgp_advertisements.append(
            BgpAdvertisement(
                name=f"{pool_name}-bgp", namespace=meta.namespace, pools=(pool_name,), origin=pool.origin
            )
        )
        return
    for index, adv in enumerate(advertisements):
        _origin_for(meta, adv)
        communities, large = read_communities(adv, "communities", out)
        aggregation = adv.integer("aggregation-length", 0, 32)
        aggregation_v6 = adv.integer("aggregation-length-v6", 0, 128)
        out.bgp_advertisements.append(
            BgpAdvertisement(
                name=f"{pool_name}-bgp{index + 1}",
                namespace=meta.namespace,
                pools=(pool_name,),
                aggregation_length=32 if aggregation is None else aggregation,
                aggregation_length_v6=128 if aggregation_v6 is None else aggregation_v6,
                local_pref=adv.integer("localpref", 0, 4294967295),
                communities=communities,
                large_communities=large,
                origin=adv.origin,
            )
        )
        adv.finish()


def _read_bfd_profile(meta: ObjectMeta, profile: Fields, out: Fragment) -> None:
    _origin_for(meta, profile)
    name = profile.string("name")
    model = BfdProfile(
        name=name or "",
        namespace=meta.namespace,
        receive_interval=profile.integer("receive-interval", 10, 60000),
        transmit_interval=profile.integer("transmit-interval", 10, 60000),
        detect_multiplier=profile.integer("detect-multiplier", 2, 255),
        echo_interval=profile.integer("echo-interval", 10, 60000),
        echo_mode=profile.boolean("echo-mode"),
        passive_mode=profile.boolean("passive-mode"),
        minimum_ttl=profile.integer("minimum-ttl", 1, 254),
        origin=profile.origin,
    )
    profile.finish()
    if not name:
        profile.error("name", "a BFD profile needs a name")
        return
    out.bfd_profiles.append(model)
