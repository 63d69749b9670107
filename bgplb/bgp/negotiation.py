"""What two OPENs agree on (RFC 4271 §4.2, RFC 5492): hold time, keepalive, 4-octet AS, families, extensions.

`negotiate` is a pure function of the two OPEN messages; the result is frozen and handed to the codec and to
the session. Every field has a default so that tests and the codec can build one for a given context.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from bgplb.bgp.capabilities import (
    EnhancedRouteRefresh,
    ExtendedMessage,
    Fqdn,
    GracefulRestart,
    Multiprotocol,
    RouteRefreshCapability,
)
from bgplb.bgp.constants import IPV4_UNICAST, MAX_EXTENDED_MESSAGE, MAX_MESSAGE, Family
from bgplb.bgp.messages import Open

_UNSPECIFIED_ID = IPv4Address(0)


@dataclass(frozen=True, slots=True)
class Negotiated:
    """The agreed session parameters (both sides advertised a capability, unless noted)."""

    hold_time: int = 90
    keepalive_time: int = 30  # 0: no keepalives (hold time 0)
    four_octet_as: bool = True
    extended_message: bool = False
    route_refresh: bool = False
    enhanced_route_refresh: bool = False
    families: frozenset[Family] = frozenset({IPV4_UNICAST})
    peer_asn: int = 0
    peer_id: IPv4Address = _UNSPECIFIED_ID
    peer_hostname: str | None = None
    peer_graceful_restart: GracefulRestart | None = None
    local_graceful_restart: GracefulRestart | None = None

    @property
    def max_message_size(self) -> int:
        """4096, or 65535 with the Extended Message capability on both sides (RFC 8654 §3)."""
        return MAX_EXTENDED_MESSAGE if self.extended_message else MAX_MESSAGE


def _families(message: Open) -> frozenset[Family]:
    mp = message.all_capabilities(Multiprotocol)
    # RFC 4760 §8 / RFC 4271: a speaker without Multiprotocol capabilities does IPv4 unicast only
    return frozenset(cap.family for cap in mp) if mp else frozenset({IPV4_UNICAST})


def negotiate(local: Open, remote: Open, keepalive_time: int | None = None) -> Negotiated:
    """Combine our OPEN and the peer's.

    Hold time is the smaller of the two (RFC 4271 §4.2); keepalive is a third of it, or `keepalive_time`
    when configured lower; hold time 0 means no keepalives. Families are the intersection.
    """
    hold = min(local.hold_time, remote.hold_time)
    keepalive = 0 if hold == 0 else hold // 3
    if keepalive and keepalive_time is not None and 0 < keepalive_time < keepalive:
        keepalive = keepalive_time

    def both(kind: type[RouteRefreshCapability | EnhancedRouteRefresh | ExtendedMessage]) -> bool:
        return local.capability(kind) is not None and remote.capability(kind) is not None

    fqdn = remote.capability(Fqdn)
    return Negotiated(
        hold_time=hold,
        keepalive_time=keepalive,
        four_octet_as=local.four_octet_as and remote.four_octet_as,
        extended_message=both(ExtendedMessage),
        route_refresh=both(RouteRefreshCapability),
        enhanced_route_refresh=both(EnhancedRouteRefresh),
        families=_families(local) & _families(remote),
        peer_asn=remote.asn,
        peer_id=remote.bgp_id,
        peer_hostname=fqdn.hostname if fqdn is not None else None,
        peer_graceful_restart=remote.capability(GracefulRestart),
        local_graceful_restart=local.capability(GracefulRestart),
    )
