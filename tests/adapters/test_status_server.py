"""The status endpoint: routing of paths, and a real server on a loopback port."""

from __future__ import annotations

import asyncio
import json

from bgplb.adapters.status_server import StatusServer, answer

VIEWS = {"sessions": lambda: [{"peer": "router"}], "pools": lambda: []}


def body(response: bytes) -> tuple[str, object]:
    head, _, payload = response.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), json.loads(payload)


def test_paths() -> None:
    assert body(answer(VIEWS, "GET", "/status")) == (
        "HTTP/1.0 200 OK",
        {"sessions": [{"peer": "router"}], "pools": []},
    )
    assert body(answer(VIEWS, "GET", "/status/pools?x=1")) == ("HTTP/1.0 200 OK", {"pools": []})
    status, payload = body(answer(VIEWS, "GET", "/status/nope"))
    assert status == "HTTP/1.0 404 Not Found"
    assert payload == {"error": "no such path '/status/nope'", "views": ["pools", "sessions"]}
    assert body(answer(VIEWS, "POST", "/status"))[0] == "HTTP/1.0 405 Method Not Allowed"


async def request(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data


async def test_server_answers_and_survives_a_failing_view() -> None:
    def broken() -> object:
        raise RuntimeError("boom")

    server = StatusServer({**VIEWS, "broken": broken}, port=0)
    port = await server.start()
    try:
        ok = await request(port, b"GET /status/sessions HTTP/1.1\r\nHost: x\r\n\r\n")
        assert body(ok) == ("HTTP/1.0 200 OK", {"sessions": [{"peer": "router"}]})
        failed = await request(port, b"GET /status/broken HTTP/1.0\r\n\r\n")
        assert body(failed)[0] == "HTTP/1.0 500 Internal Server Error"
        garbage = await request(port, b"\r\n")
        assert body(garbage)[0] == "HTTP/1.0 400 Bad Request"
        again = await request(port, b"GET /status/pools HTTP/1.0\r\n\r\n")
        assert body(again) == ("HTTP/1.0 200 OK", {"pools": []})
    finally:
        await server.close()
