"""BIRD renderer and `show route all` parser; BIRD's own parser (`bird -p`) accepts the rendering."""

from __future__ import annotations

import ipaddress

import pytest

from bgplb.lab.bird import BirdRouter, parse_routes, protocol_name, render
from bgplb.lab.daemons import DaemonError
from bgplb.lab.netns import Netkit
from tests.lab.specs import FULL_SPEC

# Captured from BIRD 2.0.12 in this kit: one BGP route, one static route with BGP attributes, IPv6 table.
SHOW_ROUTE_ALL = """Table master4:
198.51.100.0/24      unicast [n_10_0_0_1 06:14:15.036] * (100) [AS64500i]
\tvia 10.0.0.1 on to-r
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 64500 64499
\tBGP.next_hop: 10.0.0.1
\tBGP.med: 0
\tBGP.local_pref: 100
                     unicast [n_10_0_0_9 06:14:16.001] (100) [AS64509i]
\tvia 10.0.0.9 on to-r
\tType: BGP univ
\tBGP.as_path: 64509
192.0.2.10/32        blackhole [s4 06:14:12.949] * (200)
\tType: static univ
\tBGP.med: 5
\tBGP.community: (64500,100) (64500,200)
\tBGP.large_community: (64500, 1, 2)

Table master6:
2001:db8::/48        unicast [n_fd00__1 06:14:15.036] * (100) [AS64500i]
\tvia fd00::1 on to-r
\tType: BGP univ
\tBGP.as_path: 64500
"""


def test_parse_routes_keeps_the_preferred_entry_with_its_attributes() -> None:
    routes = {r.prefix: r for r in parse_routes(SHOW_ROUTE_ALL)}
    assert set(routes) == {
        ipaddress.ip_network("198.51.100.0/24"),
        ipaddress.ip_network("192.0.2.10/32"),
        ipaddress.ip_network("2001:db8::/48"),
    }
    bgp = routes[ipaddress.ip_network("198.51.100.0/24")]
    assert bgp.next_hops == (ipaddress.ip_address("10.0.0.1"),)
    assert bgp.as_path == (64500, 64499)
    assert (bgp.local_pref, bgp.med) == (100, 0)
    static = routes[ipaddress.ip_network("192.0.2.10/32")]
    assert static.communities == {"64500:100", "64500:200"}
    assert static.large_communities == {"64500:1:2"}
    assert static.next_hops == ()
    assert routes[ipaddress.ip_network("2001:db8::/48")].next_hops == (ipaddress.ip_address("fd00::1"),)


def test_render_spells_every_neighbor_option() -> None:
    text = render(FULL_SPEC)
    assert f"protocol bgp {protocol_name(ipaddress.ip_address('10.0.0.2'))} {{" in text
    for line in (
        "  local 10.0.0.1 as 4200000001;",
        "  neighbor 10.0.0.2 port 1179 as 64501;",
        "  passive on;",
        "  disabled on;",
        '  password "s3cret";',
        "  hold time 9;",
        "  multihop 2;",
        "  route 192.0.2.0/24 blackhole { bgp_community.add((64500,100)); "
        "bgp_large_community.add((64500,1,2)); bgp_med = 10; };",
        "  ipv6 { import all; export where source = RTS_STATIC; };",
    ):
        assert line in text.splitlines()
    assert protocol_name(ipaddress.ip_address("fd00::2")) == "n_fd00__2"


@pytest.mark.netns
@pytest.mark.interop
def test_bird_parser_accepts_the_rendering_and_rejects_garbage(netkit: Netkit) -> None:
    bird = BirdRouter(netkit.namespace("b"), FULL_SPEC)
    bird.check_config()
    with pytest.raises(DaemonError, match="BIRD rejected"):
        bird.check_config("protocol bgp x { neighbor nonsense; }\n")
