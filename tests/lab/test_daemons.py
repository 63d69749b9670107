"""The shared launcher vocabulary: neighbor families, spec lookups, runtime dirs, source addresses."""

from __future__ import annotations

import ipaddress

import pytest

from bgplb.errors import BgplbError
from bgplb.lab.daemons import DaemonError, Neighbor, ensure_alive, runtime_dir, source_address
from bgplb.lab.netns import Netkit
from tests.conftest import VethPair
from tests.lab.specs import FULL_SPEC


def test_neighbor_families_default_to_the_address_family() -> None:
    assert Neighbor(ipaddress.ip_address("10.0.0.1"), 1).afis == ("ipv4",)
    assert Neighbor(ipaddress.ip_address("fd00::1"), 1).afis == ("ipv6",)
    assert Neighbor(ipaddress.ip_address("fd00::1"), 1, families=("ipv4", "ipv6")).afis == ("ipv4", "ipv6")


def test_spec_neighbor_lookup_names_the_missing_peer() -> None:
    assert FULL_SPEC.neighbor(ipaddress.ip_address("fd00::2")).asn == 64501
    with pytest.raises(DaemonError, match=r"no neighbor 10\.9\.9\.9"):
        FULL_SPEC.neighbor(ipaddress.ip_address("10.9.9.9"))


@pytest.mark.netns
def test_runtime_dirs_are_fresh_per_instance(netkit: Netkit) -> None:
    ns = netkit.namespace("r")
    first, second = runtime_dir(ns, "frr"), runtime_dir(ns, "frr")
    assert first != second
    assert first.parent == second.parent == netkit.workdir


@pytest.mark.netns
def test_source_address_follows_the_namespace_routes(veth_pair: VethPair) -> None:
    assert source_address(veth_pair.b, ipaddress.ip_address("10.0.0.1")) == ipaddress.ip_address("10.0.0.2")
    assert source_address(veth_pair.b, ipaddress.ip_address("fd00::1")) == ipaddress.ip_address("fd00::2")
    with pytest.raises(BgplbError, match=r"unreachable|no route"):
        source_address(veth_pair.b, ipaddress.ip_address("192.0.2.1"))


@pytest.mark.netns
def test_ensure_alive_reports_the_log_tail_of_a_dead_daemon(netkit: Netkit) -> None:
    proc = netkit.namespace("d").spawn(["sh", "-c", "echo config error on line 3; exit 2"], name="dying")
    proc.popen.wait(5)
    with pytest.raises(DaemonError, match="config error on line 3"):
        ensure_alive([proc], "test daemon")
