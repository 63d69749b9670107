"""The observed cluster state that planning works on: bgplb's own frozen types, never Kubernetes objects.

Adapters (the Kubernetes watch, the YAML file source) translate what they see into these values;
`planning.service_manifest` does the translation for one Service manifest so that both adapters agree on
how annotations are read. Label maps are plain mappings excluded from hashing; everything else is hashable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address
from operator import attrgetter
from typing import Literal

IPAddress = IPv4Address | IPv6Address
Family = Literal["IPv4", "IPv6"]
ExternalTrafficPolicy = Literal["Cluster", "Local"]


def family_of(ip: IPAddress) -> Family:
    """The Kubernetes family name of an address."""
    return "IPv4" if ip.version == 4 else "IPv6"


class IPFamilyPolicy(StrEnum):
    """`spec.ipFamilyPolicy` of a Service."""

    SINGLE_STACK = "SingleStack"
    PREFER_DUAL_STACK = "PreferDualStack"
    REQUIRE_DUAL_STACK = "RequireDualStack"


@dataclass(frozen=True, slots=True, order=True)
class ServiceRef:
    """A Service's identity: namespace and name (ordered by namespace, then name)."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True, order=True)
class ServicePort:
    """One `spec.ports` entry as far as IP sharing cares: protocol and port."""

    protocol: str
    port: int


@dataclass(frozen=True, slots=True)
class Service:
    """A Service as the allocator sees it.

    `requested_ips` come from `spec.loadBalancerIP` or the loadBalancerIPs annotations (at most one per
    family); `invalid_request` is set when those could not be read (the allocator then fails the Service with
    that text). `sharing_namespaces` is None for MetalLB's allow-shared-ip (any namespace may share the key);
    for Cilium's sharing-key it lists the other namespaces this Service accepts ("*" = all).
    `selector` is the pod selector: Services with externalTrafficPolicy Local may only share an IP when their
    selectors are identical. `current_ips` is status.loadBalancer.ingress.
    """

    ref: ServiceRef
    type: str = "LoadBalancer"
    load_balancer_class: str | None = None
    requested_ips: tuple[IPAddress, ...] = ()
    requested_pool: str | None = None
    sharing_key: str | None = None
    sharing_namespaces: tuple[str, ...] | None = None
    ip_families: tuple[Family, ...] = ("IPv4",)
    ip_family_policy: IPFamilyPolicy = IPFamilyPolicy.SINGLE_STACK
    ports: tuple[ServicePort, ...] = ()
    external_traffic_policy: ExternalTrafficPolicy = "Cluster"
    selector: Mapping[str, str] = field(default_factory=dict, hash=False)
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    current_ips: tuple[IPAddress, ...] = ()
    creation_timestamp: float | None = None
    invalid_request: str | None = None


@dataclass(frozen=True, slots=True)
class NodeCondition:
    """A Node condition that matters to the speaker (e.g. NetworkUnavailable)."""

    type: str
    status: bool


@dataclass(frozen=True, slots=True)
class Node:
    """A Node (or a host in no-Kubernetes mode)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    addresses: tuple[IPAddress, ...] = ()
    conditions: tuple[NodeCondition, ...] = ()
    unschedulable: bool = False

    @property
    def network_unavailable(self) -> bool:
        """True when the NetworkUnavailable condition is set."""
        return any(c.type == "NetworkUnavailable" and c.status for c in self.conditions)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One endpoint of an EndpointSlice: where a backend pod runs and its readiness."""

    node: str | None
    addresses: tuple[IPAddress, ...] = ()
    ready: bool = True
    serving: bool = True
    terminating: bool = False


@dataclass(frozen=True, slots=True)
class EndpointSlice:
    """The endpoints of one Service (several slices may exist per Service)."""

    service: ServiceRef
    name: str = ""
    endpoints: tuple[Endpoint, ...] = ()


@dataclass(frozen=True, slots=True)
class Namespace:
    """A Namespace and its labels (for pools' namespaceSelectors)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything planning needs from the cluster at one moment."""

    services: tuple[Service, ...] = ()
    nodes: tuple[Node, ...] = ()
    endpoint_slices: tuple[EndpointSlice, ...] = ()
    namespaces: tuple[Namespace, ...] = ()

    def namespace_labels(self) -> dict[str, Mapping[str, str]]:
        """Namespace name -> labels."""
        return {ns.name: ns.labels for ns in self.namespaces}


def by_ref(services: Iterable[Service]) -> list[Service]:
    """`services` sorted by ServiceRef (namespace, then name), stable.

    One stable sort per key, least significant first: each compares plain strings at C speed, where one
    sort on ServiceRef (or on a tuple key) compares through Python-level or tuple comparisons.
    """
    out = sorted(services, key=attrgetter("ref.name"))
    out.sort(key=attrgetter("ref.namespace"))
    return out
