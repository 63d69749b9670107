"""MetalLB metallb.io BGP session objects: BGPPeer (v1beta1 and v1beta2) and BFDProfile.

Syntax and per-field shape are checked here; numeric rules (ASN range, hold and keepalive times) and
references (BFD profiles, Secrets) are checked on the model by validation.py so that every source shares
them. Fields bgplb's own speaker cannot honour are kept in the model and reported as warnings.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from bgplb.config.fields import Fields, ObjectMeta, read_selectors
from bgplb.config.fragment import Fragment
from bgplb.config.models import BfdProfile, BgpPeer, Family, IPAddress, SecretRef
from bgplb.config.values import parse_duration, parse_ip


def read_peer(meta: ObjectMeta, spec: Fields, out: Fragment) -> None:
    """BGPPeer v1beta1 / v1beta2."""
    my_asn = spec.integer("myASN")
    peer_asn = spec.integer("peerASN")
    dynamic = spec.string("dynamicASN")
    peer_address = read_ip(spec, "peerAddress")
    interface = spec.string("interface")
    if peer_asn is not None and dynamic is not None:
        spec.error("dynamicASN", "peerASN and dynamicASN are mutually exclusive")
    if peer_asn is None and dynamic is None:
        spec.error("peerASN", "a BGPPeer needs peerASN or dynamicASN")
    if dynamic not in (None, "internal", "external"):
        spec.error("dynamicASN", f"dynamicASN must be internal or external, not {dynamic!r}")
        dynamic = None
    if spec.has("peerAddress") == bool(interface):
        spec.error("peerAddress", "exactly one of peerAddress and interface must be set")
    dual_stack = bool(spec.boolean("dualStackAddressFamily"))
    secret = _secret(spec, meta.namespace)
    if my_asn is None:
        spec.error("myASN", "a BGPPeer needs myASN")
        spec.finish()
        return
    peer = BgpPeer(
        name=meta.name,
        namespace=meta.namespace,
        my_asn=my_asn,
        peer_asn=peer_asn,
        dynamic_asn="internal" if dynamic == "internal" else "external" if dynamic == "external" else None,
        local_asn=spec.integer("localASN"),
        peer_address=peer_address,
        interface=interface or None,
        peer_port=spec.integer("peerPort", 1, 65535) or 179,
        source_address=read_ip(spec, "sourceAddress"),
        hold_time=read_duration(spec, "holdTime"),
        keepalive_time=read_duration(spec, "keepaliveTime"),
        connect_time=read_duration(spec, "connectTime"),
        router_id=read_router_id(spec),
        node_selectors=read_selectors(spec, "nodeSelectors"),
        password=spec.string("password") or None,
        password_secret=secret,
        bfd_profile=spec.string("bfdProfile") or None,
        enable_graceful_restart=bool(spec.boolean("enableGracefulRestart")),
        ebgp_multihop=bool(spec.boolean("ebgpMultiHop")),
        vrf=spec.string("vrf") or "",
        disable_mp=bool(spec.boolean("disableMP")),
        dual_stack_address_family=dual_stack,
        families=families_for(peer_address, dual_stack),
        source="metallb",
        origin=meta.origin,
    )
    spec.finish()
    warn_unsupported(peer, out)
    out.peers.append(peer)


def families_for(address: IPAddress | None, dual_stack: bool) -> tuple[Family, ...]:
    """The families a session carries: the peer address's, or both for dual-stack / unnumbered peers."""
    if address is None or dual_stack:
        return ("ipv4", "ipv6")
    return ("ipv4",) if address.version == 4 else ("ipv6",)


def warn_unsupported(peer: BgpPeer, out: Fragment) -> None:
    """Warn about peer settings that bgplb's speaker keeps in the model but does not act on."""
    origin = peer.origin
    if peer.vrf:
        out.warn(
            origin,
            origin.field_for("vrf"),
            "bgplb's speaker has no VRF support; the session uses the default VRF",
        )
    if peer.bfd_profile:
        out.warn(
            origin,
            origin.field_for("bfd_profile"),
            "bgplb runs no BFD daemon; the profile only reaches the router-side configuration",
        )
    if peer.dynamic_asn is not None:
        out.warn(
            origin,
            origin.field_for("dynamic_asn"),
            "bgplb's speaker needs the peer's ASN before OPEN; set peerASN (the ASN is accepted as received)",
        )
    if peer.interface:
        out.warn(
            origin,
            origin.field_for("interface"),
            "BGP unnumbered (interface peering) is not supported by bgplb",
        )
    if peer.local_asn is not None:
        out.warn(origin, origin.field_for("local_asn"), "localASN is not honoured; the speaker uses myASN")
    if peer.disable_mp:
        out.warn(
            origin,
            origin.field_for("disable_mp"),
            "disableMP is not honoured; one session carries all families",
        )


def read_ip(fields: Fields, key: str) -> IPAddress | None:
    """An IP address field."""
    text = fields.string(key)
    if not text:
        return None
    try:
        return parse_ip(text)
    except ValueError as exc:
        fields.error(key, str(exc))
        return None


def read_router_id(fields: Fields, key: str = "routerID") -> IPv4Address | None:
    """A router ID field (dotted quad)."""
    address = read_ip(fields, key)
    if address is not None and not isinstance(address, IPv4Address):
        fields.error(key, f"a router ID is a dotted-quad IPv4 value, not {address}")
        return None
    return address


def read_duration(fields: Fields, key: str) -> int | None:
    """A Go duration field, in whole seconds."""
    value = fields.raw(key)
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        fields.error(key, str(exc))
        return None


def _secret(spec: Fields, namespace: str) -> SecretRef | None:
    secret = spec.mapping("passwordSecret")
    if secret is None:
        return None
    name = secret.string("name")
    secret_namespace = secret.string("namespace") or namespace
    secret.finish()
    if not name:
        secret.error("name", "passwordSecret needs a name")
        return None
    return SecretRef(name=name, namespace=secret_namespace)


def read_bfd_profile(meta: ObjectMeta, spec: Fields, out: Fragment) -> None:
    """BFDProfile v1beta1 (intervals in milliseconds)."""
    profile = BfdProfile(
        name=meta.name,
        namespace=meta.namespace,
        receive_interval=spec.integer("receiveInterval", 10, 60000),
        transmit_interval=spec.integer("transmitInterval", 10, 60000),
        detect_multiplier=spec.integer("detectMultiplier", 2, 255),
        echo_interval=spec.integer("echoInterval", 10, 60000),
        echo_mode=spec.boolean("echoMode"),
        passive_mode=spec.boolean("passiveMode"),
        minimum_ttl=spec.integer("minimumTtl", 1, 254),
        origin=meta.origin,
    )
    spec.finish()
    out.bfd_profiles.append(profile)
