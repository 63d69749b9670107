"""Supervisor: named tasks, failures surface, shutdown newest first and bounded."""

from __future__ import annotations

import asyncio

import pytest

from bgplb.runtime.tasks import Supervisor


async def test_a_crashing_task_is_reported() -> None:
    supervisor = Supervisor()

    async def crash() -> None:
        await asyncio.sleep(0.01)
        raise RuntimeError("bad")

    supervisor.spawn("sleeper", asyncio.sleep(10))
    supervisor.spawn("crasher", crash())
    async with asyncio.timeout(2):
        failure = await supervisor.wait_failed()
    assert isinstance(failure, RuntimeError)
    assert supervisor.names == ["sleeper"]
    assert await supervisor.stop() == []


async def test_a_task_that_returns_is_a_failure_too() -> None:
    supervisor = Supervisor()

    async def done() -> None:
        return None

    supervisor.spawn("quitter", done())
    async with asyncio.timeout(2):
        failure = await supervisor.wait_failed()
    assert "quitter" in str(failure)


async def test_stop_cancels_newest_first_and_reports_stuck_tasks() -> None:
    supervisor = Supervisor()
    order: list[str] = []

    async def polite(name: str) -> None:
        try:
            await asyncio.sleep(10)
        finally:
            order.append(name)

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                order.append("stubborn")
                await asyncio.sleep(0.3)
                return

    supervisor.spawn("first", polite("first"))
    supervisor.spawn("second", polite("second"))
    supervisor.spawn("stubborn", stubborn())
    await asyncio.sleep(0)
    assert await supervisor.stop(timeout=0.05) == ["stubborn"]
    assert order == ["stubborn", "second", "first"]
    assert supervisor.failure is None
    await asyncio.sleep(0.3)


async def test_names_are_unique_while_running() -> None:
    supervisor = Supervisor()
    supervisor.spawn("loop", asyncio.sleep(10))
    with pytest.raises(ValueError, match="already running"):
        supervisor.spawn("loop", asyncio.sleep(10))
    await supervisor.stop()


async def test_wait_stop_or_failure_gives_the_exit_code() -> None:
    requested = asyncio.Event()
    calm = Supervisor()
    calm.spawn("sleeper", asyncio.sleep(10))
    asyncio.get_running_loop().call_later(0.01, requested.set)
    async with asyncio.timeout(2):
        assert await calm.wait_stop_or_failure(requested) == 0
    await calm.stop()

    async def crash() -> None:
        raise RuntimeError("bad")

    failing = Supervisor()
    failing.spawn("crasher", crash())
    async with asyncio.timeout(2):
        assert await failing.wait_stop_or_failure(asyncio.Event()) == 1
    await failing.stop()
