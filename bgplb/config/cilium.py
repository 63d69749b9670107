"""Reader of Cilium's cilium.io resources: LB-IPAM pools and the BGP control plane, into bgplb's model.

- CiliumLoadBalancerIPPool (v2alpha1, v2) -> AddressPool(source="cilium"): `spec.blocks` (and v2alpha1's older
  `spec.cidrs`), each a `cidr` or a `start`/`stop` range; `serviceSelector` -> serviceAllocation;
  `allowFirstLastIPs`; `disabled`. Unset allowFirstLastIPs follows Cilium's default for the API version:
  "No" for v2alpha1 (Cilium 1.15, with a warning because 1.16 changed it), "Yes" for v2.
- CiliumBGPPeeringPolicy v2alpha1 -> BgpPeer per neighbor + BgpAdvertisement(s): see cilium_policy.py.
- CiliumBGPClusterConfig / CiliumBGPPeerConfig / CiliumBGPAdvertisement (the v2 BGP API) refer to each other
  by name and label, so they are resolved together: see cilium_v2.py and `read_all`.
`read(resource)` reads one resource (a v2 ClusterConfig read alone cannot see its PeerConfigs: they are
reported as missing); `read_all(resources)` reads a set of resources and resolves the v2 references.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bgplb.config.cilium_policy import read_peering_policy
from bgplb.config.cilium_v2 import V2Objects, read_v2
from bgplb.config.fields import Fields, ObjectMeta, check_version, read_object, read_selector
from bgplb.config.fragment import Fragment
from bgplb.config.models import AddressPool, IPRange, ServiceAllocation
from bgplb.config.values import parse_address_entry, parse_ip

GROUP = "cilium.io"
POOL_KIND = "CiliumLoadBalancerIPPool"
V2_KINDS = frozenset({"CiliumBGPClusterConfig", "CiliumBGPPeerConfig", "CiliumBGPAdvertisement"})
IGNORED_KINDS = frozenset(
    {"CiliumBGPNodeConfig", "CiliumBGPNodeConfigOverride", "CiliumL2AnnouncementPolicy"}
)


def read(resource: Mapping[str, object]) -> Fragment:
    """Read one cilium.io resource; never raises on bad input."""
    return read_all([resource])


def read_all(resources: Iterable[Mapping[str, object]]) -> Fragment:
    """Read cilium.io resources together, resolving the v2 BGP API's references between them."""
    out = Fragment()
    v2 = V2Objects()
    for resource in resources:
        meta, spec = read_object(resource, out)
        version = meta.api_version.partition("/")[2]
        if meta.kind == POOL_KIND:
            check_version(meta, ("v2alpha1", "v2"), out)
            read_pool(meta, spec, out)
        elif meta.kind == "CiliumBGPPeeringPolicy":
            check_version(meta, ("v2alpha1",), out)
            read_peering_policy(meta, spec, out)
        elif meta.kind in V2_KINDS:
            check_version(meta, ("v2alpha1", "v2"), out)
            v2.add(meta, spec)
        elif meta.kind in IGNORED_KINDS:
            spec.ignore(*spec.data)
            out.warn(meta.origin, "kind", f"{meta.kind} is not used by bgplb; ignored")
        else:
            spec.ignore(*spec.data)
            out.warn(
                meta.origin, "kind", f"{meta.api_version or version} {meta.kind} is not a kind bgplb reads"
            )
    read_v2(v2, out)
    return out


def read_pool(meta: ObjectMeta, spec: Fields, out: Fragment) -> None:
    """CiliumLoadBalancerIPPool: blocks/cidrs, serviceSelector, allowFirstLastIPs, disabled."""
    ranges: list[IPRange] = []
    paths: list[str] = []
    blocks = spec.mappings("blocks") + spec.mappings("cidrs")
    ranges_key = "cidrs" if spec.has("cidrs") and not spec.has("blocks") else "blocks"
    if spec.has("cidrs"):
        spec.warn("cidrs", "spec.cidrs is deprecated in Cilium; use spec.blocks")
    if not blocks:
        spec.error("blocks", "a CiliumLoadBalancerIPPool needs at least one block")
    for block in blocks:
        ip_range = _read_block(block)
        block.finish()
        if ip_range is not None:
            ranges.append(ip_range)
            paths.append(block.path)
    selector_fields = spec.mapping("serviceSelector")
    selector = read_selector(selector_fields) if selector_fields is not None else None
    allow = _allow_first_last(meta, spec)
    disabled = spec.boolean("disabled")
    spec.finish()
    out.pools.append(
        AddressPool(
            name=meta.name,
            namespace=meta.namespace,
            ranges=tuple(ranges),
            allow_first_last=allow,
            service_allocation=ServiceAllocation(service_selectors=(selector,)) if selector else None,
            disabled=bool(disabled),
            labels=meta.labels,
            source="cilium",
            origin=meta.origin.model_copy(
                update={"item_paths": tuple(paths), "fields": (("ranges", spec.at(ranges_key)),)}
            ),
        )
    )


def _read_block(block: Fields) -> IPRange | None:
    cidr, start, stop = block.string("cidr"), block.string("start"), block.string("stop")
    try:
        if cidr is not None:
            if start is not None or stop is not None:
                block.error("cidr", "a block is either a cidr or a start/stop range, not both")
                return None
            if "/" not in cidr:
                block.error("cidr", f"{cidr!r} is not in CIDR notation (<prefix>/<bits>)")
                return None
            return parse_address_entry(cidr)[0]
        if start is None:
            block.error("start", "a block needs a cidr or a start address")
            return None
        first = parse_ip(start)
        last = parse_ip(stop) if stop is not None else first
        if first.version != last.version:
            block.error("stop", f"start {first} and stop {last} are not of the same family")
            return None
        if int(first) > int(last):
            block.error("stop", f"start {first} is after stop {last}")
            return None
        return IPRange(first=first, last=last)
    except ValueError as exc:
        block.error("cidr" if cidr is not None else "start", str(exc))
        return None


def _allow_first_last(meta: ObjectMeta, spec: Fields) -> bool:
    text = spec.string("allowFirstLastIPs")
    if text is None:
        if meta.api_version.endswith("/v2alpha1"):
            spec.warn(
                "allowFirstLastIPs",
                "not set: the first and last address of each CIDR are reserved (Cilium 1.15's default; "
                'Cilium 1.16 changed it to "Yes"); set it explicitly',
            )
            return False
        return True
    if text.lower() in ("yes", "no"):
        return text.lower() == "yes"
    spec.error("allowFirstLastIPs", f'expected "Yes" or "No", got {text!r}')
    return True
