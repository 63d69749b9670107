"""`bgplb speaker` end to end: API-server double -> speaker process -> a real FRR, in network namespaces.

Topology: namespace `router` (FRR, AS 64500, 10.0.0.1) -- veth -- namespace `node` (10.0.0.2), where the
speaker runs as `ip netns exec <node> python -m bgplb speaker --kubeconfig FILE`. The API-server double
runs on its own event loop in a thread that entered the node's namespace, so it listens on that
namespace's 127.0.0.1 and the kubeconfig points there; the test changes the double's store through that
loop. Checked: a Cluster-policy Service is announced; an externalTrafficPolicy Local Service follows its
EndpointSlice (this node gains and loses the endpoint, FRR's kernel table follows); SIGTERM -> Cease, the
route leaves FRR at once, ServiceBGPStatus objects are deleted, exit code 0. Latencies are printed (-s).
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bgplb.lab.daemons import BgpSpec, Neighbor, wait_established
from bgplb.lab.frr import FrrRouter
from bgplb.lab.netns import Namespace, Netkit
from bgplb.lab.wait import wait_for
from tests.adapters.thread_netns import entered
from tests.k8s_double.server import ApiServerDouble
from tests.k8s_double.store import KIND_BY_PATH
from tests.runtime.k8s_objects import cluster, endpoint_slice, seed, service

T = TypeVar("T")
ip = ipaddress.ip_address
NODE_IP = "10.0.0.2"
SLICES = KIND_BY_PATH[("discovery.k8s.io", "endpointslices")]
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{{name: double, cluster: {{server: "{url}"}}}}]
users: [{{name: test, user: {{token: double}}}}]
contexts: [{{name: test, context: {{cluster: double, user: test, namespace: default}}}}]
current-context: test
"""


class ThreadedDouble:
    """The API-server double on its own event loop, in a thread inside network namespace `netns`."""

    def __init__(self, netns: str) -> None:
        self._ready: Future[tuple[asyncio.AbstractEventLoop, ApiServerDouble]] = Future()
        self._thread = threading.Thread(target=self._main, args=(netns,), name="api-double", daemon=True)
        self._stop: asyncio.Event | None = None
        self._thread.start()
        self.loop, self.api = self._ready.result(timeout=10)

    def _main(self, netns: str) -> None:
        with entered(netns):
            asyncio.run(self._serve())

    async def _serve(self) -> None:
        try:
            self._stop = asyncio.Event()
            async with ApiServerDouble() as api:
                self._ready.set_result((asyncio.get_running_loop(), api))
                await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise

    def call(self, fn: Callable[[ApiServerDouble], T]) -> T:
        """Run `fn(api)` on the double's loop (its store and watch queues are not thread-safe)."""

        async def run() -> T:
            return fn(self.api)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=10)

    def close(self) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


@pytest.fixture
def double_in() -> Iterator[Callable[[Namespace], ThreadedDouble]]:
    started: list[ThreadedDouble] = []

    def start(ns: Namespace) -> ThreadedDouble:
        started.append(ThreadedDouble(ns.name))
        return started[-1]

    yield start
    for double in started:
        double.close()


def bgp_statuses(api: ApiServerDouble) -> list[dict[str, Any]]:
    return api.objects("servicebgpstatuses", group="bgplb.io")


@pytest.mark.netns
@pytest.mark.interop
@pytest.mark.timeout(120)
def test_speaker_follows_endpoint_slices_into_frr_and_ceases_on_sigterm(
    netkit: Netkit, tmp_path: Path, double_in: Callable[[Namespace], ThreadedDouble]
) -> None:
    router = netkit.namespace("router", forwarding=True)
    node = netkit.namespace("node")
    netkit.veth(router, node, ["10.0.0.1/24"], [f"{NODE_IP}/24"])
    frr = FrrRouter(
        router, BgpSpec(64500, ipaddress.IPv4Address("10.0.0.1"), (Neighbor(ip(NODE_IP), 64501),))
    )
    frr.start()

    double = double_in(node)
    double.call(lambda api: cluster(api, peer_address="10.0.0.1", node_name="node-1"))
    double.call(
        lambda api: seed(
            api,
            service("always", "192.168.10.241"),
            endpoint_slice("always", "node-2"),
            service("local", "192.168.10.240", policy="Local"),
            endpoint_slice("local", "node-2"),
        )
    )
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG.format(url=double.api.url))
    argv = [sys.executable, "-m", "bgplb", "speaker", "--node", "node-1", "--kubeconfig", str(kubeconfig)]
    argv += ["--http-port", "7473", "--log-format", "json", "--log-level", "debug"]
    proc = netkit.spawn(node, argv, name="speaker")

    def kernel() -> dict[ipaddress.IPv4Network | ipaddress.IPv6Network, list[str]]:
        return frr.kernel_routes(4)

    def wait_routes(ready: Callable[[dict[Any, list[str]]], bool], what: str, timeout: float = 15) -> float:
        start = time.monotonic()
        wait_for(kernel, ready=ready, timeout=timeout, interval=0.005, description=what)
        return time.monotonic() - start

    always, local = ipaddress.ip_network("192.168.10.241/32"), ipaddress.ip_network("192.168.10.240/32")
    wait_established(frr, ip(NODE_IP), timeout=20)
    wait_routes(lambda table: table.get(always) == [NODE_IP], "the Cluster-policy Service via the node")
    assert local not in kernel()  # Local policy, endpoint on node-2 only: decided in the same pass

    # the endpoint moves onto this node: announced; moves away: withdrawn
    slice_here = endpoint_slice("local", "node-2", "node-1")
    double.call(lambda api: api.store.update(SLICES, "default", "local-abcde", slice_here))
    added = wait_routes(lambda table: table.get(local) == [NODE_IP], "the Local Service announced")
    slice_away = endpoint_slice("local", "node-2")
    double.call(lambda api: api.store.update(SLICES, "default", "local-abcde", slice_away))
    removed = wait_routes(lambda table: local not in table, "the Local Service withdrawn")
    assert always in kernel()
    names = {o["metadata"]["name"] for o in double.call(bgp_statuses)}
    assert names == {"default.always.node-1"}
    events = double.call(lambda api: api.objects("events", namespace="default"))
    assigned = sorted(e["involvedObject"]["name"] for e in events if e["reason"] == "nodeAssigned")
    assert assigned == ["always", "local"]

    # the speaker's own endpoint, asked from inside its namespace
    metrics = node.run(
        [
            sys.executable,
            "-c",
            "import urllib.request as u; print(u.urlopen('http://127.0.0.1:7473/metrics').read().decode())",
        ]
    ).stdout
    assert 'bgplb_bgp_session_up{peer="10.0.0.1:179"} 1.0' in metrics
    assert 'bgplb_bgp_announced_prefixes_total{peer="10.0.0.1:179"} 1.0' in metrics

    # SIGTERM: Cease, the route leaves the router at once (hold time 90 s), status objects deleted
    proc.signal(signal.SIGTERM)
    gone = wait_routes(lambda table: always not in table, "the route gone after SIGTERM", timeout=5)
    assert proc.popen.wait(10) == 0
    neighbor = frr.neighbors()[NODE_IP]
    assert neighbor["bgpState"] != "Established"
    assert neighbor["lastNotificationReason"] == "Cease/Administrative Shutdown"
    assert neighbor["lastResetDueTo"] == "BGP Notification received"
    assert double.call(bgp_statuses) == []
    print(
        f"\nEndpointSlice change -> FRR kernel route: added {added * 1000:.0f} ms,"
        f" removed {removed * 1000:.0f} ms; SIGTERM -> route gone {gone * 1000:.0f} ms"
    )


@pytest.mark.netns
@pytest.mark.interop
@pytest.mark.timeout(120)
def test_speaker_accepts_the_routers_connection_with_bgp_listen_port(
    netkit: Netkit, tmp_path: Path, double_in: Callable[[Namespace], ThreadedDouble]
) -> None:
    """FRR dials the speaker on port 1179; the speaker's own dial goes to a closed port, so the session
    can only come up through the speaker's listener."""
    router = netkit.namespace("router", forwarding=True)
    node = netkit.namespace("node")
    netkit.veth(router, node, ["10.0.0.1/24"], [f"{NODE_IP}/24"])
    neighbor = Neighbor(ip(NODE_IP), 64501, port=1179)
    frr = FrrRouter(router, BgpSpec(64500, ipaddress.IPv4Address("10.0.0.1"), (neighbor,)))
    frr.start()
    double = double_in(node)
    double.call(lambda api: cluster(api, peer_address="10.0.0.1", node_name="node-1", peerPort=1))
    double.call(lambda api: seed(api, service("web", "192.168.10.241"), endpoint_slice("web", "node-2")))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG.format(url=double.api.url))
    argv = [sys.executable, "-m", "bgplb", "speaker", "--node", "node-1", "--kubeconfig", str(kubeconfig)]
    argv += ["--http-port", "7473", "--bgp-listen-port", "1179"]
    proc = netkit.spawn(node, argv, name="speaker-listening")
    wait_established(frr, ip(NODE_IP), timeout=30)
    web = ipaddress.ip_network("192.168.10.241/32")
    wait_for(frr.kernel_routes, ready=lambda table: web in table, timeout=15, description="the route")
    proc.signal(signal.SIGTERM)
    wait_for(frr.kernel_routes, ready=lambda table: web not in table, timeout=5, description="withdrawn")
    assert proc.popen.wait(10) == 0
    assert frr.neighbors()[NODE_IP]["lastNotificationReason"] == "Cease/Administrative Shutdown"
