"""StatusWriter against the API-server double: status subresource writes, conflicts, Events, pool counters."""

from __future__ import annotations

import functools
from ipaddress import ip_address
from typing import Any

import pytest
from lightkube import ApiError

from bgplb.adapters.k8s_event_reasons import (
    EventReason,
    allocation_failed_message,
    clear_assignment_message,
    ip_allocated_message,
    node_assigned_message,
)
from bgplb.adapters.k8s_events import ObjectRef
from bgplb.adapters.k8s_status import POOL_ANNOTATION, SERVICE, StatusWriter, WriteOutcome
from bgplb.errors import ConfigError
from bgplb.planning.allocation import PoolUsage
from bgplb.planning.snapshot import ServiceRef
from tests.k8s_double import ApiFailureError
from tests.k8s_double.helpers import serving
from tests.k8s_double.server import ApiServerDouble
from tests.k8s_double.store import KIND_BY_PATH, Store

SERVICES = KIND_BY_PATH[("", "services")]
STATES = KIND_BY_PATH[("bgplb.io", "configurationstates")]
NS = "metallb-system"
WEB = ServiceRef("default", "web")
IP = ip_address("10.0.0.7")


def seed_web(api: ApiServerDouble, **extra: Any) -> None:
    api.seed(
        "Service",
        "services",
        {"metadata": {"name": "web", "namespace": "default"}, "spec": {"type": "LoadBalancer"}, **extra},
    )


def stored_web(api: ApiServerDouble) -> dict[str, Any]:
    return api.store.get(SERVICES, "default", "web")


async def test_writes_ingress_through_status_and_pool_annotation() -> None:
    async with serving() as (api, client):
        seed_web(api)
        writer = StatusWriter(client)
        assert await writer.set_service_ips(WEB, (IP,), "lan") == WriteOutcome.WRITTEN
        web = stored_web(api)
        assert web["status"]["loadBalancer"]["ingress"] == [{"ip": "10.0.0.7", "ipMode": "VIP"}]
        assert web["metadata"]["annotations"] == {POOL_ANNOTATION: "lan"}
        status_puts = [p for m, p, _ in api.requests if m == "PUT"]
        assert status_puts == ["/api/v1/namespaces/default/services/web/status"]
        version = web["metadata"]["resourceVersion"]
        assert await writer.set_service_ips(WEB, (IP,), "lan") == WriteOutcome.UNCHANGED
        assert stored_web(api)["metadata"]["resourceVersion"] == version


async def test_clearing_removes_ingress_and_annotation_without_ip_mode() -> None:
    async with serving() as (api, client):
        seed_web(api)
        writer = StatusWriter(client, ip_mode=False)
        await writer.set_service_ips(WEB, (IP,), "lan")
        assert stored_web(api)["status"]["loadBalancer"]["ingress"] == [{"ip": "10.0.0.7"}]
        assert await writer.set_service_ips(WEB, (), None) == WriteOutcome.WRITTEN
        web = stored_web(api)
        assert web["status"]["loadBalancer"]["ingress"] == []
        assert POOL_ANNOTATION not in (web["metadata"].get("annotations") or {})


async def test_conflict_rereads_and_keeps_the_concurrent_change() -> None:
    async with serving() as (api, client):
        seed_web(api, status={"conditions": [{"type": "Old", "status": "True"}]})

        def someone_else_writes(store: Store) -> None:
            store.patch(SERVICES, "default", "web", {"metadata": {"labels": {"owner": "other"}}})
            store.patch(
                SERVICES,
                "default",
                "web",
                {"status": {"conditions": [{"type": "Theirs", "status": "True"}]}},
                subresource="status",
            )

        api.on_next("PUT", "/services/web/status", someone_else_writes)
        writer = StatusWriter(client)
        assert await writer.set_service_ips(WEB, (IP,), "lan") == WriteOutcome.WRITTEN
        assert writer.conflicts == 1
        web = stored_web(api)
        assert web["metadata"]["labels"] == {"owner": "other"}
        assert web["status"]["conditions"] == [{"type": "Theirs", "status": "True"}]
        assert web["status"]["loadBalancer"]["ingress"] == [{"ip": "10.0.0.7", "ipMode": "VIP"}]
        assert web["metadata"]["annotations"] == {POOL_ANNOTATION: "lan"}


async def test_conflict_on_the_annotation_patch_is_retried_too() -> None:
    async with serving() as (api, client):
        seed_web(api)
        api.on_next(
            "PATCH",
            "/services/web",
            lambda store: store.patch(SERVICES, "default", "web", {"metadata": {"annotations": {"x": "y"}}}),
        )
        writer = StatusWriter(client)
        assert await writer.set_service_ips(WEB, (IP,), "lan") == WriteOutcome.WRITTEN
        assert writer.conflicts == 1
        assert stored_web(api)["metadata"]["annotations"] == {"x": "y", POOL_ANNOTATION: "lan"}


def relabel(store: Store, n: int) -> None:
    store.patch(SERVICES, "default", "web", {"metadata": {"labels": {"n": str(n)}}})


async def test_gives_up_after_bounded_conflicts_without_writing() -> None:
    async with serving() as (api, client):
        seed_web(api)
        for n in range(3):
            api.on_next("PUT", "/services/web/status", functools.partial(relabel, n=n))
        writer = StatusWriter(client, attempts=3, ip_mode=False)
        assert await writer.set_service_ips(WEB, (IP,), None) == WriteOutcome.CONFLICT
        assert writer.conflicts == 3
        assert "status" not in stored_web(api) or not stored_web(api)["status"].get("loadBalancer")


async def test_a_fresh_cached_object_saves_the_get() -> None:
    async with serving() as (api, client):
        seed_web(api)
        cached = dict(await client.get(SERVICE, "web", namespace="default"))
        mark = len(api.requests)
        writer = StatusWriter(client)
        assert await writer.set_service_ips(WEB, (IP,), "lan", cached=cached) == WriteOutcome.WRITTEN
        assert [m for m, _, _ in api.requests[mark:]] == ["PUT", "PATCH"]
        assert stored_web(api)["metadata"]["annotations"] == {POOL_ANNOTATION: "lan"}


async def test_a_stale_cached_object_conflicts_then_rereads() -> None:
    async with serving() as (api, client):
        seed_web(api)
        cached = dict(await client.get(SERVICE, "web", namespace="default"))
        relabel(api.store, 1)  # the cache is now one version behind
        mark = len(api.requests)
        writer = StatusWriter(client)
        assert await writer.set_service_ips(WEB, (IP,), "lan", cached=cached) == WriteOutcome.WRITTEN
        assert [m for m, _, _ in api.requests[mark:]] == ["PUT", "GET", "PUT", "PATCH"]
        assert writer.conflicts == 1
        web = stored_web(api)
        assert web["metadata"]["labels"] == {"n": "1"}
        assert web["status"]["loadBalancer"]["ingress"] == [{"ip": "10.0.0.7", "ipMode": "VIP"}]
        assert cached.get("status") != web["status"]  # the cached copy itself is not modified


async def test_missing_service_is_not_found_and_other_errors_propagate() -> None:
    async with serving() as (api, client):
        writer = StatusWriter(client)
        assert await writer.set_service_ips(WEB, (IP,), "lan") == WriteOutcome.NOT_FOUND
        seed_web(api)

        def forbidden(_store: Store) -> None:
            raise ApiFailureError(403, "Forbidden", "services/status is forbidden")

        api.on_next("PUT", "/services/web/status", forbidden)
        with pytest.raises(ApiError) as raised:
            await writer.set_service_ips(WEB, (IP,), None)
        assert raised.value.status.code == 403


async def test_events_carry_metallb_reasons_and_types() -> None:
    async with serving() as (api, client):
        writer = StatusWriter(client, host="node-1")
        await writer.emit(WEB, EventReason.IP_ALLOCATED, ip_allocated_message((IP,)), now=0.0)
        await writer.emit(
            WEB, EventReason.ALLOCATION_FAILED, allocation_failed_message(WEB, "no free address")
        )
        events = api.objects("events", namespace="default")
        assert [(e["reason"], e["type"]) for e in sorted(events, key=lambda e: e["metadata"]["name"])] == [
            ("IPAllocated", "Normal"),
            ("AllocationFailed", "Warning"),
        ]
        first = next(e for e in events if e["reason"] == "IPAllocated")
        assert first["metadata"]["name"].startswith("web.")
        assert first["message"] == 'Assigned IP ["10.0.0.7"]'
        assert first["involvedObject"] == {
            "apiVersion": "v1",
            "kind": "Service",
            "namespace": "default",
            "name": "web",
        }
        assert first["source"] == {"component": "bgplb-controller", "host": "node-1"}
        assert first["firstTimestamp"] == "1970-01-01T00:00:00Z"


def test_message_wording() -> None:
    assert (
        allocation_failed_message(WEB, "pool exhausted")
        == 'Failed to allocate IP for "default/web": pool exhausted'
    )
    assert ip_allocated_message((IP, ip_address("fd00::7"))) == 'Assigned IP ["10.0.0.7" "fd00::7"]'
    assert clear_assignment_message((IP,), "not in any pool").startswith(
        'current IP ["10.0.0.7"] not allowed'
    )
    assert node_assigned_message("n1", "bgp") == 'announcing from node "n1" with protocol "bgp"'


async def test_pool_status_counters() -> None:
    async with serving() as (api, client):
        pool = {
            "metadata": {"name": "lan", "namespace": "metallb-system"},
            "spec": {"addresses": ["10.0.0.0/29"]},
        }
        api.seed("IPAddressPool", "ipaddresspools", pool, group="metallb.io")
        writer = StatusWriter(client)
        usage = (
            PoolUsage("lan", "IPv4", 2, 6),
            PoolUsage("other", "IPv4", 1, 1),
            PoolUsage("lan", "IPv6", 1, 9),
        )
        assert await writer.set_pool_status("metallb-system", "lan", usage) == WriteOutcome.WRITTEN
        stored = api.store.get(KIND_BY_PATH[("metallb.io", "ipaddresspools")], "metallb-system", "lan")
        assert stored["status"] == {
            "assignedIPv4": 2,
            "assignedIPv6": 1,
            "availableIPv4": 6,
            "availableIPv6": 9,
        }
        assert stored["spec"] == {"addresses": ["10.0.0.0/29"]}
        assert await writer.set_pool_status("metallb-system", "lan", usage) == WriteOutcome.UNCHANGED


async def test_annotation_skipped_when_rbac_forbids_patching_services() -> None:
    async with serving() as (api, client):
        seed_web(api)
        api.failing[("PATCH", "/services/web")] = 403
        writer = StatusWriter(client)
        assert await writer.set_service_ips(WEB, (IP,), "lan") == WriteOutcome.WRITTEN
        assert stored_web(api)["status"]["loadBalancer"]["ingress"] == [{"ip": "10.0.0.7", "ipMode": "VIP"}]
        assert not writer.annotate_pool
        patches = len([m for m, _, _ in api.requests if m == "PATCH"])
        assert await writer.set_service_ips(WEB, (), None) == WriteOutcome.WRITTEN
        assert len([m for m, _, _ in api.requests if m == "PATCH"]) == patches  # not tried again


async def test_configuration_state_created_rejected_then_valid() -> None:
    async with serving() as (api, client):
        writer = StatusWriter(client)
        error = ConfigError(
            "BGPPeer", "metallb-system/router", "spec.holdTime", "hold time 2s must be 0 or 3..65535"
        )
        assert await writer.set_configuration_state(NS, None, [error], 1, now=100.0) == WriteOutcome.WRITTEN
        state = api.store.get(STATES, NS, "controller")
        assert state["spec"] == {"type": "Controller"}
        assert state["status"]["validConfig"] is False
        assert state["status"]["lastError"].startswith("configuration rejected; the last good configuration")
        assert state["status"]["errors"] == [
            {
                "kind": "BGPPeer",
                "name": "metallb-system/router",
                "field": "spec.holdTime",
                "reason": "hold time 2s must be 0 or 3..65535",
            }
        ]
        [condition] = state["status"]["conditions"]
        assert (condition["type"], condition["status"], condition["reason"]) == (
            "ConfigValid",
            "False",
            "Rejected",
        )
        assert await writer.set_configuration_state(NS, None, [error], 1, now=200.0) == WriteOutcome.UNCHANGED
        assert await writer.set_configuration_state(NS, None, [], 0, now=300.0) == WriteOutcome.WRITTEN
        status = api.store.get(STATES, NS, "controller")["status"]
        assert status["validConfig"] is True and status["errors"] == [] and status["lastError"] == ""
        assert status["lastValidTime"] == "1970-01-01T00:05:00Z"
        assert status["conditions"][0]["lastTransitionTime"] == "1970-01-01T00:05:00Z"
        await writer.set_configuration_state(NS, "node-1", [], 0, now=300.0)
        assert api.store.get(STATES, NS, "speaker-node-1")["spec"] == {
            "type": "Speaker",
            "nodeName": "node-1",
        }
        for name in ("controller", "speaker-node-1"):  # remembered for Events on them
            uid = api.store.get(STATES, NS, name)["metadata"]["uid"]
            assert writer.uids[("ConfigurationState", NS, name)] == uid


async def test_events_on_any_object_namespaced_or_cluster_scoped() -> None:
    async with serving() as (api, client):
        writer = StatusWriter(client)
        pool = ObjectRef("metallb.io/v1beta1", "IPAddressPool", NS, "lan", "uid-1")
        cilium = ObjectRef("cilium.io/v2alpha1", "CiliumLoadBalancerIPPool", "", "blue")
        assert await writer.emit(pool, EventReason.CONFIG_INVALID, "spec.addresses[0]: bad", now=0.0)
        assert await writer.emit(cilium, EventReason.CONFIG_LOADED, "fine", now=0.0)
        [on_pool] = api.objects("events", namespace=NS)
        assert on_pool["metadata"]["name"].startswith("lan.")
        assert on_pool["involvedObject"] == {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "IPAddressPool",
            "namespace": NS,
            "name": "lan",
            "uid": "uid-1",
        }
        assert (on_pool["reason"], on_pool["type"]) == ("ConfigInvalid", "Warning")
        [on_cilium] = api.objects("events", namespace="default")  # as client-go records cluster-scoped ones
        assert on_cilium["involvedObject"] == {
            "apiVersion": "cilium.io/v2alpha1",
            "kind": "CiliumLoadBalancerIPPool",
            "name": "blue",
        }
        assert (on_cilium["reason"], on_cilium["type"]) == ("ConfigLoaded", "Normal")
        web = ObjectRef.service(WEB, "uid-2")
        assert web.involved_object() == {
            "apiVersion": "v1",
            "kind": "Service",
            "namespace": "default",
            "name": "web",
            "uid": "uid-2",
        }
        assert (str(web), str(cilium)) == ("Service default/web", "CiliumLoadBalancerIPPool blue")


async def test_service_bgp_status_upsert_and_delete() -> None:
    async with serving() as (api, client):
        writer = StatusWriter(client, component="bgplb-speaker")
        outcome = await writer.set_service_bgp_status(NS, WEB, "node-1", ["router"], ["10.0.0.7/32"])
        assert outcome == WriteOutcome.WRITTEN
        [stored] = api.objects("servicebgpstatuses", group="bgplb.io", namespace=NS)
        assert stored["metadata"]["name"] == "default.web.node-1"
        assert stored["status"] == {
            "node": "node-1",
            "serviceName": "web",
            "serviceNamespace": "default",
            "peers": ["router"],
            "prefixes": ["10.0.0.7/32"],
        }
        assert await writer.set_service_bgp_status(NS, WEB, "node-1", ["router"], ["10.0.0.7/32"]) == (
            WriteOutcome.UNCHANGED
        )
        assert await writer.delete_service_bgp_status(NS, WEB, "node-1") == WriteOutcome.WRITTEN
        assert api.objects("servicebgpstatuses", group="bgplb.io") == []
        assert await writer.delete_service_bgp_status(NS, WEB, "node-1") == WriteOutcome.NOT_FOUND


async def test_service_bgp_status_believed_absent_is_created_without_a_get() -> None:
    async with serving() as (api, client):
        writer = StatusWriter(client, component="bgplb-speaker")
        api.requests.clear()
        assert await writer.set_service_bgp_status(
            NS, WEB, "node-1", ["router"], ["10.0.0.7/32"], absent=True
        ) == (WriteOutcome.WRITTEN)
        assert [method for method, _, _ in api.requests] == ["POST", "PUT"]  # create, then its status
        # wrongly believed absent (e.g. written by an earlier run): 409 AlreadyExists, then read and updated
        api.requests.clear()
        assert await writer.set_service_bgp_status(
            NS, WEB, "node-1", ["router"], ["10.0.0.8/32"], absent=True
        ) == (WriteOutcome.WRITTEN)
        assert [method for method, _, _ in api.requests] == ["POST", "GET", "PUT"]
        [stored] = api.objects("servicebgpstatuses", group="bgplb.io", namespace=NS)
        assert stored["status"]["prefixes"] == ["10.0.0.8/32"]
        assert writer.conflicts == 0  # an existing object is not a write conflict


def test_needs_update_compares_ingress_and_annotation() -> None:
    writer = StatusWriter(client=None)  # type: ignore[arg-type]  # a pure comparison: no request is made
    written = {
        "metadata": {"annotations": {POOL_ANNOTATION: "lan"}},
        "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.7", "ipMode": "VIP"}]}},
    }
    assert not writer.needs_update(written, (IP,), "lan")
    assert writer.needs_update(written, (IP,), "wan")
    assert writer.needs_update(written, (), None)
    assert writer.needs_update({}, (IP,), "lan")
    assert not writer.needs_update({}, (), None)
    writer.annotate_pool = False
    assert not writer.needs_update(written, (IP,), "wan")


async def test_ip_mode_dropped_by_an_old_api_server_is_no_longer_sent() -> None:
    async with serving() as (api, client):
        seed_web(api)
        api.strip_ip_mode = True
        writer = StatusWriter(client)
        assert await writer.set_service_ips(WEB, (IP,), "lan") == WriteOutcome.WRITTEN
        assert not writer.ip_mode
        assert not writer.needs_update(stored_web(api), (IP,), "lan")
        assert await writer.set_service_ips(WEB, (IP,), "lan") == WriteOutcome.UNCHANGED
