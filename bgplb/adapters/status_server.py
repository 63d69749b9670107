"""A tiny read-only HTTP/1.0 JSON endpoint on 127.0.0.1 for `bgplb status` (stdlib asyncio streams).

`GET /status` answers every view, `GET /status/<view>` one of them; the views come from a callable that
builds plain JSON-able data on each request, so the answer is always current. Anything else gets 404/405;
a request line is read with a size limit and a timeout, so a stuck client cannot hold the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

DEFAULT_PORT = 7475
MAX_REQUEST = 8192
Views = Mapping[str, Callable[[], object]]


def _response(status: str, body: object) -> bytes:
    payload = (json.dumps(body, indent=1, sort_keys=True) + "\n").encode()
    head = f"HTTP/1.0 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    return head.encode() + payload


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


class StatusServer:
    """Serves `views` on host:port until `close()`."""

    def __init__(self, views: Views, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        self.views = views
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen; returns the bound port (useful with port 0)."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port, limit=MAX_REQUEST)
        port: int = self._server.sockets[0].getsockname()[1]
        self.port = port
        return port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                line = await reader.readline()
                while line.strip() and (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
            words = line.decode("latin-1").split()
            if len(words) < 2:
                writer.write(_response("400 Bad Request", {"error": "bad request line"}))
            else:
                writer.write(answer(self.views, words[0], words[1]))
            await writer.drain()
        except (TimeoutError, ValueError, ConnectionError) as exc:
            log.debug("status request failed: %r", exc)
        except Exception:  # a view that fails must not take the daemon down; say so to the client
            log.exception("status view failed")
            writer.write(_response("500 Internal Server Error", {"error": "status view failed; see the log"}))
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
