"""Framing and the message codec: bytes <-> `Message` values (RFC 4271 §4, §6.1-6.3; RFC 2918; RFC 7313).

`split_frames` cuts whole messages off a receive buffer, checking the header (marker, length, type:
NOTIFICATION code 1). `decode` turns one frame into a message; body errors raise ProtocolError with code 2
for OPEN and 3 for UPDATE (RFC 7606 non-fatal UPDATE errors are collected in `Update.errors` instead).
`encode` is the inverse. `frame`, `encode_update_raw`, `encode_attributes` and `encode_mp_reach_raw` /
`encode_mp_unreach_raw` are the building blocks the Adj-RIB-Out packer uses to avoid re-encoding.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import cast

from bgplb.bgp import attribute_codec
from bgplb.bgp.attributes import Attribute, MpReachNlri, MpUnreachNlri, NextHopAddress
from bgplb.bgp.capabilities import Capability, FourOctetAs, decode_capabilities, encode_capability
from bgplb.bgp.constants import (
    AS_TRANS,
    BGP_VERSION,
    HEADER_LEN,
    MARKER,
    MAX_MESSAGE,
    MIN_MESSAGE_LEN,
    Afi,
    AttrType,
    ErrorCode,
    HeaderErrorSubcode,
    MessageType,
    OpenErrorSubcode,
    OptionalParameterType,
    RouteRefreshErrorSubcode,
    RouteRefreshSubtype,
    UpdateErrorSubcode,
)
from bgplb.bgp.errors import ErrorAction, ProtocolError
from bgplb.bgp.messages import Keepalive, Message, Notification, Open, RouteRefresh, Update
from bgplb.bgp.negotiation import Negotiated
from bgplb.bgp.nlri import decode_prefixes, encode_prefixes

_TAW = ErrorAction.TREAT_AS_WITHDRAW
_V4 = tuple[IPv4Network, ...]
_MAX_PARAM = 255
_KEEPALIVE = MARKER + HEADER_LEN.to_bytes(2, "big") + bytes((MessageType.KEEPALIVE,))
_OPEN_FIXED = 10  # version, my AS, hold time, BGP identifier, optional parameters length


def frame(message_type: int, body: bytes) -> bytes:
    """Header (marker, length, type) + body."""
    return MARKER + (HEADER_LEN + len(body)).to_bytes(2, "big") + bytes((message_type,)) + body


def encode_update_raw(withdrawn: bytes, attributes: bytes, nlri: bytes) -> bytes:
    """A whole UPDATE from already encoded Withdrawn Routes, Path Attributes and NLRI fields."""
    body = len(withdrawn).to_bytes(2, "big") + withdrawn + len(attributes).to_bytes(2, "big") + attributes
    return frame(MessageType.UPDATE, body + nlri)


def encode_attributes(attributes: Iterable[Attribute], negotiated: Negotiated | None = None) -> bytes:
    """The Path Attributes field (canonical order, AS4 mapping for 2-octet peers)."""
    four_octet = negotiated.four_octet_as if negotiated is not None else False
    return attribute_codec.encode_attributes(attributes, four_octet)


def encode_mp_reach_raw(afi: int, safi: int, next_hops: Sequence[NextHopAddress], nlri: bytes) -> bytes:
    """A whole MP_REACH_NLRI attribute (header included) around already encoded NLRI."""
    hops = b"".join(hop.packed for hop in next_hops)
    value = afi.to_bytes(2, "big") + bytes((safi, len(hops))) + hops + b"\x00" + nlri
    return attribute_codec.attribute_header(MpReachNlri.flags, AttrType.MP_REACH_NLRI, len(value)) + value


def encode_mp_unreach_raw(afi: int, safi: int, withdrawn: bytes) -> bytes:
    """A whole MP_UNREACH_NLRI attribute (header included) around already encoded prefixes."""
    value = afi.to_bytes(2, "big") + bytes((safi,)) + withdrawn
    return attribute_codec.attribute_header(MpUnreachNlri.flags, AttrType.MP_UNREACH_NLRI, len(value)) + value


def _encode_open(message: Open) -> bytes:
    caps = [encode_capability(cap) for cap in message.capabilities]
    params: list[bytes] = []
    for cap in caps:  # RFC 5492 §4: several capabilities per Capabilities parameter, up to 255 octets each
        if params and len(params[-1]) + len(cap) <= _MAX_PARAM:
            params[-1] += cap
        else:
            params.append(cap)
    ptype = OptionalParameterType.CAPABILITIES
    short = b"".join(bytes((ptype, len(p))) + p for p in params)
    if len(short) <= _MAX_PARAM:
        opt = bytes((len(short),)) + short
    else:  # RFC 9072 §2: extended optional parameters length; one parameter holds all capabilities
        every = b"".join(caps)
        long = bytes((ptype,)) + len(every).to_bytes(2, "big") + every
        opt = bytes((_MAX_PARAM, OptionalParameterType.EXTENDED_LENGTH)) + len(long).to_bytes(2, "big") + long
    my_as = message.asn if message.asn <= 0xFFFF else AS_TRANS
    head = bytes((message.version,)) + my_as.to_bytes(2, "big") + message.hold_time.to_bytes(2, "big")
    return frame(MessageType.OPEN, head + message.bgp_id.packed + opt)


def encode(message: Message, negotiated: Negotiated | None = None) -> bytes:
    """Encode one message. `negotiated` None means before the OPEN exchange (2-octet AS, 4096 octets)."""
    if isinstance(message, Keepalive):
        return _KEEPALIVE
    if isinstance(message, Open):
        data = _encode_open(message)
    elif isinstance(message, Update):
        data = encode_update_raw(
            encode_prefixes(message.withdrawn),
            encode_attributes(message.attributes, negotiated),
            encode_prefixes(message.nlri),
        )
    elif isinstance(message, Notification):
        data = frame(MessageType.NOTIFICATION, bytes((message.code, message.subcode)) + message.data)
    else:
        body = message.afi.to_bytes(2, "big") + bytes((message.subtype, message.safi))
        data = frame(MessageType.ROUTE_REFRESH, body)
    limit = MAX_MESSAGE if negotiated is None or isinstance(message, Open) else negotiated.max_message_size
    if len(data) > limit:
        raise ValueError(f"{type(message).__name__} of {len(data)} octets exceeds the {limit}-octet maximum")
    return data


def _header_error(subcode: HeaderErrorSubcode, reason: str, data: bytes = b"") -> ProtocolError:
    return ProtocolError(ErrorCode.MESSAGE_HEADER, subcode, reason, data=data)


def _check_header(buffer: bytes | bytearray, start: int, max_size: int) -> tuple[int, int]:
    """RFC 4271 §6.1 checks of the header at `start` (19 octets available). Returns (length, type)."""
    if buffer[start : start + 16] != MARKER:
        raise _header_error(HeaderErrorSubcode.CONNECTION_NOT_SYNCHRONIZED, "marker is not all ones")
    raw_length = bytes(buffer[start + 16 : start + 18])
    length, kind = int.from_bytes(raw_length, "big"), buffer[start + 18]
    if not HEADER_LEN <= length <= max_size:
        reason = f"message length {length} outside {HEADER_LEN}..{max_size}"
        raise _header_error(HeaderErrorSubcode.BAD_MESSAGE_LENGTH, reason, raw_length)
    minimum = MIN_MESSAGE_LEN.get(kind)
    if minimum is None:
        raise _header_error(
            HeaderErrorSubcode.BAD_MESSAGE_TYPE, f"unknown message type {kind}", bytes((kind,))
        )
    limit = (
        HEADER_LEN if kind == MessageType.KEEPALIVE else MAX_MESSAGE if kind == MessageType.OPEN else max_size
    )
    if not minimum <= length <= limit:
        name = MessageType(kind).name
        reason = f"{name} length {length} outside {minimum}..{limit}"
        raise _header_error(HeaderErrorSubcode.BAD_MESSAGE_LENGTH, reason, raw_length)
    return length, kind


def split_frames(buffer: bytearray, max_size: int) -> list[bytes]:
    """Remove and return the complete messages at the front of `buffer`; a partial one stays."""
    frames: list[bytes] = []
    start, size = 0, len(buffer)
    try:
        while size - start >= HEADER_LEN:
            length, _ = _check_header(buffer, start, max_size)
            if size - start < length:
                break
            frames.append(bytes(buffer[start : start + length]))
            start += length
    finally:
        del buffer[:start]
    return frames


def decode(data: bytes, negotiated: Negotiated | None = None) -> Message:
    """Decode one whole message (header included)."""
    max_size = negotiated.max_message_size if negotiated is not None else MAX_MESSAGE
    if len(data) < HEADER_LEN:
        raise _header_error(
            HeaderErrorSubcode.BAD_MESSAGE_LENGTH, f"{len(data)} octets is shorter than a header"
        )
    length, kind = _check_header(data, 0, max_size)
    if length != len(data):
        reason = f"length field {length} but {len(data)} octets"
        raise _header_error(HeaderErrorSubcode.BAD_MESSAGE_LENGTH, reason, data[16:18])
    body = bytes(data[HEADER_LEN:])
    if kind == MessageType.UPDATE:
        return _decode_update(body, negotiated.four_octet_as if negotiated is not None else False)
    if kind == MessageType.KEEPALIVE:
        return Keepalive()
    if kind == MessageType.OPEN:
        return _decode_open(body)
    if kind == MessageType.NOTIFICATION:
        return Notification(body[0], body[1], body[2:])
    return _decode_route_refresh(body, data)


def _open_error(subcode: OpenErrorSubcode, reason: str, data: bytes = b"") -> ProtocolError:
    return ProtocolError(ErrorCode.OPEN_MESSAGE, subcode, reason, data=data)


def _optional_parameters(body: bytes) -> list[tuple[int, bytes]]:
    """(type, value) of each optional parameter, in the RFC 4271 or the RFC 9072 extended layout."""
    declared = body[9]
    params, size = body[_OPEN_FIXED:], len(body) - _OPEN_FIXED
    extended = declared == _MAX_PARAM and size >= 1 and params[0] == OptionalParameterType.EXTENDED_LENGTH
    if extended:
        if size < 3:
            raise _open_error(OpenErrorSubcode.UNSPECIFIC, "extended optional parameters length truncated")
        declared, params, size = int.from_bytes(params[1:3], "big"), params[3:], size - 3
    if declared != size:
        reason = f"optional parameters length {declared} but {size} octets follow"
        raise _open_error(OpenErrorSubcode.UNSPECIFIC, reason)
    head = 3 if extended else 2
    out: list[tuple[int, bytes]] = []
    i = 0
    while i < size:
        if size - i < head:
            raise _open_error(OpenErrorSubcode.UNSPECIFIC, "optional parameter header truncated")
        length = int.from_bytes(params[i + 1 : i + head], "big")
        if i + head + length > size:
            raise _open_error(
                OpenErrorSubcode.UNSPECIFIC, f"optional parameter length {length} overruns OPEN"
            )
        out.append((params[i], params[i + head : i + head + length]))
        i += head + length
    return out


def _decode_open(body: bytes) -> Open:
    version = body[0]
    if version != BGP_VERSION:  # RFC 4271 §6.2: data is the largest version we support
        reason = f"unsupported BGP version {version}"
        raise _open_error(OpenErrorSubcode.UNSUPPORTED_VERSION_NUMBER, reason, BGP_VERSION.to_bytes(2, "big"))
    my_as = int.from_bytes(body[1:3], "big")
    hold_time = int.from_bytes(body[3:5], "big")
    bgp_id = IPv4Address(body[5:9])
    capabilities: list[Capability] = []
    for ptype, value in _optional_parameters(body):
        if ptype != OptionalParameterType.CAPABILITIES:
            subcode = OpenErrorSubcode.UNSUPPORTED_OPTIONAL_PARAMETER
            raise _open_error(subcode, f"unsupported optional parameter type {ptype}")
        capabilities.extend(decode_capabilities(value))
    asn = my_as
    four = next((c for c in capabilities if isinstance(c, FourOctetAs)), None)
    if four is not None:
        if my_as not in (AS_TRANS, four.asn):  # RFC 6793 §4.1: the two must agree
            reason = f"My AS {my_as} disagrees with the 4-octet AS capability {four.asn}"
            raise _open_error(OpenErrorSubcode.BAD_PEER_AS, reason, body[1:3])
        asn = four.asn
    return Open(asn, hold_time, bgp_id, tuple(capabilities), version)


def _decode_update(body: bytes, four_octet: bool) -> Update:
    size = len(body)
    withdrawn_len = int.from_bytes(body[0:2], "big")
    attrs_at = 2 + withdrawn_len
    if attrs_at + 2 > size:  # RFC 4271 §6.3; RFC 7606 §4: the NLRI cannot be located -> reset
        reason = f"withdrawn routes length {withdrawn_len} overruns the UPDATE"
        raise ProtocolError(ErrorCode.UPDATE_MESSAGE, UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST, reason)
    attrs_len = int.from_bytes(body[attrs_at : attrs_at + 2], "big")
    nlri_at = attrs_at + 2 + attrs_len
    if nlri_at > size:
        reason = f"total path attribute length {attrs_len} overruns the UPDATE"
        raise ProtocolError(ErrorCode.UPDATE_MESSAGE, UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST, reason)
    withdrawn = cast(_V4, decode_prefixes(body[2:attrs_at], Afi.IPV4))
    nlri = cast(_V4, decode_prefixes(body[nlri_at:], Afi.IPV4))
    attrs, errors = attribute_codec.decode_attributes(body[attrs_at + 2 : nlri_at], four_octet)
    errors.extend(_missing_well_known(attrs, errors, bool(nlri)))
    return Update(withdrawn, tuple(attrs), nlri, tuple(errors))


def _missing_well_known(
    attrs: list[Attribute], errors: list[ProtocolError], has_nlri: bool
) -> list[ProtocolError]:
    """RFC 4271 §6.3 / RFC 7606 §3 d: ORIGIN and AS_PATH (and NEXT_HOP for IPv4 NLRI) with reachability."""
    reach = next((a for a in attrs if isinstance(a, MpReachNlri)), None)
    if not has_nlri and (reach is None or not reach.nlri):
        return []
    if any(e.action == ErrorAction.TREAT_AS_WITHDRAW for e in errors):
        return []  # the routes are withdrawn already; the missing attribute is most likely the malformed one
    present = {a.type_code for a in attrs}
    for code in (AttrType.ORIGIN, AttrType.AS_PATH, AttrType.NEXT_HOP):
        if code not in present and (has_nlri or code != AttrType.NEXT_HOP):
            subcode = UpdateErrorSubcode.MISSING_WELL_KNOWN_ATTRIBUTE
            reason = f"missing well-known attribute {code.name}"
            return [ProtocolError(ErrorCode.UPDATE_MESSAGE, subcode, reason, bytes((code,)), _TAW)]
    return []


def _decode_route_refresh(body: bytes, message: bytes) -> RouteRefresh:
    """RFC 7313 §5: a subtype other than 0-2 is kept whatever its length (the Session ignores it); a BoRR or
    EoRR of the wrong length is ROUTE-REFRESH Message Error / Invalid Message Length with the whole message;
    a normal request (subtype 0) of the wrong length is a header error (RFC 4271 §6.1, RFC 2918 §3)."""
    afi, subtype, safi = int.from_bytes(body[0:2], "big"), body[2], body[3]
    if len(body) != 4 and subtype <= RouteRefreshSubtype.END_OF_RIB:
        reason = f"ROUTE-REFRESH length {len(message)}, expected 23"
        if subtype in (RouteRefreshSubtype.BEGIN_OF_RIB, RouteRefreshSubtype.END_OF_RIB):
            subcode = RouteRefreshErrorSubcode.INVALID_MESSAGE_LENGTH
            raise ProtocolError(ErrorCode.ROUTE_REFRESH_MESSAGE, subcode, reason, data=message)
        raise _header_error(HeaderErrorSubcode.BAD_MESSAGE_LENGTH, reason, message[16:18])
    return RouteRefresh(afi, safi, subtype)
