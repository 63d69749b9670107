"""The YAML directory source: kinds read into a Snapshot, rejection keeps the last good state, polling."""

from __future__ import annotations

import asyncio
import os
import re
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest

from bgplb.adapters import config_files, file_source
from bgplb.adapters.file_source import (
    HEALTH_SLICE,
    FileSource,
    fingerprint,
    load_directory,
    local_view,
    read_endpoint_slice,
    read_node,
)
from bgplb.adapters.health import CheckSpec
from bgplb.errors import ConfigError
from bgplb.planning.snapshot import Endpoint, EndpointSlice, Node, Service, ServiceRef, Snapshot

CONFIG = """
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: public, namespace: metallb-system}
spec: {addresses: [198.51.100.0/24]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l2, namespace: metallb-system}
spec: {ipAddressPools: [public]}
"""
CLUSTER = """
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels: {tier: edge}
  annotations: {bgplb.io/health-check: "http://127.0.0.1:8080/healthz"}
spec: {type: LoadBalancer, externalTrafficPolicy: Local, ports: [{port: 80}]}
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {rack: a}}
status:
  addresses: [{type: InternalIP, address: 10.0.0.11}, {type: Hostname, address: n1}]
  conditions: [{type: NetworkUnavailable, status: "False"}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
endpoints:
  - {addresses: [10.1.0.5], nodeName: n1}
  - {addresses: [10.1.0.6], nodeName: n2, conditions: {ready: false, serving: true, terminating: true}}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: web}}
"""
WEB = ServiceRef("shop", "web")


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text)


def test_every_kind_is_read(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", CONFIG)
    write(tmp_path, "cluster.yaml", CLUSTER)
    result = load_directory(tmp_path)
    assert result.errors == ()
    assert result.state is not None
    snap = result.state.snapshot
    (service,) = snap.services
    assert (service.ref, service.external_traffic_policy, dict(service.labels)) == (
        WEB,
        "Local",
        {"tier": "edge"},
    )
    (node,) = snap.nodes
    assert (node.name, node.addresses, node.network_unavailable) == ("n1", (ip_address("10.0.0.11"),), False)
    (eps,) = snap.endpoint_slices
    assert eps.service == WEB
    assert eps.endpoints == (
        Endpoint("n1", (ip_address("10.1.0.5"),), ready=True, serving=True),
        Endpoint("n2", (ip_address("10.1.0.6"),), ready=False, serving=True, terminating=True),
    )
    assert [(n.name, dict(n.labels)) for n in snap.namespaces] == [("shop", {"team": "web"})]
    (check,) = result.state.checks
    assert (check.service, check.probe, check.port, check.path) == (WEB, "http", 8080, "/healthz")
    assert [p.name for p in result.state.config.pools] == ["public"]


@pytest.mark.parametrize(
    ("text", "kind", "field"),
    [
        ("apiVersion: v1\nkind: Node\nmetadata: {}\n", "Node", "metadata.name"),
        (
            "apiVersion: v1\nkind: Node\nmetadata: {name: x}\n"
            "status: {addresses: [{type: InternalIP, address: nope}]}\n",
            "Node",
            "status.addresses[0]",
        ),
        (
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\nendpoints: []\n",
            "EndpointSlice",
            "metadata.labels[kubernetes.io/service-name]",
        ),
        (
            "apiVersion: bgplb.io/v1alpha1\nkind: HealthCheck\nmetadata: {name: h}\nspec: {service: web}\n",
            "HealthCheck",
            "spec",
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: s, annotations: {bgplb.io/health-check: 'ftp://x'}}\n",
            "Service",
            "metadata.annotations[bgplb.io/health-check]",
        ),
    ],
)
def test_bad_objects_are_errors_naming_kind_and_field(
    tmp_path: Path, text: str, kind: str, field: str
) -> None:
    write(tmp_path, "config.yaml", CONFIG)
    write(tmp_path, "bad.yaml", text)
    result = load_directory(tmp_path)
    assert result.state is None
    assert [(e.kind, e.field_path) for e in result.errors] == [(kind, field)]


def test_a_rejected_reading_keeps_the_last_good_state(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", CONFIG)
    write(tmp_path, "cluster.yaml", CLUSTER)
    source = FileSource(tmp_path)
    good = source.reload().state
    assert good is not None
    write(tmp_path, "broken.yaml", "kind: Service\nmetadata: {name: [\n")
    result = source.reload()
    assert result.state is None
    assert "broken.yaml" in result.errors[0].name
    assert source.current is good
    os.unlink(tmp_path / "broken.yaml")
    write(tmp_path, "more.yaml", CLUSTER.replace("name: web", "name: api").split("---")[0])
    assert source.reload().state is not None
    assert [s.ref.name for s in source.current.snapshot.services] == ["api", "web"]


def test_rejected_configuration_is_a_rejected_reading(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", CONFIG.replace("198.51.100.0/24", "not-a-range"))
    result = load_directory(tmp_path)
    assert result.state is None
    assert any(e.kind == "IPAddressPool" for e in result.errors)


def test_fingerprint_sees_edits_additions_and_removals(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", CONFIG)
    first = fingerprint(tmp_path)
    write(tmp_path, "a.yaml", CONFIG + "\n# edited, longer\n")
    second = fingerprint(tmp_path)
    write(tmp_path, "b.yml", CONFIG)
    third = fingerprint(tmp_path)
    os.unlink(tmp_path / "b.yml")
    assert len({first, second, third}) == 3
    assert fingerprint(tmp_path) == second
    write(tmp_path, "notes.txt", "ignored")
    assert fingerprint(tmp_path) == second


async def test_watch_reports_a_change_once_until_reloaded(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", CONFIG)
    source = FileSource(tmp_path, poll_interval=0.01)
    source.reload()
    calls: list[int] = []
    task = asyncio.create_task(source.watch(lambda: calls.append(1)))
    try:
        await asyncio.sleep(0.05)
        assert calls == []
        write(tmp_path, "b.yaml", CONFIG)
        async with asyncio.timeout(2):
            while not calls:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert calls == [1]
        source.reload()
        write(tmp_path, "b.yaml", CONFIG + "\n# again\n")
        async with asyncio.timeout(2):
            while len(calls) < 2:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()


def test_readers_follow_kubernetes_defaults() -> None:
    eps = read_endpoint_slice(
        {
            "metadata": {"name": "e", "labels": {"kubernetes.io/service-name": "web"}},
            "endpoints": [{"addresses": ["10.1.0.1"], "conditions": {"ready": False}}],
        }
    )
    assert eps.service == ServiceRef("default", "web")
    assert eps.endpoints[0] == Endpoint(None, (ip_address("10.1.0.1"),), ready=False, serving=False)
    node = read_node(
        {
            "metadata": {"name": "x"},
            "status": {"conditions": [{"type": "NetworkUnavailable", "status": "True"}]},
        }
    )
    assert node.network_unavailable
    with pytest.raises(ConfigError):
        read_node({"metadata": {}})


def check(ref: ServiceRef) -> CheckSpec:
    return CheckSpec(service=ref, probe="tcp", port=80)


def test_local_view_adds_the_host_and_its_endpoints() -> None:
    plain, checked, sliced = ServiceRef("d", "plain"), ServiceRef("d", "checked"), ServiceRef("d", "sliced")
    snap = Snapshot(
        services=(Service(plain), Service(checked), Service(sliced)),
        nodes=(Node("other"),),
        endpoint_slices=(
            EndpointSlice(checked, "c", (Endpoint("me"), Endpoint("other"))),
            EndpointSlice(sliced, "s", (Endpoint("other"),)),
        ),
    )
    view = local_view(snap, "me", (check(checked),), {checked: False})
    assert [n.name for n in view.nodes] == ["me", "other"]
    by_service: dict[ServiceRef, list[tuple[str, Endpoint]]] = {}
    for eps in view.endpoint_slices:
        by_service.setdefault(eps.service, []).extend((eps.name, e) for e in eps.endpoints)
    assert by_service[plain] == [(HEALTH_SLICE, Endpoint("me"))]
    assert by_service[checked] == [
        ("c", Endpoint("other")),
        (HEALTH_SLICE, Endpoint("me", ready=False, serving=False)),
    ]
    assert by_service[sliced] == [("s", Endpoint("other"))]
    healthy = local_view(snap, "me", (check(checked),), {checked: True})
    assert (HEALTH_SLICE, Endpoint("me")) in [
        (eps.name, e) for eps in healthy.endpoint_slices if eps.service == checked for e in eps.endpoints
    ]


def test_the_parse_cache_reparses_only_changed_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real = config_files.parse_documents

    def counting(text: str, source: str, errors: list[ConfigError]) -> Any:
        parsed.append(Path(source).name)
        return real(text, source, errors)

    monkeypatch.setattr(file_source, "parse_documents", counting)
    write(tmp_path, "config.yaml", CONFIG)
    write(tmp_path, "cluster.yaml", CLUSTER)
    source = FileSource(tmp_path)
    source.reload()
    assert sorted(parsed) == ["cluster.yaml", "config.yaml"]
    parsed.clear()
    write(tmp_path, "cluster.yaml", CLUSTER.replace("tier: edge", "tier: core"))
    state = source.reload().state
    assert parsed == ["cluster.yaml"]
    assert state is not None and dict(state.snapshot.services[0].labels) == {"tier": "core"}
    parsed.clear()
    source.forget()
    source.reload()
    assert sorted(parsed) == ["cluster.yaml", "config.yaml"]


def test_unchanged_files_keep_their_objects_and_configuration(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", CONFIG)
    write(tmp_path, "cluster.yaml", CLUSTER)
    write(
        tmp_path,
        "api.yaml",
        "kind: Service\napiVersion: v1\nmetadata: {name: api}\nspec: {type: LoadBalancer}\n",
    )
    source = FileSource(tmp_path)
    first = source.reload().state
    write(tmp_path, "api.yaml", "kind: Service\napiVersion: v1\nmetadata: {name: api, labels: {a: b}}\n")
    second = source.reload().state
    assert first is not None and second is not None
    web = ServiceRef("shop", "web")
    assert {s.ref: s for s in second.snapshot.services}[web] is {s.ref: s for s in first.snapshot.services}[
        web
    ]
    assert second.snapshot.nodes[0] is first.snapshot.nodes[0]
    assert second.config is first.config  # the configuration files did not change
    api = {s.ref: s for s in second.snapshot.services}[ServiceRef("default", "api")]
    assert dict(api.labels) == {"a": "b"}
    write(tmp_path, "config.yaml", CONFIG.replace("198.51.100.0/24", "203.0.113.0/24"))
    third = source.reload().state
    assert third is not None and third.config is not second.config
    assert third.config.pool_of(ip_address("203.0.113.9")) is not None


def test_a_cached_bad_object_stays_an_error(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", CONFIG)
    write(tmp_path, "node.yaml", "kind: Node\napiVersion: v1\nmetadata: {labels: {a: b}}\n")
    source = FileSource(tmp_path)
    for _ in range(2):  # the second reading comes from the cache
        result = source.reload()
        assert result.state is None
        assert [(e.kind, e.field_path) for e in result.errors] == [("Node", "metadata.name")]


def test_fingerprint_walks_subdirectories_like_rglob(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    write(tmp_path, "a.yaml", CONFIG)
    write(tmp_path / "sub" / "deeper", "b.json", "{}")
    write(tmp_path / "sub", ".hidden.yml", CONFIG)
    write(tmp_path / "sub", "c.txt", "ignored")
    expected = sorted(
        (str(p), p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_ino)
        for p in tmp_path.rglob("*")
        if p.suffix in config_files.SUFFIXES
    )
    assert list(fingerprint(tmp_path)) == expected
    assert len(expected) == 3


def test_the_examples_in_docs_no_kubernetes_load(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "no-kubernetes.md").read_text()
    blocks = re.findall(r"^```yaml\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert len(blocks) == 2
    for index, block in enumerate(blocks):
        write(tmp_path, f"example{index}.yaml", block)
    result = load_directory(tmp_path)
    assert result.errors == ()
    assert result.state is not None
    assert [(c.service.name, c.probe) for c in result.state.checks] == [("dns", "tcp"), ("web", "http")]
    assert result.warnings == ("health check for default/web: no such Service",)
