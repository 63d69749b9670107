"""NLRI prefixes: encoding, decoding (fast /32 path and general path), malformed fields."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bgplb.bgp.constants import Afi
from bgplb.bgp.errors import ErrorAction, ProtocolError
from bgplb.bgp.nlri import clear_cache, decode_prefixes, encode_prefix, encode_prefixes
from tests.bgp.codec_strategies import ipv4_networks, ipv6_networks

CASES = [
    ("0.0.0.0/0", "00"),
    ("10.0.0.0/8", "080a"),
    ("10.128.0.0/9", "090a80"),
    ("192.0.2.0/24", "18c00002"),
    ("192.0.2.1/32", "20c0000201"),
    ("2001:db8::/32", "2020010db8"),
    ("2001:db8::1/128", "8020010db8000000000000000000000001"),
    ("::/0", "00"),
]


@pytest.mark.parametrize(("prefix", "hexed"), CASES)
def test_prefix_encodes_to_the_rfc_4271_layout(prefix: str, hexed: str) -> None:
    network = ip_network(prefix)
    assert encode_prefix(network).hex() == hexed
    afi = Afi.IPV4 if network.version == 4 else Afi.IPV6
    assert decode_prefixes(bytes.fromhex(hexed), afi) == (network,)


@given(st.lists(ipv4_networks(), max_size=50))
def test_ipv4_prefixes_round_trip(prefixes: list[IPv4Network]) -> None:
    assert decode_prefixes(encode_prefixes(prefixes), Afi.IPV4) == tuple(prefixes)


@given(st.lists(ipv6_networks(), max_size=50))
def test_ipv6_prefixes_round_trip(prefixes: list[IPv6Network]) -> None:
    assert decode_prefixes(encode_prefixes(prefixes), Afi.IPV6) == tuple(prefixes)


@given(st.lists(st.integers(0, 0xFFFFFFFF), max_size=50))
def test_runs_of_host_routes_take_the_fast_path_with_the_same_result(values: list[int]) -> None:
    prefixes = [IPv4Network(v) for v in values]
    data = encode_prefixes(prefixes)
    assert decode_prefixes(data, Afi.IPV4) == tuple(prefixes)
    assert decode_prefixes(data + b"\x08\x0a", Afi.IPV4) == (*prefixes, IPv4Network("10.0.0.0/8"))


def test_trailing_bits_beyond_the_length_are_ignored() -> None:
    assert decode_prefixes(b"\x09\x0a\xff", Afi.IPV4) == (IPv4Network("10.128.0.0/9"),)


@pytest.mark.parametrize(
    ("data", "afi", "reason"),
    [
        (b"\x21\x0a\x00\x00\x01\x00", Afi.IPV4, "exceeds 32"),
        (b"\x81" + b"\x00" * 17, Afi.IPV6, "exceeds 128"),
        (b"\x18\x0a\x00", Afi.IPV4, "truncated"),
        (b"\x20", Afi.IPV4, "truncated"),
        (b"\x00", 3, "unsupported AFI"),
    ],
)
def test_malformed_nlri_is_an_invalid_network_field(data: bytes, afi: int, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason) as info:
        decode_prefixes(data, afi)
    assert (info.value.code, info.value.subcode, info.value.action) == (3, 10, ErrorAction.SESSION_RESET)


def test_decoded_prefixes_are_memoised_until_the_cache_is_cleared() -> None:
    data = b"\x20\x0a\x00\x00\x01\x18\x0a\x00\x01"
    first = decode_prefixes(data, Afi.IPV4)
    again = decode_prefixes(data, Afi.IPV4)
    assert all(a is b for a, b in zip(first, again, strict=True))
    clear_cache()
    fresh = decode_prefixes(data, Afi.IPV4)
    assert fresh == first
    assert all(a is not b for a, b in zip(first, fresh, strict=True))
