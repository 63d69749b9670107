"""MetalLB's two notices about a Service's request, each recorded once per Service and condition.

- deprecatedAnnotation (Warning): the Service uses an old `metallb.universe.tf/` request annotation
  (address-pool, allow-shared-ip, loadBalancerIPs), one Event per key. MetalLB's own old record
  `metallb.universe.tf/ip-allocated-from-pool` is not a request: the status writer replaces it.
- LoadBalancerFailed (Warning): a Service that keeps its addresses requests IPs that cannot be read (without
  addresses the same request is an AllocationFailed).
`Notices.queue` runs in the controller's pass with no I/O: it hands the Events to `put` (the EventQueue) and
remembers what it reported; `reset()` forgets it (a new leader reports current conditions once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from bgplb.adapters.k8s_event_reasons import (
    EventReason,
    deprecated_annotation_message,
    load_balancer_failed_message,
)
from bgplb.adapters.k8s_events import ObjectRef
from bgplb.adapters.k8s_watch import Obj
from bgplb.planning.allocation import Allocation
from bgplb.planning.snapshot import Service, ServiceRef
from bgplb.runtime.mirror_memo import MirrorMemo

log = logging.getLogger(__name__)

DEPRECATED_ANNOTATIONS = frozenset(
    {
        "metallb.universe.tf/address-pool",
        "metallb.universe.tf/allow-shared-ip",
        "metallb.universe.tf/loadBalancerIPs",
    }
)
"""The request annotations MetalLB renamed; each has a `metallb.io/` replacement."""


def deprecated_keys(service: Obj | None) -> frozenset[str]:
    """The deprecated `metallb.universe.tf/` request annotations a Service manifest carries."""
    annotations = ((service or {}).get("metadata") or {}).get("annotations") or {}
    return DEPRECATED_ANNOTATIONS.intersection(str(k) for k in annotations)


class Notices:
    """What the leader reported of deprecated annotations and unreadable requests (module docstring)."""

    def __init__(self, put: Callable[[ObjectRef, EventReason, str], object]) -> None:
        self._put = put
        self._deprecated: dict[ServiceRef, frozenset[str]] = {}  # deprecated annotation keys reported
        self._invalid: dict[ServiceRef, str] = {}  # LoadBalancerFailed reported: the unreadable request
        self._keys: MirrorMemo[frozenset[str]] = MirrorMemo()

    def reset(self) -> None:
        """Forget what was reported (a new leader)."""
        self._deprecated.clear()
        self._invalid.clear()

    def queue(
        self,
        handled: Sequence[ServiceRef],
        services: Mapping[ServiceRef, Service],
        allocation: Allocation,
        mirrored: Callable[[ServiceRef], Obj | None],
        target: Callable[[ServiceRef], ObjectRef],
    ) -> None:
        """Queue the notices not reported yet for the Services `handled` this pass."""
        deprecated: dict[ServiceRef, frozenset[str]] = {}
        invalid: dict[ServiceRef, str] = {}
        for ref in handled:
            manifest = mirrored(ref)
            old = self._keys.get(ref, manifest, (), partial(deprecated_keys, manifest))
            if old:
                deprecated[ref] = old
            for key in sorted(old - self._deprecated.get(ref, frozenset())):
                log.warning("Service %s uses the deprecated annotation %s", ref, key)
                self._put(target(ref), EventReason.DEPRECATED_ANNOTATION, deprecated_annotation_message(key))
            problem = services[ref].invalid_request
            if problem is not None and ref in allocation.assignments:
                invalid[ref] = problem
                if self._invalid.get(ref) != problem:
                    log.warning("Service %s keeps its addresses but requests invalid IPs: %s", ref, problem)
                    message = load_balancer_failed_message(problem)
                    self._put(target(ref), EventReason.LOAD_BALANCER_FAILED, message)
        self._deprecated, self._invalid = deprecated, invalid
        self._keys.retain(services.keys())
