"""The lab's tiny HTTP backend: answers every GET with the node's name (`/healthz` with `ok`).

Run inside a node namespace as `python -m bgplb.lab.backend NAME [PORT]`. It listens on the wildcard
address (IPv6 socket accepting IPv4 too), so it answers on every Service IP the node accepts locally — the
lab routes the whole pool as `local` on the node, as kube-proxy makes a node accept its LoadBalancer IPs.
"""

from __future__ import annotations

import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bgplb.lab.topology import BACKEND_PORT


class DualStackServer(ThreadingHTTPServer):
    """An HTTP server on an IPv6 wildcard socket that accepts IPv4 too."""

    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def handler_for(name: str) -> type[BaseHTTPRequestHandler]:
    """A request handler class answering with `name`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"ok\n" if self.path == "/healthz" else f"{name}\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    return Handler


def main(argv: list[str]) -> None:
    """Serve forever on `[::]:PORT`."""
    name = argv[0]
    port = int(argv[1]) if len(argv) > 1 else BACKEND_PORT
    with DualStackServer(("::", port), handler_for(name)) as server:
        print(f"backend {name} listening on port {port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
