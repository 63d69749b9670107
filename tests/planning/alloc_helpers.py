"""Small builders for allocation tests: pools from CIDR/range text, Services with sensible defaults."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import ip_address, ip_network
from typing import Any

from bgplb.config.models import AddressPool, Config, IPRange, LabelSelector, ServiceAllocation
from bgplb.planning.allocation import Allocation, allocate
from bgplb.planning.snapshot import Namespace, Service, ServicePort, ServiceRef, Snapshot


def rng(text: str) -> IPRange:
    """`10.0.0.0/24` or `10.0.0.1-10.0.0.9`."""
    if "-" in text:
        first, last = text.split("-")
        return IPRange(first=ip_address(first), last=ip_address(last))
    return IPRange.from_network(ip_network(text))


def pool(
    name: str,
    *ranges: str,
    priority: int | None = None,
    namespaces: Iterable[str] = (),
    service_labels: dict[str, str] | None = None,
    namespace_labels: dict[str, str] | None = None,
    **kw: Any,
) -> AddressPool:
    sa = None
    if priority is not None or namespaces or service_labels or namespace_labels:
        sa = ServiceAllocation(
            priority=priority,
            namespaces=tuple(namespaces),
            namespace_selectors=(LabelSelector(match_labels=namespace_labels),) if namespace_labels else (),
            service_selectors=(LabelSelector(match_labels=service_labels),) if service_labels else (),
        )
    kw.setdefault("source", "metallb")
    return AddressPool(name=name, ranges=tuple(rng(r) for r in ranges), service_allocation=sa, **kw)


def svc(
    name: str,
    ns: str = "default",
    *,
    ips: Iterable[str] = (),
    current: Iterable[str] = (),
    ports: Iterable[int | tuple[str, int]] = (),
    **kw: Any,
) -> Service:
    port_values = tuple(ServicePort(*p) if isinstance(p, tuple) else ServicePort("TCP", p) for p in ports)
    return Service(
        ref=ServiceRef(ns, name),
        requested_ips=tuple(ip_address(i) for i in ips),
        current_ips=tuple(ip_address(i) for i in current),
        ports=port_values,
        **kw,
    )


def run(
    services: Iterable[Service], pools: Iterable[AddressPool], namespaces: Iterable[Namespace] = (), **kw: Any
) -> Allocation:
    config = Config(pools=tuple(sorted(pools, key=lambda p: p.name)))
    return allocate(Snapshot(services=tuple(services), namespaces=tuple(namespaces)), config, **kw)


def ips_of(result: Allocation, name: str, ns: str = "default") -> tuple[str, ...] | None:
    assignment = result.assignments.get(ServiceRef(ns, name))
    return None if assignment is None else tuple(str(ip) for ip in assignment.ips)


def outcome(result: Allocation, name: str, ns: str = "default") -> object:
    """The addresses as strings, or the failure reason, or None when the Service was ignored."""
    ref = ServiceRef(ns, name)
    if ref in result.assignments:
        return tuple(str(ip) for ip in result.assignments[ref].ips)
    if ref in result.failures:
        return result.failures[ref].reason
    return None
