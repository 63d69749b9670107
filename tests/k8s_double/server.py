"""The API-server double over real HTTP (aiohttp on 127.0.0.1): lightkube's real asyncio client talks to it.

Routes follow the Kubernetes REST layout: `/api/v1/...` and `/apis/<group>/<version>/...`, namespaced
(`namespaces/<ns>/<plural>[/<name>[/status]]`) or cluster-wide (`<plural>[/<name>[/status]]`). Served: GET
(object, list, `?watch=true` streams of JSON lines with ADDED/MODIFIED/DELETED, BOOKMARK every
`bookmark_interval` when `allowWatchBookmarks=true`, an ERROR event with a 410 Status when the requested
resourceVersion is compacted away, `timeoutSeconds`; lists and watches honour a `fieldSelector` on
metadata.name/namespace), POST, PUT, PATCH (merge and strategic-merge) and DELETE;
the storage semantics are in store.py. Like a real server, list items carry no apiVersion/kind.

Faults for tests: `drop_watches(abort=...)` ends (or cuts) every open watch stream, `refuse_watches`
answers new watches with 503, `failing[(method, suffix)] = code` fails matching requests until removed,
`delays[(method, suffix)] = seconds` holds matching requests back before serving them (a slow server),
`compact()` expires old resourceVersions, `on_next(method, suffix, hook)` runs
a one-shot hook (which may change the store or raise `ApiFailureError`) before the next matching request.
`strip_ip_mode` drops ingress[].ipMode like an API server before 1.29. `requests` records every request as
(method, path, query).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from lightkube import AsyncClient
from lightkube.config.kubeconfig import KubeConfig
from lightkube.config.models import Cluster, User

from tests.k8s_double.store import (
    KIND_BY_PATH,
    ApiFailureError,
    Change,
    FieldSelector,
    Kind,
    Obj,
    Store,
    parse_field_selector,
)

DROP, ABORT = "drop", "abort"
JSON = "application/json"
Hook = Callable[[Store], object]


@dataclass(frozen=True, slots=True)
class Target:
    """What a request path names."""

    kind: Kind
    api_version: str
    namespace: str | None
    name: str | None
    subresource: str


def parse_path(path: str) -> Target:
    """Split a request path into collection, namespace, name and subresource (404 when unknown)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise ApiFailureError(404, "NotFound", f"no route {path}")
    if not rest:
        raise ApiFailureError(404, "NotFound", f"no route {path}")
    namespace: str | None = None
    is_namespace_itself = (
        group == ""
        and rest[0] == "namespaces"
        and (len(rest) <= 2 or (len(rest) == 3 and rest[2] in ("status", "finalize")))
    )
    if rest[0] == "namespaces" and not is_namespace_itself:
        namespace, rest = rest[1], rest[2:]
    kind = KIND_BY_PATH.get((group, rest[0]))
    if kind is None or len(rest) > 3 or (namespace is not None and not kind.namespaced):
        raise ApiFailureError(404, "NotFound", f"the server could not find the requested resource ({path})")
    api_version = f"{group}/{version}" if group else version
    name = rest[1] if len(rest) > 1 else None
    if kind.namespaced and name is not None and namespace is None:
        raise ApiFailureError(404, "NotFound", f"{kind.plural} is namespaced: {path}")
    return Target(kind, api_version, namespace, name, rest[2] if len(rest) > 2 else "")


def _out(obj: Obj, target: Target) -> Obj:
    obj["apiVersion"] = target.api_version
    obj["kind"] = target.kind.kind
    return obj


def _json(body: Obj, status: int = 200) -> web.Response:
    """A JSON response with exactly `application/json` (lightkube recognises Status bodies by it)."""
    return web.Response(body=json.dumps(body).encode(), status=status, headers={"Content-Type": JSON})


def _line(event: str, obj: Obj) -> bytes:
    return (json.dumps({"type": event, "object": obj}) + "\n").encode()


class ApiServerDouble:
    """An aiohttp server holding a `Store`; use as `async with ApiServerDouble() as api:`."""

    def __init__(self, *, bookmark_interval: float = 0.2) -> None:
        self.store = Store()
        self.bookmark_interval = bookmark_interval
        self.refuse_watches = False
        self.strip_ip_mode = False  # behave like an API server before 1.29 (no ingress[].ipMode)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.url = ""
        self._hooks: list[tuple[str, str, Hook]] = []
        self.failing: dict[tuple[str, str], int] = {}  # (method, path suffix) -> HTTP code, until removed
        self.delays: dict[tuple[str, str], float] = {}  # (method, path suffix) -> seconds, until removed
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> ApiServerDouble:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.drop_watches()
        if self._runner is not None:
            await self._runner.cleanup()

    def client(self) -> AsyncClient:
        """A lightkube AsyncClient pointed at this server."""
        config = KubeConfig.from_one(
            cluster=Cluster(server=self.url), user=User(token="double"), namespace="default"
        )
        return AsyncClient(config=config, trust_env=False)

    # -- test controls ---------------------------------------------------------------------------------
    def drop_watches(self, *, abort: bool = False) -> None:
        """End every open watch: cleanly (the client may resume) or by cutting the connection."""
        for queue in self.store.queues():
            queue.put_nowait(ABORT if abort else DROP)

    def watching(self, plural: str, *, group: str = "") -> int:
        """How many watch streams of a collection are open now."""
        kind = KIND_BY_PATH[(group, plural)]
        return sum(1 for watched, _, _ in self.store.watchers if watched == kind)

    def compact(self) -> None:
        """Expire every resourceVersion seen so far (see Store.compact)."""
        self.store.compact()

    def on_next(self, method: str, suffix: str, hook: Hook) -> None:
        """Run `hook(store)` once, before the next `method` request whose path ends with `suffix`."""
        self._hooks.append((method.upper(), suffix, hook))

    def seed(self, kind: str, plural: str, obj: Obj, *, group: str = "") -> Obj:
        """Store an object as-is, status included (state that existed before the test's clients started)."""
        target = KIND_BY_PATH[(group, plural)]
        namespace = str((obj.get("metadata") or {}).get("namespace") or "") if target.namespaced else ""
        del kind
        return self.store.create(target, namespace, obj, keep_status=True)

    def objects(self, plural: str, *, group: str = "", namespace: str | None = None) -> list[Obj]:
        """The stored objects of a collection."""
        return self.store.items(KIND_BY_PATH[(group, plural)], namespace)

    # -- HTTP ------------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path, dict(request.query)))
        try:
            for hook in list(self._hooks):
                if hook[0] == request.method and request.path.endswith(hook[1]):
                    self._hooks.remove(hook)
                    hook[2](self.store)
                    break
            for (method, suffix), seconds in list(self.delays.items()):
                if method == request.method and request.path.endswith(suffix):
                    await asyncio.sleep(seconds)
            for (method, suffix), code in self.failing.items():
                if method == request.method and request.path.endswith(suffix):
                    raise ApiFailureError(code, "InternalError", "injected failure (test fault)")
            target = parse_path(request.path)
            if (
                request.method == "GET"
                and target.name is None
                and request.query.get("watch") in ("true", "1")
            ):
                return await self._watch(request, target)
            return _json(await self._serve(request, target))
        except ApiFailureError as failure:
            return _json(failure.status(), failure.code)
        except ConnectionResetError:  # the client went away mid-request (a daemon stopped): nothing to answer
            return web.Response(status=499)

    async def _serve(self, request: web.Request, target: Target) -> Obj:
        store, kind = self.store, target.kind
        ns = target.namespace or ""
        method = request.method
        if target.name is None:
            if method == "GET":
                selector = parse_field_selector(request.query.get("fieldSelector", ""))
                items = [item for item in store.items(kind, target.namespace) if selector.matches(item)]
                for item in items:
                    item.pop("apiVersion", None)
                    item.pop("kind", None)
                meta = {"resourceVersion": str(store.rv)}
                return {
                    "kind": f"{kind.kind}List",
                    "apiVersion": target.api_version,
                    "metadata": meta,
                    "items": items,
                }
            if method == "POST":
                if kind.namespaced and target.namespace is None:
                    raise ApiFailureError(405, "MethodNotAllowed", "create needs a namespace")
                return _out(store.create(kind, ns, await self._body(request)), target)
            raise ApiFailureError(405, "MethodNotAllowed", f"{method} on a collection")
        if target.subresource not in ("", "status") or (target.subresource and not kind.status):
            raise ApiFailureError(404, "NotFound", f"no subresource {target.subresource!r} of {kind.plural}")
        if method == "GET":
            return _out(store.get(kind, ns, target.name), target)
        if method == "PUT":
            body = await self._body(request)
            if self.strip_ip_mode:
                for entry in ((body.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
                    entry.pop("ipMode", None)
            return _out(store.update(kind, ns, target.name, body, subresource=target.subresource), target)
        if method == "PATCH":
            content_type = request.headers.get("Content-Type", "")
            if content_type not in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                raise ApiFailureError(
                    415, "UnsupportedMediaType", f"the double does not apply {content_type}"
                )
            body = await self._body(request)
            return _out(store.patch(kind, ns, target.name, body, subresource=target.subresource), target)
        if method == "DELETE":
            return _out(store.delete(kind, ns, target.name), target)
        raise ApiFailureError(405, "MethodNotAllowed", method)

    @staticmethod
    async def _body(request: web.Request) -> Obj:
        try:
            body: Any = await request.json()
        except ValueError as exc:
            raise ApiFailureError(400, "BadRequest", f"invalid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ApiFailureError(400, "BadRequest", "expected a JSON object")
        return body

    async def _watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        if self.refuse_watches:
            raise ApiFailureError(503, "ServiceUnavailable", "watches are refused (test fault)")
        store, query = self.store, request.query
        selector = parse_field_selector(query.get("fieldSelector", ""))
        queue = store.subscribe(target.kind, target.namespace)
        try:
            since = query.get("resourceVersion", "")
            initial: list[tuple[str, Obj]]
            if since in ("", "0"):
                initial = [("ADDED", obj) for obj in store.items(target.kind, target.namespace)]
            else:
                if not since.isdigit():
                    raise ApiFailureError(400, "BadRequest", f"invalid resourceVersion {since!r}")
                try:
                    initial = [
                        (c.type, c.obj)
                        for c in store.changes_since(target.kind, target.namespace, int(since))
                    ]
                except ApiFailureError as gone:
                    response = web.StreamResponse(headers={"Content-Type": JSON})
                    await response.prepare(request)
                    await response.write(_line("ERROR", gone.status()))
                    await response.write_eof()
                    return response
            initial = [(event, obj) for event, obj in initial if selector.matches(obj)]
            return await self._stream(request, target, queue, initial, selector)
        finally:
            store.unsubscribe(queue)

    async def _pump(
        self,
        request: web.Request,
        response: web.StreamResponse,
        target: Target,
        queue: asyncio.Queue[Change | str],
        deadline: float,
        bookmarks: bool,
        selector: FieldSelector,
    ) -> bool:
        """Forward events until the deadline or a fault; False when the connection was cut."""
        loop = asyncio.get_running_loop()
        while (left := deadline - loop.time()) > 0:
            try:
                async with asyncio.timeout(min(left, self.bookmark_interval)):
                    item = await queue.get()
            except TimeoutError:
                if bookmarks and queue.empty():
                    mark = {"metadata": {"resourceVersion": str(self.store.rv)}}
                    await response.write(_line("BOOKMARK", _out(mark, target)))
                continue
            if item == ABORT:
                if request.transport is not None:
                    request.transport.abort()
                return False
            if item == DROP:
                return True
            assert isinstance(item, Change)
            if not selector.matches(item.obj):
                continue
            await response.write(_line(item.type, _out(dict(item.obj), target)))
        return True

    async def _stream(
        self,
        request: web.Request,
        target: Target,
        queue: asyncio.Queue[Change | str],
        initial: list[tuple[str, Obj]],
        selector: FieldSelector,
    ) -> web.StreamResponse:
        bookmarks = request.query.get("allowWatchBookmarks") in ("true", "1")
        timeout = float(request.query.get("timeoutSeconds") or 3600)
        deadline = asyncio.get_running_loop().time() + timeout
        response = web.StreamResponse(headers={"Content-Type": JSON})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for event, obj in initial:
                await response.write(_line(event, _out(obj, target)))
            if not await self._pump(request, response, target, queue, deadline, bookmarks, selector):
                return response
        except ConnectionError:  # the client went away
            return response
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response
