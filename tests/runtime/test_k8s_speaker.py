"""The Kubernetes speaker against the API-server double (real HTTP), with the BGP side recorded.

`RecordingSessions` stands in for runtime.speaker.SpeakerLoop: it hands each planned peer its routes through
the transport's `RecordingBgpPort` fake, so the tests see exactly the desired routes per peer address.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from ipaddress import ip_address, ip_network
from typing import Any

from bgplb.adapters.bgp_transport import PeerStatus, RecordingBgpPort
from bgplb.adapters.metrics import Metrics
from bgplb.adapters.tcp_options import IpAddress
from bgplb.bgp.constants import IPV4_UNICAST, MessageType
from bgplb.bgp.fsm import State
from bgplb.bgp.routes import Route
from bgplb.bgp.stats import Counters
from bgplb.planning.announcement import NodeAnnouncements
from bgplb.planning.snapshot import Node
from bgplb.runtime.k8s_config_source import ConfigSource
from bgplb.runtime.k8s_speaker import K8sSpeaker, SpeakerOptions
from bgplb.runtime.speaker import PeerKey, SessionView
from tests.k8s_double.helpers import eventually, serving
from tests.k8s_double.server import ApiServerDouble
from tests.k8s_double.store import KIND_BY_PATH
from tests.runtime.k8s_objects import (
    NS,
    advertisement,
    cluster,
    endpoint_slice,
    node,
    peer,
    pool,
    seed,
    service,
)

PEER = ip_address("10.0.0.1")
SERVICES = KIND_BY_PATH[("", "services")]
SLICES = KIND_BY_PATH[("discovery.k8s.io", "endpointslices")]
POOLS = KIND_BY_PATH[("metallb.io", "ipaddresspools")]
PEERS = KIND_BY_PATH[("metallb.io", "bgppeers")]


@dataclass
class RecordingSessions:
    """The speaker's BGP side, recorded: routes per peer address, passwords, whether stopped."""

    port: RecordingBgpPort = field(default_factory=RecordingBgpPort)
    errors: dict[PeerKey, str] = field(default_factory=dict)
    passwords: dict[IpAddress, str | None] = field(default_factory=dict)
    stopped: bool = False
    plan: NodeAnnouncements | None = None

    async def apply(self, plan: NodeAnnouncements, node: Node | None) -> None:
        self.plan = plan
        wanted = set()
        for session in plan.sessions:
            assert session.peer.peer_address is not None
            self.port.set_routes(session.peer.peer_address, session.routes)
            self.passwords[session.peer.peer_address] = session.peer.password
            wanted.add(session.peer.peer_address)
        for address in set(self.port.routes) - wanted:
            del self.port.routes[address]

    def sessions(self) -> list[SessionView]:
        """Every planned peer as an Established session that sent one UPDATE per set_routes call."""
        views = []
        for planned in self.plan.sessions if self.plan is not None else ():
            assert planned.peer.peer_address is not None
            counters = Counters(messages_out=Counter({MessageType.UPDATE: self.port.calls}))
            stats = counters.snapshot(
                state=State.ESTABLISHED,
                prefixes_received={},
                prefixes_sent={IPV4_UNICAST: len(planned.routes)},
                prefixes_stale=0,
                routes_unresolved=0,
            )
            status = PeerStatus(planned.peer.peer_address, State.ESTABLISHED, True, 12.0, stats)
            views.append(SessionView(planned.peer, status, planned.routes))
        return views

    async def stop(self) -> None:
        self.stopped = True

    def prefixes(self, address: IpAddress = PEER) -> set[str]:
        return {str(r.prefix) for r in self.port.routes.get(address, ())}


@contextlib.asynccontextmanager
async def running(
    api: ApiServerDouble, client: Any, **options: Any
) -> AsyncIterator[tuple[K8sSpeaker, RecordingSessions]]:
    sessions = RecordingSessions()
    speaker = K8sSpeaker(
        client,
        SpeakerOptions(node="node-1", namespace=NS, http_port=0, http_host="127.0.0.1", **options),
        sessions=sessions,
        metrics=Metrics(),
    )
    await speaker.start()
    try:
        yield speaker, sessions
    finally:
        await speaker.shutdown()


def bgp_statuses(api: ApiServerDouble) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o["status"] for o in api.objects("servicebgpstatuses", group="bgplb.io")}


def node_assigned(api: ApiServerDouble) -> list[dict[str, Any]]:
    return [e for e in api.objects("events") if e["reason"] == "nodeAssigned"]


async def http_get(port: int, path: str) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


async def test_service_with_ip_and_endpoints_becomes_the_peers_route_with_status_and_event() -> None:
    async with serving() as (api, client):
        cluster(api)
        seed(api, service("web", "192.168.10.240"), endpoint_slice("web", "node-2"))
        async with running(api, client) as (speaker, sessions):
            await eventually(lambda: sessions.prefixes() == {"192.168.10.240/32"}, what="the route")
            [route] = sessions.port.routes[PEER]
            assert route == Route(prefix=ip_network("192.168.10.240/32"))
            await eventually(lambda: "default.web.node-1" in bgp_statuses(api), what="ServiceBGPStatus")
            assert bgp_statuses(api)["default.web.node-1"] == {
                "node": "node-1",
                "serviceName": "web",
                "serviceNamespace": "default",
                "peers": ["router"],
                "prefixes": ["192.168.10.240/32"],
            }
            [event] = node_assigned(api)
            assert event["involvedObject"]["name"] == "web"
            assert event["message"] == 'announcing from node "node-1" with protocol "bgp"'
            [state] = api.objects("configurationstates", group="bgplb.io", namespace=NS)
            assert state["metadata"]["name"] == "speaker-node-1"
            assert state["status"]["validConfig"] is True
            # a second Service without any endpoint is not announced and gets no status object
            api.store.create(SERVICES, "default", service("idle", None))
            api.store.patch(
                SERVICES,
                "default",
                "idle",
                {"status": {"loadBalancer": {"ingress": [{"ip": "192.168.10.241"}]}}},
                subresource="status",
            )
            await eventually(
                lambda: speaker.plan is not None and len(speaker.plan.decisions) == 2, what="the second pass"
            )
            assert sessions.prefixes() == {"192.168.10.240/32"}
            assert set(bgp_statuses(api)) == {"default.web.node-1"}
            assert len(node_assigned(api)) == 1  # not repeated on later passes
        # graceful shutdown: the sessions were stopped and this node's status objects removed
        assert sessions.stopped
        assert bgp_statuses(api) == {}


async def test_local_policy_follows_the_endpoint_slice() -> None:
    async with serving() as (api, client):
        cluster(api)
        seed(api, service("web", "192.168.10.240", policy="Local"), endpoint_slice("web", "node-2"))
        async with running(api, client) as (speaker, sessions):
            await eventually(lambda: speaker.plan is not None, what="the first pass")
            [decision] = speaker.plan.decisions if speaker.plan else []
            assert decision.reason is not None and decision.reason.value == "NoLocalEndpoint"
            assert sessions.prefixes() == set()
            api.store.update(SLICES, "default", "web-abcde", endpoint_slice("web", "node-2", "node-1"))
            await eventually(lambda: sessions.prefixes() == {"192.168.10.240/32"}, what="the route")
            await eventually(lambda: len(node_assigned(api)) == 1, what="nodeAssigned")
            (mirrored,) = [s for s in api.objects("services") if s["metadata"]["name"] == "web"]
            # the Service's uid, so that `kubectl describe service web` lists the Event
            assert node_assigned(api)[0]["involvedObject"]["uid"] == mirrored["metadata"]["uid"]
            api.store.update(SLICES, "default", "web-abcde", endpoint_slice("web", "node-2"))
            await eventually(lambda: sessions.prefixes() == set(), what="the withdrawal")
            await eventually(lambda: bgp_statuses(api) == {}, what="the status object deleted")


async def test_invalid_config_keeps_the_last_good_one_and_reports_kind_name_field() -> None:
    async with serving() as (api, client):
        cluster(api)
        seed(api, service("web", "192.168.10.240"), endpoint_slice("web", "node-1"))
        async with running(api, client) as (speaker, sessions):
            await eventually(lambda: sessions.prefixes() == {"192.168.10.240/32"}, what="the route")
            api.store.update(POOLS, NS, "lan", pool("lan", "192.168.10.0/24", "not-an-address"))
            await eventually(
                lambda: speaker.build is not None and speaker.build.config is None, what="reject"
            )

            def state() -> dict[str, Any]:
                [obj] = api.objects("configurationstates", group="bgplb.io", namespace=NS)
                status: dict[str, Any] = obj["status"]
                return status

            await eventually(lambda: state()["validConfig"] is False, what="ConfigurationState")
            [error] = state()["errors"]
            assert error["kind"] == "IPAddressPool"
            assert error["name"] == f"{NS}/lan"
            assert error["field"] == "spec.addresses[1]"
            assert state()["lastError"].startswith("configuration rejected")
            assert speaker.metrics.config_stale._value.get() == 1
            # the last good configuration still announces, also after a change elsewhere
            api.store.create(SERVICES, "default", service("second", None))
            await eventually(
                lambda: speaker.plan is not None and len(speaker.plan.decisions) == 1, what="pass"
            )
            assert sessions.prefixes() == {"192.168.10.240/32"}
            api.store.update(POOLS, NS, "lan", pool("lan", "192.168.20.0/24"))
            await eventually(lambda: state()["validConfig"] is True, what="valid again")
            await eventually(lambda: sessions.prefixes() == set(), what="the new pool in force")
            assert speaker.metrics.config_stale._value.get() == 0


async def test_password_secret_reaches_the_session_and_lb_class_filters() -> None:
    async with serving() as (api, client):
        cluster(api)
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "router-md5", "namespace": NS},
            "data": {"password": base64.b64encode(b"s3cret").decode()},
        }
        seed(
            api,
            secret,
            service("web", "192.168.10.240"),
            service("classy", "192.168.10.241", loadBalancerClass="example.com/lb"),
            endpoint_slice("web", "node-1"),
            endpoint_slice("classy", "node-1"),
        )
        api.store.update(
            PEERS, NS, "router", peer("router", "10.0.0.1", passwordSecret={"name": "router-md5"})
        )
        async with running(api, client, lb_class="example.com/lb") as (_, sessions):
            await eventually(lambda: sessions.prefixes() == {"192.168.10.241/32"}, what="only the class")
            assert sessions.passwords[PEER] == "s3cret"


async def test_restart_adopts_its_status_objects_and_deletes_stale_ones() -> None:
    async with serving() as (api, client):
        cluster(api)
        seed(api, service("web", "192.168.10.240"), endpoint_slice("web", "node-1"))
        statuses = KIND_BY_PATH[("bgplb.io", "servicebgpstatuses")]
        for name, svc, node_name in (
            ("web", "web", "node-1"),
            ("gone", "gone", "node-1"),
            ("other", "web", "node-2"),
        ):
            body = {
                "metadata": {"name": f"default.{name}.{node_name}", "namespace": NS},
                "spec": {},
                "status": {
                    "node": node_name,
                    "serviceName": svc,
                    "serviceNamespace": "default",
                    "peers": ["router"],
                    "prefixes": ["192.168.10.240/32"],
                },
            }
            api.store.create(statuses, NS, body, keep_status=True)
        before = {
            o["metadata"]["name"]: o["metadata"]["resourceVersion"]
            for o in api.objects("servicebgpstatuses", group="bgplb.io")
        }
        async with running(api, client) as (speaker, sessions):
            await eventually(lambda: "default.gone.node-1" not in bgp_statuses(api), what="stale deleted")
            after = {
                o["metadata"]["name"]: o["metadata"]["resourceVersion"]
                for o in api.objects("servicebgpstatuses", group="bgplb.io")
            }
            assert after == {k: v for k, v in before.items() if k != "default.gone.node-1"}  # no rewrite
            assert sessions.prefixes() == {"192.168.10.240/32"}
            assert speaker.ready()


async def test_http_endpoint_serves_readiness_status_and_metrics() -> None:
    async with serving() as (api, client):
        cluster(api)
        seed(api, service("web", "192.168.10.240"), endpoint_slice("web", "node-1"))
        async with running(api, client) as (speaker, sessions):
            port = speaker.http.port
            await eventually(lambda: sessions.prefixes() != set(), what="the route")
            assert (await http_get(port, "/readyz"))[0] == 200
            code, body = await http_get(port, "/status/services")
            assert code == 200
            [row] = json.loads(body)["services"]
            assert row["service"] == "default/web" and row["announced"] == ["bgp:router"]
            code, body = await http_get(port, "/status/config")
            assert json.loads(body)["config"]["running"] is True
            assert (await http_get(port, "/status/nope"))[0] == 404
            code, body = await http_get(port, "/metrics")
            assert code == 200
            assert "bgplb_k8s_client_config_loaded_bool 1.0" in body
            assert 'bgplb_k8s_events_total{reason="nodeAssigned"} 1.0' in body
            assert 'bgplb_bgp_session_up{peer="10.0.0.1:179"} 1.0' in body
            assert 'bgplb_bgp_announced_prefixes_total{peer="10.0.0.1:179"} 1.0' in body
            assert 'bgplb_bgp_updates_total{peer="10.0.0.1:179"} 1.0' in body
            code, body = await http_get(port, "/status/sessions")
            [session] = json.loads(body)["sessions"]
            assert session["peer"] == "router" and session["state"] == "Established"


async def test_not_ready_and_silent_until_the_cache_is_synced() -> None:
    async with serving() as (api, client):
        cluster(api)
        seed(api, service("web", "192.168.10.240"), endpoint_slice("web", "node-1"))
        api.failing[("GET", "/endpointslices")] = 503  # the EndpointSlice list keeps failing
        async with running(api, client) as (speaker, sessions):
            port = speaker.http.port
            await eventually(lambda: speaker.loop.passes >= 1, what="a pass")
            await asyncio.sleep(0.2)
            assert (await http_get(port, "/readyz"))[0] == 503
            assert sessions.port.calls == 0  # nothing planned from a partial cache
            assert bgp_statuses(api) == {}
            del api.failing[("GET", "/endpointslices")]
            await eventually(lambda: sessions.prefixes() == {"192.168.10.240/32"}, timeout=10, what="route")
            assert (await http_get(port, "/readyz"))[0] == 200


async def test_two_advertisements_aggregate_into_the_status_prefixes() -> None:
    async with serving() as (api, client):
        cluster(api)
        seed(
            api,
            advertisement("agg", "lan", aggregationLength=24),
            service("web", "192.168.10.240"),
            endpoint_slice("web", "node-1"),
        )
        async with running(api, client) as (_, sessions):
            await eventually(lambda: len(sessions.prefixes()) == 2, what="both prefixes")
            assert sessions.prefixes() == {"192.168.10.240/32", "192.168.10.0/24"}
            await eventually(lambda: "default.web.node-1" in bgp_statuses(api), what="status")
            assert bgp_statuses(api)["default.web.node-1"]["prefixes"] == [
                "192.168.10.0/24",
                "192.168.10.240/32",
            ]


async def test_refused_status_writes_leave_the_routes_and_are_retried() -> None:
    async with serving() as (api, client):
        cluster(api)
        seed(api, service("web", "192.168.10.240"), endpoint_slice("web", "node-1"))
        api.failing[("POST", "/servicebgpstatuses")] = 403
        async with running(api, client, resync=0.1) as (speaker, sessions):
            await eventually(lambda: sessions.prefixes() == {"192.168.10.240/32"}, what="the route")
            await eventually(lambda: speaker.loop.passes >= 3, what="later passes")
            assert bgp_statuses(api) == {}
            assert speaker.loop.last_error is None and speaker.status_loop.last_error is None
            del api.failing[("POST", "/servicebgpstatuses")]
            await eventually(lambda: "default.web.node-1" in bgp_statuses(api), what="the retried write")
            assert sessions.prefixes() == {"192.168.10.240/32"}


async def test_cilium_resources_configure_the_speaker() -> None:
    async with serving() as (api, client):
        seed(
            api,
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}},
            node("node-1", "10.0.0.2", **{"io.cilium/bgp": "worker"}),
            service("web", "192.168.142.10"),
            endpoint_slice("web", "node-1"),
        )
        ippool = {
            "apiVersion": "cilium.io/v2alpha1",
            "kind": "CiliumLoadBalancerIPPool",
            "metadata": {"name": "service-pool"},
            "spec": {"blocks": [{"cidr": "192.168.142.0/24"}]},
        }
        policy = {
            "apiVersion": "cilium.io/v2alpha1",
            "kind": "CiliumBGPPeeringPolicy",
            "metadata": {"name": "workers"},
            "spec": {
                "nodeSelector": {"matchLabels": {"io.cilium/bgp": "worker"}},
                "virtualRouters": [
                    {
                        "localASN": 64513,
                        "serviceSelector": {
                            "matchExpressions": [{"key": "x", "operator": "NotIn", "values": ["y"]}]
                        },
                        "neighbors": [{"peerAddress": "192.168.130.1/32", "peerASN": 64512}],
                    }
                ],
            },
        }
        api.seed("CiliumLoadBalancerIPPool", "ciliumloadbalancerippools", ippool, group="cilium.io")
        api.seed("CiliumBGPPeeringPolicy", "ciliumbgppeeringpolicies", policy, group="cilium.io")
        # MetalLB objects are not read in Cilium mode
        seed(api, pool("lan", "192.168.10.0/24"), advertisement("lan-bgp", "lan"), peer("router", "10.0.0.1"))
        async with running(api, client, config_source=ConfigSource.CILIUM) as (speaker, sessions):
            router = ip_address("192.168.130.1")
            await eventually(lambda: sessions.prefixes(router) == {"192.168.142.10/32"}, what="the route")
            assert set(sessions.port.routes) == {router}
            assert "IPAddressPool" not in speaker.source.watchers
