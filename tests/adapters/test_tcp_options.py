"""Socket options against the real kernel, in network namespaces this test creates (veth between two)."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest

from bgplb.adapters import tcp_options
from bgplb.adapters.tcp_options import TcpOptions
from tests.adapters.thread_netns import entered


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def _wait_reachable(a: str, b: str) -> None:
    """Bounded wait (about 5 s) until a TCP connection from `a` to `b` works over IPv4 and IPv6."""
    for address in ("10.71.0.2", "fd71::2"):
        with entered(b):
            probe = tcp_options.listen_socket(ip_address(address), 1799)
        try:
            for _ in range(50):
                with entered(a):
                    client = socket.socket(socket.AF_INET if "." in address else socket.AF_INET6)
                if _connects(client, ip_address(address), 1799, timeout=0.1):
                    break
            else:
                raise AssertionError(f"{address} unreachable from {a}")
        finally:
            probe.close()


@pytest.fixture
def two_namespaces() -> Iterator[tuple[str, str]]:
    """Namespaces a (10.71.0.1, fd71::1) and b (10.71.0.2, fd71::2) joined by a veth pair."""
    tag = uuid.uuid4().hex[:6]
    a, b = f"bgplbt-a-{tag}", f"bgplbt-b-{tag}"
    try:
        for ns in (a, b):
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b)
        for ns, dev, n in ((a, "va", 1), (b, "vb", 2)):
            _ip("-n", ns, "addr", "add", f"10.71.0.{n}/24", "dev", dev)
            _ip("-n", ns, "addr", "add", f"fd71::{n}/64", "dev", dev, "nodad")
            _ip("-n", ns, "link", "set", dev, "up")
        _wait_reachable(a, b)
        yield a, b
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10, check=False)


def _connects(client: socket.socket, peer: IPv4Address | IPv6Address, port: int, timeout: float) -> bool:
    client.settimeout(timeout)
    try:
        client.connect((str(peer), port))
    except (TimeoutError, ConnectionRefusedError):
        return False
    finally:
        client.close()
    return True


def _accepted(listener: socket.socket) -> list[tuple[str, int]]:
    listener.settimeout(0.05)
    seen = []
    try:
        while True:
            conn, addr = listener.accept()
            seen.append(addr)
            conn.close()
    except (TimeoutError, BlockingIOError):
        return seen


A4, B4 = IPv4Address("10.71.0.1"), IPv4Address("10.71.0.2")
A6, B6 = IPv6Address("fd71::1"), IPv6Address("fd71::2")


@pytest.mark.netns
@pytest.mark.parametrize(("client_addr", "server_addr"), [(A4, B4), (A6, B6)], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize(("client_key", "expect"), [("s3cret", True), ("wrong", False), (None, False)])
def test_md5_right_key_connects_wrong_or_missing_key_does_not(
    two_namespaces: tuple[str, str],
    client_addr: IPv4Address | IPv6Address,
    server_addr: IPv4Address | IPv6Address,
    client_key: str | None,
    expect: bool,
) -> None:
    a, b = two_namespaces
    with entered(b):
        listener = tcp_options.listen_socket(ip_address("::"), 1790)
    tcp_options.set_md5(listener, client_addr, "s3cret")
    with entered(a):
        client = tcp_options.dial_socket(server_addr, TcpOptions(password=client_key), source=client_addr)
    assert _connects(client, server_addr, 1790, timeout=0.5) is expect
    accepted = _accepted(listener)
    listener.close()
    assert [tcp_options.peer_address(addr) for addr in accepted] == ([client_addr] if expect else [])


@pytest.mark.netns
def test_md5_key_is_per_peer_address(two_namespaces: tuple[str, str]) -> None:
    a, b = two_namespaces
    with entered(b):
        listener = tcp_options.listen_socket(B4, 1790)
    tcp_options.set_md5(listener, IPv4Address("10.71.0.99"), "other-peer")
    with entered(a):
        client = tcp_options.dial_socket(B4, TcpOptions(password="other-peer"))
    assert not _connects(client, B4, 1790, timeout=0.5)
    tcp_options.set_md5(listener, IPv4Address("10.71.0.99"), None)
    listener.close()


@pytest.mark.netns
@pytest.mark.parametrize(("server", "client"), [(B4, A4), (B6, A6)], ids=["ipv4", "ipv6"])
def test_gtsm_drops_a_peer_one_hop_too_far(
    two_namespaces: tuple[str, str], server: IPv4Address | IPv6Address, client: IPv4Address | IPv6Address
) -> None:
    a, b = two_namespaces
    with entered(b):
        listener = tcp_options.listen_socket(server, 1791)
    tcp_options.set_min_ttl(listener, client, 255)
    with entered(a):
        direct = tcp_options.dial_socket(server, TcpOptions(ttl=255))
        one_hop_away = tcp_options.dial_socket(server, TcpOptions(ttl=254))
    assert _connects(direct, server, 1791, timeout=0.5)
    assert not _connects(one_hop_away, server, 1791, timeout=0.5)
    assert len(_accepted(listener)) == 1
    listener.close()


@pytest.mark.netns
def test_dial_socket_binds_the_source_and_sets_ttl_and_nodelay(two_namespaces: tuple[str, str]) -> None:
    a, b = two_namespaces
    with entered(b):
        listener = tcp_options.listen_socket(B4, 1792)
    with entered(a):
        client = tcp_options.dial_socket(B4, TcpOptions(ttl=7), source=A4)
    assert client.getsockname() == (str(A4), 0)
    assert client.getsockopt(socket.IPPROTO_IP, socket.IP_TTL) == 7
    assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    client.settimeout(1)
    client.connect((str(B4), 1792))
    assert client.getsockname()[0] == str(A4) and client.getsockname()[1] != 0
    client.close()
    listener.close()


def test_for_peer_picks_gtsm_then_multihop_then_ebgp_ttl_one() -> None:
    assert TcpOptions.for_peer(password=None, ebgp=True, ebgp_multihop=None, ttl_security=2) == TcpOptions(
        ttl=255, min_ttl=254
    )
    assert TcpOptions.for_peer(password="k", ebgp=True, ebgp_multihop=3, ttl_security=None) == TcpOptions(
        password="k", ttl=3
    )
    assert TcpOptions.for_peer(password=None, ebgp=True, ebgp_multihop=None, ttl_security=None).ttl == 1
    assert TcpOptions.for_peer(password=None, ebgp=False, ebgp_multihop=None, ttl_security=None).ttl is None


def test_md5sig_layout_matches_linux_struct() -> None:
    raw = tcp_options.md5sig(IPv4Address("192.0.2.1"), "abc", socket.AF_INET6)
    assert len(raw) == 216
    assert int.from_bytes(raw[0:2], sys.byteorder) == socket.AF_INET6
    assert raw[8:24] == IPv6Address("::ffff:192.0.2.1").packed
    assert int.from_bytes(raw[130:132], sys.byteorder) == 3
    assert raw[136:139] == b"abc"
    with pytest.raises(ValueError, match=r"192\.0\.2\.1"):
        tcp_options.md5sig(IPv4Address("192.0.2.1"), "x" * 81, socket.AF_INET)


def test_peer_address_unmaps_ipv4() -> None:
    assert tcp_options.peer_address(("::ffff:10.0.0.1", 179, 0, 0)) == IPv4Address("10.0.0.1")
    assert tcp_options.peer_address(("fe80::1%eth0", 179, 0, 2)) == IPv6Address("fe80::1")


# ---- GTSM on the listening socket, with a real router in between ---------------------------------------

S4, R4, F4 = IPv4Address("10.72.0.2"), IPv4Address("10.72.0.1"), IPv4Address("10.72.1.2")
S6, R6, F6 = IPv6Address("fd72::2"), IPv6Address("fd72::1"), IPv6Address("fd72:1::2")


@pytest.fixture
def routed_namespaces() -> Iterator[tuple[str, str, str]]:
    """server (10.72.0.2, fd72::2) -- router (forwarding) -- far (10.72.1.2, fd72:1::2): the router's own
    addresses (10.72.0.1, fd72::1) are one hop from the server, the far namespace's are two."""
    tag = uuid.uuid4().hex[:6]
    server, router, far = (f"bgplbt-{role}-{tag}" for role in ("s", "r", "f"))
    try:
        for ns in (server, router, far):
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", router, "link", "add", "rs", "type", "veth", "peer", "name", "sr", "netns", server)
        _ip("-n", router, "link", "add", "rf", "type", "veth", "peer", "name", "fr", "netns", far)
        links = [
            (server, "sr", "10.72.0.2/24", "fd72::2/64"),
            (router, "rs", "10.72.0.1/24", "fd72::1/64"),
            (router, "rf", "10.72.1.1/24", "fd72:1::1/64"),
            (far, "fr", "10.72.1.2/24", "fd72:1::2/64"),
        ]
        for ns, dev, v4, v6 in links:
            _ip("-n", ns, "addr", "add", v4, "dev", dev)
            _ip("-n", ns, "addr", "add", v6, "dev", dev, "nodad")
            _ip("-n", ns, "link", "set", dev, "up")
        for key in ("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"):
            subprocess.run(["ip", "netns", "exec", router, "sysctl", "-qw", key], check=True, timeout=10)
        _ip("-n", server, "route", "add", "10.72.1.0/24", "via", "10.72.0.1")
        _ip("-n", server, "-6", "route", "add", "fd72:1::/64", "via", "fd72::1")
        _ip("-n", far, "route", "add", "default", "via", "10.72.1.1")
        _ip("-n", far, "-6", "route", "add", "default", "via", "fd72:1::1")
        yield server, router, far
    finally:
        for ns in (server, router, far):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10, check=False)


def _min_ttl_drops(namespace: str) -> int:
    """The namespace's TCPMinTTLDrop counter (SYNs and segments dropped by IP_MINTTL / IPV6_MINHOPCOUNT)."""
    text = subprocess.run(
        ["ip", "netns", "exec", namespace, "cat", "/proc/net/netstat"],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout
    names, values = [line.split() for line in text.splitlines() if line.startswith("TcpExt:")][:2]
    return int(values[names.index("TCPMinTTLDrop")])


def _dial(namespace: str, server: IPv4Address | IPv6Address, port: int, timeout: float) -> bool:
    """A TTL-255 connection attempt from `namespace` (bounded by `timeout`, retried while the path
    comes up: IPv6 neighbour discovery through the router can take a moment)."""
    for _ in range(5):
        with entered(namespace):
            client = tcp_options.dial_socket(server, TcpOptions(ttl=255))
        if _connects(client, server, port, timeout):
            return True
    return False


@pytest.mark.netns
@pytest.mark.parametrize(("server", "near", "far"), [(S4, R4, F4), (S6, R6, F6)], ids=["ipv4", "ipv6"])
def test_gtsm_on_the_listener_stops_a_peer_behind_a_router_before_the_handshake(
    routed_namespaces: tuple[str, str, str],
    server: IPv4Address | IPv6Address,
    near: IPv4Address | IPv6Address,
    far: IPv4Address | IPv6Address,
) -> None:
    s, r, f = routed_namespaces
    with entered(s):
        listener = tcp_options.listen_socket(ip_address("::"), 1793, min_ttl=255)
    try:
        assert _dial(r, server, 1793, timeout=1.0)  # one hop: arrives with TTL 255
        (conn, addr) = _accept_one(listener)
        with conn:
            v4 = near.version == 4
            level = socket.IPPROTO_IP if v4 else socket.IPPROTO_IPV6
            option = tcp_options.IP_MINTTL if v4 else tcp_options.IPV6_MINHOPCOUNT
            assert tcp_options.peer_address(addr) == near
            assert conn.getsockopt(level, option) == 255  # Linux copied GTSM to the accepted socket
        before = _min_ttl_drops(s)
        with entered(f):
            client = tcp_options.dial_socket(server, TcpOptions(ttl=255))
        assert not _connects(client, server, 1793, timeout=1.0)  # two hops: TTL 254, the SYN is dropped
        assert _accepted(listener) == []  # no handshake completed, nothing to accept
        assert _min_ttl_drops(s) > before
    finally:
        listener.close()


@pytest.mark.netns
def test_gtsm_set_after_accept_lets_the_far_handshake_complete(
    routed_namespaces: tuple[str, str, str],
) -> None:
    """Why the option belongs on the listener: without it the far peer's handshake completes first."""
    s, _, f = routed_namespaces
    with entered(s):
        listener = tcp_options.listen_socket(S4, 1794)
    try:
        assert _dial(f, S4, 1794, timeout=1.0)
        assert [tcp_options.peer_address(a) for a in _accepted(listener)] == [F4]
    finally:
        listener.close()


def _accept_one(listener: socket.socket) -> tuple[socket.socket, tuple[str, int]]:
    listener.settimeout(1.0)
    conn, addr = listener.accept()
    return conn, addr
