"""Writes the controller's decisions back to Kubernetes: Service status and annotation, Events, pool counters.

- `set_service_ips(ref, ips, pool, cached=...)` makes `status.loadBalancer.ingress` hold exactly `ips`
  through the status subresource (each with `ipMode: VIP`, which the writer stops sending once it sees the
  API server drop it, as servers before 1.29 do), then the annotation `metallb.io/ip-allocated-from-pool`
  names `pool` (removed when None) through a merge patch of the Service (which needs `patch` on services;
  when RBAC forbids it the annotation is skipped with one warning and the status still written). Every write
  carries the resourceVersion just read, so a concurrent change makes it fail with 409 Conflict; the
  writer then re-reads and retries (at most `attempts` times) — never a blind overwrite, so another
  writer's labels, annotations or status fields survive. The first attempt may start from the watch
  cache's copy instead of a GET (a stale copy is just the first conflict).
- `emit(target, reason, message)` records a v1 Event on a Service (a `ServiceRef`) with MetalLB's reasons
  and wording (`EventReason`, and the `*_message` helpers), or on any object (an `ObjectRef`: bgplb's own
  ConfigInvalid/ConfigLoaded on configuration objects); best effort, as in client-go. Events on
  cluster-scoped objects live in the `default` namespace, as client-go records them.
- `set_pool_status(namespace, name, usage)` writes an IPAddressPool's status counters (assignedIPv4,
  assignedIPv6, availableIPv4, availableIPv6), with the same conflict handling.
- bgplb's own status objects (bgplb.io/v1alpha1, created when missing): `set_configuration_state` (a
  daemon's ConfigurationState: valid, or the rejection with every error's kind, name and field, and a
  ConfigValid condition) and `set_service_bgp_status` / `delete_service_bgp_status` (a speaker's
  ServiceBGPStatus per announced Service).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import httpx2
from lightkube import ApiError, AsyncClient
from lightkube.generic_resource import GenericNamespacedResource
from lightkube.types import PatchType

from bgplb.adapters.k8s_event_reasons import WARNINGS, EventReason
from bgplb.adapters.k8s_events import ObjectRef
from bgplb.adapters.k8s_watch import Obj, namespaced_resource, namespaced_status
from bgplb.config.build import REJECTED
from bgplb.errors import ConfigError
from bgplb.planning.allocation import PoolUsage
from bgplb.planning.snapshot import IPAddress, ServiceRef

log = logging.getLogger(__name__)

POOL_ANNOTATION = "metallb.io/ip-allocated-from-pool"
OLD_POOL_ANNOTATION = (
    "metallb.universe.tf/ip-allocated-from-pool"  # MetalLB before 0.14: removed when we write
)
IP_MODE_VIP = "VIP"

SERVICE = namespaced_resource("", "v1", "Service", "services")
SERVICE_STATUS = namespaced_status(SERVICE)
EVENT = namespaced_resource("", "v1", "Event", "events")
POOL = namespaced_resource("metallb.io", "v1beta1", "IPAddressPool", "ipaddresspools")
POOL_STATUS = namespaced_status(POOL)
CONFIGURATION_STATE = namespaced_resource("bgplb.io", "v1alpha1", "ConfigurationState", "configurationstates")
SERVICE_BGP_STATUS = namespaced_resource("bgplb.io", "v1alpha1", "ServiceBGPStatus", "servicebgpstatuses")


class WriteOutcome(StrEnum):
    """What a status write did."""

    WRITTEN = "Written"
    UNCHANGED = "Unchanged"
    NOT_FOUND = "NotFound"
    CONFLICT = "Conflict"  # still conflicting after every attempt


def desired_ingress(ips: Sequence[IPAddress], ip_mode: bool) -> list[dict[str, str]]:
    """status.loadBalancer.ingress for `ips`."""
    return [{"ip": str(ip), "ipMode": IP_MODE_VIP} if ip_mode else {"ip": str(ip)} for ip in ips]


def _rfc3339(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


def bgp_status_name(ref: ServiceRef, node: str) -> str:
    """The ServiceBGPStatus object name for a Service announced from a node (a DNS subdomain)."""
    return f"{ref.namespace}.{ref.name}.{node}"[:253].rstrip(".-")


def _conditions(current: Sequence[Obj], condition: Obj, now: float) -> list[Obj]:
    """`current` with `condition` set; lastTransitionTime moves only when the condition's status changes."""
    previous = next((c for c in current if c.get("type") == condition["type"]), None)
    stamp = _rfc3339(now)
    if previous is not None and previous.get("status") == condition["status"]:
        stamp = previous.get("lastTransitionTime", stamp)
    others = [c for c in current if c.get("type") != condition["type"]]
    return [*others, {**condition, "lastTransitionTime": stamp}]


class StatusWriter:
    """Status, annotation, Event and pool-counter writes for one controller (or speaker)."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        component: str = "bgplb-controller",
        host: str | None = None,
        ip_mode: bool = True,
        annotate_pool: bool = True,
        attempts: int = 5,
    ) -> None:
        self.client = client
        self.annotate_pool = annotate_pool
        self.component = component
        self.host = host
        self.ip_mode = ip_mode
        self.attempts = attempts
        self.conflicts = 0
        self.uids: dict[tuple[str, str, str], str] = {}  # (kind, ns, name) of our status objects -> uid

    def needs_update(self, service: Obj, ips: Sequence[IPAddress], pool: str | None) -> bool:
        """Whether `set_service_ips` would write anything to this Service object (e.g. from a watch cache)."""
        ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if ingress != desired_ingress(ips, self.ip_mode):
            return True
        annotations = (service.get("metadata") or {}).get("annotations") or {}
        return self.annotate_pool and (
            annotations.get(POOL_ANNOTATION) != pool or OLD_POOL_ANNOTATION in annotations
        )

    async def set_service_ips(
        self, ref: ServiceRef, ips: Sequence[IPAddress], pool: str | None, *, cached: Obj | None = None
    ) -> WriteOutcome:
        """Make the Service's ingress list `ips` and its pool annotation `pool` (see the module docstring).

        `cached` (the Service as a watch last delivered it) saves the GET of the first attempt: the write
        carries its resourceVersion, so a stale copy only costs a 409 and the re-read."""
        ingress = desired_ingress(ips, self.ip_mode)
        wrote = False
        for attempt in range(self.attempts):
            try:
                if attempt == 0 and cached is not None:
                    service: Obj = dict(cached)
                else:
                    service = dict(await self.client.get(SERVICE, ref.name, namespace=ref.namespace))
                status = dict(service.get("status") or {})
                if ((status.get("loadBalancer") or {}).get("ingress") or []) != ingress:
                    status["loadBalancer"] = {**(status.get("loadBalancer") or {}), "ingress": ingress}
                    service["status"] = status
                    replaced = await self.client.replace(
                        SERVICE_STATUS.from_dict(service), ref.name, namespace=ref.namespace
                    )
                    service, wrote = dict(replaced), True
                    self._check_ip_mode(service)
                meta = service.get("metadata") or {}
                annotations = meta.get("annotations") or {}
                if self.annotate_pool and (
                    annotations.get(POOL_ANNOTATION) != pool or OLD_POOL_ANNOTATION in annotations
                ):
                    wrote = await self._annotate(ref, str(meta.get("resourceVersion")), pool) or wrote
                return WriteOutcome.WRITTEN if wrote else WriteOutcome.UNCHANGED
            except ApiError as exc:
                outcome = self._failed(exc, f"Service {ref}")
                if outcome is not None:
                    return outcome
        return WriteOutcome.CONFLICT

    def _check_ip_mode(self, written: Obj) -> None:
        """An API server before 1.29 drops ingress[].ipMode: stop sending it (else every pass rewrites)."""
        ingress = ((written.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if self.ip_mode and ingress and all("ipMode" not in entry for entry in ingress):
            log.info(
                "the API server does not keep status.loadBalancer.ingress[].ipMode; no longer writing it"
            )
            self.ip_mode = False

    async def _annotate(self, ref: ServiceRef, version: str, pool: str | None) -> bool:
        """Set the pool annotation (merge patch, resourceVersion precondition); False when RBAC forbids it."""
        annotations = {POOL_ANNOTATION: pool, OLD_POOL_ANNOTATION: None}  # null: a merge patch removes it
        patch = {"metadata": {"resourceVersion": version, "annotations": annotations}}
        try:
            await self.client.patch(
                SERVICE, ref.name, patch, namespace=ref.namespace, patch_type=PatchType.MERGE
            )
        except ApiError as exc:
            if exc.status.code != 403:
                raise
            log.warning(
                "not allowed to patch Services (%s): the %s annotation is not written; grant `patch` on "
                "services to keep it",
                exc.status.message,
                POOL_ANNOTATION,
            )
            self.annotate_pool = False
            return False
        return True

    async def set_pool_status(self, namespace: str, name: str, usage: Sequence[PoolUsage]) -> WriteOutcome:
        """Write an IPAddressPool's assigned/available counters per family."""
        counters: dict[str, int] = {
            f"{field}{family}": 0 for field in ("assigned", "available") for family in ("IPv4", "IPv6")
        }
        for row in usage:
            if row.pool == name:
                counters[f"assigned{row.family}"] += row.assigned
                counters[f"available{row.family}"] += row.available
        for _ in range(self.attempts):
            try:
                pool: Obj = dict(await self.client.get(POOL, name, namespace=namespace))
                status = pool.get("status") or {}
                if all(status.get(k) == v for k, v in counters.items()):
                    return WriteOutcome.UNCHANGED
                pool["status"] = {**status, **counters}
                await self.client.replace(POOL_STATUS.from_dict(pool), name, namespace=namespace)
                return WriteOutcome.WRITTEN
            except ApiError as exc:
                outcome = self._failed(exc, f"IPAddressPool {namespace}/{name}")
                if outcome is not None:
                    return outcome
        return WriteOutcome.CONFLICT

    async def set_configuration_state(
        self, namespace: str, node: str | None, errors: Sequence[ConfigError], warnings: int, now: float
    ) -> WriteOutcome:
        """This daemon's ConfigurationState (bgplb.io): valid or the errors that rejected the configuration.

        The controller's object is `controller`; a speaker's is `speaker-<node>`."""
        name = f"speaker-{node}" if node else "controller"
        spec = {"type": "Speaker", "nodeName": node} if node else {"type": "Controller"}
        valid = not errors
        status: dict[str, Any] = {
            "validConfig": valid,
            "lastError": ""
            if valid
            else f"{REJECTED} ({len(errors)} error{'s' if len(errors) != 1 else ''})",
            "errors": [
                {"kind": e.kind, "name": e.name, "field": e.field_path, "reason": e.reason} for e in errors
            ],
            "warningCount": warnings,
        }
        condition = {
            "type": "ConfigValid",
            "status": "True" if valid else "False",
            "reason": "Valid" if valid else "Rejected",
            "message": "the configuration is in force" if valid else status["lastError"],
        }
        return await self._upsert_status(
            CONFIGURATION_STATE, namespace, name, spec, status, condition=condition, now=now
        )

    async def set_service_bgp_status(
        self,
        namespace: str,
        ref: ServiceRef,
        node: str,
        peers: Sequence[str],
        prefixes: Sequence[str],
        *,
        absent: bool = False,
    ) -> WriteOutcome:
        """The ServiceBGPStatus (bgplb.io) saying where `ref` is announced from `node` (a speaker's write).

        `absent`: the caller believes the object does not exist yet, so it is created without a GET first
        (an existing one answers 409 AlreadyExists and is then read and updated as usual)."""
        status = {
            "node": node,
            "serviceName": ref.name,
            "serviceNamespace": ref.namespace,
            "peers": sorted(peers),
            "prefixes": sorted(prefixes),
        }
        return await self._upsert_status(
            SERVICE_BGP_STATUS, namespace, bgp_status_name(ref, node), {}, status, absent=absent
        )

    async def delete_service_bgp_status(self, namespace: str, ref: ServiceRef, node: str) -> WriteOutcome:
        """Remove the ServiceBGPStatus of `ref` on `node` (no longer announced there)."""
        try:
            await self.client.delete(SERVICE_BGP_STATUS, bgp_status_name(ref, node), namespace=namespace)
        except ApiError as exc:
            if exc.status.code == 404:
                return WriteOutcome.NOT_FOUND
            raise
        return WriteOutcome.WRITTEN

    async def _upsert_status(
        self,
        resource: type[GenericNamespacedResource],
        namespace: str,
        name: str,
        spec: Obj,
        status: Obj,
        *,
        condition: Obj | None = None,
        now: float = 0.0,
        absent: bool = False,
    ) -> WriteOutcome:
        """Create the object when missing (first, without a GET, when `absent`), then make its status hold
        `status` (re-read on 409)."""
        status_resource = namespaced_status(resource)
        body = {"metadata": {"name": name, "namespace": namespace}, "spec": spec}
        for attempt in range(self.attempts):
            try:
                obj = await self._read_or_create(resource, body, create_first=absent and attempt == 0)
                kind = resource._api_info.resource.kind
                self.uids[(kind, namespace, name)] = str((obj.get("metadata") or {}).get("uid") or "")
                current = dict(obj.get("status") or {})
                desired = {**current, **status}
                if condition is not None:
                    desired["conditions"] = _conditions(current.get("conditions") or [], condition, now)
                if status.get("validConfig") is True and current.get("validConfig") is not True:
                    desired["lastValidTime"] = _rfc3339(now)  # since when the configuration is valid
                if desired == current:
                    return WriteOutcome.UNCHANGED
                obj["status"] = desired
                await self.client.replace(status_resource.from_dict(obj), name, namespace=namespace)
                return WriteOutcome.WRITTEN
            except ApiError as exc:
                outcome = self._failed(exc, f"{resource._api_info.resource.kind} {namespace}/{name}")
                if outcome is not None:
                    return outcome
        return WriteOutcome.CONFLICT

    async def _read_or_create(
        self, resource: type[GenericNamespacedResource], body: Obj, *, create_first: bool
    ) -> Obj:
        name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
        if create_first:
            try:
                return dict(await self.client.create(resource.from_dict(body)))
            except ApiError as exc:
                if exc.status.code != 409:  # 409 AlreadyExists: read it, as if we had not guessed
                    raise
        try:
            return dict(await self.client.get(resource, name, namespace=namespace))
        except ApiError as exc:
            if exc.status.code != 404:
                raise
        return dict(await self.client.create(resource.from_dict(body)))

    def _failed(self, exc: ApiError, what: str) -> WriteOutcome | None:
        """None to retry (409 Conflict), NOT_FOUND for 404; anything else propagates."""
        if exc.status.code == 409:
            self.conflicts += 1
            log.info("%s changed while we wrote it (409 Conflict); re-reading", what)
            return None
        if exc.status.code == 404:
            return WriteOutcome.NOT_FOUND
        raise exc

    async def emit(
        self, target: ServiceRef | ObjectRef, reason: EventReason, message: str, *, now: float | None = None
    ) -> bool:
        """Record an Event on `target` (a Service, or any object; Warning for failures, Normal otherwise).

        Events are best effort, as in client-go: a refused or failed create is logged and False returned."""
        obj = target if isinstance(target, ObjectRef) else ObjectRef.service(target)
        stamp = time.time() if now is None else now
        event: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{obj.name}.", "namespace": obj.namespace or "default"},
            "involvedObject": obj.involved_object(),
            "reason": reason.value,
            "message": message,
            "type": "Warning" if reason in WARNINGS else "Normal",
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "reportingComponent": self.component,
            "reportingInstance": self.host or self.component,
            "firstTimestamp": _rfc3339(stamp),
            "lastTimestamp": _rfc3339(stamp),
            "count": 1,
        }
        try:
            await self.client.create(EVENT.from_dict(event))
        except (ApiError, httpx2.HTTPError, OSError) as exc:
            log.warning("Event %s on %s not recorded: %r", reason.value, obj, exc)
            return False
        return True
