"""EventQueue against the API-server double: Events recorded off the write path, bounded, best effort."""

from __future__ import annotations

import pytest

from bgplb.adapters.k8s_event_reasons import (
    EventReason,
    deprecated_annotation_message,
    load_balancer_failed_message,
)
from bgplb.adapters.k8s_events import EventQueue, ObjectRef
from bgplb.adapters.k8s_status import StatusWriter
from bgplb.planning.snapshot import ServiceRef
from tests.k8s_double.helpers import background, serving

WEB = ServiceRef("default", "web")


async def test_queued_events_are_recorded_in_order_with_their_decision_time() -> None:
    done: list[tuple[EventReason, bool]] = []
    async with serving() as (api, client):
        queue = EventQueue(StatusWriter(client), workers=1, on_done=lambda r, ok: done.append((r, ok)))
        async with background(queue.run()):
            assert queue.put(WEB, EventReason.CLEAR_ASSIGNMENT, "cleared", now=0.0)
            assert queue.put(WEB, EventReason.IP_ALLOCATED, "assigned", now=60.0)
            assert await queue.drain(5)
        events = api.objects("events", namespace="default")
        assert [(e["reason"], e["message"], e["firstTimestamp"]) for e in events] == [
            ("ClearAssignment", "cleared", "1970-01-01T00:00:00Z"),
            ("IPAllocated", "assigned", "1970-01-01T00:01:00Z"),
        ]
        assert done == [(EventReason.CLEAR_ASSIGNMENT, True), (EventReason.IP_ALLOCATED, True)]
        assert (queue.recorded, queue.dropped) == (2, 0)


async def test_a_full_queue_drops_without_blocking() -> None:
    async with serving() as (api, client):
        queue = EventQueue(StatusWriter(client), size=2)
        accepted = [queue.put(WEB, EventReason.IP_ALLOCATED, f"m{i}") for i in range(5)]  # no worker yet
        assert accepted == [True, True, False, False, False]
        assert queue.dropped == 3
        async with background(queue.run()):
            assert await queue.drain(5)
            assert queue.put(WEB, EventReason.IP_ALLOCATED, "after")  # room again
            assert await queue.drain(5)
        assert sorted(e["message"] for e in api.objects("events", namespace="default")) == [
            "after",
            "m0",
            "m1",
        ]


async def test_a_refused_event_is_counted_and_the_workers_go_on() -> None:
    async with serving() as (api, client):
        api.failing[("POST", "/events")] = 403
        queue = EventQueue(StatusWriter(client), workers=2)
        async with background(queue.run()) as task:
            queue.put(WEB, EventReason.IP_ALLOCATED, "refused")
            assert await queue.drain(5)
            assert queue.dropped == 1
            del api.failing[("POST", "/events")]
            queue.put(WEB, EventReason.IP_ALLOCATED, "recorded")
            assert await queue.drain(5)
            assert not task.done()
        assert [e["message"] for e in api.objects("events", namespace="default")] == ["recorded"]


async def test_drain_is_bounded_and_sizes_are_checked() -> None:
    async with serving() as (_, client):
        queue = EventQueue(StatusWriter(client))
        queue.put(WEB, EventReason.IP_ALLOCATED, "nobody records this")
        assert await queue.drain(0.05) is False  # no worker runs: gives up after the timeout
        with pytest.raises(ValueError, match="workers >= 1"):
            EventQueue(StatusWriter(client), workers=0)


async def test_metallb_notices_are_warnings_with_metallb_wording() -> None:
    async with serving() as (api, client):
        queue = EventQueue(StatusWriter(client), workers=1)
        async with background(queue.run()):
            queue.put(
                WEB, EventReason.DEPRECATED_ANNOTATION, deprecated_annotation_message("metallb.universe.tf/x")
            )
            queue.put(
                WEB,
                EventReason.LOAD_BALANCER_FAILED,
                load_balancer_failed_message("spec.loadBalancerIP: bad"),
            )
            assert await queue.drain(5)
        assert [
            (e["reason"], e["type"], e["message"]) for e in api.objects("events", namespace="default")
        ] == [
            ("deprecatedAnnotation", "Warning", "Service uses deprecated annotation metallb.universe.tf/x"),
            ("LoadBalancerFailed", "Warning", "invalid requested loadbalancer IPs: spec.loadBalancerIP: bad"),
        ]


async def test_any_object_can_be_the_target_and_a_service_ref_still_works() -> None:
    async with serving() as (api, client):
        queue = EventQueue(StatusWriter(client), workers=1)
        state = ObjectRef("bgplb.io/v1alpha1", "ConfigurationState", "metallb-system", "controller", "u1")
        async with background(queue.run()):
            assert queue.put(state, EventReason.CONFIG_INVALID, "rejected", now=0.0)
            assert queue.put(WEB, EventReason.IP_ALLOCATED, "assigned", now=0.0)
            assert await queue.drain(5)
        [on_state] = api.objects("events", namespace="metallb-system")
        assert on_state["involvedObject"] == state.involved_object()
        assert (on_state["reason"], on_state["type"]) == ("ConfigInvalid", "Warning")
        [on_web] = api.objects("events", namespace="default")
        assert on_web["involvedObject"]["kind"] == "Service" and on_web["involvedObject"]["name"] == "web"
        assert (queue.recorded, queue.dropped) == (2, 0)
