"""Packing encoded prefixes into UPDATE loads: order kept, nothing lost, every load within its room."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bgplb.bgp.packing import cut, loads, pack

NLRI = st.integers(0, 128).map(lambda bits: bytes((bits,)) + b"\x01" * ((bits + 7) // 8))


@given(st.lists(NLRI, max_size=200), st.integers(17, 300))
def test_loads_keep_order_fit_their_room_and_leave_a_partial_tail_in_carry(
    nlris: list[bytes], room: int
) -> None:
    carry: list[bytes] = []
    out = list(loads(iter(nlris), room, carry))
    assert [n for load, _ in out for n in load] + carry == nlris
    for load, joined in out:
        assert joined == b"".join(load) and 0 < len(joined) <= room
    assert sum(map(len, carry)) <= room


@given(st.lists(NLRI, min_size=1, max_size=200), st.integers(17, 300))
def test_pack_and_cut_split_in_order_within_the_room(nlris: list[bytes], room: int) -> None:
    chunks = list(pack(nlris, room))
    assert b"".join(chunks) == b"".join(nlris)
    assert all(0 < len(chunk) <= room for chunk in chunks)
    assert 1 <= cut(nlris, room) <= len(nlris)


def test_full_loads_of_host_routes_are_exact() -> None:
    nlris = [b"\x20" + i.to_bytes(4, "big") for i in range(2000)]
    carry: list[bytes] = []
    sizes = [len(load) for load, _ in loads(iter(nlris), 4050, carry)]
    assert sizes == [810, 810] and len(carry) == 380
