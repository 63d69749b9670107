"""Commands and processes of the namespace kit: one-shot commands with a timeout, long-running processes.

`run_command` runs a command to completion within a timeout. A `Process` (created by `Netkit.spawn`) leads
its own process group and writes to its own log file; `stop()` sends SIGTERM to the whole group (daemon
helpers such as ExaBGP's API processes included), waits a bounded time, then SIGKILLs the group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bgplb.errors import BgplbError


class NetnsError(BgplbError):
    """A namespace, link or process operation failed; the message holds the command and its stderr."""


def run_command(
    argv: Sequence[str], *, timeout: float, check: bool, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `argv` within `timeout` s, capturing output; `NetnsError` on timeout (or failure if `check`)."""
    try:
        done = subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise NetnsError(f"{' '.join(argv)}: no answer within {timeout}s") from exc
    except FileNotFoundError as exc:
        raise NetnsError(f"{argv[0]}: command not found") from exc
    if check and done.returncode != 0:
        raise NetnsError(f"{' '.join(argv)} exited {done.returncode}: {(done.stderr or done.stdout).strip()}")
    return done


@dataclass(slots=True)
class Process:
    """A process the kit started inside a namespace, leading its own process group; logs go to `log_path`."""

    name: str
    namespace: str
    argv: tuple[str, ...]
    log_path: Path
    popen: subprocess.Popen[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        """The process id (`ip netns exec` execs the program, so this is the program itself)."""
        return self.popen.pid

    def alive(self) -> bool:
        """True while the process has not exited."""
        return self.popen.poll() is None

    def log(self) -> str:
        """Everything the process wrote to stdout/stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def signal(self, sig: int) -> None:
        """Send `sig` to the process group (no-op if it already exited)."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM the process group, SIGKILL it after `timeout` seconds; return the exit status."""
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                return self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # stragglers left in the group after the leader exited
        return self.popen.wait(timeout)
