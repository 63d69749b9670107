"""Linux socket options for BGP over TCP: TCP MD5 (RFC 2385), GTSM (RFC 5082), multihop TTL, binding.

Design: plain functions on a `socket.socket`, no asyncio here. `dial_socket` and `listen_socket` build
non-blocking sockets with every option already set, ready for `loop.sock_connect` / `loop.sock_accept`.
The option numbers come from <linux/tcp.h> and <linux/in.h>/<linux/in6.h>; Python's `socket` module
does not export all of them.

TCP MD5 keys are per peer address. On a dual-stack listener (an AF_INET6 socket bound to `::`), IPv4 peers
are keyed by their IPv4-mapped address, which the kernel turns into an AF_INET key.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

TCP_MD5SIG = 14
TCP_MD5SIG_MAXKEYLEN = 80
IP_MINTTL = 21
IPV6_MINHOPCOUNT = 73
IP_BIND_ADDRESS_NO_PORT = 24
MAX_TTL = 255

IpAddress = IPv4Address | IPv6Address

# struct tcp_md5sig {sockaddr_storage addr; u8 flags; u8 prefixlen; u16 keylen; int ifindex; u8 key[80]}
_SOCKADDR_STORAGE = 128
_MD5SIG = struct.Struct(f"={_SOCKADDR_STORAGE}sBBHi{TCP_MD5SIG_MAXKEYLEN}s")


class SocketOptionError(OSError):
    """A socket option could not be applied; the message names the option and the peer."""


@dataclass(frozen=True, slots=True)
class TcpOptions:
    """What one BGP connection needs from the kernel.

    `ttl` is the outgoing TTL / hop limit (None: system default); `min_ttl` the lowest TTL accepted
    (GTSM); `password` the TCP MD5 key (None: no MD5).
    """

    password: str | None = None
    ttl: int | None = None
    min_ttl: int | None = None

    @classmethod
    def for_peer(
        cls, *, password: str | None, ebgp: bool, ebgp_multihop: int | None, ttl_security: int | None
    ) -> TcpOptions:
        """Options for a peer: GTSM sends TTL 255 and accepts 256-hops; eBGP uses TTL 1 unless multihop."""
        if ttl_security is not None:
            return cls(password=password, ttl=MAX_TTL, min_ttl=MAX_TTL + 1 - ttl_security)
        if ebgp_multihop is not None:
            return cls(password=password, ttl=ebgp_multihop)
        return cls(password=password, ttl=1 if ebgp else None)


def _sockaddr(address: IpAddress, as_family: int) -> bytes:
    """A `struct sockaddr_storage` for `address` (port 0), IPv4-mapped when an IPv6 socket needs it."""
    if as_family == socket.AF_INET6 and isinstance(address, IPv4Address):
        address = IPv6Address(f"::ffff:{address}")
    if isinstance(address, IPv4Address):
        raw = struct.pack("=H", socket.AF_INET) + struct.pack("!H", 0) + address.packed
    else:
        raw = struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", 0, 0) + address.packed + b"\0" * 4
    return raw.ljust(_SOCKADDR_STORAGE, b"\0")


def md5sig(peer: IpAddress, password: str | None, family: int) -> bytes:
    """The `struct tcp_md5sig` that sets (or, with no password, deletes) the key for `peer`."""
    key = (password or "").encode()
    if len(key) > TCP_MD5SIG_MAXKEYLEN:
        raise ValueError(f"TCP MD5 password for {peer} is longer than {TCP_MD5SIG_MAXKEYLEN} bytes")
    return _MD5SIG.pack(_sockaddr(peer, family), 0, 0, len(key), 0, key)


def set_md5(sock: socket.socket, peer: IpAddress, password: str | None) -> None:
    """Install (or remove, with None) the TCP MD5 key for `peer` on `sock` (RFC 2385)."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, md5sig(peer, password, sock.family))
    except OSError as exc:
        raise SocketOptionError(exc.errno, f"TCP_MD5SIG for peer {peer}: {exc.strerror}") from exc


def set_ttl(sock: socket.socket, peer: IpAddress, ttl: int) -> None:
    """Outgoing TTL (IPv4) or unicast hop limit (IPv6) towards `peer`."""
    _set_ttl(sock, peer.version, ttl)


def _set_ttl(sock: socket.socket, version: int, ttl: int) -> None:
    if version == 4:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)


def set_min_ttl(sock: socket.socket, peer: IpAddress, min_ttl: int) -> None:
    """GTSM (RFC 5082): drop segments from `peer` arriving with a TTL / hop limit below `min_ttl`."""
    _set_min_ttl(sock, peer.version, min_ttl, f"peer {peer}")


def _set_min_ttl(sock: socket.socket, version: int, min_ttl: int, what: str) -> None:
    try:
        if version == 4:
            sock.setsockopt(socket.IPPROTO_IP, IP_MINTTL, min_ttl)
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MINHOPCOUNT, min_ttl)
    except OSError as exc:
        raise SocketOptionError(exc.errno, f"GTSM min TTL {min_ttl} for {what}: {exc.strerror}") from exc


def apply(sock: socket.socket, peer: IpAddress, options: TcpOptions) -> None:
    """Apply every option of `options` for `peer` to a (dialling or accepted) socket, plus TCP_NODELAY."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if options.password:
        set_md5(sock, peer, options.password)
    if options.ttl is not None:
        set_ttl(sock, peer, options.ttl)
    if options.min_ttl is not None:
        set_min_ttl(sock, peer, options.min_ttl)


def dial_socket(peer: IpAddress, options: TcpOptions, source: IpAddress | None = None) -> socket.socket:
    """A non-blocking TCP socket towards `peer` with every option set, bound to `source` if given.

    The source port is left to connect() (IP_BIND_ADDRESS_NO_PORT), so many sessions from one address
    do not exhaust the ephemeral ports at bind time.
    """
    family = socket.AF_INET if isinstance(peer, IPv4Address) else socket.AF_INET6
    if source is not None and source.version != peer.version:
        raise ValueError(f"source address {source} and peer {peer} are not of the same IP version")
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        apply(sock, peer, options)
        if source is not None:
            sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            sock.bind((str(source), 0))
    except BaseException:
        sock.close()
        raise
    return sock


def accepts(address: IpAddress, peer: IpAddress) -> bool:
    """A listener bound to `address` takes connections from `peer`: same IP version, or `::` (dual stack)."""
    return address.version == peer.version or address == IPv6Address("::")


def listen_socket(
    address: IpAddress, port: int, backlog: int = 64, *, min_ttl: int | None = None, ttl: int | None = None
) -> socket.socket:
    """A non-blocking listening socket; bound to `::` it also accepts IPv4 (IPv4-mapped) connections.

    `min_ttl` sets GTSM (RFC 5082) on the listening socket before listen(): the kernel then drops a SYN
    arriving with a lower TTL / hop limit, so no handshake completes, and copies the option to every
    accepted socket. Use it only when every peer this socket accepts has that same minimum. `ttl` is the
    TTL / hop limit of what the listener itself sends, the SYN-ACK: a GTSM peer drops one below 255.
    """
    family = socket.AF_INET if isinstance(address, IPv4Address) else socket.AF_INET6
    sock = socket.socket(family, socket.SOCK_STREAM)
    dual = address == IPv6Address("::")
    versions = (4, 6) if dual else (address.version,)  # IPv4 options cover IPv4-mapped connections
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if dual else 1)
        for version in versions:
            if ttl is not None:
                _set_ttl(sock, version, ttl)
            if min_ttl is not None:
                _set_min_ttl(sock, version, min_ttl, f"listener {address}")
        sock.setblocking(False)
        sock.bind((str(address), port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def peer_address(sockaddr: tuple[str, int] | tuple[str, int, int, int]) -> IpAddress:
    """The remote address of an accepted socket, with IPv4-mapped IPv6 turned back into IPv4."""
    address = ip_address(sockaddr[0].split("%", 1)[0])
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
