"""One level-triggered reconcile loop: watches mark it dirty, the loop converges on the latest state.

`mark_dirty()` is all an event source ever does (a file change, a health flip, an allocation); several
marks before the loop wakes collapse into one pass. Each pass (`step`) rebuilds the whole plan from the
latest inputs and applies the difference, so a missed or repeated event cannot leave stale state. The loop
also runs every `resync` seconds without any mark. A pass that raises is logged and retried after
`retry` seconds; the loop itself never dies of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Reconciler:
    """Runs `step` whenever dirty, and at least every `resync` seconds."""

    def __init__(
        self, name: str, step: Callable[[], Awaitable[None]], *, resync: float = 30.0, retry: float = 1.0
    ) -> None:
        self.name = name
        self._step = step
        self.resync = resync
        self.retry = retry
        self._dirty = asyncio.Event()
        self._idle = asyncio.Event()
        self.passes = 0
        self.last_error: BaseException | None = None

    def mark_dirty(self) -> None:
        """Ask for a pass as soon as possible."""
        self._dirty.set()
        self._idle.clear()

    async def wait_idle(self) -> None:
        """Until a pass finished with nothing left to do (for tests and orderly start-up)."""
        await self._idle.wait()

    async def run(self) -> None:
        """Loop forever (until cancelled)."""
        self._dirty.set()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.resync):
                    await self._dirty.wait()
            self._dirty.clear()
            try:
                await self._step()
            except Exception as exc:  # a failed pass is retried; the loop must outlive bad input
                self.last_error = exc
                log.exception("%s: reconcile pass failed; retrying in %.1fs", self.name, self.retry)
                await asyncio.sleep(self.retry)
                self._dirty.set()
                continue
            self.passes += 1
            self.last_error = None
            if not self._dirty.is_set():
                self._idle.set()


def freeze_heap() -> None:
    """Move everything alive (the mirrors, the configuration, the first plan) out of the garbage collector's
    reach (`gc.freeze`): at 10,000 Services a full collection scanning them all costs ~100 ms, which a pass
    would otherwise pay every so often. Called once, after a daemon's first full pass."""
    gc.collect()
    gc.freeze()
