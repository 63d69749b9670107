"""What a Kubernetes speaker shows: session metrics, and its HTTP endpoint with the /status views.

`SpeakerHttp` is the metrics endpoint (adapters/metrics.py: /metrics, /healthz, /readyz) plus
`/status` and `/status/<view>` answering the same JSON as `bgplb run`'s status endpoint (runtime/report.py),
so `bgplb status --kubeconfig` can ask each node's speaker for its sessions. The session metrics
(MetalLB's names: bgp_session_up, bgp_updates_total, bgp_announced_prefixes_total, labelled with the
peer's `address:port`) are refreshed from the transports' peer status before every scrape and every pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping

from bgplb.adapters.metrics import Metrics, MetricsServer
from bgplb.bgp.constants import MessageType
from bgplb.bgp.fsm import State
from bgplb.config.build import BuildResult
from bgplb.runtime import report
from bgplb.runtime.speaker import PeerKey, SessionView

STATUS_PATH = "/status"


def peer_label(view: SessionView) -> str:
    """MetalLB's `peer` label: address:port ([address]:port for IPv6)."""
    address = view.status.address
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"{host}:{view.peer.peer_port}"


class SessionMetrics:
    """Session metrics of one daemon; remembers the UPDATEs already counted per peer (a Counter only goes up,
    and a replaced transport starts again at 0)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._counted: dict[str, int] = {}

    def update(self, sessions: Iterable[SessionView]) -> None:
        """Set bgp_session_up, bgp_announced_prefixes_total and bgp_updates_total from the sessions."""
        m = self.metrics
        current: set[str] = set()
        m.bgp_session_up.clear()
        m.bgp_announced_prefixes.clear()
        for view in sessions:
            label = peer_label(view)
            current.add(label)
            m.bgp_session_up.labels(peer=label).set(1 if view.status.state is State.ESTABLISHED else 0)
            m.bgp_announced_prefixes.labels(peer=label).set(len(view.routes))
            updates = view.status.stats.messages_out.get(MessageType.UPDATE, 0)
            before = self._counted.get(label, 0)
            m.bgp_updates.labels(peer=label).inc(updates - before if updates >= before else updates)
            self._counted[label] = updates
        for label in [label for label in self._counted if label not in current]:
            del self._counted[label]
            m.bgp_updates.remove(label)


def config_json(build: BuildResult | None, running: bool, peer_errors: Mapping[PeerKey, str]) -> report.Json:
    """Whether a configuration runs; the latest one's errors and warnings; peers that cannot be dialled."""
    return {
        "running": running,
        "last_load_ok": build is not None and build.config is not None,
        "errors": [str(e) for e in build.errors] if build is not None else [],
        "warnings": [str(w) for w in build.warnings] if build is not None else [],
        "peer_errors": [peer_errors[key] for key in sorted(peer_errors)],
    }


def _json_response(status: str, body: object) -> bytes:
    data = json.dumps(body, sort_keys=True).encode()
    head = f"HTTP/1.0 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


class SpeakerHttp(MetricsServer):
    """/metrics, /healthz, /readyz and the /status views of one speaker."""

    def __init__(
        self,
        metrics: Metrics,
        views: Mapping[str, report.ViewBuilder],
        *,
        ready: Callable[[], bool],
        refresh: Callable[[], None],
        host: str,
        port: int,
    ) -> None:
        super().__init__(metrics, ready, host=host, port=port)
        self.views = views
        self.refresh = refresh

    def answer(self, method: str, path: str) -> bytes:
        """The HTTP response for one request (the status views here, the rest in MetricsServer)."""
        route = path.split("?", maxsplit=1)[0].rstrip("/")
        if method == "GET" and (route == STATUS_PATH or route.startswith(STATUS_PATH + "/")):
            name = route[len(STATUS_PATH) + 1 :]
            if not name:
                return _json_response("200 OK", {key: build() for key, build in self.views.items()})
            if name in self.views:
                return _json_response("200 OK", {name: self.views[name]()})
            return _json_response(
                "404 Not Found", {"error": f"no view {name!r}", "views": sorted(self.views)}
            )
        if route == "/metrics":
            self.refresh()
        return super().answer(method, path)
