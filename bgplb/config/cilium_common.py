"""Pieces shared by the two Cilium BGP APIs: session settings, families, path attributes, the peer model.

Cilium's defaults are written into the model explicitly (hold 90 s, keepalive 30 s, connect retry 120 s,
graceful-restart time 120 s, families IPv4 and IPv6 unicast) so that bgplb behaves as Cilium would even where
its own defaults differ. `authSecretRef` names a Secret in Cilium's BGP secrets namespace (kube-system by
default), whose `password` key holds the TCP MD5 password.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bgplb.config.fields import Fields
from bgplb.config.fragment import Fragment
from bgplb.config.models import BgpPeer, Family, IPAddress, LabelSelector, Origin, SecretRef
from bgplb.config.values import WELL_KNOWN_COMMUNITIES, parse_community_value

SECRETS_NAMESPACE = "kube-system"
DEFAULT_HOLD, DEFAULT_KEEPALIVE, DEFAULT_CONNECT_RETRY, DEFAULT_RESTART = 90, 30, 120, 120
_FAMILIES: dict[str, Family] = {"ipv4": "ipv4", "ipv6": "ipv6"}
# Cilium's wellKnown community names that bgplb's shared table does not spell the same way.
_CILIUM_WELL_KNOWN = {
    "internet": "0:0",
    "planned-shut": "65535:0",
    "route-filter-translated-v4": "65535:2",
    "route-filter-v4": "65535:3",
    "route-filter-translated-v6": "65535:4",
    "route-filter-v6": "65535:5",
}


@dataclass(frozen=True, slots=True)
class Session:
    """Session settings of one Cilium neighbor (v2alpha1) or peer config (v2), with Cilium's defaults.

    `paths` maps BgpPeer field names to the source field they came from, for error messages.
    """

    peer_port: int = 179
    hold_time: int = DEFAULT_HOLD
    keepalive_time: int = DEFAULT_KEEPALIVE
    connect_time: int = DEFAULT_CONNECT_RETRY
    ebgp_multihop_ttl: int = 1
    graceful_restart: bool = False
    restart_time: int = DEFAULT_RESTART
    secret: SecretRef | None = None
    families: tuple[Family, ...] = ("ipv4", "ipv6")
    paths: tuple[tuple[str, str], ...] = field(default=())


def read_timer(fields: Fields, key: str, default: int, low: int = 1) -> int:
    """A whole-seconds timer field with Cilium's default."""
    value = fields.integer(key, low, 65535)
    return default if value is None else value


def read_graceful_restart(fields: Fields) -> tuple[bool, int]:
    """`gracefulRestart: {enabled, restartTimeSeconds}`."""
    gr = fields.mapping("gracefulRestart")
    if gr is None:
        return False, DEFAULT_RESTART
    enabled = bool(gr.boolean("enabled"))
    restart = gr.integer("restartTimeSeconds", 1, 4095)
    gr.finish()
    return enabled, DEFAULT_RESTART if restart is None else restart


def read_secret(fields: Fields) -> SecretRef | None:
    """`authSecretRef`: a Secret name in Cilium's BGP secrets namespace."""
    name = fields.string("authSecretRef")
    return SecretRef(name=name, namespace=SECRETS_NAMESPACE) if name else None


def read_family(entry: Fields) -> Family | None:
    """One `{afi, safi}` entry; only unicast IPv4/IPv6 are carried (others warn)."""
    afi, safi = entry.string("afi"), entry.string("safi")
    if afi not in _FAMILIES:
        entry.warn("afi", f"address family {afi!r} is not supported by bgplb (ipv4 and ipv6 are); skipped")
        return None
    if safi != "unicast":
        entry.warn("safi", f"SAFI {safi!r} is not supported by bgplb (unicast is); skipped")
        return None
    return _FAMILIES[afi]


def read_communities(fields: Fields, out: Fragment) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`communities: {standard, large, wellKnown}` -> (standard "a:b" values, large "a:b:c" values)."""
    communities = fields.mapping("communities")
    if communities is None:
        return (), ()
    standard: list[str] = []
    large: list[str] = []
    for text, path in communities.strings("standard"):
        try:
            standard.append(parse_community_value(text))
        except ValueError as exc:
            out.error(fields.origin, path, str(exc))
    for text, path in communities.strings("wellKnown"):
        value = WELL_KNOWN_COMMUNITIES.get(text, _CILIUM_WELL_KNOWN.get(text))
        if value is None:
            out.error(fields.origin, path, f"{text!r} is not a well-known community name")
        else:
            standard.append(value)
    for text, path in communities.strings("large"):
        try:
            large.append(parse_community_value(f"large:{text}").removeprefix("large:"))
        except ValueError as exc:
            out.error(fields.origin, path, str(exc))
    communities.finish()
    return tuple(sorted(set(standard))), tuple(sorted(set(large)))


def peer_name(*parts: object) -> str:
    """A stable, config-safe peer name from its parts (IPv6 colons become dashes)."""
    return "-".join(str(p).replace(":", "-") for p in parts if str(p))


def make_peer(
    name: str,
    origin: Origin,
    *,
    my_asn: int,
    peer_asn: int,
    address: IPAddress,
    node_selectors: tuple[LabelSelector, ...],
    session: Session,
    out: Fragment,
) -> BgpPeer:
    """The BgpPeer for one Cilium session (an eBGP multihop TTL on an iBGP session is ignored, warned)."""
    ttl: bool | int = session.ebgp_multihop_ttl if session.ebgp_multihop_ttl > 1 else False
    peer_origin = origin.model_copy(update={"fields": session.paths})
    if ttl and my_asn == peer_asn:
        out.warn(peer_origin, peer_origin.field_for("ebgp_multihop"), "eBGP multihop TTL is ignored on iBGP")
        ttl = False
    return BgpPeer(
        name=name,
        my_asn=my_asn,
        peer_asn=peer_asn,
        peer_address=address,
        peer_port=session.peer_port,
        hold_time=session.hold_time,
        keepalive_time=session.keepalive_time,
        connect_time=session.connect_time,
        node_selectors=node_selectors,
        password_secret=session.secret,
        enable_graceful_restart=session.graceful_restart,
        graceful_restart_time=session.restart_time if session.graceful_restart else None,
        ebgp_multihop=ttl,
        families=session.families,
        source="cilium",
        origin=peer_origin,
    )
