"""bgplb speak against FRR, BIRD, GoBGP and ExaBGP: sessions both ways, routes with attributes, withdraw, MD5.

Each test runs the daemon in namespace `a` and `bgplb speak` (a subprocess) in namespace `b` with an IPv4
and an IPv6 session. Waits are bounded; hold times are short.
"""

from __future__ import annotations

import time

import pytest

from bgplb.lab.daemons import BgpDaemon
from tests.conftest import VethPair
from tests.interop.routers import (
    BGPLB_V4,
    BGPLB_V6,
    COMMUNITY,
    DAEMON_V4,
    DAEMON_V6,
    DAEMONS,
    LARGE,
    PREFIX_V4,
    PREFIX_V4_GONE,
    PREFIX_V6,
    daemon_spec,
    make_daemon,
    route,
    speak_config,
)
from tests.interop.speaker import Speak, wait_until

pytestmark = [pytest.mark.netns, pytest.mark.interop, pytest.mark.timeout(90)]


def _both_established(daemon: BgpDaemon, speak: Speak) -> None:
    for peer in (DAEMON_V4, DAEMON_V6):
        speak.wait_established(peer)
    for peer in (BGPLB_V4, BGPLB_V6):
        wait_until(lambda p=peer: daemon.established(p), f"daemon sees {peer} Established")


def _check_routes(kind: str, daemon: BgpDaemon, *, asn: int) -> None:
    v4 = wait_until(lambda: route(daemon, PREFIX_V4), f"{kind} has {PREFIX_V4}")
    v6 = wait_until(lambda: route(daemon, PREFIX_V6), f"{kind} has {PREFIX_V6}")
    assert BGPLB_V4 in v4.next_hops, v4
    assert BGPLB_V6 in v6.next_hops, v6
    for seen in (v4, v6):
        assert seen.as_path == (asn,), seen
        assert COMMUNITY in seen.communities, seen
        assert LARGE in seen.large_communities, seen
        assert seen.med == 10, seen


@pytest.mark.parametrize("kind", DAEMONS)
def test_bgplb_active_announces_then_withdraws(kind: str, veth_pair: VethPair) -> None:
    """eBGP, 2-octet ASNs, bgplb dials; IPv4 /32 and IPv6 /128 with attributes; SIGHUP withdraws one."""
    daemon = make_daemon(kind, veth_pair.a, daemon_spec(64501, passive=True))
    speak = Speak(veth_pair.b, speak_config(64501)).start()
    _both_established(daemon, speak)
    _check_routes(kind, daemon, asn=64501)
    wait_until(lambda: route(daemon, PREFIX_V4_GONE), f"{kind} has {PREFIX_V4_GONE}")
    speak.reload(speak_config(64501, withdrawn=True))
    wait_until(lambda: route(daemon, PREFIX_V4_GONE) is None, f"{kind} withdrew {PREFIX_V4_GONE}")
    assert route(daemon, PREFIX_V4) is not None


@pytest.mark.parametrize("kind", DAEMONS)
def test_bgplb_passive_4_octet_asn_with_md5(kind: str, veth_pair: VethPair) -> None:
    """eBGP, bgplb's ASN 4200000001, the daemon dials, TCP MD5 on both sessions."""
    speak = Speak(veth_pair.b, speak_config(4200000001, passive=True, password="s3cret")).start()
    daemon = make_daemon(kind, veth_pair.a, daemon_spec(4200000001, password="s3cret"))
    _both_established(daemon, speak)
    _check_routes(kind, daemon, asn=4200000001)


@pytest.mark.parametrize("kind", DAEMONS)
def test_wrong_md5_never_establishes(kind: str, veth_pair: VethPair) -> None:
    daemon = make_daemon(kind, veth_pair.a, daemon_spec(64501, passive=True, password="right"))
    speak = Speak(veth_pair.b, speak_config(64501, password="wrong")).start()
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        assert speak.established_count(DAEMON_V4) == 0
        assert not daemon.established(BGPLB_V4)
        time.sleep(0.25)
    assert speak.process is not None and speak.process.alive()
