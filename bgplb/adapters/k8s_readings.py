"""Readings of mirrored cluster objects, cached per object version: the Snapshot half of K8sSource.view().

Reading a manifest into planning's types costs tens of microseconds; at 10,000 Services and as many
EndpointSlices every reconcile pass re-read everything although one object had changed. `ReadingCache`
keeps, per collection and object key, the reading next to the object's `metadata.resourceVersion`: the API
server gives an object a new resourceVersion on every change, so an equal version means an equal object
(a relist brings new dicts with the same versions). Cheaper still, an object whose mirrored dict is the very
one read last time is unchanged (a KindWatcher replaces the dict of a changed object, never edits it): that
also covers objects without a version (Nodes, reduced by the source to what planning reads). Each
`read_all` keeps only the keys it was given, so deletions and relists evict and the cache never outgrows the
mirrors. A reading is the value (None for an object that cannot be read) and its warnings; objects that
cannot be read are cached too, with their ConfigError text.

`SnapshotReader.read(...)` turns the four mirrors into a `planning.Snapshot` and the warnings, exactly as an
uncached reading would: same readers, same ordering (sorted by ServiceRef, node name, (Service, slice name),
namespace name), same warning texts and order (Services, Nodes, EndpointSlices).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bgplb.adapters.k8s_watch import Key, Obj
from bgplb.errors import ConfigError
from bgplb.planning.cluster_manifests import read_endpoint_slice, read_namespace, read_node
from bgplb.planning.service_manifest import read_service
from bgplb.planning.snapshot import EndpointSlice, Namespace, Node, Service, Snapshot

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Reading(Generic[T]):
    """What one object reads as: the value (None when unreadable) and the warnings about it."""

    value: T | None
    warnings: tuple[str, ...] = ()


def _version(obj: Obj) -> str | None:
    meta = obj.get("metadata")
    version = meta.get("resourceVersion") if isinstance(meta, dict) else None
    return version if isinstance(version, str) and version else None


class ReadingCache(Generic[T]):
    """Readings of one collection, reused while an object is the same mirrored dict or has the same
    resourceVersion (mirrors replace an object's dict when it changes, never edit it in place)."""

    def __init__(self, read: Callable[[Obj], Reading[T]]) -> None:
        self._read = read
        self._entries: dict[Key, tuple[Obj, str | None, Reading[T]]] = {}
        self.reads = 0  # objects actually read (for tests and benchmarks)

    def __len__(self) -> int:
        return len(self._entries)

    def read_all(self, objects: Mapping[Key, Obj]) -> list[Reading[T]]:
        """The readings of `objects` in key order; cached entries of keys not in `objects` are dropped."""
        previous = self._entries
        kept: dict[Key, tuple[Obj, str | None, Reading[T]]] = {}
        out: list[Reading[T]] = []
        # entries are kept in key order: while the mirror holds the same keys, that order is reused
        same_keys = len(previous) == len(objects) and previous.keys() == objects.keys()
        for key in previous if same_keys else sorted(objects):
            obj = objects[key]
            entry = previous.get(key)
            if entry is not None and entry[0] is obj:
                kept[key] = entry
                out.append(entry[2])
                continue
            version = _version(obj)
            if entry is not None and version is not None and entry[1] == version:
                reading = entry[2]
            else:
                reading = self._read(obj)
                self.reads += 1
            kept[key] = (obj, version, reading)
            out.append(reading)
        self._entries = kept
        return out


def service_reading(obj: Obj) -> Reading[Service]:
    """A Service and its warnings (prefixed with the Service's name); never unreadable."""
    reading = read_service(obj)
    ref = reading.service.ref
    return Reading(reading.service, tuple(f"Service {ref}: {w}" for w in reading.warnings))


def _checked(read: Callable[[Mapping[str, Any]], T]) -> Callable[[Obj], Reading[T]]:
    def reading(obj: Obj) -> Reading[T]:
        try:
            return Reading(read(obj))
        except ConfigError as exc:
            return Reading(None, (f"{exc}; object ignored",))

    return reading


class SnapshotReader:
    """One ReadingCache per collection planning reads; `read` builds the Snapshot from the mirrors."""

    def __init__(self) -> None:
        self.services = ReadingCache(service_reading)
        self.nodes = ReadingCache(_checked(read_node))
        self.endpoint_slices = ReadingCache(_checked(read_endpoint_slice))
        self.namespaces = ReadingCache(_checked(read_namespace))

    def read(
        self,
        services: Mapping[Key, Obj],
        nodes: Mapping[Key, Obj],
        endpoint_slices: Mapping[Key, Obj],
        namespaces: Mapping[Key, Obj],
    ) -> tuple[Snapshot, list[str]]:
        """The Snapshot of the four mirrors and the warnings about objects read or left out."""
        warnings: list[str] = []
        service_values = _values(self.services.read_all(services), warnings)
        node_values = _values(self.nodes.read_all(nodes), warnings)
        slice_values = _values(self.endpoint_slices.read_all(endpoint_slices), warnings)
        namespace_values = _values(self.namespaces.read_all(namespaces), warnings)
        snapshot = Snapshot(
            services=tuple(sorted(service_values, key=_service_order)),
            nodes=tuple(sorted(node_values, key=_node_order)),
            endpoint_slices=tuple(sorted(slice_values, key=_slice_order)),
            namespaces=tuple(sorted(namespace_values, key=_namespace_order)),
        )
        return snapshot, warnings


def _values(readings: list[Reading[T]], warnings: list[str]) -> list[T]:
    values: list[T] = []
    for reading in readings:
        warnings.extend(reading.warnings)
        if reading.value is not None:
            values.append(reading.value)
    return values


# Plain tuples order exactly as the frozen, ordered dataclasses they are made of, and compare much faster.
def _service_order(service: Service) -> tuple[str, str]:
    return (service.ref.namespace, service.ref.name)


def _node_order(node: Node) -> str:
    return node.name


def _slice_order(endpoint_slice: EndpointSlice) -> tuple[str, str, str]:
    return (endpoint_slice.service.namespace, endpoint_slice.service.name, endpoint_slice.name)


def _namespace_order(namespace: Namespace) -> str:
    return namespace.name
