"""End to end on the lab: `bgplb lab up` (3 nodes, hold time 3 s), then Services, endpoints, health checks,
speakers and files are changed and the router's kernel table and the client's requests are checked.

One lab serves the whole module (up ~6 s); every test puts back what it changed. The lab is driven through
its commands (`bgplb lab up/status/curl/down`) and its record (namespaces, pids, the shared config dir), as a
person would: edit a file in the config dir, kill a process, look at the router.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from ipaddress import ip_address
from pathlib import Path

import pytest
import yaml

from bgplb.lab import observe, run, state
from bgplb.lab.cleanup import list_namespaces
from bgplb.lab.state import LabRecord
from bgplb.lab.topology import endpoint_slice_document, service_document
from bgplb.lab.wait import wait_for

pytestmark = [pytest.mark.netns, pytest.mark.interop, pytest.mark.timeout(90)]

HOLD_TIME = 3
WEB, LOCAL = "198.51.100.10", "198.51.100.11"


def bgplb(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bgplb", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


class Lab:
    """The running lab seen from a test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def record(self) -> LabRecord:
        return state.load(self.directory)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return bgplb("lab", *args, "--dir", str(self.directory))

    def address(self, node: str) -> str:
        return self.record.node(node).addresses[0]

    def write(self, name: str, documents: list[dict[str, object]] | str) -> None:
        text = documents if isinstance(documents, str) else yaml.safe_dump_all(documents)
        config = Path(self.record.config_dir)
        (config / f".{name}.tmp").write_text(text)
        (config / f".{name}.tmp").rename(config / name)

    def remove(self, name: str) -> None:
        (Path(self.record.config_dir) / name).unlink()

    def gateways(self, ip: str) -> list[str]:
        return observe.gateways(self.record, ip)

    def wait_nodes(self, ip: str, nodes: list[str], timeout: float = 10.0) -> float:
        """Wait until `ip`'s next hops are exactly `nodes`' addresses; the seconds it took."""
        expected = sorted(self.address(n) for n in nodes)
        started = time.monotonic()
        wait_for(
            lambda: self.gateways(ip),
            ready=lambda hops: hops == expected,
            timeout=timeout,
            interval=0.01,
            description=f"{ip} via {nodes} in the router's kernel table",
        )
        return time.monotonic() - started


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("lab")
    up = bgplb(
        "lab", "up", "--nodes", "3", "--hold-time", str(HOLD_TIME), "--dir", str(directory), timeout=90
    )
    assert up.returncode == 0, up.stdout + up.stderr
    lab = Lab(directory)
    namespaces = lab.record.namespaces
    try:
        yield lab
    finally:
        down = lab.cli("down")
        assert down.returncode == 0, down.stdout + down.stderr
        assert not set(namespaces) & set(list_namespaces())
        assert not state.exists(directory)


ALL = ["node1", "node2", "node3"]


def test_up_again_says_it_is_up_and_status_shows_router_and_nodes(lab: Lab) -> None:
    again = lab.cli("up")
    assert again.returncode == 1 and "already up" in again.stderr
    shown = lab.cli("status")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert re.search(r"\*[>=] 198\.51\.100\.10/32\s+10\.77\.0\.1[123]", out)  # FRR's BGP table
    assert out.count("nexthop via 10.77.0.1") == 3  # the kernel's ECMP route for web
    assert out.count("Established") == 3  # each node's session
    assert "NoLocalEndpoint" in out  # node2/node3 do not announce the Local Service


def test_each_service_has_one_next_hop_per_eligible_node(lab: Lab) -> None:
    lab.wait_nodes(WEB, ALL)
    lab.wait_nodes(LOCAL, ["node1"])


def test_curl_spreads_over_every_node(lab: Lab) -> None:
    done = lab.cli("curl", "web", "--requests", "60")
    assert done.returncode == 0, done.stdout + done.stderr
    counts = {m[0]: int(m[1]) for m in re.findall(r"^\s+(node\d)\s+(\d+)", done.stdout, re.M)}
    assert set(counts) == set(ALL) and sum(counts.values()) == 60, done.stdout
    local = observe.curl(lab.record, LOCAL, 20)
    assert local.answers == {"node1": 20} and not local.errors


def test_local_policy_follows_the_endpoint(lab: Lab) -> None:
    name = "20-service-local.yaml"
    service = service_document("local", (ip_address(LOCAL),), local=True)
    try:
        lab.write(name, [service, endpoint_slice_document("local", "node2")])
        lab.wait_nodes(LOCAL, ["node2"])
        assert observe.curl(lab.record, LOCAL, 10).answers == {"node2": 10}
    finally:
        lab.write(name, [service, endpoint_slice_document("local", "node1")])
        lab.wait_nodes(LOCAL, ["node1"])


def test_a_new_service_is_announced_and_deleting_it_withdraws_it(lab: Lab) -> None:
    extra = "198.51.100.20"
    lab.write("30-extra.yaml", [service_document("extra", (ip_address(extra),))])
    lab.wait_nodes(extra, ALL)
    lab.remove("30-extra.yaml")
    lab.wait_nodes(extra, [])


def test_a_failing_health_check_withdraws_that_node_only(lab: Lab) -> None:
    run.stop_backend(lab.record, "node2")
    try:
        lab.wait_nodes(WEB, ["node1", "node3"])
        answers = observe.curl(lab.record, WEB, 30)
        assert set(answers.answers) <= {"node1", "node3"} and not answers.errors
    finally:
        run.start_backend(lab.record, lab.directory, "node2")
        lab.wait_nodes(WEB, ALL)


def test_sigterm_takes_the_next_hop_away_at_once(lab: Lab) -> None:
    run.signal_node(lab.record, "node3", signal.SIGTERM)
    try:
        gone = lab.wait_nodes(WEB, ["node1", "node2"], timeout=2)
        print(f"\nSIGTERM -> next hop gone from the router's kernel table: {gone * 1000:.0f} ms")
        assert gone < 1.0
    finally:
        run.start_node(lab.record, lab.directory, "node3")
        lab.wait_nodes(WEB, ALL, timeout=15)


def test_sigkill_next_hop_gone_within_the_hold_time(lab: Lab) -> None:
    run.signal_node(lab.record, "node3", signal.SIGKILL)
    try:
        gone = lab.wait_nodes(WEB, ["node1", "node2"], timeout=HOLD_TIME + 2)
        assert gone <= HOLD_TIME + 0.5
    finally:
        run.start_node(lab.record, lab.directory, "node3")
        lab.wait_nodes(WEB, ALL, timeout=15)


def test_a_frozen_speaker_is_dropped_by_the_hold_timer(lab: Lab) -> None:
    pid = lab.record.node("node2").run_pid
    os.kill(pid, signal.SIGSTOP)  # no FIN, no Cease: only the router's hold timer can notice
    try:
        gone = lab.wait_nodes(WEB, ["node1", "node3"], timeout=HOLD_TIME + 3)
        assert HOLD_TIME - 1.5 <= gone <= HOLD_TIME + 1.5, gone
    finally:
        os.kill(pid, signal.SIGCONT)
        lab.wait_nodes(WEB, ALL, timeout=20)


def test_an_invalid_file_is_reported_and_routes_stay(lab: Lab) -> None:
    lab.write("40-broken.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: [oops\n")
    try:

        def errors() -> list[object]:
            config = observe.node_status(lab.record, "node1").get("config", {})
            return list(config.get("errors", [])) if isinstance(config, dict) else []

        reported = wait_for(errors, timeout=5, interval=0.1, description="node1 to report the broken file")
        assert "40-broken.yaml" in json.dumps(reported)
        assert lab.gateways(WEB) == sorted(lab.address(n) for n in ALL)
        assert lab.gateways(LOCAL) == [lab.address("node1")]
    finally:
        lab.remove("40-broken.yaml")
    lab.write("30-after.yaml", [service_document("after", (ip_address("198.51.100.21"),))])
    lab.wait_nodes("198.51.100.21", ALL)  # the nodes took the repaired directory
    lab.remove("30-after.yaml")
    lab.wait_nodes("198.51.100.21", [])
