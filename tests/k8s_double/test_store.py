"""The double's storage semantics, which the adapter tests rely on: versions, conflicts, status, history."""

from __future__ import annotations

import pytest

from tests.k8s_double.server import parse_path
from tests.k8s_double.store import (
    KIND_BY_PATH,
    ApiFailureError,
    Obj,
    Store,
    merge_patch,
    parse_field_selector,
)

SERVICES = KIND_BY_PATH[("", "services")]


def web(store: Store) -> Obj:
    return store.create(SERVICES, "default", {"metadata": {"name": "web"}, "spec": {"type": "LoadBalancer"}})


def test_every_write_bumps_one_global_version_and_noop_writes_do_not() -> None:
    store = Store()
    created = web(store)
    assert int(created["metadata"]["resourceVersion"]) == store.rv
    patched = store.patch(SERVICES, "default", "web", {"metadata": {"labels": {"a": "b"}}})
    assert (
        int(patched["metadata"]["resourceVersion"])
        == store.rv
        == int(created["metadata"]["resourceVersion"]) + 1
    )
    again = store.patch(SERVICES, "default", "web", {"metadata": {"labels": {"a": "b"}}})
    assert again["metadata"]["resourceVersion"] == patched["metadata"]["resourceVersion"]


def test_stale_resource_version_is_a_conflict() -> None:
    store = Store()
    created = web(store)
    store.patch(SERVICES, "default", "web", {"metadata": {"labels": {"a": "b"}}})
    with pytest.raises(ApiFailureError) as raised:
        store.update(SERVICES, "default", "web", created)
    assert raised.value.code == 409


def test_status_subresource_rules() -> None:
    store = Store()
    created = store.create(
        SERVICES, "default", {"metadata": {"name": "web"}, "spec": {}, "status": {"loadBalancer": {"x": 1}}}
    )
    assert "status" not in created  # create clears status
    body = {**created, "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}, "spec": {"type": "X"}}
    after = store.update(SERVICES, "default", "web", body, subresource="status")
    assert after["spec"] == {} and after["status"] == body["status"]
    main = store.update(SERVICES, "default", "web", {**after, "status": {}, "spec": {"type": "Y"}})
    assert main["status"] == body["status"] and main["spec"] == {"type": "Y"}


def test_history_replay_and_compaction() -> None:
    store = Store()
    web(store)
    mark = store.rv
    store.delete(SERVICES, "default", "web")
    assert [c.type for c in store.changes_since(SERVICES, None, mark)] == ["DELETED"]
    store.compact()
    with pytest.raises(ApiFailureError) as raised:
        store.changes_since(SERVICES, None, mark)
    assert raised.value.code == 410


def test_merge_patch_is_rfc7386() -> None:
    assert merge_patch({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"b": None, "e": 3}, "d": [2]}) == {
        "a": {"c": 2, "e": 3},
        "d": [2],
    }


def test_paths() -> None:
    target = parse_path("/api/v1/namespaces/default/services/web/status")
    assert (target.kind.plural, target.namespace, target.name, target.subresource) == (
        "services",
        "default",
        "web",
        "status",
    )
    namespace = parse_path("/api/v1/namespaces/default")
    assert (namespace.kind.plural, namespace.namespace, namespace.name) == ("namespaces", None, "default")
    pools = parse_path("/apis/cilium.io/v2alpha1/ciliumloadbalancerippools")
    assert pools.api_version == "cilium.io/v2alpha1" and not pools.kind.namespaced
    with pytest.raises(ApiFailureError):
        parse_path("/apis/example.com/v1/widgets")


def test_field_selectors_on_name_and_namespace() -> None:
    web = {"metadata": {"name": "web", "namespace": "default"}}
    db = {"metadata": {"name": "db", "namespace": "team"}}
    assert parse_field_selector("").matches(web)
    by_name = parse_field_selector("metadata.name=web")
    assert by_name.matches(web) and not by_name.matches(db)
    assert parse_field_selector("metadata.name==db").matches(db)
    both = parse_field_selector("metadata.namespace!=default,metadata.name=db")
    assert both.matches(db) and not both.matches(web)
    assert not parse_field_selector("metadata.namespace=team,metadata.name=web").matches(web)
    for bad in ("spec.type=LoadBalancer", "metadata.name"):
        with pytest.raises(ApiFailureError) as raised:
            parse_field_selector(bad)
        assert raised.value.code == 400
