"""The controller side of `bgplb run`: files -> Config + Snapshot -> allocation -> state file.

One reconcile pass: reload the directory if it changed (a bad reading is logged with every error naming its
object and field, and the last good state stays), give each Service the addresses the state file says it
holds (the no-Kubernetes stand-in for status.loadBalancer.ingress), run `allocate`, save the state file when
the assignments changed, and publish the allocated snapshot for the speaker. The loop is level-triggered
(see `reconcile`): it recomputes everything from the latest files each time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from bgplb.adapters.file_source import FileSource, LoadResult, SourceState
from bgplb.adapters.state_file import Held, StateFile
from bgplb.planning.allocation import Allocation, allocate
from bgplb.planning.snapshot import ServiceRef, Snapshot

log = logging.getLogger(__name__)


def with_held(snapshot: Snapshot, held: dict[ServiceRef, Held]) -> Snapshot:
    """Services without observed addresses get the ones they held (from the state file)."""
    services = tuple(
        replace(s, current_ips=held[s.ref].ips) if not s.current_ips and s.ref in held else s
        for s in snapshot.services
    )
    return replace(snapshot, services=services)


def with_allocation(snapshot: Snapshot, allocation: Allocation) -> Snapshot:
    """Each Service's observed addresses replaced by what the allocation gave it (none when it failed)."""
    services = tuple(
        replace(s, current_ips=a.ips if (a := allocation.assignments.get(s.ref)) is not None else ())
        for s in snapshot.services
    )
    return replace(snapshot, services=services)


class Controller:
    """Allocation for the Services in the files, persisted; `published` is what the speaker plans from."""

    def __init__(
        self,
        source: FileSource,
        state_file: StateFile,
        *,
        on_reload: Callable[[SourceState], None],
        on_published: Callable[[], None],
    ) -> None:
        self.source = source
        self.state_file = state_file
        self.held = state_file.load()
        self.allocation: Allocation | None = None
        self.published: tuple[SourceState, Snapshot] | None = None
        self._reload_needed = True
        self._on_reload = on_reload
        self._on_published = on_published

    def files_changed(self) -> None:
        """Note that the directory must be read again on the next pass (the caller marks the loop dirty)."""
        self._reload_needed = True

    async def reconcile(self) -> None:
        """One pass (see the module docstring)."""
        start = time.perf_counter()
        if self._reload_needed:
            self._reload_needed = False
            result = self.source.reload()
            _report(result, self.source.current is not None)
            if result.state is not None:
                self._on_reload(result.state)
        state = self.source.current
        if state is None:
            return
        snapshot = with_held(state.snapshot, self.held)
        allocation = allocate(snapshot, state.config)
        for ref, failure in sorted(allocation.failures.items()):
            if self.allocation is None or self.allocation.failures.get(ref) != failure:
                log.warning("Service %s gets no address: %s (%s)", ref, failure.detail, failure.reason.value)
        held = {ref: Held(a.ips, a.pool) for ref, a in allocation.assignments.items()}
        if held != self.held:
            self.state_file.save(held)
            for ref in sorted(held.keys() - self.held.keys()):
                log.info("Service %s: assigned %s", ref, ", ".join(map(str, held[ref].ips)))
            for ref in sorted(self.held.keys() - held.keys()):
                log.info("Service %s: released %s", ref, ", ".join(map(str, self.held[ref].ips)))
            self.held = held
        self.allocation = allocation
        elapsed = (time.perf_counter() - start) * 1000
        log.debug("controller pass: %d services in %.1f ms", len(snapshot.services), elapsed)
        published = (state, with_allocation(snapshot, allocation))
        if published != self.published:
            self.published = published
            self._on_published()


def _report(result: LoadResult, has_good_state: bool) -> None:
    for error in result.errors:
        log.error("config: %s", error)
    for warning in result.warnings:
        log.warning("config: %s", warning)
    if result.state is None:
        keep = "the last good state keeps running" if has_good_state else "nothing is announced yet"
        log.error("config: %d error(s); %s", len(result.errors), keep)
