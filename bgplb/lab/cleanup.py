"""Guaranteed teardown: delete namespaces (and whatever still runs inside), close every live kit at exit and
on SIGTERM, and remove what a crashed run left behind.

Kits register themselves here when created; `close_all` runs from an atexit hook and from a SIGTERM handler
(installed once, from the main thread, chaining to the previous handler, then re-delivering the signal so the
process still dies of SIGTERM). `cleanup_stale` only removes namespaces whose creating pid is dead, so it is
safe while other runs are live.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import threading
import time
from types import FrameType
from typing import Protocol

from bgplb.errors import BgplbError
from bgplb.lab.process import run_command


class Closable(Protocol):
    """Anything `close_all` can close (a `Netkit`)."""

    def close(self, timeout: float = 5.0) -> None:
        """Tear down everything."""


def delete_namespace(name: str) -> None:
    """Kill whatever still runs in namespace `name`, then delete it (veth ends inside go with it)."""
    pids = run_command(["ip", "netns", "pids", name], timeout=10, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 5
    while pids and time.monotonic() < deadline:
        pids = run_command(["ip", "netns", "pids", name], timeout=10, check=False).stdout.split()
        if pids:
            time.sleep(0.02)
    run_command(["ip", "netns", "del", name], timeout=10, check=True)


def list_namespaces() -> list[str]:
    """Names of all named network namespaces (`ip netns list`)."""
    out = run_command(["ip", "netns", "list"], timeout=10, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def cleanup_stale(prefix: str = "bgplb") -> list[str]:
    """Delete namespaces `<prefix>-<pid>-…` whose creator is gone (a crashed run); return their names."""
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)-\d+-")
    removed: list[str] = []
    for name in list_namespaces():
        match = pattern.match(name)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        delete_namespace(name)
        removed.append(name)
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_LIVE: list[Closable] = []
_LOCK = threading.Lock()
_HOOKS_INSTALLED = False


def register(kit: Closable) -> None:
    """Track a live kit; the first registration installs the atexit hook and (main thread) the SIGTERM one."""
    global _HOOKS_INSTALLED
    with _LOCK:
        _LIVE.append(kit)
        if _HOOKS_INSTALLED:
            return
        _HOOKS_INSTALLED = True
    atexit.register(close_all)
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            close_all()
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGTERM, on_sigterm)


def unregister(kit: Closable) -> None:
    """Forget a closed kit."""
    with _LOCK, contextlib.suppress(ValueError):
        _LIVE.remove(kit)


def close_all() -> None:
    """Close every live `Netkit` (the atexit and SIGTERM hook), swallowing errors so every kit gets closed."""
    with _LOCK:
        kits = list(_LIVE)
    for kit in reversed(kits):
        with contextlib.suppress(BgplbError, OSError):
            kit.close()
