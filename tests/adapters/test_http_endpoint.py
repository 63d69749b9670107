"""The shared HTTP/1.0 endpoint: answers, a bad request line, and a failing answer that must not kill it."""

from __future__ import annotations

import asyncio

from bgplb.adapters.http_endpoint import HttpEndpoint, response


class Echo(HttpEndpoint):
    def answer(self, method: str, path: str) -> bytes:
        if path == "/boom":
            raise RuntimeError("a view failed")
        return response("200 OK", "text/plain", f"{method} {path}".encode())


async def _ask(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    async with asyncio.timeout(5):
        data = await reader.read()
    writer.close()
    return data


async def test_answers_bad_lines_and_failures_without_dying() -> None:
    server = Echo("127.0.0.1", 0)
    port = await server.start()
    try:
        ok = await _ask(port, b"GET /status HTTP/1.0\r\nHost: x\r\n\r\n")
        assert ok.startswith(b"HTTP/1.0 200 OK\r\n") and ok.endswith(b"GET /status")
        assert b"Content-Length: 11\r\n" in ok
        bad = await _ask(port, b"nonsense\r\n\r\n")
        assert bad.startswith(b"HTTP/1.0 400 Bad Request")
        failed = await _ask(port, b"GET /boom HTTP/1.0\r\n\r\n")
        assert failed.startswith(b"HTTP/1.0 500 Internal Server Error")
        again = await _ask(port, b"GET /still-here HTTP/1.0\r\n\r\n")
        assert again.endswith(b"GET /still-here")
    finally:
        await server.close()
