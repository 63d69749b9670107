"""Semantic checks: OPEN errors (code 2 subcodes) and UPDATE problems with their RFC 7606 action."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest

from bgplb.bgp.aspath import AsPath, AsPathSegment
from bgplb.bgp.attributes import Attribute, LocalPref, MpReachNlri, NextHop, Origin
from bgplb.bgp.capabilities import Capability, FourOctetAs, Multiprotocol
from bgplb.bgp.constants import AS_TRANS, AsPathSegmentType
from bgplb.bgp.errors import ErrorAction, ProtocolError
from bgplb.bgp.messages import Open, Update
from bgplb.bgp.negotiation import Negotiated
from bgplb.bgp.validation import validate_open, validate_update

LOCAL_ID = IPv4Address("10.0.0.1")
TAW = ErrorAction.TREAT_AS_WITHDRAW
DISCARD = ErrorAction.ATTRIBUTE_DISCARD


def _open(
    asn: int = 64500,
    hold: int = 90,
    bgp_id: str = "10.0.0.2",
    version: int = 4,
    caps: tuple[Capability, ...] = (),
) -> Open:
    return Open(asn, hold, IPv4Address(bgp_id), caps, version)


OPEN_CASES = [
    ("version", _open(version=3), 64500, 1, b"\x00\x04"),
    ("wrong-peer-as", _open(asn=64999), 64500, 2, b""),
    ("as-zero", _open(asn=0), None, 2, b""),  # RFC 7607
    ("as-trans-without-capability", _open(asn=AS_TRANS), None, 2, b""),
    ("zero-id", _open(bgp_id="0.0.0.0"), 64500, 3, b"\x00\x00\x00\x00"),
    ("same-id-ibgp", _open(asn=64501, bgp_id="10.0.0.1"), 64501, 3, b"\x0a\x00\x00\x01"),
    ("hold-1", _open(hold=1), 64500, 6, b"\x00\x01"),
    ("hold-2", _open(hold=2), 64500, 6, b"\x00\x02"),
]


@pytest.mark.parametrize(
    ("remote", "expected", "subcode", "data"), [c[1:] for c in OPEN_CASES], ids=[c[0] for c in OPEN_CASES]
)
def test_unacceptable_open(remote: Open, expected: int | None, subcode: int, data: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        validate_open(remote, expected_peer_asn=expected, local_id=LOCAL_ID, local_asn=64501)
    assert info.value.wire == (2, subcode, data)
    assert info.value.action == ErrorAction.SESSION_RESET


@pytest.mark.parametrize(
    "remote",
    [
        _open(),
        _open(hold=0),
        _open(hold=3),
        _open(bgp_id="10.0.0.1"),  # same identifier is fine across ASes (RFC 6286 §2.2)
        _open(asn=AS_TRANS, caps=(FourOctetAs(AS_TRANS),)),
    ],
)
def test_acceptable_open(remote: Open) -> None:
    validate_open(remote, expected_peer_asn=None, local_id=LOCAL_ID, local_asn=64501)


def test_required_capability_missing_lists_it_in_the_data() -> None:
    with pytest.raises(ProtocolError) as info:
        validate_open(
            _open(caps=(Multiprotocol(1, 1),)),
            expected_peer_asn=64500,
            local_id=LOCAL_ID,
            local_asn=64501,
            required=(Multiprotocol(1, 1), Multiprotocol(2, 1)),
        )
    assert info.value.wire == (2, 7, bytes.fromhex("010400020001"))


EBGP = Negotiated(peer_asn=64500)
NH = NextHop(IPv4Address("192.0.2.1"))
NLRI = (IPv4Network("10.0.0.1/32"),)


def _update(*attrs: Attribute, nlri: tuple[IPv4Network, ...] = NLRI) -> Update:
    return Update(attributes=attrs, nlri=nlri)


def _check(
    update: Update, *, ibgp: bool = False, local: tuple[IPv4Address | IPv6Address, ...] = ()
) -> Update:
    return validate_update(update, EBGP, ibgp=ibgp, local_asn=64501, local_addresses=local)


def test_a_good_ebgp_update_passes_unchanged() -> None:
    update = _update(Origin(), AsPath.sequence(64500, 64510), NH)
    assert _check(update) is update


UPDATE_CASES = [
    ("first-as-not-peer", _update(Origin(), AsPath.sequence(64510), NH), False, (), (3, 11, TAW)),
    ("empty-path-from-ebgp", _update(Origin(), AsPath(), NH), False, (), (3, 11, TAW)),
    (
        "confed-from-ebgp",
        _update(Origin(), AsPath((AsPathSegment(AsPathSegmentType.AS_CONFED_SEQUENCE, (64500,)),)), NH),
        False,
        (),
        (3, 11, TAW),
    ),
    ("as-loop", _update(Origin(), AsPath.sequence(64500, 64501), NH), False, (), (3, 0, TAW)),
    (
        "next-hop-zero",
        _update(Origin(), AsPath.sequence(64500), NextHop(IPv4Address("0.0.0.0"))),
        False,
        (),
        (3, 8, TAW),
    ),
    (
        "next-hop-multicast",
        _update(Origin(), AsPath.sequence(64500), NextHop(IPv4Address("224.0.0.5"))),
        False,
        (),
        (3, 8, TAW),
    ),
    (
        "next-hop-class-e",
        _update(Origin(), AsPath.sequence(64500), NextHop(IPv4Address("255.255.255.255"))),
        False,
        (),
        (3, 8, TAW),
    ),
    (
        "next-hop-is-ours",
        _update(Origin(), AsPath.sequence(64500), NH),
        False,
        (IPv4Address("192.0.2.1"),),
        (3, 8, TAW),
    ),
    (
        "local-pref-from-ebgp",
        _update(Origin(), AsPath.sequence(64500), NH, LocalPref(200)),
        False,
        (),
        (3, 0, DISCARD),
    ),
    ("local-pref-missing-ibgp", _update(Origin(), AsPath(), NH), True, (), (3, 3, TAW)),
    (
        "ipv6-link-local-global",
        _update(
            Origin(),
            AsPath.sequence(64500),
            MpReachNlri(2, 1, (IPv6Address("fe80::1"),), (IPv6Network("2001:db8::/64"),)),
            nlri=(),
        ),
        False,
        (),
        (3, 8, TAW),
    ),
    (
        "ipv6-second-not-link-local",
        _update(
            Origin(),
            AsPath.sequence(64500),
            MpReachNlri(
                2,
                1,
                (IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2")),
                (IPv6Network("2001:db8::/64"),),
            ),
            nlri=(),
        ),
        False,
        (),
        (3, 8, TAW),
    ),
]


@pytest.mark.parametrize(
    ("update", "ibgp", "local", "expected"), [c[1:] for c in UPDATE_CASES], ids=[c[0] for c in UPDATE_CASES]
)
def test_update_problem(
    update: Update, ibgp: bool, local: tuple[IPv4Address, ...], expected: tuple[int, int, ErrorAction]
) -> None:
    checked = _check(update, ibgp=ibgp, local=local)
    assert [(int(e.code), e.subcode, e.action) for e in checked.errors] == [expected]
    assert checked.treat_as_withdraw == (expected[2] == TAW)


def test_local_pref_from_ebgp_is_dropped() -> None:
    checked = _check(_update(Origin(), AsPath.sequence(64500), NH, LocalPref(200)))
    assert checked.get(LocalPref) is None
    assert checked.nlri == NLRI


def test_ibgp_update_with_local_pref_passes() -> None:
    update = _update(Origin(), AsPath(), NH, LocalPref(100))
    assert _check(update, ibgp=True).errors == ()


def test_withdraw_only_updates_are_not_checked_for_reachability_attributes() -> None:
    assert _check(Update(withdrawn=NLRI)).errors == ()


def test_first_as_check_can_be_off_for_route_servers() -> None:
    update = _update(Origin(), AsPath.sequence(64510), NH)
    assert validate_update(update, EBGP, ibgp=False, local_asn=64501, enforce_first_as=False).errors == ()
