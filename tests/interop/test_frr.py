"""bgplb speak against FRR bgpd: iBGP with 4-octet ASNs, graceful restart, a frozen peer, a restarted peer."""

from __future__ import annotations

import signal
import time
from ipaddress import IPv4Address
from typing import Any

import pytest

from bgplb.lab.daemons import BgpSpec, Neighbor
from bgplb.lab.frr import FrrRouter
from bgplb.lab.netns import Namespace, Netkit
from tests.conftest import VethPair
from tests.interop.routers import (
    BGPLB_V4,
    BGPLB_V6,
    DAEMON_ASN,
    DAEMON_V4,
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


def _frr(veth_pair: VethPair, bgplb_asn: int, **kw: Any) -> FrrRouter:
    daemon = make_daemon("frr", veth_pair.a, daemon_spec(bgplb_asn, passive=True, **kw))
    assert isinstance(daemon, FrrRouter)
    return daemon


def _paths(frr: FrrRouter, prefix: object) -> list[dict[str, Any]]:
    detail = frr.vtysh_json(f"show bgp ipv4 unicast {prefix} json")
    paths = detail.get("paths", [])
    return paths if isinstance(paths, list) else []


def test_ibgp_4_octet_asn_carries_local_pref(veth_pair: VethPair) -> None:
    asn = 4200000001
    frr = _frr(veth_pair, asn, daemon_asn=asn)
    speak = Speak(veth_pair.b, speak_config(asn, peer_asn="internal", local_pref=200)).start()
    for prefix in (PREFIX_V4, PREFIX_V6):
        seen = wait_until(lambda p=prefix: route(frr, p), f"FRR has {prefix}")
        assert seen.local_pref == 200 and seen.as_path == (), seen
    summary = frr.summary()["ipv4Unicast"]
    assert summary["as"] == asn and summary["peers"][str(BGPLB_V4)]["remoteAs"] == asn
    assert speak.established_count(DAEMON_V4) == 1


def test_graceful_restart_keeps_routes_stale_then_refreshes(veth_pair: VethPair) -> None:
    frr = _frr(veth_pair, 64501, extra=("bgp graceful-restart",))
    speak = Speak(veth_pair.b, speak_config(64501, graceful_restart=True), graceful=True).start()
    wait_until(lambda: route(frr, PREFIX_V4_GONE), "FRR has both prefixes")
    neighbor = frr.vtysh_json(f"show bgp neighbors {BGPLB_V4} json")[str(BGPLB_V4)]
    capabilities = neighbor["neighborCapabilities"]
    assert capabilities["gracefulRestart"] == "advertisedAndReceived"
    assert capabilities["hostName"]["rcvHostName"] == "bgplb-node"  # the FQDN capability
    assert neighbor["gracefulRestartInfo"]["ipv4Unicast"]["endOfRibStatus"]["endOfRibRecv"] is True

    assert speak.stop() == 0  # SIGTERM with --graceful: no NOTIFICATION
    wait_until(lambda: not frr.established(BGPLB_V4), "FRR saw the session go down")
    for prefix in (PREFIX_V4, PREFIX_V4_GONE):
        paths = _paths(frr, prefix)
        assert paths and all(p.get("stale") for p in paths), paths

    speak.write(speak_config(64501, graceful_restart=True, withdrawn=True))
    speak.start()  # the restarted speaker re-announces PREFIX_V4 only, then End-of-RIB
    wait_until(lambda: frr.established(BGPLB_V4), "FRR re-established")
    wait_until(lambda: _paths(frr, PREFIX_V4) and not _paths(frr, PREFIX_V4)[0].get("stale"), "fresh route")
    wait_until(lambda: route(frr, PREFIX_V4_GONE) is None, "the stale route not re-announced is gone")


def test_frozen_peer_is_dropped_within_the_hold_time(veth_pair: VethPair) -> None:
    frr = _frr(veth_pair, 64501, hold_time=3)
    speak = Speak(veth_pair.b, speak_config(64501, hold_time=3)).start()
    speak.wait_established(DAEMON_V4)
    assert frr.bgpd is not None
    frozen_at = time.time()
    frr.bgpd.signal(signal.SIGSTOP)
    try:
        wait_until(lambda: _downs_since(speak, frozen_at), "bgplb drops the frozen peer", timeout=8)
    finally:
        frr.bgpd.signal(signal.SIGCONT)
    down = _downs_since(speak, frozen_at)[0]
    assert down["reason"] == "hold-timer-expired"
    assert down["time"] - frozen_at < 3.5
    count = speak.established_count(DAEMON_V4)
    speak.wait_established(DAEMON_V4, count=count + 1, timeout=20)


def _downs_since(speak: Speak, since: float) -> list[dict[str, Any]]:
    return [d for d in speak.downs(DAEMON_V4) if d["time"] >= since]


def test_restarted_peer_gets_the_routes_again(veth_pair: VethPair) -> None:
    frr = _frr(veth_pair, 64501)
    speak = Speak(veth_pair.b, speak_config(64501)).start()
    wait_until(lambda: route(frr, PREFIX_V4), "FRR has the route")
    count = speak.established_count(DAEMON_V4)
    stopped_at = time.time()
    frr.stop()
    wait_until(lambda: _downs_since(speak, stopped_at), "bgplb saw FRR go away")
    again = _frr(veth_pair, 64501)
    speak.wait_established(DAEMON_V4, count=count + 1, timeout=30)
    wait_until(lambda: route(again, PREFIX_V4), "restarted FRR has the route again")
    wait_until(lambda: route(again, PREFIX_V6), "restarted FRR has the IPv6 route again")


@pytest.mark.parametrize("frr_gtsm", [True, False], ids=["frr-gtsm", "frr-plain"])
def test_gtsm_needs_ttl_255_from_the_peer(veth_pair: VethPair, frr_gtsm: bool) -> None:
    """RFC 5082: bgplb sends TTL 255 and accepts only TTL 255 (one hop); with FRR's GTSM on, the session
    comes up; without it FRR sends TTL 1 and bgplb never sees its segments."""
    extra = tuple(f"neighbor {peer} ttl-security hops 1" for peer in (BGPLB_V4, BGPLB_V6)) if frr_gtsm else ()
    frr = _frr(veth_pair, 64501, extra=extra)
    speak = Speak(veth_pair.b, speak_config(64501, ttl_security=1)).start()
    if frr_gtsm:
        speak.wait_established(DAEMON_V4)
        wait_until(lambda: route(frr, PREFIX_V4), "FRR has the route over a GTSM session")
    else:  # FRR sends with TTL 1: bgplb's minimum of 255 drops every segment, nothing gets through
        time.sleep(3)
        assert speak.established_count(DAEMON_V4) == 0 and not frr.established(BGPLB_V4)


def _tcp_min_ttl_drops(namespace: Namespace) -> int:
    """TcpExt TCPMinTTLDrop of `namespace`: segments (SYNs too) dropped by IP_MINTTL / IPV6_MINHOPCOUNT."""
    lines = [line.split() for line in namespace.run(["cat", "/proc/net/netstat"]).stdout.splitlines()]
    names, values = [line for line in lines if line and line[0] == "TcpExt:"][:2]
    return int(values[names.index("TCPMinTTLDrop")])


def test_gtsm_on_the_listener_keeps_a_router_two_hops_away_from_even_connecting(netkit: Netkit) -> None:
    """bgplb passive, both peers `ttl_security: 1`: the listener itself has IP_MINTTL 255. FRR `near` is
    directly connected and establishes; FRR `far` sits behind a router (its TTL-255 SYN arrives with 254)
    and its SYNs are dropped before any handshake: bgplb never accepts a connection from it."""
    node, near_ns, far_ns = (
        netkit.namespace("node"),
        netkit.namespace("near", forwarding=True),
        netkit.namespace("far"),
    )
    netkit.veth(node, near_ns, ["10.73.0.2/24"], ["10.73.0.1/24"])
    netkit.veth(near_ns, far_ns, ["10.73.1.1/24"], ["10.73.1.2/24"])
    node.ip("route add 10.73.1.0/24 via 10.73.0.1")
    far_ns.ip("route add 10.73.0.0/24 via 10.73.1.1")  # FRR does not resolve peers via a default route
    node_ip, near_ip, far_ip = IPv4Address("10.73.0.2"), IPv4Address("10.73.0.1"), IPv4Address("10.73.1.2")
    routers = []
    for ns, address, hops in ((near_ns, near_ip, 1), (far_ns, far_ip, 2)):  # FRR sends TTL 255 either way
        neighbor = Neighbor(address=node_ip, asn=64501, local_address=address)
        spec = BgpSpec(
            asn=DAEMON_ASN,
            router_id=address,
            neighbors=(neighbor,),
            extra=(f"neighbor {node_ip} ttl-security hops {hops}", f"neighbor {node_ip} timers connect 1"),
        )
        routers.append(make_daemon("frr", ns, spec))
    near, far = routers
    peers = [
        {
            "address": str(ip),
            "asn": DAEMON_ASN,
            "families": ["ipv4"],
            "passive": True,
            "ttl_security": 1,
            "hold_time": 9,
        }
        for ip in (near_ip, far_ip)
    ]
    config = {
        "local_asn": 64501,
        "router_id": str(node_ip),
        "listen": "0.0.0.0:179",
        "peers": peers,
        "prefixes": [{"prefix": str(PREFIX_V4)}],
    }
    speak = Speak(node, config).start()
    speak.wait_established(near_ip)
    wait_until(lambda: route(near, PREFIX_V4), "near FRR has the route")
    drops = _tcp_min_ttl_drops(node)
    wait_until(
        lambda: _tcp_min_ttl_drops(node) >= drops + 2, "far FRR's SYNs dropped by the listener", timeout=20
    )
    assert not far.established(node_ip)
    assert speak.states(far_ip) == ["Active"]  # started passive, never saw a connection
    listening = node.run(["ss", "-Htn", "state", "established"]).stdout
    assert str(near_ip) in listening and str(far_ip) not in listening
