"""The Kubernetes source: every collection bgplb reads, mirrored by list-then-watch, read as one view.

Watched (one `KindWatcher` each, see k8s_watch): v1 Services and Namespaces (cluster-wide); for a speaker
(`nodes_and_endpoints`) also Nodes and discovery.k8s.io/v1 EndpointSlices; in the configuration namespace
(default metallb-system) the metallb.io kinds (IPAddressPool, BGPAdvertisement, L2Advertisement, Community,
BFDProfile v1beta1; BGPPeer v1beta2) and MetalLB's legacy ConfigMap `config`; with `cilium=True` Cilium's
cluster-scoped LB-IPAM pools and BGP objects. Nodes are reduced to what planning reads, so kubelet
heartbeats do not wake the loop.

Secrets are watched one by one, by name: for each Secret the configuration names (a BGPPeer's
`passwordSecret`, a Cilium `authSecretRef` in `cilium_secrets_namespace`) a `KindWatcher` lists and watches
its namespace with `fieldSelector=metadata.name=<name>`; of each Secret only its name and decoded `password`
key are kept. When the configuration changes, watchers start for newly named Secrets and stop (task
cancelled and awaited) for Secrets no longer named. A rotated password marks the loop dirty with its watch
event. A missing Secret is simply absent (an empty list), and one that cannot be read (403, unreachable)
is absent too, retried like any watch. The configuration `view()` shows is the one whose Secrets have been
read: a change reaches the loop only after the new Secrets' first list has completed (`settled`), so a new
peer is never reported with a "missing" Secret that had merely not been read yet.

Each event only updates the watcher's map and calls `mark_dirty` (which sets `dirty`, an asyncio.Event, and
calls the owner's callback); `run()` also marks dirty every `resync` seconds. `view()` reads the maps into
what the reconcile pass needs: the configuration resources for `config.build_config` and a
`planning.Snapshot`, read by `k8s_readings.SnapshotReader` (the same readers as the file source, each
object's reading cached per resourceVersion). Objects that cannot be read are left out and named in
`SourceView.warnings`, never a crash.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lightkube import AsyncClient

from bgplb.adapters.k8s_readings import SnapshotReader
from bgplb.adapters.k8s_watch import Backoff, KindWatcher, Obj, WatchedKind
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
SecretKey = tuple[str, str]  # (namespace, name)


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


def keep_password(obj: Obj) -> Obj:
    """A Secret reduced to its name and decoded `password` key (None when absent or unreadable)."""
    meta = _meta(obj)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
        PASSWORD_KEY: secret_password(obj),
    }


def secret_kind(key: SecretKey) -> WatchedKind:
    """The collection holding one Secret: its namespace, selected by name, reduced to the password."""
    namespace, name = key
    return WatchedKind(
        "",
        "v1",
        "Secret",
        "secrets",
        namespace=namespace,
        keep=keep_password,
        fields=(("metadata.name", name),),
    )


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
        self._backoff = backoff
        self._config_wanted = asyncio.Event()
        self.secrets_synced = asyncio.Event()
        self.secret_watchers: dict[SecretKey, KindWatcher] = {}
        self._secret_tasks: dict[SecretKey, asyncio.Task[None]] = {}
        self._reading_secrets = False  # new Secrets' first lists are pending: their events wake no one
        self._config: tuple[Obj, ...] = ()  # the configuration whose Secrets have been read
        self._reader = SnapshotReader()
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
        self._config_wanted.set()  # the Secrets task publishes it (and marks dirty) once its Secrets are read

    def _secret_changed(self) -> None:
        if not self._reading_secrets:
            self.mark_dirty()

    async def run(self) -> None:
        """Run every watcher, the Secrets follower and the resync timer as named tasks, until cancelled."""
        async with asyncio.TaskGroup() as group:
            for watcher in self.watchers.values():
                group.create_task(watcher.run(), name=f"k8s-watch {watcher.kind.label}")
            group.create_task(self._follow_secrets(group), name="k8s-secrets")
            group.create_task(self._resync(), name="k8s-resync")

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.options.resync)
            self.mark_dirty()

    async def _follow_secrets(self, group: asyncio.TaskGroup) -> None:
        """Publish each configuration once the Secrets it names are watched and have been read once."""
        for watcher in self.watchers.values():
            if watcher.kind.kind in CONFIG_KINDS:
                await watcher.synced.wait()
        self._config_wanted.set()
        while True:
            await self._config_wanted.wait()
            self._config_wanted.clear()
            config = tuple(self._config_objects())
            wanted = referenced_secrets(config, self.options.cilium_secrets_namespace)
            started = [self._start_secret(group, key) for key in sorted(wanted - self.secret_watchers.keys())]
            self._reading_secrets = True
            try:
                for watcher in started:
                    await watcher.settled.wait()
            finally:
                self._reading_secrets = False
            self._config = config
            # the Secrets only the previous configuration named go after it (view() never lacks one it names)
            for key in sorted(self.secret_watchers.keys() - wanted):
                await self._stop_secret(key)
            self.secrets_synced.set()
            self.mark_dirty()

    def _start_secret(self, group: asyncio.TaskGroup, key: SecretKey) -> KindWatcher:
        watcher = KindWatcher(
            self.client,
            secret_kind(key),
            self._secret_changed,
            backoff=self._backoff(),
            stall_timeout=self.options.stall_timeout,
        )
        self.secret_watchers[key] = watcher
        self._secret_tasks[key] = group.create_task(watcher.run(), name=f"k8s-watch Secret {key[0]}/{key[1]}")
        return watcher

    async def _stop_secret(self, key: SecretKey) -> None:
        del self.secret_watchers[key]
        task = self._secret_tasks.pop(key)
        task.cancel()
        await asyncio.wait([task])  # a cancellation of this task itself still propagates

    @property
    def synced(self) -> bool:
        """Whether every collection has been listed, and the referenced Secrets read, at least once."""
        return self.secrets_synced.is_set() and all(w.synced.is_set() for w in self.watchers.values())

    async def wait_synced(self) -> None:
        """Until `synced`."""
        for watcher in self.watchers.values():
            await watcher.synced.wait()
        await self.secrets_synced.wait()

    def _mirror(self, kind: str) -> dict[tuple[str, str], Obj]:
        watcher = self.watchers.get(kind)
        return {} if watcher is None else watcher.objects

    def _config_objects(self) -> list[Obj]:
        return [obj for kind in sorted(CONFIG_KINDS) for _, obj in sorted(self._mirror(kind).items())]

    def service_object(self, ref: ServiceRef) -> Obj | None:
        """The mirrored Service manifest (to compare what is written with what is wanted, without a GET)."""
        return self.watchers["Service"].objects.get((ref.namespace, ref.name))

    def password(self, namespace: str, name: str) -> str | None:
        """The `password` of Secret namespace/name (a BGP peer's password Secret), if read and present."""
        watcher = self.secret_watchers.get((namespace, name))
        secret = None if watcher is None else watcher.objects.get((namespace, name))
        value = None if secret is None else secret.get(PASSWORD_KEY)
        return value if isinstance(value, str) else None

    def _existing_secrets(self) -> list[SecretKey]:
        return sorted(key for key, watcher in self.secret_watchers.items() if key in watcher.objects)

    def view(self) -> SourceView:
        """The configuration resources and the Snapshot, from the mirrors as they are now."""
        resources: list[Mapping[str, Any]] = list(self._config)
        resources.extend(
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}}
            for ns, name in self._existing_secrets()
        )
        snapshot, warnings = self._reader.read(
            self._mirror("Service"),
            self._mirror("Node"),
            self._mirror("EndpointSlice"),
            self._mirror("Namespace"),
        )
        return SourceView(tuple(resources), snapshot, tuple(warnings))
