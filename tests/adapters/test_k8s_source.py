"""K8sSource against the API-server double over real HTTP: list+watch, bookmarks, drops, 410, the view."""

from __future__ import annotations

import base64
import functools
from ipaddress import ip_address
from typing import Any

from bgplb.adapters.k8s_source import K8sSource, SourceOptions, referenced_secrets
from bgplb.adapters.k8s_watch import Backoff, RestartReason
from bgplb.config.build import build_config
from bgplb.planning.snapshot import ServiceRef
from tests.k8s_double import ApiFailureError
from tests.k8s_double.helpers import background, eventually, serving
from tests.k8s_double.server import ApiServerDouble
from tests.k8s_double.store import KIND_BY_PATH

NS = "metallb-system"


def service(name: str, ns: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"type": "LoadBalancer", **spec},
    }


def pool(name: str, *addresses: str) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"addresses": list(addresses)},
    }


def fast_source(client: Any, **options: Any) -> K8sSource:
    return K8sSource(client, SourceOptions(**options), backoff=lambda: Backoff(base=0.02, cap=0.1))


def service_watches(api: ApiServerDouble) -> list[dict[str, str]]:
    return [q for _, p, q in api.requests if p == "/api/v1/services" and q.get("watch") == "true"]


def more_watches(api: ApiServerDouble, before: int) -> bool:
    return len(service_watches(api)) > before


def names(source: K8sSource) -> set[str]:
    return {s.ref.name for s in source.view().snapshot.services}


async def test_list_then_watch_sees_create_update_delete() -> None:
    async with serving() as (api, client):
        api.seed("Service", "services", service("before"))
        source = fast_source(client)
        async with background(source.run()):
            await source.wait_synced()
            assert names(source) == {"before"}
            source.dirty.clear()
            api.store.create(KIND_BY_PATH[("", "services")], "default", service("web"))
            await eventually(lambda: names(source) == {"before", "web"}, what="ADDED")
            assert source.dirty.is_set()
            api.store.patch(
                KIND_BY_PATH[("", "services")], "default", "web", {"spec": {"externalTrafficPolicy": "Local"}}
            )
            await eventually(
                lambda: any(s.external_traffic_policy == "Local" for s in source.view().snapshot.services),
                what="MODIFIED",
            )
            api.store.delete(KIND_BY_PATH[("", "services")], "default", "before")
            await eventually(lambda: names(source) == {"web"}, what="DELETED")
        watcher = source.watchers["Service"]
        assert watcher.stats.lists == 1
        assert watcher.stats.events == 3


async def test_bookmarks_are_requested_and_move_the_resource_version() -> None:
    async with serving(bookmark_interval=0.05) as (api, client):
        source = fast_source(client)
        async with background(source.run()):
            await source.wait_synced()
            watcher = source.watchers["Service"]
            listed = int(watcher.resource_version or 0)
            # writes to another collection move the cluster's resourceVersion; only a bookmark tells us
            api.store.create(KIND_BY_PATH[("", "configmaps")], "other", {"metadata": {"name": "x"}})
            await eventually(lambda: int(watcher.resource_version or 0) > listed, what="a bookmark")
            assert watcher.stats.bookmarks > 0
            assert watcher.stats.events == 0
        watches = [q for m, p, q in api.requests if q.get("watch") == "true" and p == "/api/v1/services"]
        assert watches and all(q.get("allowWatchBookmarks") == "true" for q in watches)


async def test_dropped_watch_resumes_from_last_version_with_nothing_missed() -> None:
    async with serving() as (api, client):
        source = fast_source(client)
        services = KIND_BY_PATH[("", "services")]
        async with background(source.run()):
            await source.wait_synced()
            expected: set[str] = set()
            for abort in (False, True):
                await eventually(lambda: api.watching("services") == 1, what="an open watch")
                reconnected = functools.partial(more_watches, api, len(service_watches(api)))
                api.drop_watches(abort=abort)
                await eventually(reconnected, what="the reconnect")
                api.store.create(services, "default", service(f"while-dropped-{abort}"))
                expected.add(f"while-dropped-{abort}")
                await eventually(lambda: names(source) == expected, what="the creation while dropped")
        watcher = source.watchers["Service"]
        assert watcher.stats.lists == 1  # resumed from resourceVersion, never relisted
        assert watcher.stats.restarts.get(RestartReason.ERROR, 0) >= 1  # the cut connection
        resumed = service_watches(api)
        assert len(resumed) >= 3
        assert all(q.get("resourceVersion") not in (None, "", "0") for q in resumed)


async def test_410_gone_relists_and_sees_deletions_made_while_away() -> None:
    async with serving() as (api, client):
        services = KIND_BY_PATH[("", "services")]
        api.seed("Service", "services", service("doomed"))
        api.seed("Service", "services", service("kept"))
        source = fast_source(client)
        async with background(source.run()):
            await source.wait_synced()
            assert names(source) == {"doomed", "kept"}
            api.refuse_watches = True
            api.drop_watches(abort=True)
            api.store.delete(services, "default", "doomed")
            api.store.create(services, "default", service("born"))
            api.store.patch(services, "default", "kept", {"metadata": {"labels": {"v": "2"}}})
            api.compact()
            api.refuse_watches = False
            await eventually(lambda: names(source) == {"kept", "born"}, what="the relist")
            kept = next(s for s in source.view().snapshot.services if s.ref.name == "kept")
            assert dict(kept.labels) == {"v": "2"}
        watcher = source.watchers["Service"]
        assert watcher.stats.restarts.get(RestartReason.GONE) == 1
        assert watcher.stats.lists == 2


async def test_stalled_watch_is_restarted() -> None:
    async with serving(bookmark_interval=10.0) as (api, client):
        source = fast_source(client, stall_timeout=0.2)
        async with background(source.run()):
            await source.wait_synced()
            watcher = source.watchers["Service"]
            await eventually(lambda: watcher.stats.restarts.get(RestartReason.STALLED, 0) >= 1, what="stall")
            api.store.create(KIND_BY_PATH[("", "services")], "default", service("after-stall"))
            await eventually(lambda: names(source) == {"after-stall"}, what="events after the restart")


def peer(name: str, secret: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"myASN": 64513, "peerASN": 64512, "peerAddress": "192.0.2.1"}
    if secret is not None:
        spec["passwordSecret"] = {"name": secret, "namespace": NS}
    return {
        "apiVersion": "metallb.io/v1beta2",
        "kind": "BGPPeer",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }


def secret(name: str, password: bytes) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": NS},
        "type": "kubernetes.io/basic-auth",
        "data": {"password": base64.b64encode(password).decode(), "other": "b3RoZXI="},
    }


async def test_secrets_are_watched_by_name_only_and_view_feeds_build_config() -> None:
    async with serving() as (api, client):
        api.seed("Secret", "secrets", secret("bgp-auth", b"s3cret"))
        api.seed("Secret", "secrets", secret("unreferenced", b"x"))
        api.seed("BGPPeer", "bgppeers", peer("router", "bgp-auth"), group="metallb.io")
        api.seed("IPAddressPool", "ipaddresspools", pool("lan", "10.0.0.0/29"), group="metallb.io")
        api.seed(
            "ConfigMap",
            "configmaps",
            {"metadata": {"name": "unrelated", "namespace": NS}, "data": {"a": "b"}},
        )
        source = fast_source(client)
        async with background(source.run()):
            await source.wait_synced()
            view = source.view()
            await eventually(lambda: api.watching("secrets") == 1, what="the Secret's watch")
            mirrored = source.secret_watchers[(NS, "bgp-auth")].objects
        assert source.password(NS, "bgp-auth") == "s3cret"
        assert source.password(NS, "unreferenced") is None
        # only the name and the password are kept, never the rest of the Secret
        assert mirrored == {
            (NS, "bgp-auth"): {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "bgp-auth", "namespace": NS},
                "password": "s3cret",
            }
        }
        secret_requests = [(m, p, q) for m, p, q in api.requests if "/secrets" in p]
        assert {(m, p) for m, p, _ in secret_requests} == {("GET", f"/api/v1/namespaces/{NS}/secrets")}
        assert all(q["fieldSelector"] == "metadata.name=bgp-auth" for _, _, q in secret_requests)
        assert [q.get("watch") for _, _, q in secret_requests[:2]] == [None, "true"]  # list, then watch
        secrets = [r for r in view.resources if r["kind"] == "Secret"]
        assert secrets == [
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bgp-auth", "namespace": NS}}
        ]
        assert not any(r["kind"] == "ConfigMap" for r in view.resources)  # only metallb-system/config
        built = build_config(view.resources)
        assert built.config is not None, built.errors
        assert [p.name for p in built.config.pools] == ["lan"]


async def test_new_peer_reaches_the_loop_with_its_secret_and_a_missing_one_is_reported() -> None:
    async with serving() as (api, client):
        api.seed("Secret", "secrets", secret("auth-b", b"pw-b"))
        peers = KIND_BY_PATH[("metallb.io", "bgppeers")]
        source = fast_source(client)
        async with background(source.run()):
            await source.wait_synced()
            source.dirty.clear()
            api.store.create(peers, NS, peer("b", "auth-b"))
            await eventually(source.dirty.is_set, what="the change")
            assert source.password(NS, "auth-b") == "pw-b"  # read before the loop was woken
            assert build_config(source.view().resources).config is not None
            source.dirty.clear()
            api.store.create(peers, NS, peer("c", "auth-missing"))
            await eventually(source.dirty.is_set, what="the second change")
            errors = build_config(source.view().resources).errors
            assert any("auth-missing" in str(e) for e in errors), errors


def test_referenced_secrets_metallb_and_cilium() -> None:
    cilium_peer_config = {
        "apiVersion": "cilium.io/v2alpha1",
        "kind": "CiliumBGPPeerConfig",
        "metadata": {"name": "pc"},
        "spec": {"authSecretRef": "cilium-auth"},
    }
    policy = {
        "apiVersion": "cilium.io/v2alpha1",
        "kind": "CiliumBGPPeeringPolicy",
        "metadata": {"name": "p"},
        "spec": {"virtualRouters": [{"neighbors": [{"authSecretRef": "n1"}, {"peerAddress": "x"}]}]},
    }
    default_ns = peer("d", None)
    default_ns["spec"]["passwordSecret"] = {"name": "own-namespace"}
    found = referenced_secrets([peer("a", "s1"), default_ns, cilium_peer_config, policy], "kube-system")
    assert found == {(NS, "s1"), (NS, "own-namespace"), ("kube-system", "cilium-auth"), ("kube-system", "n1")}


async def test_controller_mode_never_touches_nodes_endpointslices_or_unreferenced_secrets() -> None:
    async with serving() as (api, client):
        source = fast_source(client, nodes_and_endpoints=False)
        async with background(source.run()):
            await source.wait_synced()
        paths = {p for _, p, _ in api.requests}
        assert not any(p.endswith(("/nodes", "/endpointslices", "/secrets")) for p in paths), paths
        assert "/api/v1/services" in paths


async def test_view_snapshot_reads_nodes_slices_namespaces_and_reports_bad_objects() -> None:
    async with serving() as (api, client):
        api.seed("Namespace", "namespaces", {"metadata": {"name": "default", "labels": {"team": "a"}}})
        node = {
            "metadata": {"name": "n1", "labels": {"zone": "x"}},
            "status": {
                "addresses": [{"type": "InternalIP", "address": "192.0.2.11"}],
                "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "t1"}],
            },
        }
        api.seed("Node", "nodes", node)
        api.seed(
            "Service",
            "services",
            {**service("web"), "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}},
        )
        good = {
            "metadata": {
                "name": "web-abc",
                "namespace": "default",
                "labels": {"kubernetes.io/service-name": "web"},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.5"], "nodeName": "n1", "conditions": {"ready": True}}],
        }
        bad = {"metadata": {"name": "orphan", "namespace": "default"}, "addressType": "IPv4", "endpoints": []}
        api.seed("EndpointSlice", "endpointslices", good, group="discovery.k8s.io")
        api.seed("EndpointSlice", "endpointslices", bad, group="discovery.k8s.io")
        source = fast_source(client)
        async with background(source.run()):
            await source.wait_synced()
            snapshot = source.view().snapshot
            assert [n.name for n in snapshot.nodes] == ["n1"]
            assert snapshot.nodes[0].addresses == (ip_address("192.0.2.11"),)
            assert snapshot.services[0].current_ips == (ip_address("10.0.0.1"),)
            assert [(s.service, s.name) for s in snapshot.endpoint_slices] == [
                (ServiceRef("default", "web"), "web-abc")
            ]
            assert dict(snapshot.namespaces[0].labels) == {"team": "a"}
            assert any("default/orphan" in w for w in source.view().warnings)
            # a kubelet heartbeat changes nothing planning reads: the loop is not woken
            source.dirty.clear()
            nodes = KIND_BY_PATH[("", "nodes")]
            beat = {
                "status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "t2"}]}
            }
            api.store.patch(nodes, "", "n1", beat, subresource="status")
            await eventually(lambda: source.watchers["Node"].stats.events == 1, what="the heartbeat event")
            assert not source.dirty.is_set()


async def test_optional_kind_not_served_counts_as_empty_and_synced() -> None:
    async with serving() as (api, client):

        def not_installed(_store: Any) -> None:
            raise ApiFailureError(404, "NotFound", "the server could not find the requested resource")

        api.on_next("GET", "/apis/cilium.io/v2alpha1/ciliumbgppeeringpolicies", not_installed)
        source = fast_source(client, cilium=True)
        async with background(source.run()):
            await source.wait_synced()
            assert source.synced
            watcher = source.watchers["CiliumBGPPeeringPolicy"]
            assert watcher.stats.restarts.get(RestartReason.NOT_SERVED) == 1
            assert source.watchers["CiliumLoadBalancerIPPool"].stats.lists == 1


async def test_resync_marks_dirty_without_changes() -> None:
    async with serving() as (_api, client):
        source = fast_source(client, resync=0.1)
        async with background(source.run()):
            await source.wait_synced()
            source.dirty.clear()
            await eventually(source.dirty.is_set, timeout=2.0, what="the resync")


async def test_crd_removed_while_watching_empties_the_collection() -> None:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool("lan", "10.0.0.0/29"), group="metallb.io")
        source = fast_source(client)
        async with background(source.run()):
            await source.wait_synced()
            assert [r["kind"] for r in source.view().resources] == ["IPAddressPool"]
            api.failing[("GET", "/ipaddresspools")] = 404  # the CRD is deleted
            api.drop_watches(abort=True)
            await eventually(lambda: not source.view().resources, what="the pools to go")
            watcher = source.watchers["IPAddressPool"]
            assert watcher.stats.restarts.get(RestartReason.NOT_SERVED, 0) >= 1
            del api.failing[("GET", "/ipaddresspools")]  # installed again
            await eventually(lambda: bool(source.view().resources), timeout=3.0, what="the pools to return")
