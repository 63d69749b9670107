"""Health checks for hosts without Kubernetes: is this host's endpoint of a Service serving?

A check is declared per Service, either as an annotation on the Service
(`bgplb.io/health-check: tcp://127.0.0.1:80` or `http://127.0.0.1:8080/healthz`) or as a
`bgplb.io/v1alpha1` `HealthCheck` object (`spec.service`, one of `tcp: {host, port}`,
`http: {url, expectStatus}`, `exec: {command: [...]}`, plus `intervalSeconds`, `timeoutSeconds`,
`riseCount`, `fallCount`). `parse_check` turns either into a frozen `CheckSpec` or a ConfigError naming the
field. `HealthMonitor` runs one named task per check, probing every interval with a timeout; a result flips
only after `rise`/`fall` equal answers in a row, and each flip calls `on_change` (which marks the speaker's
reconcile loop dirty). Until its first answer a check counts as failing, so a restart never announces a
Service whose backend is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any, Literal
from urllib.parse import urlsplit

from bgplb.errors import ConfigError
from bgplb.planning.snapshot import ServiceRef

log = logging.getLogger(__name__)

ANNOTATION = "bgplb.io/health-check"
API_VERSION = "bgplb.io/v1alpha1"
KIND = "HealthCheck"
Probe = Literal["tcp", "http", "exec"]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One health check of this host's endpoint of `service`."""

    service: ServiceRef
    probe: Probe
    host: str = "127.0.0.1"
    port: int = 0
    path: str = "/"
    expect_status: int = 200
    command: tuple[str, ...] = ()
    interval: float = 2.0
    timeout: float = 1.0
    rise: int = 1
    fall: int = 1

    def describe(self) -> str:
        """`tcp 127.0.0.1:80`, `http 127.0.0.1:8080/healthz` or `exec cmd …` for logs and status."""
        if self.probe == "exec":
            return "exec " + " ".join(self.command)
        where = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.probe} {where}:{self.port}{self.path if self.probe == 'http' else ''}"


def _url(text: str, kind: str, name: str, field: str) -> dict[str, Any]:
    parts = urlsplit(text)
    if parts.scheme not in ("tcp", "http") or not parts.hostname or parts.port is None:
        raise ConfigError(kind, name, field, f"{text!r}: expected tcp://HOST:PORT or http://HOST:PORT/PATH")
    fields: dict[str, Any] = {"probe": parts.scheme, "host": parts.hostname, "port": parts.port}
    if parts.scheme == "http":
        fields["path"] = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return fields


def _number(spec: Mapping[str, Any], key: str, default: float, name: str) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(KIND, name, f"spec.{key}", f"{value!r}: expected a positive number")
    return float(value)


def parse_check(resource: Mapping[str, Any]) -> CheckSpec:
    """A `HealthCheck` object -> CheckSpec; ConfigError naming the object and field when it is wrong."""
    meta = resource.get("metadata") or {}
    spec = resource.get("spec")
    namespace = str(meta.get("namespace") or "default") if isinstance(meta, Mapping) else "default"
    name = f"{namespace}/{meta.get('name', '?')}" if isinstance(meta, Mapping) else "?"
    if not isinstance(spec, Mapping):
        raise ConfigError(KIND, name, "spec", "expected a mapping")
    target = spec.get("service")
    if not isinstance(target, str) or not target:
        raise ConfigError(KIND, name, "spec.service", "expected the name of a Service in the same namespace")
    ref = ServiceRef(namespace, target)
    probes = [key for key in ("tcp", "http", "exec") if key in spec]
    if len(probes) != 1:
        raise ConfigError(KIND, name, "spec", "expected exactly one of tcp, http, exec")
    body = spec[probes[0]]
    if not isinstance(body, Mapping):
        raise ConfigError(KIND, name, f"spec.{probes[0]}", "expected a mapping")
    fields: dict[str, Any]
    if probes[0] == "exec":
        command = body.get("command")
        if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
            raise ConfigError(KIND, name, "spec.exec.command", "expected a non-empty list of strings")
        fields = {"probe": "exec", "command": tuple(command)}
    elif probes[0] == "http":
        fields = _url(str(body.get("url", "")), KIND, name, "spec.http.url")
        fields["probe"] = "http"
        status = body.get("expectStatus", 200)
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ConfigError(KIND, name, "spec.http.expectStatus", f"{status!r}: expected an HTTP status")
        fields["expect_status"] = status
    else:
        port = body.get("port")
        if not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(KIND, name, "spec.tcp.port", f"{port!r}: expected a port 1..65535")
        host = str(body.get("host", "127.0.0.1"))
        try:
            ip_address(host)
        except ValueError:
            raise ConfigError(KIND, name, "spec.tcp.host", f"{host!r}: expected an IP address") from None
        fields = {"probe": "tcp", "host": host, "port": port}
    interval = _number(spec, "intervalSeconds", 2.0, name)
    timeout = _number(spec, "timeoutSeconds", min(1.0, interval), name)
    counts = {key: int(_number(spec, key, 1, name)) for key in ("riseCount", "fallCount")}
    return CheckSpec(
        service=ref,
        interval=interval,
        timeout=timeout,
        rise=counts["riseCount"],
        fall=counts["fallCount"],
        **fields,
    )


def check_from_annotation(service: ServiceRef, value: str) -> CheckSpec:
    """The check written as `bgplb.io/health-check: tcp://HOST:PORT | http://HOST:PORT/PATH`."""
    field = f"metadata.annotations[{ANNOTATION}]"
    return CheckSpec(service=service, **_url(value.strip(), "Service", str(service), field))


async def probe(spec: CheckSpec) -> bool:
    """One probe, bounded by `spec.timeout`: True when the endpoint answers as expected."""
    try:
        async with asyncio.timeout(spec.timeout):
            if spec.probe == "exec":
                return await _exec(spec.command)
            reader, writer = await asyncio.open_connection(spec.host, spec.port)
            try:
                if spec.probe == "tcp":
                    return True
                host = f"[{spec.host}]" if ":" in spec.host else spec.host
                request = f"GET {spec.path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: bgplb\r\n\r\n"
                writer.write(request.encode())
                await writer.drain()
                status = (await reader.readline()).split()
                return len(status) >= 2 and status[1] == str(spec.expect_status).encode()
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except (OSError, TimeoutError):
        return False


async def _exec(command: tuple[str, ...]) -> bool:
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        return await proc.wait() == 0
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise


class HealthMonitor:
    """Runs the current set of checks; `serving(ref)` is the latest settled answer per Service."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self._tasks: dict[CheckSpec, asyncio.Task[None]] = {}
        self._results: dict[CheckSpec, bool] = {}

    def update(self, specs: Iterable[CheckSpec]) -> None:
        """Run exactly `specs`: new checks start (failing until their first answer), removed ones stop."""
        wanted = set(specs)
        for spec in list(self._tasks):
            if spec not in wanted:
                self._tasks.pop(spec).cancel()
                self._results.pop(spec, None)
        for spec in wanted - self._tasks.keys():
            self._results[spec] = False
            name = f"health-{spec.service}-{spec.probe}"
            self._tasks[spec] = asyncio.create_task(self._run(spec), name=name)

    def results(self) -> dict[ServiceRef, bool]:
        """Service -> serving; with several checks for one Service all must pass."""
        out: dict[ServiceRef, bool] = {}
        for spec, ok in self._results.items():
            out[spec.service] = out.get(spec.service, True) and ok
        return out

    def checks(self) -> list[tuple[CheckSpec, bool]]:
        """Every running check and its settled result."""
        return sorted(self._results.items(), key=lambda item: (item[0].service, item[0].describe()))

    async def _run(self, spec: CheckSpec) -> None:
        streak, last = 0, None
        while True:
            ok = await probe(spec)
            streak = streak + 1 if ok == last else 1
            last = ok
            if ok != self._results.get(spec) and streak >= (spec.rise if ok else spec.fall):
                self._results[spec] = ok
                log.info("health check %s of %s: %s", spec.describe(), spec.service, "up" if ok else "down")
                self._on_change()
            await asyncio.sleep(spec.interval)

    async def stop(self) -> None:
        """Cancel every check and wait for them."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
