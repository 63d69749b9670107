"""Bounded waiting: poll a condition until it holds, with a deadline and a poll count, never forever.

Every wait in the lab and the tests goes through `wait_for`, so that a hung daemon ends in an error that
says what was awaited and what was last seen, instead of a test that hangs until the CI timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from bgplb.errors import BgplbError

T = TypeVar("T")


class FatalProbeError(BgplbError):
    """Raised by a probe to end a `wait_for` at once (e.g. the daemon being waited on has exited)."""


class WaitTimeoutError(BgplbError):
    """A condition did not hold within its time (or poll) budget; carries the last observed value."""

    def __init__(self, description: str, elapsed: float, polls: int, last: object) -> None:
        self.description = description
        self.elapsed = elapsed
        self.polls = polls
        self.last = last
        shown = repr(last)
        if len(shown) > 600:
            shown = shown[:600] + "…"
        super().__init__(
            f"timed out after {elapsed:.2f}s ({polls} polls) waiting for {description}; last: {shown}"
        )


def wait_for(
    probe: Callable[[], T],
    *,
    timeout: float,
    description: str,
    interval: float = 0.05,
    max_polls: int | None = None,
    ready: Callable[[T], bool] = bool,
) -> T:
    """Call `probe` every `interval` seconds until `ready(value)` is true and return that value.

    Stops after `timeout` seconds or `max_polls` calls (default: enough polls to cover the timeout) and raises
    `WaitTimeoutError` naming `description` and the last value (or the last exception the probe raised).
    `BgplbError`s and `OSError`s raised by the probe count as "not yet", except `FatalProbeError`, which
    propagates at once like any other exception.
    """
    if timeout <= 0 or interval <= 0:
        raise ValueError(f"wait_for({description!r}): timeout and interval must be positive")
    polls_allowed = max_polls if max_polls is not None else int(timeout / interval) + 2
    start = time.monotonic()
    deadline = start + timeout
    last: object = None
    polls = 0
    while polls < polls_allowed:
        polls += 1
        try:
            value = probe()
        except FatalProbeError:
            raise
        except (BgplbError, OSError) as exc:
            last = exc
        else:
            if ready(value):
                return value
            last = value
        now = time.monotonic()
        if now >= deadline:
            break
        time.sleep(min(interval, deadline - now))
    raise WaitTimeoutError(description, time.monotonic() - start, polls, last)
