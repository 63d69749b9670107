"""Which pools a Service may use, in which order, and which address families it needs.

MetalLB's order: pools with `serviceAllocation.priority` first (lower number first), then the other pools;
ties by name. Pools with `autoAssign: false` are only used on explicit request (pool annotation or requested
IP); disabled pools hand out nothing new. A pool's `serviceAllocation` restricts it to Services whose
namespace is listed or matches one of the namespace selectors (when any is given) and which match one of the
service selectors (when any is given). Eligibility is cached per (namespace, labels), so 10,000 Services over
100 pools evaluate each distinct combination of the selected labels once. Selectors of Cilium pools also match
the pseudo-labels `io.kubernetes.service.namespace` and `io.kubernetes.service.name`.

Families: SingleStack wants the first of `ipFamilies`; RequireDualStack wants both; PreferDualStack tries
both, then the first family alone, then the second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache

from bgplb.config.models import AddressPool
from bgplb.config.selectors import any_matches
from bgplb.planning.snapshot import Family, IPFamilyPolicy, Service

CILIUM_NAMESPACE_LABEL = "io.kubernetes.service.namespace"
CILIUM_NAME_LABEL = "io.kubernetes.service.name"
_VERSION: dict[Family, int] = {"IPv4": 4, "IPv6": 6}
_Shape = tuple[str, str, tuple[str | None, ...]]


def order_key(pool: AddressPool) -> tuple[int, int, str]:
    """Sort key putting prioritised pools first (lower priority number first), then the rest, by name."""
    sa = pool.service_allocation
    if sa is not None and sa.priority is not None:
        return (0, sa.priority, pool.name)
    return (1, 0, pool.name)


def family_options(service: Service) -> tuple[tuple[int, ...], ...]:
    """IP versions to allocate, as alternatives in order of preference."""
    return _options(service.ip_families, service.ip_family_policy)


def accepted_versions(service: Service) -> frozenset[int]:
    """The version sets an allocation for `service` may have, as `version_bits` (`family_options` as sets)."""
    return _accepted(service.ip_families, service.ip_family_policy)


def version_bits(versions: Iterable[int]) -> int:
    """A set of IP versions as one int (bit 4 for IPv4, bit 6 for IPv6): cheap to hash and compare."""
    bits = 0
    for version in versions:
        bits |= 1 << version
    return bits


@cache
def _accepted(families: tuple[Family, ...], policy: IPFamilyPolicy) -> frozenset[int]:
    return frozenset(version_bits(option) for option in _options(families, policy))


@cache
def _options(families: tuple[Family, ...], policy: IPFamilyPolicy) -> tuple[tuple[int, ...], ...]:
    versions = tuple(dict.fromkeys(_VERSION[f] for f in families)) or (4,)
    if policy is IPFamilyPolicy.REQUIRE_DUAL_STACK:
        return (versions if len(versions) == 2 else (versions[0], 10 - versions[0]),)
    if policy is IPFamilyPolicy.SINGLE_STACK or len(versions) == 1:
        return (versions[:1],)
    return (versions, versions[:1], versions[1:])  # PreferDualStack


class PoolChooser:
    """Answers "may this Service use this pool" and "which pools, in order" for one allocation run.

    Answers are cached per Service *shape*: its namespace and the values of the label keys that any pool's
    selectors mention (plus its name when a Cilium pool selects on the name), because Services that agree on
    those get the same answers.
    """

    def __init__(
        self, pools: tuple[AddressPool, ...], namespace_labels: Mapping[str, Mapping[str, str]]
    ) -> None:
        self._by_name = {p.name: p for p in pools}
        self._auto = sorted((p for p in pools if p.auto_assign and not p.disabled), key=order_key)
        self._namespace_labels = namespace_labels
        keys = {key for p in pools for key in _selector_keys(p)}
        self._by_service_name = any(
            p.source == "cilium" and CILIUM_NAME_LABEL in _selector_keys(p) for p in pools
        )
        self._keys = tuple(sorted(keys))
        self._allowed: dict[tuple[str, _Shape], bool] = {}
        self._auto_for: dict[_Shape, list[AddressPool]] = {}

    def pool(self, name: str) -> AddressPool | None:
        """The pool called `name`."""
        return self._by_name.get(name)

    def _shape(self, service: Service) -> _Shape:
        labels = service.labels
        name = service.ref.name if self._by_service_name else ""
        return (service.ref.namespace, name, tuple(map(labels.get, self._keys)))

    def allowed(self, pool: AddressPool, service: Service) -> bool:
        """Whether the pool's serviceAllocation admits the Service (ignores autoAssign and disabled)."""
        if pool.service_allocation is None:
            return True
        key = (pool.name, self._shape(service))
        cached = self._allowed.get(key)
        if cached is None:
            cached = self._admits(pool, service)
            self._allowed[key] = cached
        return cached

    def _admits(self, pool: AddressPool, service: Service) -> bool:
        """serviceAllocation's namespace and service conditions (uncached)."""
        sa = pool.service_allocation
        assert sa is not None
        namespace = service.ref.namespace
        if sa.namespaces or sa.namespace_selectors:
            labels = self._namespace_labels.get(namespace, {})
            in_list = namespace in sa.namespaces
            if not in_list and not any(sel.matches(labels) for sel in sa.namespace_selectors):
                return False
        labels = service.labels
        if pool.source == "cilium":  # Cilium selectors also see the Service's namespace and name
            labels = {**labels, CILIUM_NAMESPACE_LABEL: namespace, CILIUM_NAME_LABEL: service.ref.name}
        return any_matches(sa.service_selectors, labels)

    def auto_pools(self, service: Service) -> list[AddressPool]:
        """Pools the Service may get an address from without asking, in MetalLB's order."""
        key = self._shape(service)
        pools = self._auto_for.get(key)
        if pools is None:
            pools = [p for p in self._auto if self.allowed(p, service)]
            self._auto_for[key] = pools
        return pools


def _selector_keys(pool: AddressPool) -> set[str]:
    """Label keys the pool's service selectors look at."""
    sa = pool.service_allocation
    if sa is None:
        return set()
    return {
        key
        for selector in sa.service_selectors
        for key in (*selector.match_labels, *(r.key for r in selector.match_expressions))
    }
