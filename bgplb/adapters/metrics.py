"""Prometheus metrics, and a tiny HTTP endpoint for /metrics, /healthz and /readyz (stdlib asyncio streams).

Names follow MetalLB's where one exists, with the `bgplb_` prefix instead of `metallb_`, so dashboards and
alerts port by a rename: bgp_session_up{peer}, bgp_updates_total{peer}, bgp_announced_prefixes_total{peer},
allocator_addresses_in_use_total{pool}, allocator_addresses_total{pool}, k8s_client_config_loaded_bool,
k8s_client_config_stale_bool (1 while a rejected configuration is being ignored and the last good one runs).
bgplb's own: leader_is_leader, config_errors, k8s_status_writes_total{outcome}, k8s_events_total{reason},
k8s_events_dropped_total{reason},
and — read from the Kubernetes source's watchers at scrape time — k8s_watch_events_total{kind},
k8s_watch_bookmarks_total{kind}, k8s_watch_lists_total{kind}, k8s_watch_restarts_total{kind,reason}.

Every daemon owns one `Metrics` with its own CollectorRegistry (tests make as many as they like). The endpoint
answers GET only; /healthz is 200 while the process serves, /readyz asks a callable (e.g. "the caches are
synced"). Requests are read with a size limit and a timeout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from bgplb.adapters.http_endpoint import HttpEndpoint, response
from bgplb.adapters.k8s_watch import KindWatcher

PREFIX = "bgplb"
DEFAULT_PORT = 7472


class Metrics:
    """The metric objects of one daemon, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.bgp_session_up = Gauge(
            "bgp_session_up", "BGP session state (1 Established)", ["peer"], namespace=PREFIX, registry=r
        )
        self.bgp_updates = Counter(
            "bgp_updates_total", "BGP UPDATE messages sent", ["peer"], namespace=PREFIX, registry=r
        )
        self.bgp_announced_prefixes = Gauge(
            "bgp_announced_prefixes_total",
            "Prefixes announced to the peer",
            ["peer"],
            namespace=PREFIX,
            registry=r,
        )
        self.addresses_in_use = Gauge(
            "allocator_addresses_in_use_total",
            "Addresses assigned from the pool",
            ["pool"],
            namespace=PREFIX,
            registry=r,
        )
        self.addresses_total = Gauge(
            "allocator_addresses_total",
            "Usable addresses in the pool",
            ["pool"],
            namespace=PREFIX,
            registry=r,
        )
        self.config_loaded = Gauge(
            "k8s_client_config_loaded_bool", "1 once a configuration was loaded", namespace=PREFIX, registry=r
        )
        self.config_stale = Gauge(
            "k8s_client_config_stale_bool",
            "1 while running on a stale configuration (the latest is invalid)",
            namespace=PREFIX,
            registry=r,
        )
        self.config_errors = Gauge(
            "config_errors", "Errors in the latest configuration", namespace=PREFIX, registry=r
        )
        self.leader = Gauge(
            "leader_is_leader", "1 while this replica holds the leader lease", namespace=PREFIX, registry=r
        )
        self.status_writes = Counter(
            "k8s_status_writes_total",
            "Service/pool status writes by outcome",
            ["outcome"],
            namespace=PREFIX,
            registry=r,
        )
        self.events = Counter(
            "k8s_events_total",
            "Kubernetes Events recorded by reason",
            ["reason"],
            namespace=PREFIX,
            registry=r,
        )
        self.events_dropped = Counter(
            "k8s_events_dropped_total",
            "Kubernetes Events not recorded (queue full, or the API server refused them) by reason",
            ["reason"],
            namespace=PREFIX,
            registry=r,
        )

    def watch(self, *collections: Mapping[Any, KindWatcher]) -> None:
        """Export the counters of a Kubernetes source's watchers (read at scrape time, so watchers added to
        or removed from these mappings later, like the per-Secret ones, are followed)."""
        self.registry.register(_WatchCollector(collections))

    def set_pool_usage(self, usage: Mapping[str, tuple[int, int]]) -> None:
        """Pool name -> (in use, total); pools no longer present are dropped."""
        for gauge in (self.addresses_in_use, self.addresses_total):
            gauge.clear()
        for pool, (in_use, total) in usage.items():
            self.addresses_in_use.labels(pool=pool).set(in_use)
            self.addresses_total.labels(pool=pool).set(total)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


class _WatchCollector(Collector):
    def __init__(self, collections: tuple[Mapping[Any, KindWatcher], ...]) -> None:
        self.collections = collections

    def collect(self) -> Iterator[CounterMetricFamily]:
        events = CounterMetricFamily(f"{PREFIX}_k8s_watch_events", "Watch events applied", labels=["kind"])
        marks = CounterMetricFamily(f"{PREFIX}_k8s_watch_bookmarks", "Watch bookmarks seen", labels=["kind"])
        lists = CounterMetricFamily(
            f"{PREFIX}_k8s_watch_lists", "Full lists (initial and relists)", labels=["kind"]
        )
        restarts = CounterMetricFamily(
            f"{PREFIX}_k8s_watch_restarts", "Watch restarts by reason", labels=["kind", "reason"]
        )
        for watcher in (w for watchers in self.collections for w in list(watchers.values())):
            label = watcher.kind.label
            events.add_metric([label], watcher.stats.events)
            marks.add_metric([label], watcher.stats.bookmarks)
            lists.add_metric([label], watcher.stats.lists)
            for reason, count in sorted(watcher.stats.restarts.items()):
                restarts.add_metric([label, reason.value], count)
        yield from (events, marks, lists, restarts)


class MetricsServer(HttpEndpoint):
    """Serves /metrics, /healthz and /readyz on host:port until `close()`."""

    def __init__(
        self,
        metrics: Metrics,
        ready: Callable[[], bool] = lambda: True,
        host: str = "0.0.0.0",
        port: int = DEFAULT_PORT,
    ) -> None:
        super().__init__(host, port)
        self.metrics = metrics
        self.ready = ready

    def answer(self, method: str, path: str) -> bytes:
        """The full HTTP response for one request."""
        route = path.split("?", maxsplit=1)[0].rstrip("/")
        text = "text/plain; charset=utf-8"
        if method != "GET":
            return response("405 Method Not Allowed", text, b"only GET\n")
        if route == "/metrics":
            return response("200 OK", CONTENT_TYPE_LATEST, self.metrics.render())
        if route == "/healthz":
            return response("200 OK", text, b"ok\n")
        if route == "/readyz":
            if self.ready():
                return response("200 OK", text, b"ready\n")
            return response("503 Service Unavailable", text, b"not ready\n")
        return response("404 Not Found", text, b"try /metrics, /healthz or /readyz\n")
