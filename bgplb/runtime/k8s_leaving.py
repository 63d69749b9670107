"""Services that stop being ours: which ones the controller cleans, and which new assignments wait for it.

A Service leaves when the allocator no longer handles it (`is_ours` is False) while it still shows what
this controller may have written, as MetalLB's controller clears the state of a Service that is no longer
a LoadBalancer:
- spec.type is no longer LoadBalancer and status.loadBalancer.ingress holds an address inside one of our
  pools, or the Service carries the `metallb.io/ip-allocated-from-pool` annotation (we wrote it; no other
  load balancer serves a ClusterIP/NodePort Service);
- it is still a LoadBalancer but of a loadBalancerClass we do not handle, and its ingress holds an address
  inside one of our pools. Such a Service belongs to another implementation: its annotation alone (which
  another MetalLB writes too) or addresses outside our pools never make us touch it.
Cleaning means: the ingress list emptied and the annotation removed (the controller writes it, with one
ClearAssignment Event). Until the cleared status is observed, the addresses it still shows are handed to
nobody else: the controller passes them to `allocate` as `reserved` (no automatic pick takes them), and
`waiting` names the Services that got one anyway (they request it explicitly): they are written in a later
pass, once the watch brings the cleared Service back. `leaving` and `waiting` are pure functions of the
snapshot, the config and the mirrored annotations; `Cleanup` is the leader's memory across passes:
ClearAssignment once per Service and addresses, and no write fight with another implementation (a
Service of another class that shows the addresses we cleared again is ceded: it is left alone, its
addresses still given to nobody else).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from bgplb.config.models import Config
from bgplb.planning.allocation import Allocation, is_ours
from bgplb.planning.snapshot import IPAddress, Service, ServiceRef

log = logging.getLogger(__name__)


class LeaveReason(StrEnum):
    """Why a Service is no longer one this controller allocates for."""

    NOT_LOAD_BALANCER = "NotLoadBalancer"
    OTHER_CLASS = "OtherClass"


@dataclass(frozen=True, slots=True)
class Leaving:
    """A Service to clean: the addresses its status still shows (maybe none: only the annotation), why."""

    ips: tuple[IPAddress, ...]
    reason: LeaveReason
    detail: str


def leaving(
    services: Iterable[Service],
    config: Config,
    annotated: Callable[[ServiceRef], bool],
    *,
    classes: Collection[str],
    handle_unset_class: bool,
) -> dict[ServiceRef, Leaving]:
    """The Services to clean (see the module docstring); `annotated(ref)`: it carries our pool annotation."""
    out: dict[ServiceRef, Leaving] = {}
    for service in services:
        if is_ours(service, classes, handle_unset_class):
            continue
        in_pools = any(config.pool_of(ip) is not None for ip in service.current_ips)
        ref = service.ref
        if service.type != "LoadBalancer":
            if in_pools or annotated(ref):
                detail = f"{ref}: the Service is of type {service.type}, no longer LoadBalancer"
                out[ref] = Leaving(service.current_ips, LeaveReason.NOT_LOAD_BALANCER, detail)
        elif in_pools:
            if service.load_balancer_class is None:
                handled = ", ".join(sorted(classes))
                detail = f"{ref}: the Service has no loadBalancerClass, and this controller handles {handled}"
            else:
                detail = f"{ref}: loadBalancerClass {service.load_balancer_class} is not handled here"
            out[ref] = Leaving(service.current_ips, LeaveReason.OTHER_CLASS, detail)
    return out


def other_class(service: Service, classes: Collection[str], handle_unset_class: bool) -> bool:
    """A LoadBalancer Service of a class this controller does not handle (another implementation's)."""
    return service.type == "LoadBalancer" and not is_ours(service, classes, handle_unset_class)


def waiting(
    allocation: Allocation, services: Mapping[ServiceRef, Service], gone: Mapping[ServiceRef, Leaving]
) -> set[ServiceRef]:
    """Services whose new addresses are still shown by a Service in `gone`: not written this pass."""
    held = {ip for leave in gone.values() for ip in leave.ips}
    if not held:
        return set()
    out = set()
    for ref, assignment in allocation.assignments.items():
        for ip in assignment.ips:
            if ip in held and ip not in services[ref].current_ips:
                out.add(ref)
    return out


class Cleanup:
    """What the leader remembers about leaving Services during one term (see the module docstring)."""

    def __init__(self) -> None:
        self._reported: dict[ServiceRef, tuple[IPAddress, ...]] = {}  # ClearAssignment recorded
        self._cleared: dict[ServiceRef, tuple[IPAddress, ...]] = {}  # written away from another class
        self.ceded: set[ServiceRef] = set()

    def writes(
        self, gone: Mapping[ServiceRef, Leaving], stale: Callable[[ServiceRef], bool]
    ) -> list[tuple[ServiceRef, Leaving]]:
        """The Services still to clear (`stale(ref)`: the mirror is not clean yet); warns of newly ceded."""
        todo: list[tuple[ServiceRef, Leaving]] = []
        ceded: set[ServiceRef] = set()
        for ref, leave in sorted(gone.items()):
            if not stale(ref):
                continue
            if leave.reason is LeaveReason.OTHER_CLASS and self._cleared.get(ref) == leave.ips:
                ceded.add(ref)
            else:
                todo.append((ref, leave))
        for ref in sorted(ceded - self.ceded):
            log.warning(
                "Service %s (another loadBalancerClass) shows %s again after we cleared it: another "
                "implementation assigns addresses from our pools; leaving it alone",
                ref,
                ", ".join(map(str, gone[ref].ips)),
            )
        self.ceded = ceded
        return todo

    def event_due(self, ref: ServiceRef, leave: Leaving) -> bool:
        """Whether ClearAssignment is to be recorded now (once per Service and addresses); records it."""
        if not leave.ips or self._reported.get(ref) == leave.ips:
            return False
        self._reported[ref] = leave.ips
        return True

    def written(self, ref: ServiceRef, leave: Leaving) -> None:
        """The clearing write of `ref` succeeded."""
        if leave.reason is LeaveReason.OTHER_CLASS:
            self._cleared[ref] = leave.ips

    def prune(self, gone: Mapping[ServiceRef, Leaving], other: Callable[[ServiceRef], bool]) -> None:
        """Forget Services no longer leaving (reports), or gone or no longer of another class (`other`)."""
        self._reported = {ref: ips for ref, ips in self._reported.items() if ref in gone}
        self._cleared = {ref: ips for ref, ips in self._cleared.items() if other(ref)}
