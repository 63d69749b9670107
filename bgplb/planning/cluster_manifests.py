"""Pure readers of the cluster kinds the planner needs besides Services: v1 Node, v1 Namespace and
discovery.k8s.io/v1 EndpointSlice manifests (plain dicts, as parsed from YAML or returned by the API server)
into our own snapshot types. Errors are ConfigErrors naming the object and field. Services are read by
`service_manifest.read_service`. Both the file source and the Kubernetes source use these.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import ip_address
from typing import Any

from bgplb.errors import ConfigError
from bgplb.planning.snapshot import (
    Endpoint,
    EndpointSlice,
    IPAddress,
    Namespace,
    Node,
    NodeCondition,
    ServiceRef,
)

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _labels(meta: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in _map(meta.get("labels")).items()}


def _addresses(values: object, kind: str, name: str, field: str) -> tuple[IPAddress, ...]:
    out: list[IPAddress] = []
    for index, value in enumerate(values if isinstance(values, list) else []):
        text = value.get("address") if isinstance(value, Mapping) else value
        try:
            out.append(ip_address(str(text)))
        except ValueError:
            raise ConfigError(kind, name, f"{field}[{index}]", f"{text!r} is not an IP address") from None
    return tuple(out)


def read_node(manifest: Mapping[str, Any]) -> Node:
    """A v1 Node: name, labels, InternalIP/ExternalIP addresses, NetworkUnavailable, unschedulable."""
    meta, status = _map(manifest.get("metadata")), _map(manifest.get("status"))
    name = str(meta.get("name") or "")
    if not name:
        raise ConfigError("Node", "?", "metadata.name", "a Node needs a name")
    ips = [a for a in status.get("addresses") or [] if _map(a).get("type") in ("InternalIP", "ExternalIP")]
    conditions = tuple(
        NodeCondition(str(c.get("type")), str(c.get("status")) == "True")
        for c in status.get("conditions") or []
        if isinstance(c, Mapping)
    )
    return Node(
        name=name,
        labels=_labels(meta),
        addresses=_addresses(ips, "Node", name, "status.addresses"),
        conditions=conditions,
        unschedulable=bool(_map(manifest.get("spec")).get("unschedulable", False)),
    )


def read_endpoint_slice(manifest: Mapping[str, Any]) -> EndpointSlice:
    """A discovery.k8s.io/v1 EndpointSlice; absent conditions follow Kubernetes (ready, serving = ready)."""
    meta = _map(manifest.get("metadata"))
    namespace = str(meta.get("namespace") or "default")
    name = f"{namespace}/{meta.get('name', '?')}"
    service = _labels(meta).get(SERVICE_NAME_LABEL)
    if not service:
        raise ConfigError("EndpointSlice", name, f"metadata.labels[{SERVICE_NAME_LABEL}]", "names no Service")
    endpoints: list[Endpoint] = []
    for index, item in enumerate(manifest.get("endpoints") or []):
        field = f"endpoints[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigError("EndpointSlice", name, field, "expected a mapping")
        cond = _map(item.get("conditions"))
        ready = cond.get("ready") is not False
        node = item.get("nodeName")
        endpoints.append(
            Endpoint(
                node=str(node) if node else None,
                addresses=_addresses(item.get("addresses"), "EndpointSlice", name, f"{field}.addresses"),
                ready=ready,
                serving=ready if cond.get("serving") is None else cond.get("serving") is True,
                terminating=cond.get("terminating") is True,
            )
        )
    return EndpointSlice(ServiceRef(namespace, service), str(meta.get("name", "")), tuple(endpoints))


def read_namespace(manifest: Mapping[str, Any]) -> Namespace:
    """A v1 Namespace: name and labels."""
    meta = _map(manifest.get("metadata"))
    return Namespace(str(meta.get("name") or ""), _labels(meta))
