"""Inbound policies: which prefixes the router accepts from each node of each BGPPeer.

Design: pure functions of the Config. A BGPAdvertisement reaches a BGPPeer when its `peers` is empty or
names it, and is sent by a node when its nodeSelectors select the node's labels (as the speakers decide in
planning, with the config's own selector matching); the prefixes a node may send a BGPPeer are those
advertisements' pools at each advertisement's aggregation length, per family (`le 32`/`le 128` for host
routes, exact lengths for aggregates). Nodes selected by the same advertisements get the same rules, so
they are judged once (`node_rules`). Groups that accept the same rules in every family they carry share
one ImportPolicy, so a config without `peers` or advertisement nodeSelectors keeps a single, unnamed policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from bgplb.config.models import AddressPool, BgpAdvertisement, Config
from bgplb.config.selectors import any_matches
from bgplb.routers.plan import FAMILIES, Family, ImportPolicy, IPNetwork, PeerGroup, PrefixRule, rule_order


def _advertisements(config: Config, pool: AddressPool) -> list[BgpAdvertisement]:
    return [
        a for a in config.bgp_advertisements if pool.name in a.pools or (not a.pools and not a.pool_selectors)
    ]


def pool_notes(config: Config, names: set[str]) -> list[str]:
    """Notes on the pools the router will not accept: not advertised, or only to BGPPeers not in `names`."""
    if not config.bgp_advertisements:
        return ["no BGPAdvertisement: every pool is accepted as host routes (/32, /128)"]
    notes: list[str] = []
    for pool in config.pools:
        ads = _advertisements(config, pool)
        if not ads:
            notes.append(f"pool {pool.name} has no BGPAdvertisement: the router will not accept it")
        elif all(a.peers and not names.intersection(a.peers) for a in ads):
            others = ", ".join(sorted({name for a in ads for name in a.peers}))
            notes.append(
                f"pool {pool.name} is advertised only to BGPPeer(s) {others}: this router does not accept it"
            )
    return notes


def selector_notes(config: Config, sessions: Sequence[tuple[str, Mapping[str, str]]]) -> list[str]:
    """Notes on pools advertised to this router's BGPPeers whose advertisements' nodeSelectors select
    none of the nodes of those sessions ((BGPPeer name, node labels) pairs): nobody may send them."""
    notes: list[str] = []
    for pool in config.pools:
        ads = [
            a for a in _advertisements(config, pool) if any(not a.peers or p in a.peers for p, _ in sessions)
        ]
        if ads and not any(
            (not a.peers or peer in a.peers) and any_matches(a.node_selectors, labels)
            for a in ads
            for peer, labels in sessions
        ):
            notes.append(
                f"pool {pool.name}: the nodeSelectors of its BGPAdvertisement(s) select none of this router's"
                " neighbors: the router will not accept it"
            )
    return notes


def prefix_rules(
    config: Config, peer_name: str, labels: Mapping[str, str] | None = None
) -> tuple[PrefixRule, ...]:
    """What a node with `labels` announces to BGPPeer `peer_name` (None: any node, nodeSelectors ignored):
    the pools of the advertisements reaching the peer and selecting the node, at their lengths."""
    lengths: dict[IPNetwork, set[int]] = {}
    for pool in config.pools:
        ads = [
            a
            for a in _advertisements(config, pool)
            if (not a.peers or peer_name in a.peers)
            and (labels is None or any_matches(a.node_selectors, labels))
        ]
        for network in pool.networks():
            if not config.bgp_advertisements:
                lengths.setdefault(network, set()).add(network.max_prefixlen)
            for ad in ads:
                length = ad.aggregation_length if network.version == 4 else ad.aggregation_length_v6
                lengths.setdefault(network, set()).add(length)
    rules = {rule for network, found in lengths.items() for rule in _rules_for(network, found)}
    return tuple(sorted(rules, key=rule_order))


def node_rules(
    config: Config, peer_name: str, nodes: Sequence[tuple[str, Mapping[str, str]]]
) -> dict[str, tuple[PrefixRule, ...]]:
    """Node name -> what that node (name, labels) announces to BGPPeer `peer_name`.

    Nodes that the same advertisements select share one computation.
    """
    ads = config.bgp_advertisements
    known: dict[tuple[bool, ...], tuple[PrefixRule, ...]] = {}
    found: dict[str, tuple[PrefixRule, ...]] = {}
    for name, labels in nodes:
        key = tuple(any_matches(a.node_selectors, labels) for a in ads)
        if key not in known:
            known[key] = prefix_rules(config, peer_name, labels)
        found[name] = known[key]
    return found


def share_policies(
    members: list[tuple[PeerGroup, tuple[PrefixRule, ...]]],
) -> tuple[list[PeerGroup], tuple[ImportPolicy, ...]]:
    """Groups share an inbound policy when they accept the same rules in every family both carry.

    One policy (the usual case) keeps the plain names; several are named after their first group.
    """
    shared: list[tuple[str, dict[Family, tuple[PrefixRule, ...]]]] = []
    chosen: list[int] = []
    for group, accepted in members:
        wanted = {f: tuple(r for r in accepted if r.family is f) for f in group.families}
        index = next(
            (
                i
                for i, (_, by_family) in enumerate(shared)
                if all(by_family.get(f, rules) == rules for f, rules in wanted.items())
            ),
            None,
        )
        if index is None:
            name = group.name.removeprefix("BGPLB-")
            taken = {n for n, _ in shared}
            shared.append((name if name not in taken else f"{name}-{len(shared) + 1}", wanted))
            index = len(shared) - 1
        else:
            shared[index][1].update(wanted)
        chosen.append(index)
    named = len(shared) > 1
    policies = tuple(
        ImportPolicy(
            name if named else "",
            tuple(f for f in FAMILIES if f in by_family),
            tuple(rule for f in FAMILIES for rule in by_family.get(f, ())),
        )
        for name, by_family in shared
    )
    groups = [replace(group, policy=policies[i].name) for (group, _), i in zip(members, chosen, strict=True)]
    return groups, policies


def _rules_for(network: IPNetwork, lengths: set[int]) -> list[PrefixRule]:
    """Prefix-list entries accepting `network`'s routes announced at `lengths` (FRR: len < ge <= le)."""
    rules: list[PrefixRule] = []
    longer = sorted(length for length in lengths if length > network.prefixlen)
    for length in sorted(length for length in lengths if length <= network.prefixlen):
        # The aggregate that covers the pool (or the pool's own CIDR when it is exactly that long).
        rules.append(
            PrefixRule(network if length == network.prefixlen else network.supernet(new_prefix=length))
        )
    if longer == [network.max_prefixlen]:
        rules.append(PrefixRule(network, le=network.max_prefixlen))  # host routes: the usual `le 32`
    else:
        # Several lengths (advertisements aggregating differently): each exactly, nothing in between.
        rules += [PrefixRule(network, ge=length, le=length) for length in longer]
    return rules
