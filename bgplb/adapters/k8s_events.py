"""Kubernetes Events: their reasons, the objects they are about, and a bounded queue that records them.

`ObjectRef` is an Event's involvedObject: a Service or any object, namespaced or cluster-scoped (the
reasons, `EventReason`, and the wording live with `StatusWriter.emit` in k8s_status).

Events are best effort (as client-go's broadcaster: a full queue drops, a refused create is logged), so a
burst of allocations never waits for them: `put(target, ...)` never blocks and stamps the Event with the
time of the decision (the target is a Service, a `ServiceRef`, or any object, an `ObjectRef`), `run()`
drains the queue with `workers` concurrent creates through `StatusWriter.emit`, and `drain()` lets a
stopping daemon flush what is queued (bounded in time). `recorded` and `dropped` count the outcomes;
`on_done(reason, recorded)` reports each one (metrics).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bgplb.planning.snapshot import ServiceRef

if TYPE_CHECKING:
    from bgplb.adapters.k8s_event_reasons import EventReason
    from bgplb.adapters.k8s_status import StatusWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """The object an Event is about (a v1 ObjectReference); `namespace` is "" for cluster-scoped objects.

    `uid`, when known, lets `kubectl describe` find the Event (it selects Events by uid too)."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str | None = None

    @classmethod
    def service(cls, ref: ServiceRef, uid: str | None = None) -> ObjectRef:
        """The reference of Service `ref`."""
        return cls("v1", "Service", ref.namespace, ref.name, uid)

    def involved_object(self) -> dict[str, str]:
        """The Event's involvedObject."""
        ns = {"namespace": self.namespace} if self.namespace else {}
        uid = {"uid": self.uid} if self.uid else {}
        return {"apiVersion": self.api_version, "kind": self.kind, **ns, "name": self.name, **uid}

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    """An Event waiting to be recorded: on which object, why, what, and when it was decided."""

    target: ObjectRef
    reason: EventReason
    message: str
    stamp: float


class EventQueue:
    """Bounded, best-effort Event recording for one daemon (see the module docstring)."""

    def __init__(
        self,
        writer: StatusWriter,
        *,
        size: int = 4096,
        workers: int = 4,
        on_done: Callable[[EventReason, bool], None] = lambda reason, recorded: None,
    ) -> None:
        if size < 1 or workers < 1:
            raise ValueError(f"EventQueue needs size >= 1 and workers >= 1, not {size} and {workers}")
        self.writer = writer
        self.workers = workers
        self._queue: asyncio.Queue[QueuedEvent] = asyncio.Queue(maxsize=size)
        self._on_done = on_done
        self.recorded = 0
        self.dropped = 0
        self._warned = False

    def put(
        self, target: ServiceRef | ObjectRef, reason: EventReason, message: str, *, now: float | None = None
    ) -> bool:
        """Queue an Event on `target`; False (and counted as dropped) when the queue is full."""
        obj = target if isinstance(target, ObjectRef) else ObjectRef.service(target)
        event = QueuedEvent(obj, reason, message, time.time() if now is None else now)
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._done(event.reason, False)
            if not self._warned:  # once per burst: the flag resets when the queue drains
                log.warning("Event queue full (%d queued): dropping Events", self._queue.qsize())
                self._warned = True
            return False
        return True

    async def run(self) -> None:
        """Record queued Events with `workers` concurrent creates, until cancelled."""
        async with asyncio.TaskGroup() as group:
            for n in range(self.workers):
                group.create_task(self._work(), name=f"events-{n}")

    async def drain(self, timeout: float) -> bool:
        """Wait (at most `timeout` seconds) until every queued Event is recorded or dropped."""
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except TimeoutError:
            return False
        return True

    async def _work(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                recorded = await self.writer.emit(event.target, event.reason, event.message, now=event.stamp)
                self._done(event.reason, recorded)
            finally:
                self._queue.task_done()
            if self._queue.empty():
                self._warned = False

    def _done(self, reason: EventReason, recorded: bool) -> None:
        if recorded:
            self.recorded += 1
        else:
            self.dropped += 1
        self._on_done(reason, recorded)
