"""Benchmark: one route added to (and removed from) a loaded session, from the API call to the UPDATE's
arrival at the peer, with 100 and 100,000 routes in the table.

The speaker is a real `BgpSpeaker` in this process; the peer is this script again (`--receiver`) in a
child process that reads the socket with blocking reads and prints the CLOCK_MONOTONIC arrival time of
every UPDATE after the initial table, so the figure is "API call -> bytes read on the other end" across
two processes. Both run in a private network namespace (the script re-executes itself under
`unshare --net`, needs root) on its loopback. Per table size and way of calling, the median and the 90th
percentile of `--rounds` adds (and as many removes) are printed:

- `set_routes`, same objects: the caller keeps its tuple and passes `table + (new,)` (then `table`), the
  identity fast path (what `bgplb speak` and a planner that reuses its Route values do);
- `set_routes`, new objects: every call passes freshly built, equal Route values (the general path);
- `update_routes`: the ExaBGP-style incremental call (`add=(new,)`, then `withdraw=(prefix,)`).

    .venv/bin/python bench/set_routes_latency.py            # 100 and 100,000 routes, 21 rounds
    .venv/bin/python bench/set_routes_latency.py --quick    # 100 and 10,000 routes, 7 rounds
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from ipaddress import IPv4Address, IPv4Network

from bgp_receiver import KEEPALIVE, OPEN, UPDATE, _message, count_nlri, count_update, open_message

from bgplb.adapters.bgp_transport import BgpSpeaker, PeerSpec
from bgplb.bgp.peer import PeerConfig
from bgplb.bgp.routes import Route

SPEAKER, PEER = IPv4Address("127.0.0.2"), IPv4Address("127.0.0.1")
PORT = 179
NEXT_HOP = IPv4Address("192.0.2.254")  # loopback addresses are not valid next hops (RFC 4271 §5.1.3)
NAMESPACE_MARK = "BGPLB_BENCH_NETNS"
MODES = ("set_routes, same objects", "set_routes, new objects", "update_routes")


# -- the receiving side (child process) -----------------------------------------------------------
def receiver(expect: int) -> int:
    """Dial the speaker, count the initial table, then print `<monotonic> <announced> <withdrawn>` per
    UPDATE until the speaker closes; "ready" once `expect` prefixes have arrived."""
    deadline = time.monotonic() + 60
    while True:
        try:
            sock = socket.create_connection((str(SPEAKER), PORT), timeout=2, source_address=(str(PEER), 0))
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    sock.settimeout(None)
    sock.sendall(open_message(64500, str(PEER), 180))
    buffer, received, ready = bytearray(), 0, False
    out = sys.stdout
    while chunk := sock.recv(1 << 20):
        now = time.monotonic()
        buffer += chunk
        while len(buffer) >= 19 and len(buffer) >= (length := int.from_bytes(buffer[16:18], "big")):
            kind, body = buffer[18], memoryview(bytes(buffer[19:length]))
            del buffer[:length]
            if kind == OPEN:
                sock.sendall(_message(KEEPALIVE))
            elif kind == UPDATE and ready:
                announced = count_update(body)
                withdrawn = count_nlri(body, 2, 2 + int.from_bytes(body[0:2], "big"))
                if announced or withdrawn:  # not an End-of-RIB
                    out.write(f"{now:.6f} {announced} {withdrawn}\n")
                    out.flush()
            elif kind == UPDATE:
                received += count_update(body)
                if received >= expect:
                    ready = True
                    out.write("ready\n")
                    out.flush()
    return 0


# -- the speaking side ----------------------------------------------------------------------------
def host_routes(count: int, first: str = "100.64.0.0") -> tuple[Route, ...]:
    base = int(IPv4Address(first))
    return tuple(Route(IPv4Network((base + i, 32))) for i in range(count))


async def measure(size: int, rounds: int) -> dict[str, tuple[list[float], list[float]]]:
    """Per mode: (add latencies, remove latencies) in seconds for a table of `size` routes."""
    config = PeerConfig(
        local_asn=64501, peer_asn=64500, router_id=SPEAKER, passive=True, next_hop_ipv4=NEXT_HOP
    )
    table = host_routes(size)
    speaker = BgpSpeaker()
    await speaker.start([PeerSpec(PEER, config)], [(SPEAKER, PORT)], {PEER: table})
    argv = [sys.executable, __file__, "--receiver", str(size)]
    child = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE)
    assert child.stdout is not None
    stdout = child.stdout
    results: dict[str, tuple[list[float], list[float]]] = {mode: ([], []) for mode in MODES}
    try:
        async with asyncio.timeout(60):
            assert (await stdout.readline()).strip() == b"ready", "the receiver did not get the table"

        async def timed(call: Callable[[], None], announced: int, withdrawn: int) -> float:
            started = time.monotonic()
            call()
            async with asyncio.timeout(5):
                at, got_announced, got_withdrawn = (await stdout.readline()).split()
            assert (int(got_announced), int(got_withdrawn)) == (announced, withdrawn)
            return float(at) - started

        for index in range(rounds):
            extra = host_routes(1, f"198.18.{index // 256}.{index % 256}")
            prefix = extra[0].prefix
            with_extra = table + extra
            adds, removes = results[MODES[0]]
            adds.append(await timed(partial(speaker.set_routes, PEER, with_extra), 1, 0))
            removes.append(await timed(partial(speaker.set_routes, PEER, table), 0, 1))
            fresh_with, fresh_without = host_routes(size) + extra, host_routes(size)
            adds, removes = results[MODES[1]]
            adds.append(await timed(partial(speaker.set_routes, PEER, fresh_with), 1, 0))
            removes.append(await timed(partial(speaker.set_routes, PEER, fresh_without), 0, 1))
            speaker.set_routes(PEER, table)  # back to the remembered tuple (no change on the wire)
            adds, removes = results[MODES[2]]
            adds.append(await timed(partial(speaker.update_routes, PEER, add=extra), 1, 0))
            removes.append(await timed(partial(speaker.update_routes, PEER, withdraw=(prefix,)), 0, 1))
            speaker.set_routes(PEER, table)
    finally:
        await speaker.stop()
        async with asyncio.timeout(10):
            await child.wait()
    return results


def _ms(values: list[float], quantile: float) -> str:
    ordered = sorted(values)
    return f"{1000 * ordered[min(int(quantile * len(ordered)), len(ordered) - 1)]:.3f}"


def report(sizes: list[int], rounds: int) -> str:
    """Run every size and return the markdown table."""
    lines = [
        f"One route added / removed, API call -> UPDATE read by the peer (another process), {rounds} rounds",
        "",
        "| table | call | add: median ms | add: p90 ms | remove: median ms | remove: p90 ms |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for size in sizes:
        for mode, (adds, removes) in asyncio.run(measure(size, rounds)).items():
            cells = [f"{size:,}", mode, _ms(adds, 0.5), _ms(adds, 0.9), _ms(removes, 0.5), _ms(removes, 0.9)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _enter_namespace() -> None:
    """Re-execute under `unshare --net` (a private network namespace) once; bring its loopback up."""
    if os.environ.get(NAMESPACE_MARK) != "1":
        os.environ[NAMESPACE_MARK] = "1"
        os.execvp("unshare", ["unshare", "--net", sys.executable, *sys.argv])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--receiver", type=int, metavar="EXPECT", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="100,100000", help="comma-separated table sizes")
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--quick", action="store_true", help="100 and 10,000 routes, 7 rounds")
    args = parser.parse_args(argv)
    if args.receiver is not None:
        return receiver(args.receiver)
    _enter_namespace()
    sizes, rounds = (
        ([100, 10_000], 7) if args.quick else ([int(s) for s in args.sizes.split(",")], args.rounds)
    )
    print(report(sizes, rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
