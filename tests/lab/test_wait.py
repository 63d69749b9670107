"""wait_for: bounded in time and in polls, and its error says what was awaited and what was last seen."""

from __future__ import annotations

import time

import pytest

from bgplb.errors import BgplbError
from bgplb.lab.wait import FatalProbeError, WaitTimeoutError, wait_for


def test_returns_the_first_ready_value() -> None:
    values = iter([0, 0, 3, 4])
    assert wait_for(lambda: next(values), timeout=5, interval=0.001, description="a count") == 3


def test_custom_readiness_predicate() -> None:
    values = iter(["Active", "OpenSent", "Established"])
    seen = wait_for(
        lambda: next(values),
        timeout=5,
        interval=0.001,
        ready=lambda s: s == "Established",
        description="state",
    )
    assert seen == "Established"


def test_timeout_names_the_condition_and_the_last_value() -> None:
    start = time.monotonic()
    with pytest.raises(WaitTimeoutError) as info:
        wait_for(
            lambda: "Active", timeout=0.2, interval=0.02, ready=lambda s: s == "up", description="peer up"
        )
    assert 0.2 <= time.monotonic() - start < 1.0
    assert info.value.last == "Active"
    assert "peer up" in str(info.value)
    assert "'Active'" in str(info.value)


def test_poll_budget_stops_before_the_timeout() -> None:
    calls: list[int] = []

    def probe() -> bool:
        calls.append(1)
        return False

    with pytest.raises(WaitTimeoutError) as info:
        wait_for(probe, timeout=30, interval=0.001, max_polls=5, description="never")
    assert len(calls) == 5
    assert info.value.polls == 5


def test_probe_errors_count_as_not_yet_and_are_reported() -> None:
    errors: list[Exception] = [BgplbError("socket missing"), OSError("refused")]

    def probe() -> str:
        if errors:
            raise errors.pop(0)
        return "ok"

    assert wait_for(probe, timeout=5, interval=0.001, description="daemon") == "ok"

    def always_missing() -> bool:
        raise BgplbError("socket missing")

    with pytest.raises(WaitTimeoutError, match="socket missing"):
        wait_for(always_missing, timeout=0.05, description="x")


def test_fatal_probe_errors_and_bugs_propagate_at_once() -> None:
    def fatal() -> bool:
        raise FatalProbeError("daemon exited")

    with pytest.raises(FatalProbeError):
        wait_for(fatal, timeout=30, description="daemon")
    with pytest.raises(ZeroDivisionError):
        wait_for(lambda: 1 / 0, timeout=30, description="bug")


def test_rejects_nonsense_budgets() -> None:
    with pytest.raises(ValueError, match="positive"):
        wait_for(lambda: True, timeout=0, description="x")
