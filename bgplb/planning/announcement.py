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

Equal routes are the same objects from one plan to the next (see `route_merge`).

Cost: a plan is one pass over the addresses with little work each (docs/latency.md, "Planning at 10,000
Services"). Pools are found by bisection; rules 1-3 are judged once per pool and distinct value of the
labels the pool's service selectors read (a `_Verdict`); node selectors, peers and aggregation once per
advertisement and family (`route_merge.Target`); routes are merged in `route_merge.RouteTable`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter

from bgplb.bgp.nlri import Prefix
from bgplb.bgp.routes import Route
from bgplb.config.models import BgpAdvertisement, BgpPeer, Config, L2Advertisement, LabelSelector
from bgplb.config.selectors import any_matches
from bgplb.planning import election
from bgplb.planning.allocation import DEFAULT_CLASS, owned_services
from bgplb.planning.pool_index import RangeIndex
from bgplb.planning.route_merge import RouteTable, Target, prefix
from bgplb.planning.snapshot import Endpoint, IPAddress, Node, Service, ServiceRef, Snapshot, by_ref

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


def peer_versions(peer: BgpPeer) -> frozenset[int]:
    """The IP versions whose prefixes go to `peer`: its families, else its address's (both if dual-stack)."""
    if peer.families:
        return frozenset(4 if f == "ipv4" else 6 for f in peer.families)
    if peer.dual_stack_address_family or peer.peer_address is None:
        return frozenset({4, 6})
    return frozenset({peer.peer_address.version})


def aggregate(ip: IPAddress, adv: BgpAdvertisement) -> Prefix:
    """The prefix announced for `ip` under `adv`: its aggregationLength (IPv4) or aggregationLengthV6."""
    return prefix(ip, adv.aggregation_length if ip.version == 4 else adv.aggregation_length_v6)


_SERVING = attrgetter("serving")


def has_endpoint(service: Service, endpoints: Iterable[Endpoint], node: str) -> bool:
    """Cluster: a serving endpoint anywhere; Local: a ready-or-serving endpoint on `node`."""
    if service.external_traffic_policy == "Local":
        return any(ep.node == node and (ep.ready or ep.serving) for ep in endpoints)
    return any(map(_SERVING, endpoints))  # C-level: this runs for every address of every plan


def _node_blocked(node: Node) -> NotAnnounced | None:
    if EXCLUDE_LABEL in node.labels:
        return NotAnnounced.NODE_EXCLUDED
    if node.network_unavailable:
        return NotAnnounced.NETWORK_UNAVAILABLE
    return None


@dataclass(slots=True)
class _Verdict:
    """What the advertisements of one pool decide for the Services of one label shape on this node.

    `reason` is set when rules 1-3 already stop them. `my_bgp` are the selected BGP advertisements that
    also select this node (indices into the config), `l2`/`my_l2` the selected layer-2 advertisements and
    those that also select this node, `l2_nodes` the nodes (by name) `l2` selects that are not blocked.
    `targets` holds, per IP version, the `Target`s of `my_bgp` and the names of the peers they reach.
    """

    reason: NotAnnounced | None
    my_bgp: tuple[int, ...] = ()
    l2: tuple[L2Advertisement, ...] = ()
    my_l2: tuple[L2Advertisement, ...] = ()
    l2_nodes: tuple[str, ...] = ()
    targets: dict[int, tuple[tuple[Target, ...], tuple[str, ...]]] = field(default_factory=dict)


@dataclass(slots=True)
class _PoolFacts:
    """One pool's name, advertisements (BGP ones as config indices), the label keys their service
    selectors read, and the verdicts found so far, by the values of those labels."""

    name: str
    bgp: tuple[int, ...]
    l2: tuple[L2Advertisement, ...]
    keys: tuple[str, ...]
    verdicts: dict[tuple[str | None, ...], _Verdict] = field(default_factory=dict)


def _selector_keys(selectors: Iterable[LabelSelector]) -> set[str]:
    return {key for s in selectors for key in (*s.match_labels, *(r.key for r in s.match_expressions))}


class _Planner:
    """One plan: per-plan indexes (pools by address, endpoints by Service, facts per pool and per
    advertisement) and the merge table that the decisions fill."""

    def __init__(self, snapshot: Snapshot, config: Config, me: Node) -> None:
        self.advertisements = config.bgp_advertisements
        self.me = me
        self.nodes = sorted(snapshot.nodes, key=lambda n: n.name)
        self.peers = [p for p in config.peers if any_matches(p.node_selectors, me.labels)]
        self.me_name = me.name
        self.endpoints: dict[tuple[str, str], tuple[Endpoint, ...]] = {}
        for eps in snapshot.endpoint_slices:
            key = (eps.service.namespace, eps.service.name)
            earlier = self.endpoints.get(key)
            self.endpoints[key] = eps.endpoints if earlier is None else earlier + eps.endpoints
        self.blocked = _node_blocked(me)
        self.table = RouteTable(self.advertisements)
        self.l2: dict[IPAddress, set[str] | None] = {}
        self.mine = [any_matches(a.node_selectors, me.labels) for a in self.advertisements]
        by_pool: dict[str, list[int]] = {}
        for index, adv in enumerate(self.advertisements):
            for name in dict.fromkeys(adv.pools):
                by_pool.setdefault(name, []).append(index)
        facts = {}
        for pool in config.pools:
            bgp = tuple(by_pool.get(pool.name, ()))
            l2 = config.l2_advertisements_for(pool.name)
            selectors = [s for i in bgp for s in self.advertisements[i].service_selectors]
            selectors.extend(s for a in l2 for s in a.service_selectors)
            facts[pool.name] = _PoolFacts(pool.name, bgp, l2, tuple(sorted(_selector_keys(selectors))))
        self.pools = RangeIndex((r.first, r.last, facts[p.name]) for p in config.pools for r in p.ranges)

    def decide(self, service: Service, ip: IPAddress) -> Decision:
        version, value = ip.version, int(ip)
        facts = self.pools.find_int(version, value)
        if facts is None:
            return Decision(service.ref, ip, None, (), False, NotAnnounced.NOT_IN_POOL)
        pool = facts.name
        shape = tuple(map(service.labels.get, facts.keys)) if facts.keys else ()
        verdict = facts.verdicts.get(shape)
        if verdict is None:
            verdict = facts.verdicts[shape] = self._judge(facts, service.labels)
        if verdict.reason is not None:
            return Decision(service.ref, ip, pool, (), False, verdict.reason)
        ref = service.ref
        endpoints = self.endpoints.get((ref.namespace, ref.name), ())
        if not has_endpoint(service, endpoints, self.me_name):
            local = service.external_traffic_policy == "Local"
            reason = NotAnnounced.NO_LOCAL_ENDPOINT if local else NotAnnounced.NO_SERVING_ENDPOINT
            return Decision(service.ref, ip, pool, (), False, reason)
        peers = self._bgp(ip, version, value, verdict) if verdict.my_bgp else ()
        owner = self._l2_owner(service, ip, verdict, endpoints) if verdict.my_l2 else False
        if owner:
            self._add_l2(ip, verdict.my_l2)
        if peers or owner:
            return Decision(service.ref, ip, pool, peers, owner)
        reason = NotAnnounced.NOT_L2_OWNER if verdict.my_l2 else NotAnnounced.NO_PEER
        return Decision(service.ref, ip, pool, (), False, reason)

    def _judge(self, facts: _PoolFacts, labels: Mapping[str, str]) -> _Verdict:
        """Rules 1-3 for Services carrying `labels` (only the keys in `facts.keys` matter)."""
        if not facts.bgp and not facts.l2:
            return _Verdict(NotAnnounced.NO_ADVERTISEMENT)
        bgp = tuple(i for i in facts.bgp if any_matches(self.advertisements[i].service_selectors, labels))
        l2 = tuple(a for a in facts.l2 if any_matches(a.service_selectors, labels))
        if not bgp and not l2:
            return _Verdict(NotAnnounced.SERVICE_NOT_SELECTED)
        my_bgp = tuple(i for i in bgp if self.mine[i])
        my_l2 = tuple(a for a in l2 if any_matches(a.node_selectors, self.me.labels))
        if not my_bgp and not my_l2:
            return _Verdict(NotAnnounced.NODE_NOT_SELECTED)
        if self.blocked is not None:
            return _Verdict(self.blocked)
        l2_nodes = tuple(
            node.name
            for node in self.nodes
            if any(any_matches(a.node_selectors, node.labels) for a in l2) and _node_blocked(node) is None
        )
        return _Verdict(None, my_bgp, l2, my_l2, l2_nodes)

    def _reaches(self, adv: BgpAdvertisement, peer: BgpPeer, version: int) -> bool:
        return (not adv.peers or peer.name in adv.peers) and version in peer_versions(peer)

    def _targets(self, verdict: _Verdict, ip: IPAddress) -> tuple[tuple[Target, ...], tuple[str, ...]]:
        """The verdict's advertisements for `ip`'s family and the peers they reach (rule 5), once."""
        used = {
            peer.name
            for index in verdict.my_bgp
            for peer in self.peers
            if self._reaches(self.advertisements[index], peer, ip.version)
        }
        targets = tuple(Target.of(index, self.advertisements[index], ip) for index in verdict.my_bgp)
        found = verdict.targets[ip.version] = (targets, tuple(sorted(used)))
        return found

    def _bgp(self, ip: IPAddress, version: int, value: int, verdict: _Verdict) -> tuple[str, ...]:
        """Merge `ip` (IP `version`, integer `value`) into the table; the peers it goes to."""
        targets, peers = verdict.targets.get(version) or self._targets(verdict, ip)
        if peers:
            self.table.add(value, targets)
        return peers

    def _l2_owner(
        self, service: Service, ip: IPAddress, verdict: _Verdict, endpoints: tuple[Endpoint, ...]
    ) -> bool:
        eligible = [name for name in verdict.l2_nodes if has_endpoint(service, endpoints, name)]
        return election.owner(eligible, ip) == self.me_name

    def _add_l2(self, ip: IPAddress, advertisements: tuple[L2Advertisement, ...]) -> None:
        current = self.l2.get(ip, set())
        if current is None or any(not a.interfaces for a in advertisements):
            self.l2[ip] = None
            return
        self.l2[ip] = current | {i for a in advertisements for i in a.interfaces}

    def sessions(self) -> tuple[PeerRoutes, ...]:
        """Each peer's routes: the merged prefixes that advertisements reaching it yielded, in order."""
        reach: dict[tuple[str, int], int] = {}  # (peer name, version) -> advertisements reaching it
        for index, adv in enumerate(self.advertisements):
            for peer in self.peers:
                for version in (4, 6):
                    if self._reaches(adv, peer, version):
                        reach[(peer.name, version)] = reach.get((peer.name, version), 0) | 1 << index
        peers = sorted(self.peers, key=lambda p: (p.name, p.namespace))
        wanted = [
            (reach.get((p.name, 4), 0), reach.get((p.name, 6), 0), p.is_ibgp is not False) for p in peers
        ]
        return tuple(
            PeerRoutes(peer, routes) for peer, routes in zip(peers, self.table.routes(wanted), strict=True)
        )

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
    services = by_ref(owned_services(snapshot.services, load_balancer_classes, handle_unset_class))
    me = _node(snapshot.nodes, node)
    if me is None:
        pools = _pool_names(config)
        decisions = tuple(
            Decision(s.ref, ip, pools.find(ip), reason=NotAnnounced.NODE_UNKNOWN)
            for s in services
            for ip in _addresses(s)
        )
        return NodeAnnouncements(node, (), (), decisions)
    planner = _Planner(snapshot, config, me)
    decide = planner.decide
    decisions = tuple(decide(s, ip) for s in services for ip in _addresses(s))
    return NodeAnnouncements(node, planner.sessions(), planner.l2_announcements(), decisions)


def _pool_names(config: Config) -> RangeIndex[str]:
    """Pool name by address for one plan: `Config.pool_of` by bisection (built per call, never cached on
    the Config, which callers copy with changes)."""
    return RangeIndex((r.first, r.last, pool.name) for pool in config.pools for r in pool.ranges)


def _addresses(service: Service) -> tuple[IPAddress, ...] | list[IPAddress]:
    """The Service's distinct addresses, IPv4 first, each family in address order."""
    ips = service.current_ips
    return ips if len(ips) < 2 else sorted(set(ips), key=_address_order)


def _address_order(ip: IPAddress) -> tuple[int, int]:
    return ip.version, int(ip)


def _node(nodes: Iterable[Node], name: str) -> Node | None:
    return next((n for n in nodes if n.name == name), None)
