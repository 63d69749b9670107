"""FRR renderer: every option becomes the FRR 8.4 command, and FRR's own parser accepts the result."""

from __future__ import annotations

import pytest

from bgplb.lab.daemons import DaemonError
from bgplb.lab.frr import FrrRouter, render
from bgplb.lab.netns import Netkit
from tests.lab.specs import FULL_SPEC


def test_render_spells_every_neighbor_option() -> None:
    text = render(FULL_SPEC)
    for line in (
        "router bgp 4200000001",
        " bgp router-id 10.0.0.1",
        " neighbor 10.0.0.2 remote-as 64501",
        " neighbor 10.0.0.2 passive",
        " neighbor 10.0.0.2 shutdown",
        " neighbor 10.0.0.2 password s3cret",
        " neighbor 10.0.0.2 timers 3 9",
        " neighbor 10.0.0.2 ebgp-multihop 2",
        " neighbor 10.0.0.2 port 1179",
        " neighbor 10.0.0.2 update-source 10.0.0.1",
        "  network 192.0.2.0/24",
        "  network 2001:db8::/48",
        "  neighbor fd00::2 activate",
    ):
        assert line in text.splitlines()
    v4 = text.split(" address-family ipv4 unicast")[1].split("exit-address-family")[0]
    assert "neighbor 10.0.0.2 activate" in v4
    assert "fd00::2" not in v4


@pytest.mark.netns
@pytest.mark.interop
def test_frr_parser_accepts_the_rendering_and_rejects_garbage(netkit: Netkit) -> None:
    frr = FrrRouter(netkit.namespace("r"))
    frr.check_config(render(FULL_SPEC))
    with pytest.raises(DaemonError, match="bogus-command"):
        frr.check_config("router bgp 64500\n neighbor 10.0.0.2 bogus-command\n")
