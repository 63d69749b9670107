"""Adj-RIB-Out: the routes we want the peer to have, against what it has, as few packed UPDATEs as possible.

The caller states the whole desired set (`set_routes`), or changes it in place (`update_routes`). `start`
(on Established) returns the whole table as a lazy stream of UPDATEs, ending with an End-of-RIB per family,
so the first UPDATE can leave before the last is built; `flush` afterwards returns only the difference.
Routes with equal attribute keys share one encoded attribute set and are packed as many per UPDATE as
`max_message_size` allows (a run's last, partial UPDATE waits for later routes of the same key, so
interleaved keys pack as tightly as sorted ones). IPv4 unicast goes in the classic NLRI field, IPv6
unicast in MP_REACH_NLRI; withdrawals are packed the same way (Withdrawn Routes / MP_UNREACH_NLRI).

Speed and size are the point of this module. Tables map a prefix's NLRI encoding (`Route.nlri`; bytes
hash in C) to its interned attribute key, so 100,000 routes cost two small dicts, not 100,000 Route and
IPv4Network objects (one Route per attribute key is kept to encode the attributes from). Changes are
tracked as dirty prefixes, so `flush` after a small change looks at those only. `set_routes` with a tuple
or list remembers it: when the next one shares its head and tail with it by identity (the caller reused
its Route objects), only the middle is diffed, with C-level slice comparisons; anything else takes the
general path, which rebuilds the tables in one pass. 100,000 /32s with one attribute set become 124
UPDATEs of <= 4096 octets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from ipaddress import IPv4Network
from itertools import chain, compress, count, filterfalse, groupby
from operator import is_not, itemgetter

from bgplb.bgp.codec import encode
from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST, Family
from bgplb.bgp.export import EncodedAttributes, ExportPolicy, export_attributes
from bgplb.bgp.messages import end_of_rib
from bgplb.bgp.nlri import Prefix, encode_prefix
from bgplb.bgp.packing import MIN_BUDGET, budget, loads, update_message, withdrawals
from bgplb.bgp.routes import AttributeKey, Route, family_of

__all__ = ["FAMILIES", "AdjRibOut", "ExportPolicy"]

FAMILIES = (IPV4_UNICAST, IPV6_UNICAST)
Table = dict[bytes, AttributeKey]
"""A prefix's NLRI encoding -> the attribute key of its route."""
Templates = dict[int, Route]
"""id(attribute key) -> one route with that key (the route keeps the key, so the id stays unique)."""

_FIRST_STEP, _MAX_STEP = 64, 8192  # slice sizes when looking for the common head and tail
_nlri = itemgetter(0)
_key = itemgetter(1)


class AdjRibOut:
    """Desired routes vs the routes the peer has from us, per family, keyed by the prefix's NLRI encoding."""

    def __init__(self) -> None:
        self._desired: dict[Family, Table] = {family: {} for family in FAMILIES}
        self._advertised: dict[Family, Table] = {family: {} for family in FAMILIES}
        self._streamed: dict[Family, int] = dict.fromkeys(FAMILIES, 0)  # sent by the initial table so far
        self._templates: Templates = {}
        self._prune_at = 64  # rebuild `_templates` (and `_attributes`) when they outgrow this
        self._dirty: dict[Family, dict[bytes, None]] = {family: {} for family in FAMILIES}
        self._all_dirty = False  # compare every desired prefix at the next flush
        self._last: tuple[Route, ...] | None = None  # the last set_routes sequence, if duplicate-free
        self._shared = False  # an initial-table stream may be iterating `_desired`: copy before writing
        self._attributes: dict[tuple[Family, AttributeKey], EncodedAttributes | None] = {}
        self._policy: ExportPolicy | None = None
        self._unresolved: dict[Family, set[bytes]] = {family: set() for family in FAMILIES}
        self._generation = 0
        self._initial_pending = False

    def set_routes(self, routes: Iterable[Route]) -> None:
        """State the full desired set (the last route wins for a prefix given twice).

        A tuple or list is remembered for the identity fast path (its Route objects stay alive); any
        other iterable is consumed and only its compact form kept.
        """
        sequence = tuple(routes) if isinstance(routes, tuple | list) else None
        if sequence is not None and self._last is not None and self._edit(self._last, sequence):
            self._last = sequence
            return
        self._replace(routes if sequence is None else sequence)
        unique = sequence is not None and sum(map(len, self._desired.values())) == len(sequence)
        self._last = sequence if unique else None

    def update_routes(self, add: Iterable[Route] = (), withdraw: Iterable[Prefix] = ()) -> None:
        """Change the desired set in place: drop the `withdraw` prefixes, then add (or replace) `add`."""
        tables = self._writable()
        for prefix in withdraw:
            family, nlri = family_of(prefix), encode_prefix(prefix)
            if tables[family].pop(nlri, None) is not None:
                self._dirty[family][nlri] = None
        for route in add:
            self._put(tables, route)
        self._last = None
        self._prune()

    def copy_routes(self, other: AdjRibOut) -> None:
        """Want what `other` wants (a second connection to the same peer starts from the same set)."""
        self._desired = {family: dict(table) for family, table in other._desired.items()}
        self._templates = dict(other._templates)
        self._last = other._last
        self._all_dirty, self._shared = True, False

    @property
    def unresolved(self) -> int:
        """Routes not sent on this session: no next hop of their family (IPv4 over IPv6 TCP without
        `next_hop_ipv4`), or attributes too large for one UPDATE."""
        return sum(map(len, self._unresolved.values()))

    def advertised_count(self, family: Family) -> int:
        """How many prefixes of `family` the peer has from us."""
        return len(self._advertised.get(family, ())) + self._streamed.get(family, 0)

    def start(self, policy: ExportPolicy) -> Iterator[bytes]:
        """The session is Established: the whole table, lazily, then End-of-RIB per negotiated family.

        Until the stream is exhausted `flush` and `refresh` return nothing; changes made meanwhile go out
        at its end, before the End-of-RIBs. A stream outlived by `stop` or another `start` ends at once.
        """
        self._policy = policy
        self._attributes = {}
        self._advertised = {family: {} for family in FAMILIES}
        self._streamed = dict.fromkeys(FAMILIES, 0)
        self._unresolved = {family: set() for family in FAMILIES}
        self._dirty = {family: {} for family in FAMILIES}
        self._all_dirty = False
        self._generation += 1
        self._initial_pending = True
        self._shared = True
        return self._initial_table(policy, self._generation, dict(self._desired), self._templates)

    def _initial_table(
        self, policy: ExportPolicy, generation: int, tables: dict[Family, Table], templates: Templates
    ) -> Iterator[bytes]:
        families = [family for family in FAMILIES if family in policy.negotiated.families]
        for family in families:
            table = tables[family]
            for message in self._announce(policy, family, table.items(), templates, None):
                if generation != self._generation:
                    return
                yield message
            if generation != self._generation:
                return
            # All of `table` went out but the unresolved routes: record that in one C-level copy.
            advertised = table.copy()
            for nlri in self._unresolved[family]:
                advertised.pop(nlri, None)
            self._advertised[family], self._streamed[family] = advertised, 0
        self._initial_pending = self._shared = False
        yield from self.flush()
        for family in families:
            yield encode(end_of_rib(family), policy.negotiated)

    def stop(self) -> None:
        """The session went down: the peer has nothing from us any more."""
        self._policy = None
        self._attributes = {}
        self._advertised = {family: {} for family in FAMILIES}
        self._streamed = dict.fromkeys(FAMILIES, 0)
        self._generation += 1
        self._initial_pending = False

    @property
    def streaming(self) -> bool:
        """The initial table of `start` is still being built (it will carry every route anyway)."""
        return self._initial_pending

    def refresh(self, family: Family) -> list[bytes]:
        """ROUTE-REFRESH (RFC 2918): send the whole table of `family` again."""
        if self._policy is None or self._initial_pending or family not in self._advertised:
            return []
        self._advertised[family] = {}
        return self._flush_family(self._policy, family, None)

    def flush(self) -> list[bytes]:
        """The UPDATEs that bring the peer from what it has to the desired set (nothing before `start`)."""
        policy = self._policy
        if policy is None or self._initial_pending:
            return []
        everything, self._all_dirty = self._all_dirty, False
        messages: list[bytes] = []
        for family in FAMILIES:
            dirty, self._dirty[family] = self._dirty[family], {}
            if family in policy.negotiated.families and (everything or dirty):
                messages += self._flush_family(policy, family, None if everything else dirty)
        return messages

    # -- changing the desired set -----------------------------------------------------------------
    def _replace(self, routes: Iterable[Route]) -> None:
        """The general path: rebuild the tables from `routes`, in one pass."""
        v4: Table = {}
        v6: Table = {}
        templates: Templates = {}
        key: AttributeKey | None = None
        for route in routes:
            if route.attribute_key is not key:
                key = route.attribute_key
                templates.setdefault(id(key), route)
            (v4 if isinstance(route.prefix, IPv4Network) else v6)[route.nlri] = key
        self._desired = {IPV4_UNICAST: v4, IPV6_UNICAST: v6}
        self._templates, self._prune_at = templates, 2 * len(templates) + 64
        self._all_dirty, self._shared = True, False
        if len(self._attributes) > self._prune_at:
            self._attributes = {}

    def _edit(self, old: tuple[Route, ...], new: tuple[Route, ...]) -> bool:
        """The identity fast path: apply the middle where `new` differs from `old`; False to decline."""
        shorter = min(len(old), len(new))
        head = _common_head(old, new, shorter)
        tail = _common_tail(old, new, shorter - head)
        removed, added = old[head : len(old) - tail], new[head : len(new) - tail]
        if 4 * (len(removed) + len(added)) > len(new) + 256:
            return False  # a large change: rebuilding is as cheap
        gone = {(isinstance(r.prefix, IPv4Network), r.nlri) for r in removed}
        fresh: set[tuple[bool, bytes]] = set()
        desired = self._desired
        for route in added:
            slot = (isinstance(route.prefix, IPv4Network), route.nlri)
            if slot in fresh or (slot not in gone and route.nlri in desired[route.family]):
                return False  # a prefix given twice: the general path decides which route wins
            fresh.add(slot)
        tables = self._writable()
        for is_v4, nlri in gone - fresh:
            family = IPV4_UNICAST if is_v4 else IPV6_UNICAST
            del tables[family][nlri]
            self._dirty[family][nlri] = None
        for route in added:
            self._put(tables, route)
        self._prune()
        return True

    def _put(self, tables: dict[Family, Table], route: Route) -> None:
        family, key = route.family, route.attribute_key
        self._templates.setdefault(id(key), route)
        tables[family][route.nlri] = key
        self._dirty[family][route.nlri] = None

    def _writable(self) -> dict[Family, Table]:
        """The desired tables, copied first if an initial-table stream may still iterate them."""
        if self._shared:
            self._desired = {family: dict(table) for family, table in self._desired.items()}
            self._shared = False
        return self._desired

    def _prune(self) -> None:
        """Forget templates (and encoded attribute sets) of keys no desired route has any more."""
        if len(self._templates) <= self._prune_at and len(self._attributes) <= self._prune_at:
            return
        live = set(map(id, chain.from_iterable(table.values() for table in self._desired.values())))
        self._templates = {slot: route for slot, route in self._templates.items() if slot in live}
        self._attributes = {}
        self._prune_at = 2 * len(self._templates) + 64

    # -- UPDATEs ----------------------------------------------------------------------------------
    def _flush_family(
        self, policy: ExportPolicy, family: Family, dirty: dict[bytes, None] | None
    ) -> list[bytes]:
        desired = self._desired[family]
        advertised = self._advertised[family]
        unresolved = self._unresolved[family]
        if dirty is None:  # compare everything; the same key object means unchanged, found in C
            unresolved.clear()
            withdraw = list(filterfalse(desired.__contains__, advertised))
            nlris = list(desired)
            others = compress(nlris, map(is_not, map(advertised.get, nlris), desired.values()))
            changed = [nlri for nlri in others if desired[nlri] != advertised.get(nlri)]
        else:
            unresolved.difference_update(dirty)
            withdraw = [nlri for nlri in dirty if nlri not in desired and nlri in advertised]
            changed = [nlri for nlri in dirty if nlri in desired and desired[nlri] != advertised.get(nlri)]
        messages: list[bytes] = []
        if withdraw:
            for nlri in withdraw:
                del advertised[nlri]
            messages += withdrawals(family, withdraw, policy.negotiated.max_message_size)
        if changed:
            pairs = zip(changed, map(desired.__getitem__, changed), strict=True)
            messages += self._announce(policy, family, pairs, self._templates, advertised)
        return messages

    def _announce(
        self,
        policy: ExportPolicy,
        family: Family,
        pairs: Iterable[tuple[bytes, AttributeKey]],
        templates: Templates,
        advertised: Table | None,
    ) -> Iterator[bytes]:
        """UPDATEs announcing (nlri, key) `pairs`, packed per key; `advertised` is updated as they go
        (None: the initial table, which only counts them and records the whole table at its end)."""
        size = policy.negotiated.max_message_size
        carries: dict[int, tuple[list[bytes], EncodedAttributes, AttributeKey] | None] = {}
        for key, group in groupby(pairs, _key):
            nlris = map(_nlri, group)
            slot = id(key)
            if slot not in carries:
                encoded = self._attribute_set(policy, family, key, templates[slot])
                usable = encoded is not None and budget(size, encoded) >= MIN_BUDGET
                carries[slot] = ([], encoded, key) if encoded is not None and usable else None
            entry = carries[slot]
            if entry is None:
                self._unresolved[family].update(nlris)
                continue
            carry, encoded, _ = entry
            for load, blob in loads(nlris, budget(size, encoded), carry):
                self._record(family, key, load, advertised)
                yield update_message(family, encoded, blob)
        for entry in carries.values():
            if entry is not None and entry[0]:
                self._record(family, entry[2], entry[0], advertised)
                yield update_message(family, entry[1], b"".join(entry[0]))

    def _record(self, family: Family, key: AttributeKey, load: list[bytes], advertised: Table | None) -> None:
        if advertised is None:
            self._streamed[family] += len(load)
        else:
            advertised.update(dict.fromkeys(load, key))

    def _attribute_set(
        self, policy: ExportPolicy, family: Family, key: AttributeKey, route: Route
    ) -> EncodedAttributes | None:
        slot = (family, key)
        if slot not in self._attributes:
            self._attributes[slot] = export_attributes(policy, family, route)
        return self._attributes[slot]


def _common_head(old: tuple[Route, ...], new: tuple[Route, ...], limit: int) -> int:
    """How many leading routes (at most `limit`) `old` and `new` share, by identity.

    Slices are compared in C (identity first); a slice is only compared when its last routes are the same
    object, so routes that are merely equal rarely cost a Python `__eq__`.
    """
    start, step = 0, _FIRST_STEP
    while start < limit:
        end = min(start + step, limit)
        if old[end - 1] is not new[end - 1] or old[start:end] != new[start:end]:
            return next(compress(count(start), map(is_not, old[start:end], new[start:end])), end)
        start, step = end, min(2 * step, _MAX_STEP)
    return limit


def _common_tail(old: tuple[Route, ...], new: tuple[Route, ...], limit: int) -> int:
    """How many trailing routes (at most `limit`) `old` and `new` share, by identity."""
    o, n = len(old), len(new)
    start, step = 0, _FIRST_STEP
    while start < limit:
        end = min(start + step, limit)
        a, b = old[o - end : o - start], new[n - end : n - start]
        if a[0] is not b[0] or a != b:
            return next(compress(count(start), map(is_not, reversed(a), reversed(b))), end)
        start, step = end, min(2 * step, _MAX_STEP)
    return limit
