"""`bgplb controller` on Kubernetes: a leader-elected loop, source -> build_config -> allocate -> status.

Every replica runs the Kubernetes source (watches, so a standby is warm), leader election, the metrics
endpoint and one level-triggered reconcile loop (`runtime.reconcile`); only the leader writes. A pass:
1. `view()` the mirrors and `build_config` the configuration resources. A rejected configuration is logged
   (every error with object and field, once per change), exported (`k8s_client_config_stale_bool`,
   `config_errors`), written to the ConfigurationState `controller` and, by the leader, recorded as
   ConfigInvalid Events on the objects named and on that ConfigurationState (ConfigLoaded once it is valid
   again; `k8s_config_events`); the last good one stays in force.
2. As leader: `allocate(snapshot, config)`; for every Service whose mirrored status or pool annotation
   differs from its allocation, write it: up to `parallel_writes` Services at once, each write starting
   from the mirrored object (no GET; its resourceVersion makes a stale copy a 409, and the StatusWriter
   then re-reads). A Service whose mirror still shows the version our write replaced (the watch lags our
   own write) is not written again. Events (IPAllocated when a Service gets new addresses, ClearAssignment
   when observed addresses are released, AllocationFailed when a failure appears or changes) go to a
   bounded best-effort queue (`EventQueue`) so they never hold up a status write. So do MetalLB's two
   notices, once per Service and condition while this replica leads: deprecatedAnnotation for each old
   `metallb.universe.tf/` request annotation (address-pool, allow-shared-ip, loadBalancerIPs),
   LoadBalancerFailed when a Service that keeps its addresses requests IPs that cannot be read (without
   addresses the same request is an AllocationFailed). Allocation is rebuilt
   from the observed status each pass, so a restarted or newly elected controller changes nothing valid.
   Services that stop being ours (no longer LoadBalancer, or another loadBalancerClass) but still show our
   addresses or pool annotation are cleaned (`k8s_leaving`): ingress emptied, annotation removed, one
   ClearAssignment; their addresses go to nobody else before the cleared status is observed (reserved in
   `allocate`; a Service requesting one explicitly waits). A Service of another class that gets the same
   addresses back after our clear is left alone (another implementation writes them: a warning, no fight).
3. IPAddressPool status counters and the allocator metrics.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass

from lightkube import AsyncClient

from bgplb.adapters.k8s_event_reasons import (
    EventReason,
    allocation_failed_message,
    clear_assignment_message,
    ip_allocated_message,
)
from bgplb.adapters.k8s_events import EventQueue, ObjectRef
from bgplb.adapters.k8s_source import K8sSource, SourceOptions
from bgplb.adapters.k8s_status import POOL_ANNOTATION, StatusWriter, WriteOutcome
from bgplb.adapters.k8s_watch import Obj
from bgplb.adapters.leader_election import LeaderElector, LeaseSettings
from bgplb.adapters.metrics import Metrics, MetricsServer
from bgplb.config.build import build_config
from bgplb.config.models import Config
from bgplb.planning.allocation import (
    DEFAULT_CLASS,
    Allocation,
    AllocationFailure,
    PoolUsage,
    Release,
    allocate,
)
from bgplb.planning.snapshot import IPAddress, Service, ServiceRef
from bgplb.runtime.k8s_config_events import ConfigReport, error_target
from bgplb.runtime.k8s_config_source import ConfigSource
from bgplb.runtime.k8s_leaving import Cleanup, Leaving, leaving, other_class, waiting
from bgplb.runtime.k8s_notices import Notices
from bgplb.runtime.mirror_memo import MirrorMemo
from bgplb.runtime.reconcile import Reconciler, freeze_heap
from bgplb.runtime.tasks import Supervisor

log = logging.getLogger(__name__)

DEFAULT_HTTP_PORT = 7472
EVENT_DRAIN_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class ControllerOptions:
    """How the controller runs (the command line of `bgplb controller`)."""

    identity: str
    namespace: str = "metallb-system"
    leader_elect: bool = True
    lease_name: str = "bgplb-controller"
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    http_host: str = "0.0.0.0"
    http_port: int | None = DEFAULT_HTTP_PORT  # None: no HTTP endpoint
    config_source: ConfigSource = ConfigSource.METALLB
    lb_class: str | None = None
    cilium_secrets_namespace: str = "kube-system"
    ip_mode: bool = True
    resync: float = 300.0
    parallel_writes: int = 32
    event_queue: int = 4096  # Events waiting to be recorded; beyond that they are dropped (best effort)
    event_workers: int = 4


class K8sController:
    """The controller daemon; `run()` until `request_stop()` (SIGTERM) or a task failure."""

    def __init__(
        self, client: AsyncClient, options: ControllerOptions, metrics: Metrics | None = None
    ) -> None:
        self.options = options
        self.metrics = metrics or Metrics()
        self.loop = Reconciler("controller", self.reconcile, resync=options.resync)
        self.source = K8sSource(
            client,
            SourceOptions(
                config_namespace=options.namespace,
                metallb=options.config_source is ConfigSource.METALLB,
                cilium=options.config_source is ConfigSource.CILIUM,
                cilium_secrets_namespace=options.cilium_secrets_namespace,
                nodes_and_endpoints=False,
                resync=options.resync,
            ),
            on_change=self.loop.mark_dirty,
        )
        self.metrics.watch(self.source.watchers, self.source.secret_watchers)
        self.writer = StatusWriter(
            client, component="bgplb-controller", host=options.identity, ip_mode=options.ip_mode
        )
        self.events = EventQueue(
            self.writer, size=options.event_queue, workers=options.event_workers, on_done=self._event_done
        )
        self.elector: LeaderElector | None = None
        if options.leader_elect:
            settings = LeaseSettings(
                identity=options.identity,
                name=options.lease_name,
                namespace=options.namespace,
                lease_duration=options.lease_duration,
                renew_deadline=options.renew_deadline,
                retry_period=options.retry_period,
            )
            self.elector = LeaderElector(client, settings, self._leadership)
        self.config: Config | None = None
        self.allocation: Allocation | None = None
        self.config_report = ConfigReport(
            self.writer,
            self.events,
            self.metrics,
            options.namespace,
            lambda error: error_target(error, self.source.watchers),
        )
        self._failures: dict[ServiceRef, AllocationFailure] = {}
        self._releases: dict[ServiceRef, Release] = {}  # reported last pass (the mirror may lag our writes)
        self.notices = Notices(self.events.put)
        self._pool_usage: dict[str, tuple[PoolUsage, ...]] = {}
        self.cleanup = Cleanup()
        self._compared: MirrorMemo[bool] = MirrorMemo()  # writer.needs_update per mirrored Service
        # Service -> (the resourceVersion our last write replaced, the ips and pool written)
        self._written: dict[ServiceRef, tuple[str, tuple[IPAddress, ...], str | None]] = {}
        self.supervisor = Supervisor()
        self.server: MetricsServer | None = None
        self._stop = asyncio.Event()
        self._frozen = False  # freeze_heap() done

    @property
    def is_leader(self) -> bool:
        """Whether this replica may write (always, without leader election)."""
        return self.elector is None or self.elector.is_leader

    def ready(self) -> bool:
        """/readyz: the caches are synced and a configuration is in force."""
        return self.source.synced and self.config is not None

    def _leadership(self, leading: bool) -> None:
        self.metrics.leader.set(1 if leading else 0)
        if leading:
            self._failures.clear()  # a new leader reports current failures once
            self._releases.clear()
            self.notices.reset()
            self._pool_usage.clear()
            self._written.clear()
            self.cleanup = Cleanup()
            self.config_report.reset()
        self.loop.mark_dirty()

    # -- the pass ----------------------------------------------------------------------------------
    async def reconcile(self) -> None:
        """One pass (see the module docstring)."""
        if not self.source.synced:
            return
        start = time.perf_counter()
        view = self.source.view()
        built = build_config(view.resources)
        if built.config is not None:
            self.config = built.config
        await self.config_report.report(built, self.config is not None, self.is_leader)
        if self.config is None or not self.is_leader:
            return
        classes = (self.options.lb_class,) if self.options.lb_class else (DEFAULT_CLASS,)
        handle_unset = not self.options.lb_class
        services = {s.ref: s for s in view.snapshot.services}
        cleaning = leaving(
            services.values(), self.config, self._annotated, classes=classes, handle_unset_class=handle_unset
        )
        allocation = allocate(
            view.snapshot,
            self.config,
            load_balancer_classes=classes,
            handle_unset_class=handle_unset,
            reserved={ip for leave in cleaning.values() for ip in leave.ips},
        )
        later = waiting(allocation, services, cleaning)
        clears = self.cleanup.writes(cleaning, self._clear_stale)
        writes = asyncio.Semaphore(self.options.parallel_writes)

        async def apply(service: Service) -> None:
            async with writes:
                await self._apply(service, allocation)

        async def clear(ref: ServiceRef, leave: Leaving) -> None:
            async with writes:
                await self._clear(ref, leave)

        # the Services with an outcome, in the snapshot's order (sorted by ref: no sort of 10,000 refs here)
        handled = [
            s.ref
            for s in view.snapshot.services
            if s.ref in allocation.assignments or s.ref in allocation.failures
        ]
        async with asyncio.TaskGroup() as group:
            for ref in handled:
                if ref not in later and self._pending(services[ref], allocation):
                    group.create_task(apply(services[ref]))
            for ref, leave in clears:
                group.create_task(clear(ref, leave))
        if later:
            log.info("%d Service(s) wait for addresses still shown by Services being cleaned", len(later))
        self.cleanup.prune(
            cleaning, lambda ref: ref in services and other_class(services[ref], classes, handle_unset)
        )
        self._failures = dict(allocation.failures)
        self._releases = dict(allocation.released)
        self.notices.queue(handled, services, allocation, self.source.service_object, self._target)
        for gone in self._written.keys() - services.keys():
            del self._written[gone]
        self._compared.retain(services.keys())
        await self._pools(allocation)
        self.allocation = allocation
        if not self._frozen:
            self._frozen = True
            freeze_heap()
        log.debug(
            "controller pass: %d services in %.1f ms", len(services), (time.perf_counter() - start) * 1000
        )

    def _pending(self, service: Service, allocation: Allocation) -> bool:
        """Whether `_apply` has anything to do for this Service (most pass nothing: checked without I/O)."""
        ref = service.ref
        assignment = allocation.assignments.get(ref)
        ips, pool = (assignment.ips, assignment.pool) if assignment else ((), None)
        mirrored = self.source.service_object(ref)
        return (
            (ref in allocation.released and self._releases.get(ref) != allocation.released[ref])
            or mirrored is None
            or self._stale(ref, mirrored, ips, pool)
            or (ref in allocation.failures and self._failures.get(ref) != allocation.failures[ref])
        )

    def _stale(self, ref: ServiceRef, mirrored: Obj, ips: Sequence[IPAddress], pool: str | None) -> bool:
        """Whether the Service needs a write: its mirror differs from `ips`/`pool`, and is not simply the
        version our write of exactly these replaced (the watch has not yet brought our own write back)."""
        inputs = (tuple(ips), pool, self.writer.ip_mode, self.writer.annotate_pool)
        if not self._compared.get(
            ref, mirrored, inputs, lambda: self.writer.needs_update(mirrored, ips, pool)
        ):
            return False
        meta = mirrored.get("metadata") or {}
        return self._written.get(ref) != (str(meta.get("resourceVersion")), tuple(ips), pool)

    def _annotated(self, ref: ServiceRef) -> bool:
        meta = (self.source.service_object(ref) or {}).get("metadata") or {}
        return POOL_ANNOTATION in (meta.get("annotations") or {})

    def _clear_stale(self, ref: ServiceRef) -> bool:
        mirrored = self.source.service_object(ref)
        return mirrored is not None and self._stale(ref, mirrored, (), None)

    async def _clear(self, ref: ServiceRef, leave: Leaving) -> None:
        """Empty the ingress and remove the pool annotation of a Service that is no longer ours."""
        if self.cleanup.event_due(ref, leave):
            log.info("Service %s: clearing %s (%s)", ref, ", ".join(map(str, leave.ips)), leave.detail)
            message = clear_assignment_message(leave.ips, leave.detail)
            self.events.put(self._target(ref), EventReason.CLEAR_ASSIGNMENT, message)
        mirrored = self.source.service_object(ref)
        outcome = await self.writer.set_service_ips(ref, (), None, cached=mirrored)
        self.metrics.status_writes.labels(outcome=outcome.value).inc()
        if outcome == WriteOutcome.WRITTEN and mirrored is not None:
            self._written[ref] = (str((mirrored.get("metadata") or {}).get("resourceVersion")), (), None)
            self.cleanup.written(ref, leave)

    def _target(self, ref: ServiceRef) -> ObjectRef:
        """Service `ref` as an Event's object, with its uid when mirrored (`kubectl describe` needs it)."""
        uid = ((self.source.service_object(ref) or {}).get("metadata") or {}).get("uid")
        return ObjectRef.service(ref, str(uid) if uid else None)

    async def _apply(self, service: Service, allocation: Allocation) -> None:
        ref = service.ref
        assignment = allocation.assignments.get(ref)
        ips = assignment.ips if assignment is not None else ()
        pool = assignment.pool if assignment is not None else None
        release = allocation.released.get(ref)
        if release is not None and self._releases.get(ref) != release:
            await self._event(
                ref, EventReason.CLEAR_ASSIGNMENT, clear_assignment_message(release.ips, release.detail)
            )
        mirrored = self.source.service_object(ref)
        if mirrored is None or self._stale(ref, mirrored, ips, pool):
            outcome = await self.writer.set_service_ips(ref, ips, pool, cached=mirrored)
            self.metrics.status_writes.labels(outcome=outcome.value).inc()
            if outcome == WriteOutcome.WRITTEN and mirrored is not None:
                version = str((mirrored.get("metadata") or {}).get("resourceVersion"))
                self._written[ref] = (version, tuple(ips), pool)
            if outcome == WriteOutcome.WRITTEN and ips and set(ips) != set(service.current_ips):
                log.info("Service %s: assigned %s from pool %s", ref, ", ".join(map(str, ips)), pool)
                await self._event(ref, EventReason.IP_ALLOCATED, ip_allocated_message(ips))
        failure = allocation.failures.get(ref)
        if failure is not None and self._failures.get(ref) != failure:
            log.warning("Service %s gets no address: %s (%s)", ref, failure.detail, failure.reason.value)
            await self._event(
                ref, EventReason.ALLOCATION_FAILED, allocation_failed_message(ref, failure.detail)
            )

    async def _event(self, ref: ServiceRef, reason: EventReason, message: str) -> None:
        self.events.put(self._target(ref), reason, message)

    def _event_done(self, reason: EventReason, recorded: bool) -> None:
        if recorded:
            self.metrics.events.labels(reason=reason.value).inc()
        else:
            self.metrics.events_dropped.labels(reason=reason.value).inc()

    async def _pools(self, allocation: Allocation) -> None:
        assert self.config is not None
        totals: dict[str, tuple[int, int]] = {}
        for row in allocation.usage:
            used, total = totals.get(row.pool, (0, 0))
            totals[row.pool] = (used + row.assigned, total + row.assigned + row.available)
        self.metrics.set_pool_usage(totals)
        for pool in self.config.pools:
            if pool.origin.kind != "IPAddressPool":
                continue  # Cilium pools and legacy ConfigMap pools have no such status
            usage = tuple(row for row in allocation.usage if row.pool == pool.name)
            if self._pool_usage.get(pool.name) != usage:
                await self.writer.set_pool_status(pool.namespace or self.options.namespace, pool.name, usage)
                self._pool_usage[pool.name] = usage

    # -- life cycle ---------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Begin the ordered shutdown."""
        self._stop.set()

    async def run(self, *, signals: bool = True) -> int:
        """Start everything; 0 after a stop request, 1 when a supervised task failed."""
        loop = asyncio.get_running_loop()
        if signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self.request_stop)
        if self.options.http_port is not None:
            self.server = MetricsServer(
                self.metrics, self.ready, self.options.http_host, self.options.http_port
            )
            port = await self.server.start()
            log.info("metrics, healthz and readyz on port %d", port)
        self.supervisor.spawn("k8s-source", self.source.run())
        if self.elector is not None:
            self.supervisor.spawn("leader-election", self.elector.run())
        self.supervisor.spawn("controller", self.loop.run())
        self.supervisor.spawn("events", self.events.run())
        code = await self.supervisor.wait_stop_or_failure(self._stop)
        if code == 0:
            await self.events.drain(EVENT_DRAIN_TIMEOUT)  # queued Events are recorded before we go
        await self.supervisor.stop()
        if self.elector is not None:
            await self.elector.release()
        if self.server is not None:
            await self.server.close()
        if signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
        return code
