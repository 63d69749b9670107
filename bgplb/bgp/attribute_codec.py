"""The path attribute list of an UPDATE: headers, canonical order, AS4 mapping and the RFC 7606 ladder.

Encoding puts MP_REACH/MP_UNREACH first (RFC 7606 §5.1) and the rest in type-code order (RFC 4271 §5),
uses the Extended Length bit only for values over 255 octets, maps 4-octet ASNs for 2-octet peers
(RFC 6793 §4.2.2) and sets Partial on unknown optional transitive attributes it passes on (RFC 4271 §5).

Decoding applies RFC 7606: a malformed attribute yields a ProtocolError whose action says what to do.
Session-reset errors are raised; treat-as-withdraw and attribute-discard errors are returned next to the
attributes that survived, and the malformed attribute itself is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

from bgplb.bgp.aspath import As4Path, AsPath, merge_as4, to_two_octet
from bgplb.bgp.attributes import REGISTRY, Aggregator, As4Aggregator, Attribute, UnknownAttribute
from bgplb.bgp.constants import AS_TRANS, AttrFlag, AttrType, ErrorCode, UpdateErrorSubcode
from bgplb.bgp.errors import ErrorAction, ProtocolError

_OPTIONAL = int(AttrFlag.OPTIONAL)
_TRANSITIVE = int(AttrFlag.TRANSITIVE)
_CATEGORY = _OPTIONAL | _TRANSITIVE
_PARTIAL = int(AttrFlag.PARTIAL)
_EXTENDED = int(AttrFlag.EXTENDED_LENGTH)
_MP = (AttrType.MP_REACH_NLRI, AttrType.MP_UNREACH_NLRI)
_MAX_2_OCTET = 0xFFFF
# RFC 4271 §6.3: for these subcodes the NOTIFICATION data is the erroneous attribute (type, length, value)
_DATA_IS_ATTRIBUTE = frozenset(
    {
        UpdateErrorSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
        UpdateErrorSubcode.ATTRIBUTE_FLAGS_ERROR,
        UpdateErrorSubcode.ATTRIBUTE_LENGTH_ERROR,
        UpdateErrorSubcode.INVALID_ORIGIN_ATTRIBUTE,
        UpdateErrorSubcode.INVALID_NEXT_HOP_ATTRIBUTE,
        UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR,
    }
)


def attribute_header(flags: int, type_code: int, length: int) -> bytes:
    """Flags, type and length octets; sets Extended Length when the value exceeds 255 octets."""
    if length > 255:
        return bytes((flags | _EXTENDED, type_code)) + length.to_bytes(2, "big")
    return bytes((flags & ~_EXTENDED, type_code, length))


def encode_attribute(attribute: Attribute, four_octet: bool) -> bytes:
    """One path attribute with its header."""
    value = attribute.encode_value(four_octet)
    flags = attribute.flags
    if isinstance(attribute, UnknownAttribute) and flags & _CATEGORY == _CATEGORY:
        flags |= _PARTIAL
    if len(value) > 0xFFFF:
        raise ValueError(f"{type(attribute).__name__}: value of {len(value)} octets exceeds 65535")
    return attribute_header(flags, attribute.type_code, len(value)) + value


def _sort_key(attribute: Attribute) -> tuple[bool, int]:
    return (attribute.type_code not in _MP, attribute.type_code)


def _for_two_octet(attributes: Iterable[Attribute]) -> list[Attribute]:
    """RFC 6793 §4.2.2: AS_TRANS in AS_PATH/AGGREGATOR, the real values in AS4_PATH/AS4_AGGREGATOR."""
    out: list[Attribute] = []
    for attr in attributes:
        if isinstance(attr, As4Path | As4Aggregator):
            continue
        if isinstance(attr, AsPath):
            path, as4 = to_two_octet(attr)
            out.extend((path, as4) if as4 is not None else (path,))
        elif isinstance(attr, Aggregator) and attr.asn > _MAX_2_OCTET:
            out.extend((Aggregator(AS_TRANS, attr.address), As4Aggregator(attr.asn, attr.address)))
        else:
            out.append(attr)
    return out


def encode_attributes(attributes: Iterable[Attribute], four_octet: bool) -> bytes:
    """The Path Attributes field for a peer with (or without) the 4-octet AS capability."""
    if four_octet:
        attrs: list[Attribute] = [a for a in attributes if not isinstance(a, As4Path | As4Aggregator)]  # §3
    else:
        attrs = _for_two_octet(attributes)
    attrs.sort(key=_sort_key)
    return b"".join(encode_attribute(attr, four_octet) for attr in attrs)


def _update_error(
    subcode: UpdateErrorSubcode, reason: str, action: ErrorAction, data: bytes = b""
) -> ProtocolError:
    return ProtocolError(ErrorCode.UPDATE_MESSAGE, subcode, reason, data=data, action=action)


def decode_attributes(data: bytes, four_octet: bool) -> tuple[list[Attribute], list[ProtocolError]]:
    """Decode a Path Attributes field. Returns the attributes kept and the non-fatal errors (RFC 7606)."""
    attrs: list[Attribute] = []
    errors: list[ProtocolError] = []
    seen: set[int] = set()
    i, size = 0, len(data)
    while i < size:
        header = 4 if size - i >= 2 and data[i] & _EXTENDED else 3
        if size - i < header:
            errors.append(_overrun(f"{size - i} octets left, too few for an attribute header"))  # RFC 7606 §4
            break
        flags, type_code = data[i], data[i + 1]
        length = int.from_bytes(data[i + 2 : i + header], "big")
        end = i + header + length
        if end > size:
            errors.append(_overrun(f"attribute type {type_code} length {length} overruns the attribute list"))
            break
        raw, value = data[i:end], data[i + header : end]
        i = end
        if type_code in seen:  # RFC 7606 §3 g
            if type_code in _MP:
                reason = f"attribute type {type_code} appears more than once"
                raise _update_error(
                    UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST, reason, ErrorAction.SESSION_RESET
                )
            reason = f"duplicate attribute type {type_code} discarded"
            errors.append(
                _update_error(
                    UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST, reason, ErrorAction.ATTRIBUTE_DISCARD
                )
            )
            continue
        seen.add(type_code)
        spec = REGISTRY.get(type_code)
        if spec is None:
            if not flags & _OPTIONAL:  # RFC 4271 §6.3
                reason = f"unrecognized well-known attribute type {type_code}"
                subcode = UpdateErrorSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE
                raise _update_error(subcode, reason, ErrorAction.SESSION_RESET, raw)
            attrs.append(UnknownAttribute(flags & ~_EXTENDED, type_code, value))
            continue
        try:
            if flags & _CATEGORY != spec.flags:  # RFC 7606 §3 c: Optional/Transitive bits in conflict
                reason = f"attribute type {type_code}: flags {flags:#04x}, expected {spec.flags:#04x}"
                raise _update_error(UpdateErrorSubcode.ATTRIBUTE_FLAGS_ERROR, reason, spec.on_error)
            attrs.append(spec.decode(value, four_octet))
        except ProtocolError as exc:
            if exc.subcode in _DATA_IS_ATTRIBUTE:
                exc = _update_error(UpdateErrorSubcode(exc.subcode), exc.reason, exc.action, raw)
            if exc.action == ErrorAction.SESSION_RESET:
                raise exc from None
            errors.append(exc)
    return _merge_as4(attrs, four_octet), errors


def _overrun(reason: str) -> ProtocolError:
    # RFC 7606 §4: the Total Attribute Length still locates the NLRI, so treat-as-withdraw
    return _update_error(UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST, reason, ErrorAction.TREAT_AS_WITHDRAW)


def _merge_as4(attrs: list[Attribute], four_octet: bool) -> list[Attribute]:
    """RFC 6793 §4.2.3 (from a 2-octet speaker) and §3 (from a 4-octet one: AS4_* are discarded)."""
    as4_path = next((a for a in attrs if isinstance(a, As4Path)), None)
    as4_agg = next((a for a in attrs if isinstance(a, As4Aggregator)), None)
    if as4_path is None and as4_agg is None:
        return attrs
    kept: list[Attribute] = [a for a in attrs if not isinstance(a, As4Path | As4Aggregator)]
    if four_octet:
        return kept
    aggregator = next((a for a in kept if isinstance(a, Aggregator)), None)
    if as4_agg is not None and aggregator is not None and aggregator.asn != AS_TRANS:
        return kept  # a 2-octet speaker aggregated after the AS4 values were set: they are stale
    out: list[Attribute] = []
    for attr in kept:
        if isinstance(attr, AsPath) and as4_path is not None:
            out.append(merge_as4(attr, as4_path))
        elif isinstance(attr, Aggregator) and as4_agg is not None:
            out.append(Aggregator(as4_agg.asn, as4_agg.address))
        else:
            out.append(attr)
    return out
