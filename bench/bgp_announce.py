"""Benchmark: announce N /32 prefixes over eBGP (AS 64501 -> AS 64500) and time how fast they arrive.

For every sender (GoBGP, BIRD, ExaBGP, FRR, FRR with `coalesce-time 0` and, when `bgplb speak` exists,
bgplb) and every target ((a) bench/bgp_receiver.py, a receiver that only counts NLRI, optionally nudging
the sender with a KEEPALIVE after every read, and (b) a real FRR bgpd), each run builds a
fresh pair of network namespaces joined by a veth, starts the sender PASSIVE with its whole table loaded,
and only then lets the receiver dial it. Reported per sender and target (medians of `--runs`):

- Established -> first UPDATE and Established -> all N received (counting receiver: its own clock, from
  the KEEPALIVE it sends after the sender's OPEN; FRR: Established from bgpd's `%ADJCHANGE` log line,
  with microseconds, all received from `show bgp neighbors json` polled every ~5 ms over the vty socket);
- UPDATE messages (and bytes, counting receiver only) needed for the N prefixes;
- CPU seconds the sender spent from just before the receiver dialled until all N arrived;
- the sender's peak RSS (VmHWM).

The last lines give the ratio of bgplb's time to the best other sender's, per target.

    .venv/bin/python bench/bgp_announce.py            # 100,000 prefixes, 3 runs (needs root)
    .venv/bin/python bench/bgp_announce.py --quick    # 10,000 prefixes, 1 run
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from bgp_senders import RECEIVER_ASN, SENDER_ASN, SENDERS, Sender, bgplb_available, usage

from bgplb.errors import BgplbError
from bgplb.lab.daemons import BgpSpec, Neighbor
from bgplb.lab.frr import FrrRouter
from bgplb.lab.frr import render as render_frr
from bgplb.lab.netns import Namespace, Netkit

RX = ipaddress.IPv4Address("10.0.0.1")
TX = ipaddress.IPv4Address("10.0.0.2")
RECEIVER = Path(__file__).resolve().parent / "bgp_receiver.py"
TARGETS = ("counter", "nudge", "frr")
DEFAULT_TARGETS = "counter,frr"
TARGET_NAMES = {"counter": "counting receiver", "nudge": "counting receiver, nudging", "frr": "FRR bgpd RIB"}


@dataclass(frozen=True, slots=True)
class Measurement:
    """One sender -> target run; times in seconds, None where the target cannot tell."""

    sender: str
    target: str
    est_to_first: float | None
    est_to_all: float | None
    updates: int | None
    update_bytes: int | None
    cpu_seconds: float
    peak_rss_mb: float
    error: str | None = None


def _to_counter(kit: Netkit, rx: Namespace, count: int, timeout: float, nudge: bool) -> dict[str, object]:
    result = kit.workdir / "receiver.json"
    argv = [sys.executable, str(RECEIVER), "--connect", str(TX), "--asn", str(RECEIVER_ASN)]
    argv += ["--nudge"] if nudge else []
    argv += [
        "--router-id",
        str(RX),
        "--expect",
        str(count),
        "--timeout",
        str(timeout),
        "--result",
        str(result),
    ]
    proc = rx.spawn(argv, name="receiver")
    try:
        proc.popen.wait(timeout + 15)
    except subprocess.TimeoutExpired:
        return {"error": f"receiver still running after {timeout + 15}s"}
    if not result.exists():
        return {"error": f"receiver wrote no result: {proc.log()[-500:]}"}
    data: dict[str, object] = json.loads(result.read_text())
    return data


_ADJ_UP = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}) .*%ADJCHANGE: neighbor (\S+?)\(.*\bUp\b")


def _established_at(log: Path, peer: ipaddress.IPv4Address) -> float | None:
    """Wall-clock time of bgpd's `%ADJCHANGE … Up` line for `peer` (logged with microseconds)."""
    for line in log.read_text(errors="replace").splitlines():
        match = _ADJ_UP.match(line)
        if match and match.group(2) == str(peer):
            return datetime.strptime(match.group(1), "%Y/%m/%d %H:%M:%S.%f").timestamp()
    return None


def _to_frr(rx: Namespace, count: int, timeout: float) -> dict[str, object]:
    """FRR dials the sender. Established comes from bgpd's log (µs timestamps); the count is polled every
    ~5 ms over bgpd's vty socket (a query costs ~0.1 ms), so "all received" is known within a few ms."""
    extra = (f"neighbor {TX} timers connect 1", "bgp log-neighbor-changes")
    spec = BgpSpec(RECEIVER_ASN, RX, (Neighbor(TX, SENDER_ASN),), extra=extra)
    frr = FrrRouter(rx, kernel=False)
    frr.start()
    log = frr.rundir / "precise.log"
    frr.apply_config(f"log timestamp precision 6\nlog file {log}\n" + render_frr(spec))
    vty = frr.vty()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            before = time.time()
            info = vty.json(f"show bgp neighbors {TX} json").get(str(TX), {})
            family = info.get("addressFamilyInfo", {}).get("ipv4Unicast", {})
            if int(family.get("acceptedPrefixCounter", 0)) >= count:
                seen = (before + time.time()) / 2
                established = _established_at(log, TX)
                for _ in range(100):  # bgpd may write the log line after the prefixes are counted
                    if established is not None:
                        break
                    time.sleep(0.01)
                    established = _established_at(log, TX)
                if established is None:
                    return {"error": f"no %ADJCHANGE Up line in {log}"}
                updates = info.get("messageStats", {}).get("updatesRecv")
                return {"est_to_all": max(seen - established, 0.0), "updates": updates}
            time.sleep(0.005)
    finally:
        vty.close()
    return {"error": f"FRR did not receive {count} prefixes within {timeout}s"}


def run_once(sender_key: str, target: str, count: int, timeout: float, workdir: Path) -> Measurement:
    """Fresh namespaces, a loaded passive sender, one receiver session; everything torn down after."""
    name = SENDERS[sender_key].name
    with Netkit("bgplb", workdir) as kit:
        rx = kit.namespace("rx")
        tx = kit.namespace("tx")
        kit.veth(rx, tx, [f"{RX}/24"], [f"{TX}/24"])
        sender: Sender = SENDERS[sender_key](tx, TX, RX, count)
        try:
            sender.start()
            pid = sender.measured_pid()
            before = usage(pid)
            if target == "frr":
                data = _to_frr(rx, count, timeout)
            else:
                data = _to_counter(kit, rx, count, timeout, nudge=target == "nudge")
            after = usage(pid)
        except (BgplbError, OSError) as exc:
            return Measurement(name, target, None, None, None, None, 0.0, 0.0, error=str(exc)[:300])
        error = data.get("error")
        return Measurement(
            sender=name,
            target=target,
            est_to_first=_float(data.get("est_to_first_update")),
            est_to_all=_float(data.get("est_to_all")),
            updates=_int(data.get("updates")),
            update_bytes=_int(data.get("update_bytes")),
            cpu_seconds=after.cpu_seconds - before.cpu_seconds,
            peak_rss_mb=after.peak_rss_mb,
            error=str(error) if error else None,
        )


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int) else None


def median(runs: list[Measurement]) -> Measurement:
    """Per-field medians of successful runs (the first error if none succeeded)."""
    good = [m for m in runs if m.error is None and m.est_to_all is not None]
    if not good:
        return runs[0]

    def med(values: list[float | int | None]) -> float | None:
        present = [v for v in values if v is not None]
        return statistics.median(present) if present else None

    updates, size = med([m.updates for m in good]), med([m.update_bytes for m in good])
    return Measurement(
        sender=good[0].sender,
        target=good[0].target,
        est_to_first=med([m.est_to_first for m in good]),
        est_to_all=med([m.est_to_all for m in good]),
        updates=None if updates is None else int(updates),
        update_bytes=None if size is None else int(size),
        cpu_seconds=statistics.median(m.cpu_seconds for m in good),
        peak_rss_mb=statistics.median(m.peak_rss_mb for m in good),
    )


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.1f}"


def table(results: list[Measurement], count: int, runs: int) -> str:
    """The markdown table of medians."""
    lines = [
        f"{count:,} /32 prefixes, eBGP AS{SENDER_ASN} -> AS{RECEIVER_ASN}, median of {runs} run(s)",
        "",
        "| sender | target | Est→first UPDATE (ms) | Est→all (ms) | UPDATEs | bytes | CPU s | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        if m.error:
            lines.append(f"| {m.sender} | {TARGET_NAMES[m.target]} | failed: {m.error} | | | | | |")
            continue
        updates = "—" if m.updates is None else str(m.updates)
        size = "—" if m.update_bytes is None else f"{m.update_bytes:,}"
        cells = [m.sender, TARGET_NAMES[m.target], _ms(m.est_to_first), _ms(m.est_to_all), updates, size]
        cells += [f"{m.cpu_seconds:.2f}", f"{m.peak_rss_mb:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratios(results: list[Measurement]) -> list[str]:
    """One line per target: bgplb's Est→all divided by the best other sender's."""
    out: list[str] = []
    for target in TARGETS:
        ok = [m for m in results if m.target == target and m.error is None and m.est_to_all is not None]
        ours = [m for m in ok if m.sender == "bgplb"]
        others = sorted((m for m in ok if m.sender != "bgplb"), key=lambda m: m.est_to_all or 0.0)
        if not ours or not others or not others[0].est_to_all:
            continue
        best, mine = others[0], ours[0]
        assert mine.est_to_all is not None and best.est_to_all is not None
        out.append(
            f"ratio bgplb / best other ({target}): {mine.est_to_all / best.est_to_all:.3f} "
            f"(bgplb {_ms(mine.est_to_all)} ms vs {best.sender} {_ms(best.est_to_all)} ms)"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefixes", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10,000 prefixes, 1 run")
    parser.add_argument("--senders", default=",".join(SENDERS), help="comma-separated subset")
    parser.add_argument(
        "--targets", default=DEFAULT_TARGETS, help="counter, nudge (KEEPALIVE after every read), frr"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="per session, seconds")
    parser.add_argument("--json", type=Path, help="also write every run as JSON here")
    args = parser.parse_args(argv)
    count, runs = (10_000, 1) if args.quick else (args.prefixes, args.runs)
    senders = [s for s in args.senders.split(",") if s]
    if "bgplb" in senders and not bgplb_available():
        print("note: `bgplb speak` is not available; bgplb is left out of this run", file=sys.stderr)
        senders.remove("bgplb")
    unknown = [s for s in senders if s not in SENDERS] + [
        t for t in args.targets.split(",") if t not in TARGETS
    ]
    if unknown:
        parser.error(f"unknown sender/target: {', '.join(unknown)}")
    all_runs: list[Measurement] = []
    medians: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="bgplb-bench-") as tmp:
        for target in args.targets.split(","):
            for key in senders:
                done = []
                for i in range(runs):
                    m = run_once(key, target, count, args.timeout, Path(tmp) / f"{key}-{target}-{i}")
                    print(
                        f"  {m.sender:7} -> {target:7} run {i + 1}: Est→all {_ms(m.est_to_all)} ms"
                        + (f"  ERROR {m.error}" if m.error else ""),
                        file=sys.stderr,
                        flush=True,
                    )
                    done.append(m)
                all_runs += done
                medians.append(median(done))
    print(table(medians, count, runs))
    for line in ratios(medians):
        print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(m) for m in all_runs], indent=1))
    return 0 if all(m.error is None for m in medians) else 1


if __name__ == "__main__":
    sys.exit(main())
