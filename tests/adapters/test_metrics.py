"""Metrics: MetalLB-compatible names under bgplb_, watcher counters, the /metrics /healthz /readyz server."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from bgplb.adapters.k8s_source import K8sSource
from bgplb.adapters.metrics import Metrics, MetricsServer
from tests.adapters.test_k8s_source import NS, fast_source, peer, secret
from tests.k8s_double.helpers import background, eventually, serving
from tests.k8s_double.store import KIND_BY_PATH

METALLB_NAMES = (
    "bgplb_bgp_session_up",
    "bgplb_bgp_updates_total",
    "bgplb_bgp_announced_prefixes_total",
    "bgplb_allocator_addresses_in_use_total",
    "bgplb_allocator_addresses_total",
    "bgplb_k8s_client_config_stale_bool",
    "bgplb_k8s_client_config_loaded_bool",
)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def get(port: int, path: str, method: str = "GET") -> tuple[str, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    await writer.wait_closed()
    head, _, body = raw.decode().partition("\r\n\r\n")
    return head.splitlines()[0], body


def test_metallb_compatible_names_and_values() -> None:
    metrics = Metrics()
    metrics.bgp_session_up.labels(peer="192.0.2.1").set(1)
    metrics.bgp_updates.labels(peer="192.0.2.1").inc(3)
    metrics.bgp_announced_prefixes.labels(peer="192.0.2.1").set(2)
    metrics.set_pool_usage({"lan": (2, 6)})
    metrics.config_stale.set(1)
    metrics.config_loaded.set(1)
    text = metrics.render().decode()
    for name in METALLB_NAMES:
        assert f"\n{name}" in "\n" + text, name
    values = samples(text)
    assert values[("bgplb_bgp_updates_total", (("peer", "192.0.2.1"),))] == 3
    assert values[("bgplb_allocator_addresses_in_use_total", (("pool", "lan"),))] == 2
    assert values[("bgplb_allocator_addresses_total", (("pool", "lan"),))] == 6
    metrics.set_pool_usage({"wan": (0, 4)})
    assert ("bgplb_allocator_addresses_total", (("pool", "lan"),)) not in samples(metrics.render().decode())


def test_two_registries_do_not_collide() -> None:
    first, second = Metrics(), Metrics()
    first.leader.set(1)
    assert samples(second.render().decode())[("bgplb_leader_is_leader", ())] == 0


async def test_watch_counters_are_exported() -> None:
    async with serving() as (_api, client):
        source = K8sSource(client)
        metrics = Metrics()
        metrics.watch(source.watchers)
        async with background(source.run()):
            await source.wait_synced()
            values = samples(metrics.render().decode())
        assert values[("bgplb_k8s_watch_lists_total", (("kind", "v1/Service"),))] == 1
        assert values[("bgplb_k8s_watch_events_total", (("kind", "metallb.io/v1beta2/BGPPeer"),))] == 0


async def test_secret_watchers_are_exported_as_they_come_and_go() -> None:
    async with serving() as (api, client):
        api.seed("Secret", "secrets", secret("auth", b"pw"))
        api.seed("BGPPeer", "bgppeers", peer("router", "auth"), group="metallb.io")
        source = fast_source(client)
        metrics = Metrics()
        metrics.watch(source.watchers, source.secret_watchers)
        async with background(source.run()):
            await source.wait_synced()
            (label,) = [w.kind.label for w in source.secret_watchers.values()]
            assert "Secret" in label and "auth" in label
            assert (
                samples(metrics.render().decode())[("bgplb_k8s_watch_lists_total", (("kind", label),))] == 1
            )
            api.store.delete(KIND_BY_PATH[("metallb.io", "bgppeers")], NS, "router")
            await eventually(lambda: not source.secret_watchers, what="the Secret no longer named")
            assert ("bgplb_k8s_watch_lists_total", (("kind", label),)) not in samples(
                metrics.render().decode()
            )


async def test_http_endpoints() -> None:
    metrics = Metrics()
    metrics.leader.set(1)
    ready = False
    server = MetricsServer(metrics, ready=lambda: ready, host="127.0.0.1", port=0)
    port = await server.start()
    try:
        status, body = await get(port, "/metrics")
        assert status == "HTTP/1.0 200 OK"
        assert samples(body)[("bgplb_leader_is_leader", ())] == 1
        assert (await get(port, "/healthz"))[0] == "HTTP/1.0 200 OK"
        assert (await get(port, "/readyz"))[0] == "HTTP/1.0 503 Service Unavailable"
        ready = True
        assert (await get(port, "/readyz"))[0] == "HTTP/1.0 200 OK"
        assert (await get(port, "/nope"))[0] == "HTTP/1.0 404 Not Found"
        assert (await get(port, "/metrics", "POST"))[0] == "HTTP/1.0 405 Method Not Allowed"
    finally:
        await server.close()
