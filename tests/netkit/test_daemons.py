"""The daemon launchers against each other: real sessions, real routes, before any bgplb code is involved."""

from __future__ import annotations

import ipaddress

import pytest

from bgplb.lab.bird import BirdRouter
from bgplb.lab.daemons import (
    Announcement,
    BgpSpec,
    DaemonError,
    Neighbor,
    Route,
    wait_established,
    wait_received,
)
from bgplb.lab.exabgp import ExabgpRouter
from bgplb.lab.frr import FrrRouter
from bgplb.lab.gobgp import GobgpRouter
from bgplb.lab.netns import Netkit
from bgplb.lab.wait import wait_for
from tests.conftest import VethPair

pytestmark = [pytest.mark.netns, pytest.mark.interop]

ip = ipaddress.ip_address
net = ipaddress.ip_network
A4, A6, B4, B6 = ip("10.0.0.1"), ip("fd00::1"), ip("10.0.0.2"), ip("fd00::2")


def _by_prefix(routes: list[Route]) -> dict[ipaddress.IPv4Network | ipaddress.IPv6Network, Route]:
    return {r.prefix: r for r in routes}


def test_gobgp_prefix_reaches_frr_rib_and_kernel(veth_pair: VethPair) -> None:
    frr = FrrRouter(
        veth_pair.a,
        BgpSpec(64500, ipaddress.IPv4Address("10.0.0.1"), (Neighbor(B4, 64501), Neighbor(B6, 64501))),
    )
    gobgp = GobgpRouter(
        veth_pair.b,
        BgpSpec(
            64501,
            ipaddress.IPv4Address("10.0.0.2"),
            (Neighbor(A4, 64500), Neighbor(A6, 64500)),
            announce=(
                Announcement(
                    net("192.0.2.10/32"), communities=("64500:100",), large_communities=("64500:1:2",)
                ),
                Announcement(net("2001:db8::10/128")),
            ),
        ),
    )
    frr.start()
    gobgp.start()
    wait_established(frr, B4)
    wait_established(gobgp, A6)
    wait_received(frr, B4, 1)
    wait_received(frr, B6, 1)

    (v4,) = frr.rib(4)
    assert v4.prefix == net("192.0.2.10/32")
    assert v4.next_hops == (B4,)
    assert v4.as_path == (64501,)
    assert v4.communities == {"64500:100"}
    assert v4.large_communities == {"64500:1:2"}
    (v6,) = frr.rib(6)
    assert (v6.prefix, v6.next_hops) == (net("2001:db8::10/128"), (B6,))

    kernel4 = wait_for(lambda: frr.kernel_routes(4), timeout=10, description="zebra to install 192.0.2.10/32")
    assert kernel4 == {net("192.0.2.10/32"): ["10.0.0.2"]}
    assert frr.kernel_routes(6) == {net("2001:db8::10/128"): ["fd00::2"]}

    vty = frr.vty()
    try:
        assert vty.json(f"show bgp neighbors {B4} json")[str(B4)]["bgpState"] == "Established"
        with pytest.raises(DaemonError, match="show no-such-thing"):
            vty.command("show no-such-thing")
    finally:
        vty.close()

    gobgp.delete_route(net("192.0.2.10/32"))
    wait_for(lambda: not frr.prefixes(4), timeout=10, description="FRR to drop the withdrawn prefix")


def test_bird_and_frr_exchange_routes(veth_pair: VethPair) -> None:
    frr = FrrRouter(
        veth_pair.a,
        BgpSpec(
            64500,
            ipaddress.IPv4Address("10.0.0.1"),
            (Neighbor(B4, 64502),),
            announce=(Announcement(net("198.51.100.0/24")),),
        ),
    )
    bird = BirdRouter(
        veth_pair.b,
        BgpSpec(
            64502,
            ipaddress.IPv4Address("10.0.0.2"),
            (Neighbor(A4, 64500),),
            announce=(Announcement(net("192.0.2.20/32"), communities=("64502:7",)),),
        ),
    )
    frr.start()
    bird.start()
    wait_established(bird, A4)
    assert frr.established(B4)
    wait_received(frr, B4, 1)
    wait_received(bird, A4, 1)
    assert _by_prefix(frr.rib(4))[net("192.0.2.20/32")].communities == {"64502:7"}
    learned = _by_prefix(bird.rib(4))
    assert learned[net("198.51.100.0/24")].next_hops == (A4,)
    assert learned[net("198.51.100.0/24")].as_path == (64500,)
    kernel = [r for r in veth_pair.b.routes(4) if r.get("dst") == "198.51.100.0/24"]
    assert kernel and kernel[0]["gateway"] == "10.0.0.1"


def test_exabgp_receives_what_frr_announces(veth_pair: VethPair) -> None:
    frr = FrrRouter(
        veth_pair.a,
        BgpSpec(
            64500,
            ipaddress.IPv4Address("10.0.0.1"),
            (Neighbor(B4, 64503),),
            announce=(Announcement(net("198.51.100.0/24")),),
        ),
    )
    exa = ExabgpRouter(
        veth_pair.b,
        BgpSpec(
            64503,
            ipaddress.IPv4Address("10.0.0.2"),
            (Neighbor(A4, 64500),),
            announce=(Announcement(net("192.0.2.30/32"), med=7),),
        ),
    )
    frr.start()
    exa.start()
    wait_established(exa, A4)
    wait_received(exa, A4, 1)
    wait_received(frr, B4, 1)
    assert exa.received(A4)[net("198.51.100.0/24")].next_hops == (A4,)
    assert _by_prefix(frr.rib(4))[net("192.0.2.30/32")].med == 7


def test_frr_installs_ecmp_routes_from_a_lan(netkit: Netkit) -> None:
    lan = netkit.bridge("lan")
    router = netkit.namespace("router", forwarding=True)
    lan.attach(router, ["192.168.60.1/24"])
    nodes = [netkit.namespace(f"node{i}") for i in range(2)]
    addrs = [ip(f"192.168.60.{10 + i}") for i in range(2)]
    for node, addr in zip(nodes, addrs, strict=True):
        lan.attach(node, [f"{addr}/24"])
    frr = FrrRouter(
        router,
        BgpSpec(64500, ipaddress.IPv4Address("192.168.60.1"), tuple(Neighbor(a, 64501) for a in addrs)),
    )
    frr.start()
    service = Announcement(net("203.0.113.5/32"))
    for node, addr in zip(nodes, addrs, strict=True):
        spec = BgpSpec(
            64501,
            ipaddress.IPv4Address(str(addr)),
            (Neighbor(ip("192.168.60.1"), 64500),),
            announce=(service,),
        )
        GobgpRouter(node, spec).start()
    for addr in addrs:
        wait_received(frr, addr, 1)
    kernel = wait_for(
        lambda: frr.kernel_routes(4).get(net("203.0.113.5/32"), []),
        timeout=10,
        ready=lambda hops: len(hops) == 2,
        description="an ECMP kernel route with two nexthops",
    )
    assert sorted(kernel) == ["192.168.60.10", "192.168.60.11"]
