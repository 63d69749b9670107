"""The four real daemons behind one factory, and the bgplb speak configs the interop tests share.

Topology (the `veth_pair` fixture): the daemon runs in namespace `a` (10.0.0.1, fd00::1), bgplb speak in
namespace `b` (10.0.0.2, fd00::2). bgplb has one IPv4 session (IPv4 unicast) and one IPv6 session (IPv6
unicast) to the daemon.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

from bgplb.lab.bird import BirdRouter
from bgplb.lab.daemons import BgpDaemon, BgpSpec, Neighbor, Route
from bgplb.lab.exabgp import ExabgpRouter
from bgplb.lab.frr import FrrRouter
from bgplb.lab.gobgp import GobgpRouter
from bgplb.lab.netns import Namespace

DAEMON_V4, BGPLB_V4 = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")
DAEMON_V6, BGPLB_V6 = IPv6Address("fd00::1"), IPv6Address("fd00::2")
DAEMON_ASN = 64500
PREFIX_V4 = IPv4Network("192.0.2.10/32")
PREFIX_V4_GONE = IPv4Network("192.0.2.11/32")
PREFIX_V6 = IPv6Network("2001:db8:10::10/128")
COMMUNITY, LARGE = "64500:100", "64500:1:2"
DAEMONS = ("frr", "bird", "gobgp", "exabgp")


def make_daemon(kind: str, namespace: Namespace, spec: BgpSpec) -> BgpDaemon:
    """A started launcher of `kind` for `spec`."""
    daemon: BgpDaemon
    if kind == "frr":
        daemon = FrrRouter(namespace, spec, kernel=False)
    elif kind == "bird":
        daemon = BirdRouter(namespace, spec, kernel=False)
    elif kind == "gobgp":
        daemon = GobgpRouter(namespace, spec)
    else:
        daemon = ExabgpRouter(namespace, spec)
    daemon.start()
    return daemon


def daemon_spec(
    bgplb_asn: int,
    *,
    daemon_asn: int = DAEMON_ASN,
    passive: bool = False,
    password: str | None = None,
    hold_time: int | None = None,
    extra: tuple[str, ...] = (),
) -> BgpSpec:
    """The daemon's side: bgplb on both sessions; `passive` waits for bgplb to dial."""
    neighbors = tuple(
        Neighbor(
            address=address,
            asn=bgplb_asn,
            local_address=local,
            passive=passive,
            password=password,
            hold_time=hold_time,
            families=(family,),
        )
        for address, local, family in ((BGPLB_V4, DAEMON_V4, "ipv4"), (BGPLB_V6, DAEMON_V6, "ipv6"))
    )
    return BgpSpec(asn=daemon_asn, router_id=DAEMON_V4, neighbors=neighbors, extra=extra)


def speak_config(
    asn: int,
    *,
    peer_asn: int | str = DAEMON_ASN,
    passive: bool = False,
    password: str | None = None,
    hold_time: int = 9,
    local_pref: int | None = None,
    withdrawn: bool = False,
    graceful_restart: bool = False,
    ttl_security: int | None = None,
) -> dict[str, Any]:
    """bgplb speak's YAML (as a dict): both sessions, a /32 (+ one more unless `withdrawn`) and a /128."""
    peers = []
    for address, family in ((DAEMON_V4, "ipv4"), (DAEMON_V6, "ipv6")):
        peer: dict[str, Any] = {
            "address": str(address),
            "asn": peer_asn,
            "families": [family],
            "hold_time": hold_time,
            "passive": passive,
            "connect_retry_time": 1,
        }
        if password:
            peer["password"] = password
        if ttl_security is not None:
            peer["ttl_security"] = ttl_security
        peers.append(peer)
    attributes: dict[str, Any] = {"communities": [COMMUNITY], "large_communities": [LARGE], "med": 10}
    if local_pref is not None:
        attributes["local_pref"] = local_pref
    prefixes = [{"prefix": str(PREFIX_V4), **attributes}, {"prefix": str(PREFIX_V6), **attributes}]
    if not withdrawn:
        prefixes.append({"prefix": str(PREFIX_V4_GONE)})
    config: dict[str, Any] = {
        "local_asn": asn,
        "router_id": str(BGPLB_V4),
        "hostname": "bgplb-node",
        "peers": peers,
        "prefixes": prefixes,
    }
    if passive:
        config["listen"] = "[::]:179"
    if graceful_restart:
        config["graceful_restart"] = {"restart_time": 60}
    return config


def route(daemon: BgpDaemon, prefix: IPv4Network | IPv6Network) -> Route | None:
    """The daemon's route for `prefix`, or None."""
    for candidate in daemon.rib(prefix.version):
        if candidate.prefix == prefix:
            return candidate
    return None
