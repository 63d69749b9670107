"""The JSON status of a running `bgplb run`: sessions, routes, services, pools, config, health.

Plain data (str/int/float/bool/None/list/dict) built from the live objects, so the status endpoint just
serialises it and `bgplb status` just reads it. Times are seconds; addresses and prefixes are strings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bgplb.adapters.file_source import LoadResult
from bgplb.adapters.health import CheckSpec
from bgplb.bgp.communities import format_community, format_large_community
from bgplb.bgp.routes import Route
from bgplb.planning.allocation import Allocation
from bgplb.planning.announcement import NodeAnnouncements
from bgplb.runtime.speaker import SessionView

VIEWS = ("sessions", "routes", "services", "pools", "config", "health")
Json = dict[str, Any]
ViewBuilder = Callable[[], object]


def session_rows(sessions: Iterable[SessionView]) -> list[Json]:
    """`show bgp summary`: peer, ASN, state, up/down time, prefixes sent/received, last error."""
    rows = []
    for view in sessions:
        stats = view.status.stats
        error = None
        if stats.last_error is not None:
            side = "received" if stats.last_error_from_peer else "sent"
            error = f"{side} {stats.last_error}"
        elif stats.last_down_reason is not None:
            error = stats.last_down_reason.value
        rows.append(
            {
                "peer": view.peer.name,
                "address": str(view.status.address),
                "local_asn": view.peer.my_asn,
                "peer_asn": view.peer.peer_asn if view.peer.peer_asn is not None else view.peer.dynamic_asn,
                "state": view.status.state.value,
                "uptime": view.status.uptime,
                "flaps": stats.flaps,
                "prefixes_sent": sum(stats.prefixes_sent.values()),
                "prefixes_received": sum(stats.prefixes_received.values()),
                "last_error": error,
            }
        )
    return rows


def route_json(route: Route) -> Json:
    """One route: prefix, next hop ("self" when None), communities, large communities, local-pref, MED."""
    return {
        "prefix": str(route.prefix),
        "next_hop": "self" if route.next_hop is None else str(route.next_hop),
        "communities": [format_community(c) for c in route.communities],
        "large_communities": [format_large_community(c) for c in route.large_communities],
        "local_pref": route.local_pref,
        "med": route.med,
    }


def route_rows(sessions: Iterable[SessionView]) -> list[Json]:
    """Per peer, the routes handed to its session."""
    return [
        {"peer": v.peer.name, "address": str(v.status.address), "routes": [route_json(r) for r in v.routes]}
        for v in sessions
    ]


def service_rows(node: str, plan: NodeAnnouncements | None, allocation: Allocation | None) -> list[Json]:
    """One row per (Service, address) with what this node does, and one per Service without an address."""
    rows: list[Json] = []
    for d in plan.decisions if plan is not None else ():
        announced_by = [f"bgp:{p}" for p in d.peers] + (["l2"] if d.l2 else [])
        rows.append(
            {
                "service": str(d.service),
                "ip": str(d.ip),
                "pool": d.pool,
                "node": node,
                "announced": [*announced_by],
                "reason": d.reason.value if d.reason is not None else None,
            }
        )
    for ref, failure in sorted((allocation.failures if allocation is not None else {}).items()):
        rows.append(
            {
                "service": str(ref),
                "ip": None,
                "pool": None,
                "node": node,
                "announced": [],
                "reason": failure.reason.value,
                "detail": failure.detail,
            }
        )
    return rows


def pool_rows(allocation: Allocation | None) -> list[Json]:
    """Used and free addresses per pool and family."""
    return [
        {"pool": u.pool, "family": u.family, "used": u.assigned, "free": u.available}
        for u in (allocation.usage if allocation is not None else ())
    ]


def config_json(last: LoadResult | None, running: bool) -> Json:
    """Whether a configuration runs, and the errors and warnings of the last reading."""
    return {
        "running": running,
        "last_load_ok": last is not None and last.state is not None,
        "errors": [str(e) for e in last.errors] if last is not None else [],
        "warnings": list(last.warnings) if last is not None else [],
    }


def health_rows(checks: Iterable[tuple[CheckSpec, bool]]) -> list[Json]:
    """Every health check of this host and its settled answer."""
    return [{"service": str(c.service), "check": c.describe(), "serving": ok} for c, ok in checks]
