"""The API-server double's storage: objects, one global resourceVersion, watch history, subresource rules.

Semantics the adapters rely on, as a real API server implements them:
- every write bumps one cluster-wide resourceVersion (etcd's revision) and is recorded in a history that
  watches replay from; `compact()` forgets the history, so resuming from an older version is 410 Gone;
- optimistic concurrency: an update whose metadata.resourceVersion is set and stale is 409 Conflict;
- the status subresource: writes to the main resource keep the stored status, writes to .../status change
  only the status (kinds listed with `status=True`); create clears the status of such kinds;
- merge patches (RFC 7386; strategic merge patches are applied the same way, which is exact for the maps
  the adapters patch);
- field selectors on metadata.name and metadata.namespace (`=`, `==`, `!=`, terms joined by commas; any
  other field is 400 "field label not supported", as for most kinds on a real server).
Objects are plain JSON dicts; everything handed out is a deep copy.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Kind:
    """One served collection: API group, plural, kind, whether namespaced, whether it has .../status."""

    group: str
    plural: str
    kind: str
    namespaced: bool
    status: bool = False


KINDS: tuple[Kind, ...] = (
    Kind("", "services", "Service", True, status=True),
    Kind("", "nodes", "Node", False, status=True),
    Kind("", "namespaces", "Namespace", False, status=True),
    Kind("", "secrets", "Secret", True),
    Kind("", "configmaps", "ConfigMap", True),
    Kind("", "events", "Event", True),
    Kind("events.k8s.io", "events", "Event", True),
    Kind("discovery.k8s.io", "endpointslices", "EndpointSlice", True),
    Kind("coordination.k8s.io", "leases", "Lease", True),
    *(
        Kind("metallb.io", plural, kind, True, status=True)
        for plural, kind in (
            ("ipaddresspools", "IPAddressPool"),
            ("bgpadvertisements", "BGPAdvertisement"),
            ("l2advertisements", "L2Advertisement"),
            ("communities", "Community"),
            ("bfdprofiles", "BFDProfile"),
            ("bgppeers", "BGPPeer"),
            ("servicebgpstatuses", "ServiceBGPStatus"),
        )
    ),
    *(
        Kind("cilium.io", plural, kind, False, status=True)
        for plural, kind in (
            ("ciliumloadbalancerippools", "CiliumLoadBalancerIPPool"),
            ("ciliumbgppeeringpolicies", "CiliumBGPPeeringPolicy"),
            ("ciliumbgpclusterconfigs", "CiliumBGPClusterConfig"),
            ("ciliumbgppeerconfigs", "CiliumBGPPeerConfig"),
            ("ciliumbgpadvertisements", "CiliumBGPAdvertisement"),
        )
    ),
    Kind("bgplb.io", "configurationstates", "ConfigurationState", True, status=True),
    Kind("bgplb.io", "servicebgpstatuses", "ServiceBGPStatus", True, status=True),
)
KIND_BY_PATH = {(k.group, k.plural): k for k in KINDS}


class ApiFailureError(Exception):
    """A request the server refuses: HTTP code, Status reason and message."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message

    def status(self) -> Obj:
        """The metav1.Status body."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """One recorded write: its resourceVersion, collection, namespace, watch type and the object after it."""

    rv: int
    kind: Kind
    namespace: str
    type: str
    obj: Obj


SELECTABLE_FIELDS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A parsed `fieldSelector`: (field, wanted value, equal?) terms that must all hold."""

    terms: tuple[tuple[str, str, bool], ...] = ()

    def matches(self, obj: Obj) -> bool:
        """Whether `obj` satisfies every term."""
        meta = obj.get("metadata") or {}
        for field, value, equal in self.terms:
            actual = str(meta.get(field.partition(".")[2]) or "")
            if (actual == value) != equal:
                return False
        return True


def parse_field_selector(text: str) -> FieldSelector:
    """`metadata.name=web,metadata.namespace!=kube-system` -> FieldSelector (400 on what is not served)."""
    terms: list[tuple[str, str, bool]] = []
    for term in filter(None, text.split(",")):
        operator = next((op for op in ("!=", "==", "=") if op in term), None)
        if operator is None:
            raise ApiFailureError(400, "BadRequest", f"invalid field selector term {term!r}")
        field, _, value = term.partition(operator)
        equal = operator != "!="
        if field.strip() not in SELECTABLE_FIELDS:
            raise ApiFailureError(400, "BadRequest", f'field label not supported: "{field.strip()}"')
        terms.append((field.strip(), value.strip(), equal))
    return FieldSelector(tuple(terms))


def merge_patch(target: object, patch: object) -> object:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Store:
    """All objects of the double, keyed by collection, namespace and name."""

    def __init__(self) -> None:
        self.rv = 1
        self.compacted = 0
        self.objects: dict[Kind, dict[tuple[str, str], Obj]] = {k: {} for k in KINDS}
        self.history: list[Change] = []
        self.watchers: list[tuple[Kind, str | None, asyncio.Queue[Change | str]]] = []
        self._names = itertools.count(1)

    # -- reading ---------------------------------------------------------------------------------------
    def get(self, kind: Kind, namespace: str, name: str) -> Obj:
        """One object (404 when absent)."""
        obj = self.objects[kind].get((namespace, name))
        if obj is None:
            raise ApiFailureError(404, "NotFound", f'{kind.plural} "{name}" not found')
        return copy.deepcopy(obj)

    def items(self, kind: Kind, namespace: str | None) -> list[Obj]:
        """Every object of a collection (of one namespace when given), in name order."""
        return [
            copy.deepcopy(obj)
            for (ns, _), obj in sorted(self.objects[kind].items())
            if namespace is None or ns == namespace
        ]

    def changes_since(self, kind: Kind, namespace: str | None, rv: int) -> list[Change]:
        """Recorded writes after `rv` (410 Gone when `rv` is older than the compacted history)."""
        if rv < self.compacted:
            raise ApiFailureError(410, "Expired", f"too old resource version: {rv} ({self.compacted})")
        return [
            c
            for c in self.history
            if c.rv > rv and c.kind == kind and (namespace is None or c.namespace == namespace)
        ]

    # -- writing ---------------------------------------------------------------------------------------
    def create(self, kind: Kind, namespace: str, body: Obj, *, keep_status: bool = False) -> Obj:
        """POST: a new object (409 AlreadyExists); `keep_status` is the test back door for seeding state."""
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{next(self._names):05d}"
        name = meta.get("name")
        if not name:
            raise ApiFailureError(422, "Invalid", f"{kind.kind}: metadata.name: Required value")
        if kind.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if (namespace, name) in self.objects[kind]:
            raise ApiFailureError(409, "AlreadyExists", f'{kind.plural} "{name}" already exists')
        if kind.status and not keep_status:
            obj.pop("status", None)
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now(), generation=1)
        return self._commit(kind, namespace, obj, "ADDED")

    def update(self, kind: Kind, namespace: str, name: str, body: Obj, *, subresource: str = "") -> Obj:
        """PUT: replace (409 Conflict on a stale metadata.resourceVersion); see the status rules above."""
        stored = self.get(kind, namespace, name)
        self._check_version(kind, name, stored, body)
        return self._write(kind, namespace, stored, copy.deepcopy(body), subresource)

    def patch(self, kind: Kind, namespace: str, name: str, patch: Obj, *, subresource: str = "") -> Obj:
        """PATCH (merge): a resourceVersion inside the patch is a precondition, as in Kubernetes."""
        stored = self.get(kind, namespace, name)
        self._check_version(kind, name, stored, patch)
        merged = merge_patch(stored, patch)
        assert isinstance(merged, dict)
        return self._write(kind, namespace, stored, merged, subresource)

    def delete(self, kind: Kind, namespace: str, name: str) -> Obj:
        """DELETE: the object goes; watchers see it one last time."""
        obj = self.get(kind, namespace, name)
        del self.objects[kind][(namespace, name)]
        return self._commit(kind, namespace, obj, "DELETED", store=False)

    def compact(self) -> None:
        """Forget the history: resuming a watch from any earlier version is 410 Gone."""
        self.compacted = self.rv
        self.history.clear()

    def _check_version(self, kind: Kind, name: str, stored: Obj, body: Obj) -> None:
        wanted = str((body.get("metadata") or {}).get("resourceVersion") or "")
        if wanted and wanted != stored["metadata"]["resourceVersion"]:
            raise ApiFailureError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind.plural} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
            )

    def _write(self, kind: Kind, namespace: str, stored: Obj, new: Obj, subresource: str) -> Obj:
        if subresource == "status":
            result = copy.deepcopy(stored)
            if "status" in new:
                result["status"] = new["status"]
            else:
                result.pop("status", None)
        else:
            result = new
            if kind.status:
                result.pop("status", None)
                if "status" in stored:
                    result["status"] = stored["status"]
            meta = result.setdefault("metadata", {})
            for key in ("uid", "creationTimestamp", "name", "namespace", "generation"):
                if key in stored["metadata"]:
                    meta[key] = stored["metadata"][key]
            if result.get("spec") != stored.get("spec"):
                meta["generation"] = int(stored["metadata"].get("generation", 1)) + 1
        result.setdefault("apiVersion", stored.get("apiVersion"))
        result.setdefault("kind", stored.get("kind"))
        result.setdefault("metadata", {})["resourceVersion"] = stored["metadata"]["resourceVersion"]
        if result == stored:
            return result  # a no-op write does not bump the resourceVersion
        return self._commit(kind, namespace, result, "MODIFIED")

    def _commit(self, kind: Kind, namespace: str, obj: Obj, event: str, *, store: bool = True) -> Obj:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        if store:
            self.objects[kind][(namespace, obj["metadata"]["name"])] = obj
        change = Change(self.rv, kind, namespace, event, copy.deepcopy(obj))
        self.history.append(change)
        for watched, ns, queue in self.watchers:
            if watched == kind and (ns is None or ns == namespace):
                queue.put_nowait(change)
        return copy.deepcopy(obj)

    # -- watching --------------------------------------------------------------------------------------
    def subscribe(self, kind: Kind, namespace: str | None) -> asyncio.Queue[Change | str]:
        """A queue receiving every later write to the collection (and control strings from faults)."""
        queue: asyncio.Queue[Change | str] = asyncio.Queue()
        self.watchers.append((kind, namespace, queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Change | str]) -> None:
        """Stop feeding `queue`."""
        self.watchers = [w for w in self.watchers if w[2] is not queue]

    def queues(self) -> Iterator[asyncio.Queue[Change | str]]:
        """Every open watch's queue."""
        return iter([w[2] for w in self.watchers])
