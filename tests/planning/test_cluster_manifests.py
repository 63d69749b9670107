"""Node, Namespace and EndpointSlice manifests into snapshot types; errors name the object and field."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from bgplb.errors import ConfigError
from bgplb.planning.cluster_manifests import read_endpoint_slice, read_namespace, read_node
from bgplb.planning.snapshot import ServiceRef

LABEL = "kubernetes.io/service-name"


def test_a_node_keeps_internal_and_external_addresses_labels_and_conditions() -> None:
    node = read_node(
        {
            "metadata": {"name": "n1", "labels": {"zone": "a"}},
            "spec": {"unschedulable": True},
            "status": {
                "addresses": [
                    {"type": "Hostname", "address": "n1"},
                    {"type": "InternalIP", "address": "10.0.0.11"},
                    {"type": "ExternalIP", "address": "2001:db8::11"},
                ],
                "conditions": [{"type": "NetworkUnavailable", "status": "True"}],
            },
        }
    )
    assert node.name == "n1" and node.labels == {"zone": "a"} and node.unschedulable
    assert node.addresses == (ip_address("10.0.0.11"), ip_address("2001:db8::11"))
    assert [(c.type, c.status) for c in node.conditions] == [("NetworkUnavailable", True)]


@pytest.mark.parametrize(
    ("manifest", "kind", "field"),
    [
        ({"metadata": {}}, "Node", "metadata.name"),
        (
            {"metadata": {"name": "n1"}, "status": {"addresses": [{"type": "InternalIP", "address": "x"}]}},
            "Node",
            "status.addresses[0]",
        ),
    ],
)
def test_bad_nodes_name_the_field(manifest: dict[str, object], kind: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_node(manifest)
    assert (caught.value.kind, caught.value.field_path) == (kind, field)


def test_an_endpoint_slice_defaults_conditions_like_kubernetes() -> None:
    eps = read_endpoint_slice(
        {
            "metadata": {"name": "web-1", "namespace": "shop", "labels": {LABEL: "web"}},
            "endpoints": [
                {"addresses": ["10.1.0.5"], "nodeName": "n1"},
                {
                    "addresses": ["10.1.0.6"],
                    "nodeName": "n2",
                    "conditions": {"ready": False, "serving": True},
                },
                {"addresses": ["10.1.0.7"], "conditions": {"ready": False, "terminating": True}},
            ],
        }
    )
    assert eps.service == ServiceRef("shop", "web")
    first, second, third = eps.endpoints
    assert (first.node, first.ready, first.serving, first.terminating) == ("n1", True, True, False)
    assert (second.ready, second.serving) == (False, True)
    assert (third.node, third.ready, third.serving, third.terminating) == (None, False, False, True)


@pytest.mark.parametrize(
    ("manifest", "field"),
    [
        ({"metadata": {"name": "s", "namespace": "a"}}, "metadata.labels[kubernetes.io/service-name]"),
        (
            {"metadata": {"name": "s", "labels": {"kubernetes.io/service-name": "web"}}, "endpoints": ["x"]},
            "endpoints[0]",
        ),
        (
            {
                "metadata": {"name": "s", "labels": {"kubernetes.io/service-name": "web"}},
                "endpoints": [{"addresses": ["10.0.0.300"]}],
            },
            "endpoints[0].addresses[0]",
        ),
    ],
)
def test_bad_endpoint_slices_name_the_field(manifest: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_endpoint_slice(manifest)
    assert (caught.value.kind, caught.value.field_path) == ("EndpointSlice", field)


def test_a_namespace_has_its_name_and_labels() -> None:
    namespace = read_namespace({"metadata": {"name": "shop", "labels": {"team": "web"}}})
    assert (namespace.name, namespace.labels) == ("shop", {"team": "web"})
