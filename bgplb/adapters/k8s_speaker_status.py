"""A speaker's writes to Kubernetes: ServiceBGPStatus per announced Service, Events, its ConfigurationState.

`announced_services(plan)` reduces a node's plan to what it announces per Service over BGP: the BGPPeer
names and the prefixes (an address widened to the advertisement's aggregation length is found among the
routes handed to those peers). `SpeakerStatus` makes the cluster say the same thing, writing only changes:
- on its first pass it lists the ServiceBGPStatus objects this node left behind (a restart), so unchanged
  ones are not rewritten and stale ones are deleted;
- a new or changed Service gets `set_service_bgp_status`, a Service no longer announced here is deleted;
- a Service this process starts announcing gets the Event `nodeAssigned` (MetalLB's wording), once per
  start of announcement;
- `report_config` writes `speaker-<node>` ConfigurationState when the errors or the warning count change;
- `withdraw_all` deletes every object of this node (graceful shutdown: the routes are gone too).
All writes go through `k8s_status.StatusWriter` (409 handled by re-reading; Events best effort).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import ip_network

from bgplb.adapters.k8s_event_reasons import EventReason, node_assigned_message
from bgplb.adapters.k8s_events import ObjectRef
from bgplb.adapters.k8s_status import SERVICE_BGP_STATUS, StatusWriter, WriteOutcome
from bgplb.bgp.nlri import Prefix
from bgplb.errors import ConfigError
from bgplb.planning.announcement import NodeAnnouncements
from bgplb.planning.snapshot import IPAddress, ServiceRef

log = logging.getLogger(__name__)

PROTOCOL_BGP = "bgp"
PARALLEL = 8


@dataclass(frozen=True, slots=True)
class Announced:
    """What one node announces for one Service over BGP: peer names and prefixes, sorted."""

    peers: tuple[str, ...]
    prefixes: tuple[Prefix, ...]


def _sorted_prefixes(prefixes: Iterable[Prefix]) -> tuple[Prefix, ...]:
    return tuple(sorted(set(prefixes), key=lambda p: (p.version, p)))


def announced_services(plan: NodeAnnouncements) -> dict[ServiceRef, Announced]:
    """Per Service announced over BGP by this node: its peers and the prefixes that carry its addresses.

    Host routes (the usual case) are found by address; aggregates by widening the address to each length
    the peer's routes use."""
    hosts: dict[str, dict[IPAddress, Prefix]] = {}
    aggregates: dict[str, set[Prefix]] = {}
    lengths: dict[tuple[str, int], set[int]] = defaultdict(set)
    for session in plan.sessions:
        name = session.peer.name
        hosts[name], aggregates[name] = {}, set()
        for route in session.routes:
            prefix = route.prefix
            if prefix.prefixlen == prefix.max_prefixlen:
                hosts[name][prefix.network_address] = prefix
            else:
                aggregates[name].add(prefix)
                lengths[(name, prefix.version)].add(prefix.prefixlen)
    peers: dict[ServiceRef, set[str]] = defaultdict(set)
    found: dict[ServiceRef, set[Prefix]] = defaultdict(set)
    for decision in plan.decisions:
        if not decision.peers:
            continue
        peers[decision.service].update(decision.peers)
        for peer in decision.peers:
            host = hosts.get(peer, {}).get(decision.ip)
            if host is not None:
                found[decision.service].add(host)
            for length in lengths[(peer, decision.ip.version)]:
                prefix = ip_network(f"{decision.ip}/{length}", strict=False)
                if prefix in aggregates[peer]:
                    found[decision.service].add(prefix)
    return {
        ref: Announced(tuple(sorted(names)), _sorted_prefixes(found[ref])) for ref, names in peers.items()
    }


def read_announced(status: Mapping[str, object]) -> tuple[ServiceRef, Announced] | None:
    """A ServiceBGPStatus `status` read back (None when it names no Service); bad prefixes are dropped."""
    namespace, name = status.get("serviceNamespace"), status.get("serviceName")
    if not isinstance(namespace, str) or not isinstance(name, str) or not name:
        return None
    peers = status.get("peers")
    prefixes: list[Prefix] = []
    raw = status.get("prefixes")
    for text in raw if isinstance(raw, list) else []:
        try:
            prefixes.append(ip_network(str(text), strict=False))
        except ValueError:
            continue
    names = tuple(sorted(str(p) for p in peers)) if isinstance(peers, list) else ()
    return ServiceRef(namespace, name), Announced(names, _sorted_prefixes(prefixes))


async def _batched(jobs: list[Coroutine[object, object, None]]) -> None:
    """Await `jobs`, PARALLEL at a time (10,000 Services must not mean 10,000 round trips in a row); the
    first failure is raised once its batch has finished, and the jobs not started are dropped."""
    started = 0
    try:
        while started < len(jobs):
            batch = jobs[started : started + PARALLEL]
            started += len(batch)
            for result in await asyncio.gather(*batch, return_exceptions=True):
                if isinstance(result, BaseException):
                    raise result
    finally:
        for job in jobs[started:]:
            job.close()


class SpeakerStatus:
    """The status objects and Events of one node's speaker (see the module docstring)."""

    def __init__(
        self,
        writer: StatusWriter,
        namespace: str,
        node: str,
        *,
        on_write: Callable[[WriteOutcome], None] = lambda outcome: None,
        on_event: Callable[[EventReason], None] = lambda reason: None,
        uid_of: Callable[[ServiceRef], str | None] = lambda ref: None,
    ) -> None:
        self.writer = writer
        self.namespace = namespace
        self.node = node
        self.written: dict[ServiceRef, Announced] | None = None
        self.announcing: set[ServiceRef] = set()
        self._config: tuple[tuple[ConfigError, ...], int] | None = None
        self._on_write = on_write
        self._on_event = on_event
        self._uid_of = uid_of

    async def adopt(self) -> None:
        """Read the ServiceBGPStatus objects this node wrote before (e.g. before a restart)."""
        written: dict[ServiceRef, Announced] = {}
        async for obj in self.writer.client.list(SERVICE_BGP_STATUS, namespace=self.namespace):
            status = dict(obj).get("status") or {}
            if isinstance(status, Mapping) and status.get("node") == self.node:
                reading = read_announced(status)
                if reading is not None:
                    written[reading[0]] = reading[1]
        self.written = written

    async def publish(self, announced: Mapping[ServiceRef, Announced]) -> None:
        """Make this node's ServiceBGPStatus objects match `announced`; nodeAssigned for new Services."""
        if self.written is None:
            await self.adopt()
        assert self.written is not None
        new = sorted(announced.keys() - self.announcing)
        self.announcing = set(announced)
        await _batched([self._assigned(ref) for ref in new])
        changed = [(ref, a) for ref, a in sorted(announced.items()) if self.written.get(ref) != a]
        await _batched([self._set(ref, wanted) for ref, wanted in changed])
        await _batched([self._delete(ref) for ref in sorted(self.written.keys() - announced.keys())])

    async def _assigned(self, ref: ServiceRef) -> None:
        message = node_assigned_message(self.node, PROTOCOL_BGP)
        target = ObjectRef.service(ref, self._uid_of(ref))  # with its uid, `kubectl describe` lists it
        if await self.writer.emit(target, EventReason.NODE_ASSIGNED, message):
            self._on_event(EventReason.NODE_ASSIGNED)

    async def _set(self, ref: ServiceRef, wanted: Announced) -> None:
        assert self.written is not None
        prefixes = [str(p) for p in wanted.prefixes]
        outcome = await self.writer.set_service_bgp_status(
            self.namespace, ref, self.node, wanted.peers, prefixes, absent=ref not in self.written
        )
        self._on_write(outcome)
        if outcome is not WriteOutcome.CONFLICT:  # a conflict every time: tried again on the next pass
            self.written[ref] = wanted

    async def _delete(self, ref: ServiceRef) -> None:
        assert self.written is not None
        outcome = await self.writer.delete_service_bgp_status(self.namespace, ref, self.node)
        self._on_write(outcome)
        self.written.pop(ref, None)

    async def withdraw_all(self) -> None:
        """Delete every ServiceBGPStatus of this node (after its routes were withdrawn)."""
        self.announcing.clear()
        await _batched([self._delete(ref) for ref in sorted(self.written or {})])

    async def report_config(self, errors: Sequence[ConfigError], warnings: int, now: float) -> None:
        """This node's ConfigurationState, written when the errors or the warning count changed."""
        key = (tuple(errors), warnings)
        if key == self._config:
            return
        outcome = await self.writer.set_configuration_state(self.namespace, self.node, errors, warnings, now)
        self._on_write(outcome)
        if outcome is not WriteOutcome.CONFLICT:
            self._config = key
