"""Two Sessions back to back on a fake clock: reaching Established, timers, connections, collisions."""

from __future__ import annotations

import itertools
from ipaddress import ip_network

import pytest

from bgplb.bgp.codec import encode
from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST, CeaseSubcode, ErrorCode, MessageType
from bgplb.bgp.events import SessionEstablished
from bgplb.bgp.fsm import Backoff, DownReason, State
from bgplb.bgp.messages import Notification
from bgplb.bgp.routes import Route
from bgplb.bgp.session import Session, resolve_collision
from tests.bgp.helpers import (
    ADDRESS_A,
    ADDRESS_B,
    KEEPALIVE,
    PEER_OPEN,
    Pair,
    config,
    decode_stream,
    drive_to,
    ebgp_configs,
    notifications,
    open_bytes,
    states,
    with_config,
)

V4 = ip_network("198.51.100.10/32")
V6 = ip_network("2001:db8::10/128")


def test_ebgp_active_to_passive() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(ca, with_config(cb, passive=True))
    pair.start()
    assert pair.b.state is State.ESTABLISHED and pair.a.state is State.ESTABLISHED
    assert states(pair.events_a) == [State.CONNECT, State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED]
    assert states(pair.events_b) == [State.ACTIVE, State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED]
    assert pair.a.outgoing is True and pair.b.outgoing is False
    established = [e for e in pair.events_a if isinstance(e, SessionEstablished)]
    assert established[0].negotiated.peer_asn == 64500
    assert established[0].negotiated.families == {IPV4_UNICAST, IPV6_UNICAST}


def test_passive_to_active_the_other_way() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(with_config(ca, passive=True), cb)
    pair.establish()
    assert pair.a.outgoing is False and pair.b.outgoing is True


def test_a_passive_peer_never_dials() -> None:
    ca, cb = ebgp_configs(passive=True)
    pair = Pair.of(ca, cb)
    pair.start()
    pair.advance(600)
    assert pair.a.state is State.ACTIVE and pair.b.state is State.ACTIVE
    assert not pair.a.wants_connection() and pair.dials == 0


@pytest.mark.parametrize(
    ("hold_a", "hold_b", "hold", "keepalive"), [(90, 30, 30, 10), (9, 180, 9, 3), (0, 90, 0, 0)]
)
def test_hold_time_negotiation(hold_a: int, hold_b: int, hold: int, keepalive: int) -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(with_config(ca, hold_time=hold_a), with_config(cb, hold_time=hold_b))
    pair.establish()
    for session in (pair.a, pair.b):
        assert session.negotiated is not None
        assert (session.negotiated.hold_time, session.negotiated.keepalive_time) == (hold, keepalive)


def test_hold_time_zero_means_no_timers_at_all() -> None:
    ca, cb = ebgp_configs(hold_time=0)
    pair = Pair.of(ca, cb)
    pair.establish()
    assert pair.a.next_deadline() is None and pair.b.next_deadline() is None
    pair.advance(10_000)
    assert pair.a.stats.messages_out[MessageType.KEEPALIVE] == 1  # only the one answering the OPEN
    assert pair.a.state is State.ESTABLISHED


@pytest.mark.parametrize("hold", [1, 2, 65536, -1])
def test_config_rejects_a_bad_hold_time(hold: int) -> None:
    with pytest.raises(ValueError, match="hold_time"):
        config(64501, 64500, "10.0.0.1", hold_time=hold)


def test_keepalives_go_every_third_of_the_hold_time() -> None:
    ca, cb = ebgp_configs(hold_time=90)
    pair = Pair.of(ca, cb)
    pair.establish()
    before = pair.a.stats.messages_out[MessageType.KEEPALIVE]
    pair.advance(300)
    assert pair.a.stats.messages_out[MessageType.KEEPALIVE] - before == 10
    assert pair.a.state is State.ESTABLISHED


def test_a_configured_lower_keepalive_wins() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(with_config(ca, keepalive_time=5), cb)
    pair.establish()
    before = pair.a.stats.messages_out[MessageType.KEEPALIVE]
    pair.advance(100)
    assert pair.a.stats.messages_out[MessageType.KEEPALIVE] - before == 20
    assert pair.b.stats.messages_out[MessageType.KEEPALIVE] - before == 3


def test_the_hold_timer_fires_when_the_peer_goes_silent() -> None:
    ca, cb = ebgp_configs(hold_time=9)
    pair = Pair.of(ca, cb)
    pair.establish()
    pair.silence_b()
    pair.advance(8.9)
    assert pair.a.state is State.ESTABLISHED
    pair.advance(0.2)
    assert pair.a.state is not State.ESTABLISHED
    assert pair.a.stats.last_down_reason is DownReason.HOLD_TIMER_EXPIRED
    assert pair.a.stats.last_error == Notification(ErrorCode.HOLD_TIMER_EXPIRED, 0)
    assert Notification(4, 0) in notifications(pair.wire_a_to_b)
    assert pair.a.stats.flaps == 1


def test_any_message_resets_the_hold_timer() -> None:
    session = drive_to(State.ESTABLISHED)
    deadline = session.next_deadline()
    assert deadline is not None
    now = 1000.0
    for _ in range(10):  # the peer keeps talking every 80 s with a 90 s hold time: never expires
        now += 80
        session.tick(now)
        session.receive_data(KEEPALIVE, now)
    assert session.state is State.ESTABLISHED


def test_opensent_uses_a_large_hold_timer() -> None:
    session = drive_to(State.OPEN_SENT)
    session.tick(1000.0 + 239)
    assert session.state is State.OPEN_SENT
    session.tick(1000.0 + 240)
    assert session.state is State.IDLE
    assert decode_stream(session.data_to_send())[-1] == Notification(4, 0)


def test_openconfirm_goes_idle_on_notification() -> None:
    session = drive_to(State.OPEN_CONFIRM)
    session.receive_data(encode(Notification(6, 3)), 1000.0)
    assert session.state is State.IDLE
    assert session.stats.last_error == Notification(6, 3) and session.stats.last_error_from_peer


def test_connect_retries_back_off_exponentially_with_jitter() -> None:
    backoff = Backoff(initial=1.0, maximum=8.0, jitter=0.0)
    ca, cb = ebgp_configs()
    pair = Pair.of(with_config(ca, backoff=backoff), cb)
    times = []
    pair.a.start(pair.now)
    for _ in range(7):  # nobody listens: every dial fails at once
        assert pair.a.wants_connection()
        times.append(pair.now)
        pair.a.connection_failed(pair.now)
        assert pair.a.state is State.IDLE
        deadline = pair.a.next_deadline()
        assert deadline is not None
        pair.clock.now = deadline
        pair.a.tick(pair.now)
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(times)]
    assert gaps == [1, 2, 4, 8, 8, 8]
    assert pair.a.stats.connect_attempts == 8  # the first, and one after each of the 7 failures
    assert pair.a.stats.last_down_reason is DownReason.CONNECT_FAILED


@pytest.mark.parametrize(("uptime", "delay"), [(120.0, 1.0), (30.0, 16.0)])
def test_the_back_off_resets_after_the_session_stayed_up(uptime: float, delay: float) -> None:
    backoff = Backoff(initial=1.0, maximum=60.0, jitter=0.0, reset_after=60.0)
    ca, cb = ebgp_configs()
    pair = Pair.of(with_config(ca, backoff=backoff), cb)
    pair.a.start(pair.now)
    for _ in range(4):  # four failed dials: the next wait would be 16 s
        pair.a.connection_failed(pair.now)
        pair.clock.now = pair.a.next_deadline() or 0.0
        pair.a.tick(pair.now)
    pair.b.start(pair.now)
    pair.pump()
    assert pair.a.state is State.ESTABLISHED
    pair.advance(uptime)
    pair.close()
    assert pair.a.next_deadline() == pytest.approx(pair.now + delay)


def test_the_peer_closing_brings_the_session_down_and_it_comes_back() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(ca, cb)
    pair.a.set_routes([Route(V4)])
    pair.establish()
    pair.close()
    assert pair.a.state is State.IDLE and pair.a.stats.last_down_reason is DownReason.CONNECTION_LOST
    assert pair.b.adj_rib_in.count(IPV4_UNICAST) == 0
    pair.advance(5)
    assert pair.a.state is State.ESTABLISHED and pair.b.state is State.ESTABLISHED
    assert pair.b.adj_rib_in.count(IPV4_UNICAST) == 1
    assert pair.a.stats.established_count == 2 and pair.a.stats.flaps == 1


def _collision(id_a: str, id_b: str) -> tuple[Pair, Pair]:
    """A and B dial each other at once: pair1 = A's outgoing + B's incoming; pair2 the reverse."""
    ca, cb = config(64501, 64500, id_a), config(64500, 64501, id_b)
    a_out, b_in = Session(ca), Session(with_config(cb, passive=True))
    b_out, a_in = Session(cb), Session(with_config(ca, passive=True))
    first, second = Pair(a_out, b_in), Pair(a_in, b_out)
    for pair in (first, second):
        pair.a.start(pair.now)
        pair.b.start(pair.now)
    # Both dials complete before either OPEN is read.
    a_out.connection_made(1000.0, ADDRESS_A, ADDRESS_B)
    b_in.connection_made(1000.0, ADDRESS_B, ADDRESS_A)
    b_out.connection_made(1000.0, ADDRESS_B, ADDRESS_A)
    a_in.connection_made(1000.0, ADDRESS_A, ADDRESS_B)
    first.connected = second.connected = True
    for session in (a_out, b_in, b_out, a_in):
        assert session.state is State.OPEN_SENT
    # Deliver the OPENs only: everyone reaches OpenConfirm.
    for pair in (first, second):
        data_a, data_b = pair.a.data_to_send(), pair.b.data_to_send()
        pair.b.receive_data(data_a, 1000.0)
        pair.a.receive_data(data_b, 1000.0)
        pair.wire_a_to_b.append(data_a)
        pair.wire_b_to_a.append(data_b)
    for session in (a_out, b_in, b_out, a_in):
        assert session.state is State.OPEN_CONFIRM
    return first, second


@pytest.mark.parametrize(
    ("id_a", "id_b", "kept"), [("10.0.0.1", "10.0.0.2", "b-dialled"), ("10.0.0.9", "10.0.0.2", "a-dialled")]
)
def test_collision_detection_keeps_the_connection_of_the_higher_identifier(
    id_a: str, id_b: str, kept: str
) -> None:
    first, second = _collision(id_a, id_b)  # first: A dialled; second: B dialled
    a_keep = resolve_collision(first.a, second.a)
    b_keep = resolve_collision(first.b, second.b)
    winner, loser = (first, second) if kept == "a-dialled" else (second, first)
    assert a_keep is winner.a and b_keep is winner.b  # both ends agree
    loser.a.close_for_collision(1000.0)
    loser.b.close_for_collision(1000.0)
    loser.pump()
    winner.pump()
    assert winner.a.state is State.ESTABLISHED and winner.b.state is State.ESTABLISHED
    assert loser.a.state is State.IDLE and loser.b.state is State.IDLE
    cease = Notification(6, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION)
    assert cease in notifications(loser.wire_a_to_b) and cease in notifications(loser.wire_b_to_a)
    assert loser.a.stats.last_down_reason is DownReason.COLLISION
    assert loser.b.stats.last_down_reason is DownReason.COLLISION
    loser.advance(600)  # a retired loser never restarts
    assert loser.a.state is State.IDLE and not loser.a.wants_connection()


def test_collision_with_an_established_session_keeps_it() -> None:
    established = drive_to(State.ESTABLISHED)
    newcomer = drive_to(State.OPEN_CONFIRM)
    assert resolve_collision(newcomer, established) is established
    assert resolve_collision(established, newcomer) is established


def test_collision_needs_an_open() -> None:
    with pytest.raises(ValueError, match="no OPEN"):
        resolve_collision(drive_to(State.OPEN_SENT), drive_to(State.OPEN_SENT))


def test_open_bytes_helper_is_a_valid_peer_open() -> None:
    assert decode_stream(open_bytes()) == [PEER_OPEN]


def test_collision_needs_one_connection_each_way() -> None:
    first, second = _collision("10.0.0.1", "10.0.0.2")
    with pytest.raises(ValueError, match="one outgoing and one incoming"):
        resolve_collision(first.a, second.b)  # both dialled


def test_connection_lost_without_a_connection_is_nothing() -> None:
    session = drive_to(State.CONNECT)
    assert session.connection_lost(1000.0) == []
    assert session.state is State.CONNECT


def test_a_peer_coming_back_during_the_back_off_is_taken_at_once() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(with_config(ca, passive=True), cb)
    pair.establish()
    pair.close()
    assert pair.a.state is State.IDLE and not pair.a.stopped  # backing off before listening again
    pair.events_a += pair.a.connection_made(pair.now, ADDRESS_A, ADDRESS_B)
    assert pair.a.state is State.OPEN_SENT and pair.a.outgoing is False


def test_a_stopped_session_is_stopped() -> None:
    session = drive_to(State.ESTABLISHED)
    assert not session.stopped
    session.stop(1000.0)
    assert session.stopped
    assert Session(config(64501, 64500, "10.0.0.1")).stopped
