"""The nodes the router peers with, read from plain data (a nodes YAML file, Kubernetes Node objects).

Design: the router side needs only each node's name, addresses and labels, so this module turns already
parsed documents into frozen `RouterNode` values and reports bad input as a ConfigError naming the node
and the field. Two shapes are accepted, one document or a list of them: `{name, addresses, labels}` and a
Kubernetes `Node` (`metadata.name`, `metadata.labels`, `status.addresses` of type InternalIP/ExternalIP),
a `NodeList` included.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bgplb.errors import ConfigError
from bgplb.routers.plan import IPAddress

NODE_ADDRESS_TYPES = ("InternalIP", "ExternalIP")


@dataclass(frozen=True, slots=True)
class RouterNode:
    """A node: its name, its addresses in order of preference, its labels as sorted pairs."""

    name: str
    addresses: tuple[IPAddress, ...]
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def label_map(self) -> dict[str, str]:
        """The labels as a mapping, for label selectors."""
        return dict(self.labels)


def parse_nodes(documents: Iterable[object]) -> tuple[RouterNode, ...]:
    """Nodes from parsed YAML documents (each a node, a list of nodes or a NodeList), sorted by name.

    Raises ConfigError for a malformed node or a duplicate name.
    """
    nodes: dict[str, RouterNode] = {}
    for index, item in enumerate(_flatten(documents)):
        node = _parse_one(item, index)
        if node.name in nodes:
            raise ConfigError("Node", node.name, "name", "the same node name appears twice in the nodes file")
        nodes[node.name] = node
    return tuple(nodes[name] for name in sorted(nodes))


def _flatten(documents: Iterable[object]) -> Iterable[object]:
    for document in documents:
        if document is None:
            continue
        if isinstance(document, list):
            yield from document
        elif isinstance(document, Mapping) and document.get("kind") == "NodeList":
            items = document.get("items") or []
            if not isinstance(items, list):
                raise ConfigError("NodeList", "", "items", "must be a list of Node objects")
            yield from items
        else:
            yield document


def _parse_one(item: object, index: int) -> RouterNode:
    if not isinstance(item, Mapping):
        raise ConfigError("Node", f"#{index}", "", "must be a mapping with a name and addresses")
    if item.get("kind") == "Node":
        metadata = _mapping(item.get("metadata"), f"#{index}", "metadata")
        name = _name(metadata.get("name"), index, "metadata.name")
        labels = _labels(metadata.get("labels"), name, "metadata.labels")
        status = _mapping(item.get("status"), name, "status")
        entries = status.get("addresses") or []
        if not isinstance(entries, list):
            raise ConfigError("Node", name, "status.addresses", "must be a list of {type, address}")
        raw: list[object] = []
        for kind in NODE_ADDRESS_TYPES:
            raw += [e.get("address") for e in entries if isinstance(e, Mapping) and e.get("type") == kind]
        return RouterNode(name, _addresses(raw, name, "status.addresses"), labels)
    unknown = set(item) - {"name", "addresses", "labels"}
    name = _name(item.get("name"), index, "name")
    if unknown:
        raise ConfigError(
            "Node", name, sorted(unknown)[0], "unknown field (expected name, addresses, labels)"
        )
    addresses = item.get("addresses")
    if not isinstance(addresses, list):
        raise ConfigError("Node", name, "addresses", "must be a list of IP addresses")
    return RouterNode(
        name, _addresses(addresses, name, "addresses"), _labels(item.get("labels"), name, "labels")
    )


def _mapping(value: object, name: str, field: str) -> Mapping[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError("Node", name, field, "must be a mapping")
    return value


def _name(value: object, index: int, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError("Node", f"#{index}", field, "a node needs a non-empty name")
    return value


def _labels(value: object, name: str, field: str) -> tuple[tuple[str, str], ...]:
    labels = _mapping(value, name, field)
    pairs: list[tuple[str, str]] = []
    for key, label in labels.items():
        if not isinstance(label, str | int | float | bool):
            raise ConfigError("Node", name, f"{field}.{key}", "a label value must be a string")
        pairs.append((str(key), str(label).lower() if isinstance(label, bool) else str(label)))
    return tuple(sorted(pairs))


def _addresses(values: list[object], name: str, field: str) -> tuple[IPAddress, ...]:
    found: list[IPAddress] = []
    for i, value in enumerate(values):
        try:
            address = ipaddress.ip_address(str(value))
        except ValueError:
            raise ConfigError("Node", name, f"{field}[{i}]", f"{value!r} is not an IP address") from None
        if address not in found:
            found.append(address)
    if not found:
        raise ConfigError("Node", name, field, "a node needs at least one address")
    return tuple(found)
