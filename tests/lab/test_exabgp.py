"""ExaBGP renderer and the replay of its API messages into a table of received routes."""

from __future__ import annotations

import dataclasses
import ipaddress
import json

import pytest

from bgplb.lab.daemons import DaemonError
from bgplb.lab.exabgp import ExabgpRouter, render
from bgplb.lab.netns import Netkit
from tests.lab.specs import FULL_SPEC

PEER = "10.0.0.1"


def _msg(kind: str, body: dict[str, object]) -> str:
    neighbor = {"address": {"local": "10.0.0.2", "peer": PEER}, **body}
    return json.dumps({"exabgp": "4.0.1", "type": kind, "neighbor": neighbor})


def test_render_spells_every_option_and_needs_local_addresses() -> None:
    v4_only = dataclasses.replace(FULL_SPEC, neighbors=FULL_SPEC.neighbors[:1])
    text = render(v4_only, recorder="/usr/bin/python3 rec.py out.jsonl", split=32)
    for line in (
        "  run /usr/bin/python3 rec.py out.jsonl;",
        "neighbor 10.0.0.2 {",
        "  local-as 4200000001;",
        "  local-address 10.0.0.1;",
        "  passive true;",
        '  md5-password "s3cret";',
        "  hold-time 9;",
        "  connect 1179;",
        "    route 192.0.2.0/24 next-hop self community [64500:100] large-community [64500:1:2] med 10"
        " split /32;",
    ):
        assert line in text.splitlines()
    assert "2001:db8::/48" not in text  # an IPv6 route needs an IPv6 session
    with pytest.raises(DaemonError, match="fd00::2: local_address is required"):
        render(FULL_SPEC, recorder="x")


@pytest.mark.netns
def test_state_and_routes_replay_the_api_messages(netkit: Netkit) -> None:
    exa = ExabgpRouter(netkit.namespace("x"), "unused")
    peer = ipaddress.ip_address(PEER)
    attrs = {"origin": "igp", "as-path": [64500], "med": 7, "community": [[64500, 1]]}
    lines = [
        _msg("state", {"state": "connected"}),
        _msg("state", {"state": "up"}),
        _msg(
            "update",
            {
                "message": {
                    "update": {
                        "attribute": attrs,
                        "announce": {
                            "ipv4 unicast": {PEER: [{"nlri": "192.0.2.1/32"}, {"nlri": "192.0.2.2/32"}]}
                        },
                    }
                }
            },
        ),
        _msg("update", {"message": {"update": {"withdraw": {"ipv4 unicast": [{"nlri": "192.0.2.1/32"}]}}}}),
        '{"truncated": ',
    ]
    exa.received_path.write_text("\n".join(lines))
    assert exa.established(peer)
    (route,) = exa.received(peer).values()
    assert route.prefix == ipaddress.ip_network("192.0.2.2/32")
    assert route.next_hops == (peer,)
    assert (route.as_path, route.med, route.communities) == ((64500,), 7, frozenset({"64500:1"}))
    assert exa.received_count(ipaddress.ip_address("10.0.0.99")) == 0
    exa.received_path.write_text(lines[0] + "\n" + _msg("state", {"state": "down"}))
    assert exa.peer_state(peer) == "down"
