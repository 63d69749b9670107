"""Shared fixtures: the network-namespace kit (bgplb.lab.netns) wrapped for pytest.

`netkit` gives each test its own `Netkit` (namespaces named `bgplb-<pid>-<n>-<role>`, logs under the test's
tmp_path) and tears it down after the test whatever happened; when the test failed, the tail of every
process log is printed so the report shows what the daemons said. `veth_pair` is the common two-namespace
setup. Leftovers of crashed runs (namespaces whose creating pid is dead) are removed once per session.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bgplb.lab.netns import Link, Namespace, Netkit, cleanup_stale

NETKIT_PREFIX = "bgplb"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Remove namespaces left by crashed earlier runs (only those whose creating process is gone)."""
    del session
    try:
        cleanup_stale(NETKIT_PREFIX)
    except Exception as exc:  # no iproute2 or not root: the netns tests will say so themselves
        print(f"netkit: cleanup of stale namespaces skipped: {exc}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, object, object]:
    """Remember each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"netkit_report_{call.when}", report)
    return report


@pytest.fixture
def netkit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Netkit]:
    """A `Netkit` for one test; everything it created is gone after the test, also on failure."""
    kit = Netkit(NETKIT_PREFIX, tmp_path / "netkit")
    try:
        yield kit
    finally:
        report = getattr(request.node, "netkit_report_call", None)
        if report is not None and report.failed:
            for proc in kit.processes:
                print(f"----- {proc.name} ({proc.log_path}) -----\n{proc.log()[-3000:]}")
        kit.close()


@dataclass(frozen=True, slots=True)
class VethPair:
    """Two namespaces `a` (10.0.0.1/24, fd00::1/64) and `b` (10.0.0.2/24, fd00::2/64) joined by a veth."""

    a: Namespace
    b: Namespace
    link: Link


@pytest.fixture
def veth_pair(netkit: Netkit) -> VethPair:
    """Namespaces `a` and `b` with a veth pair between them, IPv4 and IPv6 addresses ready to use."""
    a = netkit.namespace("a", forwarding=True)
    b = netkit.namespace("b")
    link = netkit.veth(a, b, ["10.0.0.1/24", "fd00::1/64"], ["10.0.0.2/24", "fd00::2/64"])
    return VethPair(a, b, link)
