"""Leader election on a Lease in the API-server double: one leader, failover, release, the Lease format."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from bgplb.adapters.leader_election import LeaderElector, LeaseSettings, micro_time
from tests.k8s_double.helpers import background, eventually, serving
from tests.k8s_double.server import ApiServerDouble
from tests.k8s_double.store import KIND_BY_PATH

LEASES = KIND_BY_PATH[("coordination.k8s.io", "leases")]
MICRO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def settings(identity: str) -> LeaseSettings:
    return LeaseSettings(identity=identity, lease_duration=0.6, renew_deadline=0.4, retry_period=0.05)


def lease(api: ApiServerDouble) -> dict[str, Any]:
    return api.store.get(LEASES, "metallb-system", "bgplb-controller")


async def test_two_candidates_exactly_one_leader_then_failover_after_expiry() -> None:
    async with serving() as (api, client):
        changes: dict[str, list[bool]] = {"a": [], "b": []}
        a = LeaderElector(client, settings("a"), changes["a"].append)
        b = LeaderElector(client, settings("b"), changes["b"].append)
        async with background(a.run(), "elector-a") as task_a, background(b.run(), "elector-b") as task_b:
            await eventually(lambda: a.is_leader or b.is_leader, what="a leader")
            for _ in range(20):  # over a full second: never two, never none
                assert a.is_leader != b.is_leader
                await asyncio.sleep(0.05)
            leader, follower = (a, b) if a.is_leader else (b, a)
            held = lease(api)["spec"]
            assert held["holderIdentity"] == leader.settings.identity
            assert held["leaseTransitions"] == 0
            (task_a if leader is a else task_b).cancel()  # a crash: no release
            crashed_at = asyncio.get_running_loop().time()
            await eventually(lambda: follower.is_leader, timeout=3.0, what="the failover")
            waited = asyncio.get_running_loop().time() - crashed_at
            assert waited >= 0.6 * 0.8, "took over before the lease could have expired"
            spec = lease(api)["spec"]
            assert spec["holderIdentity"] == follower.settings.identity
            assert spec["leaseTransitions"] == 1
            assert spec["leaseDurationSeconds"] == 1
            assert MICRO.match(spec["renewTime"]) and MICRO.match(spec["acquireTime"])
        assert changes[follower.settings.identity] == [True]


async def test_leader_without_renewals_steps_down_within_the_renew_deadline() -> None:
    async with serving() as (api, client):
        changes: list[bool] = []
        a = LeaderElector(client, settings("a"), changes.append)
        async with background(a.run()):
            await eventually(lambda: a.is_leader, what="leadership")
            api.failing[("GET", "/leases/bgplb-controller")] = 500
            failed_at = asyncio.get_running_loop().time()
            await eventually(lambda: not a.is_leader, timeout=2.0, what="stepping down")
            waited = asyncio.get_running_loop().time() - failed_at
            assert 0.3 <= waited < 1.0, "must step down after renew_deadline, before the lease (1 s) expires"
        assert changes == [True, False]


async def test_release_hands_over_without_waiting_for_expiry() -> None:
    async with serving() as (api, client):
        a = LeaderElector(
            client, LeaseSettings("a", lease_duration=30.0, renew_deadline=20.0, retry_period=0.05)
        )
        b = LeaderElector(
            client, LeaseSettings("b", lease_duration=30.0, renew_deadline=20.0, retry_period=0.05)
        )
        async with background(a.run()) as task_a:
            await eventually(lambda: a.is_leader, what="a leads")
            async with background(b.run()):
                await asyncio.sleep(0.2)
                assert not b.is_leader
                task_a.cancel()
                await asyncio.gather(task_a, return_exceptions=True)
                await a.release()
                assert lease(api)["spec"]["holderIdentity"] == ""
                await eventually(lambda: b.is_leader, timeout=1.0, what="b after the release")


def test_micro_time_is_rfc3339_with_microseconds() -> None:
    assert micro_time(1.5) == "1970-01-01T00:00:01.500000Z"
