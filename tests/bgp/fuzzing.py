"""The codec robustness invariant and a byte mutator, shared by tests/bgp/test_fuzz.py and bench/fuzz_long.py.

Invariant: whatever bytes arrive, `split_frames` and `decode` either return messages or raise ProtocolError,
and the error code fits what was being decoded (1 for the header, 2 for an OPEN body, 3 for an UPDATE body,
7 for a ROUTE-REFRESH). A message that decodes re-encodes to a canonical form that decodes to the same
message (attribute order aside) and re-encodes to the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace
from pathlib import Path

from bgplb.bgp.attributes import UnknownAttribute
from bgplb.bgp.codec import decode, encode, split_frames
from bgplb.bgp.errors import ProtocolError
from bgplb.bgp.messages import Message, Update
from bgplb.bgp.negotiation import Negotiated

HERE = Path(__file__).parent
CRASHERS = HERE / "crashers"
BODY_CODES = {1: {2}, 2: {3}, 3: set(), 4: set(), 5: {7}}


class InvariantError(AssertionError):
    """The codec let something other than a fitting ProtocolError escape, or lost information."""


def check(data: bytes, negotiated: Negotiated | None) -> Message | None:
    """Run one input through framing and decoding; raise InvariantError when the invariant fails."""
    max_size = negotiated.max_message_size if negotiated is not None else 4096
    try:
        split_frames(bytearray(data), max_size)
    except ProtocolError as exc:
        if exc.code != 1:
            raise InvariantError(f"split_frames raised code {exc.code}: {exc!r}") from exc
    except Exception as exc:
        raise InvariantError(f"split_frames raised {type(exc).__name__}: {exc}") from exc
    try:
        message = decode(data, negotiated)
    except ProtocolError as exc:
        allowed = {1} | (BODY_CODES.get(data[18], set()) if len(data) > 18 else set())
        if exc.code not in allowed:
            raise InvariantError(f"type {data[18]} message raised code {exc.code}: {exc!r}") from exc
        return None
    except Exception as exc:
        raise InvariantError(f"decode raised {type(exc).__name__}: {exc}") from exc
    # Re-encoding may legitimately grow a message (a long 2-octet AS_PATH gains a full AS4_PATH), so the
    # round trip runs with the 65535-octet limit; the size limit is the encoder's precondition, not decoding.
    roomy = replace(negotiated or Negotiated(four_octet_as=False), extended_message=True)
    try:
        canonical = encode(message, roomy)
        again = decode(canonical, roomy)
        stable = encode(again, roomy) == canonical
    except Exception as exc:
        raise InvariantError(f"re-encoding {message!r} failed: {type(exc).__name__}: {exc}") from exc
    if not stable or _unordered(again) != _unordered(message):
        raise InvariantError(f"re-encoding changed {message!r} into {again!r}")
    return message


def _unordered(message: Message) -> object:
    """The message with attribute order and the Partial bit of unknown optional transitive attributes
    forgotten: the encoder writes the canonical order and sets Partial when passing those on."""
    if isinstance(message, Update):
        attrs = frozenset(
            replace(a, flags=a.flags | 0x20)
            if isinstance(a, UnknownAttribute) and a.flags & 0xC0 == 0xC0
            else a
            for a in message.attributes
        )
        return (message.withdrawn, attrs, message.nlri)
    return message


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits: bit flips, byte overwrites (length fields included), cuts, insertions;
    then, usually, a header length made consistent again so that the body decoder sees the damage."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        pos = rng.randrange(
            19 if len(out) > 19 and rng.random() < 0.85 else 0, len(out) + 1
        )  # mostly the body
        if op == 0 and out:
            out[pos % len(out)] ^= 1 << rng.randrange(8)
        elif op == 1 and out:
            out[pos % len(out)] = rng.choice((0, 1, 2, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        elif op == 2:
            del out[pos:]
        elif op == 3:
            out[pos:pos] = rng.randbytes(rng.choice((1, 2, 4, 16)))
        elif op == 4:
            del out[pos : pos + rng.randint(1, 8)]
        elif len(out) > pos + 1:  # a plausible-looking but wrong 1- or 2-octet length
            out[pos] = rng.randrange(256)
            out[pos + 1] = rng.randrange(256)
    if len(out) >= 19 and rng.random() < 0.9:
        out[16:18] = len(out).to_bytes(2, "big") if len(out) <= 0xFFFF else out[16:18]
    return bytes(out)


def context(raw: dict[str, bool] | None) -> Negotiated | None:
    """The Negotiated a vector or crasher file names (None: before OPEN)."""
    return None if raw is None else Negotiated(**raw)


def vector_seeds() -> list[tuple[bytes, Negotiated | None]]:
    """Every wire vector, as a mutation seed."""
    seeds = []
    for path in sorted((HERE / "vectors").glob("*.json")):
        vector = json.loads(path.read_text())
        seeds.append((bytes.fromhex("".join(vector["hex"])), context(vector["negotiated"])))
    return seeds


def save_crasher(data: bytes, negotiated: Negotiated | None, note: str) -> Path:
    """Store a failing input as tests/bgp/crashers/<digest>.json for the regression test."""
    raw = (
        None
        if negotiated is None
        else {"four_octet_as": negotiated.four_octet_as, "extended_message": negotiated.extended_message}
    )
    path = CRASHERS / f"{hashlib.sha1(data).hexdigest()[:16]}.json"
    path.write_text(json.dumps({"hex": data.hex(), "negotiated": raw, "note": note}, indent=2) + "\n")
    return path
