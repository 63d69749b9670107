"""Health checks: parsing (errors name the field), probes against loopback servers, rise/fall."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bgplb.adapters.health import CheckSpec, HealthMonitor, check_from_annotation, parse_check, probe
from bgplb.errors import ConfigError
from bgplb.planning.snapshot import ServiceRef

WEB = ServiceRef("shop", "web")


def resource(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "bgplb.io/v1alpha1",
        "kind": "HealthCheck",
        "metadata": {"name": "web-check", "namespace": "shop"},
        "spec": {"service": "web", **spec},
    }


def test_parse_each_probe() -> None:
    tcp = parse_check(resource(tcp={"port": 80}, intervalSeconds=5, fallCount=3))
    assert (tcp.service, tcp.probe, tcp.host, tcp.port, tcp.interval, tcp.timeout, tcp.fall) == (
        WEB,
        "tcp",
        "127.0.0.1",
        80,
        5.0,
        1.0,
        3,
    )
    http = parse_check(resource(http={"url": "http://[::1]:8080/health?deep=1", "expectStatus": 204}))
    assert (http.host, http.port, http.path, http.expect_status) == ("::1", 8080, "/health?deep=1", 204)
    assert http.describe() == "http [::1]:8080/health?deep=1"
    ex = parse_check(resource(exec={"command": ["systemctl", "is-active", "nginx"]}))
    assert ex.command == ("systemctl", "is-active", "nginx")


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({}, "spec"),
        ({"tcp": {"port": 1}, "exec": {"command": ["true"]}}, "spec"),
        ({"tcp": {"port": 0}}, "spec.tcp.port"),
        ({"tcp": {"port": 80, "host": "localhost"}}, "spec.tcp.host"),
        ({"http": {"url": "ftp://x/"}}, "spec.http.url"),
        ({"http": {"url": "http://127.0.0.1:80/", "expectStatus": 99}}, "spec.http.expectStatus"),
        ({"exec": {"command": []}}, "spec.exec.command"),
        ({"tcp": {"port": 80}, "intervalSeconds": 0}, "spec.intervalSeconds"),
        ({"tcp": {"port": 80}, "riseCount": "two"}, "spec.riseCount"),
    ],
)
def test_parse_errors_name_the_field(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_check(resource(**spec))
    assert (info.value.kind, info.value.name, info.value.field_path) == (
        "HealthCheck",
        "shop/web-check",
        field,
    )


def test_missing_service_is_an_error() -> None:
    bad = resource(tcp={"port": 80})
    del bad["spec"]["service"]
    with pytest.raises(ConfigError, match=r"spec\.service"):
        parse_check(bad)


def test_annotation() -> None:
    assert check_from_annotation(WEB, "tcp://10.0.0.1:443") == CheckSpec(
        WEB, "tcp", host="10.0.0.1", port=443
    )
    with pytest.raises(ConfigError) as info:
        check_from_annotation(WEB, "tcp://10.0.0.1")
    assert info.value.field_path == "metadata.annotations[bgplb.io/health-check]"


@pytest.fixture
async def http_server() -> AsyncIterator[tuple[int, list[int]]]:
    """A loopback HTTP server answering with the status at the head of `statuses` (200 when empty)."""
    statuses: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        code = statuses[0] if statuses else 200
        writer.write(f"HTTP/1.0 {code} X\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], statuses
    server.close()
    await server.wait_closed()


async def test_tcp_and_http_probes(http_server: tuple[int, list[int]]) -> None:
    port, statuses = http_server
    assert await probe(CheckSpec(WEB, "tcp", port=port))
    assert await probe(CheckSpec(WEB, "http", port=port, path="/healthz"))
    statuses.append(503)
    assert not await probe(CheckSpec(WEB, "http", port=port))
    assert await probe(CheckSpec(WEB, "http", port=port, expect_status=503))


async def test_closed_port_and_silent_server_fail_within_the_timeout() -> None:
    silent = await asyncio.start_server(lambda r, w: asyncio.sleep(5), "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert not await probe(CheckSpec(WEB, "http", port=port, timeout=0.2))
        assert loop.time() - start < 1.0
    finally:
        silent.close()
    assert not await probe(CheckSpec(WEB, "tcp", port=port, timeout=0.5))


async def test_exec_probe() -> None:
    assert await probe(CheckSpec(WEB, "exec", command=(sys.executable, "-c", "pass")))
    assert not await probe(CheckSpec(WEB, "exec", command=(sys.executable, "-c", "raise SystemExit(3)")))
    assert not await probe(CheckSpec(WEB, "exec", command=("/nonexistent/bgplb-check",)))
    slow = CheckSpec(WEB, "exec", command=(sys.executable, "-c", "import time; time.sleep(5)"), timeout=0.2)
    assert not await probe(slow)


async def test_monitor_flips_after_rise_and_fall(http_server: tuple[int, list[int]]) -> None:
    port, statuses = http_server
    flips: list[bool] = []
    monitor = HealthMonitor(on_change=lambda: flips.append(monitor.results()[WEB]))
    spec = CheckSpec(WEB, "http", port=port, interval=0.02, rise=2, fall=2)
    monitor.update([spec])
    assert monitor.results() == {WEB: False}
    try:
        async with asyncio.timeout(3):
            while flips != [True]:
                await asyncio.sleep(0.01)
            statuses.append(500)
            while flips != [True, False]:
                await asyncio.sleep(0.01)
        assert monitor.checks() == [(spec, False)]
        monitor.update([])
        assert monitor.results() == {}
    finally:
        await monitor.stop()
