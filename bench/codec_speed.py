"""Codec speed, started by hand: `python -m bench.codec_speed`.

Encodes 100,000 IPv4 /32 NLRI, packs them into 4096-octet UPDATEs behind one attribute set (as the
Adj-RIB-Out does), then decodes those UPDATEs twice: first with an empty prefix cache, then warm.
Prints the median of several rounds in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from ipaddress import IPv4Address, IPv4Network

from bgplb.bgp import nlri
from bgplb.bgp.attributes import AsPath, NextHop, Origin
from bgplb.bgp.codec import decode, encode_attributes, encode_update_raw
from bgplb.bgp.messages import Update
from bgplb.bgp.negotiation import Negotiated

PREFIX_OCTETS = 5  # a /32: length octet + 4 address octets


def one_round(prefixes: list[IPv4Network], negotiated: Negotiated) -> tuple[float, float, float, int]:
    """(encode ms, cold decode ms, warm decode ms, UPDATE count) for one round."""
    attrs = encode_attributes(
        (Origin(), AsPath.sequence(64501), NextHop(IPv4Address("192.0.2.1"))), negotiated
    )
    per_update = (negotiated.max_message_size - 23 - len(attrs)) // PREFIX_OCTETS
    start = time.perf_counter()
    data = nlri.encode_prefixes(prefixes)
    chunk = per_update * PREFIX_OCTETS
    messages = [encode_update_raw(b"", attrs, data[i : i + chunk]) for i in range(0, len(data), chunk)]
    encoded = time.perf_counter()
    nlri.clear_cache()  # every prefix is new to the decoder
    first = [decode(m, negotiated) for m in messages]
    cold = time.perf_counter()
    second = [decode(m, negotiated) for m in messages]
    warm = time.perf_counter()
    total = sum(len(u.nlri) for u in first if isinstance(u, Update))
    assert total == len(prefixes) and second == first
    return (encoded - start) * 1000, (cold - encoded) * 1000, (warm - cold) * 1000, len(messages)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefixes", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    prefixes = [IPv4Network((0x0A000000 + i, 32)) for i in range(args.prefixes)]
    rounds = [one_round(prefixes, Negotiated()) for _ in range(args.rounds)]
    enc, cold, warm = (statistics.median(r[i] for r in rounds) for i in range(3))
    print(f"{args.prefixes} /32 NLRI in {rounds[0][3]} UPDATEs (median of {args.rounds})")
    print(f"  encode NLRI + frame UPDATEs  {enc:8.1f} ms")
    print(f"  decode, prefixes new         {cold:8.1f} ms")
    print(f"  decode, prefixes seen before {warm:8.1f} ms")


if __name__ == "__main__":
    main()
