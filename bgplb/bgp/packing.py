"""Packing encoded prefixes into UPDATE messages (RFC 4271 §4.3, RFC 4760 §3-4), for the Adj-RIB-Out.

Prefixes arrive as their NLRI encodings (bytes); a load is cut with C-level slices and joins, guessed from
the size of its first prefix (exact when all have one size, the usual /32 or /128 case) and corrected when
sizes are mixed. IPv4 unicast goes in the classic NLRI / Withdrawn Routes fields, IPv6 unicast in
MP_REACH_NLRI / MP_UNREACH_NLRI.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from bgplb.bgp.codec import encode_mp_reach_raw, encode_mp_unreach_raw, encode_update_raw
from bgplb.bgp.constants import HEADER_LEN, IPV4_UNICAST, Family
from bgplb.bgp.export import EncodedAttributes

UPDATE_FIXED = HEADER_LEN + 4  # header, Withdrawn Routes Length, Total Path Attribute Length
MP_FIXED = 4 + 3  # MP attribute header with a two-octet length, AFI, SAFI
MIN_BUDGET = 17  # room for at least one IPv6 /128


def update_message(family: Family, encoded: EncodedAttributes, nlri: bytes) -> bytes:
    """One UPDATE announcing the joined prefixes `nlri` of `family` with these attributes."""
    if not encoded.next_hops:
        return encode_update_raw(b"", encoded.attributes, nlri)
    reach = encode_mp_reach_raw(family.afi, family.safi, encoded.next_hops, nlri)
    return encode_update_raw(b"", reach + encoded.attributes, b"")


def withdrawals(family: Family, nlris: list[bytes], max_message_size: int) -> list[bytes]:
    """UPDATEs withdrawing `nlris` of `family`, as few as fit in `max_message_size` octets each."""
    room = max_message_size - UPDATE_FIXED
    if family == IPV4_UNICAST:
        return [encode_update_raw(chunk, b"", b"") for chunk in pack(nlris, room)]
    afi, safi = family.afi, family.safi
    chunks = pack(nlris, room - MP_FIXED)
    return [encode_update_raw(b"", encode_mp_unreach_raw(afi, safi, chunk), b"") for chunk in chunks]


def budget(size: int, encoded: EncodedAttributes) -> int:
    """Octets left for prefixes in an UPDATE of at most `size` octets with these attributes."""
    room = size - UPDATE_FIXED - len(encoded.attributes)
    return room - MP_FIXED - 2 - 16 * len(encoded.next_hops) if encoded.next_hops else room


def loads(nlris: Iterator[bytes], room: int, carry: list[bytes]) -> Iterator[tuple[list[bytes], bytes]]:
    """Full UPDATE loads (prefixes, joined) from `carry` + `nlris`, lazily, in order.

    A load is guessed from the size of its first prefix (exact when all have one size, the usual case),
    cut when mixed sizes overflow it, topped up while they underfill it. The last load, when it is not
    full, is left in `carry` for a later run of the same attribute set.
    """
    exhausted = False
    while True:
        if not carry:
            first = None if exhausted else next(nlris, None)
            if first is None:
                return
            carry.append(first)
        want = room // len(carry[0])
        if not exhausted and want > len(carry):
            carry.extend(islice(nlris, want - len(carry)))
            exhausted = len(carry) < want
        blob = b"".join(carry)
        used = len(blob)
        if used > room:
            end = cut(carry, room)
            yield carry[:end], b"".join(carry[:end])
            del carry[:end]
            continue
        topped = False
        while not exhausted:  # top up, one prefix at a time, until the next one would not fit
            extra = next(nlris, None)
            if extra is None:
                exhausted = True
            elif used + len(extra) > room:
                yield carry[:], b"".join(carry) if topped else blob
                carry[:] = [extra]
                break
            else:
                carry.append(extra)
                used += len(extra)
                topped = True
        if exhausted:
            return


def cut(nlris: list[bytes], room: int) -> int:
    """How many of `nlris`, from the first, fit in `room` octets (at least one)."""
    used = 0
    for index, nlri in enumerate(nlris):
        used += len(nlri)
        if used > room:
            return max(index, 1)
    return len(nlris)


def pack(nlris: list[bytes], room: int) -> Iterator[bytes]:
    """Concatenate encoded prefixes, in order, into chunks of at most `room` octets."""
    sizes = set(map(len, nlris))
    if len(sizes) == 1:  # the common case (all /32, or all /128): fixed size, done in C
        step = room // sizes.pop()
        for start in range(0, len(nlris), step):
            yield b"".join(nlris[start : start + step])
        return
    while nlris:
        end = cut(nlris, room)
        yield b"".join(nlris[:end])
        nlris = nlris[end:]
