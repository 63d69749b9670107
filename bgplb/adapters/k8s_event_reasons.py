"""The Events bgplb records: reasons (MetalLB's on Services, bgplb's own Config* on configuration objects),
which are Warnings, and MetalLB's wording for each message."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum

from bgplb.planning.snapshot import IPAddress, ServiceRef


class EventReason(StrEnum):
    """Event reasons: MetalLB's on Services, bgplb's own (Config*) on configuration objects."""

    IP_ALLOCATED = "IPAllocated"
    ALLOCATION_FAILED = "AllocationFailed"
    CLEAR_ASSIGNMENT = "ClearAssignment"
    LOAD_BALANCER_FAILED = "LoadBalancerFailed"
    DEPRECATED_ANNOTATION = "deprecatedAnnotation"
    NODE_ASSIGNED = "nodeAssigned"
    CONFIG_INVALID = "ConfigInvalid"
    CONFIG_LOADED = "ConfigLoaded"


WARNINGS = frozenset(
    {
        EventReason.ALLOCATION_FAILED,
        EventReason.LOAD_BALANCER_FAILED,
        EventReason.DEPRECATED_ANNOTATION,
        EventReason.CONFIG_INVALID,
    }
)


def _quoted(values: Sequence[object]) -> str:
    return "[" + " ".join(json.dumps(str(v)) for v in values) + "]"


def ip_allocated_message(ips: Sequence[IPAddress]) -> str:
    """MetalLB's IPAllocated wording."""
    return f"Assigned IP {_quoted(ips)}"


def allocation_failed_message(ref: ServiceRef, detail: str) -> str:
    """MetalLB's AllocationFailed wording."""
    return f"Failed to allocate IP for {json.dumps(str(ref))}: {detail}"


def clear_assignment_message(ips: Sequence[IPAddress], detail: str) -> str:
    """ClearAssignment: the addresses a Service loses and why."""
    return f"current IP {_quoted(ips)} not allowed by config, clearing: {detail}"


def load_balancer_failed_message(detail: str) -> str:
    """MetalLB's LoadBalancerFailed wording: a Service holding addresses requests IPs that cannot be read."""
    return f"invalid requested loadbalancer IPs: {detail}"


def deprecated_annotation_message(annotation: str) -> str:
    """MetalLB's deprecatedAnnotation wording (one Event per deprecated annotation key)."""
    return f"Service uses deprecated annotation {annotation}"


def node_assigned_message(node: str, protocol: str) -> str:
    """MetalLB's nodeAssigned wording (recorded by a speaker)."""
    return f"announcing from node {json.dumps(node)} with protocol {json.dumps(protocol)}"
