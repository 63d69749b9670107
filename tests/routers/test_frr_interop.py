"""The rendered frr.conf in a real FRR (zebra + bgpd), three nodes running `bgplb speak` on a bridged LAN.

Proves, with `bgp ebgp-requires-policy` left on: the config is accepted line by line (`vtysh -f`), the
sessions come up, the pool's /32 is accepted and installed in the router namespace's kernel table as one
ECMP route over the three nodes, and a prefix outside the pools is received but refused by the filter.
`--check` against FRR's own running-config of that router finds nothing missing. With two routers and
BGPAdvertisement `peers`, each FRR refuses the pool advertised to the other one; with advertisement
`nodeSelectors`, the router refuses a pool from a node the advertisement does not select.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bgplb.lab.daemons import wait_established
from bgplb.lab.frr import FrrRouter
from bgplb.lab.netns import Netkit
from bgplb.lab.wait import wait_for
from bgplb.routers import frr
from bgplb.routers.build import RouterOptions
from bgplb.routers.check import check
from bgplb.routers.render import RouterFormat
from tests.routers import lab
from tests.routers.scenarios import SCENARIOS
from tests.routers.test_golden import golden_path

pytestmark = [pytest.mark.interop]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_vtysh_accepts_every_line_of_the_golden_config(scenario: str) -> None:
    path = golden_path(scenario, RouterFormat.FRR)
    done = subprocess.run(
        ["vtysh", "--dryrun", "-f", str(path)], capture_output=True, text=True, timeout=20, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_vtysh_dryrun_does_reject_a_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("router bgp 64500\n neighbor 10.0.0.1 remote-as 1\n neighbor 10.0.0.1 route-map\nexit\n")
    done = subprocess.run(
        ["vtysh", "--dryrun", "-f", str(bad)], capture_output=True, text=True, timeout=20, check=False
    )
    assert done.returncode != 0


@pytest.mark.netns
@pytest.mark.timeout(120)
def test_rendered_frr_config_installs_an_ecmp_route_and_filters_the_rest(netkit: Netkit) -> None:
    topology = lab.build(netkit, 3)
    router = FrrRouter(topology.router, frr.render(topology.plan))
    router.start()
    # Observation only: keep what the nodes sent before the inbound policy, to see the refused prefix.
    group = topology.plan.groups[0].name
    router.vtysh(
        "configure terminal",
        f"router bgp {lab.ROUTER_ASN}",
        "address-family ipv4 unicast",
        f"neighbor {group} soft-reconfiguration inbound",
    )
    lab.start_speakers(topology, (lab.SERVICE_IP, lab.OUTSIDE))
    for _, (address,) in topology.nodes:
        wait_established(router, address, timeout=30)

    gateways = wait_for(
        lambda: sorted(router.kernel_routes(4).get(lab.SERVICE_IP, [])),
        timeout=30,
        interval=0.2,
        ready=lambda hops: len(hops) == 3,
        description=f"an ECMP kernel route for {lab.SERVICE_IP} over the 3 nodes",
    )
    assert gateways == sorted(str(address) for _, (address,) in topology.nodes)

    for _, (address,) in topology.nodes:
        received = router.vtysh_json(f"show bgp ipv4 unicast neighbors {address} received-routes json")
        assert set(received.get("receivedRoutes", {})) == {str(lab.SERVICE_IP), str(lab.OUTSIDE)}
        assert router.received_count(address) == 1  # only the pool route passed BGPLB-IN-V4
    assert router.prefixes(4) == {lab.SERVICE_IP}
    assert lab.OUTSIDE not in router.kernel_routes(4)

    running = router.vtysh("show running-config")
    assert check(topology.plan, running) == ()


@pytest.mark.netns
@pytest.mark.timeout(120)
def test_dual_stack_activates_ipv6_and_filters_it_too(netkit: Netkit) -> None:
    topology = lab.build(netkit, 2, ipv6=True)
    router = FrrRouter(topology.router, frr.render(topology.plan))
    router.start()
    lab.start_speakers(topology, (lab.SERVICE_IP, lab.SERVICE_IP6, lab.OUTSIDE6))
    for _, addresses in topology.nodes:
        for address in addresses:
            wait_established(router, address, timeout=30)
    gateways = wait_for(
        lambda: sorted(router.kernel_routes(6).get(lab.SERVICE_IP6, [])),
        timeout=30,
        interval=0.2,
        ready=lambda hops: len(hops) == 2,
        description=f"an ECMP kernel route for {lab.SERVICE_IP6} over the 2 nodes",
    )
    assert gateways == sorted(str(addresses[1]) for _, addresses in topology.nodes)
    assert router.prefixes(6) == {lab.SERVICE_IP6}  # the outside IPv6 prefix was refused
    assert router.prefixes(4) == {lab.SERVICE_IP}
    assert check(topology.plan, router.vtysh("show running-config")) == ()


@pytest.mark.netns
@pytest.mark.timeout(120)
def test_ttl_security_and_default_route_work_with_ebgp_requires_policy_on(netkit: Netkit) -> None:
    options = RouterOptions(ttl_security=True, default_originate=True)
    topology = lab.build(netkit, 1, options=options)
    rendered = frr.render(topology.plan)
    assert "ttl-security hops 1" in rendered and "default-originate" in rendered
    router = FrrRouter(topology.router, rendered)
    router.start()
    lab.start_speakers(topology, (lab.SERVICE_IP,), ttl_security=True)
    ((_, (address,)),) = topology.nodes
    wait_established(router, address, timeout=30)
    advertised = wait_for(
        lambda: router.vtysh_json(f"show bgp ipv4 unicast neighbors {address} advertised-routes json"),
        timeout=20,
        interval=0.2,
        ready=lambda data: data.get("bgpOriginatingDefaultNetwork") == "0.0.0.0/0",
        description="FRR originating the default route towards the node",
    )
    assert advertised["advertisedRoutes"] == {}  # BGPLB-OUT lets nothing else out
    assert router.prefixes(4) == {lab.SERVICE_IP}


@pytest.mark.netns
@pytest.mark.timeout(120)
def test_each_router_refuses_the_pool_advertised_to_the_other_router(netkit: Netkit) -> None:
    """Two FRR routers, `peers` restricting pool to `router` and pool-b to `router-b`; the nodes (wrongly)
    send both pools' addresses and an outside prefix to both routers: each keeps only its own pool."""
    topology = lab.build(netkit, 2, two_routers=True)
    assert topology.router_b is not None and topology.plan_b is not None
    routers = {
        lab.SERVICE_IP: FrrRouter(topology.router, frr.render(topology.plan)),
        lab.SERVICE_IP_B: FrrRouter(topology.router_b, frr.render(topology.plan_b)),
    }
    for router in routers.values():
        router.start()
        # Observation only: keep what the nodes sent before the inbound policy, to see the refused prefixes.
        group = router.vtysh_json("show bgp peer-group json")
        names = list(group)
        assert len(names) == 1, names
        router.vtysh(
            "configure terminal",
            f"router bgp {lab.ROUTER_ASN}",
            "address-family ipv4 unicast",
            f"neighbor {names[0]} soft-reconfiguration inbound",
        )
    sent = {lab.SERVICE_IP, lab.SERVICE_IP_B, lab.OUTSIDE}
    lab.start_speakers(topology, tuple(sorted(sent)))
    for own, router in routers.items():
        gateways = wait_for(
            lambda router=router, own=own: sorted(router.kernel_routes(4).get(own, [])),
            timeout=30,
            interval=0.2,
            ready=lambda hops: len(hops) == 2,
            description=f"an ECMP kernel route for {own} over the 2 nodes in {router.namespace.role}",
        )
        assert gateways == sorted(str(address) for _, (address,) in topology.nodes)
        for _, (address,) in topology.nodes:
            wait_established(router, address, timeout=30)
            received = router.vtysh_json(f"show bgp ipv4 unicast neighbors {address} received-routes json")
            assert set(received.get("receivedRoutes", {})) == {str(p) for p in sent}
            assert router.received_count(address) == 1  # two of three filtered: the other pool, outside
        assert router.prefixes(4) == {own}
        assert set(router.kernel_routes(4)) == {own}
        plan = topology.plan if own == lab.SERVICE_IP else topology.plan_b
        assert check(plan, router.vtysh("show running-config")) == ()


@pytest.mark.netns
@pytest.mark.timeout(120)
def test_a_node_the_advertisement_does_not_select_is_refused_its_pool(netkit: Netkit) -> None:
    """pool is advertised from rack1 (node1) only, pool-b from every node; both nodes (wrongly) send both
    pools and an outside prefix: the router keeps pool from node1 only and pool-b over both nodes."""
    topology = lab.build(netkit, 2, racks=True)
    assert [[n.node for n in g.neighbors] for g in topology.plan.groups] == [["node1"], ["node2"]]
    router = FrrRouter(topology.router, frr.render(topology.plan))
    router.start()
    for group in router.vtysh_json("show bgp peer-group json"):
        # Observation only: keep what the nodes sent before the inbound policy, to see the refused prefixes.
        router.vtysh(
            "configure terminal",
            f"router bgp {lab.ROUTER_ASN}",
            "address-family ipv4 unicast",
            f"neighbor {group} soft-reconfiguration inbound",
        )
    sent = {lab.SERVICE_IP, lab.SERVICE_IP_B, lab.OUTSIDE}
    lab.start_speakers(topology, tuple(sorted(sent)))
    (_, (address1,)), (_, (address2,)) = topology.nodes
    gateways = wait_for(
        lambda: sorted(router.kernel_routes(4).get(lab.SERVICE_IP_B, [])),
        timeout=30,
        interval=0.2,
        ready=lambda hops: len(hops) == 2,
        description=f"an ECMP kernel route for {lab.SERVICE_IP_B} over both nodes",
    )
    assert gateways == sorted([str(address1), str(address2)])
    for address, accepted in ((address1, 2), (address2, 1)):
        wait_established(router, address, timeout=30)
        received = router.vtysh_json(f"show bgp ipv4 unicast neighbors {address} received-routes json")
        assert set(received.get("receivedRoutes", {})) == {str(p) for p in sent}
        assert router.received_count(address) == accepted  # node2: pool refused like the outside prefix
    assert router.kernel_routes(4).get(lab.SERVICE_IP) == [str(address1)]
    assert router.prefixes(4) == {lab.SERVICE_IP, lab.SERVICE_IP_B}
    assert check(topology.plan, router.vtysh("show running-config")) == ()
