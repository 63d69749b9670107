"""Hypothesis strategies for BGP wire values (shared by the codec property and fuzz tests)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from hypothesis import strategies as st

from bgplb.bgp import attributes as a
from bgplb.bgp import capabilities as c
from bgplb.bgp.constants import AsPathSegmentType, OriginType
from bgplb.bgp.messages import Keepalive, Message, Notification, Open, RouteRefresh, Update
from bgplb.bgp.negotiation import Negotiated

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
asn16 = st.integers(1, 0xFFFF)  # RFC 7607: AS 0 never appears in a path or aggregator
asn32 = st.integers(1, 0xFFFFFFFF)
ipv4 = st.builds(IPv4Address, u32)
ipv6 = st.builds(IPv6Address, st.integers(0, (1 << 128) - 1))


@st.composite
def ipv4_networks(draw: st.DrawFn) -> IPv4Network:
    length = draw(st.integers(0, 32))
    value = draw(u32) & ((0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF)
    return IPv4Network((value, length))


@st.composite
def ipv6_networks(draw: st.DrawFn) -> IPv6Network:
    length = draw(st.integers(0, 128))
    mask = ((1 << 128) - 1) ^ ((1 << (128 - length)) - 1)
    return IPv6Network((draw(st.integers(0, (1 << 128) - 1)) & mask, length))


# --- capabilities -------------------------------------------------------------------------------------
hostnames = st.text(st.characters(codec="utf-8"), max_size=40).filter(lambda t: len(t.encode()) <= 255)
capabilities = st.one_of(
    st.builds(c.Multiprotocol, u16, u8),
    st.just(c.RouteRefreshCapability()),
    st.just(c.EnhancedRouteRefresh()),
    st.just(c.ExtendedMessage()),
    st.builds(
        c.GracefulRestart,
        st.booleans(),
        st.booleans(),
        st.integers(0, 4095),
        st.lists(st.builds(c.GracefulRestartFamily, u16, u8, st.booleans()), max_size=4).map(tuple),
    ),
    st.builds(c.FourOctetAs, u32),
    st.builds(c.Fqdn, hostnames, hostnames),
    st.builds(
        c.UnknownCapability,
        u8.filter(lambda code: code not in c.REGISTRY),
        st.binary(max_size=40),
    ),
)


# --- attributes ---------------------------------------------------------------------------------------
def segments(asn: st.SearchStrategy[int], confed_asn: st.SearchStrategy[int]) -> st.SearchStrategy[tuple]:
    """AS path segments; confederation segments only in front, as RFC 5065 places them."""
    plain = st.builds(
        a.AsPathSegment,
        st.sampled_from([AsPathSegmentType.AS_SEQUENCE, AsPathSegmentType.AS_SET]),
        st.lists(asn, min_size=1, max_size=8).map(tuple),
    )
    confed = st.builds(
        a.AsPathSegment,
        st.sampled_from([AsPathSegmentType.AS_CONFED_SEQUENCE, AsPathSegmentType.AS_CONFED_SET]),
        st.lists(confed_asn, min_size=1, max_size=4).map(tuple),
    )
    return st.tuples(st.lists(confed, max_size=1), st.lists(plain, max_size=3)).map(
        lambda p: tuple(p[0] + p[1])
    )


def path_attributes(four_octet: bool) -> st.SearchStrategy[list]:
    """One attribute of each chosen type, the way an UPDATE carries them (IPv4 NLRI case)."""
    confed_asn = asn32 if four_octet else asn16
    optional = {
        "med": st.builds(a.MultiExitDisc, u32),
        "local_pref": st.builds(a.LocalPref, u32),
        "atomic": st.just(a.AtomicAggregate()),
        "aggregator": st.builds(a.Aggregator, asn32, ipv4),
        "communities": st.builds(a.Communities, st.lists(u32, min_size=1, max_size=6).map(tuple)),
        "ext": st.builds(
            a.ExtendedCommunities,
            st.lists(st.binary(min_size=8, max_size=8), min_size=1, max_size=4).map(tuple),
        ),
        "large": st.builds(
            a.LargeCommunities, st.lists(st.tuples(u32, u32, u32), min_size=1, max_size=4).map(tuple)
        ),
        "unknown": st.builds(
            a.UnknownAttribute,
            st.sampled_from([0xE0, 0x80]),
            st.integers(19, 255).filter(lambda t: t not in a.REGISTRY),
            st.binary(max_size=300),
        ),
    }
    return st.tuples(
        st.builds(a.Origin, st.sampled_from(list(OriginType))),
        st.builds(a.AsPath, segments(asn32, confed_asn)),
        st.builds(a.NextHop, ipv4),
        st.fixed_dictionaries({}, optional={k: v for k, v in optional.items()}),
    ).map(lambda t: [t[0], t[1], t[2], *t[3].values()])


def _canonical(attrs: list) -> tuple:
    return tuple(sorted(attrs, key=lambda x: (x.type_code not in (14, 15), x.type_code)))


def updates(four_octet: bool) -> st.SearchStrategy[Update]:
    """UPDATEs with IPv4 NLRI/withdrawals, or with IPv6 MP_REACH/MP_UNREACH, in canonical attribute order."""
    v4 = st.builds(
        lambda w, attrs, n: Update(tuple(w), _canonical(attrs) if n else (), tuple(n)),
        st.lists(ipv4_networks(), max_size=20),
        path_attributes(four_octet),
        st.lists(ipv4_networks(), max_size=20),
    )
    hops = st.one_of(ipv6.map(lambda h: (h,)), st.tuples(ipv6, ipv6))
    v6 = st.builds(
        lambda hop, n, w, attrs: Update(
            attributes=_canonical(
                [a.MpReachNlri(2, 1, hop, tuple(n)), a.MpUnreachNlri(2, 1, tuple(w)), *attrs[:2], *attrs[3:]]
            )
        ),
        hops,
        st.lists(ipv6_networks(), max_size=10),
        st.lists(ipv6_networks(), max_size=10),
        path_attributes(four_octet),
    )
    return st.one_of(v4, v6)


@st.composite
def opens(draw: st.DrawFn) -> Open:
    """OPENs whose My AS agrees with their 4-octet AS capability, as a real speaker's would."""
    caps = draw(st.lists(capabilities, max_size=12))
    four = next((cap for cap in caps if isinstance(cap, c.FourOctetAs)), None)
    if four is not None:
        asn = four.asn
    else:
        asn = draw(u32)
        if asn > 0xFFFF:
            caps.insert(draw(st.integers(0, len(caps))), c.FourOctetAs(asn))
    return Open(asn, draw(u16), draw(ipv4), tuple(caps))


negotiated_contexts = st.builds(Negotiated, four_octet_as=st.booleans(), extended_message=st.booleans())


@st.composite
def messages(draw: st.DrawFn, negotiated: Negotiated) -> Message:
    """Any message that fits the context (UPDATEs within its maximum size)."""
    kind = draw(st.sampled_from(["open", "update", "keepalive", "notification", "refresh"]))
    if kind == "open":
        return draw(opens())
    if kind == "update":
        return draw(updates(negotiated.four_octet_as))
    if kind == "keepalive":
        return Keepalive()
    if kind == "notification":
        return Notification(draw(st.integers(1, 7)), draw(u8), draw(st.binary(max_size=64)))
    return RouteRefresh(draw(u16), draw(u8), draw(u8))
