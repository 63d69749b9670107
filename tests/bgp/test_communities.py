"""Community text forms: parse and format are inverses; bad text names itself."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bgplb.bgp.communities import (
    WELL_KNOWN_COMMUNITIES,
    format_community,
    format_extended_community,
    format_large_community,
    parse_community,
    parse_extended_community,
    parse_large_community,
)
from tests.bgp.codec_strategies import u16, u32


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("64500:100", 0xFBF40064),
        ("no-export", 0xFFFFFF01),
        ("NO_ADVERTISE", 0xFFFFFF02),
        ("blackhole", 0xFFFF029A),
        ("65536", 65536),
    ],
)
def test_parse_community(text: str, value: int) -> None:
    assert parse_community(text) == value


def test_format_community_prefers_well_known_names() -> None:
    assert format_community(0xFFFFFF01) == "no-export"
    assert format_community(0xFBF40064) == "64500:100"
    assert all(parse_community(name) == value for name, value in WELL_KNOWN_COMMUNITIES.items())


@given(u32)
def test_community_text_round_trips(value: int) -> None:
    assert parse_community(format_community(value)) == value


@given(st.tuples(u32, u32, u32))
def test_large_community_text_round_trips(value: tuple[int, int, int]) -> None:
    assert parse_large_community(format_large_community(value)) == value


@pytest.mark.parametrize(
    ("text", "hexed"),
    [
        ("rt:64500:100", "0002fbf400000064"),
        ("soo:64500:100", "0003fbf400000064"),
        ("rt:4200000001:7", "0202fa56ea010007"),
        ("rt:192.0.2.1:200", "0102c000020100c8"),
    ],
)
def test_extended_community_text(text: str, hexed: str) -> None:
    assert parse_extended_community(text).hex() == hexed
    assert format_extended_community(bytes.fromhex(hexed)) == text


@given(st.sampled_from(["rt", "soo"]), u16, u32)
def test_extended_community_text_round_trips(kind: str, asn: int, local: int) -> None:
    text = f"{kind}:{asn}:{local}"
    assert format_extended_community(parse_extended_community(text)) == text


def test_unknown_extended_community_formats_as_hex() -> None:
    assert format_extended_community(bytes.fromhex("030c000000000008")) == "030c000000000008"


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_community, "65536:1", "community '65536:1'"),
        (parse_community, "1:2:3", "expected ASN:value"),
        (parse_community, "no-such-name", "community 'no-such-name'"),
        (parse_large_community, "1:2", "expected global:local1:local2"),
        (parse_large_community, "1:2:x", "large community '1:2:x'"),
        (parse_extended_community, "target:1:2", "expected rt:ADMIN:VALUE"),
        (parse_extended_community, "rt:300.0.0.1:2", "extended community"),
        (parse_extended_community, "rt:4200000001:70000", "value"),
    ],
)
def test_bad_text_is_named_in_the_error(parse: object, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(text)  # type: ignore[operator]
