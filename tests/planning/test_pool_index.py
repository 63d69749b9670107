"""The free-address structure: lowest free, exclusions, capacity, lookup by address."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

from hypothesis import given
from hypothesis import strategies as st

from bgplb.planning.pool_index import AddressMap, PoolSpace, RangeIndex


def space(*ranges: tuple[str, str], **kw: bool) -> PoolSpace:
    return PoolSpace.build("p", [(ip_address(a), ip_address(b)) for a, b in ranges], **kw)


def test_lowest_free_walks_ranges_in_order_and_skips_taken() -> None:
    s = space(("10.0.0.8", "10.0.0.9"), ("10.0.0.1", "10.0.0.2"))
    s.take(IPv4Address("10.0.0.1"))
    got = []
    while (ip := s.lowest_free(4)) is not None:
        got.append(str(ip))
        s.take(ip)
    assert got == ["10.0.0.2", "10.0.0.8", "10.0.0.9"]


def test_exclusions() -> None:
    buggy = space(("10.0.0.255", "10.0.1.0"), avoid_buggy=True)
    assert buggy.lowest_free(4) is None and buggy.capacity(4) == 0
    cidr = space(("10.0.0.0", "10.0.0.255"), allow_first_last=False)
    assert cidr.lowest_free(4) == IPv4Address("10.0.0.1") and cidr.capacity(4) == 254
    not_cidr = space(("10.0.0.0", "10.0.0.2"), allow_first_last=False)
    assert not_cidr.lowest_free(4) == IPv4Address("10.0.0.0") and not_cidr.capacity(4) == 3
    v6 = space(("fd00::", "fd00::ff"), avoid_buggy=True)  # avoidBuggyIPs is an IPv4 rule
    assert v6.lowest_free(6) == IPv6Address("fd00::") and v6.capacity(6) == 256


@given(st.integers(0, 2**20), st.integers(0, 1200), st.booleans(), st.booleans())
def test_capacity_matches_counting(start: int, length: int, buggy: bool, allow: bool) -> None:
    first, last = IPv4Address(start), IPv4Address(start + length)
    s = PoolSpace.build("p", [(first, last)], avoid_buggy=buggy, allow_first_last=allow)
    counted = sum(1 for v in range(start, start + length + 1) if s.usable(IPv4Address(v)))
    assert s.capacity(4) == counted


def test_address_map_finds_the_pool() -> None:
    a = PoolSpace.build("a", [(ip_address("10.0.0.0"), ip_address("10.0.0.9"))])
    b = PoolSpace.build(
        "b",
        [(ip_address("10.0.0.20"), ip_address("10.0.0.29")), (ip_address("fd00::"), ip_address("fd00::1"))],
    )
    where = AddressMap([a, b])
    assert where.pool_of(ip_address("10.0.0.9")) is a
    assert where.pool_of(ip_address("10.0.0.15")) is None
    assert where.pool_of(ip_address("10.0.0.20")) is b
    assert where.pool_of(ip_address("fd00::1")) is b
    assert where.pool_of(ip_address("fd00::2")) is None
    assert where.pool_of(ip_address("9.255.255.255")) is None


def test_the_search_starts_at_a_cursor_not_at_the_start_of_the_pool() -> None:
    s = space(("10.0.0.0", "10.0.255.255"))
    for _ in range(5000):
        ip = s.lowest_free(4)
        assert ip is not None
        s.take(ip)
    (segment,) = s.segments[4]
    assert segment.cursor == int(IPv4Address("10.0.0.0")) + 4999  # everything below is known taken
    assert s.lowest_free(4) == IPv4Address("10.0.19.136")


_ROWS = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, 12), st.booleans()).map(
        lambda t: (t[0], t[0] + t[1], 6 if t[2] else 4)
    ),
    max_size=6,
)


def _ip(version: int, value: int) -> IPv4Address | IPv6Address:
    return IPv4Address(value) if version == 4 else IPv6Address(value)


@given(_ROWS, st.lists(st.tuples(st.integers(0, 80), st.booleans()), max_size=20))
def test_range_index_finds_the_first_range_containing_the_address(
    rows: list[tuple[int, int, int]], probes: list[tuple[int, bool]]
) -> None:
    """Disjoint or overlapping (then the first row wins), the answer is that of a plain scan."""
    index = RangeIndex((_ip(v, lo), _ip(v, hi), n) for n, (lo, hi, v) in enumerate(rows))
    for value, six in probes:
        ip = _ip(6 if six else 4, value)
        scan = next((n for n, (lo, hi, v) in enumerate(rows) if v == ip.version and lo <= value <= hi), None)
        assert index.find(ip) == scan


def test_range_index_by_bisection() -> None:
    index = RangeIndex(
        [
            (ip_address("10.0.0.20"), ip_address("10.0.0.29"), "b"),
            (ip_address("10.0.0.0"), ip_address("10.0.0.9"), "a"),
            (ip_address("fd00::"), ip_address("fd00::1"), "c"),
        ]
    )
    assert [
        index.find(ip_address(a)) for a in ("10.0.0.0", "10.0.0.9", "10.0.0.10", "10.0.0.29", "9.0.0.1")
    ] == [
        "a",
        "a",
        None,
        "b",
        None,
    ]
    assert index.find(ip_address("fd00::1")) == "c" and index.find(ip_address("::a00:1")) is None
    assert RangeIndex([]).find(ip_address("10.0.0.1")) is None
