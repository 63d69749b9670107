"""The Kubernetes controller against the API-server double: allocation written back, restarts, leadership."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from lightkube import AsyncClient

from bgplb.adapters.k8s_status import OLD_POOL_ANNOTATION, POOL_ANNOTATION
from bgplb.runtime.k8s_controller import ControllerOptions, K8sController
from tests.k8s_double.helpers import eventually, serving
from tests.k8s_double.server import ApiServerDouble
from tests.k8s_double.store import KIND_BY_PATH

NS = "metallb-system"
SERVICES = KIND_BY_PATH[("", "services")]
POOLS = KIND_BY_PATH[("metallb.io", "ipaddresspools")]
STATES = KIND_BY_PATH[("bgplb.io", "configurationstates")]


def pool(*addresses: str) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": "lan", "namespace": NS},
        "spec": {"addresses": list(addresses)},
    }


def service(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {"type": "LoadBalancer"}}


def ingress(api: ApiServerDouble, name: str) -> list[str]:
    obj = api.store.get(SERVICES, "default", name)
    return [i["ip"] for i in ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]


def events(api: ApiServerDouble, reason: str) -> list[dict[str, Any]]:
    return [e for e in api.objects("events") if e["reason"] == reason]


@contextlib.asynccontextmanager
async def controller(client: AsyncClient, identity: str) -> AsyncIterator[K8sController]:
    options = ControllerOptions(
        identity=identity,
        http_port=None,
        lease_duration=0.5,
        renew_deadline=0.3,
        retry_period=0.05,
        resync=5.0,
    )
    daemon = K8sController(client, options)
    task = asyncio.create_task(daemon.run(signals=False), name=f"controller-{identity}")
    try:
        yield daemon
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(task, 5) == 0


async def settled(daemon: K8sController) -> None:
    await eventually(lambda: daemon.is_leader and daemon.allocation is not None, what="a leader's first pass")
    daemon.loop.mark_dirty()
    await asyncio.wait_for(daemon.loop.wait_idle(), 5)
    assert await daemon.events.drain(5)  # the Events of the pass are recorded too


async def test_service_gets_ip_event_annotation_and_pool_counters() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.20"), group="metallb.io")
        async with controller(client, "c1") as daemon:
            await settled(daemon)
            api.store.create(SERVICES, "default", service("web"))
            await eventually(lambda: ingress(api, "web") == ["10.0.0.10"], what="the status IP")
            await eventually(lambda: len(events(api, "IPAllocated")) == 1, what="the IPAllocated Event")
            assert events(api, "IPAllocated")[0]["message"] == 'Assigned IP ["10.0.0.10"]'
            web = api.store.get(SERVICES, "default", "web")
            assert web["metadata"]["annotations"][POOL_ANNOTATION] == "lan"
            await eventually(
                lambda: (api.store.get(POOLS, NS, "lan").get("status") or {}).get("assignedIPv4") == 1,
                what="the pool counters",
            )
            assert api.store.get(STATES, NS, "controller")["status"]["validConfig"] is True


async def test_restarted_controller_changes_nothing() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.20"), group="metallb.io")
        for name in ("a", "b", "c"):
            api.store.create(SERVICES, "default", service(name))
        async with controller(client, "first") as daemon:
            await settled(daemon)
            await eventually(lambda: all(ingress(api, n) for n in "abc"), what="three addresses")
        before = {n: ingress(api, n) for n in "abc"}
        api.store.delete(SERVICES, "default", "a")  # frees 10.0.0.10 while no controller runs
        mark = len(api.requests)
        async with controller(client, "second") as daemon:
            await settled(daemon)
        after = {n: ingress(api, n) for n in "bc"}
        assert after == {n: before[n] for n in "bc"}
        touched = [
            (m, p) for m, p, _ in api.requests[mark:] if m != "GET" and ("/services" in p or "/events" in p)
        ]
        assert touched == [], touched  # no status, annotation or Event write; only the pool counters moved
        assert (api.store.get(POOLS, NS, "lan").get("status") or {}).get("assignedIPv4") == 2


async def test_two_controllers_only_the_leader_writes() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.20"), group="metallb.io")
        async with controller(client, "one") as one, controller(client, "two") as two:
            await eventually(lambda: one.is_leader or two.is_leader, what="a leader")
            leader = "one" if one.is_leader else "two"
            for name in ("x", "y"):
                api.store.create(SERVICES, "default", service(name))
            await eventually(lambda: len(events(api, "IPAllocated")) == 2, what="two allocations")
            assert {e["source"]["host"] for e in events(api, "IPAllocated")} == {leader}
            assert sorted(ingress(api, "x") + ingress(api, "y")) == ["10.0.0.10", "10.0.0.11"]
            assert one.is_leader != two.is_leader


async def test_invalid_config_keeps_the_last_good_one_and_reports_the_error() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.20"), group="metallb.io")
        async with controller(client, "c1") as daemon:
            await settled(daemon)
            api.store.patch(POOLS, NS, "lan", {"spec": {"addresses": ["10.0.0.10-10.0.0.20", "not-an-ip"]}})

            def rejected() -> bool:
                status = api.store.get(STATES, NS, "controller").get("status") or {}
                return status.get("validConfig") is False

            await eventually(rejected, what="the rejection in the ConfigurationState")
            [error] = api.store.get(STATES, NS, "controller")["status"]["errors"]
            assert (error["kind"], error["name"], error["field"]) == (
                "IPAddressPool",
                "metallb-system/lan",
                "spec.addresses[1]",
            )
            api.store.create(SERVICES, "default", service("late"))
            await eventually(
                lambda: ingress(api, "late") == ["10.0.0.10"], what="allocation by the old config"
            )
            assert b"bgplb_k8s_client_config_stale_bool 1.0" in daemon.metrics.render()


async def test_pool_change_clears_once_and_reassigns() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.20"), group="metallb.io")
        api.store.create(SERVICES, "default", service("web"))
        async with controller(client, "c1") as daemon:
            await settled(daemon)
            await eventually(lambda: ingress(api, "web") == ["10.0.0.10"], what="the first address")
            api.store.patch(POOLS, NS, "lan", {"spec": {"addresses": ["10.0.1.0-10.0.1.5"]}})
            await eventually(lambda: ingress(api, "web") == ["10.0.1.0"], what="the new address")
            await settled(daemon)
            [cleared] = events(api, "ClearAssignment")
            assert cleared["message"].startswith('current IP ["10.0.0.10"] not allowed by config')
            assert [e["message"] for e in events(api, "IPAllocated")] == [
                'Assigned IP ["10.0.0.10"]',
                'Assigned IP ["10.0.1.0"]',
            ]


async def test_new_services_are_written_from_the_watch_cache_once_each() -> None:
    """No GET before a write (the mirrored object is fresh), one status PUT per Service, every Event."""
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.40"), group="metallb.io")
        async with controller(client, "c1") as daemon:
            await settled(daemon)
            mark = len(api.requests)
            names = [f"s{i}" for i in range(20)]
            for name in names:
                api.store.create(SERVICES, "default", service(name))
            await eventually(lambda: all(ingress(api, n) for n in names), what="20 addresses")
            await settled(daemon)
            requests = [(m, p) for m, p, _ in api.requests[mark:] if "/namespaces/default/services/" in p]
            assert [p for m, p in requests if m == "GET"] == []
            assert sorted(p for m, p in requests if m == "PUT") == sorted(
                f"/api/v1/namespaces/default/services/{n}/status" for n in names
            )
            assert len([m for m, _ in requests if m == "PATCH"]) == len(names)  # the pool annotations
            assert len(events(api, "IPAllocated")) == len(names)
            assert daemon.writer.conflicts == 0


async def test_a_stale_cached_service_costs_a_conflict_and_a_reread_never_an_overwrite() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.20"), group="metallb.io")
        async with controller(client, "c1") as daemon:
            await settled(daemon)
            # someone labels the Service just before our status write: our cached copy is stale
            api.on_next(
                "PUT",
                "/services/web/status",
                lambda store: store.patch(SERVICES, "default", "web", {"metadata": {"labels": {"a": "b"}}}),
            )
            api.store.create(SERVICES, "default", service("web"))
            await eventually(lambda: ingress(api, "web") == ["10.0.0.10"], what="the status IP")
            await settled(daemon)
            assert daemon.writer.conflicts == 1
            web = api.store.get(SERVICES, "default", "web")
            assert web["metadata"]["labels"] == {"a": "b"}
            assert web["metadata"]["annotations"][POOL_ANNOTATION] == "lan"
            assert len(events(api, "IPAllocated")) == 1


async def test_deprecated_annotations_are_reported_once_each() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.20"), group="metallb.io")
        async with controller(client, "c1") as daemon:
            await settled(daemon)
            old = service("web")
            old["metadata"]["annotations"] = {
                "metallb.universe.tf/address-pool": "lan",
                "metallb.universe.tf/allow-shared-ip": "k",
                "metallb.io/loadBalancerIPs": "10.0.0.12",
            }
            api.store.create(SERVICES, "default", old)
            await eventually(lambda: ingress(api, "web") == ["10.0.0.12"], what="the requested IP")
            await eventually(lambda: len(events(api, "deprecatedAnnotation")) == 2, what="two notices")
            for _ in range(3):  # more passes, and a change of the Service, report nothing again
                await settled(daemon)
            api.store.patch(SERVICES, "default", "web", {"metadata": {"labels": {"a": "b"}}})
            await settled(daemon)
            notices = events(api, "deprecatedAnnotation")
            assert sorted((e["type"], e["message"]) for e in notices) == [
                ("Warning", "Service uses deprecated annotation metallb.universe.tf/address-pool"),
                ("Warning", "Service uses deprecated annotation metallb.universe.tf/allow-shared-ip"),
            ]
            assert {e["involvedObject"]["name"] for e in notices} == {"web"}
            patch = {"metadata": {"annotations": {"metallb.universe.tf/loadBalancerIPs": "10.0.0.12"}}}
            api.store.patch(SERVICES, "default", "web", patch)
            await eventually(lambda: len(events(api, "deprecatedAnnotation")) == 3, what="the new key")
            await settled(daemon)
            assert events(api, "deprecatedAnnotation")[-1]["message"].endswith(
                "metallb.universe.tf/loadBalancerIPs"
            )
            assert len(events(api, "deprecatedAnnotation")) == 3


async def test_metallb_s_old_pool_annotation_is_replaced_not_reported() -> None:
    """A Service migrated from MetalLB < 0.14 carries `metallb.universe.tf/ip-allocated-from-pool`: it is
    MetalLB's own record, not a request, so it is removed when bgplb writes `metallb.io/...`, without a
    deprecatedAnnotation notice."""
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.20"), group="metallb.io")
        migrated = service("web")
        migrated["metadata"]["annotations"] = {OLD_POOL_ANNOTATION: "lan"}
        migrated["status"] = {"loadBalancer": {"ingress": [{"ip": "10.0.0.15", "ipMode": "VIP"}]}}
        api.seed("Service", "services", migrated)
        async with controller(client, "c1") as daemon:
            await eventually(
                lambda: (
                    OLD_POOL_ANNOTATION
                    not in api.store.get(SERVICES, "default", "web")["metadata"]["annotations"]
                ),
                what="the old annotation removed",
            )
            await settled(daemon)
            web = api.store.get(SERVICES, "default", "web")
            assert web["metadata"]["annotations"] == {POOL_ANNOTATION: "lan"}
            assert ingress(api, "web") == ["10.0.0.15"]  # the address it had under MetalLB stays
            assert events(api, "deprecatedAnnotation") == []


async def test_unreadable_request_is_load_balancer_failed_when_addressed_else_allocation_failed() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.20"), group="metallb.io")
        async with controller(client, "c1") as daemon:
            await settled(daemon)
            api.store.create(SERVICES, "default", service("web"))
            await eventually(lambda: ingress(api, "web") == ["10.0.0.10"], what="the first address")
            api.store.patch(SERVICES, "default", "web", {"spec": {"loadBalancerIP": "not-an-ip"}})
            await eventually(lambda: len(events(api, "LoadBalancerFailed")) == 1, what="LoadBalancerFailed")
            for _ in range(3):
                await settled(daemon)
            [failed] = events(api, "LoadBalancerFailed")
            assert failed["type"] == "Warning"
            assert failed["message"].startswith("invalid requested loadbalancer IPs: spec.loadBalancerIP: ")
            assert "not-an-ip" in failed["message"]
            assert ingress(api, "web") == ["10.0.0.10"]  # as in MetalLB, the Service keeps its address
            assert events(api, "AllocationFailed") == []
            api.store.patch(SERVICES, "default", "web", {"spec": {"loadBalancerIP": "also-bad"}})
            await eventually(lambda: len(events(api, "LoadBalancerFailed")) == 2, what="the changed problem")
            bad = service("new")
            bad["spec"]["loadBalancerIP"] = "not-an-ip"
            api.store.create(SERVICES, "default", bad)  # no address yet: MetalLB's AllocationFailed
            await eventually(lambda: len(events(api, "AllocationFailed")) == 1, what="AllocationFailed")
            await settled(daemon)
            assert ingress(api, "new") == []
            assert len(events(api, "LoadBalancerFailed")) == 2


# -- Services that stop being ours -------------------------------------------------------------------------
def shown(api: ApiServerDouble) -> list[dict[str, list[str]]]:
    """Every Service's ingress addresses after each recorded Service write, in order (the store's history)."""
    current: dict[str, list[str]] = {}
    states = []
    for change in api.store.history:
        if change.kind != SERVICES:
            continue
        name = change.obj["metadata"]["name"]
        lb = (change.obj.get("status") or {}).get("loadBalancer") or {}
        current[name] = [] if change.type == "DELETED" else [i["ip"] for i in lb.get("ingress") or []]
        states.append(dict(current))
    return states


def assert_never_shown_twice(api: ApiServerDouble) -> None:
    for state in shown(api):
        ips = [ip for addresses in state.values() for ip in addresses]
        assert len(ips) == len(set(ips)), state


def annotations(api: ApiServerDouble, name: str) -> dict[str, str]:
    return api.store.get(SERVICES, "default", name)["metadata"].get("annotations") or {}


def seeded(name: str, ips: list[str], *, type_: str = "LoadBalancer", **spec: Any) -> dict[str, Any]:
    """A Service as some earlier controller left it: status addresses (and spec fields) already set."""
    obj = service(name)
    obj["spec"] = {"type": type_, **spec}
    obj["status"] = {"loadBalancer": {"ingress": [{"ip": ip} for ip in ips]}}
    return obj


async def test_a_service_leaving_load_balancer_is_cleared_once_and_its_address_freed() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.20"), group="metallb.io")
        async with controller(client, "c1") as daemon:
            await settled(daemon)
            api.store.create(SERVICES, "default", service("web"))
            await eventually(lambda: ingress(api, "web") == ["10.0.0.10"], what="the first address")
            api.store.patch(SERVICES, "default", "web", {"spec": {"type": "ClusterIP"}})
            await eventually(
                lambda: ingress(api, "web") == [] and POOL_ANNOTATION not in annotations(api, "web"),
                what="the cleared status and annotation",
            )
            for _ in range(3):
                await settled(daemon)
            [cleared] = events(api, "ClearAssignment")
            assert cleared["type"] == "Normal"
            assert cleared["message"] == (
                'current IP ["10.0.0.10"] not allowed by config, clearing: '
                "default/web: the Service is of type ClusterIP, no longer LoadBalancer"
            )
            uid = api.store.get(SERVICES, "default", "web")["metadata"]["uid"]
            assert cleared["involvedObject"]["uid"] == uid  # so that `kubectl describe` lists it
            api.store.create(SERVICES, "default", service("next"))
            await eventually(lambda: ingress(api, "next") == ["10.0.0.10"], what="the freed address reused")
            assert_never_shown_twice(api)


async def test_an_address_still_shown_by_a_leaving_service_goes_to_nobody_else() -> None:
    """In the first pass `web` (now ClusterIP) still shows .10 while `asks` requests it: `asks` waits until
    the cleared status is observed (the slow clear makes a same-pass write visible in the history)."""
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.12"), group="metallb.io")
        web = seeded("web", ["10.0.0.10"], type_="ClusterIP")
        web["metadata"]["annotations"] = {POOL_ANNOTATION: "lan"}
        api.seed("Service", "services", web)
        api.seed("Service", "services", seeded("asks", [], loadBalancerIP="10.0.0.10"))
        api.seed("Service", "services", seeded("auto", []))
        api.delays[("PUT", "/services/web/status")] = 0.3
        async with controller(client, "c1") as daemon:
            await eventually(lambda: ingress(api, "asks") == ["10.0.0.10"], what="the requested address")
            await settled(daemon)
            assert ingress(api, "web") == [] and annotations(api, "web") == {}
            assert ingress(api, "auto") == ["10.0.0.11"]
            assert_never_shown_twice(api)
            assert len(events(api, "ClearAssignment")) == 1
            puts = [p.split("/")[-2] for m, p, _ in api.requests if m == "PUT" and p.endswith("/status")]
            assert puts.index("auto") < puts.index("web") < puts.index("asks")  # auto did not wait


async def test_only_services_whose_ingress_we_could_have_written_are_cleared() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.20"), group="metallb.io")
        other = {"loadBalancerClass": "example.com/other"}
        theirs = seeded("theirs", ["192.168.7.7"], **other)  # another implementation's, outside our pools
        theirs["metadata"]["annotations"] = {POOL_ANNOTATION: "their-pool"}  # another MetalLB writes it too
        api.seed("Service", "services", theirs)
        api.seed("Service", "services", seeded("plain", ["192.168.7.8"], type_="ClusterIP"))
        moved = seeded("moved", ["10.0.0.15"], **other)  # another class, but showing our address
        moved["metadata"]["annotations"] = {POOL_ANNOTATION: "lan", "keep": "me"}
        api.seed("Service", "services", moved)
        stale = seeded("stale", [], type_="NodePort")  # nothing to clear but our annotation
        stale["metadata"]["annotations"] = {POOL_ANNOTATION: "lan"}
        api.seed("Service", "services", stale)
        async with controller(client, "c1") as daemon:
            await settled(daemon)
            await eventually(lambda: ingress(api, "moved") == [], what="the class change cleared")
            await eventually(lambda: annotations(api, "stale") == {}, what="the annotation removed")
            await settled(daemon)
        assert annotations(api, "moved") == {"keep": "me"}
        [cleared] = events(api, "ClearAssignment")
        assert cleared["involvedObject"]["name"] == "moved"
        assert "loadBalancerClass example.com/other is not handled here" in cleared["message"]
        untouched = [(m, p) for m, p, _ in api.requests if m != "GET" and ("/theirs" in p or "/plain" in p)]
        assert untouched == []
        assert ingress(api, "theirs") == ["192.168.7.7"] and ingress(api, "plain") == ["192.168.7.8"]
        assert annotations(api, "theirs") == {POOL_ANNOTATION: "their-pool"}


async def test_addresses_another_implementation_writes_back_are_left_alone_and_not_reused() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.11"), group="metallb.io")
        theirs = seeded("theirs", ["10.0.0.10"], loadBalancerClass="example.com/other")
        api.seed("Service", "services", theirs)
        async with controller(client, "c1") as daemon:
            await eventually(lambda: ingress(api, "theirs") == [], what="the first clear")
            await settled(daemon)
            back = {"status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.10"}]}}}
            api.store.patch(SERVICES, "default", "theirs", back, subresource="status")
            mark = len(api.requests)
            for _ in range(3):
                await settled(daemon)
            assert ingress(api, "theirs") == ["10.0.0.10"]
            assert [p for m, p, _ in api.requests[mark:] if m != "GET" and "/theirs" in p] == []
            assert len(events(api, "ClearAssignment")) == 1
            api.store.create(SERVICES, "default", service("mine"))
            await eventually(lambda: ingress(api, "mine") == ["10.0.0.11"], what="a free address")


# -- configuration errors as Events ------------------------------------------------------------------------
def config_events(api: ApiServerDouble, reason: str) -> list[dict[str, Any]]:
    return sorted(events(api, reason), key=lambda e: e["involvedObject"]["kind"])


async def one_pass(daemon: K8sController) -> None:
    """A pass of any replica (leader or not) has run to its end."""
    await eventually(lambda: daemon.source.synced, what="the caches")
    daemon.loop.mark_dirty()
    await asyncio.wait_for(daemon.loop.wait_idle(), 5)
    assert await daemon.events.drain(5)


async def test_an_invalid_pool_is_reported_on_the_pool_once_and_its_fix_once() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.20"), group="metallb.io")
        async with controller(client, "c1") as daemon:
            await settled(daemon)
            assert events(api, "ConfigInvalid") == [] and events(api, "ConfigLoaded") == []
            api.store.patch(POOLS, NS, "lan", {"spec": {"addresses": ["10.0.0.10-10.0.0.20", "not-an-ip"]}})
            await eventually(lambda: len(events(api, "ConfigInvalid")) == 2, what="two ConfigInvalid Events")
            for _ in range(3):  # more passes, and an unrelated change, record nothing again
                await settled(daemon)
            api.store.create(SERVICES, "default", service("web"))
            await eventually(
                lambda: ingress(api, "web") == ["10.0.0.10"], what="allocation by the old config"
            )
            await settled(daemon)
            on_state, on_pool = config_events(api, "ConfigInvalid")
            assert on_pool["type"] == on_state["type"] == "Warning"
            assert on_pool["involvedObject"] == {
                "apiVersion": "metallb.io/v1beta1",
                "kind": "IPAddressPool",
                "namespace": NS,
                "name": "lan",
                "uid": api.store.get(POOLS, NS, "lan")["metadata"]["uid"],
            }
            assert on_pool["metadata"]["namespace"] == NS
            assert on_pool["message"].startswith("spec.addresses[1]: invalid address range 'not-an-ip'")
            assert on_pool["message"].endswith("the last good configuration stays in force")
            state = api.store.get(STATES, NS, "controller")
            assert on_state["involvedObject"] == {
                "apiVersion": "bgplb.io/v1alpha1",
                "kind": "ConfigurationState",
                "namespace": NS,
                "name": "controller",
                "uid": state["metadata"]["uid"],
            }
            assert (
                "(1 error): IPAddressPool metallb-system/lan field spec.addresses[1]:" in on_state["message"]
            )
            api.store.patch(POOLS, NS, "lan", {"spec": {"addresses": ["10.0.0.10-10.0.0.20"]}})
            await eventually(lambda: len(events(api, "ConfigLoaded")) == 1, what="ConfigLoaded")
            for _ in range(3):
                await settled(daemon)
            [loaded] = events(api, "ConfigLoaded")
            assert loaded["type"] == "Normal"
            assert loaded["involvedObject"]["kind"] == "ConfigurationState"
            assert len(events(api, "ConfigInvalid")) == 2


async def test_a_changed_error_set_is_reported_again() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.20", "bad-1"), group="metallb.io")
        async with controller(client, "c1") as daemon:
            await eventually(lambda: len(events(api, "ConfigInvalid")) == 2, what="the first error set")
            assert "no configuration is in force yet" in events(api, "ConfigInvalid")[0]["message"]
            api.store.patch(POOLS, NS, "lan", {"spec": {"addresses": ["bad-2", "bad-3"]}})
            await eventually(lambda: len(events(api, "ConfigInvalid")) == 5, what="the second error set")
            await one_pass(daemon)
            assert len(events(api, "ConfigInvalid")) == 5
            assert events(api, "ConfigLoaded") == []


async def test_only_the_leader_records_configuration_events() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("not-an-ip"), group="metallb.io")
        async with controller(client, "one") as one, controller(client, "two") as two:
            await eventually(lambda: one.is_leader or two.is_leader, what="a leader")
            leader, follower = (one, two) if one.is_leader else (two, one)
            await eventually(lambda: len(events(api, "ConfigInvalid")) == 2, what="the leader's Events")
            for _ in range(3):
                await one_pass(follower)
                await one_pass(leader)
            assert b"bgplb_config_errors 1.0" in follower.metrics.render()  # the follower saw the error
            assert {e["source"]["host"] for e in events(api, "ConfigInvalid")} == {leader.options.identity}
            assert len(events(api, "ConfigInvalid")) == 2


async def test_an_unchanged_configuration_state_costs_no_request_per_pass() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("10.0.0.10-10.0.0.20"), group="metallb.io")
        async with controller(client, "c1") as daemon:
            await settled(daemon)
            assert api.store.get(STATES, NS, "controller")["status"]["validConfig"] is True
            api.requests.clear()
            for _ in range(3):
                await settled(daemon)
            assert [path for _, path, _ in api.requests if "configurationstates" in path] == []
            api.store.update(POOLS, NS, "lan", pool("10.0.0.10-10.0.0.20", "not-an-address"))
            await eventually(
                lambda: api.store.get(STATES, NS, "controller")["status"]["validConfig"] is False,
                what="the rejection written",
            )
