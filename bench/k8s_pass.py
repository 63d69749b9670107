"""One reconcile pass at scale, in one process: what a change costs inside `bgplb controller` and the speaker.

Run: `.venv/bin/python bench/k8s_pass.py [--services 10000] [--changes 10]`.

The API-server double (tests/k8s_double) is seeded with N LoadBalancer Services that already have their
addresses (and, for the speaker, an EndpointSlice each on its node and one BGP peer); the daemon runs against
it in this process until its first pass is done. Then:
- controller: `reconcile()` timed 5 times with nothing changed (p50, max); then `--changes` Services each get
  a new `metallb.io/loadBalancerIPs` in the double's store and the time until the status write reaches the
  double is taken (the watch event, one pass, the write request);
- speaker: `reconcile()` timed 5 times (the view, the planner over every Service, the routes handed to the
  recording BGP side of the speaker tests).
bench/k8s_scale.py measures the same daemons as separate processes, where the 2 cores are shared with the
double's HTTP work; this one isolates the pass itself.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bgplb.adapters.k8s_status import POOL_ANNOTATION  # noqa: E402
from tests.k8s_double.helpers import eventually, serving  # noqa: E402
from tests.k8s_double.store import KIND_BY_PATH  # noqa: E402
from tests.runtime import k8s_objects  # noqa: E402
from tests.runtime.test_k8s_controller import controller, pool  # noqa: E402
from tests.runtime.test_k8s_speaker import running  # noqa: E402

POOL = ipaddress.ip_network("10.96.0.0/16")
SERVICES = KIND_BY_PATH[("", "services")]
POOLS = KIND_BY_PATH[("metallb.io", "ipaddresspools")]


def service(i: int) -> dict[str, object]:
    return {
        "metadata": {"name": f"s{i}", "namespace": "default", "annotations": {POOL_ANNOTATION: "lan"}},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": str(POOL[i + 1]), "ipMode": "VIP"}]}},
    }


async def timed_passes(step: object, rounds: int = 5) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await step()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return times


async def controller_figures(count: int, changes: int) -> dict[str, float]:
    async with serving() as (api, client):
        api.seed("IPAddressPool", "ipaddresspools", pool(str(POOL)), group="metallb.io")
        for i in range(count):
            api.seed("Service", "services", service(i))
        async with controller(client, "bench") as daemon:
            await eventually(lambda: daemon.allocation is not None and daemon.is_leader, timeout=300)
            await daemon.loop.wait_idle()
            passes = await timed_passes(daemon.reconcile)
            latencies = []
            for k in range(changes):
                name, ip = f"s{k * (count // max(changes, 1))}", str(POOL[60000 + k])
                arrived: list[float] = []  # when the status write reaches the double (this loop is busy
                # with the daemon's next pass right after, so polling the store would measure that pass too)
                api.on_next(
                    "PUT",
                    f"/services/{name}/status",
                    lambda _store, seen=arrived: seen.append(time.perf_counter()),
                )
                start = time.perf_counter()
                patch = {"metadata": {"annotations": {"metallb.io/loadBalancerIPs": ip}}}
                api.store.patch(SERVICES, "default", name, patch)
                await eventually(lambda seen=arrived: bool(seen), timeout=30, what=f"{name} rewritten")
                ingress = api.store.get(SERVICES, "default", name)["status"]["loadBalancer"]["ingress"]
                assert [entry["ip"] for entry in ingress] == [ip], ingress
                latencies.append((arrived[0] - start) * 1000)
                await asyncio.sleep(0.3)  # our own write comes back through the watch: one more pass
                await daemon.loop.wait_idle()
    return {
        "pass_p50_ms": statistics.median(passes),
        "pass_max_ms": max(passes),
        "change_p50_ms": statistics.median(latencies),
        "change_max_ms": max(latencies),
    }


async def speaker_figures(count: int) -> dict[str, float]:
    async with serving() as (api, client):
        k8s_objects.cluster(api)
        api.store.update(POOLS, "metallb-system", "lan", k8s_objects.pool("lan", str(POOL)))
        objects = []
        for i in range(count):
            objects += [
                k8s_objects.service(f"s{i}", str(POOL[i + 1])),
                k8s_objects.endpoint_slice(f"s{i}", "node-1"),
            ]
        k8s_objects.seed(api, *objects)
        async with running(api, client) as (speaker, _sessions):
            await eventually(
                lambda: speaker.plan is not None and len(speaker.plan.decisions) == count, timeout=300
            )
            passes = await timed_passes(speaker.reconcile)
            routes = sum(len(s.routes) for s in speaker.plan.sessions) if speaker.plan else 0
    return {"pass_p50_ms": statistics.median(passes), "pass_max_ms": max(passes), "routes": routes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args()
    ctl = asyncio.run(controller_figures(args.services, args.changes))
    spk = asyncio.run(speaker_figures(args.services))
    print(f"{args.services:,} Services, one process (the double, then the daemon)")
    print(
        f"  controller pass, nothing changed   p50 {ctl['pass_p50_ms']:.1f} ms, "
        f"max {ctl['pass_max_ms']:.1f} ms"
    )
    print(
        f"  one change -> status write arrives p50 {ctl['change_p50_ms']:.1f} ms, "
        f"max {ctl['change_max_ms']:.1f} ms ({args.changes} changes)"
    )
    print(
        f"  speaker pass ({spk['routes']:,.0f} routes)        p50 {spk['pass_p50_ms']:.1f} ms, "
        f"max {spk['pass_max_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
