"""GoBGP renderer: a TOML that gobgpd's own dry run accepts, with every neighbor option."""

from __future__ import annotations

import pytest

from bgplb.lab.daemons import DaemonError
from bgplb.lab.gobgp import GobgpRouter, render
from bgplb.lab.netns import Netkit
from tests.lab.specs import FULL_SPEC


def test_render_spells_every_neighbor_option() -> None:
    text = render(FULL_SPEC)
    for line in (
        "  as = 4200000001",
        '    neighbor-address = "10.0.0.2"',
        '    auth-password = "s3cret"',
        "    admin-down = true",
        "    passive-mode = true",
        '    local-address = "10.0.0.1"',
        "    remote-port = 1179",
        "    hold-time = 9",
        "    keepalive-interval = 3",
        "    multihop-ttl = 2",
        '      afi-safi-name = "ipv6-unicast"',
    ):
        assert line in text.splitlines()


@pytest.mark.netns
@pytest.mark.interop
def test_gobgpd_accepts_the_rendering_and_refuses_a_broken_file(netkit: Netkit) -> None:
    ns = netkit.namespace("g")
    GobgpRouter(ns, FULL_SPEC).check_config()
    with pytest.raises(DaemonError, match="gobgpd rejected"):
        GobgpRouter(ns, "[global.config\n as = \n").check_config()
