"""`bgplb speaker`: one node's BGP announcements, driven by the Kubernetes API.

Tasks (named, supervised, see `tasks`): `k8s-source` mirrors the cluster (list-then-watch, see
adapters/k8s_source.py; every event only marks the loop dirty), `speaker` is the one level-triggered
reconcile loop of the announcements (see `reconcile`; it also resyncs on a timer). One pass:

    source.view() -> build_config (rebuilt only when the configuration objects changed; a rejected one
    leaves the last good Config in force) -> BGP passwords filled in from their Secrets
    -> announce(snapshot, config, node) -> sessions.apply(plan): one transport per peer, set_routes with
    the full route set -> mark `speaker-status` dirty

`speaker-status` is a second level-triggered loop that only writes what the latest pass decided:
ConfigurationState `speaker-<node>` (valid, or every error with kind, name and field), ServiceBGPStatus per
announced Service and the Event nodeAssigned (adapters/k8s_speaker_status.py). Keeping the API writes out
of the BGP pass means thousands of status writes (a first start with 10,000 Services) never delay a route.

Nothing happens before every collection has been listed once: a pass on a half-filled cache would withdraw
routes the cluster still wants. The HTTP server (`--http-port`) serves /metrics (session metrics read from
the transports at scrape time), /healthz, /readyz (synced and a configuration in force) and the /status
views `bgplb status` reads. SIGTERM/SIGINT: the loop and the watches stop, every peer gets a Cease
(routers withdraw at once), this node's ServiceBGPStatus objects are deleted, the HTTP server closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, Protocol

import httpx2
from lightkube import ApiError, AsyncClient

from bgplb.adapters.k8s_source import K8sSource, SourceOptions
from bgplb.adapters.k8s_speaker_status import SpeakerStatus, announced_services
from bgplb.adapters.k8s_status import StatusWriter
from bgplb.adapters.metrics import Metrics
from bgplb.config.build import BuildResult, build_config
from bgplb.config.models import BgpPeer, Config
from bgplb.planning.allocation import DEFAULT_CLASS
from bgplb.planning.announcement import NodeAnnouncements, announce
from bgplb.planning.snapshot import Node, ServiceRef
from bgplb.runtime import report
from bgplb.runtime.k8s_config_source import ConfigSource
from bgplb.runtime.k8s_report import SessionMetrics, SpeakerHttp, config_json
from bgplb.runtime.k8s_sessions import ListeningSessions
from bgplb.runtime.reconcile import Reconciler, freeze_heap
from bgplb.runtime.speaker import PeerKey, SessionView, SpeakerLoop
from bgplb.runtime.tasks import Supervisor

log = logging.getLogger(__name__)

DEFAULT_HTTP_PORT = 7473
SHUTDOWN_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class SpeakerOptions:
    """Everything `bgplb speaker` is told on the command line."""

    node: str
    namespace: str = "metallb-system"
    http_port: int = DEFAULT_HTTP_PORT
    http_host: str = "0.0.0.0"
    config_source: ConfigSource = ConfigSource.METALLB
    lb_class: str | None = None
    cilium_secrets_namespace: str = "kube-system"
    resync: float = 30.0
    source_resync: float = 300.0
    router_id: IPv4Address | None = None
    bgp_listen_port: int = 0  # 0: dial only (one transport per peer); else also accept on this port


class Sessions(Protocol):
    """The BGP side of a pass (runtime.speaker.SpeakerLoop; a recording fake in tests)."""

    errors: dict[PeerKey, str]

    async def apply(self, plan: NodeAnnouncements, node: Node | None) -> None:
        """Make the sessions and their routes match `plan`."""

    def sessions(self) -> list[SessionView]:
        """Every running session."""

    async def stop(self) -> None:
        """Cease to every peer."""


def with_passwords(config: Config, password: Callable[[str, str], str | None]) -> tuple[Config, list[str]]:
    """`config` with each BGPPeer's passwordSecret resolved (`password(namespace, name)`), and the peers
    whose Secret has no `password` key (they run without TCP MD5)."""
    peers: list[BgpPeer] = []
    missing: list[str] = []
    for peer in config.peers:
        secret = peer.password_secret
        if secret is not None and not peer.password:
            value = password(secret.namespace or peer.namespace, secret.name)
            if value is None:
                missing.append(f"BGPPeer {peer.name}: Secret {secret.name} has no `password` key")
            peers.append(peer.model_copy(update={"password": value}))
        else:
            peers.append(peer)
    return config.model_copy(update={"peers": tuple(peers)}), missing


class K8sSpeaker:
    """The wiring of one node's speaker; `run()` until SIGTERM (or `request_stop()`)."""

    def __init__(
        self,
        client: AsyncClient,
        options: SpeakerOptions,
        *,
        sessions: Sessions | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options
        self.supervisor = Supervisor()
        self.loop = Reconciler("speaker", self.reconcile, resync=options.resync)
        self.status_loop = Reconciler("speaker-status", self.publish_status, resync=options.resync)
        cilium = options.config_source is ConfigSource.CILIUM
        source_options = SourceOptions(
            config_namespace=options.namespace,
            metallb=not cilium,
            cilium=cilium,
            cilium_secrets_namespace=options.cilium_secrets_namespace,
            nodes_and_endpoints=True,
            resync=options.source_resync,
        )
        self.source = K8sSource(client, source_options, on_change=self.loop.mark_dirty)
        if sessions is None and options.bgp_listen_port:
            sessions = ListeningSessions(options.node, options.bgp_listen_port, options.router_id)
        self.sessions: Sessions = sessions or SpeakerLoop(options.node, options.router_id)
        self.metrics = metrics or Metrics()
        self.metrics.watch(self.source.watchers, self.source.secret_watchers)
        self.session_metrics = SessionMetrics(self.metrics)
        writer = StatusWriter(client, component="bgplb-speaker", host=options.node)
        self.status = SpeakerStatus(
            writer,
            options.namespace,
            options.node,
            on_write=lambda outcome: self.metrics.status_writes.labels(outcome=outcome.value).inc(),
            on_event=lambda reason: self.metrics.events.labels(reason=reason.value).inc(),
            uid_of=self._service_uid,
        )
        self.http = SpeakerHttp(
            self.metrics,
            self._views(),
            ready=self.ready,
            refresh=lambda: self.session_metrics.update(self.sessions.sessions()),
            host=options.http_host,
            port=options.http_port,
        )
        self.config: Config | None = None
        self.build: BuildResult | None = None
        self.plan: NodeAnnouncements | None = None
        self._resources: tuple[Mapping[str, Any], ...] | None = None
        self._noted: dict[str, list[str]] = {}
        self._clock = clock
        self._stop = asyncio.Event()
        self._frozen = False  # freeze_heap() done

    # -- the pass ---------------------------------------------------------------------------------------
    def ready(self) -> bool:
        """/readyz: every collection listed and a configuration in force."""
        return self.source.synced and self.config is not None

    def _load_config(self, resources: tuple[Mapping[str, Any], ...]) -> None:
        """Build the configuration when its objects changed; a rejected one leaves the last good in force."""
        if resources == self._resources and self.build is not None:
            return
        self._resources = resources
        result = build_config(resources)
        self.build = result
        for warning in result.warnings:
            log.warning("config: %s", warning)
        for error in result.errors:
            log.error("config: %s", error)
        if result.config is not None:
            self.config = result.config
            log.info(
                "config: loaded (%d peers, %d pools)", len(result.config.peers), len(result.config.pools)
            )
        else:
            keep = "the last good configuration stays in force" if self.config else "nothing is announced"
            log.error("config: %d error(s); %s", len(result.errors), keep)
        self.metrics.config_loaded.set(1 if self.config is not None else 0)
        self.metrics.config_stale.set(1 if result.config is None and self.config is not None else 0)
        self.metrics.config_errors.set(len(result.errors))

    async def reconcile(self) -> None:
        """One pass (see the module docstring)."""
        if not self.source.synced:
            return
        start = time.perf_counter()
        view = self.source.view()
        self._note("objects", view.warnings)
        self._load_config(view.resources)
        if self.config is None:
            self.status_loop.mark_dirty()  # report the rejection
            return
        config, missing = with_passwords(self.config, self.source.password)
        self._note("passwords", [f"{text}; the session runs without TCP MD5" for text in missing])
        node = self.options.node
        classes = (self.options.lb_class,) if self.options.lb_class else (DEFAULT_CLASS,)
        plan = announce(
            view.snapshot,
            config,
            node,
            load_balancer_classes=classes,
            handle_unset_class=not self.options.lb_class,
        )
        me = next((n for n in view.snapshot.nodes if n.name == node), None)
        self._note(
            "node", [] if me else [f"node {node} is not in the cluster's Node list; announcing nothing"]
        )
        await self.sessions.apply(plan, me)
        self.plan = plan
        if not self._frozen:
            self._frozen = True
            freeze_heap()
        self.session_metrics.update(self.sessions.sessions())
        self.status_loop.mark_dirty()
        routes = sum(len(s.routes) for s in plan.sessions)
        elapsed = (time.perf_counter() - start) * 1000
        log.debug("speaker pass: %d routes to %d peers in %.1f ms", routes, len(plan.sessions), elapsed)

    def _service_uid(self, ref: ServiceRef) -> str | None:
        uid = ((self.source.service_object(ref) or {}).get("metadata") or {}).get("uid")
        return str(uid) if uid else None

    def _note(self, topic: str, lines: Sequence[str]) -> None:
        """Log `lines` as warnings when they differ from the last ones of `topic` (not on every pass)."""
        if list(lines) != self._noted.get(topic, []):
            for line in lines:
                log.warning("%s", line)
            self._noted[topic] = list(lines)

    async def publish_status(self) -> None:
        """The status pass: ConfigurationState, then ServiceBGPStatus and Events for the latest plan.

        A failure is logged and retried on a later pass; the announcements stand."""
        build, plan = self.build, self.plan
        try:
            if build is not None:
                await self.status.report_config(build.errors, len(build.warnings), self._clock())
            if plan is not None:
                await self.status.publish(announced_services(plan))
        except (ApiError, httpx2.HTTPError, OSError) as exc:
            log.warning("status write failed (retried on a later pass): %r", exc)

    def _views(self) -> dict[str, report.ViewBuilder]:
        node = self.options.node
        return {
            "sessions": lambda: report.session_rows(self.sessions.sessions()),
            "routes": lambda: report.route_rows(self.sessions.sessions()),
            "services": lambda: report.service_rows(node, self.plan, None),
            "config": lambda: config_json(self.build, self.config is not None, self.sessions.errors),
        }

    # -- life cycle -------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Begin the ordered shutdown."""
        self._stop.set()

    async def start(self) -> int:
        """Open the HTTP endpoint and start the source and the loop; returns the HTTP port."""
        port = await self.http.start()
        self.supervisor.spawn("k8s-source", self.source.run())
        self.supervisor.spawn("speaker", self.loop.run())
        self.supervisor.spawn("speaker-status", self.status_loop.run())
        log.info("node %s: speaker started; metrics and status on port %d", self.options.node, port)
        return port

    async def run(self) -> int:
        """Start, wait for SIGTERM/SIGINT or a task failure, shut down in order; the exit code."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop)
        await self.start()
        code = await self.supervisor.wait_stop_or_failure(self._stop)
        await self.shutdown()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        return code

    async def shutdown(self) -> None:
        """The loop and watches first, then Cease to every peer, then the status objects and the endpoint."""
        stuck = await self.supervisor.stop()
        if stuck:
            log.warning("tasks did not stop in time: %s", ", ".join(stuck))
        await self.sessions.stop()
        log.info("node %s: sent Cease to every peer", self.options.node)
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                await self.status.withdraw_all()
        except Exception as exc:  # best effort: the objects are rewritten or deleted by the next start
            log.warning("could not delete this node's ServiceBGPStatus objects: %r", exc)
        with contextlib.suppress(OSError):
            await self.http.close()
        log.info("node %s: stopped", self.options.node)
