"""`build_config(resources)`: Kubernetes-style dicts in, one validated Config (or the reasons why not) out.

Dispatch by apiVersion/kind: metallb.io -> metallb_crds; cilium.io -> cilium.read_all, imported lazily (the
allocation side owns it) and given all Cilium objects at once since the v2 BGP API objects refer to each
other; a v1 ConfigMap with `data.config` -> metallb_configmap; v1 Secrets only register their names (for
passwordSecret references; their data is never read). Services, Nodes, Namespaces and EndpointSlices are
snapshot input, ignored here; any other kind is a warning.

Rule for bad objects (MetalLB's): any error rejects the whole new configuration — `config` is None and the
caller keeps running the last good Config. `BuildResult.rejection` says so in one sentence.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

from bgplb.config import metallb_configmap, metallb_crds
from bgplb.config.fragment import Fragment
from bgplb.config.models import AddressPool, BgpAdvertisement, Config, L2Advertisement, Origin, SecretRef
from bgplb.config.selectors import LabelSelector
from bgplb.config.validation import (
    check_aggregation,
    check_duplicates,
    check_local_pref,
    check_local_pref_reach,
    check_peer,
    check_pools,
    check_references,
    check_sessions,
    check_unannounced,
)
from bgplb.config.values import WELL_KNOWN_COMMUNITIES, is_community_literal
from bgplb.config.warnings import ConfigWarning
from bgplb.errors import ConfigError

REJECTED = "configuration rejected; the last good configuration stays in force"
CILIUM_GROUP = "cilium.io"
SNAPSHOT_KINDS = frozenset({"Service", "Node", "Namespace", "EndpointSlice", "Endpoints"})


@dataclass(frozen=True, slots=True)
class BuildResult:
    """The outcome of one build: a Config when there is no error, and every finding, sorted."""

    config: Config | None
    errors: tuple[ConfigError, ...]
    warnings: tuple[ConfigWarning, ...]

    @property
    def rejection(self) -> str | None:
        """A one-line statement of the rejection rule when the configuration has errors."""
        if not self.errors:
            return None
        return f"{REJECTED} ({len(self.errors)} error{'s' if len(self.errors) != 1 else ''})"


def build_config(resources: Iterable[Mapping[str, Any]]) -> BuildResult:
    """Read, merge, resolve and validate `resources`; the result does not depend on their order."""
    merged = Fragment()
    cilium: list[Mapping[str, Any]] = []
    for index, resource in enumerate(resources):
        if isinstance(resource, Mapping) and _group(resource) == CILIUM_GROUP and resource.get("kind"):
            cilium.append(resource)
        else:
            merged.extend(read_resource(resource, index))
    if cilium:
        merged.extend(_read_cilium(sorted(cilium, key=lambda r: (str(r.get("kind")), _name_of(r)))))
    found = Fragment()
    check_duplicates(merged, found)
    check_references(merged, found)
    check_pools(merged.pools, found)
    for peer in merged.peers:
        check_peer(peer, found)
    check_sessions(merged.peers, found)
    aliases = {a.name: a.value for a in sorted(merged.communities, key=lambda a: (a.name, a.value))}
    bgp = [_resolve_bgp(adv, merged.pools, aliases) for adv in merged.bgp_advertisements]
    l2 = [_resolve_l2(adv, merged.pools) for adv in merged.l2_advertisements]
    resolved = Fragment(pools=merged.pools, bgp_advertisements=bgp, l2_advertisements=l2)
    check_aggregation(bgp, merged.pools, found)
    check_local_pref(bgp, merged.pools, found)
    check_local_pref_reach(bgp, merged.peers, found)
    check_unannounced(resolved, found)
    errors = tuple(sorted(set(merged.errors + found.errors), key=_finding_key))
    warnings = tuple(sorted(set(merged.warnings + found.warnings), key=_finding_key))
    if errors:
        return BuildResult(None, errors, warnings)
    config = Config(
        pools=tuple(sorted(merged.pools, key=_object_key)),
        peers=tuple(sorted(merged.peers, key=_object_key)),
        bgp_advertisements=tuple(sorted(bgp, key=_object_key)),
        l2_advertisements=tuple(sorted(l2, key=_object_key)),
        bfd_profiles=tuple(sorted(merged.bfd_profiles, key=_object_key)),
        communities=aliases,
    )
    return BuildResult(config, errors, warnings)


def read_resource(resource: object, index: int = 0) -> Fragment:
    """Dispatch one resource to its reader; never raises on bad input."""
    out = Fragment()
    if not isinstance(resource, Mapping):
        out.errors.append(
            ConfigError("resource", f"#{index}", "", "expected a mapping (a Kubernetes object)")
        )
        return out
    api_version = str(resource.get("apiVersion") or "")
    kind = str(resource.get("kind") or "")
    group = _group(resource)
    name = _name_of(resource)
    if not kind:
        out.errors.append(ConfigError("resource", name or f"#{index}", "kind", "the object has no kind"))
    elif group == metallb_crds.GROUP:
        out = metallb_crds.read(resource)
    elif group == CILIUM_GROUP:
        out = _read_cilium([resource])
    elif group == "" and kind == "ConfigMap" and metallb_configmap.is_metallb_configmap(resource):
        out = metallb_configmap.read(resource)
    elif group == "" and kind == "Secret":
        metadata = resource.get("metadata")
        namespace = str(metadata.get("namespace") or "") if isinstance(metadata, Mapping) else ""
        out.secrets.append(SecretRef(name=name.rpartition("/")[2], namespace=namespace))
    elif kind not in SNAPSHOT_KINDS:
        out.warnings.append(
            ConfigWarning(
                kind, name, "kind", f"{api_version} {kind} is not configuration bgplb reads; ignored"
            )
        )
    return out


def _group(resource: Mapping[str, Any]) -> str:
    api_version = str(resource.get("apiVersion") or "")
    return api_version.partition("/")[0] if "/" in api_version else ""


def _read_cilium(resources: list[Mapping[str, Any]]) -> Fragment:
    """Cilium resources are read together: the v2 BGP API's objects refer to each other."""
    try:
        module = importlib.import_module("bgplb.config.cilium")
    except ImportError as exc:
        out = Fragment()
        for resource in resources:
            reason = f"this build cannot read Cilium resources ({exc})"
            out.errors.append(
                ConfigError(str(resource.get("kind")), _name_of(resource), "apiVersion", reason)
            )
        return out
    return cast(Callable[[list[Mapping[str, Any]]], Fragment], module.read_all)(resources)


def _name_of(resource: Mapping[str, Any]) -> str:
    metadata = resource.get("metadata")
    if not isinstance(metadata, Mapping):
        return ""
    name, namespace = str(metadata.get("name") or ""), str(metadata.get("namespace") or "")
    return f"{namespace}/{name}" if namespace else name


def _candidates(kind: str, pools: Iterable[AddressPool]) -> list[AddressPool]:
    cilium = kind.startswith("Cilium")
    return [p for p in pools if (p.source == "cilium") == cilium]


def _select_pools(
    kind: str, names: tuple[str, ...], selectors: tuple[LabelSelector, ...], pools: list[AddressPool]
) -> tuple[str, ...]:
    """MetalLB: explicit names plus selector matches; neither given means every pool."""
    candidates = _candidates(kind, pools)
    if not names and not selectors:
        return tuple(sorted({p.name for p in candidates}))
    matched = {p.name for p in candidates if any(s.matches(p.labels) for s in selectors)}
    return tuple(sorted(set(names) | matched))


def _resolve_bgp(
    adv: BgpAdvertisement, pools: list[AddressPool], aliases: Mapping[str, str]
) -> BgpAdvertisement:
    standard: list[str] = []
    large = list(adv.large_communities)
    for community in adv.communities:
        value = (
            community
            if is_community_literal(community)
            else aliases.get(community, WELL_KNOWN_COMMUNITIES.get(community))
        )
        if value is None:
            continue
        if value.startswith("large:"):
            large.append(value.removeprefix("large:"))
        else:
            standard.append(value)
    return adv.model_copy(
        update={
            "pools": _select_pools(adv.origin.kind, adv.pools, adv.pool_selectors, pools),
            "communities": tuple(sorted(set(standard))),
            "large_communities": tuple(sorted(set(large))),
        }
    )


def _resolve_l2(adv: L2Advertisement, pools: list[AddressPool]) -> L2Advertisement:
    return adv.model_copy(
        update={"pools": _select_pools(adv.origin.kind, adv.pools, adv.pool_selectors, pools)}
    )


class _Named(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def origin(self) -> Origin: ...


def _object_key(obj: _Named) -> tuple[str, str, str, str]:
    return (obj.name, obj.namespace, obj.origin.kind, obj.origin.path)


def _finding_key(finding: ConfigError | ConfigWarning) -> tuple[str, str, str, str]:
    return (finding.kind, finding.name, finding.field_path, finding.reason)
