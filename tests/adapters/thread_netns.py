"""Run the calling thread inside a network namespace, so in-process sockets live there.

A network namespace is per thread on Linux: after setns(2) every socket the thread creates belongs to the
target namespace for its whole life, whichever thread uses it later. Tests use this to run a `BgpSpeaker`
on the pytest event loop inside a private namespace, and to place one end of a test in another namespace.
"""

from __future__ import annotations

import ctypes
import fcntl
import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager

CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int, what: str) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns {what}")


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))


@contextmanager
def entered(namespace: str) -> Iterator[None]:
    """The calling thread runs in the named namespace (`/run/netns/<namespace>`) inside the block."""
    with open("/proc/thread-self/ns/net") as home, open(f"/run/netns/{namespace}") as target:
        _setns(target.fileno(), namespace)
        try:
            yield
        finally:
            _setns(home.fileno(), "back home")


@contextmanager
def private_namespace() -> Iterator[None]:
    """The calling thread runs in a fresh anonymous namespace with `lo` up; it vanishes with its sockets."""
    with open("/proc/thread-self/ns/net") as home:
        if _libc.unshare(CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
        try:
            _loopback_up()
            yield
        finally:
            _setns(home.fileno(), "back home")
