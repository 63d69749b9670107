"""How to talk to one peer: `PeerConfig`, the frozen value a Session is built from (session re-exports it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST, Family
from bgplb.bgp.fsm import Backoff

_MAX_ASN = 0xFFFFFFFF
_MAX_GR_TIME = 0x0FFF  # RFC 4724 §3: 12 bits


@dataclass(frozen=True, slots=True)
class GracefulRestartConfig:
    """RFC 4724. `restart_time`: how long the peer should keep our routes while we restart (seconds, <= 4095);
    `stale_routes_time`: how long we keep a restarted peer's stale routes waiting for its End-of-RIB;
    `forwarding_preserved`: the F bit we send for our families when restarting."""

    restart_time: int = 120
    stale_routes_time: float = 360.0
    forwarding_preserved: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.restart_time <= _MAX_GR_TIME:
            raise ValueError(f"GracefulRestartConfig.restart_time: {self.restart_time} is not 0..4095")
        if self.stale_routes_time <= 0:
            raise ValueError(f"GracefulRestartConfig.stale_routes_time: {self.stale_routes_time} must be > 0")


@dataclass(frozen=True, slots=True)
class PeerConfig:
    """One BGP peer as the Session sees it (addresses and TCP options belong to the transport).

    `peer_asn` None accepts any ASN (dynamic peer; iBGP when it equals ours). `hold_time` is 0 or 3..65535
    (RFC 4271 §4.2); keepalives go at a third of the negotiated hold time, or `keepalive_time` if lower.
    `connect_retry_time` bounds one dial in Connect; `backoff` spaces out the attempts. A `passive` peer
    never dials. `next_hop_ipv4`/`next_hop_ipv6` replace our session address as next hop (next-hop-self)
    for routes without one. `max_prefixes` is per family (Cease subcode 1 when exceeded).
    `enhanced_route_refresh` advertises RFC 7313 (BoRR/EoRR around a refresh) along with `route_refresh`.
    """

    local_asn: int
    peer_asn: int | None
    router_id: IPv4Address
    hold_time: int = 90
    keepalive_time: int | None = None
    connect_retry_time: float = 30.0
    backoff: Backoff = field(default_factory=Backoff)
    passive: bool = False
    families: tuple[Family, ...] = (IPV4_UNICAST, IPV6_UNICAST)
    graceful_restart: GracefulRestartConfig | None = None
    hostname: str | None = None
    domain: str = ""
    max_prefixes: int | None = None
    extended_message: bool = True
    route_refresh: bool = True
    enhanced_route_refresh: bool = True
    next_hop_ipv4: IPv4Address | None = None
    next_hop_ipv6: IPv6Address | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.local_asn <= _MAX_ASN:
            raise ValueError(f"PeerConfig.local_asn: {self.local_asn} is not 1..4294967295")
        if self.peer_asn is not None and not 1 <= self.peer_asn <= _MAX_ASN:
            raise ValueError(f"PeerConfig.peer_asn: {self.peer_asn} is not 1..4294967295")
        if self.hold_time in (1, 2) or not 0 <= self.hold_time <= 0xFFFF:
            raise ValueError(f"PeerConfig.hold_time: {self.hold_time} must be 0 or 3..65535 (RFC 4271 §4.2)")
        if self.keepalive_time is not None and not 1 <= self.keepalive_time <= 0xFFFF:
            raise ValueError(f"PeerConfig.keepalive_time: {self.keepalive_time} must be 1..65535")
        if self.connect_retry_time <= 0:
            raise ValueError(f"PeerConfig.connect_retry_time: {self.connect_retry_time} must be > 0")
        if not self.families or any(family not in (IPV4_UNICAST, IPV6_UNICAST) for family in self.families):
            raise ValueError(f"PeerConfig.families: {self.families} must be IPv4 and/or IPv6 unicast")
        if self.max_prefixes is not None and self.max_prefixes < 1:
            raise ValueError(f"PeerConfig.max_prefixes: {self.max_prefixes} must be >= 1")
        if self.router_id == IPv4Address(0):
            raise ValueError("PeerConfig.router_id: 0.0.0.0 is not a valid BGP Identifier")

    @property
    def ibgp(self) -> bool | None:
        """True/False when the peer ASN is configured; None for a dynamic peer until its OPEN arrives."""
        return None if self.peer_asn is None else self.peer_asn == self.local_asn
