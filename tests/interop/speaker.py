"""`bgplb speak` as a subprocess inside a namespace, for the interop tests.

The speaker runs with `--output json`; its log (stdout + stderr) is parsed for state lines, so a test can
wait for "Established", count session drops, and measure when they happened. SIGHUP reloads the YAML file,
SIGTERM stops it (Cease/Administrative Shutdown, or silently with `--graceful`).
"""

from __future__ import annotations

import json
import signal
import sys
import time
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import yaml

from bgplb.lab.netns import Namespace, Process
from bgplb.lab.wait import wait_for

IpAddress = IPv4Address | IPv6Address


class Speak:
    """One `bgplb speak --config <file> --output json` process in `namespace`."""

    def __init__(
        self, namespace: Namespace, config: dict[str, Any], *, name: str = "bgplb", graceful: bool = False
    ):
        self.namespace = namespace
        self.name = name
        self.path: Path = namespace.kit.workdir / f"{name}.yaml"
        self.graceful = graceful
        self.process: Process | None = None
        self.runs = 0
        self.write(config)

    def write(self, config: dict[str, Any]) -> None:
        """(Re)write the YAML file; `reload()` makes a running speaker apply it."""
        self.config = config
        self.path.write_text(yaml.safe_dump(config))

    def start(self) -> Speak:
        """Start the speaker (again, after `stop`); its log is `<workdir>/<name>-<n>.log`."""
        self.runs += 1
        argv = [sys.executable, "-m", "bgplb", "speak", "--config", str(self.path), "--output", "json"]
        if self.graceful:
            argv.append("--graceful")
        self.process = self.namespace.spawn(argv, name=f"{self.name}-{self.runs}")
        return self

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM; return the exit status."""
        assert self.process is not None
        return self.process.stop(timeout)

    def reload(self, config: dict[str, Any]) -> None:
        """Rewrite the YAML and send SIGHUP; waits for the speaker's `reloaded` line."""
        before = len(self.records("reloaded"))
        self.write(config)
        assert self.process is not None
        self.process.signal(signal.SIGHUP)
        wait_for(lambda: len(self.records("reloaded")) > before, timeout=5, description="speak reloaded")

    def records(self, event: str | None = None) -> list[dict[str, Any]]:
        """The JSON lines printed so far by the current run (only `event` ones if given)."""
        if self.process is None:
            return []
        found = []
        for line in self.process.log().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if event is None or record.get("event") == event:
                    found.append(record)
        return found

    def states(self, peer: IpAddress) -> list[str]:
        """The successive states of the session with `peer`."""
        return [r["new"] for r in self.records("state") if r["peer"] == str(peer)]

    def established_count(self, peer: IpAddress) -> int:
        """How many times the session with `peer` reached Established in this run."""
        return self.states(peer).count("Established")

    def wait_established(self, peer: IpAddress, count: int = 1, timeout: float = 20.0) -> float:
        """Wait until the session with `peer` has been Established `count` times; return the time it was."""

        def probe() -> int:
            assert self.process is not None
            if not self.process.alive():
                raise AssertionError(f"bgplb speak exited:\n{self.process.log()[-2000:]}")
            return self.established_count(peer)

        wait_for(
            probe,
            timeout=timeout,
            interval=0.05,
            ready=lambda n: n >= count,
            description=f"{peer} Established",
        )
        times = [
            r["time"] for r in self.records("state") if r["peer"] == str(peer) and r["new"] == "Established"
        ]
        return float(times[count - 1])

    def downs(self, peer: IpAddress) -> list[dict[str, Any]]:
        """The `down` records (reason, notification) for `peer`."""
        return [r for r in self.records("down") if r["peer"] == str(peer)]


def wait_until(probe: Any, description: str, timeout: float = 15.0) -> Any:
    """`wait_for` with the interop defaults (truthy result, 0.1 s polls)."""
    return wait_for(probe, timeout=timeout, interval=0.1, description=description)


def elapsed_since(stamp: float) -> float:
    """Seconds since a speaker's `time` field (wall clock)."""
    return time.time() - stamp
