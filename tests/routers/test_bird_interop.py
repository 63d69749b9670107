"""The rendered bird.conf: `bird -p` accepts every golden file, and a real BIRD 2 router filters and ECMPs.

Two nodes run `bgplb speak` announcing a pool /32 and a prefix outside the pools: BIRD must bring both
sessions up, import the pool route (and install it in the router namespace's kernel table over both nodes,
`merge paths`), and filter the outside prefix (counted as filtered in BIRD's import statistics).
"""

from __future__ import annotations

import re
import subprocess
from functools import partial
from pathlib import Path

import pytest

from bgplb.lab.bird import BirdRouter
from bgplb.lab.netns import Netkit
from bgplb.lab.wait import wait_for
from bgplb.routers import bird
from bgplb.routers.plan import IPNetwork
from bgplb.routers.render import RouterFormat
from tests.routers import lab
from tests.routers.scenarios import SCENARIOS
from tests.routers.test_golden import golden_path

pytestmark = [pytest.mark.interop]

IMPORT_STATS = re.compile(r"Import updates:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+|---)\s+(\d+)")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_bird_parses_the_golden_config(scenario: str, tmp_path: Path) -> None:
    done = subprocess.run(
        ["bird", "-p", "-c", str(golden_path(scenario, RouterFormat.BIRD))],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout


def _import_stats(router: BirdRouter, protocol: str) -> tuple[int, int, int, int]:
    """(received, rejected, filtered, accepted) import updates of one BGP protocol."""
    match = IMPORT_STATS.search(router.birdc(f"show protocols all {protocol}"))
    assert match, f"no import statistics for {protocol}"
    received, rejected, filtered, _, accepted = match.groups()
    return int(received), int(rejected), int(filtered), int(accepted)


def _kernel_gateways(topology: lab.Topology, prefix: IPNetwork) -> list[str]:
    """The next hops of the kernel route for `prefix` in the router namespace (several for ECMP)."""
    for route in topology.router.routes(prefix.version):
        if route.get("dst") in (str(prefix), str(prefix.network_address)):
            hops = route.get("nexthops")
            entries = hops if isinstance(hops, list) else [route]
            return sorted(str(h.get("gateway")) for h in entries if isinstance(h, dict))
    return []


@pytest.mark.netns
@pytest.mark.timeout(120)
@pytest.mark.parametrize("ipv6", [False, True], ids=["ipv4", "dual-stack"])
def test_rendered_bird_config_accepts_the_pool_and_filters_the_rest(netkit: Netkit, ipv6: bool) -> None:
    topology = lab.build(netkit, 2, ipv6=ipv6)
    router = BirdRouter(topology.router, bird.render(topology.plan))
    router.start()
    cases = [(lab.SERVICE_IP, lab.OUTSIDE, "ipv4", 0)] + (
        [(lab.SERVICE_IP6, lab.OUTSIDE6, "ipv6", 1)] if ipv6 else []
    )
    lab.start_speakers(topology, tuple(p for service, outside, _, _ in cases for p in (service, outside)))
    for service, outside, family, index in cases:
        protocols = [f"node_{ns.role}_{family}" for ns, _ in topology.nodes]
        for protocol in protocols:
            stats: tuple[int, int, int, int] = wait_for(
                partial(_import_stats, router, protocol),
                timeout=30,
                interval=0.2,
                ready=lambda s: s[0] == 2,
                description=f"{protocol}: both prefixes received",
            )
            assert stats == (
                2,
                0,
                1,
                1,
            )  # received 2, rejected 0, filtered 1 (the outside prefix), accepted 1
        table = router.birdc(f"show route table master{service.version}")
        assert str(service) in table and str(outside) not in table
        gateways: list[str] = wait_for(
            partial(_kernel_gateways, topology, service),
            timeout=30,
            interval=0.2,
            ready=lambda g: len(g) == 2,
            description=f"ECMP kernel route for {service}",
        )
        assert gateways == sorted(str(addresses[index]) for _, addresses in topology.nodes)
