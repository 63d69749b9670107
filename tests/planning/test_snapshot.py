"""Snapshot values: identity, ordering, hashing, helpers."""

from __future__ import annotations

import random
from dataclasses import FrozenInstanceError
from ipaddress import ip_address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bgplb.planning.snapshot import (
    Namespace,
    Node,
    NodeCondition,
    Service,
    ServiceRef,
    Snapshot,
    by_ref,
    family_of,
)


def test_service_refs_order_by_namespace_then_name() -> None:
    refs = [ServiceRef("b", "a"), ServiceRef("a", "z"), ServiceRef("a", "b")]
    assert [str(r) for r in sorted(refs)] == ["a/b", "a/z", "b/a"]


def test_values_are_frozen_and_hashable_despite_label_maps() -> None:
    s = Service(ServiceRef("n", "s"), labels={"a": "b"}, selector={"x": "y"})
    assert hash(s) == hash(Service(ServiceRef("n", "s"), labels={"c": "d"}))
    assert s != Service(ServiceRef("n", "s"), labels={"c": "d"})
    with pytest.raises(FrozenInstanceError):
        s.type = "ClusterIP"  # type: ignore[misc]


def test_node_network_unavailable() -> None:
    assert Node("a", conditions=(NodeCondition("NetworkUnavailable", True),)).network_unavailable
    assert not Node("a", conditions=(NodeCondition("NetworkUnavailable", False),)).network_unavailable
    assert not Node("a").network_unavailable


def test_helpers() -> None:
    snap = Snapshot(namespaces=(Namespace("a", {"t": "1"}),))
    assert snap.namespace_labels() == {"a": {"t": "1"}}
    assert family_of(ip_address("10.0.0.1")) == "IPv4" and family_of(ip_address("::1")) == "IPv6"


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "a-b", "b.a"]), st.sampled_from(["x", "y", "xy"]))))
def test_by_ref_sorts_like_service_ref_and_is_stable(refs: list[tuple[str, str]]) -> None:
    services = [
        Service(ServiceRef(ns, name), creation_timestamp=float(i)) for i, (ns, name) in enumerate(refs)
    ]
    random.Random(len(refs)).shuffle(services)
    assert by_ref(services) == sorted(services, key=lambda s: s.ref)  # equal refs keep their order
