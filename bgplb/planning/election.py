"""Layer-2 ownership: which one node answers ARP/NDP for an address.

Every speaker computes the same answer from the same snapshot without talking to the others: the eligible
nodes are ranked by the SHA-256 of `"<node>#<address>"` (MetalLB's memberlist-free ranking, per address
here) and the first one owns the address. The ranking is stable: adding or removing a node only moves the
addresses that node owned or now wins, and it does not depend on the order the nodes are given in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address

IPAddress = IPv4Address | IPv6Address


def _score(node: str, ip: IPAddress) -> tuple[bytes, str]:
    return hashlib.sha256(f"{node}#{ip}".encode()).digest(), node


def rank(nodes: Iterable[str], ip: IPAddress) -> tuple[str, ...]:
    """The eligible `nodes` (duplicates dropped) in the order they would take over `ip`, owner first."""
    return tuple(sorted(set(nodes), key=lambda node: _score(node, ip)))


def owner(nodes: Iterable[str], ip: IPAddress) -> str | None:
    """The node that answers for `ip`, or None when no node is eligible."""
    ranking = rank(nodes, ip)
    return ranking[0] if ranking else None
