"""Semantic rules over the merged model, each finding naming kind, namespace/name and field path.

build.py runs `check_references`, `check_duplicates`, `check_pools` and `check_peer` on the merged
Fragment before it resolves names, then the advertisement rules on the resolved advertisements. Rules (the
table is in docs/configuration.md): overlapping pools and IPv4-mapped pools; ASN range (RFC 6793, RFC 7607)
and RFC 6996 / RFC 5398 hygiene; hold time 0 or >= 3 s (RFC 4271 §4.2) and keepalive <= hold time;
ebgpMultiHop on iBGP; password and passwordSecret both; aggregation length vs pool prefixes; conflicting
localPref for one pool and peer; duplicate names; references to missing objects. Every rule sorts its
input first so that findings do not depend on input order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from ipaddress import IPv6Network
from itertools import combinations

from bgplb.config.fragment import Fragment
from bgplb.config.models import AddressPool, BgpAdvertisement, BgpPeer, IPRange, L2Advertisement, Origin
from bgplb.config.values import (
    AS_TRANS,
    MAX_ASN,
    WELL_KNOWN_COMMUNITIES,
    is_documentation_asn,
    is_private_asn,
)

IPV4_MAPPED = IPv6Network("::ffff:0:0/96")


def check_references(fragment: Fragment, out: Fragment) -> None:
    """Names used in one object must exist: pools, peers, community aliases, BFD profiles, Secrets."""
    pools = {p.name for p in fragment.pools}
    peers = {p.name for p in fragment.peers}
    profiles = {p.name for p in fragment.bfd_profiles}
    aliases = {a.name for a in fragment.communities}
    secrets = {(s.namespace, s.name) for s in fragment.secrets}
    advertisements: list[BgpAdvertisement | L2Advertisement] = [
        *fragment.bgp_advertisements,
        *fragment.l2_advertisements,
    ]
    for adv in advertisements:
        for index, name in enumerate(adv.pools):
            if name not in pools:
                out.error(
                    adv.origin, f"{adv.origin.field_for('pools')}[{index}]", f"pool {name!r} does not exist"
                )
    for bgp in fragment.bgp_advertisements:
        for index, name in enumerate(bgp.peers):
            if name not in peers:
                out.error(
                    bgp.origin, f"{bgp.origin.field_for('peers')}[{index}]", f"peer {name!r} does not exist"
                )
    for ref in fragment.community_refs:
        if ref.name not in aliases and ref.name not in WELL_KNOWN_COMMUNITIES:
            out.error(
                ref.origin, ref.field_path, f"community {ref.name!r} is neither a Community alias nor a value"
            )
    for peer in fragment.peers:
        if peer.bfd_profile and peer.bfd_profile not in profiles:
            out.error(
                peer.origin,
                peer.origin.field_for("bfd_profile"),
                f"BFD profile {peer.bfd_profile!r} does not exist",
            )
        secret = peer.password_secret
        if secret is not None and (secret.namespace, secret.name) not in secrets:
            where = f"{secret.namespace}/{secret.name}" if secret.namespace else secret.name
            out.error(peer.origin, peer.origin.field_for("password_secret"), f"Secret {where} does not exist")


def check_duplicates(fragment: Fragment, out: Fragment) -> None:
    """One name per kind and namespace; pool names unique everywhere (Services name pools bare)."""
    named = sorted(
        ((p.name, p.origin) for p in fragment.pools), key=lambda i: (i[0], i[1].name, i[1].kind, i[1].path)
    )
    seen_pools: dict[str, Origin] = {}
    for name, origin in named:
        if name in seen_pools:
            first = seen_pools[name]
            out.error(
                origin,
                origin.field_for("name"),
                f"pool name {name!r} is already used by {first.kind} {first.name}",
            )
        else:
            seen_pools[name] = origin
    others: list[tuple[str, str, str, Origin]] = [
        *(("peer", p.namespace, p.name, p.origin) for p in fragment.peers),
        *(("bgp", a.namespace, a.name, a.origin) for a in fragment.bgp_advertisements),
        *(("l2", a.namespace, a.name, a.origin) for a in fragment.l2_advertisements),
        *(("bfd", b.namespace, b.name, b.origin) for b in fragment.bfd_profiles),
    ]
    seen: set[tuple[str, str, str, str]] = set()
    for tag, namespace, name, origin in sorted(
        others, key=lambda o: (o[0], o[1], o[2], o[3].kind, o[3].path)
    ):
        key = (tag, origin.kind, namespace, name)
        if key in seen:
            out.error(
                origin, origin.field_for("name"), f"another {origin.kind} in this namespace is named {name!r}"
            )
        seen.add(key)
    aliases: dict[str, str] = {}
    for alias in sorted(fragment.communities, key=lambda a: (a.name, a.value, a.origin.name, a.field_path)):
        if aliases.setdefault(alias.name, alias.value) != alias.value:
            out.error(
                alias.origin,
                alias.field_path,
                f"community alias {alias.name!r} is defined twice with different values "
                f"({aliases[alias.name]} and {alias.value})",
            )


def check_pools(pools: Sequence[AddressPool], out: Fragment) -> None:
    """Overlapping ranges across every pool, and IPv4-mapped IPv6 ranges."""
    entries: list[tuple[IPRange, AddressPool, str]] = []
    for pool in pools:
        for index, ip_range in enumerate(pool.ranges):
            path = pool.origin.item_paths[index] if index < len(pool.origin.item_paths) else pool.origin.path
            entries.append((ip_range, pool, path))
            if ip_range.version == 6 and _range_touches(ip_range, IPV4_MAPPED):
                out.warn(
                    pool.origin,
                    path,
                    f"{ip_range} lies in {IPV4_MAPPED} (IPv4-mapped IPv6); use IPv4 addresses instead",
                )
    entries.sort(
        key=lambda e: (e[0].version, int(e[0].first), int(e[0].last), e[1].name, e[1].origin.name, e[2])
    )
    active: list[tuple[IPRange, AddressPool, str]] = []
    for entry in entries:
        active = [
            a for a in active if a[0].version == entry[0].version and int(a[0].last) >= int(entry[0].first)
        ]
        for other in active:
            out.error(
                entry[1].origin,
                entry[2],
                f"{entry[0]} overlaps {other[0]} of pool {other[1].name!r} ({other[1].origin.kind} "
                f"{other[1].origin.name} {other[2]})",
            )
        active.append(entry)


def _range_touches(ip_range: IPRange, network: IPv6Network) -> bool:
    return int(ip_range.first) <= int(network.broadcast_address) and int(network.network_address) <= int(
        ip_range.last
    )


def check_peer(peer: BgpPeer, out: Fragment) -> None:
    """Single-peer rules shared by every source."""
    origin = peer.origin
    for field, asn in (("my_asn", peer.my_asn), ("peer_asn", peer.peer_asn), ("local_asn", peer.local_asn)):
        if asn is None:
            continue
        if asn == 0:
            out.error(origin, origin.field_for(field), "ASN 0 is reserved (RFC 7607) and cannot be used")
        elif not 0 < asn <= MAX_ASN:
            out.error(origin, origin.field_for(field), f"ASN {asn} is out of range 1..{MAX_ASN}")
        elif asn == AS_TRANS:
            out.warn(
                origin, origin.field_for(field), "ASN 23456 is AS_TRANS (RFC 6793), not a real AS number"
            )
    if is_documentation_asn(peer.my_asn):
        out.warn(
            origin,
            origin.field_for("my_asn"),
            f"ASN {peer.my_asn} is reserved for documentation (RFC 5398); use a private ASN (RFC 6996: "
            "64512-65534, 4200000000-4294967294)",
        )
    elif 0 < peer.my_asn <= MAX_ASN and peer.my_asn != AS_TRANS and not is_private_asn(peer.my_asn):
        out.warn(
            origin,
            origin.field_for("my_asn"),
            f"ASN {peer.my_asn} is a public ASN; a cluster normally uses a private one (RFC 6996: "
            "64512-65534, 4200000000-4294967294)",
        )
    hold = peer.hold_time
    if hold is not None and (0 < hold < 3 or hold > 65535):
        out.error(
            origin,
            origin.field_for("hold_time"),
            f"hold time {hold}s must be 0 or 3..65535 s (RFC 4271 §4.2)",
        )
    if peer.keepalive_time is not None and hold is not None and peer.keepalive_time > hold:
        out.error(
            origin,
            origin.field_for("keepalive_time"),
            f"keepalive time {peer.keepalive_time}s exceeds the hold time {hold}s",
        )
    if peer.ebgp_multihop and peer.is_ibgp:
        out.error(
            origin, origin.field_for("ebgp_multihop"), "ebgpMultiHop applies to eBGP only; this peer is iBGP"
        )
    if peer.password and peer.password_secret is not None:
        out.error(
            origin, origin.field_for("password_secret"), "password and passwordSecret are mutually exclusive"
        )


def check_aggregation(
    advertisements: Iterable[BgpAdvertisement], pools: Sequence[AddressPool], out: Fragment
) -> None:
    """Aggregation length against each address entry of each selected pool.

    Error (MetalLB's rule): the length is shorter than every CIDR the entry splits into, e.g. 23 for a /24.
    Warning: a range entry splits into CIDRs some of which are more specific than the length, so the
    aggregate of an address near the range's edge covers addresses outside the pool.
    """
    by_name: dict[str, list[AddressPool]] = defaultdict(list)
    for pool in pools:
        by_name[pool.name].append(pool)
    for adv in advertisements:
        for pool_name in adv.pools:
            entries = sorted(
                {r for pool in by_name.get(pool_name, ()) for r in pool.ranges},
                key=lambda r: (r.version, int(r.first), int(r.last)),
            )
            for entry in entries:
                field = "aggregation_length" if entry.version == 4 else "aggregation_length_v6"
                length = adv.aggregation_length if entry.version == 4 else adv.aggregation_length_v6
                prefixes = [n.prefixlen for n in entry.networks()]
                if length < min(prefixes):
                    out.error(
                        adv.origin,
                        adv.origin.field_for(field),
                        f"aggregation length {length} is shorter than prefix length {min(prefixes)} of "
                        f"{entry} in pool {pool_name!r}; the aggregate would cover addresses outside it",
                    )
                    break
                if length < max(prefixes):
                    out.warn(
                        adv.origin,
                        adv.origin.field_for(field),
                        f"aggregation length {length} is shorter than parts of the range {entry} in pool "
                        f"{pool_name!r}: some aggregates cover addresses outside the pool",
                    )


def check_local_pref(
    advertisements: Sequence[BgpAdvertisement], pools: Sequence[AddressPool], out: Fragment
) -> None:
    """Two advertisements announcing one pool's prefixes to one peer must agree on localPref.

    The prefixes are the same when the aggregation length of a family the pool has is the same.
    """
    versions = {p.name: {r.version for r in p.ranges} for p in pools}
    by_pool: dict[str, list[BgpAdvertisement]] = defaultdict(list)
    for adv in advertisements:
        if adv.local_pref is not None:
            for pool in adv.pools:
                by_pool[pool].append(adv)
    reported: set[tuple[str, str]] = set()
    for pool, advs in sorted(by_pool.items()):
        for first, second in combinations(
            sorted(
                advs, key=lambda a: (a.name, a.namespace, a.origin.kind, a.origin.path, a.local_pref or 0)
            ),
            2,
        ):
            same_prefix = (
                4 in versions.get(pool, ()) and first.aggregation_length == second.aggregation_length
            ) or (6 in versions.get(pool, ()) and first.aggregation_length_v6 == second.aggregation_length_v6)
            shared_peer = not first.peers or not second.peers or bool(set(first.peers) & set(second.peers))
            shared_nodes = (
                not first.node_selectors
                or not second.node_selectors
                or first.node_selectors == second.node_selectors
            )
            key = (second.origin.name, second.origin.path)
            if first.local_pref != second.local_pref and same_prefix and shared_peer and shared_nodes:
                if key in reported:
                    continue
                reported.add(key)
                out.error(
                    second.origin,
                    second.origin.field_for("local_pref"),
                    f"localPref {second.local_pref} conflicts with localPref {first.local_pref} of "
                    f"{first.origin.kind} {first.origin.name} for the same prefixes of pool {pool!r}",
                )


def check_unannounced(fragment: Fragment, out: Fragment) -> None:
    """A MetalLB pool no advertisement announces hands out addresses nobody can reach."""
    announced = {name for adv in fragment.bgp_advertisements for name in adv.pools}
    announced |= {name for adv in fragment.l2_advertisements for name in adv.pools}
    for pool in fragment.pools:
        if pool.source != "cilium" and pool.name not in announced:
            out.warn(
                pool.origin,
                pool.origin.field_for("name"),
                f"pool {pool.name!r} is not selected by any BGPAdvertisement or L2Advertisement; its "
                "addresses are assigned but not announced",
            )


def check_local_pref_reach(
    advertisements: Sequence[BgpAdvertisement], peers: Sequence[BgpPeer], out: Fragment
) -> None:
    """LOCAL_PREF is an iBGP attribute (RFC 4271 §5.1.5): warn when an advertisement reaches no iBGP peer."""
    for adv in advertisements:
        if adv.local_pref is None:
            continue
        reached = [p for p in peers if not adv.peers or p.name in adv.peers]
        if reached and not any(p.is_ibgp is not False for p in reached):
            out.warn(
                adv.origin,
                adv.origin.field_for("local_pref"),
                "localPref is only sent to iBGP peers and every peer of this advertisement is eBGP",
            )


def check_sessions(peers: Sequence[BgpPeer], out: Fragment) -> None:
    """Two peers for one router address, port and VRF on the same nodes would open colliding sessions."""
    seen: dict[tuple[object, ...], BgpPeer] = {}
    for peer in sorted(peers, key=lambda p: (p.name, p.namespace, p.origin.kind, p.origin.path)):
        if peer.peer_address is None:
            continue
        nodes = tuple(sorted(peer.node_selectors, key=repr)) if peer.node_selectors else ()
        key = (peer.peer_address, peer.peer_port, peer.vrf, nodes)
        first = seen.setdefault(key, peer)
        if first is not peer:
            out.error(
                peer.origin,
                peer.origin.field_for("peer_address"),
                f"{first.origin.kind} {first.origin.name} already peers with {peer.peer_address} port "
                f"{peer.peer_port} from the same nodes; the two sessions would collide (RFC 4271 §6.8)",
            )
