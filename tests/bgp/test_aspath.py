"""AS_PATH/AS4_PATH: layouts, path length, and the RFC 6793 mapping for 2-octet speakers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bgplb.bgp.aspath import As4Path, AsPath, AsPathSegment, merge_as4, to_two_octet
from bgplb.bgp.constants import AS_TRANS
from bgplb.bgp.constants import AsPathSegmentType as T
from tests.bgp.codec_strategies import asn16, asn32, segments


def test_layout_two_and_four_octet() -> None:
    path = AsPath((AsPathSegment(T.AS_SEQUENCE, (65001, 65002)), AsPathSegment(T.AS_SET, (7,))))
    assert path.encode_value(False).hex() == "0202fde9fdea" + "01010007"
    assert path.encode_value(True).hex() == "02020000fde90000fdea" + "010100000007"
    assert AsPath.decode_value(path.encode_value(False), False) == path


def test_length_first_asn_and_loop_check() -> None:
    path = AsPath(
        (
            AsPathSegment(T.AS_CONFED_SEQUENCE, (65010,)),
            AsPathSegment(T.AS_SEQUENCE, (64501, 64502)),
            AsPathSegment(T.AS_SET, (1, 2, 3)),
        )
    )
    assert path.length == 3  # RFC 4271 §9.1.2.2: a set counts one, confederation segments zero
    assert path.first_asn is None
    assert path.contains(2) and not path.contains(64503)
    assert AsPath.sequence(64501, 64502).first_asn == 64501
    assert AsPath.sequence().segments == ()


def test_sequence_splits_beyond_255_asns() -> None:
    path = AsPath.sequence(*range(1, 301))
    assert [len(s.asns) for s in path.segments] == [255, 45]
    assert AsPath.decode_value(path.encode_value(True), True) == path


def test_a_four_octet_asn_does_not_fit_two_octets() -> None:
    with pytest.raises(ValueError, match="do not fit 2 octets"):
        AsPath.sequence(4200000001).encode_value(False)


def test_empty_segment_is_refused() -> None:
    with pytest.raises(ValueError, match=r"AsPathSegment\.asns"):
        AsPathSegment(T.AS_SEQUENCE, ())


def test_to_two_octet_maps_non_mappable_asns_to_as_trans() -> None:
    path = AsPath(
        (AsPathSegment(T.AS_CONFED_SEQUENCE, (65010,)), AsPathSegment(T.AS_SEQUENCE, (4200000001, 65001)))
    )
    two, as4 = to_two_octet(path)
    assert two.segments[1].asns == (AS_TRANS, 65001)
    assert as4 == As4Path((AsPathSegment(T.AS_SEQUENCE, (4200000001, 65001)),))  # no confederation segments
    assert to_two_octet(AsPath.sequence(65001)) == (AsPath.sequence(65001), None)


@given(segments(asn32, asn16))
def test_merge_undoes_the_mapping(segs: tuple[AsPathSegment, ...]) -> None:
    path = AsPath(segs)
    two, as4 = to_two_octet(path)
    assert (merge_as4(two, as4) if as4 is not None else two) == path


def test_merge_keeps_asns_prepended_by_2_octet_speakers() -> None:
    # RFC 6793 §4.2.3: AS_PATH has two more ASNs (added by OLD speakers) than AS4_PATH
    as_path = AsPath.sequence(65003, 65002, AS_TRANS, 65001)
    as4 = As4Path((AsPathSegment(T.AS_SEQUENCE, (4200000001, 65001)),))
    assert merge_as4(as_path, as4) == AsPath(
        (AsPathSegment(T.AS_SEQUENCE, (65003, 65002)), AsPathSegment(T.AS_SEQUENCE, (4200000001, 65001)))
    )


def test_merge_ignores_an_as4_path_longer_than_the_as_path() -> None:
    as_path = AsPath.sequence(AS_TRANS)
    as4 = As4Path((AsPathSegment(T.AS_SEQUENCE, (4200000001, 65001)),))
    assert merge_as4(as_path, as4) == as_path


@given(st.lists(asn16, min_size=1, max_size=5), st.lists(asn32, min_size=1, max_size=5))
def test_merged_length_equals_the_as_path_length(prefix: list[int], tail: list[int]) -> None:
    as_path = AsPath.sequence(*prefix, *[AS_TRANS] * len(tail))
    merged = merge_as4(as_path, As4Path((AsPathSegment(T.AS_SEQUENCE, tuple(tail)),)))
    assert merged.length == as_path.length
    assert [asn for s in merged.segments for asn in s.asns] == prefix + tail
