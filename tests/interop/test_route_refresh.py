"""Route refresh against FRR 8.4 (RFC 2918 + RFC 7313 enhanced route refresh), bgplb in-process.

FRR runs in namespace `a` (10.0.0.1, AS 64500); a `BgpSpeaker` runs in namespace `b` (10.0.0.2, AS 64501) on
an event loop in its own thread, entered into `b` so that its sockets live there. The test thread drives
FRR with vtysh and reads the speaker's sessions through the loop (`InProcessSpeaker.call`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from ipaddress import IPv4Network
from typing import Any, TypeVar

import pytest

from bgplb.adapters.bgp_transport import BgpSpeaker, PeerSpec
from bgplb.adapters.tcp_options import IpAddress, TcpOptions
from bgplb.bgp.attributes import AsPath, NextHop, Origin
from bgplb.bgp.codec import encode
from bgplb.bgp.constants import IPV4_UNICAST, MessageType, OriginType
from bgplb.bgp.events import Event, RouteRefreshBegun, RouteRefreshEnded
from bgplb.bgp.fsm import State
from bgplb.bgp.messages import Update
from bgplb.bgp.negotiation import Negotiated
from bgplb.bgp.peer import GracefulRestartConfig, PeerConfig
from bgplb.bgp.routes import Route
from bgplb.bgp.session import Session
from bgplb.lab.daemons import Announcement, BgpSpec, Neighbor
from bgplb.lab.frr import FrrRouter
from tests.adapters.thread_netns import entered
from tests.conftest import VethPair
from tests.interop.routers import BGPLB_V4, DAEMON_ASN, DAEMON_V4, PREFIX_V4, PREFIX_V4_GONE
from tests.interop.speaker import wait_until

pytestmark = [pytest.mark.netns, pytest.mark.interop, pytest.mark.timeout(90)]

BGPLB_ASN = 64501
FRR_KEPT = IPv4Network("203.0.113.1/32")
FRR_DROPPED = IPv4Network("203.0.113.2/32")
T = TypeVar("T")


class InProcessSpeaker:
    """A `BgpSpeaker` on an event loop in a thread that lives in `namespace`; `call` runs code on it."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.events: list[Event] = []
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"speaker-{namespace}", daemon=True)
        self._thread.start()
        self.speaker = self.call(lambda: BgpSpeaker(lambda peer, event: self.events.append(event)))

    def _run(self) -> None:
        with entered(self.namespace):
            asyncio.set_event_loop(self.loop)
            self.loop.run_forever()

    def call(self, function: Callable[[], T], timeout: float = 10.0) -> T:
        """Run `function` on the speaker's loop and return its result (or raise its exception)."""
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(function())
            except BaseException as exc:
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return done.result(timeout)

    def start(self, specs: list[PeerSpec], routes: dict[IpAddress, Iterable[Route]]) -> None:
        asyncio.run_coroutine_threadsafe(self.speaker.start(specs, routes=routes), self.loop).result(10)

    def refresh_events(self) -> list[Event]:
        return self.call(
            lambda: [e for e in self.events if isinstance(e, RouteRefreshBegun | RouteRefreshEnded)]
        )

    def close(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.speaker.stop(), self.loop).result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()


Pair = tuple[FrrRouter, InProcessSpeaker]


@pytest.fixture
def frr_and_bgplb(veth_pair: VethPair) -> Iterator[Pair]:
    """FRR announcing FRR_KEPT and FRR_DROPPED through route-map OUT (re-applied only on `clear ... soft`),
    bgplb announcing PREFIX_V4 and PREFIX_V4_GONE; both sessions Established with ERR negotiated."""
    spec = BgpSpec(
        asn=DAEMON_ASN,
        router_id=DAEMON_V4,
        neighbors=(Neighbor(address=BGPLB_V4, asn=BGPLB_ASN, local_address=DAEMON_V4, passive=True),),
        announce=(Announcement(FRR_KEPT), Announcement(FRR_DROPPED)),
    )
    frr = FrrRouter(veth_pair.a, spec, kernel=False)
    frr.start()
    frr.vtysh(
        "configure terminal",
        "bgp route-map delay-timer 0",  # policy changes wait for `clear bgp ... soft`
        f"ip prefix-list DROPPED seq 5 permit {FRR_DROPPED}",
        "route-map OUT permit 20",
        f"router bgp {DAEMON_ASN}",
        "address-family ipv4 unicast",
        f"neighbor {BGPLB_V4} route-map OUT out",
    )
    bgplb = InProcessSpeaker(veth_pair.b.name)
    try:
        config = PeerConfig(
            local_asn=BGPLB_ASN,
            peer_asn=DAEMON_ASN,
            router_id=BGPLB_V4,
            hold_time=9,
            connect_retry_time=1,
            families=(IPV4_UNICAST,),
            graceful_restart=GracefulRestartConfig(),
        )
        spec_ = PeerSpec(DAEMON_V4, config, source_address=BGPLB_V4, tcp=TcpOptions(ttl=1))
        bgplb.start([spec_], {DAEMON_V4: [Route(PREFIX_V4), Route(PREFIX_V4_GONE)]})
        wait_until(lambda: frr.established(BGPLB_V4), "FRR Established with bgplb")
        wait_until(lambda: {PREFIX_V4, PREFIX_V4_GONE} <= frr.prefixes(4), "FRR has bgplb's routes")
        wait_until(lambda: _received(bgplb) == {FRR_KEPT, FRR_DROPPED}, "bgplb has FRR's routes")
        yield frr, bgplb
    finally:
        bgplb.close()


def _received(bgplb: InProcessSpeaker) -> set[IPv4Network]:
    routes = bgplb.call(lambda: set(bgplb.speaker.session(DAEMON_V4).adj_rib_in.routes(IPV4_UNICAST)))
    return {p for p in routes if isinstance(p, IPv4Network)}


def _neighbor(frr: FrrRouter) -> dict[str, Any]:
    data = frr.vtysh_json(f"show bgp neighbors {BGPLB_V4} json")[str(BGPLB_V4)]
    assert isinstance(data, dict)
    return data


def _session(bgplb: InProcessSpeaker) -> Session:
    return bgplb.speaker.session(DAEMON_V4)


def _drop_frr_dropped(frr: FrrRouter) -> None:
    """FRR's outbound policy now denies FRR_DROPPED; with the delay timer at 0 nothing is sent yet."""
    frr.vtysh("configure terminal", "route-map OUT deny 10", "match ip address prefix-list DROPPED")


def test_frr_soft_in_gets_borr_routes_eorr_and_keeps_the_routes(
    frr_and_bgplb: tuple[FrrRouter, InProcessSpeaker],
) -> None:
    frr, bgplb = frr_and_bgplb
    neighbor = _neighbor(frr)
    assert neighbor["neighborCapabilities"]["enhancedRouteRefresh"] == "advertisedAndReceived"
    before = neighbor["messageStats"]
    frr.vtysh(f"clear bgp {BGPLB_V4} soft in")  # FRR sends a ROUTE-REFRESH to bgplb
    wait_until(
        lambda: _neighbor(frr)["messageStats"]["routeRefreshRecv"] == before["routeRefreshRecv"] + 2, "EoRR"
    )
    after = _neighbor(frr)["messageStats"]
    assert after["routeRefreshSent"] == before["routeRefreshSent"] + 1
    assert after["updatesRecv"] == before["updatesRecv"] + 1  # BoRR, the two routes in one UPDATE, EoRR
    stats = bgplb.call(lambda: _session(bgplb).stats)
    assert (
        stats.messages_in[MessageType.ROUTE_REFRESH] == 1
        and stats.messages_out[MessageType.ROUTE_REFRESH] == 2
    )
    assert {PREFIX_V4, PREFIX_V4_GONE} <= frr.prefixes(4)
    assert frr.established(BGPLB_V4) and stats.state is State.ESTABLISHED


def test_bgplb_asks_frr_and_purges_what_frr_does_not_resend(
    frr_and_bgplb: tuple[FrrRouter, InProcessSpeaker],
) -> None:
    """A route bgplb holds but FRR no longer announces (a lost withdrawal, injected here) is purged at
    FRR's EoRR; a route FRR's new policy filters is withdrawn inside the BoRR/EoRR frame."""
    frr, bgplb = frr_and_bgplb
    phantom = IPv4Network("203.0.113.99/32")
    attributes = (Origin(OriginType.IGP), AsPath.sequence(DAEMON_ASN), NextHop(DAEMON_V4))
    update = encode(Update(attributes=attributes, nlri=(phantom,)), Negotiated())
    bgplb.call(lambda: _session(bgplb).receive_data(update, bgplb.loop.time()))
    assert _received(bgplb) == {FRR_KEPT, FRR_DROPPED, phantom}
    _drop_frr_dropped(frr)
    before = _neighbor(frr)["messageStats"]
    bgplb.call(lambda: bgplb.speaker.request_refresh(DAEMON_V4, IPV4_UNICAST))
    wait_until(lambda: any(isinstance(e, RouteRefreshEnded) for e in bgplb.refresh_events()), "EoRR from FRR")
    assert bgplb.refresh_events() == [
        RouteRefreshBegun(IPV4_UNICAST, 3),
        RouteRefreshEnded(IPV4_UNICAST, purged=1),  # the phantom; FRR withdrew FRR_DROPPED itself
    ]
    assert _received(bgplb) == {FRR_KEPT}
    after = _neighbor(frr)["messageStats"]
    assert after["routeRefreshRecv"] == before["routeRefreshRecv"] + 1
    assert after["routeRefreshSent"] == before["routeRefreshSent"] + 2  # BoRR and EoRR


def test_frr_soft_out_after_a_policy_change_withdraws_the_filtered_route(
    frr_and_bgplb: tuple[FrrRouter, InProcessSpeaker],
) -> None:
    """FRR 8.4 re-sends on `clear bgp soft out` without BoRR/EoRR, withdrawing what its policy now filters
    (and reflecting bgplb's own routes, which carry AS 64501: treated as withdrawn, RFC 4271 §9.1.2)."""
    frr, bgplb = frr_and_bgplb
    _drop_frr_dropped(frr)
    time.sleep(1)
    assert _received(bgplb) == {FRR_KEPT, FRR_DROPPED}  # the policy change alone sent nothing
    frr.vtysh(f"clear bgp {BGPLB_V4} soft out")
    wait_until(lambda: _received(bgplb) == {FRR_KEPT}, "FRR_DROPPED withdrawn")
    assert bgplb.call(lambda: _session(bgplb).state) is State.ESTABLISHED
