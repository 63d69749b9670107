"""A pragmatic reader of an FRR configuration (running-config / frr.conf syntax) for `--check`.

Design: a line parser that keeps only what the check needs — `router bgp` (ASN, router id, the global
switches), neighbors and peer groups (remote-as, membership, per-family activation and inbound policy),
`maximum-paths` per family, prefix lists and route maps — into frozen values. It never raises on
unknown lines: whatever it does not understand is ignored, as a user's config has much more in it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from bgplb.routers.plan import Family, IPNetwork, PrefixRule


@dataclass(frozen=True, slots=True)
class PrefixEntry:
    """One prefix-list line: `seq N permit|deny network [ge] [le]` (`any` is 0.0.0.0/0 or ::/0 le max)."""

    seq: int
    permit: bool
    rule: PrefixRule


@dataclass(frozen=True, slots=True)
class RouteMapEntry:
    """One route-map entry: action, sequence and the prefix lists it matches (None: no prefix match)."""

    seq: int
    permit: bool
    prefix_list: str | None = None
    other_matches: int = 0


@dataclass(slots=True)
class PeerConfig:
    """What the config says about one neighbor (an address) or one peer group (a name)."""

    remote_as: str | None = None
    group: str | None = None
    activated: dict[Family, bool] = field(default_factory=dict)
    route_map_in: dict[Family, str] = field(default_factory=dict)
    prefix_list_in: dict[Family, str] = field(default_factory=dict)


@dataclass(slots=True)
class FrrConfig:
    """The parts of an FRR configuration the check compares with a RouterPlan."""

    asn: int | None = None
    router_id: str | None = None
    default_ipv4_unicast: bool = True
    ebgp_requires_policy: bool = True
    multipath_relax: bool = False
    peers: dict[str, PeerConfig] = field(default_factory=dict)
    families: set[Family] = field(default_factory=set)
    maximum_paths: dict[Family, int] = field(default_factory=dict)
    maximum_paths_ibgp: dict[Family, int] = field(default_factory=dict)
    prefix_lists: dict[str, list[PrefixEntry]] = field(default_factory=dict)
    route_maps: dict[str, list[RouteMapEntry]] = field(default_factory=dict)

    def peer(self, name: str) -> PeerConfig:
        """The neighbor or peer group called `name`, created on first use."""
        return self.peers.setdefault(name, PeerConfig())


def parse(text: str) -> FrrConfig:
    """Read the BGP-relevant parts of an FRR configuration."""
    config = FrrConfig()
    context = ""  # "bgp", "af", "route-map" or "" (top level)
    family: Family | None = None
    route_map: tuple[str, RouteMapEntry] | None = None
    for raw in text.splitlines():
        words = raw.split()
        if not words or (words[0].startswith("!") and raw[:1].isspace()):
            continue
        if not raw[:1].isspace():
            _close_route_map(config, route_map)
            route_map, context, family = None, "", None
        if words[0].startswith("!"):
            continue
        if words[0] in ("exit", "end") or words == ["exit-address-family"]:
            _close_route_map(config, route_map)
            route_map = None
            context = "bgp" if words[0] == "exit-address-family" or context == "af" else ""
            family = None
            continue
        if words[:2] == ["router", "bgp"] and len(words) >= 3 and "vrf" not in words:
            context = "bgp"
            config.asn = _int(words[2])
        elif words[0] in ("ip", "ipv6") and words[1:2] == ["prefix-list"]:
            _prefix_list(config, words)
        elif words[0] == "route-map" and len(words) >= 4:
            context = "route-map"
            route_map = (words[1], RouteMapEntry(_int(words[3]) or 0, words[2] == "permit"))
        elif context == "route-map" and route_map is not None and words[0] == "match":
            route_map = (route_map[0], _match(route_map[1], words))
        elif context in ("bgp", "af") and words[0] == "address-family" and len(words) >= 2:
            family = {"ipv4": Family.IPV4, "ipv6": Family.IPV6}.get(words[1])
            is_unicast = len(words) < 3 or words[2] == "unicast"
            context = "af"
            family = family if is_unicast else None
            if family is not None:
                config.families.add(family)
        elif context == "bgp":
            _bgp_line(config, words)
        elif context == "af" and family is not None:
            _af_line(config, family, words)
    _close_route_map(config, route_map)
    return config


def _int(word: str) -> int | None:
    return int(word) if word.isdigit() else None


def _close_route_map(config: FrrConfig, current: tuple[str, RouteMapEntry] | None) -> None:
    if current is not None:
        entries = config.route_maps.setdefault(current[0], [])
        entries.append(current[1])
        entries.sort(key=lambda e: e.seq)


def _match(entry: RouteMapEntry, words: list[str]) -> RouteMapEntry:
    if (
        words[1:4] in (["ip", "address", "prefix-list"], ["ipv6", "address", "prefix-list"])
        and len(words) >= 5
    ):
        return RouteMapEntry(entry.seq, entry.permit, words[4], entry.other_matches)
    return RouteMapEntry(entry.seq, entry.permit, entry.prefix_list, entry.other_matches + 1)


def _prefix_list(config: FrrConfig, words: list[str]) -> None:
    family = Family.IPV4 if words[0] == "ip" else Family.IPV6
    if len(words) < 5:
        return
    name, rest = words[2], words[3:]
    entries = config.prefix_lists.get(name, [])
    seq = (max((e.seq for e in entries), default=0) // 5 + 1) * 5
    if rest[0] == "seq" and len(rest) >= 3:
        seq, rest = _int(rest[1]) or seq, rest[2:]
    if rest[0] not in ("permit", "deny") or len(rest) < 2:
        return
    rule = _rule(family, rest[1:])
    if rule is not None:
        entries.append(PrefixEntry(seq, rest[0] == "permit", rule))
        config.prefix_lists[name] = sorted(entries, key=lambda e: e.seq)


def _rule(family: Family, words: list[str]) -> PrefixRule | None:
    if words[0] == "any":
        net: IPNetwork = ipaddress.ip_network("0.0.0.0/0" if family is Family.IPV4 else "::/0")
        return PrefixRule(net, le=family.max_length)
    try:
        net = ipaddress.ip_network(words[0], strict=False)
    except ValueError:
        return None
    options = dict(zip(words[1::2], words[2::2], strict=False))
    return PrefixRule(net, ge=_opt(options.get("ge")), le=_opt(options.get("le")))


def _opt(word: str | None) -> int | None:
    return None if word is None else _int(word)


def _bgp_line(config: FrrConfig, words: list[str]) -> None:
    if words[:2] == ["bgp", "router-id"] and len(words) >= 3:
        config.router_id = words[2]
    elif words == ["no", "bgp", "default", "ipv4-unicast"]:
        config.default_ipv4_unicast = False
    elif words == ["no", "bgp", "ebgp-requires-policy"]:
        config.ebgp_requires_policy = False
    elif words[:4] == ["bgp", "bestpath", "as-path", "multipath-relax"]:
        config.multipath_relax = True
    elif words[0] == "neighbor" and len(words) >= 3:
        peer = config.peer(words[1])
        if words[2] == "remote-as" and len(words) >= 4:
            peer.remote_as = words[3]
        elif words[2] == "peer-group" and len(words) >= 4:
            peer.group = words[3]
        elif words[2] == "interface" and len(words) >= 5 and words[3] == "peer-group":
            peer.group = words[4]
    elif words[0] == "maximum-paths":
        _maximum_paths(config, Family.IPV4, words)


def _af_line(config: FrrConfig, family: Family, words: list[str]) -> None:
    negated = words[0] == "no"
    if negated:
        words = words[1:]
    if words[:1] == ["maximum-paths"]:
        _maximum_paths(config, family, words)
    elif words[:1] == ["neighbor"] and len(words) >= 3:
        peer = config.peer(words[1])
        if words[2] == "activate":
            peer.activated[family] = not negated
        elif words[2] == "route-map" and len(words) >= 5 and words[4] == "in":
            peer.route_map_in[family] = words[3]
        elif words[2] == "prefix-list" and len(words) >= 5 and words[4] == "in":
            peer.prefix_list_in[family] = words[3]


def _maximum_paths(config: FrrConfig, family: Family, words: list[str]) -> None:
    if len(words) >= 3 and words[1] == "ibgp":
        config.maximum_paths_ibgp[family] = _int(words[2]) or 1
    elif len(words) >= 2:
        config.maximum_paths[family] = _int(words[1]) or 1
