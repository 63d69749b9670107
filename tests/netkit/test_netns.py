"""The namespace kit itself: links carry traffic, and teardown leaves nothing behind whatever happens."""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bgplb.lab.netns import Netkit, NetnsError, cleanup_stale, list_namespaces
from tests.conftest import VethPair

pytestmark = pytest.mark.netns


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie still "exists" until reaped; count it as dead
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_veth_pair_carries_ipv4_and_ipv6(veth_pair: VethPair) -> None:
    assert veth_pair.a.ping("10.0.0.2") < 1.0
    assert veth_pair.b.ping("fd00::1") < 1.0
    assert veth_pair.link.b.address(6) == ipaddress.ip_address("fd00::2")


def test_ping_to_an_unconfigured_address_fails(veth_pair: VethPair) -> None:
    with pytest.raises(NetnsError, match="no reply"):
        veth_pair.a.ping("10.0.0.99", timeout=0.3)


def test_nothing_appears_in_the_root_namespace(veth_pair: VethPair) -> None:
    root_links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    assert veth_pair.link.a.name not in root_links
    assert veth_pair.link.b.name not in root_links
    inner = veth_pair.a.run(["ip", "-o", "link"]).stdout
    assert veth_pair.link.a.name in inner


def test_bridge_joins_a_lan_of_several_nodes(netkit: Netkit) -> None:
    lan = netkit.bridge("lan")
    router = netkit.namespace("router", forwarding=True)
    lan.attach(router, ["192.168.50.1/24", "fd50::1/64"])
    nodes = [netkit.namespace(f"node{i}") for i in range(3)]
    for i, node in enumerate(nodes):
        lan.attach(node, [f"192.168.50.{10 + i}/24", f"fd50::{10 + i}/64"])
    assert len(lan.members) == 4
    for i, node in enumerate(nodes):
        node.ping("192.168.50.1")
        router.ping(f"fd50::{10 + i}")
    nodes[0].ping("192.168.50.12")


def test_interface_names_are_unique_and_short(netkit: Netkit) -> None:
    a = netkit.namespace("a")
    b = netkit.namespace("b")
    first = netkit.veth(a, b, a_name="a-very-long-interface-name")
    second = netkit.veth(a, b, a_name="a-very-long-interface-name")
    assert len(first.a.name) <= 15
    assert first.a.name != second.a.name
    assert {first.b.name, second.b.name} == {"to-a", "to-a1"}


def test_bad_names_and_addresses_are_refused(netkit: Netkit) -> None:
    with pytest.raises(NetnsError, match="role"):
        netkit.namespace("Bad Role!")
    a = netkit.namespace("a")
    b = netkit.namespace("b")
    with pytest.raises(NetnsError, match=re.escape("10.0.0.300/24")):
        netkit.veth(a, b, ["10.0.0.300/24"])


def test_run_reports_failures_with_the_command(netkit: Netkit) -> None:
    ns = netkit.namespace("a")
    with pytest.raises(NetnsError, match="exited 1"):
        ns.run(["false"])
    assert ns.run(["false"], check=False).returncode == 1


def test_teardown_on_exception_removes_namespaces_and_processes(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), Netkit("bgplb", tmp_path) as kit:
        a = kit.namespace("a")
        b = kit.namespace("b")
        kit.veth(a, b, ["10.9.0.1/24"], ["10.9.0.2/24"])
        proc = a.spawn(["sleep", "300"], name="sleeper")
        names = [a.name, b.name]
        assert all(n in list_namespaces() for n in names)
        raise RuntimeError("boom")
    assert not any(n in list_namespaces() for n in names)
    assert not _pid_alive(proc.pid)


def test_teardown_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    kit = Netkit("bgplb", tmp_path)
    ns = kit.namespace("a")
    stubborn = ns.spawn(["sh", "-c", "trap '' TERM; sleep 300"], name="stubborn")
    kit.close(timeout=0.5)
    assert not _pid_alive(stubborn.pid)
    assert ns.name not in list_namespaces()


def test_sigterm_to_the_owner_tears_everything_down(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from bgplb.lab.netns import Netkit
        kit = Netkit("bgplb", Path(sys.argv[1]))
        ns = kit.namespace("victim")
        proc = ns.spawn(["sleep", "300"], name="sleeper")
        print(ns.name, proc.pid, flush=True)
        time.sleep(60)
        """
    )
    owner = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        name, pid = owner.stdout.readline().split()
        assert name in list_namespaces()
        owner.send_signal(signal.SIGTERM)
        assert owner.wait(15) == -signal.SIGTERM
    finally:
        if owner.poll() is None:
            owner.kill()
    assert name not in list_namespaces()
    assert not _pid_alive(int(pid))


def test_cleanup_stale_removes_only_dead_owners(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"bgplbstale-{dead.pid}-1-x"
    live = f"bgplbstale-{os.getpid()}-1-y"
    for name in (stale, live):
        subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        removed = cleanup_stale("bgplbstale")
        assert removed == [stale]
        assert live in list_namespaces()
        assert stale not in list_namespaces()
    finally:
        for name in (stale, live):
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
