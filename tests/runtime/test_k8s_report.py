"""Session metrics from the peer status: gauges set, the UPDATE counter only going up, old peers dropped."""

from __future__ import annotations

from collections import Counter
from ipaddress import ip_address

from bgplb.adapters.bgp_transport import PeerStatus
from bgplb.adapters.metrics import Metrics
from bgplb.bgp.constants import MessageType
from bgplb.bgp.fsm import State
from bgplb.bgp.stats import Counters
from bgplb.config.models import BgpPeer
from bgplb.runtime.k8s_report import SessionMetrics, peer_label
from bgplb.runtime.speaker import SessionView


def view(address: str, state: State, updates: int, port: int = 179) -> SessionView:
    peer = BgpPeer(name="r", my_asn=64501, peer_asn=64500, peer_address=ip_address(address), peer_port=port)
    stats = Counters(messages_out=Counter({MessageType.UPDATE: updates})).snapshot(
        state=state, prefixes_received={}, prefixes_sent={}, prefixes_stale=0, routes_unresolved=0
    )
    return SessionView(peer, PeerStatus(ip_address(address), state, True, None, stats), ())


def sample(metrics: Metrics, name: str, peer: str) -> float | None:
    return metrics.registry.get_sample_value(f"bgplb_{name}", {"peer": peer})


def test_peer_label_is_metallbs_address_and_port() -> None:
    assert peer_label(view("10.0.0.1", State.IDLE, 0)) == "10.0.0.1:179"
    assert peer_label(view("2001:db8::1", State.IDLE, 0, port=1179)) == "[2001:db8::1]:1179"


def test_counters_follow_restarted_sessions_and_removed_peers() -> None:
    metrics = Metrics()
    session_metrics = SessionMetrics(metrics)
    session_metrics.update([view("10.0.0.1", State.ESTABLISHED, 3), view("10.0.0.2", State.ACTIVE, 0)])
    assert sample(metrics, "bgp_session_up", "10.0.0.1:179") == 1
    assert sample(metrics, "bgp_session_up", "10.0.0.2:179") == 0
    assert sample(metrics, "bgp_updates_total", "10.0.0.1:179") == 3
    session_metrics.update([view("10.0.0.1", State.ESTABLISHED, 5)])
    assert sample(metrics, "bgp_updates_total", "10.0.0.1:179") == 5
    assert sample(metrics, "bgp_session_up", "10.0.0.2:179") is None  # the peer left the configuration
    assert sample(metrics, "bgp_updates_total", "10.0.0.2:179") is None
    session_metrics.update([view("10.0.0.1", State.ESTABLISHED, 2)])  # a new transport restarts at 0
    assert sample(metrics, "bgp_updates_total", "10.0.0.1:179") == 7
