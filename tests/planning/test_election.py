"""The layer-2 owner ranking: deterministic, order-independent, stable when nodes come and go."""

from __future__ import annotations

import hashlib
import random
from ipaddress import IPv4Address, ip_address

from hypothesis import given
from hypothesis import strategies as st

from bgplb.planning.election import owner, rank

names = st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), min_size=1, max_size=8, unique=True)
addresses = st.integers(0, 2**32 - 1).map(IPv4Address)


def test_rank_is_sorted_by_the_hash_of_node_and_address() -> None:
    ip = ip_address("198.51.100.7")
    nodes = ["n1", "n2", "n3", "n4"]
    digest = {n: hashlib.sha256(f"{n}#198.51.100.7".encode()).digest() for n in nodes}
    assert rank(nodes, ip) == tuple(sorted(nodes, key=digest.__getitem__))


def test_no_eligible_node_means_no_owner() -> None:
    assert owner([], ip_address("2001:db8::1")) is None


def test_owners_spread_over_nodes() -> None:
    nodes = ["n1", "n2", "n3"]
    owners = {owner(nodes, IPv4Address(f"198.51.100.{h}")) for h in range(1, 60)}
    assert owners == set(nodes)


@given(names, addresses, st.randoms(use_true_random=False))
def test_rank_ignores_input_order_and_duplicates(
    nodes: list[str], ip: IPv4Address, rnd: random.Random
) -> None:
    shuffled = nodes + nodes[:1]
    rnd.shuffle(shuffled)
    assert rank(shuffled, ip) == rank(nodes, ip)
    assert sorted(rank(nodes, ip)) == sorted(nodes)


@given(names, addresses, st.data())
def test_removing_a_node_moves_only_its_own_address(
    nodes: list[str], ip: IPv4Address, data: st.DataObject
) -> None:
    gone = data.draw(st.sampled_from(nodes))
    before = owner(nodes, ip)
    after = owner([n for n in nodes if n != gone], ip)
    if before != gone:
        assert after == before
    else:
        assert after == (rank(nodes, ip)[1] if len(nodes) > 1 else None)
