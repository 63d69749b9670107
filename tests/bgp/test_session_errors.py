"""Session error handling: NOTIFICATIONs for bad input, RFC 7606, max-prefix, Cease (RFC 4486, 9003)."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgplb.bgp.attributes import AsPath, LocalPref, NextHop, Origin
from bgplb.bgp.codec import encode, frame
from bgplb.bgp.constants import HEADER_LEN, IPV4_UNICAST, CeaseSubcode, ErrorCode, MessageType
from bgplb.bgp.errors import ErrorAction
from bgplb.bgp.events import UpdateErrorHandled
from bgplb.bgp.fsm import DownReason, State
from bgplb.bgp.messages import Notification, Open, Update
from bgplb.bgp.routes import Route
from bgplb.bgp.session import Session
from tests.bgp.helpers import (
    ADDRESS_A,
    ADDRESS_B,
    KEEPALIVE,
    PEER_OPEN,
    Pair,
    config,
    decode_stream,
    downs,
    drive_to,
    ebgp_configs,
    notifications,
    with_config,
)

V4 = ip_network("198.51.100.10/32")
V6 = ip_network("2001:db8::10/128")


def test_a_wrong_peer_asn_is_refused_with_open_error_2_2() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(ca, with_config(cb, peer_asn=65000))
    pair.start()
    assert pair.a.state is not State.ESTABLISHED
    sent = notifications(pair.wire_b_to_a)
    assert (sent[0].code, sent[0].subcode) == (2, 2)
    assert pair.a.stats.last_down_reason is DownReason.PEER_NOTIFICATION
    assert pair.b.stats.last_down_reason is DownReason.OPEN_ERROR
    down = downs(pair.events_a)[0]
    assert down.notification == sent[0] and not down.was_established


@pytest.mark.parametrize("hold", [1, 2])
def test_a_peer_hold_time_of_one_or_two_seconds_is_open_error_2_6(hold: int) -> None:
    session = drive_to(State.OPEN_SENT)
    bad = Open(64500, hold, IPv4Address("10.0.0.2"), PEER_OPEN.capabilities)
    session.receive_data(encode(bad), 1000.0)
    (sent,) = decode_stream(session.data_to_send())
    assert sent == Notification(2, 6, hold.to_bytes(2, "big"))
    assert session.state is State.IDLE


def test_a_connection_while_stopped_is_rejected_with_cease_5() -> None:
    session = Session(config(64501, 64500, "10.0.0.1"))
    session.connection_made(1000.0, ADDRESS_A, ADDRESS_B)
    assert decode_stream(session.data_to_send()) == [Notification(6, CeaseSubcode.CONNECTION_REJECTED)]
    assert session.should_close() and session.state is State.IDLE


def test_garbage_gets_a_header_error_notification() -> None:
    session = drive_to(State.ESTABLISHED)
    session.receive_data(b"\x00" * 40, 1000.0)
    (sent,) = decode_stream(session.data_to_send())
    assert isinstance(sent, Notification) and (sent.code, sent.subcode) == (1, 1)
    assert session.state is State.IDLE and session.should_close()
    assert session.stats.last_down_reason is DownReason.HEADER_ERROR


@settings(max_examples=300)
@given(st.sampled_from([State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED]), st.binary(max_size=200))
def test_random_bytes_end_in_a_notification_or_wait_for_more(state: State, data: bytes) -> None:
    session = drive_to(state)
    session.receive_data(data, 1000.0)
    out = decode_stream(session.data_to_send())
    if session.state is State.IDLE and session.should_close():
        assert isinstance(out[-1], Notification) and 1 <= out[-1].code <= 6
    else:
        assert all(not isinstance(m, Notification) for m in out)


@given(st.binary(min_size=1, max_size=60))
def test_a_mutated_keepalive_stream_never_raises(tail: bytes) -> None:
    session = drive_to(State.ESTABLISHED)
    session.receive_data(KEEPALIVE + KEEPALIVE[:16] + tail, 1000.0)
    assert session.state in (State.ESTABLISHED, State.IDLE)


def test_a_fatal_update_error_resets_with_its_notification() -> None:
    session = drive_to(State.ESTABLISHED)
    body = b"\x00\x00\x00\x04" + bytes((0x40, 1, 1, 0))  # ORIGIN only, attrs length fine, then NLRI garbage
    session.receive_data(frame(MessageType.UPDATE, body + b"\x21\x01\x02\x03\x04"), 1000.0)
    (sent,) = decode_stream(session.data_to_send())
    assert isinstance(sent, Notification) and sent.code == ErrorCode.UPDATE_MESSAGE
    assert session.stats.last_down_reason is DownReason.UPDATE_ERROR


def test_treat_as_withdraw_removes_the_route_and_keeps_the_session() -> None:
    session = drive_to(State.ESTABLISHED)
    good = Update(attributes=(Origin(), AsPath.sequence(64500), NextHop(ADDRESS_B)), nlri=(V4,))
    session.receive_data(encode(good, session.negotiated), 1000.0)
    assert session.adj_rib_in.count(IPV4_UNICAST) == 1
    looped = Update(attributes=(Origin(), AsPath.sequence(64500, 64501), NextHop(ADDRESS_B)), nlri=(V4,))
    events = session.receive_data(encode(looped, session.negotiated), 1000.0)
    assert session.state is State.ESTABLISHED and session.adj_rib_in.count(IPV4_UNICAST) == 0
    handled = [e for e in events if isinstance(e, UpdateErrorHandled)]
    assert handled and handled[0].errors[0].action is ErrorAction.TREAT_AS_WITHDRAW
    assert session.stats.update_errors == {ErrorAction.TREAT_AS_WITHDRAW: 1}
    assert session.data_to_send() == b""


def test_attribute_discard_keeps_the_route_without_the_attribute() -> None:
    session = drive_to(State.ESTABLISHED)
    attrs = (Origin(), AsPath.sequence(64500), NextHop(ADDRESS_B), LocalPref(500))  # LOCAL_PREF over eBGP
    session.receive_data(encode(Update(attributes=attrs, nlri=(V4,)), session.negotiated), 1000.0)
    kept = session.adj_rib_in.routes(IPV4_UNICAST)[V4]
    assert not [a for a in kept if isinstance(a, LocalPref)]
    assert session.stats.update_errors == {ErrorAction.ATTRIBUTE_DISCARD: 1}
    assert session.state is State.ESTABLISHED


def test_max_prefix_sends_cease_1_with_family_and_limit() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(ca, with_config(cb, max_prefixes=2))
    pair.a.set_routes([Route(ip_network(f"198.51.100.{i}/32")) for i in range(3)])
    pair.start()
    cease = Notification(6, CeaseSubcode.MAXIMUM_PREFIXES_REACHED, b"\x00\x01\x01\x00\x00\x00\x02")
    assert cease in notifications(pair.wire_b_to_a)
    assert pair.b.stats.last_down_reason is DownReason.MAX_PREFIX
    assert pair.b.state is not State.ESTABLISHED


def test_stop_sends_administrative_shutdown_with_the_message_and_stays_down() -> None:
    ca, cb = ebgp_configs()
    pair = Pair.of(ca, cb)
    pair.establish()
    pair.events_a += pair.a.stop(pair.now, "draining node-3 for maintenance")
    pair.pump()
    assert pair.b.stats.last_error == Notification.shutdown("draining node-3 for maintenance")
    assert pair.b.stats.shutdown_message == "draining node-3 for maintenance"
    assert pair.a.stats.last_down_reason is DownReason.ADMIN_STOP
    pair.advance(600)
    assert pair.a.state is State.IDLE and not pair.a.wants_connection()
    assert pair.b.state is not State.ESTABLISHED


def test_a_long_shutdown_message_is_cut_to_255_octets() -> None:
    session = drive_to(State.ESTABLISHED)
    session.stop(1000.0, "é" * 300)
    (sent,) = decode_stream(session.data_to_send())
    assert isinstance(sent, Notification) and sent.data[0] <= 255 and sent.shutdown_message == "é" * 127


@pytest.mark.parametrize(
    ("cease", "data"),
    [
        (CeaseSubcode.PEER_DECONFIGURED, b""),
        (CeaseSubcode.ADMINISTRATIVE_RESET, b"\x05reset"),
        (CeaseSubcode.OTHER_CONFIGURATION_CHANGE, b""),
        (CeaseSubcode.OUT_OF_RESOURCES, b""),
    ],
)
def test_stop_with_other_cease_subcodes(cease: CeaseSubcode, data: bytes) -> None:
    session = drive_to(State.ESTABLISHED)
    session.stop(1000.0, "reset", cease=cease)
    assert decode_stream(session.data_to_send()) == [Notification(ErrorCode.CEASE, cease, data)]
    session.connection_lost(1000.0)
    session.start(1001.0)  # and it can be started again
    assert session.state is State.CONNECT and session.wants_connection()


def test_an_update_larger_than_negotiated_is_a_header_error() -> None:
    session = drive_to(State.ESTABLISHED)  # the scripted peer did not offer Extended Message
    assert session.negotiated is not None and not session.negotiated.extended_message
    nlri = b"".join(bytes((32, 10, 0, i >> 8, i & 255)) for i in range(1000))
    attrs = encode(
        Update(attributes=(Origin(), AsPath.sequence(64500), NextHop(ADDRESS_B))), session.negotiated
    )
    body = attrs[HEADER_LEN:] + nlri
    session.receive_data(frame(MessageType.UPDATE, body), 1000.0)
    (sent,) = decode_stream(session.data_to_send())
    assert isinstance(sent, Notification) and (sent.code, sent.subcode) == (1, 2)
    assert sent.data == (HEADER_LEN + len(body)).to_bytes(2, "big")
