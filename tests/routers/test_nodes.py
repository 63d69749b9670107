"""parse_nodes: the simple list, Kubernetes Node/NodeList objects, and errors naming node and field."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from bgplb.errors import ConfigError
from bgplb.routers.build import build_plan
from bgplb.routers.nodes import RouterNode, parse_nodes
from tests.routers.scenarios import plan_for, scenario_config, scenario_nodes


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


def test_node_object_labels_drive_advertisement_node_selectors_like_the_nodes_file() -> None:
    """The rack_nodes scenario with its nodes given as Kubernetes Node objects: the same plan."""
    objects = [
        {
            "kind": "Node",
            "metadata": {"name": node.name, "labels": node.label_map},
            "status": {"addresses": [{"type": "InternalIP", "address": str(a)} for a in node.addresses]},
        }
        for node in scenario_nodes("rack_nodes")
    ]
    nodes = parse_nodes([{"kind": "NodeList", "items": objects}])
    plan = build_plan(scenario_config("rack_nodes"), nodes)
    assert plan == plan_for("rack_nodes")
    assert [[n.node for n in g.neighbors] for g in plan.groups] == [["r1-n1", "r1-n2"], ["r2-n1", "r2-n2"]]
