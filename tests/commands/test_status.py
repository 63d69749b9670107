"""`bgplb status`: tables from status documents, JSON output, and a clear error without a daemon."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from bgplb.cli import app
from bgplb.commands import status

DOC: dict[str, Any] = {
    "sessions": [
        {
            "peer": "router",
            "address": "10.0.0.1",
            "local_asn": 64501,
            "peer_asn": 64500,
            "state": "Established",
            "uptime": 3725.5,
            "flaps": 0,
            "prefixes_sent": 2,
            "prefixes_received": 0,
            "last_error": None,
        },
        {
            "peer": "backup",
            "address": "10.0.0.2",
            "local_asn": 64501,
            "peer_asn": "external",
            "state": "Active",
            "uptime": None,
            "flaps": 3,
            "prefixes_sent": 0,
            "prefixes_received": 0,
            "last_error": "received Cease/Administrative Shutdown",
        },
    ],
    "routes": [
        {
            "peer": "router",
            "address": "10.0.0.1",
            "routes": [
                {
                    "prefix": "198.51.100.0/32",
                    "next_hop": "self",
                    "communities": ["64500:1", "no-export"],
                    "large_communities": ["1:2:3"],
                    "local_pref": None,
                    "med": None,
                }
            ],
        }
    ],
    "services": [
        {
            "service": "default/web",
            "ip": "198.51.100.0",
            "pool": "public",
            "node": "n1",
            "announced": ["bgp:router"],
            "reason": None,
        },
        {
            "service": "default/api",
            "ip": "198.51.100.1",
            "pool": "public",
            "node": "n1",
            "announced": [],
            "reason": "NoLocalEndpoint",
        },
        {
            "service": "default/big",
            "ip": None,
            "pool": None,
            "node": "n1",
            "announced": [],
            "reason": "PoolExhausted",
            "detail": "no address left",
        },
    ],
    "pools": [{"pool": "public", "family": "IPv4", "used": 2, "free": 254}],
    "config": {
        "running": True,
        "last_load_ok": False,
        "errors": ["Service default/x field spec: bad"],
        "warnings": [],
    },
}


def render(table: Any) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_sessions_table_reads_like_show_bgp_summary() -> None:
    text = render(status.sessions_table(DOC["sessions"]))
    lines = [line for line in text.splitlines() if "router" in line or "backup" in line]
    assert "Established" in lines[0] and "01:02:05" in lines[0] and "64500" in lines[0]
    assert "never" in lines[1] and "received Cease/Administrative Shutdown" in lines[1]


def test_other_tables() -> None:
    assert "no-export" in render(status.routes_table(DOC["routes"]))
    services = render(status.services_table(DOC["services"]))
    assert "bgp:router" in services and "NoLocalEndpoint" in services and "no address left" in services
    assert "254" in render(status.pools_table(DOC["pools"]))


@pytest.fixture
def fake_daemon(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str | None]]:
    calls: list[tuple[int, str | None]] = []

    def fetch(port: int, view: str | None, timeout: float = 3.0) -> dict[str, Any]:
        calls.append((port, view))
        return {view: DOC[view]} if view else DOC

    monkeypatch.setattr(status, "fetch", fetch)
    return calls


def test_json_output_is_the_document(fake_daemon: list[tuple[int, str | None]]) -> None:
    result = CliRunner().invoke(app, ["status", "pools", "--output", "json", "--port", "9999"])
    assert result.exit_code == 0
    assert json.loads(result.output) == {"pools": DOC["pools"]}
    assert fake_daemon == [(9999, "pools")]


def test_all_views_and_config_errors(fake_daemon: list[tuple[int, str | None]]) -> None:
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for title in ("BGP sessions", "Routes sent", "Services", "Pools", "Service default/x field spec: bad"):
        assert title in result.output


def test_no_daemon_is_a_clear_error() -> None:
    with socket.socket() as sock:  # bound but never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        result = CliRunner().invoke(app, ["status", "--port", str(port)])
    assert result.exit_code == 1
    assert f"no bgplb run answers on 127.0.0.1:{port}" in result.output
