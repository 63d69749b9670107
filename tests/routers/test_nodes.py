"""parse_nodes: the simple list, Kubernetes Node/NodeList objects, and errors naming node and field."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from bgplb.errors import ConfigError
from bgplb.routers.nodes import RouterNode, parse_nodes


def test_simple_list_and_kubernetes_nodes() -> None:
    kube = {
        "kind": "Node",
        "metadata": {"name": "k1", "labels": {"rack": "a", "ready": True}},
        "status": {
            "addresses": [
                {"type": "Hostname", "address": "k1"},
                {"type": "ExternalIP", "address": "2001:db8::1"},
                {"type": "InternalIP", "address": "10.0.0.1"},
            ]
        },
    }
    nodes = parse_nodes([[{"name": "s1", "addresses": ["10.0.0.2"]}], {"kind": "NodeList", "items": [kube]}])
    assert nodes == (
        RouterNode(
            "k1", (ip_address("10.0.0.1"), ip_address("2001:db8::1")), (("rack", "a"), ("ready", "true"))
        ),
        RouterNode("s1", (ip_address("10.0.0.2"),)),
    )


@pytest.mark.parametrize(
    ("document", "name", "field"),
    [
        ({"name": "x", "addresses": ["not-an-ip"]}, "x", "addresses[0]"),
        ({"name": "x", "addresses": []}, "x", "addresses"),
        ({"name": "x", "addresses": "10.0.0.1"}, "x", "addresses"),
        ({"addresses": ["10.0.0.1"]}, "#0", "name"),
        ({"name": "x", "addresses": ["10.0.0.1"], "ip": 1}, "x", "ip"),
        ({"kind": "Node", "metadata": {"name": "k"}, "status": {"addresses": []}}, "k", "status.addresses"),
        ("just a string", "#0", ""),
    ],
)
def test_bad_nodes_name_the_node_and_field(document: object, name: str, field: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_nodes([[document]])
    assert (raised.value.name, raised.value.field_path) == (name, field)


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="twice"):
        parse_nodes([[{"name": "a", "addresses": ["10.0.0.1"]}, {"name": "a", "addresses": ["10.0.0.2"]}]])
