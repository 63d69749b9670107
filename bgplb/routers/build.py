"""Build the RouterPlan from bgplb's Config and the node list.

Design: a pure function of (Config, nodes, options). The speakers' BGPPeers describe the router (its
address and ASN, `peer_address`/`peer_asn`) and the nodes' side (`my_asn`, timers, password, BFD...); the
router gets one neighbor per node a peer's nodeSelectors select, at the node's address in the peer's
family, grouped by identical settings. The inbound filter (policy.py) accepts exactly what the
BGPAdvertisements make that node announce to that BGPPeer (`peers` empty or naming it, nodeSelectors
selecting the node; the pools' prefixes at each advertisement's aggregation length, per family), so a node
announcing a pool meant for another router or other nodes is refused like an outside prefix. A peer's
neighbors are split into groups only where their filters differ; groups that agree on the filter share
one ImportPolicy. ECMP is sized to the number of neighbors. Anything the router side cannot express
becomes a note for the user rather than a silent omission.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv4Address

from bgplb.config.models import BgpPeer, Config
from bgplb.config.selectors import any_matches
from bgplb.errors import ConfigError
from bgplb.routers.nodes import RouterNode
from bgplb.routers.plan import (
    FAMILIES,
    BfdSettings,
    CommunityNote,
    Family,
    IPAddress,
    Neighbor,
    PeerGroup,
    PrefixRule,
    RouterPlan,
)
from bgplb.routers.policy import node_rules, pool_notes, prefix_rules, selector_notes, share_policies

MAX_NAME = 24
"""Longest peer-name part of a group name."""

MAX_PATHS = 64
"""The largest `maximum-paths` rendered (FRR's usual build limit; more nodes than this share 64 paths)."""


@dataclass(frozen=True, slots=True)
class RouterOptions:
    """Choices the Config cannot make: which router (its ASN or addresses), its router id, extras.

    `addresses` selects the BGPPeers whose `peerAddress` is one of them (one router among several),
    `peers` the BGPPeers with these names; `default_originate` sends the nodes a default route;
    `ttl_security` adds GTSM to direct sessions.
    """

    asn: int | None = None
    addresses: tuple[IPAddress, ...] = ()
    peers: tuple[str, ...] = ()
    router_id: IPv4Address | None = None
    default_originate: bool = False
    ttl_security: bool = False


def build_plan(
    config: Config, nodes: Sequence[RouterNode], options: RouterOptions | None = None
) -> RouterPlan:
    """The router's plan for `config` and `nodes`; raises ConfigError when the router cannot be determined."""
    options = options or RouterOptions()
    notes: list[str] = []
    peers = _select_peers(config, options)
    asn = _router_asn(peers, options)
    _check_one_router(peers)
    router_id = _router_id(peers, options)
    notes += pool_notes(config, {p.name for p in peers})
    reach = {peer.name: prefix_rules(config, peer.name) for peer in peers}
    pool_families = {rule.family for rules in reach.values() for rule in rules}
    members: list[tuple[PeerGroup, tuple[PrefixRule, ...]]] = []
    seen: dict[IPAddress, str] = {}
    labels = {node.name: node.label_map for node in nodes}
    sessions: list[tuple[str, Mapping[str, str]]] = []
    for peer in peers:
        group = _group_for(peer, asn, config=config, nodes=nodes, seen=seen, notes=notes)
        if group is None:
            continue
        if options.ttl_security:
            group = _with_ttl_security(group, notes)
        sessions += [(peer.name, labels[n.node]) for n in group.neighbors]
        for part, rules in _split(peer, group, config, labels):
            accepted = tuple(rule for rule in rules if rule.family in part.families)
            same = next(
                (i for i, (g, a) in enumerate(members) if _settings(g) == _settings(part) and a == accepted),
                None,
            )
            if same is None:
                members.append((part, accepted))
            else:
                first, _ = members[same]
                members[same] = (replace(first, neighbors=first.neighbors + part.neighbors), accepted)
    members = _unique_names(members)
    notes += selector_notes(config, sessions)
    groups, policies = share_policies(members)
    if not groups:
        notes.append("no neighbor could be derived: check the peers' nodeSelectors and the nodes file")
    for family in FAMILIES:
        if family in pool_families and not any(family in g.families for g in groups):
            notes.append(
                f"no session carries {family.value}: the {family.value} pools will not reach the router "
                f"(add a BGPPeer with an {family.value} peerAddress or set dualStackAddressFamily)"
            )
    ebgp = _max_paths([g for g in groups if not g.ibgp], notes)
    ibgp = _max_paths([g for g in groups if g.ibgp], notes)
    remote_asns = {g.remote_asn for g in groups if not g.ibgp}
    return RouterPlan(
        asn=asn,
        router_id=router_id,
        groups=tuple(groups),
        policies=policies,
        maximum_paths=ebgp,
        maximum_paths_ibgp=ibgp,
        multipath_relax=len(remote_asns) > 1,
        default_originate=options.default_originate,
        communities=_community_notes(config),
        notes=tuple(dict.fromkeys(notes)),
    )


def _select_peers(config: Config, options: RouterOptions) -> list[BgpPeer]:
    peers = list(config.peers)
    if not peers:
        raise ConfigError(
            "BGPPeer", "", "", "the configuration has no BGP peer: nothing to configure on a router"
        )
    if options.asn is not None:
        peers = [p for p in peers if p.peer_asn in (None, options.asn)]
        if not peers:
            raise ConfigError("BGPPeer", "", "peerASN", f"no BGPPeer has peerASN {options.asn}")
    if options.addresses:
        peers = [p for p in peers if p.peer_address in options.addresses]
        if not peers:
            wanted = ", ".join(str(a) for a in options.addresses)
            raise ConfigError("BGPPeer", "", "peerAddress", f"no BGPPeer has peerAddress {wanted}")
    if options.peers:
        unknown = sorted(set(options.peers) - {p.name for p in peers})
        if unknown:
            raise ConfigError("BGPPeer", unknown[0], "metadata.name", "no such BGPPeer (for this router)")
        peers = [p for p in peers if p.name in options.peers]
    return peers


def _check_one_router(peers: list[BgpPeer]) -> None:
    """Several peer addresses of one family are several routers (two ToRs...): one config each."""
    for version in (4, 6):
        found = sorted(
            {p.peer_address for p in peers if p.peer_address and p.peer_address.version == version}
        )
        if len(found) > 1:
            listed = ", ".join(str(a) for a in found)
            raise ConfigError(
                "BGPPeer",
                "",
                "peerAddress",
                f"the peers name several routers ({listed}): choose one with --router-address or --peer",
            )


def _router_asn(peers: list[BgpPeer], options: RouterOptions) -> int:
    if options.asn is not None:
        return options.asn
    asns = {p.peer_asn for p in peers if p.peer_asn is not None}
    if len(asns) > 1:
        raise ConfigError(
            "BGPPeer",
            "",
            "peerASN",
            f"the peers name several routers (ASNs {sorted(asns)}): choose one with --router-asn or --peer",
        )
    if asns:
        return asns.pop()
    internal = {p.my_asn for p in peers if p.dynamic_asn == "internal"}
    if len(internal) == 1:
        return internal.pop()
    raise ConfigError(
        "BGPPeer", _name(peers[0]), "peerASN", "the router's ASN is not known: give --router-asn"
    )


def _router_id(peers: list[BgpPeer], options: RouterOptions) -> IPv4Address:
    if options.router_id is not None:
        return options.router_id
    v4 = sorted(p.peer_address for p in peers if isinstance(p.peer_address, IPv4Address))
    if not v4:
        raise ConfigError("BGPPeer", _name(peers[0]), "peerAddress", "no IPv4 peer address: give --router-id")
    return v4[0]


def _name(peer: BgpPeer) -> str:
    return f"{peer.namespace}/{peer.name}" if peer.namespace else peer.name


def _group_name(peer: BgpPeer) -> str:
    """`BGPLB-<PEER NAME>`, shortened with a checksum when long (GUI fields and BIRD symbols stay short)."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", peer.name).strip("-").upper()
    if len(name) > MAX_NAME:
        name = f"{name[: MAX_NAME - 9].rstrip('-')}-{zlib.crc32(peer.name.encode()):08X}"
    return f"BGPLB-{name}"


def _group_for(
    peer: BgpPeer,
    asn: int,
    *,
    config: Config,
    nodes: Sequence[RouterNode],
    seen: dict[IPAddress, str],
    notes: list[str],
) -> PeerGroup | None:
    if peer.peer_address is None:
        notes.append(f"BGPPeer {_name(peer)} has no peerAddress (unnumbered/dynamic): not rendered")
        return None
    if peer.vrf:
        notes.append(
            f"BGPPeer {_name(peer)} uses VRF {peer.vrf} on the nodes;"
            " the router side is rendered in the default VRF"
        )
    family = Family.of(peer.peer_address)
    neighbors: list[Neighbor] = []
    for node in nodes:
        if not any_matches(peer.node_selectors, node.label_map):
            continue
        address = _node_address(node, family, peer.source_address)
        if address is None:
            notes.append(f"node {node.name} has no {family.value} address for BGPPeer {_name(peer)}")
        elif address in seen:
            notes.append(
                f"node {node.name} ({address}) is selected by {seen[address]} and {_name(peer)}: kept once"
            )
        else:
            seen[address] = _name(peer)
            neighbors.append(Neighbor(address, node.name))
    if not neighbors:
        return None
    remote_asn = peer.my_asn
    return PeerGroup(
        name=_group_name(peer),
        remote_asn=remote_asn,
        neighbors=tuple(neighbors),
        families=(family,),
        ibgp=remote_asn == asn,
        update_source=peer.peer_address,
        password=_password(peer, notes),
        hold_time=peer.hold_time if peer.hold_time is not None else _times(peer.keepalive_time, 3),
        keepalive_time=peer.keepalive_time
        if peer.keepalive_time is not None
        else _times(peer.hold_time, 1 / 3),
        connect_time=peer.connect_time,
        multihop=_multihop(peer.ebgp_multihop),
        bfd=_bfd(peer, config, notes),
        graceful_restart=peer.enable_graceful_restart,
        description=f"bgplb BGPPeer {_name(peer)}",
    )


def _split(
    peer: BgpPeer, group: PeerGroup, config: Config, labels: Mapping[str, Mapping[str, str]]
) -> list[tuple[PeerGroup, tuple[PrefixRule, ...]]]:
    """The peer's group split by what each node may send it (advertisement nodeSelectors), with the
    families each part activates; the first part keeps the group's name, the others add `-2`, `-3`..."""
    rules = node_rules(config, peer.name, [(n.node, labels[n.node]) for n in group.neighbors])
    parts: dict[tuple[PrefixRule, ...], list[Neighbor]] = {}
    for neighbor in group.neighbors:
        parts.setdefault(rules[neighbor.node], []).append(neighbor)
    return [
        (
            replace(
                group,
                name=group.name if i == 0 else f"{group.name}-{i + 1}",
                neighbors=tuple(neighbors),
                families=_families(peer, group.session_family, {r.family for r in accepted}),
            ),
            accepted,
        )
        for i, (accepted, neighbors) in enumerate(parts.items())
    ]


def _unique_names(
    members: list[tuple[PeerGroup, tuple[PrefixRule, ...]]],
) -> list[tuple[PeerGroup, tuple[PrefixRule, ...]]]:
    """Groups whose names collide (peer names spelling alike, `-2` parts) get a `-<n>` suffix."""
    taken: set[str] = set()
    unique: list[tuple[PeerGroup, tuple[PrefixRule, ...]]] = []
    for group, accepted in members:
        name, n = group.name, 1
        while name in taken:
            n += 1
            name = f"{group.name}-{n}"
        taken.add(name)
        unique.append((replace(group, name=name), accepted))
    return unique


def _times(value: int | None, factor: float) -> int | None:
    return None if value is None else max(1, int(value * factor))


def _node_address(node: RouterNode, family: Family, source: IPAddress | None) -> IPAddress | None:
    if source is not None and source in node.addresses:
        return source
    return next((a for a in node.addresses if Family.of(a) is family), None)


def _families(peer: BgpPeer, session: Family, pool_families: set[Family]) -> tuple[Family, ...]:
    """The families to activate: those the peer carries that have pools, and always the session's own."""
    if peer.families:
        wanted = {Family(f) for f in peer.families}
    elif peer.dual_stack_address_family and not peer.disable_mp:
        wanted = set(FAMILIES)
    else:
        wanted = {session}
    return tuple(f for f in FAMILIES if (f in wanted and f in pool_families) or f is session)


def _password(peer: BgpPeer, notes: list[str]) -> str | None:
    if peer.password is not None:
        return peer.password
    if peer.password_secret is not None:
        ref = peer.password_secret
        placeholder = "PASSWORD-OF-SECRET-" + re.sub(r"[^A-Za-z0-9_-]+", "-", ref.name)
        where = f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name
        notes.append(f"BGPPeer {_name(peer)}: replace {placeholder} with the password in Secret {where}")
        return placeholder
    return None


def _multihop(value: bool | int) -> int | None:
    if value is True:
        return 255
    if value is False or value <= 1:
        return None
    return value


def _bfd(peer: BgpPeer, config: Config, notes: list[str]) -> BfdSettings | None:
    if peer.bfd_profile is None:
        return None
    profile = config.bfd_profile(peer.bfd_profile)
    if profile is None:
        notes.append(f"BGPPeer {_name(peer)} names BFD profile {peer.bfd_profile}, which does not exist")
        return None
    return BfdSettings(
        name=profile.name,
        receive_interval=profile.receive_interval,
        transmit_interval=profile.transmit_interval,
        detect_multiplier=profile.detect_multiplier,
        echo_interval=profile.echo_interval,
        echo_mode=bool(profile.echo_mode),
        passive_mode=bool(profile.passive_mode),
        minimum_ttl=profile.minimum_ttl,
    )


def _with_ttl_security(group: PeerGroup, notes: list[str]) -> PeerGroup:
    """GTSM for directly connected groups: the nodes must send TTL 255 (`bgplb speak`: `ttl_security`)."""
    if group.multihop is not None and not group.ibgp:
        notes.append(f"{group.name} is multihop: TTL security (GTSM) is not applied to it")
        return group
    return replace(group, ttl_security=1)


def _settings(group: PeerGroup) -> PeerGroup:
    """A group without its name, members and description: groups with equal settings merge."""
    return replace(group, name="", neighbors=(), description="")


def _max_paths(groups: list[PeerGroup], notes: list[str]) -> int:
    counts = [sum(1 for g in groups for n in g.neighbors if f in g.families) for f in FAMILIES]
    wanted = max([*counts, 1])
    if wanted > MAX_PATHS:
        notes.append(f"{wanted} nodes but ECMP is limited to {MAX_PATHS} paths")
    return min(wanted, MAX_PATHS)


def _community_notes(config: Config) -> tuple[CommunityNote, ...]:
    return tuple(
        CommunityNote(ad.name, ad.pools, ad.communities, ad.large_communities, ad.local_pref)
        for ad in config.bgp_advertisements
        if ad.communities or ad.large_communities or ad.local_pref is not None
    )
