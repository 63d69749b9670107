"""A tiny read-only HTTP/1.0 JSON endpoint on 127.0.0.1 for `bgplb status` (stdlib asyncio streams).

`GET /status` answers every view, `GET /status/<view>` one of them; the views come from a callable that
builds plain JSON-able data on each request, so the answer is always current. Anything else gets 404/405;
a request line is read with a size limit and a timeout, so a stuck client cannot hold the daemon.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from bgplb.adapters.http_endpoint import HttpEndpoint, response

DEFAULT_PORT = 7475
Views = Mapping[str, Callable[[], object]]


def _response(status: str, body: object) -> bytes:
    return response(status, "application/json", (json.dumps(body, indent=1, sort_keys=True) + "\n").encode())


def answer(views: Views, method: str, path: str) -> bytes:
    """The full HTTP response for one request."""
    if method != "GET":
        return _response("405 Method Not Allowed", {"error": "only GET"})
    parts = [p for p in path.split("?", maxsplit=1)[0].split("/") if p]
    if parts == ["status"]:
        return _response("200 OK", {name: build() for name, build in views.items()})
    if len(parts) == 2 and parts[0] == "status" and parts[1] in views:
        return _response("200 OK", {parts[1]: views[parts[1]]()})
    return _response("404 Not Found", {"error": f"no such path {path!r}", "views": sorted(views)})


class StatusServer(HttpEndpoint):
    """Serves `views` on host:port until `close()`."""

    def __init__(self, views: Views, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        super().__init__(host, port)
        self.views = views

    def answer(self, method: str, path: str) -> bytes:
        """The full HTTP response for one request."""
        return answer(self.views, method, path)

    def error(self, status: str, message: str) -> bytes:
        """Errors are JSON too."""
        return _response(status, {"error": message})
