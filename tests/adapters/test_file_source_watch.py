"""FileSource.watch: file notifications report a change within milliseconds; polling is the fallback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bgplb.adapters import file_source
from bgplb.adapters.file_source import FileSource


def write(directory: Path, name: str, text: str) -> None:
    tmp = directory / f".{name}.tmp"
    tmp.write_text(text)
    tmp.rename(directory / name)


async def wait_calls(calls: list[float], count: int, limit: float = 2.0) -> None:
    async with asyncio.timeout(limit):
        while len(calls) < count:
            await asyncio.sleep(0.001)


async def test_notifications_report_a_change_long_before_the_poll_interval(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "kind: Service\n")
    source = FileSource(tmp_path, poll_interval=60.0)
    source.reload()
    calls: list[float] = []
    task = asyncio.create_task(source.watch(lambda: calls.append(time.monotonic())))
    try:
        await asyncio.sleep(0.2)  # the watcher is set up
        delays = []
        for index in range(5):
            started = time.monotonic()
            write(tmp_path, f"s{index}.yaml", f"# service {index}\n")
            await wait_calls(calls, index + 1)
            delays.append(calls[-1] - started)
            source.reload()
        notes = tmp_path / "notes.txt"
        notes.write_text("not configuration")
        await asyncio.sleep(0.1)
        assert len(calls) == 5  # other files are no change
        assert max(delays) < 0.5, delays  # a poll would take 60 s
    finally:
        task.cancel()


async def test_without_notifications_the_poll_still_reports_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> AsyncIterator[set[object]]:
        raise OSError("inotify watch limit reached")
        yield set()  # an async generator, like awatch

    monkeypatch.setattr(file_source, "awatch", broken)
    write(tmp_path, "a.yaml", "kind: Service\n")
    source = FileSource(tmp_path, poll_interval=0.02)
    source.reload()
    calls: list[float] = []
    task = asyncio.create_task(source.watch(lambda: calls.append(time.monotonic())))
    try:
        write(tmp_path, "b.yaml", "kind: Service\n")
        await wait_calls(calls, 1)
        await asyncio.sleep(0.1)
        assert len(calls) == 1
    finally:
        task.cancel()
