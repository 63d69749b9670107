"""Who announces what: `announce(snapshot, config, node)` for one node's speaker, pure and total.

The addresses are the Services' observed ones (`Service.current_ips`, i.e. status.loadBalancer.ingress, or
the controller's allocation in no-Kubernetes mode). For every address the planner decides, MetalLB's way, in
this order, and records the first rule that stops it as a `NotAnnounced` reason:

1. the node must be known, the address must lie in a pool, and the pool must have an advertisement;
2. an advertisement's serviceSelectors must select the Service, and its nodeSelectors this node;
3. the node must not carry `node.kubernetes.io/exclude-from-external-load-balancers` nor have the
   NetworkUnavailable condition;
4. endpoints: externalTrafficPolicy Cluster needs a serving endpoint anywhere, Local a ready-or-serving
   endpoint on this node;
5. BGP: the address goes to every peer this node opens (the peer's nodeSelectors) that the advertisement
   names (none named = all) and whose address family carries it; layer 2: this node must be the address's
   elected owner among the nodes passing rules 2-4 (see `election`).

Routes: the prefix is the address widened to the advertisement's aggregationLength(V6). When several
advertisements (or several Services sharing an address) yield the same prefix for one peer, they make one
route: the union of their communities and large communities, and the highest local-pref (config validation
already rejects two different local-prefs for one prefix and peer, as MetalLB does; the maximum is the
deterministic fallback). Local-pref is dropped for eBGP peers. Next hop is None (the session's own address).

Equal prefixes and equal routes are the same objects from one plan to the next (bounded caches keyed by
their fields): handed to `set_routes` again, unchanged routes let the Adj-RIB-Out diff only the changed
middle instead of every route (docs/bgp-session.md, "Changing the routes"), and nothing is rebuilt.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network

from bgplb.bgp.communities import parse_community, parse_large_community
from bgplb.bgp.nlri import Prefix
from bgplb.bgp.routes import Route
from bgplb.config.models import BgpAdvertisement, BgpPeer, Config, L2Advertisement
from bgplb.config.selectors import any_matches
from bgplb.planning import election
from bgplb.planning.allocation import DEFAULT_CLASS, is_ours
from bgplb.planning.snapshot import Endpoint, IPAddress, Node, Service, ServiceRef, Snapshot

EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


class NotAnnounced(StrEnum):
    """Why this node does not announce an allocated address."""

    NODE_UNKNOWN = "NodeUnknown"
    NOT_IN_POOL = "NotInPool"
    NO_ADVERTISEMENT = "NoAdvertisement"
    SERVICE_NOT_SELECTED = "ServiceNotSelected"
    NODE_NOT_SELECTED = "NodeNotSelected"
    NODE_EXCLUDED = "NodeExcluded"
    NETWORK_UNAVAILABLE = "NetworkUnavailable"
    NO_SERVING_ENDPOINT = "NoServingEndpoint"
    NO_LOCAL_ENDPOINT = "NoLocalEndpoint"
    NO_PEER = "NoPeer"
    NOT_L2_OWNER = "NotL2Owner"


@dataclass(frozen=True, slots=True)
class PeerRoutes:
    """A BGP peer this node opens a session to, and the exact routes it must receive (sorted)."""

    peer: BgpPeer
    routes: tuple[Route, ...]


@dataclass(frozen=True, slots=True)
class L2Announcement:
    """An address this node answers ARP/NDP for, on `interfaces` (empty: every interface)."""

    ip: IPAddress
    interfaces: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict for one address of one Service: the peers and/or layer 2, or why not."""

    service: ServiceRef
    ip: IPAddress
    pool: str | None
    peers: tuple[str, ...] = ()
    l2: bool = False
    reason: NotAnnounced | None = None


@dataclass(frozen=True, slots=True)
class NodeAnnouncements:
    """Everything one node announces, and a Decision for every allocated address."""

    node: str
    sessions: tuple[PeerRoutes, ...]
    l2: tuple[L2Announcement, ...]
    decisions: tuple[Decision, ...]

    @property
    def not_announced(self) -> dict[tuple[ServiceRef, IPAddress], NotAnnounced]:
        """(Service, address) -> reason, for the addresses this node leaves alone."""
        return {(d.service, d.ip): d.reason for d in self.decisions if d.reason is not None}

    def routes_for(self, peer: str) -> tuple[Route, ...]:
        """The routes for the peer called `peer` (empty when this node does not open it)."""
        return next((s.routes for s in self.sessions if s.peer.name == peer), ())


@dataclass(slots=True)
class _Merged:
    communities: set[int] = field(default_factory=set)
    large: set[tuple[int, int, int]] = field(default_factory=set)
    local_pref: int | None = None

    def add(self, adv: BgpAdvertisement) -> None:
        self.communities.update(_communities(adv.communities))
        self.large.update(_large_communities(adv.large_communities))
        if adv.local_pref is not None:
            self.local_pref = max(adv.local_pref, self.local_pref or 0)


def peer_versions(peer: BgpPeer) -> frozenset[int]:
    """The IP versions whose prefixes go to `peer`: its families, else its address's (both if dual-stack)."""
    if peer.families:
        return frozenset(4 if f == "ipv4" else 6 for f in peer.families)
    if peer.dual_stack_address_family or peer.peer_address is None:
        return frozenset({4, 6})
    return frozenset({peer.peer_address.version})


def aggregate(ip: IPAddress, adv: BgpAdvertisement) -> Prefix:
    """The prefix announced for `ip` under `adv`: its aggregationLength (IPv4) or aggregationLengthV6."""
    return _prefix(ip, adv.aggregation_length if ip.version == 4 else adv.aggregation_length_v6)


CACHED = 1 << 16
"""Prefixes and routes kept for reuse across plans (a larger table still plans right, only slower)."""


@lru_cache(maxsize=256)
def _communities(texts: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(parse_community(c) for c in texts)


@lru_cache(maxsize=256)
def _large_communities(texts: tuple[str, ...]) -> tuple[tuple[int, int, int], ...]:
    return tuple(parse_large_community(c) for c in texts)


@lru_cache(maxsize=CACHED)
def _prefix(ip: IPAddress, length: int) -> Prefix:
    network = IPv4Network if ip.version == 4 else IPv6Network
    return network((int(ip), length), strict=False)


@lru_cache(maxsize=CACHED)
def _route(
    prefix: Prefix,
    communities: tuple[int, ...],
    large_communities: tuple[tuple[int, int, int], ...],
    local_pref: int | None,
) -> Route:
    return Route(
        prefix=prefix, communities=communities, large_communities=large_communities, local_pref=local_pref
    )


def has_endpoint(service: Service, endpoints: Iterable[Endpoint], node: str) -> bool:
    """Cluster: a serving endpoint anywhere; Local: a ready-or-serving endpoint on `node`."""
    if service.external_traffic_policy == "Local":
        return any(ep.node == node and (ep.ready or ep.serving) for ep in endpoints)
    return any(ep.serving for ep in endpoints)


def _node_blocked(node: Node) -> NotAnnounced | None:
    if EXCLUDE_LABEL in node.labels:
        return NotAnnounced.NODE_EXCLUDED
    if node.network_unavailable:
        return NotAnnounced.NETWORK_UNAVAILABLE
    return None


class _Planner:
    def __init__(self, snapshot: Snapshot, config: Config, me: Node) -> None:
        self.config = config
        self.me = me
        self.nodes = sorted(snapshot.nodes, key=lambda n: n.name)
        self.peers = [p for p in config.peers if any_matches(p.node_selectors, me.labels)]
        self.endpoints: dict[ServiceRef, list[Endpoint]] = defaultdict(list)
        for eps in snapshot.endpoint_slices:
            self.endpoints[eps.service].extend(eps.endpoints)
        self.merged: dict[tuple[str, Prefix], _Merged] = defaultdict(_Merged)
        self.l2: dict[IPAddress, set[str] | None] = {}

    def decide(self, service: Service, ip: IPAddress) -> Decision:
        pool = self.config.pool_of(ip)
        if pool is None:
            return Decision(service.ref, ip, None, reason=NotAnnounced.NOT_IN_POOL)
        bgp = self.config.bgp_advertisements_for(pool.name)
        l2 = self.config.l2_advertisements_for(pool.name)
        if not bgp and not l2:
            return Decision(service.ref, ip, pool.name, reason=NotAnnounced.NO_ADVERTISEMENT)
        bgp = tuple(a for a in bgp if any_matches(a.service_selectors, service.labels))
        l2 = tuple(a for a in l2 if any_matches(a.service_selectors, service.labels))
        if not bgp and not l2:
            return Decision(service.ref, ip, pool.name, reason=NotAnnounced.SERVICE_NOT_SELECTED)
        my_bgp = tuple(a for a in bgp if any_matches(a.node_selectors, self.me.labels))
        my_l2 = tuple(a for a in l2 if any_matches(a.node_selectors, self.me.labels))
        if not my_bgp and not my_l2:
            return Decision(service.ref, ip, pool.name, reason=NotAnnounced.NODE_NOT_SELECTED)
        blocked = _node_blocked(self.me)
        if blocked is not None:
            return Decision(service.ref, ip, pool.name, reason=blocked)
        endpoints = self.endpoints.get(service.ref, [])
        if not has_endpoint(service, endpoints, self.me.name):
            local = service.external_traffic_policy == "Local"
            reason = NotAnnounced.NO_LOCAL_ENDPOINT if local else NotAnnounced.NO_SERVING_ENDPOINT
            return Decision(service.ref, ip, pool.name, reason=reason)
        peers = self._bgp(ip, my_bgp)
        owner = self._l2_owner(service, ip, l2, endpoints) if my_l2 else False
        if owner:
            self._add_l2(ip, my_l2)
        if peers or owner:
            return Decision(service.ref, ip, pool.name, peers=peers, l2=owner)
        reason = NotAnnounced.NOT_L2_OWNER if my_l2 else NotAnnounced.NO_PEER
        return Decision(service.ref, ip, pool.name, reason=reason)

    def _bgp(self, ip: IPAddress, advertisements: tuple[BgpAdvertisement, ...]) -> tuple[str, ...]:
        used: set[str] = set()
        for adv in advertisements:
            prefix = aggregate(ip, adv)
            for peer in self.peers:
                if (not adv.peers or peer.name in adv.peers) and ip.version in peer_versions(peer):
                    self.merged[(peer.name, prefix)].add(adv)
                    used.add(peer.name)
        return tuple(sorted(used))

    def _l2_owner(
        self, service: Service, ip: IPAddress, l2: tuple[L2Advertisement, ...], endpoints: list[Endpoint]
    ) -> bool:
        eligible = [
            node.name
            for node in self.nodes
            if any(any_matches(a.node_selectors, node.labels) for a in l2)
            and _node_blocked(node) is None
            and has_endpoint(service, endpoints, node.name)
        ]
        return election.owner(eligible, ip) == self.me.name

    def _add_l2(self, ip: IPAddress, advertisements: tuple[L2Advertisement, ...]) -> None:
        current = self.l2.get(ip, set())
        if current is None or any(not a.interfaces for a in advertisements):
            self.l2[ip] = None
            return
        self.l2[ip] = current | {i for a in advertisements for i in a.interfaces}

    def sessions(self) -> tuple[PeerRoutes, ...]:
        out: list[PeerRoutes] = []
        for peer in sorted(self.peers, key=lambda p: (p.name, p.namespace)):
            routes = [
                _route(
                    prefix,
                    tuple(sorted(m.communities)),
                    tuple(sorted(m.large)),
                    None if peer.is_ibgp is False else m.local_pref,
                )
                for (name, prefix), m in self.merged.items()
                if name == peer.name
            ]
            routes.sort(key=_prefix_order)
            out.append(PeerRoutes(peer, tuple(routes)))
        return tuple(out)

    def l2_announcements(self) -> tuple[L2Announcement, ...]:
        return tuple(
            L2Announcement(ip, tuple(sorted(ifaces or ())))
            for ip, ifaces in sorted(self.l2.items(), key=lambda item: (item[0].version, item[0]))
        )


def announce(
    snapshot: Snapshot,
    config: Config,
    node: str,
    *,
    load_balancer_classes: Collection[str] = (DEFAULT_CLASS,),
    handle_unset_class: bool = True,
) -> NodeAnnouncements:
    """What `node` announces for the Services this bgplb owns; see the module docstring for the rules."""
    services = sorted(
        (s for s in snapshot.services if is_ours(s, load_balancer_classes, handle_unset_class)),
        key=lambda s: s.ref,
    )
    pairs = [(s, ip) for s in services for ip in sorted(set(s.current_ips), key=_address_order)]
    me = _node(snapshot.nodes, node)
    if me is None:
        decisions = tuple(
            Decision(s.ref, ip, _pool_name(config, ip), reason=NotAnnounced.NODE_UNKNOWN) for s, ip in pairs
        )
        return NodeAnnouncements(node, (), (), decisions)
    planner = _Planner(snapshot, config, me)
    decisions = tuple(planner.decide(s, ip) for s, ip in pairs)
    return NodeAnnouncements(node, planner.sessions(), planner.l2_announcements(), decisions)


def _address_order(ip: IPAddress) -> tuple[int, int]:
    return ip.version, int(ip)


def _prefix_order(route: Route) -> tuple[int, int, int]:
    """IPv4 first, then as `ip_network` objects order (address, then length), without their slow `<`."""
    return route.prefix.version, int(route.prefix.network_address), route.prefix.prefixlen


def _node(nodes: Iterable[Node], name: str) -> Node | None:
    return next((n for n in nodes if n.name == name), None)


def _pool_name(config: Config, ip: IPAddress) -> str | None:
    pool = config.pool_of(ip)
    return None if pool is None else pool.name
