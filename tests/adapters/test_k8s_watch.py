"""KindWatcher pieces that need no server: backoff bounds, keys, the dict-based resource classes."""

from __future__ import annotations

import random

from lightkube.generic_resource import (
    GenericGlobalResource,
    GenericNamespacedResource,
    GenericNamespacedStatus,
)

from bgplb.adapters.k8s_watch import Backoff, WatchedKind, key_of, namespaced_resource, namespaced_status


def test_backoff_grows_is_capped_and_resets() -> None:
    backoff = Backoff(base=0.1, cap=1.0, rng=random.Random(7))
    delays = [backoff.next() for _ in range(10)]
    ceilings = [min(1.0, 0.1 * 2**n) for n in range(10)]
    assert all(0.05 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[6:]) <= 1.0 and max(delays[6:]) > 0.1
    backoff.reset()
    assert backoff.next() <= 0.1


def test_key_of_cluster_scoped_and_namespaced() -> None:
    assert key_of({"metadata": {"name": "n1"}}) == ("", "n1")
    assert key_of({"metadata": {"name": "web", "namespace": "default"}}) == ("default", "web")


def test_resource_classes_are_dict_based_and_scoped() -> None:
    pools = WatchedKind("metallb.io", "v1beta1", "IPAddressPool", "ipaddresspools").resource()
    nodes = WatchedKind("", "v1", "Node", "nodes", namespaced=False).resource()
    assert issubclass(pools, GenericNamespacedResource)
    assert issubclass(nodes, GenericGlobalResource)
    assert pools._api_info.resource.api_version == "metallb.io/v1beta1"
    status = namespaced_status(namespaced_resource("", "v1", "Service", "services"))
    assert issubclass(status, GenericNamespacedStatus)
    assert status._api_info.action == "status"
    assert WatchedKind("", "v1", "Service", "services").label == "v1/Service"


def test_field_selector_is_built_and_named_in_the_label() -> None:
    secret = WatchedKind("", "v1", "Secret", "secrets", namespace="ns", fields=(("metadata.name", "auth"),))
    assert secret.field_selector == "metadata.name=auth"
    assert secret.label == "v1/Secret ns[metadata.name=auth]"
    assert WatchedKind("", "v1", "Service", "services").field_selector is None
