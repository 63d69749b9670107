"""MetalLB-compatible LoadBalancer IP allocation: a total, deterministic function of a snapshot and a config.

`allocate(snapshot, config)` runs in two phases over the Services this controller owns (type LoadBalancer, and
a loadBalancerClass that is unset or ours), in a fixed order (oldest first when creation timestamps are known,
then namespace/name), so the result never depends on input order:

1. keep: every observed address (status.loadBalancer.ingress) that is still valid stays, so a restart or a
   pool edit moves nothing. Valid means: in a pool that admits the Service (a disabled pool too: as in Cilium,
   disabling stops new allocations only), all of a Service's addresses in one pool, not excluded
   (avoidBuggyIPs, Cilium first/last), matching what the Service requests, and not held by an older Service
   it cannot share with. Anything else is released with a `ReleaseReason`.
2. assign: Services without addresses get them, those requesting specific IPs before the others (so an
   automatic pick never takes an address someone asked for). Requested IPs and pools are honoured or fail with
   a `FailureReason`; otherwise pools are tried in MetalLB's order (see pool_choice) and the lowest free
   address is taken, except that a Service with a sharing key first joins an address its key already holds.

Deleting a Service frees its addresses without moving anyone else's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from operator import attrgetter
from types import MappingProxyType

from bgplb.config.models import AddressPool, Config
from bgplb.planning.pool_choice import PoolChooser, accepted_versions, family_options
from bgplb.planning.pool_index import AddressMap, PoolSpace
from bgplb.planning.sharing import Ledger
from bgplb.planning.snapshot import Family, IPAddress, Service, ServiceRef, Snapshot, by_ref, family_of

DEFAULT_CLASS = "bgplb.io/lb"


class FailureReason(StrEnum):
    """Why a Service got no address."""

    INVALID_REQUEST = "InvalidRequest"
    NO_POOL_MATCHES = "NoPoolMatches"
    POOL_EXHAUSTED = "PoolExhausted"
    FAMILY_UNAVAILABLE = "FamilyUnavailable"
    REQUESTED_POOL_MISSING = "RequestedPoolMissing"
    REQUESTED_POOL_NOT_ALLOWED = "RequestedPoolNotAllowed"
    REQUESTED_IP_NOT_IN_POOL = "RequestedIPNotInPool"
    REQUESTED_IP_EXCLUDED = "RequestedIPExcluded"
    REQUESTED_IP_IN_USE = "RequestedIPInUse"


class ReleaseReason(StrEnum):
    """Why an observed address was not kept."""

    NOT_IN_ANY_POOL = "NotInAnyPool"
    POOL_NOT_ALLOWED = "PoolNotAllowed"
    ADDRESS_EXCLUDED = "AddressExcluded"
    MIXED_POOLS = "MixedPools"
    FAMILY_MISMATCH = "FamilyMismatch"
    REQUEST_CHANGED = "RequestChanged"
    CONFLICT = "Conflict"


@dataclass(frozen=True, slots=True)
class Assignment:
    """The addresses a Service holds (one per family) and the pool they come from."""

    ips: tuple[IPAddress, ...]
    pool: str


@dataclass(frozen=True, slots=True)
class AllocationFailure:
    """A Service that got no address: an enum reason and a message naming the Service and pool."""

    reason: FailureReason
    detail: str


@dataclass(frozen=True, slots=True)
class Release:
    """Observed addresses that were dropped, and why."""

    ips: tuple[IPAddress, ...]
    reason: ReleaseReason
    detail: str


@dataclass(frozen=True, slots=True)
class PoolUsage:
    """Addresses assigned and still available in one pool for one family ("IPv4"/"IPv6")."""

    pool: str
    family: Family
    assigned: int
    available: int


@dataclass(frozen=True, slots=True)
class Allocation:
    """The outcome for every Service this controller owns."""

    assignments: Mapping[ServiceRef, Assignment]
    failures: Mapping[ServiceRef, AllocationFailure]
    released: Mapping[ServiceRef, Release]
    usage: tuple[PoolUsage, ...]


def is_ours(
    service: Service, classes: Collection[str] = (DEFAULT_CLASS,), handle_unset_class: bool = True
) -> bool:
    """Whether this controller allocates for `service`: type LoadBalancer, class unset or one of ours."""
    if service.type != "LoadBalancer":
        return False
    if service.load_balancer_class is None:
        return handle_unset_class
    return service.load_balancer_class in classes


def owned_services(
    services: Iterable[Service], classes: Collection[str], handle_unset_class: bool
) -> list[Service]:
    """The `services` for which `is_ours` holds, in their order (one loop, no call per Service)."""
    return [
        s
        for s in services
        if s.type == "LoadBalancer"
        and (handle_unset_class if s.load_balancer_class is None else s.load_balancer_class in classes)
    ]


def _in_order(services: list[Service]) -> list[Service]:
    """Oldest first (creation timestamp, when known), then by namespace and name; without a timestamp last."""
    dated = by_ref(s for s in services if s.creation_timestamp is not None)
    dated.sort(key=attrgetter("creation_timestamp"))  # stable: by_ref's order among equal timestamps
    return dated + by_ref(s for s in services if s.creation_timestamp is None)


class _RefusedError(Exception):
    """Raised inside a run to fail one Service; never escapes `allocate`."""

    def __init__(self, reason: FailureReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class _Run:
    """State of one allocation run."""

    def __init__(self, snapshot: Snapshot, config: Config) -> None:
        self.chooser = PoolChooser(config.pools, snapshot.namespace_labels())
        self.spaces = {
            p.name: PoolSpace.build(
                p.name,
                ((r.first, r.last) for r in p.ranges),
                avoid_buggy=p.avoid_buggy_ips,
                allow_first_last=p.allow_first_last,
            )
            for p in config.pools
        }
        self.where = AddressMap(self.spaces.values())
        self.ledger = Ledger()
        self.assignments: dict[ServiceRef, Assignment] = {}
        self.failures: dict[ServiceRef, AllocationFailure] = {}
        self.released: dict[ServiceRef, Release] = {}

    def pool_of(self, ip: IPAddress) -> AddressPool | None:
        space = self.where.pool_of(ip)
        return None if space is None else self.chooser.pool(space.name)

    def grant(self, service: Service, pool: str, ips: tuple[IPAddress, ...]) -> None:
        space = self.spaces[pool]
        for ip in ips:
            space.take(ip)
            self.ledger.hold(ip, service)
        if len(ips) > 1:
            ips = tuple(sorted(ips, key=lambda a: a.version))
        self.assignments[service.ref] = Assignment(ips, pool)

    # -- phase 1 --------------------------------------------------------------------------------------------
    def keep(self, service: Service) -> bool:
        """Keep the observed addresses if they are still valid (True), otherwise record why they are
        released (False)."""
        checked = self._check_current(service)
        if isinstance(checked, PoolSpace):
            self.grant(service, checked.name, service.current_ips)
            return True
        reason, detail = checked
        self.released[service.ref] = Release(service.current_ips, reason, f"{service.ref}: {detail}")
        return False

    def _check_current(self, service: Service) -> PoolSpace | tuple[ReleaseReason, str]:
        """The pool space of the observed addresses if they may be kept, else the reason to release them."""
        ips = service.current_ips
        versions = 0  # `version_bits` of the addresses, inline: this runs for every Service of every run
        for ip in ips:
            versions |= 1 << ip.version
        if versions.bit_count() != len(ips) or versions not in accepted_versions(service):
            families = ", ".join(family_of(ip) for ip in ips)
            return (
                ReleaseReason.FAMILY_MISMATCH,
                f"addresses ({families}) do not match the requested families",
            )
        space = self.where.pool_of(ips[0])
        others = [self.where.pool_of(ip) for ip in ips[1:]] if len(ips) > 1 else None
        if space is None or (others and any(other is None for other in others)):
            return ReleaseReason.NOT_IN_ANY_POOL, f"{_ips(ips)} is not in any pool"
        if others and any(other is not space for other in others):  # one PoolSpace per pool name
            return ReleaseReason.MIXED_POOLS, f"{_ips(ips)} come from different pools"
        pool = self.chooser.pool(space.name)
        assert pool is not None
        if pool.service_allocation is not None and not self.chooser.allowed(pool, service):
            return ReleaseReason.POOL_NOT_ALLOWED, f"pool {pool.name} no longer admits this Service"
        excluded = [ip for ip in ips if not space.usable(ip)] if space.excludes else []
        if excluded:
            return ReleaseReason.ADDRESS_EXCLUDED, f"{_ips(excluded)} is excluded in pool {pool.name}"
        if service.requested_pool is not None and service.requested_pool != pool.name:
            return (
                ReleaseReason.REQUEST_CHANGED,
                f"pool {service.requested_pool} is requested, not {pool.name}",
            )
        if service.requested_ips and not set(service.requested_ips) <= set(ips):
            return ReleaseReason.REQUEST_CHANGED, f"{_ips(service.requested_ips)} is requested"
        for ip in ips:
            refusal = self.ledger.refusal(ip, service)
            if refusal is not None:
                return ReleaseReason.CONFLICT, refusal.describe(ip)
        return space

    # -- phase 2 --------------------------------------------------------------------------------------------
    def assign(self, service: Service) -> None:
        """Give a Service without valid addresses new ones, or record why it cannot have any."""
        try:
            if service.invalid_request is not None:
                raise _RefusedError(FailureReason.INVALID_REQUEST, service.invalid_request)
            if service.requested_ips:
                pool, options = self._check_request(service)
                self._assign_requested(service, pool, options)
            elif service.requested_pool is not None:
                self._assign_from(service, [self._requested_pool(service, service.requested_pool)])
            else:
                pools = self.chooser.auto_pools(service)
                if not pools:
                    raise _RefusedError(
                        FailureReason.NO_POOL_MATCHES, "no automatic pool admits this Service"
                    )
                self._assign_from(service, pools)
        except _RefusedError as refused:
            self.failures[service.ref] = AllocationFailure(refused.reason, f"{service.ref}: {refused.detail}")

    def _requested_pool(self, service: Service, name: str) -> AddressPool:
        pool = self.chooser.pool(name)
        if pool is None:
            raise _RefusedError(FailureReason.REQUESTED_POOL_MISSING, f"pool {name} does not exist")
        if pool.disabled or not self.chooser.allowed(pool, service):
            why = "is disabled" if pool.disabled else "does not admit this Service"
            raise _RefusedError(FailureReason.REQUESTED_POOL_NOT_ALLOWED, f"pool {pool.name} {why}")
        return pool

    def _check_request(self, service: Service) -> tuple[AddressPool, list[tuple[int, ...]]]:
        """The pool of the requested IPs and the family options they fit (checks that do not depend on
        who holds what come first, so a failure's reason is stable from run to run)."""
        ips = service.requested_ips
        named = {ip.version for ip in ips}
        options = [o for o in family_options(service) if named <= set(o)]
        if len(named) != len(ips) or not options:
            raise _RefusedError(
                FailureReason.INVALID_REQUEST, f"{_ips(ips)} do not match the Service's families"
            )
        missing = [ip for ip in ips if self.pool_of(ip) is None]
        if missing:
            raise _RefusedError(FailureReason.REQUESTED_IP_NOT_IN_POOL, f"{_ips(missing)} is not in any pool")
        names = sorted({pool.name for ip in ips if (pool := self.pool_of(ip)) is not None})
        if len(names) > 1:
            raise _RefusedError(
                FailureReason.INVALID_REQUEST, f"{_ips(ips)} come from pools {', '.join(names)}"
            )
        if service.requested_pool is not None and service.requested_pool != names[0]:
            detail = f"{_ips(ips)} is in pool {names[0]}, not in the requested pool {service.requested_pool}"
            raise _RefusedError(FailureReason.REQUESTED_IP_NOT_IN_POOL, detail)
        pool = self._requested_pool(service, names[0])
        space = self.spaces[pool.name]
        excluded = [ip for ip in ips if not space.usable(ip)]
        if excluded:
            raise _RefusedError(
                FailureReason.REQUESTED_IP_EXCLUDED, f"{_ips(excluded)} is excluded in pool {pool.name}"
            )
        options = [o for o in options if set(o) <= set(space.versions())]
        if not options:
            families = " and ".join(f"IPv{v}" for v in family_options(service)[0])
            raise _RefusedError(
                FailureReason.FAMILY_UNAVAILABLE, f"pool {pool.name} does not have {families}"
            )
        return pool, options

    def _assign_requested(self, service: Service, pool: AddressPool, options: list[tuple[int, ...]]) -> None:
        """Grant the requested IPs; families needed but not named come from the same pool (PreferDualStack
        drops a family the pool has no free address for)."""
        ips = service.requested_ips
        for ip in ips:
            refusal = self.ledger.refusal(ip, service)
            if refusal is not None:
                raise _RefusedError(FailureReason.REQUESTED_IP_IN_USE, refusal.describe(ip))
        named = {ip.version for ip in ips}
        for option in options:
            extra = self._pick(self.spaces[pool.name], service, tuple(v for v in option if v not in named))
            if extra is not None:
                self.grant(service, pool.name, ips + extra)
                return
        raise _RefusedError(FailureReason.POOL_EXHAUSTED, f"pool {pool.name} has no free address left")

    def _pick(
        self, space: PoolSpace, service: Service, versions: tuple[int, ...]
    ) -> tuple[IPAddress, ...] | None:
        """One address per version from `space` (a shared one first), or None if any version has none."""
        picked: list[IPAddress] = []
        for version in versions:
            ip = None
            if service.sharing_key is not None:
                ip = next((a for a in self.ledger.shareable(service, version) if space.usable(a)), None)
            if ip is None:
                ip = space.lowest_free(version)
            if ip is None:
                return None
            picked.append(ip)
        return tuple(picked)

    def _assign_from(self, service: Service, pools: list[AddressPool]) -> None:
        options = family_options(service)
        tried: list[str] = []
        for versions in options:
            for pool in pools:
                space = self.spaces[pool.name]
                if not all(v in space.segments for v in versions):
                    continue
                ips = self._pick(space, service, versions)
                if ips is not None:
                    self.grant(service, pool.name, ips)
                    return
                tried.append(pool.name)
        names = ", ".join(sorted(p.name for p in pools))
        if not tried:
            families = " and ".join(f"IPv{v}" for v in options[0])
            raise _RefusedError(FailureReason.FAMILY_UNAVAILABLE, f"no pool among {names} has {families}")
        raise _RefusedError(FailureReason.POOL_EXHAUSTED, f"no free address in pool(s) {names}")

    def usage(self) -> tuple[PoolUsage, ...]:
        rows = []
        for name, space in sorted(self.spaces.items()):
            for version in space.versions():
                assigned = space.assigned(version)
                family: Family = "IPv4" if version == 4 else "IPv6"
                rows.append(PoolUsage(name, family, assigned, space.capacity(version) - assigned))
        return tuple(rows)


def _ips(ips: tuple[IPAddress, ...] | list[IPAddress]) -> str:
    return ", ".join(str(ip) for ip in ips)


def allocate(
    snapshot: Snapshot,
    config: Config,
    *,
    load_balancer_classes: Collection[str] = (DEFAULT_CLASS,),
    handle_unset_class: bool = True,
    reserved: Collection[IPAddress] = (),
) -> Allocation:
    """Addresses for every Service this controller owns; see the module docstring for the rules.

    `load_balancer_classes` are the spec.loadBalancerClass values handled here; Services without a class are
    handled unless `handle_unset_class` is False (MetalLB's behaviour when it is given a class of its own).
    `reserved` addresses count as in use and are never picked automatically (the Kubernetes controller
    passes those still shown by Services it no longer owns until their cleared status is observed).
    """
    run = _Run(snapshot, config)
    for ip in reserved:
        space = run.where.pool_of(ip)
        if space is not None:
            space.take(ip)
    ours = _in_order(owned_services(snapshot.services, load_balancer_classes, handle_unset_class))
    unkept = []
    for service in ours:
        if not (service.current_ips and run.keep(service)):
            unkept.append(service)
    pending = [s for s in unkept if s.ref not in run.assignments]  # a Service listed twice is kept once
    pending.sort(key=lambda s: not s.requested_ips)  # stable: requested IPs first, order otherwise kept
    for service in pending:
        run.assign(service)
    return Allocation(
        MappingProxyType(run.assignments),
        MappingProxyType(run.failures),
        MappingProxyType(run.released),
        run.usage(),
    )
