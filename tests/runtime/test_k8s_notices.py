"""Notices: which annotations are deprecated requests, and each notice once per Service and condition."""

from __future__ import annotations

from ipaddress import ip_address

from bgplb.adapters.k8s_event_reasons import EventReason
from bgplb.adapters.k8s_events import ObjectRef
from bgplb.planning.allocation import Allocation, Assignment
from bgplb.planning.snapshot import Service, ServiceRef
from bgplb.runtime.k8s_notices import Notices, deprecated_keys

WEB = ServiceRef("default", "web")


def manifest(**annotations: str) -> dict[str, object]:
    return {"metadata": {"name": "web", "namespace": "default", "annotations": annotations}}


def test_only_the_renamed_request_annotations_are_deprecated() -> None:
    old = manifest(
        **{
            "metallb.universe.tf/address-pool": "a",
            "metallb.universe.tf/ip-allocated-from-pool": "a",  # MetalLB's own record, not a request
            "metallb.io/loadBalancerIPs": "10.0.0.1",
        }
    )
    assert deprecated_keys(old) == {"metallb.universe.tf/address-pool"}
    assert deprecated_keys(None) == frozenset()


def test_each_notice_once_and_again_after_reset() -> None:
    queued: list[tuple[ObjectRef, EventReason, str]] = []
    notices = Notices(lambda target, reason, message: queued.append((target, reason, message)))
    obj = manifest(**{"metallb.universe.tf/allow-shared-ip": "k"})
    services = {WEB: Service(WEB, invalid_request="spec.loadBalancerIP: 'x' is not an IP address")}
    assignments = {WEB: Assignment((ip_address("10.0.0.1"),), "lan")}
    allocation = Allocation(assignments=assignments, failures={}, released={}, usage=())

    def run() -> None:
        notices.queue([WEB], services, allocation, lambda ref: obj, ObjectRef.service)

    run()
    run()
    assert [reason for _, reason, _ in queued] == [
        EventReason.DEPRECATED_ANNOTATION,
        EventReason.LOAD_BALANCER_FAILED,
    ]
    notices.reset()  # a new leader reports the current conditions once
    run()
    assert len(queued) == 4
