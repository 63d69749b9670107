"""Free-address bookkeeping for one allocation run, flat in cost as a pool fills.

A pool's addresses are segments of integers (one per configured range, per family). Each segment keeps a
cursor below which every address is known to be taken or unusable, plus the pool keeps a set of used integers.
Finding the lowest free address therefore starts at the cursor instead of the start of the pool, so handing
out N addresses costs O(N + skipped) in total rather than O(N^2).

Unusable addresses are decided arithmetically: MetalLB's avoidBuggyIPs (IPv4 x.x.x.0 and x.x.x.255) and
Cilium's allowFirstLastIPs=No (the network and broadcast address of a range that is one CIDR of at least 4
addresses). `AddressMap` finds the pool holding an address by bisection over the sorted segments;
`RangeIndex` does the same for any value attached to address ranges (the speaker's pool lookup).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Generic, TypeVar

from bgplb.planning.snapshot import IPAddress

_MIN_CIDR_WITH_RESERVED = 4
T = TypeVar("T")


def _count_low_byte(first: int, last: int, value: int) -> int:
    """How many integers in [first, last] have `value` as their lowest byte."""
    return (last - value) // 256 - (first - 1 - value) // 256


def _is_cidr(first: int, last: int) -> bool:
    size = last - first + 1
    return size & (size - 1) == 0 and first % size == 0


@dataclass(slots=True)
class Segment:
    """One contiguous range of a pool, as integers, with its exclusion rules and cursor."""

    version: int
    first: int
    last: int
    avoid_buggy: bool
    reserve_first_last: bool
    cursor: int = 0

    def __post_init__(self) -> None:
        self.cursor = self.first

    def usable(self, value: int) -> bool:
        """Whether `value` (inside the segment) may be handed out at all."""
        if self.avoid_buggy and self.version == 4 and (value & 0xFF) in (0, 0xFF):
            return False
        return not (self.reserve_first_last and value in (self.first, self.last))

    def usable_count(self) -> int:
        """Number of addresses in the segment that may be handed out."""
        count = self.last - self.first + 1
        if self.reserve_first_last:
            count -= 2
        if self.avoid_buggy and self.version == 4:
            count -= _count_low_byte(self.first, self.last, 0) + _count_low_byte(self.first, self.last, 0xFF)
            if self.reserve_first_last:  # do not subtract an address twice
                count += sum(1 for v in (self.first, self.last) if (v & 0xFF) in (0, 0xFF))
        return count


def _to_ip(version: int, value: int) -> IPAddress:
    return IPv4Address(value) if version == 4 else IPv6Address(value)


@dataclass(slots=True)
class PoolSpace:
    """The addresses of one pool and which of them are taken in this run."""

    name: str
    segments: dict[int, list[Segment]] = field(default_factory=dict)
    used: dict[int, set[int]] = field(default_factory=dict)
    excludes: bool = False
    """Whether any segment has unusable addresses (if not, every address of the pool is usable)."""

    @classmethod
    def build(
        cls,
        name: str,
        ranges: Iterable[tuple[IPAddress, IPAddress]],
        *,
        avoid_buggy: bool = False,
        allow_first_last: bool = True,
    ) -> PoolSpace:
        """A pool from (first, last) address pairs."""
        space = cls(name)
        for first, last in sorted(ranges, key=lambda r: (r[0].version, int(r[0]))):
            lo, hi = int(first), int(last)
            reserve = not allow_first_last and _is_cidr(lo, hi) and hi - lo + 1 >= _MIN_CIDR_WITH_RESERVED
            space.segments.setdefault(first.version, []).append(
                Segment(first.version, lo, hi, avoid_buggy, reserve)
            )
            space.excludes = space.excludes or reserve or (avoid_buggy and first.version == 4)
            space.used.setdefault(first.version, set())
        return space

    def versions(self) -> tuple[int, ...]:
        """IP versions this pool has addresses for."""
        return tuple(sorted(self.segments))

    def segment_of(self, ip: IPAddress) -> Segment | None:
        """The segment holding `ip`, if any."""
        value = int(ip)
        for seg in self.segments.get(ip.version, ()):
            if seg.first <= value <= seg.last:
                return seg
        return None

    def usable(self, ip: IPAddress) -> bool:
        """Whether `ip` belongs to this pool and may be handed out."""
        seg = self.segment_of(ip)
        return seg is not None and seg.usable(int(ip))

    def take(self, ip: IPAddress) -> None:
        """Mark `ip` as taken."""
        self.used[ip.version].add(int(ip))

    def lowest_free(self, version: int) -> IPAddress | None:
        """The lowest usable address of `version` not taken yet, or None when the family is exhausted."""
        used = self.used.get(version, set())
        for seg in self.segments.get(version, ()):
            value = seg.cursor
            while value <= seg.last and (value in used or not seg.usable(value)):
                value += 1
            seg.cursor = value
            if value <= seg.last:
                return _to_ip(version, value)
        return None

    def capacity(self, version: int) -> int:
        """How many usable addresses of `version` the pool has."""
        return sum(seg.usable_count() for seg in self.segments.get(version, ()))

    def assigned(self, version: int) -> int:
        """How many addresses of `version` are taken."""
        return len(self.used.get(version, ()))


class AddressMap:
    """Which pool holds an address: bisection over every pool's segments (pools never overlap)."""

    def __init__(self, spaces: Iterable[PoolSpace]) -> None:
        rows: dict[int, list[tuple[int, int, PoolSpace]]] = {}
        for space in spaces:
            for version, segs in space.segments.items():
                rows.setdefault(version, []).extend((s.first, s.last, space) for s in segs)
        self._rows = {v: sorted(r, key=lambda row: row[0]) for v, r in rows.items()}
        self._starts = {v: [row[0] for row in r] for v, r in self._rows.items()}

    def pool_of(self, ip: IPAddress) -> PoolSpace | None:
        """The pool whose ranges contain `ip`, or None."""
        version = ip.version
        rows = self._rows.get(version)
        if not rows:
            return None
        value = int(ip)
        index = bisect_right(self._starts[version], value) - 1
        if index < 0:
            return None
        first, last, space = rows[index]
        return space if first <= value <= last else None


class RangeIndex(Generic[T]):
    """The value whose address range holds an address: bisection over integer bounds, one list per family.

    Rows are given in priority order; when two ranges overlap (an invalid configuration) every lookup scans
    the rows in that order instead, so the first matching row wins either way.
    """

    def __init__(self, rows: Iterable[tuple[IPAddress, IPAddress, T]]) -> None:
        self._rows: list[tuple[int, int, int, T]] = [
            (first.version, int(first), int(last), value) for first, last, value in rows
        ]
        by_version: dict[int, list[tuple[int, int, T]]] = {}
        for version, lo, hi, value in self._rows:
            by_version.setdefault(version, []).append((lo, hi, value))
        self._tables: dict[int, tuple[list[int], list[int], list[T]]] = {}  # starts, ends, values
        self._overlapping = False
        for version, entries in by_version.items():
            entries.sort(key=lambda entry: entry[0])
            starts, ends = [lo for lo, _, _ in entries], [hi for _, hi, _ in entries]
            self._tables[version] = (starts, ends, [value for _, _, value in entries])
            if any(lo <= ends[i] for i, lo in enumerate(starts[1:])):
                self._overlapping = True

    def find(self, ip: IPAddress) -> T | None:
        """The value of the (first) range containing `ip`, or None."""
        return self.find_int(ip.version, int(ip))

    def find_int(self, version: int, value: int) -> T | None:
        """`find` for the address `value` of IP `version`, given as integers."""
        if self._overlapping:
            return next((v for ver, lo, hi, v in self._rows if ver == version and lo <= value <= hi), None)
        table = self._tables.get(version)
        if table is None:
            return None
        starts, ends, values = table
        index = bisect_right(starts, value) - 1
        return values[index] if index >= 0 and value <= ends[index] else None
