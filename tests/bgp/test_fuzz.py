"""Fuzzing the codec: random and mutated bytes must end in a fitting ProtocolError or a message that
re-encodes faithfully (see tests/bgp/fuzzing.py). Found crashers are replayed from tests/bgp/crashers/."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgplb.bgp.codec import encode
from bgplb.bgp.negotiation import Negotiated
from tests.bgp.codec_strategies import messages, negotiated_contexts
from tests.bgp.fuzzing import CRASHERS, InvariantError, check, context, mutate, vector_seeds

SEEDS = vector_seeds()
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([None, Negotiated(), Negotiated(four_octet_as=False)]))
def test_random_bytes(data: bytes, negotiated: Negotiated | None) -> None:
    check(data, negotiated)


@FUZZ
@given(
    st.sampled_from([1, 2, 3, 4, 5]),
    st.binary(max_size=200),
    st.sampled_from([None, Negotiated(four_octet_as=False)]),
)
def test_valid_header_random_body(kind: int, body: bytes, negotiated: Negotiated | None) -> None:
    check(b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + bytes((kind,)) + body, negotiated)


@FUZZ
@given(st.sampled_from(SEEDS), st.randoms(use_true_random=False))
def test_mutated_vectors(seed: tuple[bytes, Negotiated | None], rng: random.Random) -> None:
    data, negotiated = seed
    check(mutate(data, rng), negotiated)


@FUZZ
@given(st.data(), negotiated_contexts, st.randoms(use_true_random=False))
def test_mutated_generated_messages(data: st.DataObject, negotiated: Negotiated, rng: random.Random) -> None:
    message = data.draw(messages(negotiated))
    check(mutate(encode(message, negotiated), rng), negotiated)


def test_the_invariant_catches_a_foreign_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: bytes, negotiated: object = None) -> object:
        raise IndexError("boom")

    monkeypatch.setattr("tests.bgp.fuzzing.decode", broken)
    with pytest.raises(InvariantError, match="IndexError"):
        check(b"\xff" * 16 + b"\x00\x13\x04", None)


CRASHER_FILES = sorted(CRASHERS.glob("*.json"))


@pytest.mark.parametrize("path", CRASHER_FILES, ids=lambda p: p.stem)
def test_crasher_stays_fixed(path: Path) -> None:
    crasher = json.loads(path.read_text())
    check(bytes.fromhex(crasher["hex"]), context(crasher["negotiated"]))
