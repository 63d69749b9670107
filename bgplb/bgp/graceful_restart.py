"""Graceful restart (RFC 4724) decisions, as pure functions the Session calls.

As the restarting speaker we advertise the capability with the R bit in the first OPEN after our restart and
the F bit for our families (bgplb's forwarding is the nodes', which a speaker restart does not touch). As the
receiving speaker ("helper") we keep a peer's routes as stale when its session ends by a TCP failure or a
hold-timer expiry, provided both sides advertised the capability; the Session then purges them on the
peer's End-of-RIB, on its next OPEN for families no longer preserved, or when the timers run out.
"""

from __future__ import annotations

from bgplb.bgp.capabilities import (
    Capability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    FourOctetAs,
    Fqdn,
    GracefulRestart,
    GracefulRestartFamily,
    Multiprotocol,
    RouteRefreshCapability,
)
from bgplb.bgp.constants import Family
from bgplb.bgp.fsm import DownReason
from bgplb.bgp.negotiation import Negotiated
from bgplb.bgp.peer import PeerConfig

_HELPER_REASONS = (DownReason.CONNECTION_LOST, DownReason.HOLD_TIMER_EXPIRED)


def local_capabilities(config: PeerConfig, *, restarting: bool) -> tuple[Capability, ...]:
    """The capabilities of our OPEN for `config`; `restarting` sets the R and F bits (RFC 4724 §3)."""
    caps: list[Capability] = [Multiprotocol(family.afi, family.safi) for family in config.families]
    if config.route_refresh:
        caps.append(RouteRefreshCapability())
        if config.enhanced_route_refresh:  # RFC 7313 §3: only along with the Route Refresh capability
            caps.append(EnhancedRouteRefresh())
    if config.extended_message:
        caps.append(ExtendedMessage())
    gr = config.graceful_restart
    if gr is not None:
        preserved = restarting and gr.forwarding_preserved
        families = tuple(GracefulRestartFamily(f.afi, f.safi, preserved) for f in config.families)
        caps.append(GracefulRestart(restarting=restarting, restart_time=gr.restart_time, families=families))
    caps.append(FourOctetAs(config.local_asn))
    if config.hostname:
        caps.append(Fqdn(config.hostname, config.domain))
    return tuple(caps)


def stale_families(negotiated: Negotiated | None, reason: DownReason | None) -> tuple[Family, ...]:
    """The families whose received routes become stale when an Established session ends for `reason`."""
    if negotiated is None or reason not in _HELPER_REASONS:
        return ()
    peer, local = negotiated.peer_graceful_restart, negotiated.local_graceful_restart
    if peer is None or local is None:
        return ()
    return tuple(f.family for f in peer.families if f.family in negotiated.families)


def preserved_families(negotiated: Negotiated) -> frozenset[Family]:
    """The families the reconnected peer says it preserved (F bit) — their stale routes wait for EoR."""
    peer = negotiated.peer_graceful_restart
    if peer is None:
        return frozenset()
    return frozenset(f.family for f in peer.families if f.forwarding_preserved)
