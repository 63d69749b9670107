"""`bgplb run`: the controller and the speaker of one host in one process, from a directory of YAML files.

Tasks (named, supervised; see `tasks`): `file-watch` polls the directory, `controller` and `speaker` are one
level-triggered reconcile loop each (see `reconcile`), `status-server` answers `bgplb status`, plus one
`health-…` task per health check. Event sources only mark loops dirty: a file change or SIGHUP marks the
controller (which reloads), a new allocation or a health flip marks the speaker. SIGTERM/SIGINT stop in
order: the loops first, then Cease to every peer (so routers withdraw at once), then the health checks and
the status endpoint.

Latency: the speaker's pass runs in the event-loop turn after the controller publishes (no timer between
them); once the first configuration is loaded, everything alive is moved out of the garbage collector's
reach (`gc.freeze`), so full collections stay short instead of scanning the configuration every time.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from bgplb.adapters.file_source import FileSource, SourceState, local_view
from bgplb.adapters.health import HealthMonitor
from bgplb.adapters.state_file import StateFile
from bgplb.adapters.status_server import DEFAULT_PORT, StatusServer
from bgplb.planning.announcement import announce
from bgplb.runtime import report
from bgplb.runtime.controller import Controller
from bgplb.runtime.reconcile import Reconciler, freeze_heap
from bgplb.runtime.speaker import SpeakerLoop
from bgplb.runtime.tasks import Supervisor

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Everything `bgplb run` is told on the command line."""

    config_dir: Path
    node: str
    state_file: Path
    status_port: int = DEFAULT_PORT
    poll_interval: float = 1.0
    resync: float = 30.0
    router_id: IPv4Address | None = None


class Runtime:
    """The wiring of one host's daemon; `run()` until `request_stop()`."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.supervisor = Supervisor()
        self.source = FileSource(options.config_dir, options.poll_interval)
        self.health = HealthMonitor(on_change=self._health_changed)
        self.controller = Controller(
            self.source,
            StateFile(options.state_file),
            on_reload=self._reloaded,
            on_published=self._allocated,
        )
        self.speaker = SpeakerLoop(options.node, options.router_id)
        self.controller_loop = Reconciler("controller", self.controller.reconcile, resync=options.resync)
        self.speaker_loop = Reconciler("speaker", self._speak, resync=options.resync)
        self.status = StatusServer(self._views(), port=options.status_port)
        self._stop = asyncio.Event()
        self._frozen = False

    # -- event sources: they only mark loops dirty --------------------------------------------------
    def files_changed(self) -> None:
        """The directory changed (poll) or SIGHUP arrived."""
        self.controller.files_changed()
        self.controller_loop.mark_dirty()

    def hangup(self) -> None:
        """SIGHUP: read every file again, cached or not."""
        self.source.forget()
        self.files_changed()

    def _reloaded(self, state: SourceState) -> None:
        self.health.update(state.checks)

    def _allocated(self) -> None:
        self.speaker_loop.mark_dirty()
        if not self._frozen:
            self._frozen = True
            freeze_heap()

    def _health_changed(self) -> None:
        self.speaker_loop.mark_dirty()

    def request_stop(self) -> None:
        """Begin the ordered shutdown."""
        self._stop.set()

    # -- the speaker pass ---------------------------------------------------------------------------
    async def _speak(self) -> None:
        published = self.controller.published
        if published is None:
            return
        start = time.perf_counter()
        state, snapshot = published
        view = local_view(snapshot, self.options.node, state.checks, self.health.results())
        plan = announce(view, state.config, self.options.node)
        node = next((n for n in view.nodes if n.name == self.options.node), None)
        await self.speaker.apply(plan, node)
        routes = sum(len(s.routes) for s in plan.sessions)
        elapsed = (time.perf_counter() - start) * 1000
        log.debug("speaker pass: %d routes to %d peers in %.1f ms", routes, len(plan.sessions), elapsed)

    # -- status -------------------------------------------------------------------------------------
    def _views(self) -> dict[str, report.ViewBuilder]:
        return {
            "sessions": lambda: report.session_rows(self.speaker.sessions()),
            "routes": lambda: report.route_rows(self.speaker.sessions()),
            "services": lambda: report.service_rows(
                self.options.node, self.speaker.plan, self.controller.allocation
            ),
            "pools": lambda: report.pool_rows(self.controller.allocation),
            "config": lambda: report.config_json(self.source.last, self.source.current is not None),
            "health": lambda: report.health_rows(self.health.checks()),
        }

    # -- life cycle ---------------------------------------------------------------------------------
    async def run(self) -> int:
        """Start everything, wait for a stop request or a task failure, shut down in order."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.hangup)
        port = await self.status.start()
        log.info("node %s: status on http://127.0.0.1:%d/status", self.options.node, port)
        self.supervisor.spawn("controller", self.controller_loop.run())
        self.supervisor.spawn("speaker", self.speaker_loop.run())
        self.supervisor.spawn("file-watch", self.source.watch(self.files_changed))
        code = await self.supervisor.wait_stop_or_failure(self._stop)
        await self.shutdown()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        return code

    async def shutdown(self) -> None:
        """Loops first, then Cease to the peers, then health checks and the status endpoint."""
        stuck = await self.supervisor.stop()
        if stuck:
            log.warning("tasks did not stop in time: %s", ", ".join(stuck))
        await self.speaker.stop()
        await self.health.stop()
        await self.status.close()
        log.info("node %s: stopped", self.options.node)
