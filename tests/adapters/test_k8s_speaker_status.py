"""The speaker's status writes: announced_services (pure), and SpeakerStatus against the API-server double."""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from typing import Any

from bgplb.adapters.k8s_speaker_status import Announced, SpeakerStatus, announced_services, read_announced
from bgplb.adapters.k8s_status import StatusWriter, WriteOutcome
from bgplb.bgp.routes import Route
from bgplb.config.models import BgpPeer
from bgplb.errors import ConfigError
from bgplb.planning.announcement import Decision, NodeAnnouncements, NotAnnounced, PeerRoutes
from bgplb.planning.snapshot import ServiceRef
from tests.k8s_double.helpers import serving
from tests.k8s_double.server import ApiServerDouble
from tests.k8s_double.store import KIND_BY_PATH

NS = "metallb-system"
WEB, API = ServiceRef("default", "web"), ServiceRef("default", "api")
STATUSES = KIND_BY_PATH[("bgplb.io", "servicebgpstatuses")]


def bgp_peer(name: str) -> BgpPeer:
    return BgpPeer(name=name, namespace=NS, my_asn=64501, peer_asn=64500, peer_address=ip_address("10.0.0.1"))


def plan() -> NodeAnnouncements:
    """web: .10 to both peers (a /32 to r1, a /24 aggregate to r2); api: not announced; v6 to r1."""
    r1 = PeerRoutes(
        bgp_peer("r1"),
        (Route(prefix=ip_network("192.0.2.10/32")), Route(prefix=ip_network("2001:db8::10/128"))),
    )
    r2 = PeerRoutes(bgp_peer("r2"), (Route(prefix=ip_network("192.0.2.0/24")),))
    decisions = (
        Decision(WEB, ip_address("192.0.2.10"), "lan", peers=("r1", "r2")),
        Decision(WEB, ip_address("2001:db8::10"), "lan6", peers=("r1",)),
        Decision(API, ip_address("192.0.2.11"), "lan", reason=NotAnnounced.NO_LOCAL_ENDPOINT),
    )
    return NodeAnnouncements("node-1", (r1, r2), (), decisions)


def test_announced_services_finds_each_prefix_per_peer() -> None:
    announced = announced_services(plan())
    assert announced == {
        WEB: Announced(
            ("r1", "r2"),
            (ip_network("192.0.2.0/24"), ip_network("192.0.2.10/32"), ip_network("2001:db8::10/128")),
        )
    }


def test_read_announced_round_trips_and_drops_garbage() -> None:
    status = {
        "node": "n",
        "serviceNamespace": "default",
        "serviceName": "web",
        "peers": ["r2", "r1"],
        "prefixes": ["192.0.2.10/32", "bogus"],
    }
    assert read_announced(status) == (WEB, Announced(("r1", "r2"), (ip_network("192.0.2.10/32"),)))
    assert read_announced({"node": "n"}) is None


def objects(api: ApiServerDouble) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in api.objects("servicebgpstatuses", group="bgplb.io")}


async def test_publish_writes_changes_only_and_deletes_what_is_gone() -> None:
    async with serving() as (api, client):
        outcomes: list[WriteOutcome] = []
        status = SpeakerStatus(StatusWriter(client), NS, "node-1", on_write=outcomes.append)
        web = Announced(("r1",), (ip_network("192.0.2.10/32"),))
        await status.publish({WEB: web})
        await status.publish({WEB: web})
        assert outcomes == [WriteOutcome.WRITTEN]  # the second pass wrote nothing
        first = objects(api)["default.web.node-1"]
        assert first["status"]["prefixes"] == ["192.0.2.10/32"]
        await status.publish({WEB: Announced(("r1", "r2"), web.prefixes), API: web})
        assert set(objects(api)) == {"default.web.node-1", "default.api.node-1"}
        assert objects(api)["default.web.node-1"]["status"]["peers"] == ["r1", "r2"]
        await status.publish({API: web})
        assert set(objects(api)) == {"default.api.node-1"}
        events = [e for e in api.objects("events") if e["reason"] == "nodeAssigned"]
        assert sorted(e["involvedObject"]["name"] for e in events) == ["api", "web"]
        await status.publish({WEB: web, API: web})  # web starts announcing again: a new Event
        assert len([e for e in api.objects("events") if e["reason"] == "nodeAssigned"]) == 3
        await status.withdraw_all()
        assert objects(api) == {}


async def test_refused_events_do_not_stop_the_status_write() -> None:
    async with serving() as (api, client):
        api.failing[("POST", "/events")] = 403
        status = SpeakerStatus(StatusWriter(client), NS, "node-1")
        await status.publish({WEB: Announced(("r1",), (ip_network("192.0.2.10/32"),))})
        assert set(objects(api)) == {"default.web.node-1"}
        assert status.announcing == {WEB}


async def test_a_conflict_on_every_attempt_is_retried_on_the_next_pass() -> None:
    async with serving() as (api, client):
        writer = StatusWriter(client, attempts=1)
        status = SpeakerStatus(writer, NS, "node-1")
        web = Announced(("r1",), (ip_network("192.0.2.10/32"),))

        def concurrent_writer(store: Any) -> None:
            store.patch(STATUSES, NS, "default.web.node-1", {"metadata": {"labels": {"x": "y"}}})

        await status.publish({})  # adopt (nothing yet)
        api.store.create(
            STATUSES, NS, {"metadata": {"name": "default.web.node-1", "namespace": NS}, "spec": {}}
        )
        api.on_next("PUT", "/default.web.node-1/status", concurrent_writer)
        await status.publish({WEB: web})
        assert writer.conflicts == 1
        assert "prefixes" not in (objects(api)["default.web.node-1"].get("status") or {})
        await status.publish({WEB: web})
        stored = objects(api)["default.web.node-1"]
        assert stored["status"]["prefixes"] == ["192.0.2.10/32"]
        assert stored["metadata"]["labels"] == {"x": "y"}  # the other writer's change survived


async def test_report_config_writes_when_the_errors_change() -> None:
    async with serving() as (api, client):
        outcomes: list[WriteOutcome] = []
        status = SpeakerStatus(StatusWriter(client), NS, "node-1", on_write=outcomes.append)
        error = ConfigError("IPAddressPool", f"{NS}/lan", "spec.addresses[0]", "not an address range")
        await status.report_config([], 0, now=1000.0)
        await status.report_config([], 0, now=1001.0)
        await status.report_config([error], 2, now=1002.0)
        assert outcomes == [WriteOutcome.WRITTEN, WriteOutcome.WRITTEN]
        [state] = api.objects("configurationstates", group="bgplb.io", namespace=NS)
        assert state["metadata"]["name"] == "speaker-node-1"
        assert state["spec"] == {"type": "Speaker", "nodeName": "node-1"}
        assert state["status"]["validConfig"] is False
        assert state["status"]["errors"] == [
            {
                "kind": "IPAddressPool",
                "name": f"{NS}/lan",
                "field": "spec.addresses[0]",
                "reason": "not an address range",
            }
        ]
        assert state["status"]["warningCount"] == 2
