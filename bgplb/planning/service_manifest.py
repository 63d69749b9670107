"""Read one Kubernetes Service manifest (a plain dict) into a snapshot `Service`.

Both adapters (the Kubernetes watch and the YAML file source) call this, so annotations are read one way:
- requested IPs: `spec.loadBalancerIP`, `metallb.io/loadBalancerIPs`, `lbipam.cilium.io/ips` (comma-separated,
  at most one per family) and the older `metallb.universe.tf/loadBalancerIPs` and `io.cilium/lb-ipam-ips`;
- requested pool: `metallb.io/address-pool` (older: `metallb.universe.tf/address-pool`);
- sharing: `metallb.io/allow-shared-ip` (older: `metallb.universe.tf/allow-shared-ip`) shares with any
  namespace; `lbipam.cilium.io/sharing-key` (older: `io.cilium/lb-ipam-sharing-key`) shares within the
  namespace plus those listed in `lbipam.cilium.io/sharing-cross-namespace`.
Older spellings are accepted with a deprecation warning. Requests that cannot be honoured as written (a bad
address, two addresses of one family, sources that disagree) set `Service.invalid_request`, so the allocator
fails the Service with that text instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from ipaddress import ip_address
from typing import cast

from bgplb.planning.snapshot import (
    ExternalTrafficPolicy,
    Family,
    IPAddress,
    IPFamilyPolicy,
    Service,
    ServicePort,
    ServiceRef,
)

IPS_ANNOTATIONS = ("metallb.io/loadBalancerIPs", "lbipam.cilium.io/ips")
OLD_IPS_ANNOTATIONS = {
    "metallb.universe.tf/loadBalancerIPs": "metallb.io/loadBalancerIPs",
    "io.cilium/lb-ipam-ips": "lbipam.cilium.io/ips",
}
POOL_ANNOTATION = "metallb.io/address-pool"
OLD_POOL_ANNOTATION = "metallb.universe.tf/address-pool"
SHARED_ANNOTATION = "metallb.io/allow-shared-ip"
OLD_SHARED_ANNOTATION = "metallb.universe.tf/allow-shared-ip"
CILIUM_SHARING_ANNOTATION = "lbipam.cilium.io/sharing-key"
OLD_CILIUM_SHARING_ANNOTATION = "io.cilium/lb-ipam-sharing-key"
CILIUM_CROSS_NAMESPACE_ANNOTATION = "lbipam.cilium.io/sharing-cross-namespace"


@dataclass(frozen=True, slots=True)
class ServiceReading:
    """A Service read from its manifest, with warnings about how it was written."""

    service: Service
    warnings: tuple[str, ...]


def _map(value: object) -> Mapping[str, object]:
    return cast(Mapping[str, object], value) if isinstance(value, Mapping) else {}


def _strings(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in _map(value).items()}


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


class _Reader:
    def __init__(self, annotations: dict[str, str]) -> None:
        self.annotations = annotations
        self.warnings: list[str] = []
        self.problems: list[str] = []

    def annotation(self, name: str, old: str | None) -> str | None:
        value = self.annotations.get(name)
        if old is not None and old in self.annotations:
            self.warnings.append(f"annotation {old} is deprecated; use {name}")
            if value is None:
                value = self.annotations[old]
            elif value != self.annotations[old]:
                self.problems.append(f"annotations {name} and {old} disagree")
        return value

    def requested_ips(self, load_balancer_ip: str | None) -> tuple[IPAddress, ...]:
        sources: dict[str, str] = {}
        if load_balancer_ip:
            sources["spec.loadBalancerIP"] = load_balancer_ip
        old_names = {new: old for old, new in OLD_IPS_ANNOTATIONS.items()}
        for name in IPS_ANNOTATIONS:
            value = self.annotation(name, old_names[name])
            if value:
                sources[name] = value
        parsed: dict[str, tuple[IPAddress, ...]] = {}
        for where, text in sources.items():
            try:
                parsed[where] = tuple(ip_address(part.strip()) for part in text.split(",") if part.strip())
            except ValueError as exc:
                self.problems.append(f"{where}: {exc}")
        distinct = {frozenset(ips) for ips in parsed.values()}
        if len(distinct) > 1:
            self.problems.append(f"{' and '.join(sorted(parsed))} request different addresses")
            return ()
        ips = next(iter(parsed.values()), ())
        if len({ip.version for ip in ips}) != len(ips):
            self.problems.append(f"at most one address per family may be requested, got {len(ips)}")
            return ()
        return ips

    def sharing(self, namespace: str) -> tuple[str | None, tuple[str, ...] | None]:
        metallb = self.annotation(SHARED_ANNOTATION, OLD_SHARED_ANNOTATION)
        cilium = self.annotation(CILIUM_SHARING_ANNOTATION, OLD_CILIUM_SHARING_ANNOTATION)
        if metallb is not None and cilium is not None and metallb != cilium:
            self.problems.append(f"{SHARED_ANNOTATION} and {CILIUM_SHARING_ANNOTATION} name different keys")
        if cilium is not None and metallb is None:
            cross = self.annotations.get(CILIUM_CROSS_NAMESPACE_ANNOTATION, "")
            allowed = tuple(sorted({p.strip() for p in cross.split(",") if p.strip()} - {namespace}))
            return cilium, allowed
        return metallb, None


def _timestamp(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _ports(spec: Mapping[str, object]) -> tuple[ServicePort, ...]:
    ports = []
    for item in _list(spec.get("ports")):
        entry = _map(item)
        port = entry.get("port")
        if isinstance(port, int) and not isinstance(port, bool):
            ports.append(ServicePort(str(entry.get("protocol", "TCP")), port))
    return tuple(sorted(set(ports)))


def _families(spec: Mapping[str, object], warnings: list[str]) -> tuple[Family, ...]:
    families: list[Family] = []
    for item in _list(spec.get("ipFamilies")):
        if item in ("IPv4", "IPv6"):
            families.append(item)
        else:
            warnings.append(f"spec.ipFamilies: unknown family {item!r} ignored")
    return tuple(families) or ("IPv4",)


def read_service(manifest: Mapping[str, object]) -> ServiceReading:
    """The snapshot Service for a v1 Service manifest (never raises on bad content; see invalid_request)."""
    metadata, spec = _map(manifest.get("metadata")), _map(manifest.get("spec"))
    namespace = str(metadata.get("namespace") or "default")
    reader = _Reader(_strings(metadata.get("annotations")))
    lb_ip = spec.get("loadBalancerIP")
    requested = reader.requested_ips(str(lb_ip) if lb_ip else None)
    pool = reader.annotation(POOL_ANNOTATION, OLD_POOL_ANNOTATION)
    sharing_key, sharing_namespaces = reader.sharing(namespace)
    policy_text = str(spec.get("ipFamilyPolicy") or IPFamilyPolicy.SINGLE_STACK.value)
    try:
        policy = IPFamilyPolicy(policy_text)
    except ValueError:
        reader.warnings.append(f"spec.ipFamilyPolicy: unknown policy {policy_text!r}, using SingleStack")
        policy = IPFamilyPolicy.SINGLE_STACK
    etp: ExternalTrafficPolicy = "Local" if spec.get("externalTrafficPolicy") == "Local" else "Cluster"
    current: list[IPAddress] = []
    for item in _list(_map(_map(manifest.get("status")).get("loadBalancer")).get("ingress")):
        ip = _map(item).get("ip")
        if ip is None:  # a hostname-only ingress entry
            continue
        try:
            current.append(ip_address(str(ip)))
        except ValueError:
            reader.warnings.append(f"status.loadBalancer.ingress: {ip!r} is not an address, ignored")
    lb_class = spec.get("loadBalancerClass")
    service = Service(
        ref=ServiceRef(namespace, str(metadata.get("name", ""))),
        type=str(spec.get("type") or "ClusterIP"),
        load_balancer_class=str(lb_class) if lb_class else None,
        requested_ips=requested,
        requested_pool=pool or None,
        sharing_key=sharing_key or None,
        sharing_namespaces=sharing_namespaces,
        ip_families=_families(spec, reader.warnings),
        ip_family_policy=policy,
        ports=_ports(spec),
        external_traffic_policy=etp,
        selector=_strings(spec.get("selector")),
        labels=_strings(metadata.get("labels")),
        current_ips=tuple(current),
        creation_timestamp=_timestamp(metadata.get("creationTimestamp")),
        invalid_request="; ".join(reader.problems) or None,
    )
    return ServiceReading(service, tuple(reader.warnings))
