"""Named, supervised asyncio tasks with an ordered, bounded shutdown.

Every long-running coroutine of a daemon is started through `Supervisor.spawn(name, coro)`. A task that
ends on its own (returning or raising) while the supervisor is not stopping is a failure: it is logged and
`wait_failed()` returns it, so the daemon exits instead of running half-dead. `stop()` cancels the tasks in
the reverse order of their start, waiting at most `timeout` for each, so later (dependent) tasks go first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

log = logging.getLogger(__name__)


class Supervisor:
    """Owns a daemon's tasks by name."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._failed = asyncio.Event()
        self._stopping = False
        self.failure: BaseException | None = None

    @property
    def names(self) -> list[str]:
        """Names of the running tasks, in start order."""
        return [name for name, task in self._tasks.items() if not task.done()]

    def spawn(self, name: str, coro: Coroutine[object, object, None]) -> asyncio.Task[None]:
        """Start `coro` as the task `name` (names are unique among running tasks)."""
        if name in self._tasks and not self._tasks[name].done():
            coro.close()
            raise ValueError(f"task {name!r} is already running")
        task = asyncio.create_task(coro, name=name)
        self._tasks[name] = task
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        if self._stopping or task.cancelled():
            return
        exc = task.exception()
        log.error("task %s ended unexpectedly: %r", task.get_name(), exc, exc_info=exc)
        self.failure = exc or RuntimeError(f"task {task.get_name()} returned")
        self._failed.set()

    async def wait_failed(self) -> BaseException:
        """Block until a task fails; return why."""
        await self._failed.wait()
        assert self.failure is not None
        return self.failure

    async def wait_stop_or_failure(self, stop: asyncio.Event) -> int:
        """Block until `stop` is set (0) or a task fails (1): a daemon's exit code."""
        waiters = [
            asyncio.create_task(stop.wait(), name="stop-requested"),
            asyncio.create_task(self.wait_failed(), name="supervise"),
        ]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        code = 0 if waiters[0].done() else 1
        for waiter in waiters:
            waiter.cancel()
        return code

    async def stop(self, timeout: float = 2.0) -> list[str]:
        """Cancel every task, newest first, each given `timeout`; returns the names that did not finish."""
        self._stopping = True
        stuck: list[str] = []
        for name, task in reversed(list(self._tasks.items())):
            task.cancel()
            done, _ = await asyncio.wait([task], timeout=timeout)
            if not done:
                stuck.append(name)
        self._tasks.clear()
        return stuck
