"""Per-Service values derived from a mirrored manifest, recomputed only when the manifest or inputs change.

A controller pass looks at every Service's mirrored manifest (is its status what the allocation wants? does
it carry deprecated annotations?); at 10,000 Services redoing that work each pass costs tens of
milliseconds although one Service changed. A `KindWatcher` replaces the dict of a changed object and never
edits one in place, so "the same dict object, the same inputs" means "the same answer": `MirrorMemo` keeps,
per Service, the dict it last saw (`is`, not `==`), the inputs and the value.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Set
from typing import Generic, TypeVar

from bgplb.planning.snapshot import ServiceRef

V = TypeVar("V")


class MirrorMemo(Generic[V]):
    """One value per Service, valid while its mirrored manifest is the same object and `inputs` are equal."""

    def __init__(self) -> None:
        self._entries: dict[ServiceRef, tuple[object, Hashable, V]] = {}
        self.computed = 0  # values actually computed (for tests)

    def get(self, ref: ServiceRef, manifest: object, inputs: Hashable, compute: Callable[[], V]) -> V:
        """The memoised value for `ref`, or `compute()` when the manifest or the inputs changed."""
        entry = self._entries.get(ref)
        if entry is not None and entry[0] is manifest and entry[1] == inputs:
            return entry[2]
        value = compute()
        self.computed += 1
        self._entries[ref] = (manifest, inputs, value)
        return value

    def retain(self, refs: Set[ServiceRef]) -> None:
        """Forget the Services not in `refs` (deleted ones), so the memo never outgrows the mirror."""
        for ref in self._entries.keys() - refs:
            del self._entries[ref]

    def __len__(self) -> int:
        return len(self._entries)
