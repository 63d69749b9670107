"""Test helpers around the double: a server with a client, background tasks that are always cancelled,
and polling for a condition with a bound."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from lightkube import AsyncClient

from tests.k8s_double.server import ApiServerDouble


@contextlib.asynccontextmanager
async def serving(**options: Any) -> AsyncIterator[tuple[ApiServerDouble, AsyncClient]]:
    """A running double and a lightkube client for it; both closed afterwards."""
    async with ApiServerDouble(**options) as api:
        client = api.client()
        try:
            yield api, client
        finally:
            await client.close()


@contextlib.asynccontextmanager
async def background(
    coro: Coroutine[Any, Any, None], name: str = "test-task"
) -> AsyncIterator[asyncio.Task[None]]:
    """Run `coro` as a task for the block; cancelled and awaited afterwards (no leaked task)."""
    task = asyncio.create_task(coro, name=name)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll `predicate` every 20 ms; fail the test after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)
