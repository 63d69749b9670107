"""Semantic checks of a decoded OPEN or UPDATE: what the bytes say is well-formed but not acceptable.

`validate_open` raises the OPEN Message Error the peer gets (RFC 4271 §6.2, RFC 5492 §5, RFC 6286, RFC 7607).
`validate_update` returns the UPDATE with the attribute-discard applied and every RFC 7606 problem appended
to `Update.errors`; `Update.treat_as_withdraw` then says whether its routes count as withdrawn. None of the
UPDATE checks resets the session: RFC 4271 §6.3 and RFC 7606 ask for the routes to be ignored instead.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

from bgplb.bgp.aspath import AsPath
from bgplb.bgp.attributes import LocalPref, MpReachNlri, NextHop
from bgplb.bgp.capabilities import Capability, encode_capability
from bgplb.bgp.constants import (
    AS_TRANS,
    BGP_VERSION,
    AsPathSegmentType,
    AttrType,
    ErrorCode,
    OpenErrorSubcode,
    UpdateErrorSubcode,
)
from bgplb.bgp.errors import ErrorAction, ProtocolError
from bgplb.bgp.messages import Open, Update
from bgplb.bgp.negotiation import Negotiated

_TAW = ErrorAction.TREAT_AS_WITHDRAW
_CONFED = (AsPathSegmentType.AS_CONFED_SEQUENCE, AsPathSegmentType.AS_CONFED_SET)
IPAddress = IPv4Address | IPv6Address


def _open_error(subcode: OpenErrorSubcode, reason: str, data: bytes = b"") -> ProtocolError:
    return ProtocolError(ErrorCode.OPEN_MESSAGE, subcode, reason, data=data)


def validate_open(
    remote: Open,
    *,
    expected_peer_asn: int | None,
    local_id: IPv4Address,
    local_asn: int,
    required: Iterable[Capability] = (),
) -> None:
    """Raise the OPEN Message Error for an unacceptable OPEN from the peer.

    `expected_peer_asn` None accepts any ASN (dynamic peers); `required` lists capabilities the peer must
    advertise (RFC 5492 §5: the NOTIFICATION data lists the missing ones).
    """
    if remote.version != BGP_VERSION:
        data = BGP_VERSION.to_bytes(2, "big")
        raise _open_error(OpenErrorSubcode.UNSUPPORTED_VERSION_NUMBER, f"BGP version {remote.version}", data)
    if remote.asn == 0 or (expected_peer_asn is not None and remote.asn != expected_peer_asn):
        expected = "" if expected_peer_asn is None else f", expected {expected_peer_asn}"
        raise _open_error(OpenErrorSubcode.BAD_PEER_AS, f"peer AS {remote.asn}{expected}")  # RFC 7607: AS 0
    if remote.asn == AS_TRANS and not remote.four_octet_as:
        raise _open_error(OpenErrorSubcode.BAD_PEER_AS, "peer AS is AS_TRANS without the 4-octet capability")
    if remote.bgp_id == IPv4Address(0) or (remote.bgp_id == local_id and remote.asn == local_asn):
        reason = f"BGP identifier {remote.bgp_id}"  # RFC 6286 §2.2: unique within an AS, never zero
        raise _open_error(OpenErrorSubcode.BAD_BGP_IDENTIFIER, reason, remote.bgp_id.packed)
    if remote.hold_time in (1, 2):  # RFC 4271 §4.2: zero or at least three seconds
        reason = f"hold time {remote.hold_time} s"
        raise _open_error(
            OpenErrorSubcode.UNACCEPTABLE_HOLD_TIME, reason, remote.hold_time.to_bytes(2, "big")
        )
    missing = [cap for cap in required if cap not in remote.capabilities]
    if missing:
        data = b"".join(encode_capability(cap) for cap in missing)
        reason = "peer lacks required capabilities " + ", ".join(type(cap).__name__ for cap in missing)
        raise _open_error(OpenErrorSubcode.UNSUPPORTED_CAPABILITY, reason, data)


def _problem(
    subcode: UpdateErrorSubcode, reason: str, data: bytes = b"", action: ErrorAction = _TAW
) -> ProtocolError:
    return ProtocolError(ErrorCode.UPDATE_MESSAGE, subcode, reason, data=data, action=action)


def _bad_host(address: IPAddress, local_addresses: Collection[IPAddress]) -> str | None:
    if address.is_unspecified or address.is_multicast or address.is_loopback:
        return "not a unicast host address"
    if isinstance(address, IPv4Address) and address.is_reserved:
        return "in the reserved 240.0.0.0/4"
    if address in local_addresses:
        return "one of our own addresses"
    return None


def _next_hop_problems(update: Update, local_addresses: Collection[IPAddress]) -> list[ProtocolError]:
    out = []
    next_hop = update.get(NextHop)
    if next_hop is not None and update.nlri:  # RFC 4271 §6.3, RFC 7606 §7.3
        why = _bad_host(next_hop.address, local_addresses)
        if why:
            data = bytes((0x40, AttrType.NEXT_HOP, 4)) + next_hop.address.packed
            out.append(
                _problem(
                    UpdateErrorSubcode.INVALID_NEXT_HOP_ATTRIBUTE, f"NEXT_HOP {next_hop.address} {why}", data
                )
            )
    reach = update.get(MpReachNlri)
    if reach is not None and reach.nlri:  # RFC 4760 §3, RFC 2545 §3: global (+ link-local)
        hops = reach.next_hops
        why = _bad_host(hops[0], local_addresses)
        if why is None and isinstance(hops[0], IPv6Address) and hops[0].is_link_local:
            why = "link-local where a global address is required"
        if why is None and len(hops) == 2 and not (hops[1].is_link_local or hops[1].is_unspecified):
            why = f"second next hop {hops[1]} is not link-local"
        if why:
            out.append(
                _problem(
                    UpdateErrorSubcode.INVALID_NEXT_HOP_ATTRIBUTE, f"MP_REACH_NLRI next hop {hops[0]} {why}"
                )
            )
    return out


def _as_path_problems(
    path: AsPath | None, peer_asn: int, *, ibgp: bool, local_asn: int, enforce_first_as: bool
) -> list[ProtocolError]:
    if path is None:
        return []
    out = []
    malformed = UpdateErrorSubcode.MALFORMED_AS_PATH
    if not ibgp:
        if any(seg.type in _CONFED for seg in path.segments):  # RFC 5065 §5.1, RFC 7606 §7.2
            out.append(_problem(malformed, "AS_PATH from an external peer has confederation segments"))
        elif enforce_first_as and path.first_asn != peer_asn:  # RFC 4271 §6.3
            reason = f"AS_PATH starts with {path.first_asn}, not the peer AS {peer_asn}"
            out.append(_problem(malformed, reason))
    if path.contains(local_asn):  # RFC 4271 §9.1.2: a loop makes the route unfeasible
        out.append(_problem(UpdateErrorSubcode.UNSPECIFIC, f"AS_PATH contains our AS {local_asn} (loop)"))
    return out


def validate_update(
    update: Update,
    negotiated: Negotiated,
    *,
    ibgp: bool,
    local_asn: int,
    local_addresses: Collection[IPAddress] = (),
    enforce_first_as: bool = True,
) -> Update:
    """Apply the semantic UPDATE checks; returns `update` with LOCAL_PREF discarded from eBGP peers and
    the problems appended to `errors` (all treat-as-withdraw or attribute-discard)."""
    problems: list[ProtocolError] = []
    attributes = update.attributes
    local_pref = update.get(LocalPref)
    if local_pref is not None and not ibgp:  # RFC 7606 §7.5
        attributes = tuple(a for a in attributes if a is not local_pref)
        problems.append(
            _problem(
                UpdateErrorSubcode.UNSPECIFIC,
                "LOCAL_PREF from an external peer discarded",
                action=ErrorAction.ATTRIBUTE_DISCARD,
            )
        )
    if update.announced():
        if ibgp and local_pref is None:  # RFC 4271 §5.1.5: mandatory towards internal peers
            reason = "missing well-known attribute LOCAL_PREF from an internal peer"
            problems.append(
                _problem(
                    UpdateErrorSubcode.MISSING_WELL_KNOWN_ATTRIBUTE, reason, bytes((AttrType.LOCAL_PREF,))
                )
            )
        problems.extend(_next_hop_problems(update, local_addresses))
        path = update.get(AsPath)
        problems.extend(
            _as_path_problems(
                path, negotiated.peer_asn, ibgp=ibgp, local_asn=local_asn, enforce_first_as=enforce_first_as
            )
        )
    if not problems:
        return update
    return replace(update, attributes=attributes, errors=update.errors + tuple(problems))
