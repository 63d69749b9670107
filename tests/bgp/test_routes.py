"""Route values: validation naming the field, the cached NLRI encoding, attribute keys."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST
from bgplb.bgp.nlri import decode_prefixes, encode_prefix
from bgplb.bgp.routes import Route, family_of

P4 = ip_network("198.51.100.0/24")
P6 = ip_network("2001:db8::/48")


def test_defaults_and_family() -> None:
    route = Route(P4)
    assert route.next_hop is None and route.local_pref is None and route.communities == ()
    assert route.family == IPV4_UNICAST and Route(P6).family == IPV6_UNICAST
    assert family_of(P6) == IPV6_UNICAST


def test_nlri_is_the_wire_encoding() -> None:
    assert Route(P4).nlri == bytes((24, 198, 51, 100))
    assert Route(P6).nlri == encode_prefix(P6)


@given(st.integers(0, 2**32 - 1), st.integers(0, 32))
def test_nlri_round_trips(value: int, length: int) -> None:
    prefix = ip_network((value, length), strict=False)
    assert decode_prefixes(Route(prefix).nlri, 1) == (prefix,)


def test_attribute_key_ignores_the_prefix_only() -> None:
    a = Route(P4, med=5, communities=(1, 2))
    b = Route(ip_network("203.0.113.0/24"), med=5, communities=(1, 2))
    assert a.attribute_key == b.attribute_key
    assert a.attribute_key != replace(a, med=6).attribute_key
    assert replace(a, med=6).nlri == a.nlri


def test_equality_and_hash_ignore_the_cached_fields() -> None:
    assert Route(P4, med=1) == Route(P4, med=1)
    assert hash(Route(P4, med=1)) == hash(Route(P4, med=1))
    assert Route(P4) != Route(P4, med=1)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"med": -1}, "med"),
        ({"local_pref": 2**32}, "local_pref"),
        ({"communities": (2**32,)}, "community"),
        ({"large_communities": ((1, 2),)}, "large community"),
        ({"extended_communities": (b"\x00" * 7,)}, "extended community"),
        ({"as_path_prepend": (0,)}, "as_path_prepend"),
        ({"next_hop": IPv6Address("2001:db8::1")}, "next hop"),
    ],
)
def test_bad_values_are_named(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field) as info:
        Route(P4, **kwargs)  # type: ignore[arg-type]
    assert "198.51.100.0/24" in str(info.value)


def test_a_next_hop_of_the_same_family_is_fine() -> None:
    assert Route(P4, next_hop=IPv4Address("192.0.2.1")).next_hop == IPv4Address("192.0.2.1")


def test_equal_attribute_keys_are_one_object() -> None:
    assert Route(P4).attribute_key is Route(P6).attribute_key
    assert Route(P4, med=3).attribute_key is Route(P6, med=3).attribute_key
    assert Route(P4, med=3).attribute_key is not Route(P4).attribute_key
