"""MetalLB metallb.io address objects: IPAddressPool, BGPAdvertisement, L2Advertisement, Community.

Single-object syntax is checked here (addresses, lengths, community literals); references between objects
(pool names and selectors, community alias names) are resolved and checked by build.py and validation.py.
"""

from __future__ import annotations

from bgplb.config.fields import Fields, ObjectMeta, read_selectors
from bgplb.config.fragment import CommunityAlias, CommunityRef, Fragment
from bgplb.config.models import (
    AddressPool,
    BgpAdvertisement,
    IPRange,
    L2Advertisement,
    Origin,
    ServiceAllocation,
)
from bgplb.config.values import (
    has_host_bits,
    is_community_literal,
    parse_address_entry,
    parse_community_value,
)


def read_pool(meta: ObjectMeta, spec: Fields, out: Fragment) -> None:
    """IPAddressPool v1beta1."""
    ranges, paths = read_addresses(spec, "addresses")
    if not spec.has("addresses") or not spec.items("addresses"):
        spec.error("addresses", "an IPAddressPool needs at least one address")
    auto_assign = spec.boolean("autoAssign")
    avoid_buggy = spec.boolean("avoidBuggyIPs")
    allocation = _read_service_allocation(spec)
    spec.finish()
    out.pools.append(
        AddressPool(
            name=meta.name,
            namespace=meta.namespace,
            ranges=ranges,
            auto_assign=True if auto_assign is None else auto_assign,
            avoid_buggy_ips=bool(avoid_buggy),
            service_allocation=allocation,
            labels=meta.labels,
            source="metallb",
            origin=meta.origin.model_copy(update={"item_paths": paths}),
        )
    )


def read_addresses(fields: Fields, key: str) -> tuple[tuple[IPRange, ...], tuple[str, ...]]:
    """Parse a list of address entries; returns the valid ranges and the path of each."""
    ranges: list[IPRange] = []
    paths: list[str] = []
    for text, path in fields.strings(key):
        try:
            ip_range, network = parse_address_entry(text)
        except ValueError as exc:
            fields.sink.error(fields.origin, path, str(exc))
            continue
        if network is not None and has_host_bits(text):
            fields.sink.warn(fields.origin, path, f"{text} has host bits set; the pool uses {network}")
        ranges.append(ip_range)
        paths.append(path)
    return tuple(ranges), tuple(paths)


def _read_service_allocation(spec: Fields) -> ServiceAllocation | None:
    allocation = spec.mapping("serviceAllocation")
    if allocation is None:
        return None
    result = ServiceAllocation(
        priority=allocation.integer("priority"),
        namespaces=tuple(text for text, _ in allocation.strings("namespaces")),
        namespace_selectors=read_selectors(allocation, "namespaceSelectors"),
        service_selectors=read_selectors(allocation, "serviceSelectors"),
    )
    allocation.finish()
    return result


def read_bgp_advertisement(meta: ObjectMeta, spec: Fields, out: Fragment) -> None:
    """BGPAdvertisement v1beta1."""
    communities, large = read_communities(spec, "communities", out)
    local_pref = spec.integer("localPref", 0, 4294967295)
    aggregation = spec.integer("aggregationLength", 0, 32)
    aggregation_v6 = spec.integer("aggregationLengthV6", 0, 128)
    advertisement = BgpAdvertisement(
        name=meta.name,
        namespace=meta.namespace,
        pools=tuple(text for text, _ in spec.strings("ipAddressPools")),
        pool_selectors=read_selectors(spec, "ipAddressPoolSelectors"),
        aggregation_length=32 if aggregation is None else aggregation,
        aggregation_length_v6=128 if aggregation_v6 is None else aggregation_v6,
        local_pref=local_pref,
        communities=communities,
        large_communities=large,
        node_selectors=read_selectors(spec, "nodeSelectors"),
        peers=tuple(text for text, _ in spec.strings("peers")),
        service_selectors=read_selectors(spec, "serviceSelectors"),
        origin=meta.origin,
    )
    spec.finish()
    out.bgp_advertisements.append(advertisement)


def read_communities(fields: Fields, key: str, out: Fragment) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split a communities list into standard values, large values and alias names.

    Alias names are kept in the standard list and recorded as CommunityRefs for build.py to resolve.
    """
    standard: list[str] = []
    large: list[str] = []
    for text, path in fields.strings(key):
        if not is_community_literal(text):
            standard.append(text)
            out.community_refs.append(CommunityRef(fields.origin, path, text))
            continue
        try:
            value = parse_community_value(text)
        except ValueError as exc:
            out.error(fields.origin, path, str(exc))
            continue
        if value.startswith("large:"):
            large.append(value.removeprefix("large:"))
        else:
            standard.append(value)
    return tuple(standard), tuple(large)


def read_l2_advertisement(meta: ObjectMeta, spec: Fields, out: Fragment) -> None:
    """L2Advertisement v1beta1."""
    advertisement = L2Advertisement(
        name=meta.name,
        namespace=meta.namespace,
        pools=tuple(text for text, _ in spec.strings("ipAddressPools")),
        pool_selectors=read_selectors(spec, "ipAddressPoolSelectors"),
        node_selectors=read_selectors(spec, "nodeSelectors"),
        interfaces=tuple(text for text, _ in spec.strings("interfaces")),
        service_selectors=read_selectors(spec, "serviceSelectors"),
        origin=meta.origin,
    )
    spec.finish()
    out.l2_advertisements.append(advertisement)


def read_community(meta: ObjectMeta, spec: Fields, out: Fragment) -> None:
    """Community v1beta1: named community values usable in BGPAdvertisement.communities."""
    for entry in spec.mappings("communities"):
        name = entry.string("name")
        value = entry.string("value")
        entry.finish()
        if not name:
            entry.error("name", "a community alias needs a name")
            continue
        if value is None:
            entry.error("value", f"community alias {name!r} has no value")
            continue
        add_alias(out, meta.origin, name, value, entry.at("value"))
    spec.finish()


def add_alias(out: Fragment, origin: Origin, name: str, value: str, path: str) -> None:
    """Record a community alias after checking its value."""
    try:
        normalised = parse_community_value(value)
    except ValueError as exc:
        out.error(origin, path, str(exc))
        return
    out.communities.append(CommunityAlias(name, normalised, origin, path))
