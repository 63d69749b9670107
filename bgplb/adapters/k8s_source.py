"""The Kubernetes source: every collection bgplb reads, mirrored by list-then-watch, read as one view.

Watched (one `KindWatcher` each, see k8s_watch): v1 Services and Namespaces (cluster-wide); for a speaker
(`nodes_and_endpoints`) also Nodes and discovery.k8s.io/v1 EndpointSlices; in the configuration namespace
(default metallb-system) the metallb.io kinds (IPAddressPool, BGPAdvertisement, L2Advertisement, Community,
BFDProfile v1beta1; BGPPeer v1beta2) and MetalLB's legacy ConfigMap `config`; with `cilium=True` Cilium's
cluster-scoped LB-IPAM pools and BGP objects. Nodes are reduced to what planning reads, so kubelet
heartbeats do not wake the loop.

Secrets are never listed or watched (RBAC grants `get` only): the Secrets the configuration names
(a BGPPeer's `passwordSecret`, a Cilium `authSecretRef` in `cilium_secrets_namespace`) are fetched by name
whenever the configuration changes and at every resync; of each only its name and the `password` key are kept.
A configuration change reaches the loop once its Secrets have been fetched, so a new peer is not reported
with a missing Secret that merely had not been read yet.

Each event only updates the watcher's map and calls `mark_dirty` (which sets `dirty`, an asyncio.Event, and
calls the owner's callback); `run()` also marks dirty every `resync` seconds. `view()` reads the maps into
what the reconcile pass needs: the configuration resources for `config.build_config` and a
`planning.Snapshot` (Services read by `planning.service_manifest.read_service`; Nodes, EndpointSlices and
Namespaces by the same readers as the file source). Objects that cannot be read are left out and named in
`SourceView.warnings`, never a crash.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
from lightkube import ApiError, AsyncClient

from bgplb.adapters.k8s_watch import Backoff, KindWatcher, Obj, WatchedKind, namespaced_resource
from bgplb.errors import ConfigError
from bgplb.planning.cluster_manifests import read_endpoint_slice, read_namespace, read_node
from bgplb.planning.service_manifest import read_service
from bgplb.planning.snapshot import ServiceRef, Snapshot

METALLB_KINDS = (
    ("IPAddressPool", "ipaddresspools", "v1beta1"),
    ("BGPAdvertisement", "bgpadvertisements", "v1beta1"),
    ("L2Advertisement", "l2advertisements", "v1beta1"),
    ("Community", "communities", "v1beta1"),
    ("BFDProfile", "bfdprofiles", "v1beta1"),
    ("BGPPeer", "bgppeers", "v1beta2"),
)
CILIUM_KINDS = (
    ("CiliumLoadBalancerIPPool", "ciliumloadbalancerippools"),
    ("CiliumBGPPeeringPolicy", "ciliumbgppeeringpolicies"),
    ("CiliumBGPClusterConfig", "ciliumbgpclusterconfigs"),
    ("CiliumBGPPeerConfig", "ciliumbgppeerconfigs"),
    ("CiliumBGPAdvertisement", "ciliumbgpadvertisements"),
)
CONFIG_KINDS = frozenset({"ConfigMap", *(k for k, _, _ in METALLB_KINDS), *(k for k, _ in CILIUM_KINDS)})
LEGACY_CONFIGMAP = "config"
PASSWORD_KEY = "password"
SECRET = namespaced_resource("", "v1", "Secret", "secrets")
SecretKey = tuple[str, str]  # (namespace, name)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """What to watch: the configuration namespace and sources, the speaker's kinds, the timings."""

    config_namespace: str = "metallb-system"
    metallb: bool = True
    legacy_configmap: bool = True
    cilium: bool = False
    cilium_version: str = "v2alpha1"
    cilium_secrets_namespace: str = "kube-system"
    nodes_and_endpoints: bool = True
    resync: float = 300.0
    stall_timeout: float = 300.0


@dataclass(frozen=True, slots=True)
class SourceView:
    """One reading of the mirrored cluster: configuration resources, the Snapshot, and what was skipped."""

    resources: tuple[Mapping[str, Any], ...]
    snapshot: Snapshot
    warnings: tuple[str, ...]


def _meta(obj: Obj) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def secret_password(obj: Obj) -> str | None:
    """The decoded `password` key of a Secret (None when absent or not UTF-8 base64)."""
    encoded = (obj.get("data") or {}).get(PASSWORD_KEY)
    if not isinstance(encoded, str):
        return None
    try:
        return base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def referenced_secrets(resources: Iterable[Mapping[str, Any]], cilium_namespace: str) -> set[SecretKey]:
    """(namespace, name) of every Secret the configuration refers to: metallb.io `passwordSecret` (default
    namespace: the object's) and cilium.io `authSecretRef` (in Cilium's secrets namespace), at any depth."""
    found: set[SecretKey] = set()

    def walk(value: object, own_namespace: str, cilium: bool) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if key == "passwordSecret" and isinstance(item, Mapping) and item.get("name"):
                    found.add((str(item.get("namespace") or own_namespace), str(item["name"])))
                elif key == "authSecretRef" and cilium and isinstance(item, str) and item:
                    found.add((cilium_namespace, item))
                else:
                    walk(item, own_namespace, cilium)
        elif isinstance(value, list):
            for item in value:
                walk(item, own_namespace, cilium)

    for resource in resources:
        cilium = str(resource.get("apiVersion", "")).startswith("cilium.io/")
        walk(resource.get("spec"), str(_meta(dict(resource)).get("namespace") or ""), cilium)
    return found


def keep_node(obj: Obj) -> Obj:
    """A Node reduced to labels, addresses, condition types/statuses and unschedulable."""
    meta, status = _meta(obj), obj.get("status") or {}
    conditions = [{"type": c.get("type"), "status": c.get("status")} for c in status.get("conditions") or []]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": meta.get("name"), "labels": meta.get("labels") or {}},
        "spec": {"unschedulable": bool((obj.get("spec") or {}).get("unschedulable"))},
        "status": {"addresses": status.get("addresses") or [], "conditions": conditions},
    }


def keep_legacy_configmap(obj: Obj) -> Obj | None:
    """Only MetalLB's ConfigMap named `config`."""
    return obj if _meta(obj).get("name") == LEGACY_CONFIGMAP else None


def watched_kinds(options: SourceOptions) -> tuple[WatchedKind, ...]:
    """The collections to mirror for `options`."""
    ns = options.config_namespace
    kinds = [
        WatchedKind("", "v1", "Service", "services"),
        WatchedKind("", "v1", "Namespace", "namespaces", namespaced=False),
    ]
    if options.nodes_and_endpoints:
        kinds.append(WatchedKind("", "v1", "Node", "nodes", namespaced=False, keep=keep_node))
        kinds.append(WatchedKind("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"))
    if options.metallb and options.legacy_configmap:
        kinds.append(
            WatchedKind("", "v1", "ConfigMap", "configmaps", namespace=ns, keep=keep_legacy_configmap)
        )
    if options.metallb:
        for kind, plural, version in METALLB_KINDS:
            kinds.append(WatchedKind("metallb.io", version, kind, plural, namespace=ns))
    if options.cilium:
        for kind, plural in CILIUM_KINDS:
            version = "v2alpha1" if kind == "CiliumBGPPeeringPolicy" else options.cilium_version
            kinds.append(WatchedKind("cilium.io", version, kind, plural, namespaced=False))
    return tuple(kinds)


class K8sSource:
    """Mirrors the cluster for one daemon; `run()` forever, `view()` whenever the loop is dirty."""

    def __init__(
        self,
        client: AsyncClient,
        options: SourceOptions | None = None,
        on_change: Callable[[], None] | None = None,
        *,
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self.client = client
        self.options = options or SourceOptions()
        self.dirty = asyncio.Event()
        self._on_change = on_change
        self._secrets_wanted = asyncio.Event()
        self.secrets_synced = asyncio.Event()
        self._secrets: dict[SecretKey, str | None] = {}  # existing Secrets -> password
        self._backoff = backoff()
        self.watchers = {
            kind.kind: KindWatcher(
                client,
                kind,
                self._config_changed if kind.kind in CONFIG_KINDS else self.mark_dirty,
                backoff=backoff(),
                stall_timeout=self.options.stall_timeout,
            )
            for kind in watched_kinds(self.options)
        }

    def mark_dirty(self) -> None:
        """Something changed (or the resync timer fired): wake the reconcile loop."""
        self.dirty.set()
        if self._on_change is not None:
            self._on_change()

    def _config_changed(self) -> None:
        self._secrets_wanted.set()  # the Secrets task marks dirty once they are fetched

    async def run(self) -> None:
        """Run every watcher, the Secrets fetcher and the resync timer as named tasks, until cancelled."""
        async with asyncio.TaskGroup() as group:
            for watcher in self.watchers.values():
                group.create_task(watcher.run(), name=f"k8s-watch {watcher.kind.label}")
            group.create_task(self._fetch_secrets(), name="k8s-secrets")
            group.create_task(self._resync(), name="k8s-resync")

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.options.resync)
            self._secrets_wanted.set()

    async def _fetch_secrets(self) -> None:
        """Fetch the referenced Secrets by name each time the configuration changes (and at resync)."""
        config_watchers = [w for w in self.watchers.values() if w.kind.kind in CONFIG_KINDS]
        for watcher in config_watchers:
            await watcher.synced.wait()
        self._secrets_wanted.set()
        while True:
            await self._secrets_wanted.wait()
            self._secrets_wanted.clear()
            wanted = referenced_secrets(self._config_objects(), self.options.cilium_secrets_namespace)
            fetched: dict[SecretKey, str | None] = {}
            failed = False
            for key in sorted(wanted):
                try:
                    secret = await self.client.get(SECRET, key[1], namespace=key[0])
                    fetched[key] = secret_password(dict(secret))
                except ApiError as exc:
                    if exc.status.code != 404:
                        failed = True
                        log.warning("Secret %s/%s: %s", *key, exc.status.message)
                        if key in self._secrets:
                            fetched[key] = self._secrets[key]
                except (httpx2.HTTPError, OSError) as exc:
                    failed = True
                    log.warning("Secret %s/%s: %r", *key, exc)
                    if key in self._secrets:
                        fetched[key] = self._secrets[key]
            self._secrets = fetched
            self.secrets_synced.set()
            self.mark_dirty()
            if failed:
                await asyncio.sleep(self._backoff.next())
                self._secrets_wanted.set()
            else:
                self._backoff.reset()

    @property
    def synced(self) -> bool:
        """Whether every collection has been listed, and the referenced Secrets fetched, at least once."""
        return self.secrets_synced.is_set() and all(w.synced.is_set() for w in self.watchers.values())

    async def wait_synced(self) -> None:
        """Until `synced`."""
        for watcher in self.watchers.values():
            await watcher.synced.wait()
        await self.secrets_synced.wait()

    def _objects(self, kind: str) -> list[Obj]:
        watcher = self.watchers.get(kind)
        return [] if watcher is None else [obj for _, obj in sorted(watcher.objects.items())]

    def _config_objects(self) -> list[Obj]:
        return [obj for kind in sorted(CONFIG_KINDS) for obj in self._objects(kind)]

    def service_object(self, ref: ServiceRef) -> Obj | None:
        """The mirrored Service manifest (to compare what is written with what is wanted, without a GET)."""
        return self.watchers["Service"].objects.get((ref.namespace, ref.name))

    def password(self, namespace: str, name: str) -> str | None:
        """The `password` of Secret namespace/name (a BGP peer's password Secret), if fetched."""
        return self._secrets.get((namespace, name))

    def view(self) -> SourceView:
        """The configuration resources and the Snapshot, from the mirrors as they are now."""
        resources: list[Mapping[str, Any]] = list(self._config_objects())
        resources.extend(
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}}
            for ns, name in sorted(self._secrets)
        )
        warnings: list[str] = []
        services = []
        for manifest in self._objects("Service"):
            reading = read_service(manifest)
            services.append(reading.service)
            warnings.extend(f"Service {reading.service.ref}: {w}" for w in reading.warnings)
        nodes, slices = [], []
        for obj in self._objects("Node"):
            try:
                nodes.append(read_node(obj))
            except ConfigError as exc:
                warnings.append(f"{exc}; object ignored")
        for obj in self._objects("EndpointSlice"):
            try:
                slices.append(read_endpoint_slice(obj))
            except ConfigError as exc:
                warnings.append(f"{exc}; object ignored")
        namespaces = [read_namespace(obj) for obj in self._objects("Namespace")]
        snapshot = Snapshot(
            services=tuple(sorted(services, key=lambda s: s.ref)),
            nodes=tuple(sorted(nodes, key=lambda n: n.name)),
            endpoint_slices=tuple(sorted(slices, key=lambda e: (e.service, e.name))),
            namespaces=tuple(sorted(namespaces, key=lambda n: n.name)),
        )
        return SourceView(tuple(resources), snapshot, tuple(warnings))
