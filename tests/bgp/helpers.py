"""Test kit for bgplb.bgp sessions: a fake clock and two Sessions wired back to back, no sockets, no time.

`Pair.pump()` moves bytes both ways until nothing moves, honouring `should_close` (the bytes already queued
are delivered, then both ends see the connection go) and `wants_connection` (the dialling side connects to
the other one). `Pair.advance(seconds)` walks the fake clock from deadline to deadline, ticking both ends.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address

from bgplb.bgp.capabilities import FourOctetAs, Multiprotocol
from bgplb.bgp.codec import decode, encode, frame, split_frames
from bgplb.bgp.constants import HEADER_LEN, IPV4_UNICAST, MAX_EXTENDED_MESSAGE, MessageType
from bgplb.bgp.events import Event, SessionDown, StateChanged
from bgplb.bgp.fsm import Input, State
from bgplb.bgp.messages import Keepalive, Message, Notification, Open, RouteRefresh, Update, end_of_rib
from bgplb.bgp.negotiation import Negotiated
from bgplb.bgp.session import PeerConfig, Session

ADDRESS_A = IPv4Address("192.0.2.1")
ADDRESS_B = IPv4Address("192.0.2.2")
MAX_PUMP_ROUNDS = 200


def config(local_asn: int, peer_asn: int | None, router_id: str, **kwargs: object) -> PeerConfig:
    """A PeerConfig with test-friendly defaults (IPv4 and IPv6 unicast, hold 90)."""
    return PeerConfig(local_asn=local_asn, peer_asn=peer_asn, router_id=IPv4Address(router_id), **kwargs)  # type: ignore[arg-type]


def ebgp_configs(**kwargs: object) -> tuple[PeerConfig, PeerConfig]:
    """bgplb (AS 64501, 10.0.0.1) and its router (AS 64500, 10.0.0.2)."""
    return config(64501, 64500, "10.0.0.1", **kwargs), config(64500, 64501, "10.0.0.2", **kwargs)


def decode_stream(data: bytes) -> list[Message]:
    """Every message in `data`, decoded (4-octet AS, up to 65535 octets)."""
    buffer = bytearray(data)
    frames = split_frames(buffer, MAX_EXTENDED_MESSAGE)
    assert not buffer, "trailing partial message"
    return [decode(frame, Negotiated(extended_message=True)) for frame in frames]


@dataclass
class FakeClock:
    """Seconds since an arbitrary epoch; only tests move it."""

    now: float = 1000.0


@dataclass
class Pair:
    """Sessions `a` and `b`, each the other's peer; `a` has ADDRESS_A, `b` ADDRESS_B."""

    a: Session
    b: Session
    clock: FakeClock = field(default_factory=FakeClock)
    events_a: list[Event] = field(default_factory=list)
    events_b: list[Event] = field(default_factory=list)
    wire_a_to_b: list[bytes] = field(default_factory=list)
    wire_b_to_a: list[bytes] = field(default_factory=list)
    connected: bool = False
    dials: int = 0

    @classmethod
    def of(cls, config_a: PeerConfig, config_b: PeerConfig, *, seed: int = 1, **kwargs: object) -> Pair:
        """Two Sessions with seeded back-off jitter (extra kwargs go to both Session constructors)."""
        a = Session(config_a, rng=random.Random(seed), **kwargs)  # type: ignore[arg-type]
        b = Session(config_b, rng=random.Random(seed + 1))
        return cls(a, b)

    @property
    def now(self) -> float:
        return self.clock.now

    def start(self) -> None:
        """Start both and let them talk."""
        self.events_a += self.a.start(self.now)
        self.events_b += self.b.start(self.now)
        self.pump()

    def establish(self) -> None:
        """Start both and assert they reach Established."""
        self.start()
        assert self.a.state is State.ESTABLISHED, self.a.state
        assert self.b.state is State.ESTABLISHED, self.b.state

    def _dial(self) -> bool:
        if self.connected:
            return False
        for dialer, listener in ((self.a, self.b), (self.b, self.a)):
            if dialer.wants_connection() and listener.state is not State.IDLE:
                self.connected = True
                self.dials += 1
                self._connect(dialer, listener)
                return True
        return False

    def _connect(self, dialer: Session, listener: Session) -> None:
        a_dials = dialer is self.a
        a_events = self.a.connection_made(self.now, ADDRESS_A, ADDRESS_B, outgoing=a_dials)
        b_events = self.b.connection_made(self.now, ADDRESS_B, ADDRESS_A, outgoing=not a_dials)
        self.events_a += a_events
        self.events_b += b_events

    def close(self) -> None:
        """The TCP connection goes away under both ends (a reset, a cable pulled)."""
        self.connected = False
        self.events_a += self.a.connection_lost(self.now)
        self.events_b += self.b.connection_lost(self.now)

    def pump(self) -> None:
        """Deliver bytes both ways until quiet (bounded)."""
        for _ in range(MAX_PUMP_ROUNDS):
            moved = self._dial()
            data_a, data_b = self.a.data_to_send(), self.b.data_to_send()
            if data_a:
                self.wire_a_to_b.append(data_a)
            if data_b:
                self.wire_b_to_a.append(data_b)
            if self.connected:
                if data_a:
                    self.events_b += self.b.receive_data(data_a, self.now)
                    moved = True
                if data_b:
                    self.events_a += self.a.receive_data(data_b, self.now)
                    moved = True
                if self.a.should_close() or self.b.should_close():
                    for side, other in ((self.a, self.b), (self.b, self.a)):
                        rest = side.data_to_send()
                        if rest:
                            (self.wire_a_to_b if side is self.a else self.wire_b_to_a).append(rest)
                            events = other.receive_data(rest, self.now)
                            (self.events_b if other is self.b else self.events_a).extend(events)
                    self.close()
                    moved = True
            if not moved:
                return
        raise AssertionError("pump did not settle")

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`, firing every deadline on the way, in order."""
        target = self.now + seconds
        for _ in range(100_000):
            deadlines = [d for d in (self.a.next_deadline(), self.b.next_deadline()) if d is not None]
            upcoming = min(deadlines, default=None)
            if upcoming is None or upcoming > target:
                break
            self.clock.now = max(self.now, upcoming)
            self.events_a += self.a.tick(self.now)
            self.events_b += self.b.tick(self.now)
            self.pump()
        else:
            raise AssertionError("advance did not settle")
        self.clock.now = target

    def silence_b(self) -> None:
        """From now on `b` neither reads nor writes (a frozen peer, as with SIGSTOP)."""
        frozen = self.b

        def no_data(data: bytes, now: float) -> list[Event]:
            return []

        frozen.receive_data = no_data  # type: ignore[method-assign]
        frozen.tick = lambda now: []  # type: ignore[method-assign]
        frozen.data_to_send = lambda limit=None: b""  # type: ignore[method-assign]
        frozen.next_deadline = lambda: None  # type: ignore[method-assign]

    def feed_a(self, data: bytes) -> list[Event]:
        """Bytes from `b`'s side that `b` did not write (garbage, crafted messages)."""
        events = self.a.receive_data(data, self.now)
        self.events_a += events
        return events


def updates(data: list[bytes]) -> list[Update]:
    """The UPDATEs in captured wire chunks."""
    return [m for chunk in data for m in decode_stream(chunk) if isinstance(m, Update)]


def notifications(data: list[bytes]) -> list[Notification]:
    """The NOTIFICATIONs in captured wire chunks."""
    return [m for chunk in data for m in decode_stream(chunk) if isinstance(m, Notification)]


def attrs_of(attributes: tuple[object, ...], kind: type) -> object:
    """The one attribute of class `kind` in `attributes`."""
    found = [a for a in attributes if isinstance(a, kind)]
    assert len(found) == 1, attributes
    return found[0]


def states(events: list[Event]) -> list[State]:
    """The sequence of states entered, from StateChanged events."""
    return [event.new for event in events if isinstance(event, StateChanged)]


def downs(events: list[Event]) -> list[SessionDown]:
    """The SessionDown events."""
    return [event for event in events if isinstance(event, SessionDown)]


def with_config(config_: PeerConfig, **changes: object) -> PeerConfig:
    """`config_` with some fields changed."""
    return replace(config_, **changes)  # type: ignore[arg-type]


# ---- one Session against a scripted peer ---------------------------------------------------------------

PEER_OPEN = Open(64500, 90, IPv4Address("10.0.0.2"), (Multiprotocol(1, 1), FourOctetAs(64500)))
KEEPALIVE = encode(Keepalive())
BAD_MARKER = b"\x00" * 16 + bytes((0, 19, 4))


def open_bytes(message: Open = PEER_OPEN) -> bytes:
    """An OPEN as the peer would send it."""
    return encode(message)


def bad_version_open() -> bytes:
    """An OPEN with version 3 (OPEN Message Error 2/1 at decoding)."""
    data = bytearray(open_bytes())
    data[HEADER_LEN] = 3
    return bytes(data)


def overrun_update() -> bytes:
    """An UPDATE whose withdrawn-routes length overruns it (UPDATE Message Error 3/1, session reset)."""
    return frame(MessageType.UPDATE, b"\x00\x09\x00\x00")


def inject(session: Session, event: Input, now: float) -> list[Event]:
    """White-box: feed an FSM input that has no wire form here (timer expiries, automatic start/stop)."""
    return session._run(event, now)


def stimulate(session: Session, event: Input, now: float) -> tuple[list[Event], bytes]:
    """Produce `event` on `session` the way the transport or the peer would; returns (events, bytes out)."""
    connected = session.outgoing is not None and not session.should_close()
    wire = {
        Input.BGP_OPEN: open_bytes(),
        Input.BGP_HEADER_ERR: BAD_MARKER,
        Input.BGP_OPEN_MSG_ERR: bad_version_open(),
        Input.NOTIF_MSG_VER_ERR: encode(Notification(2, 1, b"\x00\x04")),
        Input.NOTIF_MSG: encode(Notification(6, 2)),
        Input.KEEPALIVE_MSG: KEEPALIVE,
        Input.UPDATE_MSG: encode(end_of_rib(IPV4_UNICAST)),
        Input.UPDATE_MSG_ERR: overrun_update(),
        Input.ROUTE_REFRESH_MSG: encode(RouteRefresh(1, 1)),
    }
    if event in wire:
        events = session.receive_data(wire[event], now) if connected else inject(session, event, now)
    elif event in (Input.TCP_CR_ACKED, Input.TCP_CONNECTION_CONFIRMED):
        outgoing = event is Input.TCP_CR_ACKED
        events = session.connection_made(now, ADDRESS_A, ADDRESS_B, outgoing=outgoing)
    elif event is Input.TCP_CONNECTION_FAILS:
        events = session.connection_lost(now) if connected else session.connection_failed(now)
    elif event is Input.OPEN_COLLISION_DUMP:
        events = session.close_for_collision(now)
    elif event is Input.MANUAL_STOP:
        events = session.stop(now, "test")
    elif event is Input.MANUAL_START and not session.config.passive:
        events = session.start(now)
    else:
        events = inject(session, event, now)
    return events, session.data_to_send()


def drive_to(state: State, *, passive: bool = False, now: float = 1000.0) -> Session:
    """A Session (AS 64501 facing AS 64500) brought to `state` by real stimuli."""
    cfg = config(64501, 64500, "10.0.0.1", passive=passive or state is State.ACTIVE)
    session = Session(cfg, rng=random.Random(3))
    if state is State.IDLE:
        return session
    session.start(now)
    if state in (State.CONNECT, State.ACTIVE):
        return session
    session.connection_made(now, ADDRESS_A, ADDRESS_B)
    if state is not State.OPEN_SENT:
        session.receive_data(open_bytes(), now)
        if state is State.ESTABLISHED:
            session.receive_data(KEEPALIVE, now)
    session.data_to_send()
    assert session.state is state, (session.state, state)
    return session
