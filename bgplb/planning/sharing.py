"""IP sharing rules: when two Services may hold the same address.

MetalLB's rules (the `allow-shared-ip` annotation): both Services carry the same sharing key, no port is used
by both with the same protocol, and their backends are compatible: both `externalTrafficPolicy: Cluster`, or
both `Local` with identical pod selectors (the snapshot sees the selector, not the pods; identical selectors
is the rule MetalLB applies too). Cilium's `lbipam.cilium.io/sharing-key` additionally keeps sharing inside
one namespace unless each Service opts in to the other's namespace (`sharing-cross-namespace`, "*" for all).

`Ledger` records who holds which address in one allocation run and finds addresses a sharing key already
holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bgplb.planning.snapshot import IPAddress, Service, ServicePort, ServiceRef


class SharingConflict(StrEnum):
    """Why two Services may not share an address."""

    NOT_SHARED = "NotShared"
    DIFFERENT_KEY = "DifferentSharingKey"
    NAMESPACE_NOT_ALLOWED = "NamespaceNotAllowed"
    PORT_CONFLICT = "PortConflict"
    BACKEND_MISMATCH = "BackendMismatch"


@dataclass(frozen=True, slots=True)
class Claim:
    """What a Service brings to an address: its key, namespace rule, ports and backend."""

    ref: ServiceRef
    sharing_key: str | None
    sharing_namespaces: tuple[str, ...] | None
    ports: frozenset[ServicePort]
    backend: tuple[tuple[str, str], ...] | None

    @classmethod
    def of(cls, service: Service) -> Claim:
        """The claim a Service makes on each of its addresses."""
        backend = (
            tuple(sorted(service.selector.items())) if service.external_traffic_policy == "Local" else None
        )
        return cls(
            service.ref, service.sharing_key, service.sharing_namespaces, frozenset(service.ports), backend
        )


def _allows(claim: Claim, namespace: str) -> bool:
    allowed = claim.sharing_namespaces
    return allowed is None or namespace == claim.ref.namespace or "*" in allowed or namespace in allowed


def sharing_conflict(a: Claim, b: Claim) -> SharingConflict | None:
    """None when `a` and `b` may share one address, otherwise the first rule they break."""
    if a.sharing_key is None or b.sharing_key is None:
        return SharingConflict.NOT_SHARED
    if a.sharing_key != b.sharing_key:
        return SharingConflict.DIFFERENT_KEY
    if not (_allows(a, b.ref.namespace) and _allows(b, a.ref.namespace)):
        return SharingConflict.NAMESPACE_NOT_ALLOWED
    if a.ports & b.ports:
        return SharingConflict.PORT_CONFLICT
    if a.backend != b.backend:
        return SharingConflict.BACKEND_MISMATCH
    return None


@dataclass(frozen=True, slots=True)
class Refusal:
    """An address cannot be given to a claim: who holds it and why they cannot share."""

    holder: ServiceRef
    conflict: SharingConflict

    def describe(self, ip: IPAddress) -> str:
        """Human text for Events."""
        return f"{ip} is held by {self.holder} ({self.conflict.value})"


@dataclass(slots=True)
class Ledger:
    """Holders of every address handed out in this run, and the addresses each sharing key holds.

    Holders are Services; their claims are derived only when two of them meet on one address. One dict entry
    per address (no list unless it is shared) keeps the garbage collector's work low on big pools.
    """

    first: dict[IPAddress, Service] = field(default_factory=dict)
    more: dict[IPAddress, list[Service]] = field(default_factory=dict)
    by_key: dict[str, set[IPAddress]] = field(default_factory=dict)
    claims: dict[ServiceRef, Claim] = field(default_factory=dict)

    def claim(self, service: Service) -> Claim:
        """The (cached) claim of `service`."""
        claim = self.claims.get(service.ref)
        if claim is None:
            claim = self.claims[service.ref] = Claim.of(service)
        return claim

    def holders(self, ip: IPAddress) -> list[Service]:
        """Every Service holding `ip`, first holder first."""
        first = self.first.get(ip)
        return [] if first is None else [first, *self.more.get(ip, ())]

    def refusal(self, ip: IPAddress, service: Service) -> Refusal | None:
        """None when `service` may hold `ip` next to its current holders."""
        if ip not in self.first:
            return None
        mine = self.claim(service)
        for holder in self.holders(ip):
            conflict = sharing_conflict(self.claim(holder), mine)
            if conflict is not None:
                return Refusal(holder.ref, conflict)
        return None

    def hold(self, ip: IPAddress, service: Service) -> None:
        """Record that `service` holds `ip` (one dict entry per address; lists only for shared ones)."""
        if self.first.setdefault(ip, service) is not service:  # one lookup; a repeat adds nothing new
            self.more.setdefault(ip, []).append(service)
        if service.sharing_key is not None:
            self.by_key.setdefault(service.sharing_key, set()).add(ip)

    def shareable(self, service: Service, version: int) -> list[IPAddress]:
        """Addresses of `version` held under the Service's sharing key that it may join, lowest first."""
        if service.sharing_key is None:
            return []
        held = self.by_key.get(service.sharing_key, ())
        return sorted(ip for ip in held if ip.version == version and self.refusal(ip, service) is None)
