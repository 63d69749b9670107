"""A tiny read-only HTTP/1.0 endpoint on stdlib asyncio streams, shared by /status and /metrics.

Subclasses answer `answer(method, path) -> bytes` (a whole response, built with `response`). The request
line is read with a size limit and a timeout and the headers are skipped, so a stuck or hostile client
cannot hold the daemon; a failing answer is logged and becomes a 500, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)

MAX_REQUEST = 8192
REQUEST_TIMEOUT = 5.0


def response(status: str, content_type: str, body: bytes) -> bytes:
    """A complete HTTP/1.0 response."""
    head = f"HTTP/1.0 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class HttpEndpoint:
    """Serves `answer` on host:port from `start()` until `close()`."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    def answer(self, method: str, path: str) -> bytes:
        """The full HTTP response for one request."""
        raise NotImplementedError

    def error(self, status: str, message: str) -> bytes:
        """The response for a bad request line or a failed answer."""
        return response(status, "text/plain; charset=utf-8", f"{message}\n".encode())

    async def start(self) -> int:
        """Listen; returns the bound port (useful with port 0)."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port, limit=MAX_REQUEST)
        port: int = self._server.sockets[0].getsockname()[1]
        self.port = port
        return port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                line = await reader.readline()
                while line.strip() and (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
            words = line.decode("latin-1").split()
            if len(words) < 2:
                writer.write(self.error("400 Bad Request", "bad request line"))
            else:
                writer.write(self.answer(words[0], words[1]))
            await writer.drain()
        except (TimeoutError, ValueError, ConnectionError) as exc:
            log.debug("%s request failed: %r", type(self).__name__, exc)
        except Exception:  # a failing view or readiness check must not take the daemon down
            log.exception("%s failed", type(self).__name__)
            writer.write(self.error("500 Internal Server Error", "failed; see the log"))
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
