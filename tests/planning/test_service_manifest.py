"""Reading Service manifests: annotations, families, ports, status."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgplb.planning.service_manifest import read_service
from bgplb.planning.snapshot import IPFamilyPolicy, ServicePort, ServiceRef


def manifest(annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    spec.setdefault("type", "LoadBalancer")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "annotations": annotations or {},
            "labels": {"a": "b"},
        },
        "spec": spec,
    }


def test_full_service_is_read() -> None:
    doc = manifest(
        {"metallb.io/allow-shared-ip": "k", "metallb.io/address-pool": "gold"},
        ports=[{"port": 80}, {"port": 53, "protocol": "UDP"}],
        ipFamilies=["IPv6", "IPv4"],
        ipFamilyPolicy="PreferDualStack",
        externalTrafficPolicy="Local",
        selector={"app": "web"},
        loadBalancerClass="bgplb.io/lb",
    )
    doc["metadata"]["creationTimestamp"] = "2024-03-12T10:00:00Z"
    doc["status"] = {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]}}
    reading = read_service(doc)
    s = reading.service
    assert s.ref == ServiceRef("shop", "web")
    assert s.sharing_key == "k" and s.sharing_namespaces is None
    assert s.requested_pool == "gold"
    assert s.ports == (ServicePort("TCP", 80), ServicePort("UDP", 53))
    assert s.ip_families == ("IPv6", "IPv4") and s.ip_family_policy is IPFamilyPolicy.PREFER_DUAL_STACK
    assert s.external_traffic_policy == "Local" and dict(s.selector) == {"app": "web"}
    assert s.load_balancer_class == "bgplb.io/lb"
    assert s.current_ips == (ip_address("10.0.0.1"), ip_address("fd00::1"))
    assert s.creation_timestamp == 1710237600.0
    assert dict(s.labels) == {"a": "b"}
    assert reading.warnings == () and s.invalid_request is None


@pytest.mark.parametrize(
    ("annotations", "spec", "expected"),
    [
        ({}, {"loadBalancerIP": "10.0.0.5"}, ("10.0.0.5",)),
        ({"metallb.io/loadBalancerIPs": "10.0.0.5, fd00::5"}, {}, ("10.0.0.5", "fd00::5")),
        ({"lbipam.cilium.io/ips": "10.0.0.6"}, {}, ("10.0.0.6",)),
        ({"metallb.io/loadBalancerIPs": "10.0.0.5"}, {"loadBalancerIP": "10.0.0.5"}, ("10.0.0.5",)),
    ],
)
def test_requested_ips(annotations: dict[str, str], spec: dict[str, Any], expected: tuple[str, ...]) -> None:
    s = read_service(manifest(annotations, **spec)).service
    assert s.requested_ips == tuple(ip_address(e) for e in expected)
    assert s.invalid_request is None


@pytest.mark.parametrize(
    ("annotations", "spec", "text"),
    [
        ({"metallb.io/loadBalancerIPs": "10.0.0.300"}, {}, "10.0.0.300"),
        ({"metallb.io/loadBalancerIPs": "10.0.0.1,10.0.0.2"}, {}, "one address per family"),
        ({"metallb.io/loadBalancerIPs": "10.0.0.1"}, {"loadBalancerIP": "10.0.0.2"}, "different addresses"),
        ({"metallb.io/allow-shared-ip": "a", "lbipam.cilium.io/sharing-key": "b"}, {}, "different keys"),
        ({"metallb.io/address-pool": "a", "metallb.universe.tf/address-pool": "b"}, {}, "disagree"),
    ],
)
def test_unreadable_requests_are_reported(
    annotations: dict[str, str], spec: dict[str, Any], text: str
) -> None:
    s = read_service(manifest(annotations, **spec)).service
    assert s.invalid_request is not None and text in s.invalid_request


@pytest.mark.parametrize(
    ("old", "value", "field"),
    [
        ("metallb.universe.tf/loadBalancerIPs", "10.0.0.9", "requested_ips"),
        ("metallb.universe.tf/address-pool", "gold", "requested_pool"),
        ("metallb.universe.tf/allow-shared-ip", "k", "sharing_key"),
        ("io.cilium/lb-ipam-ips", "10.0.0.9", "requested_ips"),
        ("io.cilium/lb-ipam-sharing-key", "k", "sharing_key"),
    ],
)
def test_old_spellings_work_with_a_deprecation_warning(old: str, value: str, field: str) -> None:
    reading = read_service(manifest({old: value}))
    got = getattr(reading.service, field)
    assert got == (ip_address(value),) if field == "requested_ips" else got == value
    assert any(old in w and "deprecated" in w for w in reading.warnings)


def test_cilium_sharing_key_is_namespace_scoped_unless_opted_in() -> None:
    plain = read_service(manifest({"lbipam.cilium.io/sharing-key": "k"})).service
    assert plain.sharing_key == "k" and plain.sharing_namespaces == ()
    cross = read_service(
        manifest(
            {"lbipam.cilium.io/sharing-key": "k", "lbipam.cilium.io/sharing-cross-namespace": "b, a,shop"}
        )
    ).service
    assert cross.sharing_namespaces == ("a", "b")


def test_defaults_and_bad_values_never_crash() -> None:
    reading = read_service(
        {
            "metadata": {"name": "x"},
            "spec": {"ipFamilies": ["IPv5"], "ipFamilyPolicy": "Sometimes", "ports": [{"port": "eighty"}]},
            "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example"}, {"ip": "nope"}]}},
        }
    )
    s = reading.service
    assert s.ref == ServiceRef("default", "x") and s.type == "ClusterIP"
    assert s.ip_families == ("IPv4",) and s.ip_family_policy is IPFamilyPolicy.SINGLE_STACK
    assert s.ports == () and s.current_ips == ()
    assert len(reading.warnings) == 3


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.text(max_size=12)
    | st.sampled_from(["10.0.0.1", "fd00::1", "10.0.0.1,fd00::1", "LoadBalancer", "Local", "IPv6"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [
        "type",
        "ports",
        "ipFamilies",
        "ipFamilyPolicy",
        "externalTrafficPolicy",
        "selector",
        "loadBalancerIP",
        "loadBalancerClass",
    ]
)
ANNOTATIONS = st.sampled_from(
    [
        "metallb.io/loadBalancerIPs",
        "metallb.io/address-pool",
        "metallb.io/allow-shared-ip",
        "lbipam.cilium.io/ips",
        "lbipam.cilium.io/sharing-key",
        "lbipam.cilium.io/sharing-cross-namespace",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(FIELDS, JSON), st.dictionaries(ANNOTATIONS, st.text(max_size=20)), JSON, JSON)
def test_reading_never_raises_on_bad_content(
    spec: dict, annotations: dict, status: object, labels: object
) -> None:
    reading = read_service(
        {
            "metadata": {"name": "x", "annotations": annotations, "labels": labels},
            "spec": spec,
            "status": status,
        }
    )
    assert reading.service.ref.name == "x"
