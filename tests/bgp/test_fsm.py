"""The transition table of bgplb.bgp.fsm against RFC 4271 §8.2.2, RFC 6608, and the back-off."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bgplb.bgp.constants import ErrorCode, FsmErrorSubcode
from bgplb.bgp.fsm import (
    FSM_ERROR,
    TRANSITIONS,
    Action,
    Backoff,
    Input,
    State,
    fsm_error_subcode,
    step,
)
from bgplb.bgp.messages import Notification
from bgplb.bgp.session import Session
from tests.bgp.helpers import decode_stream, drive_to, stimulate

A = Action
S = State
I = Input  # noqa: E741

# (state, input, next state, actions that must be among the transition's, in this relative order)
RFC_TRANSITIONS = [
    (S.IDLE, I.MANUAL_START, S.CONNECT, (A.START_CONNECT_RETRY_TIMER, A.INITIATE_TCP)),
    (S.IDLE, I.AUTOMATIC_START, S.CONNECT, (A.START_CONNECT_RETRY_TIMER, A.INITIATE_TCP)),
    (S.IDLE, I.MANUAL_START_PASSIVE, S.ACTIVE, ()),
    (S.IDLE, I.MANUAL_STOP, S.IDLE, ()),
    (S.IDLE, I.KEEPALIVE_MSG, S.IDLE, ()),
    (S.CONNECT, I.TCP_CR_ACKED, S.OPEN_SENT, (A.SEND_OPEN, A.START_LARGE_HOLD_TIMER)),
    (S.CONNECT, I.TCP_CONNECTION_CONFIRMED, S.OPEN_SENT, (A.SEND_OPEN, A.START_LARGE_HOLD_TIMER)),
    (S.CONNECT, I.CONNECT_RETRY_TIMER_EXPIRES, S.CONNECT, (A.START_CONNECT_RETRY_TIMER, A.INITIATE_TCP)),
    (S.CONNECT, I.TCP_CONNECTION_FAILS, S.IDLE, (A.RELEASE_RESOURCES,)),
    (S.CONNECT, I.MANUAL_STOP, S.IDLE, (A.DROP_TCP, A.ZERO_CONNECT_RETRY_COUNTER)),
    (S.ACTIVE, I.TCP_CONNECTION_CONFIRMED, S.OPEN_SENT, (A.SEND_OPEN, A.START_LARGE_HOLD_TIMER)),
    (S.ACTIVE, I.CONNECT_RETRY_TIMER_EXPIRES, S.CONNECT, (A.INITIATE_TCP,)),
    (S.ACTIVE, I.MANUAL_STOP, S.IDLE, (A.ZERO_CONNECT_RETRY_COUNTER,)),
    (S.OPEN_SENT, I.BGP_OPEN, S.OPEN_CONFIRM, (A.PROCESS_OPEN, A.SEND_KEEPALIVE, A.START_TIMERS)),
    (S.OPEN_SENT, I.HOLD_TIMER_EXPIRES, S.IDLE, (A.SEND_NOTIFICATION, A.DROP_TCP)),
    (S.OPEN_SENT, I.BGP_HEADER_ERR, S.IDLE, (A.SEND_NOTIFICATION, A.DROP_TCP)),
    (S.OPEN_SENT, I.BGP_OPEN_MSG_ERR, S.IDLE, (A.SEND_NOTIFICATION, A.DROP_TCP)),
    (S.OPEN_SENT, I.TCP_CONNECTION_FAILS, S.ACTIVE, (A.RELEASE_RESOURCES, A.START_CONNECT_RETRY_TIMER)),
    (S.OPEN_SENT, I.OPEN_COLLISION_DUMP, S.IDLE, (A.SEND_NOTIFICATION, A.DROP_TCP)),
    (S.OPEN_SENT, I.NOTIF_MSG_VER_ERR, S.IDLE, (A.DROP_TCP,)),
    (S.OPEN_SENT, I.MANUAL_STOP, S.IDLE, (A.SEND_NOTIFICATION, A.DROP_TCP, A.ZERO_CONNECT_RETRY_COUNTER)),
    (S.OPEN_CONFIRM, I.KEEPALIVE_MSG, S.ESTABLISHED, (A.RESTART_HOLD_TIMER, A.ESTABLISH)),
    (S.OPEN_CONFIRM, I.NOTIF_MSG, S.IDLE, (A.DROP_TCP,)),
    (S.OPEN_CONFIRM, I.HOLD_TIMER_EXPIRES, S.IDLE, (A.SEND_NOTIFICATION, A.DROP_TCP)),
    (
        S.OPEN_CONFIRM,
        I.KEEPALIVE_TIMER_EXPIRES,
        S.OPEN_CONFIRM,
        (A.SEND_KEEPALIVE, A.RESTART_KEEPALIVE_TIMER),
    ),
    (S.OPEN_CONFIRM, I.OPEN_COLLISION_DUMP, S.IDLE, (A.SEND_NOTIFICATION, A.DROP_TCP)),
    (S.OPEN_CONFIRM, I.TCP_CONNECTION_FAILS, S.IDLE, (A.RELEASE_RESOURCES,)),
    (S.ESTABLISHED, I.KEEPALIVE_MSG, S.ESTABLISHED, (A.RESTART_HOLD_TIMER,)),
    (S.ESTABLISHED, I.UPDATE_MSG, S.ESTABLISHED, (A.RESTART_HOLD_TIMER, A.PROCESS_UPDATE)),
    (S.ESTABLISHED, I.UPDATE_MSG_ERR, S.IDLE, (A.SEND_NOTIFICATION, A.DROP_TCP)),
    (S.ESTABLISHED, I.ROUTE_REFRESH_MSG, S.ESTABLISHED, (A.PROCESS_ROUTE_REFRESH,)),
    (S.ESTABLISHED, I.KEEPALIVE_TIMER_EXPIRES, S.ESTABLISHED, (A.SEND_KEEPALIVE,)),
    (S.ESTABLISHED, I.HOLD_TIMER_EXPIRES, S.IDLE, (A.SEND_NOTIFICATION, A.RELEASE_RESOURCES, A.DROP_TCP)),
    (S.ESTABLISHED, I.NOTIF_MSG, S.IDLE, (A.RELEASE_RESOURCES, A.DROP_TCP)),
    (S.ESTABLISHED, I.TCP_CONNECTION_FAILS, S.IDLE, (A.RELEASE_RESOURCES,)),
    (S.ESTABLISHED, I.AUTOMATIC_STOP, S.IDLE, (A.SEND_NOTIFICATION, A.DROP_TCP)),
    (S.ESTABLISHED, I.MANUAL_STOP, S.IDLE, (A.SEND_NOTIFICATION, A.DROP_TCP, A.ZERO_CONNECT_RETRY_COUNTER)),
]

# Pairs the RFC answers with an FSM error NOTIFICATION (RFC 6608) — they must be absent from the table.
FSM_ERRORS = [
    (S.OPEN_SENT, I.KEEPALIVE_MSG),
    (S.OPEN_SENT, I.UPDATE_MSG),
    (S.OPEN_SENT, I.ROUTE_REFRESH_MSG),
    (S.OPEN_SENT, I.KEEPALIVE_TIMER_EXPIRES),
    (S.OPEN_CONFIRM, I.UPDATE_MSG),
    (S.OPEN_CONFIRM, I.BGP_OPEN),
    (S.ESTABLISHED, I.BGP_OPEN),
    (S.ESTABLISHED, I.CONNECT_RETRY_TIMER_EXPIRES),
    (S.CONNECT, I.KEEPALIVE_MSG),
    (S.ACTIVE, I.UPDATE_MSG),
]


def _in_order(needles: tuple[Action, ...], haystack: tuple[Action, ...]) -> bool:
    it = iter(haystack)
    return all(any(a is n for a in it) for n in needles)


@pytest.mark.parametrize(("state", "event", "next_state", "actions"), RFC_TRANSITIONS)
def test_rfc_transition(state: State, event: Input, next_state: State, actions: tuple[Action, ...]) -> None:
    transition = step(state, event)
    assert transition is not None
    assert transition.next is next_state
    assert _in_order(actions, transition.actions), transition.actions


@pytest.mark.parametrize(("state", "event"), FSM_ERRORS)
def test_unexpected_events_are_fsm_errors(state: State, event: Input) -> None:
    assert step(state, event) is None


def test_ignored_events_do_nothing() -> None:
    for state in State:
        for event in (I.MANUAL_START, I.AUTOMATIC_START_PASSIVE):
            if state is not S.IDLE:
                assert step(state, event) == TRANSITIONS[state, event]
                assert TRANSITIONS[state, event].next is state
                assert TRANSITIONS[state, event].actions == ()


def test_every_idle_event_is_in_the_table() -> None:
    """RFC 4271 §8.2.2: in Idle every event is either a start or ignored; none is an FSM error."""
    assert all((S.IDLE, event) in TRANSITIONS for event in Input)


def test_leaving_a_connection_always_drops_it() -> None:
    for (state, _event), transition in TRANSITIONS.items():
        if state in (S.OPEN_SENT, S.OPEN_CONFIRM, S.ESTABLISHED) and transition.next is S.IDLE:
            assert A.DROP_TCP in transition.actions
            assert A.RELEASE_RESOURCES in transition.actions
    assert A.DROP_TCP in FSM_ERROR.actions
    assert A.SEND_NOTIFICATION in FSM_ERROR.actions
    assert FSM_ERROR.next is S.IDLE


@given(st.sampled_from(State), st.sampled_from(Input))
def test_step_is_the_table_or_an_fsm_error(state: State, event: Input) -> None:
    transition = step(state, event)
    if transition is None:
        assert (state, event) not in TRANSITIONS
        assert state is not S.IDLE
    else:
        assert transition is TRANSITIONS[state, event]
        # Only the OPEN exchange leaves from Connect/Active to a state with an open connection.
        if transition.next in (S.OPEN_SENT, S.OPEN_CONFIRM, S.ESTABLISHED) and state is not transition.next:
            assert (
                A.SEND_OPEN in transition.actions
                or A.PROCESS_OPEN in transition.actions
                or (A.ESTABLISH in transition.actions)
            )


def test_fsm_error_subcodes_follow_rfc_6608() -> None:
    assert fsm_error_subcode(S.OPEN_SENT) == FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPEN_SENT == 1
    assert fsm_error_subcode(S.OPEN_CONFIRM) == FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM == 2
    assert fsm_error_subcode(S.ESTABLISHED) == FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_ESTABLISHED == 3
    assert fsm_error_subcode(S.CONNECT) == FsmErrorSubcode.UNSPECIFIED == 0


def test_backoff_doubles_to_the_maximum_without_jitter() -> None:
    backoff = Backoff(initial=1.0, maximum=60.0, jitter=0.0)
    rng = random.Random(1)
    assert [backoff.delay(n, rng) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.delay(0, rng) == 1.0
    assert backoff.delay(10_000, rng) == 60.0


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=2**32))
def test_backoff_jitter_stays_within_25_percent(failures: int, seed: int) -> None:
    backoff = Backoff()
    nominal = Backoff(jitter=0.0).delay(failures, random.Random(0))
    value = backoff.delay(failures, random.Random(seed))
    assert 0.75 * nominal <= value <= 1.25 * nominal


def test_backoff_jitter_is_injected() -> None:
    backoff = Backoff()
    assert backoff.delay(3, random.Random(7)) == backoff.delay(3, random.Random(7))
    assert len({backoff.delay(3, random.Random(seed)) for seed in range(20)}) > 10


@pytest.mark.parametrize("kwargs", [{"initial": 0.0}, {"initial": 5.0, "maximum": 1.0}, {"jitter": 1.5}])
def test_backoff_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="Backoff"):
        Backoff(**kwargs)


# ---- the Session follows the table -------------------------------------------------------------------


_TCP_UP = (I.TCP_CR_ACKED, I.TCP_CONNECTION_CONFIRMED)


def _fsm_error_sent(data: bytes, state: State) -> bool:
    messages = decode_stream(data)
    expected = Notification(ErrorCode.FSM, fsm_error_subcode(state))
    return any(m == expected for m in messages)


def _check_step(session: Session, event: Input, now: float) -> None:
    before = session.state
    connected = session.outgoing is not None and not session.should_close()
    transition = step(before, event)
    if before is S.IDLE and event in _TCP_UP and not session.stopped and session.outgoing is None:
        # Backing off after a failure, an incoming connection first restarts the session.
        restart = I.AUTOMATIC_START_PASSIVE if session.config.passive else I.AUTOMATIC_START
        before = TRANSITIONS[S.IDLE, restart].next
        transition = step(before, event)
    _events, data = stimulate(session, event, now)
    if transition is None:
        assert session.state is S.IDLE, (before, event, session.state)
        if connected:
            assert _fsm_error_sent(data, before), (before, event, decode_stream(data))
            assert session.should_close()
    else:
        assert session.state is transition.next, (before, event, session.state)
        assert not _fsm_error_sent(data, before)
        if connected and A.DROP_TCP in transition.actions and event is not I.TCP_CONNECTION_FAILS:
            assert session.should_close()
    if session.should_close():  # the transport closes the connection
        session.data_to_send()
        session.connection_lost(now)


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
@pytest.mark.parametrize("event", list(Input), ids=lambda i: i.value)
def test_session_follows_the_table_for_every_pair(state: State, event: Input) -> None:
    session = drive_to(state)
    _check_step(session, event, 1001.0)


@given(st.sampled_from(State), st.lists(st.sampled_from(Input), min_size=1, max_size=25))
def test_random_walks_follow_the_table(start: State, events: list[Input]) -> None:
    session = drive_to(start)
    now = 1001.0
    for event in events:
        _check_step(session, event, now)
        now += 1.0
