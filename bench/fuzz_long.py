"""A longer codec fuzz run, started by hand: `python -m bench.fuzz_long --seconds 600`.

Same invariant as tests/bgp/test_fuzz.py (only a fitting ProtocolError escapes; decoded messages re-encode
faithfully). Inputs are the wire vectors mutated again and again; inputs that still decode join the corpus,
so damage accumulates in messages that stay parseable. Failures are written to tests/bgp/crashers/ and
replayed by the test suite from then on. Prints throughput and the error codes reached.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

from bgplb.bgp.codec import decode
from bgplb.bgp.errors import ProtocolError
from bgplb.bgp.messages import Open, Update
from bgplb.bgp.negotiation import Negotiated
from tests.bgp.fuzzing import InvariantError, check, mutate, save_crasher, vector_seeds

CORPUS_LIMIT = 5000


def run(seconds: float, seed: int) -> int:
    """Fuzz for `seconds`; returns the number of crashers saved."""
    rng = random.Random(seed)
    corpus: list[tuple[bytes, Negotiated | None]] = vector_seeds()
    contexts: list[Negotiated | None] = [
        None,
        Negotiated(),
        Negotiated(four_octet_as=False, extended_message=True),
    ]
    outcomes: Counter[str] = Counter()
    crashers = 0
    deadline = time.monotonic() + seconds
    count = 0
    while time.monotonic() < deadline:
        data, negotiated = rng.choice(corpus)
        if rng.random() < 0.1:
            negotiated = rng.choice(contexts)
        data = mutate(data, rng)
        count += 1
        try:
            message = check(data, negotiated)
        except InvariantError as exc:
            crashers += 1
            path = save_crasher(data, negotiated, str(exc)[:500])
            print(f"CRASHER {path.name}: {str(exc)[:200]}")
            continue
        if message is None:
            try:
                decode(data, negotiated)
            except ProtocolError as exc:
                outcomes[f"{int(exc.code)}/{exc.subcode} {exc.action.value}"] += 1
            continue
        outcomes["decoded"] += 1
        errors = getattr(message, "errors", ())
        for err in errors:
            outcomes[f"{int(err.code)}/{err.subcode} {err.action.value}"] += 1
        if not isinstance(message, Open | Update):
            continue  # other messages decode from almost any body: they would flood the corpus
        if len(corpus) < CORPUS_LIMIT:
            corpus.append((data, negotiated))
        else:
            corpus[rng.randrange(len(corpus))] = (data, negotiated)
    rate = count / seconds
    print(f"{count} inputs in {seconds:.0f} s ({rate:.0f}/s), corpus {len(corpus)}, crashers {crashers}")
    for outcome, n in sorted(outcomes.items(), key=lambda kv: -kv[1]):
        print(f"  {n:9d}  {outcome}")
    return crashers


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time-based)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else time.time_ns() & 0xFFFFFFFF
    print(f"seed {seed}")
    raise SystemExit(1 if run(args.seconds, seed) else 0)


if __name__ == "__main__":
    main()
