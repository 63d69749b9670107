"""The no-Kubernetes source: a directory of YAML files read into a Config and a planning Snapshot.

The files hold the same kinds as a cluster: the configuration resources (MetalLB CRDs or ConfigMap, Cilium
objects; built by `config.build_config`), v1 Services, Nodes, Namespaces, discovery.k8s.io/v1
EndpointSlices, plus bgplb's `bgplb.io/v1alpha1 HealthCheck` (see `health`). `load_directory` reads them
all; any error (unreadable YAML, a malformed Node or EndpointSlice, a rejected configuration, a bad health
check) rejects the whole new state, and `FileSource` keeps the last good one running.

Changes are noticed through file notifications (inotify via `watchfiles`, a few ms after the write) and,
as a fallback for filesystems without them or missed events, by comparing a fingerprint of the directory
(every file's path, size, mtime and inode) every `poll_interval` seconds; `FileSource.watch` calls back
once per new fingerprint. The runtime also reloads on SIGHUP, re-reading every file. Between reloads,
parsed files are cached by their fingerprint entry, and so is each resource read into planning types and
the configuration built from an unchanged set of documents: a change re-parses and re-reads only the
changed files (a reload of 100 Service files after one change costs about a millisecond, not five).

`local_view` adapts the snapshot to a host without kubelet: the host's own Node is added when no file
describes it; a Service with a health check gets this host's endpoint from the check's latest answer
(replacing what the files say about this host); a Service with neither EndpointSlice nor health check is
served by this host.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from watchfiles import Change, awatch

from bgplb.adapters.config_files import FILE_KIND, SUFFIXES, parse_documents
from bgplb.adapters.health import ANNOTATION, API_VERSION, KIND, CheckSpec, check_from_annotation, parse_check
from bgplb.config.build import BuildResult, build_config
from bgplb.config.models import Config
from bgplb.errors import ConfigError
from bgplb.planning.cluster_manifests import (
    read_endpoint_slice,
    read_namespace,
    read_node,
)
from bgplb.planning.service_manifest import ServiceReading, read_service
from bgplb.planning.snapshot import (
    Endpoint,
    EndpointSlice,
    Namespace,
    Node,
    Service,
    ServiceRef,
    Snapshot,
)

HEALTH_SLICE = "bgplb-health"
SNAPSHOT_KINDS = {"Service", "Node", "Namespace", "EndpointSlice"}
NOTIFY_STEP_MS = 1
"""After a notification, wait until the directory is quiet this long (then at most NOTIFY_DEBOUNCE_MS)."""
NOTIFY_DEBOUNCE_MS = 200

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int, int], ...]
_Cached = tuple[tuple[int, int, int], list[Mapping[str, Any]], list[ConfigError]]


@dataclass(frozen=True, slots=True)
class SourceState:
    """One consistent reading of the directory."""

    config: Config
    snapshot: Snapshot
    checks: tuple[CheckSpec, ...]


@dataclass(frozen=True, slots=True)
class LoadResult:
    """A new state (None when rejected) with every error and warning found."""

    state: SourceState | None
    errors: tuple[ConfigError, ...]
    warnings: tuple[str, ...]


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, slots=True)
class _Read:
    """One snapshot resource read into planning types, or the error that rejects it (cached per document)."""

    service: ServiceReading | None = None
    check: CheckSpec | None = None
    node: Node | None = None
    slice: EndpointSlice | None = None
    namespace: Namespace | None = None
    error: ConfigError | None = None


def _read(resource: Mapping[str, Any]) -> _Read:
    kind = resource.get("kind")
    try:
        if kind == "Service":
            reading = read_service(resource)
            annotation = _map(_map(resource.get("metadata")).get("annotations")).get(ANNOTATION)
            if annotation is None:
                return _Read(service=reading)
            try:
                return _Read(
                    service=reading, check=check_from_annotation(reading.service.ref, str(annotation))
                )
            except ConfigError as exc:
                return _Read(service=reading, error=exc)
        if kind == "Node":
            return _Read(node=read_node(resource))
        if kind == "EndpointSlice":
            return _Read(slice=read_endpoint_slice(resource))
        if kind == "Namespace":
            return _Read(namespace=read_namespace(resource))
        return _Read(check=parse_check(resource))
    except ConfigError as exc:
        return _Read(error=exc)


@dataclass(slots=True)
class _Reading:
    services: dict[ServiceRef, Service]
    nodes: dict[str, Node]
    slices: list[EndpointSlice]
    namespaces: dict[str, Namespace]
    checks: list[CheckSpec]
    errors: list[ConfigError]
    warnings: list[str]

    def add(self, read: _Read) -> None:
        if read.service is not None:
            ref = read.service.service.ref
            if ref in self.services:
                self.errors.append(ConfigError("Service", str(ref), "metadata.name", "defined twice"))
            self.services[ref] = read.service.service
            self.warnings.extend(f"Service {ref}: {w}" for w in read.service.warnings)
        if read.error is not None:
            self.errors.append(read.error)
        if read.check is not None:
            self.checks.append(read.check)
        if read.node is not None:
            self.nodes[read.node.name] = read.node
        if read.slice is not None:
            self.slices.append(read.slice)
        if read.namespace is not None:
            self.namespaces[read.namespace.name] = read.namespace


class ParseCache:
    """Parsed documents per file, reused while the file's size, mtime and inode are unchanged; each
    document read into planning types, and the configuration built, reused while the documents are the
    same objects. YAML parsing dominates a reload; with the cache a change re-parses only the changed files.
    """

    def __init__(self) -> None:
        self._files: dict[str, _Cached] = {}
        self._reads: dict[int, tuple[Mapping[str, Any], _Read]] = {}
        self._built: tuple[list[Mapping[str, Any]], BuildResult] | None = None

    def read(
        self, directory: Path, entries: Fingerprint | None = None
    ) -> tuple[list[Mapping[str, Any]], list[ConfigError]]:
        """Every resource under `directory` (files in name order) and every read or parse error;
        `entries` is the directory's fingerprint when the caller has just taken it."""
        entries = fingerprint(directory) if entries is None else entries
        if not entries:
            return [], [ConfigError(FILE_KIND, str(directory), "", "no .yaml, .yml or .json file here")]
        resources: list[Mapping[str, Any]] = []
        errors: list[ConfigError] = []
        fresh: dict[str, _Cached] = {}
        for path, *stamp in entries:
            cached = self._files.get(path)
            if cached is None or cached[0] != tuple(stamp):
                found: list[ConfigError] = []
                try:
                    text = Path(path).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    found.append(ConfigError(FILE_KIND, path, "", f"cannot read: {exc}"))
                    text = ""
                cached = ((stamp[0], stamp[1], stamp[2]), parse_documents(text, path, found), found)
            fresh[path] = cached
            resources.extend(cached[1])
            errors.extend(cached[2])
        self._files = fresh
        reads = self._reads
        self._reads = {
            id(r): kept for r in resources if (kept := reads.get(id(r))) is not None and kept[0] is r
        }
        return resources, errors

    def read_resource(self, resource: Mapping[str, Any]) -> _Read:
        """`resource` (a Service, Node, EndpointSlice, Namespace or HealthCheck) read into planning types."""
        kept = self._reads.get(id(resource))
        if kept is not None and kept[0] is resource:
            return kept[1]
        read = _read(resource)
        self._reads[id(resource)] = (resource, read)
        return read

    def build(self, resources: list[Mapping[str, Any]]) -> BuildResult:
        """`build_config(resources)`, reused while the resources are the very documents of the last call."""
        if self._built is not None:
            last, result = self._built
            if len(last) == len(resources) and all(a is b for a, b in zip(last, resources, strict=True)):
                return result
        result = build_config(resources)
        self._built = (resources, result)
        return result


def load_directory(
    directory: Path, cache: ParseCache | None = None, entries: Fingerprint | None = None
) -> LoadResult:
    """Read every file under `directory`; a state only when nothing is wrong (see the module docstring).
    `entries`: the directory's fingerprint when the caller has just taken it."""
    cache = cache or ParseCache()
    resources, errors = cache.read(directory, entries)
    reading = _Reading({}, {}, [], {}, [], errors, [])
    config_resources = []
    for resource in resources:
        kind = resource.get("kind")
        if kind in SNAPSHOT_KINDS or (kind == KIND and resource.get("apiVersion") == API_VERSION):
            reading.add(cache.read_resource(resource))
        else:
            config_resources.append(resource)
    built = cache.build(config_resources)
    reading.errors.extend(built.errors)
    reading.warnings.extend(str(w) for w in built.warnings)
    for check in reading.checks:
        if check.service not in reading.services:
            reading.warnings.append(f"health check for {check.service}: no such Service")
    if reading.errors or built.config is None:
        return LoadResult(None, tuple(reading.errors), tuple(reading.warnings))
    snapshot = Snapshot(
        services=tuple(sorted(reading.services.values(), key=lambda s: s.ref)),
        nodes=tuple(sorted(reading.nodes.values(), key=lambda n: n.name)),
        endpoint_slices=tuple(sorted(reading.slices, key=lambda e: (e.service, e.name))),
        namespaces=tuple(sorted(reading.namespaces.values(), key=lambda n: n.name)),
    )
    checks = tuple(sorted(set(reading.checks), key=lambda c: (c.service, c.describe())))
    return LoadResult(SourceState(built.config, snapshot, checks), (), tuple(reading.warnings))


def local_view(
    snapshot: Snapshot, node: str, checks: tuple[CheckSpec, ...], health: Mapping[ServiceRef, bool]
) -> Snapshot:
    """`snapshot` as this host sees it (see the module docstring): own Node, health-checked endpoints."""
    nodes = snapshot.nodes
    if all(n.name != node for n in nodes):
        nodes = tuple(sorted((*nodes, Node(node)), key=lambda n: n.name))
    checked = {c.service for c in checks}
    sliced = {s.service for s in snapshot.endpoint_slices}
    slices: list[EndpointSlice] = []
    for eps in snapshot.endpoint_slices:
        others = tuple(e for e in eps.endpoints if e.node != node)
        slices.append(replace(eps, endpoints=others) if eps.service in checked else eps)
    for service in snapshot.services:
        if service.ref in checked:
            ok = health.get(service.ref, False)
            slices.append(EndpointSlice(service.ref, HEALTH_SLICE, (Endpoint(node, ready=ok, serving=ok),)))
        elif service.ref not in sliced:
            slices.append(EndpointSlice(service.ref, HEALTH_SLICE, (Endpoint(node),)))
    return replace(snapshot, nodes=nodes, endpoint_slices=tuple(slices))


def fingerprint(directory: Path) -> Fingerprint:
    """Every configuration file's path, size, mtime and inode: edits, additions, removals and atomic
    replacements change it (an in-place rewrite of equal size within the clock tick needs SIGHUP)."""
    entries: list[tuple[str, int, int, int]] = []
    if directory.is_dir():
        for parent, dirs, files in os.walk(
            str(directory)
        ):  # as Path.rglob: symlinked directories not entered
            for name in (*dirs, *files):
                if os.path.splitext(name)[1] in SUFFIXES:
                    path = os.path.join(parent, name)
                    try:
                        stat = os.stat(path)
                    except OSError:
                        continue
                    entries.append((path, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return tuple(sorted(entries))


class FileSource:
    """The directory, its last good state, and a poller that reports changes."""

    def __init__(self, directory: Path, poll_interval: float = 1.0) -> None:
        self.directory = directory
        self.poll_interval = poll_interval
        self.current: SourceState | None = None
        self.last: LoadResult | None = None
        self._seen: Fingerprint | None = None
        self.reloads = 0
        self._cache = ParseCache()

    def forget(self) -> None:
        """Drop the parse cache: the next reload reads every file again (SIGHUP)."""
        self._cache = ParseCache()

    def reload(self) -> LoadResult:
        """Read the directory now; a good reading becomes `current`, a bad one leaves it alone."""
        self._seen = fingerprint(self.directory)
        self.reloads += 1
        result = load_directory(self.directory, self._cache, self._seen)
        self.last = result
        if result.state is not None:
            self.current = result.state
        return result

    async def watch(self, on_change: Callable[[], None]) -> None:
        """Watch forever; call `on_change` once per change until the caller reloads.

        A notification about a configuration file reports at once (the reload takes the fingerprint
        anyway); without notifications (or between them) a check every `poll_interval` reports each new
        fingerprint.
        """
        reported: Fingerprint | None = None
        reported_at = -1  # `self.reloads` when a change was last reported, by a notification or a check

        def report() -> None:
            nonlocal reported_at
            reported_at = self.reloads
            on_change()

        async def check() -> None:
            nonlocal reported
            if reported_at == self.reloads:
                return  # a reload is on its way
            current = await asyncio.to_thread(fingerprint, self.directory)
            if current not in (self._seen, reported):
                reported = current
                report()

        try:
            async for changes in awatch(
                self.directory,
                watch_filter=_config_file,
                debounce=NOTIFY_DEBOUNCE_MS,
                step=NOTIFY_STEP_MS,
                rust_timeout=max(1, int(self.poll_interval * 1000)),
                yield_on_timeout=True,
            ):
                if changes:
                    if reported_at != self.reloads:
                        report()
                else:
                    await check()
        except (OSError, RuntimeError) as exc:  # no inotify (limits, filesystem) or the directory went away
            log.warning(
                "%s: no file notifications (%s); checking every %gs", self.directory, exc, self.poll_interval
            )
        while True:
            await asyncio.sleep(self.poll_interval)
            await check()


def _config_file(change: Change, path: str) -> bool:
    del change
    return Path(path).suffix in SUFFIXES
