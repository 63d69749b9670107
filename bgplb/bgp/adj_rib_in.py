"""Adj-RIB-In: what the peer announced to us, per family, with counts, a max-prefix limit and stale marks.

bgplb installs nothing it receives; it keeps the routes so that `show`-style output, the max-prefix limit
(RFC 4486 Cease subcode 1) and the graceful-restart helper (RFC 4724 §4.2: routes of a restarting peer kept
as stale until its End-of-RIB or the restart time; RFC 7313 §4: a family's routes stale between the
peer's BoRR and EoRR) have something to count. All the prefixes of one UPDATE
share one attribute tuple (MP_REACH_NLRI kept without its NLRI, MP_UNREACH_NLRI dropped).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bgplb.bgp.attributes import Attribute, MpReachNlri, MpUnreachNlri
from bgplb.bgp.constants import IPV4_UNICAST, Family
from bgplb.bgp.messages import Update
from bgplb.bgp.nlri import Prefix

Attributes = tuple[Attribute, ...]


class AdjRibIn:
    """Received routes per family; `max_prefixes` (per family) is reported by `apply`, not enforced here."""

    def __init__(self, max_prefixes: int | None = None) -> None:
        self.max_prefixes = max_prefixes
        self._routes: dict[Family, dict[Prefix, Attributes]] = {}
        self._stale: dict[Family, set[Prefix]] = {}

    def apply(self, update: Update, *, treat_as_withdraw: bool = False) -> Family | None:
        """Apply an UPDATE; with `treat_as_withdraw` (RFC 7606 §2) its NLRI are removed instead.

        Returns the first family now over `max_prefixes`, or None.
        """
        for family, prefixes in update.withdrawn_by_family().items():
            self._remove(family, prefixes)
        announced = update.announced()
        if treat_as_withdraw:
            for family, prefixes in announced.items():
                self._remove(family, prefixes)
            return None
        if not announced:
            return None
        attributes = _stored_attributes(update.attributes)
        over: Family | None = None
        for family, prefixes in announced.items():
            table = self._routes.setdefault(family, {})
            table.update(dict.fromkeys(prefixes, attributes))
            stale = self._stale.get(family)
            if stale:
                stale.difference_update(prefixes)
            if over is None and self.max_prefixes is not None and len(table) > self.max_prefixes:
                over = family
        return over

    def _remove(self, family: Family, prefixes: Iterable[Prefix]) -> None:
        table = self._routes.get(family)
        if not table:
            return
        stale = self._stale.get(family, set())
        for prefix in prefixes:
            table.pop(prefix, None)
            stale.discard(prefix)

    def count(self, family: Family) -> int:
        """Prefixes of `family` held (stale ones included)."""
        return len(self._routes.get(family, ()))

    def counts(self) -> dict[Family, int]:
        """Prefixes held per family that has any."""
        return {family: len(table) for family, table in self._routes.items() if table}

    def routes(self, family: Family = IPV4_UNICAST) -> Mapping[Prefix, Attributes]:
        """The routes of `family`: prefix -> path attributes (read-only view)."""
        return self._routes.get(family, {})

    def clear(self) -> None:
        """Forget everything (the session went down without graceful restart)."""
        self._routes.clear()
        self._stale.clear()

    def mark_stale(self, families: Iterable[Family]) -> int:
        """RFC 4724 §4.2: keep the routes of `families` as stale, drop all others. Returns the stale count."""
        keep = set(families)
        for family in list(self._routes):
            if family not in keep:
                del self._routes[family]
                self._stale.pop(family, None)
            else:
                self._stale[family] = set(self._routes[family])
        return self.stale_count()

    def mark_family_stale(self, family: Family) -> int:
        """RFC 7313 §4 (BoRR): every route of `family` is stale until re-announced. Returns how many."""
        stale = self._stale.setdefault(family, set())
        stale.update(self._routes.get(family, ()))
        return len(stale)

    def stale_count(self, family: Family | None = None) -> int:
        """Stale prefixes, of one family or all."""
        if family is not None:
            return len(self._stale.get(family, ()))
        return sum(len(stale) for stale in self._stale.values())

    def stale_families(self) -> list[Family]:
        """The families that still have stale routes."""
        return [family for family, stale in self._stale.items() if stale]

    def purge_stale(self, family: Family | None = None) -> int:
        """Delete the stale routes of `family` (End-of-RIB received) or of all families. Returns how many."""
        families = [family] if family is not None else list(self._stale)
        purged = 0
        for fam in families:
            stale = self._stale.pop(fam, set())
            table = self._routes.get(fam, {})
            for prefix in stale:
                del table[prefix]
            purged += len(stale)
        return purged


def _stored_attributes(attributes: Attributes) -> Attributes:
    out: list[Attribute] = []
    for attr in attributes:
        if isinstance(attr, MpReachNlri):
            out.append(MpReachNlri(attr.afi, attr.safi, attr.next_hops))
        elif not isinstance(attr, MpUnreachNlri):
            out.append(attr)
    return tuple(out)
