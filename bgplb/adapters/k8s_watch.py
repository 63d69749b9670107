"""List-then-watch of one Kubernetes collection into an in-memory map of plain dicts (an informer, reduced).

`KindWatcher.run()` lists the collection (remembering the list's resourceVersion), then watches from that
version with bookmarks requested, applying ADDED/MODIFIED/DELETED to `objects` and moving the version on with
every event and BOOKMARK. It never ends on its own:
- 410 Gone (the version was compacted away) -> relist at once; the relist replaces the whole map, so objects
  deleted while we were away disappear too;
- a dropped connection, a refused request or an undecodable object -> retry with exponential backoff and
  jitter (reset by the next event or bookmark), resuming from the last version (a 404 while watching: the
  CRD went away, so list again);
- a stream silent for `stall_timeout` (no event, no bookmark) is treated as dropped;
- 404 on the list (an optional CRD, e.g. Cilium's, not installed) -> the collection is empty; retried slowly.
Every change calls `on_change` (the owner marks its reconcile loop dirty); nothing else happens here.
`synced` is set by the first successful list; `settled` by the first list attempt, whatever its outcome (an
owner waiting for a collection it may not be allowed to read waits on `settled`). A `WatchedKind` may carry a
field selector (`fields`, e.g. metadata.name=<name>), sent with the list and with every watch.
Objects are stored as dicts with apiVersion and kind set (list items come without them) after the
optional `keep` filter (e.g. reducing a Node to what planning reads); `keep` returning None means
"not ours, ignore".

Every kind, built-in ones included, is read through lightkube's dict-based generic resources: the typed
models reject a BOOKMARK's bare object (an EndpointSlice without addressType); planning wants dicts anyway.
lightkube's public `watch()` has no `allowWatchBookmarks` parameter, so the request is built with the
client's request builder (`_client.prepare_request`); tests check that bookmarks really arrive.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx2
import msgspec
from lightkube import ALL_NS, ApiError, AsyncClient
from lightkube.core.client import FieldSelector
from lightkube.core.generic_client import ListAsyncIterable
from lightkube.core.resource import ApiInfo
from lightkube.core.selector import build_selector
from lightkube.generic_resource import (
    GenericGlobalResource,
    GenericNamespacedResource,
    GenericNamespacedStatus,
    create_api_info,
)
from lightkube.types import on_error_raise

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects


class RestartReason(StrEnum):
    """Why a watch was restarted."""

    GONE = "Gone"  # 410: relist
    ERROR = "Error"  # transport or API error: backoff, resume
    STALLED = "Stalled"  # nothing (not even a bookmark) for stall_timeout
    ENDED = "Ended"  # the stream ended without error
    NOT_SERVED = "NotServed"  # 404 on list: the API (e.g. an optional CRD) is not installed


@dataclass(frozen=True, slots=True)
class WatchedKind:
    """One collection to mirror: group, version, kind, plural, scope, where, and a filter."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    namespace: str | None = None  # None: every namespace (or a cluster-scoped kind)
    keep: Callable[[Obj], Obj | None] | None = None
    fields: tuple[tuple[str, str], ...] = ()  # field selector: (field, value) pairs, all must match

    @property
    def field_selector(self) -> str | None:
        """The `fieldSelector` query value (None without `fields`)."""
        return build_selector(dict(self.fields), for_fields=True) if self.fields else None

    @property
    def api_version(self) -> str:
        """`group/version` (just the version for the core group)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def label(self) -> str:
        """`apiVersion/kind` (with a field selector: `apiVersion/kind namespace[selector]`), for logs and
        metric labels."""
        selector = self.field_selector
        where = f" {self.namespace or ''}[{selector}]" if selector else ""
        return f"{self.api_version}/{self.kind}{where}"

    def resource(self) -> GenericResource:
        """The dict-based lightkube resource class of this collection."""
        if self.namespaced:
            return namespaced_resource(self.group, self.version, self.kind, self.plural)
        return global_resource(self.group, self.version, self.kind, self.plural)


GenericResource = type[GenericNamespacedResource] | type[GenericGlobalResource]


def namespaced_resource(group: str, version: str, kind: str, plural: str) -> type[GenericNamespacedResource]:
    """A dict-based lightkube class for a namespaced kind, kept out of lightkube's global registry so that
    it never clashes with the typed built-in classes other code may load."""
    info = create_api_info(group, version, kind, plural)
    return type(kind, (GenericNamespacedResource,), {"_api_info": info})


def global_resource(group: str, version: str, kind: str, plural: str) -> type[GenericGlobalResource]:
    """As `namespaced_resource`, for a cluster-scoped kind."""
    info = create_api_info(group, version, kind, plural)
    return type(kind, (GenericGlobalResource,), {"_api_info": info})


def namespaced_status(resource: type[GenericNamespacedResource]) -> type[GenericNamespacedStatus]:
    """The `status` subresource class of a class made by `namespaced_resource`."""
    parent = resource._api_info
    info = ApiInfo(
        resource=parent.resource,
        parent=parent.resource,
        plural=parent.plural,
        verbs=["get", "patch", "put"],
        action="status",
    )
    return type(f"{parent.resource.kind}Status", (GenericNamespacedStatus,), {"_api_info": info})


@dataclass(slots=True)
class WatchStats:
    """Counters for metrics and tests."""

    lists: int = 0
    events: int = 0
    bookmarks: int = 0
    restarts: dict[RestartReason, int] = field(default_factory=dict)

    def restarted(self, reason: RestartReason) -> None:
        """Count one restart."""
        self.restarts[reason] = self.restarts.get(reason, 0) + 1


class Backoff:
    """Exponential backoff with full jitter: delays in [base/2, min(cap, base * 2**n)]."""

    def __init__(self, base: float = 0.2, cap: float = 30.0, rng: random.Random | None = None) -> None:
        self.base, self.cap = base, cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        """The delay before the next attempt."""
        ceiling = min(self.cap, self.base * 2**self.attempt)
        self.attempt += 1
        return self._rng.uniform(min(self.base / 2, ceiling), ceiling)

    def reset(self) -> None:
        """After a success."""
        self.attempt = 0


class _StalledError(Exception):
    pass


def key_of(obj: Mapping[str, Any]) -> Key:
    """(namespace, name) of an object dict."""
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class KindWatcher:
    """Mirrors one collection; see the module docstring."""

    def __init__(
        self,
        client: AsyncClient,
        kind: WatchedKind,
        on_change: Callable[[], None],
        *,
        backoff: Backoff | None = None,
        stall_timeout: float = 300.0,
        server_timeout: int = 600,
    ) -> None:
        self.client = client
        self.kind = kind
        self.on_change = on_change
        self.backoff = backoff or Backoff()
        self.stall_timeout = stall_timeout
        self.server_timeout = server_timeout
        self.resource = kind.resource()
        self.objects: dict[Key, Obj] = {}
        self.resource_version: str | None = None
        self.synced = asyncio.Event()
        self.settled = asyncio.Event()
        self.stats = WatchStats()

    async def run(self) -> None:
        """List and watch forever (until cancelled)."""
        while True:
            try:
                if self.resource_version is None:
                    await self._relist()
                await self._watch()
                self.stats.restarted(RestartReason.ENDED)
                continue
            except httpx2.HTTPStatusError as exc:  # lightkube's ApiError is one too
                code = exc.status.code if isinstance(exc, ApiError) else exc.response.status_code
                if code == 410:
                    log.info(
                        "%s: resourceVersion %s expired (410 Gone); relisting",
                        self.kind.label,
                        self.resource_version,
                    )
                    self.stats.restarted(RestartReason.GONE)
                    self.resource_version = None
                    continue
                if code == 404 and self.resource_version is None:
                    self._not_served()
                    self.stats.restarted(RestartReason.NOT_SERVED)
                    await asyncio.sleep(self.backoff.cap)
                    continue
                if code == 404:  # the CRD went away while we watched: list again
                    self.resource_version = None
                log.warning("%s: HTTP %s: %s", self.kind.label, code, exc)
                self.stats.restarted(RestartReason.ERROR)
            except _StalledError:
                log.warning(
                    "%s: no event or bookmark for %.0fs; reconnecting", self.kind.label, self.stall_timeout
                )
                self.stats.restarted(RestartReason.STALLED)
            except (httpx2.HTTPError, OSError, msgspec.MsgspecError, ValueError) as exc:
                log.warning("%s: watch failed: %r", self.kind.label, exc)
                self.stats.restarted(RestartReason.ERROR)
            self.settled.set()
            await asyncio.sleep(self.backoff.next())

    def _namespace(self) -> str | None:
        if not self.kind.namespaced:
            return None
        return self.kind.namespace if self.kind.namespace is not None else ALL_NS

    def _normalise(self, raw: Any) -> Obj | None:
        obj: Obj = dict(raw)
        obj["apiVersion"] = self.kind.api_version
        obj["kind"] = self.kind.kind
        return self.kind.keep(obj) if self.kind.keep is not None else obj

    def _not_served(self) -> None:
        """The collection does not exist (CRD not installed): it is empty, and we look again later."""
        if not self.synced.is_set() or self.objects:
            log.warning("%s is not served by the API server; treating it as empty", self.kind.label)
        had = bool(self.objects)
        self.objects = {}
        self.synced.set()
        self.settled.set()
        if had:
            self.on_change()

    async def _relist(self) -> None:
        listing: ListAsyncIterable[GenericNamespacedResource] | ListAsyncIterable[GenericGlobalResource]
        fields: FieldSelector | None = dict(self.kind.fields) or None
        if issubclass(self.resource, GenericNamespacedResource):
            listing = self.client.list(self.resource, namespace=self._namespace(), fields=fields)
        else:
            listing = self.client.list(self.resource, fields=fields)
        fresh: dict[Key, Obj] = {}
        async for raw in listing:
            obj = self._normalise(raw)
            if obj is not None:
                fresh[key_of(obj)] = obj
        self.stats.lists += 1
        self.resource_version = listing.resourceVersion
        changed = fresh != self.objects
        self.objects = fresh
        self.synced.set()
        self.settled.set()
        if changed:
            self.on_change()

    def _stream(self) -> AsyncIterator[tuple[str, Any]]:
        params = {
            "resourceVersion": self.resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": self.server_timeout,
            "fieldSelector": self.kind.field_selector,
        }
        generic = self.client._client
        request = generic.prepare_request(
            "list", res=self.resource, namespace=self._namespace(), watch=True, params=params
        )
        stream: AsyncIterator[tuple[str, Any]] = generic.watch(request, on_error=on_error_raise)
        return stream

    async def _watch(self) -> None:
        """Apply events until the stream ends (lightkube itself reopens streams that end cleanly)."""
        stream = self._stream()
        try:
            while True:
                try:
                    async with asyncio.timeout(self.stall_timeout):
                        event, raw = await anext(stream)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise _StalledError from None
                self.backoff.reset()  # the connection works again
                self._apply(event, raw)
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    def _apply(self, event: str, raw: Any) -> None:
        version = (raw.get("metadata") or {}).get("resourceVersion")
        if version:
            self.resource_version = version
        if event == "BOOKMARK":
            self.stats.bookmarks += 1
            return
        self.stats.events += 1
        obj = self._normalise(raw)
        key = key_of(raw) if obj is None else key_of(obj)
        if event == "DELETED" or obj is None:
            if self.objects.pop(key, None) is not None:
                self.on_change()
        elif self.objects.get(key) != obj:
            self.objects[key] = obj
            self.on_change()
