"""Reconciler: marks collapse, resync without marks, a failing pass is retried."""

from __future__ import annotations

import asyncio

from bgplb.runtime.reconcile import Reconciler


async def test_marks_collapse_into_one_pass() -> None:
    passes: list[int] = []
    gate = asyncio.Event()

    async def step() -> None:
        passes.append(len(passes))
        await gate.wait()

    rec = Reconciler("test", step, resync=60)
    task = asyncio.create_task(rec.run())
    try:
        await asyncio.sleep(0.01)
        assert passes == [0]
        for _ in range(5):
            rec.mark_dirty()
        gate.set()
        async with asyncio.timeout(1):
            await rec.wait_idle()
        assert passes == [0, 1]
        assert rec.passes == 2
    finally:
        task.cancel()


async def test_resync_runs_without_marks() -> None:
    count = 0

    async def step() -> None:
        nonlocal count
        count += 1

    rec = Reconciler("test", step, resync=0.02)
    task = asyncio.create_task(rec.run())
    await asyncio.sleep(0.15)
    task.cancel()
    assert count >= 4


async def test_failed_pass_is_retried_and_the_loop_survives() -> None:
    calls = 0

    async def step() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("transient")

    rec = Reconciler("test", step, resync=60, retry=0.01)
    task = asyncio.create_task(rec.run())
    try:
        async with asyncio.timeout(1):
            await rec.wait_idle()
        assert calls == 2
        assert rec.last_error is None
        assert not task.done()
    finally:
        task.cancel()
