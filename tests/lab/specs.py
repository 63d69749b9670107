"""A BgpSpec exercising every Neighbor and Announcement option, shared by the renderer tests."""

from __future__ import annotations

import ipaddress

from bgplb.lab.daemons import Announcement, BgpSpec, Neighbor

FULL_SPEC = BgpSpec(
    asn=4200000001,
    router_id=ipaddress.IPv4Address("10.0.0.1"),
    neighbors=(
        Neighbor(
            ipaddress.ip_address("10.0.0.2"),
            64501,
            local_address=ipaddress.ip_address("10.0.0.1"),
            passive=True,
            shutdown=True,
            password="s3cret",
            hold_time=9,
            ebgp_multihop=2,
            port=1179,
        ),
        Neighbor(ipaddress.ip_address("fd00::2"), 64501, families=("ipv6",)),
    ),
    announce=(
        Announcement(
            ipaddress.ip_network("192.0.2.0/24"),
            communities=("64500:100",),
            large_communities=("64500:1:2",),
            med=10,
        ),
        Announcement(ipaddress.ip_network("2001:db8::/48")),
    ),
)
