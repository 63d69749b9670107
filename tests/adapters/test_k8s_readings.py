"""The per-object-version reading cache: a cached view equals a fresh reading after any sequence of events."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bgplb.adapters.k8s_readings import Reading, ReadingCache, SnapshotReader, service_reading
from bgplb.adapters.k8s_source import K8sSource, SourceOptions, watched_kinds
from bgplb.adapters.k8s_watch import KindWatcher, Obj

NAMES = ("a", "b", "c", "d")
NAMESPACES = ("default", "team")


def service(namespace: str, name: str, variant: int) -> Obj:
    spec: dict[str, Any] = {"type": "LoadBalancer", "ports": [{"port": 80 + variant, "protocol": "TCP"}]}
    if variant % 3 == 1:
        spec["externalTrafficPolicy"] = "Local"
    if variant % 4 == 2:
        spec["ipFamilyPolicy"] = "Bogus"  # a warning
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {"v": str(variant)}}
    if variant % 5 == 3:
        meta["annotations"] = {"metallb.io/loadBalancerIPs": "not-an-ip"}  # an invalid request
    return {
        "metadata": meta,
        "spec": spec,
        "status": {"loadBalancer": {"ingress": [{"ip": f"10.0.0.{variant}"}]}},
    }


def endpoint_slice(namespace: str, name: str, variant: int) -> Obj:
    labels = {} if variant % 4 == 3 else {"kubernetes.io/service-name": name[:1]}  # unreadable without it
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": [f"10.244.0.{variant}"],
                "nodeName": "n1",
                "conditions": {"ready": variant % 2 == 0},
            }
        ],
    }


def node(_namespace: str, name: str, variant: int) -> Obj:
    address = "bogus" if variant % 5 == 4 else f"192.0.2.{variant + 1}"  # unreadable with a bad address
    return {
        "metadata": {"name": name, "labels": {"zone": str(variant % 2)}},
        "status": {"addresses": [{"type": "InternalIP", "address": address}], "conditions": []},
    }


def namespace(_namespace: str, name: str, variant: int) -> Obj:
    return {"metadata": {"name": name, "labels": {"v": str(variant)}}}


MAKERS = {"Service": service, "EndpointSlice": endpoint_slice, "Node": node, "Namespace": namespace}
KIND = st.sampled_from(sorted(MAKERS))
EVENT = st.one_of(
    st.tuples(
        st.sampled_from(("ADDED", "MODIFIED", "DELETED")),
        KIND,
        st.sampled_from(NAMESPACES),
        st.sampled_from(NAMES),
        st.integers(0, 9),
    ),
    st.tuples(st.just("RELIST"), KIND, st.just(""), st.just(""), st.just(0)),
)


def source() -> K8sSource:
    return K8sSource(None, SourceOptions())  # type: ignore[arg-type]  # never run: its watchers are fed here


def apply(watcher: KindWatcher, event: tuple[str, str, str, str, int], version: int) -> None:
    """What the watcher does with a watch event (or a relist: new dicts, same versions)."""
    kind, (etype, _, ns, name, variant) = watcher.kind.kind, event
    if etype == "RELIST":
        watcher.objects = {key: copy.deepcopy(obj) for key, obj in watcher.objects.items()}
        return
    raw = MAKERS[kind](ns, name, variant)
    if kind != "Node":  # the source reduces Nodes to what planning reads, resourceVersion included
        raw["metadata"]["resourceVersion"] = str(version)
    watcher._apply(etype, raw)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(EVENT, max_size=6), max_size=8))
def test_cached_view_equals_a_fresh_reading(batches: list[list[tuple[str, str, str, str, int]]]) -> None:
    cached = source()
    version = 100
    for batch in batches:
        for event in batch:
            version += 1
            apply(cached.watchers[event[1]], event, version)
        fresh = source()
        for kind, watcher in cached.watchers.items():
            fresh.watchers[kind].objects = copy.deepcopy(watcher.objects)
        assert cached.view() == fresh.view()
    reader = cached._reader
    for cache, kind in ((reader.services, "Service"), (reader.endpoint_slices, "EndpointSlice")):
        assert len(cache) == len(cached.watchers[kind].objects)  # bounded by the mirror


def test_unchanged_objects_are_not_read_again_and_deleted_ones_are_evicted() -> None:
    reads: list[str] = []

    def read(obj: Obj) -> Reading[str]:
        reads.append(obj["metadata"]["name"])
        return Reading(obj["metadata"]["name"], ())

    cache = ReadingCache(read)
    mirror = {("ns", n): {"metadata": {"name": n, "resourceVersion": "1"}} for n in ("x", "y")}
    assert [r.value for r in cache.read_all(mirror)] == ["x", "y"]
    relisted = copy.deepcopy(mirror)  # new dicts, same versions: nothing to read
    assert [r.value for r in cache.read_all(relisted)] == ["x", "y"]
    relisted[("ns", "y")] = {"metadata": {"name": "y", "resourceVersion": "2"}}
    del relisted[("ns", "x")]
    cache.read_all(relisted)
    assert reads == ["x", "y", "y"]
    assert len(cache) == 1
    unversioned = {("", "n"): {"metadata": {"name": "n"}}}
    cache.read_all(unversioned)
    cache.read_all(unversioned)  # the same dict: reused
    cache.read_all(copy.deepcopy(unversioned))  # a new dict without a version: read again
    assert reads[3:] == ["n", "n"]


def test_service_reading_names_the_service_in_its_warnings() -> None:
    reading = service_reading(service("team", "web", 2))
    assert reading.value is not None and str(reading.value.ref) == "team/web"
    assert reading.warnings and all(w.startswith("Service team/web: ") for w in reading.warnings)


def test_snapshot_reader_reads_unreadable_objects_as_warnings() -> None:
    snapshot, warnings = SnapshotReader().read(
        {},
        {("", "n1"): node("", "n1", 4)},
        {("default", "a-1"): endpoint_slice("default", "a-1", 3)},
        {},
    )
    assert snapshot.nodes == () and snapshot.endpoint_slices == ()
    assert len(warnings) == 2 and all(w.endswith("; object ignored") for w in warnings)
    assert {kind.kind for kind in watched_kinds(SourceOptions())} >= set(MAKERS)
