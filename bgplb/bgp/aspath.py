"""AS_PATH and AS4_PATH (RFC 4271 §4.3, RFC 6793): segments, their 2/4-octet encodings and the AS4 mapping.

Talking to a 2-octet (OLD) speaker, `to_two_octet` writes AS_TRANS for every non-mappable ASN and gives the
real path as AS4_PATH; `merge_as4` rebuilds the real path from what such a speaker sends (RFC 6793 §4.2.3).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from bgplb.bgp.constants import AS_TRANS, AsPathSegmentType, AttrFlag, AttrType, ErrorCode, UpdateErrorSubcode
from bgplb.bgp.errors import ErrorAction, ProtocolError

_TAW = ErrorAction.TREAT_AS_WITHDRAW
_DISCARD = ErrorAction.ATTRIBUTE_DISCARD
_MAX_2_OCTET = 0xFFFF


def _error(reason: str, action: ErrorAction) -> ProtocolError:
    subcode = UpdateErrorSubcode.MALFORMED_AS_PATH
    return ProtocolError(ErrorCode.UPDATE_MESSAGE, subcode, reason, action=action)


@dataclass(frozen=True, slots=True)
class AsPathSegment:
    """One AS_PATH segment: its type and 1..255 ASNs."""

    type: AsPathSegmentType
    asns: tuple[int, ...]

    def __post_init__(self) -> None:
        if not 0 < len(self.asns) <= 255:
            raise ValueError("AsPathSegment.asns: must hold 1..255 AS numbers")

    @property
    def path_length(self) -> int:
        """Contribution to the path length (RFC 4271 §9.1.2.2; confederation segments count 0, RFC 5065)."""
        if self.type == AsPathSegmentType.AS_SEQUENCE:
            return len(self.asns)
        return 1 if self.type == AsPathSegmentType.AS_SET else 0


def _encode_segments(segments: tuple[AsPathSegment, ...], four_octet: bool) -> bytes:
    fmt, limit = ("I", 0xFFFFFFFF) if four_octet else ("H", 0xFFFF)
    parts = []
    for seg in segments:
        if max(seg.asns) > limit or min(seg.asns) < 0:
            raise ValueError(f"AsPathSegment.asns: {seg.asns} do not fit {'4' if four_octet else '2'} octets")
        parts.append(bytes((seg.type, len(seg.asns))) + struct.pack(f">{len(seg.asns)}{fmt}", *seg.asns))
    return b"".join(parts)


def _decode_segments(
    value: bytes, four_octet: bool, name: str, action: ErrorAction
) -> tuple[AsPathSegment, ...]:
    """RFC 7606 §7.2: unknown segment type, empty segment or overrun -> malformed; RFC 7607: AS 0 too."""
    width, fmt = (4, "I") if four_octet else (2, "H")
    segments = []
    i, size = 0, len(value)
    while i < size:
        if i + 2 > size:
            raise _error(f"{name}: segment header truncated", action)
        seg_type, count = value[i], value[i + 1]
        end = i + 2 + count * width
        if seg_type not in _SEGMENT_TYPES or count == 0 or end > size:
            reason = f"{name}: bad segment (type {seg_type}, {count} ASNs, {size - i - 2} octets left)"
            raise _error(reason, action)
        asns = struct.unpack_from(f">{count}{fmt}", value, i + 2)
        if 0 in asns:  # RFC 7607 §2: AS 0 makes the path malformed
            raise _error(f"{name}: contains AS 0", action)
        segments.append(AsPathSegment(AsPathSegmentType(seg_type), asns))
        i = end
    return tuple(segments)


_SEGMENT_TYPES = frozenset(int(t) for t in AsPathSegmentType)


@dataclass(frozen=True, slots=True)
class AsPath:
    """AS_PATH (type 2, well-known mandatory). ASNs are the real (possibly 4-octet) numbers."""

    segments: tuple[AsPathSegment, ...] = ()
    type_code: ClassVar[int] = AttrType.AS_PATH
    flags: ClassVar[int] = AttrFlag.TRANSITIVE

    @classmethod
    def sequence(cls, *asns: int) -> Self:
        """A path of one AS_SEQUENCE (empty for no ASNs), split into segments of at most 255."""
        chunks = [asns[i : i + 255] for i in range(0, len(asns), 255)]
        return cls(tuple(AsPathSegment(AsPathSegmentType.AS_SEQUENCE, chunk) for chunk in chunks))

    @property
    def length(self) -> int:
        """Path length for best-path selection (RFC 4271 §9.1.2.2)."""
        return sum(seg.path_length for seg in self.segments)

    @property
    def first_asn(self) -> int | None:
        """The neighbouring AS: first ASN of a leading AS_SEQUENCE, else None."""
        if self.segments and self.segments[0].type == AsPathSegmentType.AS_SEQUENCE:
            return self.segments[0].asns[0]
        return None

    def contains(self, asn: int) -> bool:
        """Whether `asn` appears anywhere in the path (loop detection, RFC 4271 §9.1.2)."""
        return any(asn in seg.asns for seg in self.segments)

    def encode_value(self, four_octet: bool) -> bytes:
        """Segments with 2- or 4-octet ASNs, as negotiated."""
        return _encode_segments(self.segments, four_octet)

    @classmethod
    def decode_value(cls, value: bytes, four_octet: bool) -> Self:
        """RFC 7606 §7.2: malformed -> treat-as-withdraw."""
        return cls(_decode_segments(value, four_octet, "AS_PATH", _TAW))


@dataclass(frozen=True, slots=True)
class As4Path:
    """AS4_PATH (type 17, RFC 6793): the real path beside a 2-octet AS_PATH carrying AS_TRANS."""

    segments: tuple[AsPathSegment, ...] = ()
    type_code: ClassVar[int] = AttrType.AS4_PATH
    flags: ClassVar[int] = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE

    def encode_value(self, four_octet: bool) -> bytes:
        """Always 4-octet ASNs."""
        return _encode_segments(self.segments, True)

    @classmethod
    def decode_value(cls, value: bytes, four_octet: bool) -> Self:
        """RFC 6793 §6: malformed AS4_PATH -> attribute discard."""
        segments = _decode_segments(value, True, "AS4_PATH", _DISCARD)
        if any(seg.type in _CONFED for seg in segments):
            raise _error("AS4_PATH: confederation segment", _DISCARD)
        return cls(segments)


_CONFED = (AsPathSegmentType.AS_CONFED_SEQUENCE, AsPathSegmentType.AS_CONFED_SET)


def to_two_octet(path: AsPath) -> tuple[AsPath, As4Path | None]:
    """RFC 6793 §4.2.2: the AS_PATH for a 2-octet speaker, and the AS4_PATH to send beside it (if needed)."""
    if all(asn <= _MAX_2_OCTET for seg in path.segments for asn in seg.asns):
        return path, None
    mapped = tuple(
        AsPathSegment(seg.type, tuple(asn if asn <= _MAX_2_OCTET else AS_TRANS for asn in seg.asns))
        for seg in path.segments
    )
    return AsPath(mapped), As4Path(tuple(seg for seg in path.segments if seg.type not in _CONFED))


def merge_as4(as_path: AsPath, as4_path: As4Path) -> AsPath:
    """RFC 6793 §4.2.3: the real path from a 2-octet AS_PATH and the AS4_PATH received with it.

    When AS_PATH is shorter than AS4_PATH the AS4_PATH is ignored; otherwise the leading ASNs of AS_PATH
    that AS4_PATH does not cover (and leading confederation segments) are kept in front of AS4_PATH.
    """
    surplus = as_path.length - sum(seg.path_length for seg in as4_path.segments)
    if surplus < 0:
        return as_path
    leading: list[AsPathSegment] = []
    for seg in as_path.segments:
        if seg.type in _CONFED:
            leading.append(seg)
        elif surplus <= 0:
            break
        elif seg.type == AsPathSegmentType.AS_SET:
            leading.append(seg)
            surplus -= 1
        else:
            leading.append(AsPathSegment(seg.type, seg.asns[:surplus]))
            surplus -= min(surplus, len(seg.asns))
    return AsPath((*leading, *as4_path.segments))
