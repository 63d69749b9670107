"""Scalar notations: address entries, Go durations, communities, ASN classes."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from bgplb.config.values import (
    check_asn,
    has_host_bits,
    is_documentation_asn,
    is_private_asn,
    parse_address_entry,
    parse_community_value,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "first", "last", "network"),
    [
        ("10.0.0.0/24", "10.0.0.0", "10.0.0.255", "10.0.0.0/24"),
        ("10.0.0.1/24", "10.0.0.0", "10.0.0.255", "10.0.0.0/24"),
        ("10.0.0.7", "10.0.0.7", "10.0.0.7", "10.0.0.7/32"),
        ("10.0.0.7/32", "10.0.0.7", "10.0.0.7", "10.0.0.7/32"),
        ("10.0.0.1-10.0.0.5", "10.0.0.1", "10.0.0.5", None),
        ("10.0.0.1 - 10.0.0.1", "10.0.0.1", "10.0.0.1", None),
        ("2001:db8::10-2001:db8::1f", "2001:db8::10", "2001:db8::1f", None),
        ("2001:db8::/126", "2001:db8::", "2001:db8::3", "2001:db8::/126"),
    ],
)
def test_address_entries(text: str, first: str, last: str, network: str | None) -> None:
    ip_range, parsed_network = parse_address_entry(text)
    assert (ip_range.first, ip_range.last) == (ip_address(first), ip_address(last))
    assert (str(parsed_network) if parsed_network else None) == network


@pytest.mark.parametrize(
    "text",
    ["10.0.0.0/33", "10.0.0.256", "10.0.0.5-10.0.0.1", "10.0.0.1-2001:db8::1", "", "a-b", "10.0.0.0/x"],
)
def test_bad_address_entries(text: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        parse_address_entry(text)


def test_host_bits() -> None:
    assert has_host_bits("10.0.0.1/24") and not has_host_bits("10.0.0.0/24") and not has_host_bits("10.0.0.1")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("90s", 90),
        ("1m30s", 90),
        ("1h", 3600),
        ("3s", 3),
        ("0", 0),
        ("0s", 0),
        (45, 45),
        ("1500ms", 1),
        ("3500ms", 3),
        ("2.5m", 150),
    ],
)
def test_durations(value: object, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["ninety", "90", "s", "1m30", "-5s", True, None, 1.5])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("65000:100", "65000:100"),
        ("065000:0100", "65000:100"),
        ("large:1:2:3", "large:1:2:3"),
        ("large:4294967295:0:1", "large:4294967295:0:1"),
    ],
)
def test_community_values(text: str, normalised: str) -> None:
    assert parse_community_value(text) == normalised


@pytest.mark.parametrize("text", ["65536:1", "1:2:3", "large:1:2", "large:4294967296:1:1", "a:b", "1:-1"])
def test_bad_community_values(text: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        parse_community_value(text)


def test_asn_classes() -> None:
    assert check_asn(1) == 1 and check_asn(4294967295) == 4294967295
    for bad in (0, -1, 4294967296):
        with pytest.raises(ValueError, match="ASN"):
            check_asn(bad)
    assert is_private_asn(64512) and is_private_asn(65534) and is_private_asn(4200000000)
    assert not is_private_asn(65535) and not is_private_asn(64511) and not is_private_asn(13335)
    assert is_documentation_asn(64496) and is_documentation_asn(65551) and not is_documentation_asn(64512)
