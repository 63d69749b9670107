"""Every benchmark in one go (what `make bench` runs), summarised as one markdown report.

Each sub-benchmark runs as its own process, exactly as it runs alone (`python bench/<name>.py …`), so
their memory and imports do not mix; this script only collects their output. The report has one section
per benchmark (its command, wall time, exit status and output) and ends with the ratio and goal lines:
bgplb's time against the best other sender's (bgp_announce), and the one-added-route latencies against
the 2 ms goal (set_routes_latency). `--quick` passes through: 10,000 prefixes and one run for the
announcement benchmark, smaller tables and fewer rounds elsewhere. Needs root (network namespaces).

    .venv/bin/python bench/run_all.py [--quick] [--output report.md]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
LATENCY_GOAL_MS = 2.0


@dataclass(frozen=True, slots=True)
class Bench:
    """One sub-benchmark: its script and its arguments for a full and for a quick run."""

    script: str
    title: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    timeout: float = 1800.0


BENCHES = (
    Bench(
        "bgp_announce.py", "100,000 /32 announced over eBGP, bgplb vs GoBGP/BIRD/ExaBGP/FRR", (), ("--quick",)
    ),
    Bench(
        "set_routes_latency.py",
        "one added route on the wire after set_routes/update_routes",
        (),
        ("--quick",),
    ),
    Bench("adj_rib_out_pack.py", "Adj-RIB-Out packing and diff (CPU time)", (), ("10000",)),
    Bench("codec_speed.py", "codec: encode and decode 100,000 NLRI", (), ("--rounds", "2")),
    Bench("allocation.py", "IPAM allocation", (), ()),
    Bench(
        "k8s_pass.py", "one controller/speaker pass at 10k Services (API double)", (), ("--services", "2000")
    ),
    Bench(
        "planning.py",
        "planning pass (announce, allocate) at 1k/10k/50k Services",
        (),
        ("--sizes", "1000,10000"),
    ),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one sub-benchmark printed."""

    bench: Bench
    argv: list[str]
    seconds: float
    returncode: int
    output: str


def run(bench: Bench, quick: bool) -> Outcome:
    """Run one sub-benchmark, stdout and stderr captured (a timeout counts as a failure)."""
    argv = [sys.executable, str(HERE / bench.script), *(bench.quick if quick else bench.full)]
    print(f"running {bench.script} …", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv, check=False, capture_output=True, text=True, timeout=bench.timeout, cwd=HERE.parent
        )
        returncode, output = done.returncode, done.stdout + (done.stderr if done.returncode else "")
    except subprocess.TimeoutExpired as exc:
        returncode, output = -1, f"timed out after {exc.timeout:.0f} s"
    return Outcome(bench, argv, time.monotonic() - started, returncode, output.rstrip())


def ratio_lines(outcomes: list[Outcome]) -> list[str]:
    """The summary lines: bgp_announce's ratios and set_routes_latency's medians against the goal."""
    lines: list[str] = []
    for outcome in outcomes:
        if outcome.bench.script == "bgp_announce.py":
            lines += [line for line in outcome.output.splitlines() if line.startswith("ratio ")]
        if outcome.bench.script == "set_routes_latency.py":
            lines += _latency_goal(outcome.output)
    return lines


def _latency_goal(output: str) -> list[str]:
    """`| 100,000 | set_routes, same objects | 0.5 | …` rows -> one line per row of the largest table."""
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in output.splitlines()
        if line.startswith("| ") and line[2:3].isdigit()
    ]
    if not rows:
        return []
    largest = max(int(row[0].replace(",", "")) for row in rows)
    out = []
    for table, call, add, *_ in rows:
        if int(table.replace(",", "")) == largest:
            ratio = float(add) / LATENCY_GOAL_MS
            out.append(f"ratio one added route / 2 ms goal ({call}, {table} routes): {ratio:.3f} ({add} ms)")
    return out


def report(outcomes: list[Outcome], quick: bool) -> str:
    """The markdown report."""
    lines = [
        f"# bgplb benchmarks ({'quick' if quick else 'full'} run, {time.strftime('%Y-%m-%d %H:%M %Z')})",
        "",
    ]
    for outcome in outcomes:
        status = "ok" if outcome.returncode == 0 else f"FAILED (exit {outcome.returncode})"
        command = " ".join(["python", f"bench/{outcome.bench.script}", *outcome.argv[2:]])
        lines += [f"## {outcome.bench.title}", "", f"`{command}` — {outcome.seconds:.0f} s, {status}", ""]
        table = any(line.startswith("|") for line in outcome.output.splitlines())
        lines += [outcome.output, ""] if table else ["```", outcome.output, "```", ""]
    lines += ["## Ratios", "", *(f"- {line}" for line in ratio_lines(outcomes))]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller, single runs (a few minutes)")
    parser.add_argument("--only", help="comma-separated subset of scripts, e.g. codec_speed,allocation")
    parser.add_argument("--output", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    wanted = {name.removesuffix(".py") for name in args.only.split(",")} if args.only else None
    benches = [b for b in BENCHES if wanted is None or b.script.removesuffix(".py") in wanted]
    outcomes = [run(bench, args.quick) for bench in benches]
    text = report(outcomes, args.quick)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0 if all(outcome.returncode == 0 for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
