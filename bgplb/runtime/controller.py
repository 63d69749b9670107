"""The controller side of `bgplb run`: files -> Config + Snapshot -> allocation -> state file.

One reconcile pass: reload the directory if it changed (a bad reading is logged with every error naming its
object and field, and the last good state stays), give each Service the addresses the state file says it
holds (the no-Kubernetes stand-in for status.loadBalancer.ingress), run `allocate`, publish the allocated
snapshot for the speaker, and save the state file when the assignments changed. The loop is level-triggered
(see `reconcile`): it recomputes everything from the latest files each time.

Latency: the speaker's pass runs before the state file is written (one event-loop turn after publishing), and
the write and its fsyncs run in a thread, so a new Service reaches the router without waiting for the disk.
A crash in those few milliseconds loses only the record of new assignments, which `allocate` derives again
from the same files; a failed write fails the pass, which is retried (and the write with it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from bgplb.adapters.file_source import FileSource, LoadResult, SourceState
from bgplb.adapters.state_file import Held, StateFile, encode
from bgplb.planning.allocation import Allocation, allocate
from bgplb.planning.snapshot import Service, ServiceRef, Snapshot

log = logging.getLogger(__name__)


Made = dict[ServiceRef, tuple[Service, Held, Service]]
"""Per Service: the Service read, what it held, and the Service `with_held` made of them."""


def with_held(snapshot: Snapshot, held: dict[ServiceRef, Held], memo: Made | None = None) -> Snapshot:
    """Services without observed addresses get the ones they held (from the state file). With `memo`
    (the previous pass's), a Service read and held as before is the very object made last time."""
    made: Made = {}
    services = []
    for service in snapshot.services:
        holding = held.get(service.ref)
        if service.current_ips or holding is None:
            services.append(service)
            continue
        last = memo.get(service.ref) if memo is not None else None
        if last is not None and last[0] is service and last[1] == holding:
            out = last[2]
        else:
            out = replace(service, current_ips=holding.ips)
        made[service.ref] = (service, holding, out)
        services.append(out)
    if memo is not None:
        memo.clear()
        memo.update(made)
    return replace(snapshot, services=tuple(services))


def with_allocation(snapshot: Snapshot, allocation: Allocation) -> Snapshot:
    """Each Service's observed addresses replaced by what the allocation gave it (none when it failed)."""
    services = []
    for service in snapshot.services:
        assigned = allocation.assignments.get(service.ref)
        ips = assigned.ips if assigned is not None else ()
        services.append(service if service.current_ips == ips else replace(service, current_ips=ips))
    return replace(snapshot, services=tuple(services))


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
        self._made: Made = {}
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
        snapshot = with_held(state.snapshot, self.held, self._made)
        allocation = allocate(snapshot, state.config)
        for ref, failure in sorted(allocation.failures.items()):
            if self.allocation is None or self.allocation.failures.get(ref) != failure:
                log.warning("Service %s gets no address: %s (%s)", ref, failure.detail, failure.reason.value)
        held = {ref: Held(a.ips, a.pool) for ref, a in allocation.assignments.items()}
        saved = self.held
        self.allocation = allocation
        published = (state, with_allocation(snapshot, allocation))
        if published != self.published:
            self.published = published
            self._on_published()
        elapsed = (time.perf_counter() - start) * 1000
        log.debug("controller pass: %d services in %.1f ms", len(snapshot.services), elapsed)
        if held != saved:
            await asyncio.sleep(0)  # the speaker's pass first (see the module docstring)
            await asyncio.to_thread(self.state_file.write, encode(held))
            for ref in sorted(held.keys() - saved.keys()):
                log.info("Service %s: assigned %s", ref, ", ".join(map(str, held[ref].ips)))
            for ref in sorted(saved.keys() - held.keys()):
                log.info("Service %s: released %s", ref, ", ".join(map(str, saved[ref].ips)))
            self.held = held


def _report(result: LoadResult, has_good_state: bool) -> None:
    for error in result.errors:
        log.error("config: %s", error)
    for warning in result.warnings:
        log.warning("config: %s", warning)
    if result.state is None:
        keep = "the last good state keeps running" if has_good_state else "nothing is announced yet"
        log.error("config: %d error(s); %s", len(result.errors), keep)
