"""A straightforward reference of `announce`: the rules of its module docstring, one address at a time.

This is how `announce` worked before it was made fast (no indexes, no caches, no bitmasks): pools by a scan
over the configuration, advertisements and selectors evaluated for every address, routes merged per (peer
name, prefix). Tests compare the real planner with it on generated configurations; it is not used elsewhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from bgplb.bgp.communities import parse_community, parse_large_community
from bgplb.bgp.nlri import Prefix
from bgplb.bgp.routes import Route
from bgplb.config.models import BgpAdvertisement, Config, L2Advertisement
from bgplb.config.selectors import any_matches
from bgplb.planning import election
from bgplb.planning.allocation import DEFAULT_CLASS, is_ours
from bgplb.planning.announcement import (
    Decision,
    L2Announcement,
    NodeAnnouncements,
    NotAnnounced,
    PeerRoutes,
    aggregate,
    has_endpoint,
    peer_versions,
)
from bgplb.planning.snapshot import Endpoint, IPAddress, Node, Service, Snapshot

EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


def _blocked(node: Node) -> NotAnnounced | None:
    if EXCLUDE_LABEL in node.labels:
        return NotAnnounced.NODE_EXCLUDED
    return NotAnnounced.NETWORK_UNAVAILABLE if node.network_unavailable else None


def _pool_name(config: Config, ip: IPAddress) -> str | None:
    pool = config.pool_of(ip)
    return None if pool is None else pool.name


def reference_announce(
    snapshot: Snapshot,
    config: Config,
    node: str,
    *,
    load_balancer_classes: Collection[str] = (DEFAULT_CLASS,),
    handle_unset_class: bool = True,
) -> NodeAnnouncements:
    """`announce`, written plainly."""
    services = sorted(
        (s for s in snapshot.services if is_ours(s, load_balancer_classes, handle_unset_class)),
        key=lambda s: s.ref,
    )
    pairs = [
        (s, ip) for s in services for ip in sorted(set(s.current_ips), key=lambda a: (a.version, int(a)))
    ]
    me = next((n for n in snapshot.nodes if n.name == node), None)
    if me is None:
        unknown = NotAnnounced.NODE_UNKNOWN
        return NodeAnnouncements(
            node,
            (),
            (),
            tuple(Decision(s.ref, ip, _pool_name(config, ip), reason=unknown) for s, ip in pairs),
        )
    nodes = sorted(snapshot.nodes, key=lambda n: n.name)
    peers = [p for p in config.peers if any_matches(p.node_selectors, me.labels)]
    endpoints: dict[object, list[Endpoint]] = defaultdict(list)
    for eps in snapshot.endpoint_slices:
        endpoints[eps.service].extend(eps.endpoints)
    merged: dict[tuple[str, Prefix], list[BgpAdvertisement]] = defaultdict(list)
    l2_out: dict[IPAddress, set[str] | None] = {}

    def decide(service: Service, ip: IPAddress) -> Decision:
        pool = config.pool_of(ip)
        if pool is None:
            return Decision(service.ref, ip, None, reason=NotAnnounced.NOT_IN_POOL)
        bgp = config.bgp_advertisements_for(pool.name)
        l2 = config.l2_advertisements_for(pool.name)
        if not bgp and not l2:
            return Decision(service.ref, ip, pool.name, reason=NotAnnounced.NO_ADVERTISEMENT)
        bgp = tuple(a for a in bgp if any_matches(a.service_selectors, service.labels))
        l2 = tuple(a for a in l2 if any_matches(a.service_selectors, service.labels))
        if not bgp and not l2:
            return Decision(service.ref, ip, pool.name, reason=NotAnnounced.SERVICE_NOT_SELECTED)
        my_bgp = [a for a in bgp if any_matches(a.node_selectors, me.labels)]
        my_l2 = tuple(a for a in l2 if any_matches(a.node_selectors, me.labels))
        if not my_bgp and not my_l2:
            return Decision(service.ref, ip, pool.name, reason=NotAnnounced.NODE_NOT_SELECTED)
        blocked = _blocked(me)
        if blocked is not None:
            return Decision(service.ref, ip, pool.name, reason=blocked)
        eps = endpoints.get(service.ref, [])
        if not has_endpoint(service, eps, me.name):
            local = service.external_traffic_policy == "Local"
            reason = NotAnnounced.NO_LOCAL_ENDPOINT if local else NotAnnounced.NO_SERVING_ENDPOINT
            return Decision(service.ref, ip, pool.name, reason=reason)
        used: set[str] = set()
        for adv in my_bgp:
            prefix = aggregate(ip, adv)
            for peer in peers:
                if (not adv.peers or peer.name in adv.peers) and ip.version in peer_versions(peer):
                    merged[(peer.name, prefix)].append(adv)
                    used.add(peer.name)
        owner = bool(my_l2) and _l2_owner(service, ip, l2, eps)
        if owner:
            _add_l2(ip, my_l2)
        if used or owner:
            return Decision(service.ref, ip, pool.name, peers=tuple(sorted(used)), l2=owner)
        reason = NotAnnounced.NOT_L2_OWNER if my_l2 else NotAnnounced.NO_PEER
        return Decision(service.ref, ip, pool.name, reason=reason)

    def _l2_owner(
        service: Service, ip: IPAddress, l2: tuple[L2Advertisement, ...], eps: list[Endpoint]
    ) -> bool:
        eligible = [
            n.name
            for n in nodes
            if any(any_matches(a.node_selectors, n.labels) for a in l2)
            and _blocked(n) is None
            and has_endpoint(service, eps, n.name)
        ]
        return election.owner(eligible, ip) == me.name

    def _add_l2(ip: IPAddress, advertisements: tuple[L2Advertisement, ...]) -> None:
        current = l2_out.get(ip, set())
        if current is None or any(not a.interfaces for a in advertisements):
            l2_out[ip] = None
        else:
            l2_out[ip] = current | {i for a in advertisements for i in a.interfaces}

    decisions = tuple(decide(s, ip) for s, ip in pairs)
    sessions = []
    for peer in sorted(peers, key=lambda p: (p.name, p.namespace)):
        routes = []
        for (name, prefix), advs in merged.items():
            if name != peer.name:
                continue
            local_pref = None
            for adv in advs:
                if adv.local_pref is not None:
                    local_pref = max(adv.local_pref, local_pref or 0)
            routes.append(
                Route(
                    prefix=prefix,
                    communities=tuple(sorted({parse_community(c) for a in advs for c in a.communities})),
                    large_communities=tuple(
                        sorted({parse_large_community(c) for a in advs for c in a.large_communities})
                    ),
                    local_pref=None if peer.is_ibgp is False else local_pref,
                )
            )
        routes.sort(key=lambda r: (r.prefix.version, int(r.prefix.network_address), r.prefix.prefixlen))
        sessions.append(PeerRoutes(peer, tuple(routes)))
    l2_list = tuple(
        L2Announcement(ip, tuple(sorted(ifaces or ())))
        for ip, ifaces in sorted(l2_out.items(), key=lambda item: (item[0].version, int(item[0])))
    )
    return NodeAnnouncements(node, tuple(sessions), l2_list, decisions)
