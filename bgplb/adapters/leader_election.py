"""Leader election on a coordination.k8s.io/v1 Lease, so that two controller replicas never allocate at once.

The algorithm is client-go's: every `retry_period` each candidate reads the Lease. It takes (or renews) it
when it is the holder, when nobody holds it, or when the record has not changed for `lease_duration` seconds
of the candidate's *own* clock — the expiry is measured from when this candidate observed the record change,
not from the holder's renewTime, so clock skew between nodes cannot hand the lease to two candidates. A take
or renewal is a replace carrying the resourceVersion just read: of two candidates racing for an expired
lease one gets 409 Conflict and stays a follower. Times are written as RFC 3339 with microseconds
(MicroTime); `leaseTransitions` counts changes of holder.

A leader that cannot renew within `renew_deadline` steps down (calls `on_change(False)`) before the lease can
expire for the others. `release()` (on orderly shutdown) empties holderIdentity so a standby takes over at
once instead of after `lease_duration`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx2
from lightkube import ApiError, AsyncClient

from bgplb.adapters.k8s_watch import Obj, namespaced_resource

log = logging.getLogger(__name__)

LEASE = namespaced_resource("coordination.k8s.io", "v1", "Lease", "leases")


def micro_time(now: float) -> str:
    """RFC 3339 with microseconds, UTC (metav1.MicroTime)."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class LeaseSettings:
    """Which Lease, who we are, and the timings (client-go's defaults: 15 s, 10 s, 2 s)."""

    identity: str
    name: str = "bgplb-controller"
    namespace: str = "metallb-system"
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


class LeaderElector:
    """One candidate; `run()` forever, `is_leader` tells, `on_change(bool)` is called on every transition."""

    def __init__(
        self,
        client: AsyncClient,
        settings: LeaseSettings,
        on_change: Callable[[bool], None] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.settings = settings
        self.on_change = on_change
        self.clock = clock
        self.wall_clock = wall_clock
        self.is_leader = False
        self.leading = asyncio.Event()
        self.transitions = 0
        self._observed: tuple[object, float] | None = None  # (holder record, when we saw it change)
        self._last_renew = 0.0
        self.holder = ""  # the holder we last saw

    async def run(self) -> None:
        """Try to acquire or renew every retry_period, until cancelled."""
        while True:
            try:
                ok = await self.try_acquire_or_renew()
            except (ApiError, httpx2.HTTPError, OSError) as exc:
                log.warning("lease %s/%s: %r", self.settings.namespace, self.settings.name, exc)
                ok = False
            if ok:
                self._last_renew = self.clock()
                self._set(True)
            elif (
                self.holder not in ("", self.settings.identity)
                or self.clock() - self._last_renew >= self.settings.renew_deadline
            ):
                self._set(False)
            await asyncio.sleep(self.settings.retry_period)

    def _set(self, leader: bool) -> None:
        if leader == self.is_leader:
            return
        self.is_leader = leader
        self.transitions += 1
        if leader:
            self.leading.set()
        else:
            self.leading.clear()
        log.info(
            "%s %s leadership of lease %s/%s",
            self.settings.identity,
            "acquired" if leader else "lost",
            self.settings.namespace,
            self.settings.name,
        )
        if self.on_change is not None:
            self.on_change(leader)

    def _new_spec(self, spec: Obj, taking: bool) -> Obj:
        now = micro_time(self.wall_clock())
        transitions = int(spec.get("leaseTransitions") or 0)
        return {
            **spec,
            "holderIdentity": self.settings.identity,
            "leaseDurationSeconds": max(1, round(self.settings.lease_duration)),
            "acquireTime": now if taking else spec.get("acquireTime", now),
            "renewTime": now,
            "leaseTransitions": transitions + 1 if taking and spec else transitions,
        }

    async def try_acquire_or_renew(self) -> bool:
        """One round: True when we hold the lease afterwards."""
        ns, name = self.settings.namespace, self.settings.name
        try:
            lease: Obj = dict(await self.client.get(LEASE, name, namespace=ns))
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            body = {"metadata": {"name": name, "namespace": ns}, "spec": self._new_spec({}, taking=True)}
            try:
                await self.client.create(LEASE.from_dict(body))
            except ApiError as create_error:
                if create_error.status.code == 409:  # another candidate created it first
                    return False
                raise
            self.holder = self.settings.identity
            return True
        spec: Obj = dict(lease.get("spec") or {})
        holder = spec.get("holderIdentity") or ""
        self.holder = holder
        record = (holder, spec.get("renewTime"), spec.get("leaseDurationSeconds"))
        now = self.clock()
        if self._observed is None or self._observed[0] != record:
            self._observed = (record, now)
        mine = holder == self.settings.identity
        duration = float(spec.get("leaseDurationSeconds") or self.settings.lease_duration)
        if holder and not mine and now - self._observed[1] < duration:
            return False
        lease["spec"] = self._new_spec(spec, taking=not mine)
        try:
            await self.client.replace(LEASE.from_dict(lease))
            self.holder = self.settings.identity
        except ApiError as exc:
            if exc.status.code == 409:
                return False
            raise
        return True

    async def release(self) -> None:
        """Give the lease up (only if we hold it), so a standby need not wait for it to expire."""
        if not self.is_leader:
            return
        try:
            lease: Obj = dict(
                await self.client.get(LEASE, self.settings.name, namespace=self.settings.namespace)
            )
            spec = dict(lease.get("spec") or {})
            if spec.get("holderIdentity") == self.settings.identity:
                spec.update(
                    holderIdentity="", leaseDurationSeconds=1, renewTime=micro_time(self.wall_clock())
                )
                lease["spec"] = spec
                await self.client.replace(LEASE.from_dict(lease))
        except (ApiError, httpx2.HTTPError, OSError) as exc:
            log.warning("could not release lease %s/%s: %r", self.settings.namespace, self.settings.name, exc)
        self._set(False)
