"""The lab's HTTP backend answers with its node's name; the client counts answers, one connection each."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from bgplb.lab.backend import DualStackServer, handler_for
from bgplb.lab.client import request, spread


@pytest.fixture
def backend() -> Iterator[int]:
    server = DualStackServer(("::", 0), handler_for("node7"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_client_counts_the_node_names_over_ipv4_and_ipv6(backend: int) -> None:
    result = spread("127.0.0.1", backend, 5)
    assert result == {"answers": {"node7": 5}, "errors": []}
    assert spread("::1", backend, 2)["answers"] == {"node7": 2}


def test_health_path_and_a_refused_port(backend: int) -> None:
    with socket.create_connection(("127.0.0.1", backend), timeout=1) as sock:
        sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        assert answer.startswith(b"HTTP/1.0 200") and answer.endswith(b"\r\n\r\nok\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    result = spread("127.0.0.1", closed, 3)
    assert result["answers"] == {} and len(result["errors"]) == 3  # type: ignore[arg-type]
    with pytest.raises(OSError):
        request("127.0.0.1", closed)
