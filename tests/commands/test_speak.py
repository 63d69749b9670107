"""`bgplb speak`: flags and YAML, errors naming the field, and the real thing against a raw BGP receiver."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bgplb.adapters import tcp_options
from bgplb.bgp.constants import IPV4_UNICAST
from bgplb.bgp.events import RouteRefreshBegun, RouteRefreshEnded, SessionDown, StateChanged
from bgplb.bgp.fsm import DownReason, State
from bgplb.bgp.messages import Notification
from bgplb.cli import app
from bgplb.commands.speak import SHUTDOWN_MESSAGE, EventPrinter, Output, build_config
from bgplb.lab.netns import Netkit
from bgplb.lab.wait import wait_for
from tests.adapters.counting_receiver import NOTIFICATION, UPDATE, CountingReceiver
from tests.adapters.thread_netns import entered, private_namespace
from tests.conftest import VethPair

runner = CliRunner()


def test_a_bad_file_exits_2_and_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "speak.yaml"
    path.write_text(
        "local_asn: 64501\nrouter_id: 10.0.0.2\npeers:\n  - {address: 10.0.0.1, asn: 64500, port: 0}\n"
    )
    result = runner.invoke(app, ["speak", "--config", str(path)])
    assert result.exit_code == 2
    assert f"speak config {path} field peers[0].port" in result.output


def test_missing_peers_without_a_file_is_reported() -> None:
    result = runner.invoke(app, ["speak", "--asn", "64501", "--router-id", "10.0.0.2"])
    assert result.exit_code == 2
    assert "field peers" in result.output


def test_flags_lay_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "speak.yaml"
    path.write_text("local_asn: 1\nrouter_id: 10.0.0.2\npeers: [{address: 10.0.0.1, asn: 64500}]\n")
    config = build_config(
        path,
        asn=64501,
        router_id=None,
        peers=["[fd00::1]:1179,4200000001"],
        prefixes=[
            "192.0.2.1/32,community=64500:1,community=no-export,local-pref=200,med=5,next-hop=10.0.0.9"
        ],
        listen="0.0.0.0:1179",
    )
    assert config.local_asn == 64501 and str(config.router_id) == "10.0.0.2"
    assert [(str(p.address), p.port, p.asn) for p in config.peers] == [
        ("10.0.0.1", 179, 64500),
        ("fd00::1", 1179, 4200000001),
    ]
    [prefix] = config.prefixes
    assert prefix.prefix == IPv4Network("192.0.2.1/32") and prefix.communities == ("64500:1", "no-export")
    assert prefix.local_pref == 200 and prefix.med == 5 and prefix.next_hop == IPv4Address("10.0.0.9")


def test_a_malformed_prefix_flag_is_rejected() -> None:
    result = runner.invoke(
        app,
        [
            "speak",
            "--asn",
            "1",
            "--router-id",
            "10.0.0.2",
            "--peer",
            "10.0.0.1,2",
            "--prefix",
            "10.0.0.1/32,x",
        ],
    )
    assert result.exit_code == 2
    assert "is not KEY=VALUE" in result.output


@pytest.mark.netns
@pytest.mark.timeout(60)
async def test_speak_announces_then_sigterm_sends_administrative_shutdown(
    veth_pair: VethPair, netkit: Netkit
) -> None:
    receiver = CountingReceiver(asn=64500, bgp_id=IPv4Address("10.0.0.1"))
    with entered(veth_pair.a.name):
        listener = tcp_options.listen_socket(IPv4Address("10.0.0.1"), 1179)
    server = await asyncio.start_server(receiver.serve, sock=listener)
    argv = [sys.executable, "-m", "bgplb", "speak", "--asn", "64501", "--router-id", "10.0.0.2"]
    argv += ["--peer", "10.0.0.1:1179,64500", "--prefix", "192.0.2.10/32,community=64500:7", "-o", "json"]
    speak = veth_pair.b.spawn(argv, name="speak")
    await receiver.wait(lambda: any(m.announced for m in receiver.of_kind(UPDATE)), timeout=20)
    speak.signal(signal.SIGTERM)
    await receiver.wait(lambda: receiver.closed, timeout=10)
    [notification] = receiver.of_kind(NOTIFICATION)
    assert notification.body == bytes([6, 2, len(SHUTDOWN_MESSAGE)]) + SHUTDOWN_MESSAGE.encode()
    status = wait_for(speak.popen.poll, timeout=10, description="speak exits", ready=lambda c: c is not None)
    assert status == 0
    lines = [json.loads(line) for line in speak.log().splitlines() if line.startswith("{")]
    states = [(r["old"], r["new"]) for r in lines if r["event"] == "state"]
    assert ("OpenConfirm", "Established") in states and states[-1][1] == "Idle"
    assert all(r["peer"] == "10.0.0.1" and isinstance(r["time"], float) for r in lines)
    server.close()


@pytest.mark.netns
def test_a_busy_listening_port_is_a_clear_error(tmp_path: Path) -> None:
    with private_namespace():
        busy = tcp_options.listen_socket(IPv4Address("127.0.0.1"), 1179)
        try:
            result = runner.invoke(
                app,
                [
                    "speak",
                    "--asn",
                    "1",
                    "--router-id",
                    "10.0.0.2",
                    "--peer",
                    "127.0.0.2,2",
                    "--listen",
                    "127.0.0.1:1179",
                ],
            )
        finally:
            busy.close()
    assert result.exit_code == 1
    assert "cannot listen on" in result.output and "Address already in use" in result.output


def test_event_lines_in_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    peer = IPv4Address("10.0.0.1")
    notification = Notification(4, 0)
    for output in (Output.TEXT, Output.JSON):
        printer = EventPrinter(output)
        printer(peer, StateChanged(State.OPEN_CONFIRM, State.ESTABLISHED))
        printer(peer, StateChanged(State.ESTABLISHED, State.IDLE, DownReason.HOLD_TIMER_EXPIRED))
        printer(peer, SessionDown(DownReason.HOLD_TIMER_EXPIRED, notification, was_established=True))
        printer.emit("-", {"event": "reloaded", "prefixes": 3})
        printer(peer, RouteRefreshBegun(IPV4_UNICAST, stale=2))
        printer(peer, RouteRefreshEnded(IPV4_UNICAST, purged=1, timed_out=False))
    lines = capsys.readouterr().out.splitlines()
    text, records = lines[:6], [json.loads(line) for line in lines[6:]]
    assert [line.split(" ", 2)[2] for line in text] == [
        "OpenConfirm -> Established",
        "Established -> Idle (hold-timer-expired)",
        f"down: hold-timer-expired, {notification}",
        "reloaded prefixes=3",
        "refresh-begun family=ipv4-unicast stale=2",
        "refresh-ended family=ipv4-unicast purged=1 timed_out=False",
    ]
    assert records[5] == {**records[5], "event": "refresh-ended", "purged": 1, "timed_out": False}
    assert records[1] == {
        **records[1],
        "peer": "10.0.0.1",
        "event": "state",
        "old": "Established",
        "new": "Idle",
    }
    assert records[1]["reason"] == "hold-timer-expired" and records[0]["reason"] is None
    assert records[2]["notification"] == str(notification) and records[3]["prefixes"] == 3
