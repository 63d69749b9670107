"""Kubernetes scale: 10,000 LoadBalancer Services against the API-server double, `bgplb controller` and
`bgplb speaker` running as processes.

Run: `.venv/bin/python bench/k8s_scale.py [--services 10000] [--changes 50] [--json FILE]`.

Three processes besides this one, so that each figure is the daemon's own: the API-server double
(tests/k8s_double, real HTTP, this file re-run with `--serve-double`), `bgplb controller` and `bgplb speaker`
(both with `--kubeconfig` pointing at the double). This process seeds the configuration (one IPAddressPool,
one BGPAdvertisement, one BGPPeer, one Node), watches Services, runs bench/bgp_receiver.py as the speaker's
BGP peer (on 127.0.0.1, counting the prefixes it receives), creates one EndpointSlice per Service (one ready
endpoint on the Node: a speaker announces only Services with one) and:
1. creates N LoadBalancer Services (64 requests in flight) and times, from the first create, until every one
   has `status.loadBalancer.ingress` (the watch sees it);
2. waits until the receiver has all N prefixes from the speaker, then reads the controller's and the
   speaker's peak RSS (VmHWM in /proc/<pid>/status);
3. changes one Service at a time (`metallb.io/loadBalancerIPs` asks for a new address) and times the patch
   -> the new ingress written, p50/p99 over `--changes` changes, twice: right after the burst (the speaker
   is still writing its 10,000 ServiceBGPStatus objects and nodeAssigned Events, so the double and the
   daemons share the 2 cores with that backlog), and again once the speaker has written them all and then
   nothing for 2 s (its `bgplb_k8s_status_writes_total` on /metrics).
The machine is shared (2 cores for the double, both daemons and this client): read the figures as orders.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.k8s_double.helpers import background  # noqa: E402  (the test tree, on sys.path now)

NS = "metallb-system"
SVC_NS = "default"
POOL = ipaddress.ip_network("10.96.0.0/16")
CHANGED_BASE = 60000  # requested addresses of the change phase: POOL[60000 + i], never auto-assigned first
NODE = "bench-node"
MY_ASN, PEER_ASN = 64513, 64512
Obj = dict[str, Any]


# -- the double, in its own process -----------------------------------------------------------------------
def serve_double() -> None:
    """`--serve-double`: run the API-server double, print its URL, stop on SIGTERM."""
    from tests.k8s_double.server import ApiServerDouble  # noqa: PLC0415  (only the double's process needs it)

    async def main() -> None:
        async with ApiServerDouble(bookmark_interval=5.0) as api:
            print(api.url, flush=True)
            stop = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            await stop.wait()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kubeconfig(url: str, directory: Path) -> Path:
    path = directory / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "double", "cluster": {"server": url}}],
                "users": [{"name": "bench", "user": {"token": "double"}}],
                "contexts": [{"name": "double", "context": {"cluster": "double", "user": "bench"}}],
                "current-context": "double",
            }
        )
    )
    return path


def progress(message: str) -> None:
    print(f"[k8s_scale] {message}", file=sys.stderr, flush=True)


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set size of a process (VmHWM), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for pid {pid}")


# -- the client side ----------------------------------------------------------------------------------------
class Cluster:
    """HTTP to the double: seeding, Services, and a Service watch that records when ingress changes."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.ingress: dict[str, tuple[str, ...]] = {}
        self.with_ingress = 0  # how many Services have at least one ingress address
        self.changed = asyncio.Condition()

    async def request(self, method: str, path: str, body: Obj | None = None, patch: bool = False) -> Obj:
        headers = {"Content-Type": "application/merge-patch+json" if patch else "application/json"}
        data = json.dumps(body) if body is not None else None
        async with self.session.request(method, self.url + path, data=data, headers=headers) as response:
            result: Obj = await response.json()
            if response.status >= 300:
                raise RuntimeError(f"{method} {path}: {response.status} {result.get('message')}")
            return result

    async def seed(self, bgp_port: int) -> None:
        await self.request("POST", "/api/v1/namespaces", {"metadata": {"name": SVC_NS}})
        await self.request("POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
        node = await self.request(
            "POST", "/api/v1/nodes", {"metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE}}}
        )
        node["status"] = {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "conditions": [{"type": "Ready", "status": "True"}],
        }
        await self.request("PUT", f"/api/v1/nodes/{NODE}/status", node)
        base = f"/apis/metallb.io/{{}}/namespaces/{NS}/{{}}"
        for version, plural, kind, spec in (
            ("v1beta1", "ipaddresspools", "IPAddressPool", {"addresses": [str(POOL)]}),
            ("v1beta1", "bgpadvertisements", "BGPAdvertisement", {"ipAddressPools": ["bench"]}),
            (
                "v1beta2",
                "bgppeers",
                "BGPPeer",
                {"myASN": MY_ASN, "peerASN": PEER_ASN, "peerAddress": "127.0.0.1", "peerPort": bgp_port},
            ),
        ):
            body = {
                "apiVersion": f"metallb.io/{version}",
                "kind": kind,
                "metadata": {"name": "bench", "namespace": NS},
                "spec": spec,
            }
            await self.request("POST", base.format(version, plural), body)

    async def watch(self, ready: asyncio.Event) -> None:
        """Follow every Service's ingress (a watch from the current resourceVersion)."""
        listed = await self.request("GET", f"/api/v1/namespaces/{SVC_NS}/services")
        rv = listed["metadata"]["resourceVersion"]
        query = f"?watch=true&resourceVersion={rv}&timeoutSeconds=3600"
        async with self.session.get(f"{self.url}/api/v1/namespaces/{SVC_NS}/services{query}") as response:
            ready.set()
            async for line in response.content:
                event = json.loads(line)
                obj = event["object"]
                if event["type"] not in ("ADDED", "MODIFIED"):
                    continue
                ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
                name = obj["metadata"]["name"]
                ips = tuple(entry["ip"] for entry in ingress)
                before = self.ingress.get(name)
                if before != ips:
                    self.with_ingress += bool(ips) - bool(before)
                    self.ingress[name] = ips
                    async with self.changed:
                        self.changed.notify_all()

    async def until(self, predicate: Any, timeout: float) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), timeout)

    async def create_endpoint_slices(self, count: int, parallel: int = 64) -> None:
        """One ready endpoint on NODE per Service (a speaker announces only Services with one)."""
        gate = asyncio.Semaphore(parallel)

        async def create(i: int) -> None:
            body = {
                "metadata": {
                    "name": f"svc-{i:05d}-bench",
                    "namespace": SVC_NS,
                    "labels": {"kubernetes.io/service-name": f"svc-{i:05d}"},
                },
                "addressType": "IPv4",
                "endpoints": [
                    {"addresses": ["10.244.0.10"], "conditions": {"ready": True}, "nodeName": NODE}
                ],
                "ports": [{"port": 8080, "protocol": "TCP"}],
            }
            async with gate:
                await self.request(
                    "POST", f"/apis/discovery.k8s.io/v1/namespaces/{SVC_NS}/endpointslices", body
                )

        await asyncio.gather(*(create(i) for i in range(count)))

    async def create_services(self, count: int, parallel: int = 64) -> None:
        gate = asyncio.Semaphore(parallel)

        async def create(i: int) -> None:
            body = {
                "metadata": {"name": f"svc-{i:05d}", "namespace": SVC_NS},
                "spec": {
                    "type": "LoadBalancer",
                    "externalTrafficPolicy": "Cluster",
                    "ports": [{"port": 80, "protocol": "TCP"}],
                },
            }
            async with gate:
                await self.request("POST", f"/api/v1/namespaces/{SVC_NS}/services", body)

        await asyncio.gather(*(create(i) for i in range(count)))


@contextlib.contextmanager
def daemon(argv: list[str], log: Path) -> Any:
    """A `bgplb` process, terminated (SIGTERM, then SIGKILL) afterwards."""
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def measure(url: str, workdir: Path, services: int, changes: int) -> dict[str, float]:
    config = kubeconfig(url, workdir)
    bgplb = [sys.executable, "-m", "bgplb"]
    common = ["--kubeconfig", str(config), "--namespace", NS, "--log-level", "warning"]
    controller_port, speaker_port, bgp_port = free_port(), free_port(), free_port()
    speaker_flags = ["--node", NODE, "--router-id", "10.255.0.1", "--http-port", str(speaker_port)]
    receiver_result = workdir / "receiver.json"
    receiver_argv = [
        sys.executable,
        str(ROOT / "bench" / "bgp_receiver.py"),
        "--listen",
        f"127.0.0.1:{bgp_port}",
    ]
    receiver_argv += ["--asn", str(PEER_ASN), "--expect", str(services), "--timeout", "900"]
    receiver_argv += ["--result", str(receiver_result)]
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        cluster = Cluster(session, url)
        await cluster.seed(bgp_port)
        await cluster.create_endpoint_slices(services)
        ready = asyncio.Event()
        async with background(cluster.watch(ready)):
            await asyncio.wait_for(ready.wait(), 10)
            with (
                daemon(
                    [*bgplb, "controller", *common, "--http-port", str(controller_port)],
                    workdir / "controller.log",
                ) as controller,
                daemon(
                    [*bgplb, "speaker", *common, *speaker_flags],
                    workdir / "speaker.log",
                ) as speaker,
                daemon(receiver_argv, workdir / "receiver.log") as receiver,
            ):
                await asyncio.sleep(3.0)  # both synced and the controller elected (an empty cluster)
                names = [f"svc-{i:05d}" for i in range(services)]
                start = time.perf_counter()
                await cluster.create_services(services)
                created = time.perf_counter() - start
                progress(f"{services} Services created in {created:.1f} s")
                await cluster.until(lambda: cluster.with_ingress >= services, timeout=600)
                assigned = time.perf_counter() - start
                progress(f"all have status IPs after {assigned:.1f} s")
                deadline = time.perf_counter() + 30 + services / 100
                while receiver.poll() is None:
                    if time.perf_counter() > deadline:
                        raise RuntimeError("the BGP receiver did not get every prefix in time")
                    await asyncio.sleep(0.1)
                received = json.loads(receiver_result.read_text())
                if received["error"] is not None:
                    raise RuntimeError(f"BGP receiver: {received['error']}")
                announced = time.perf_counter() - start
                rss = {"controller": vm_hwm_kib(controller.pid), "speaker": vm_hwm_kib(speaker.pid)}

                async def change_all(first: int) -> list[float]:
                    latencies = []
                    for i in range(first, first + changes):
                        name = names[i * max(1, services // max(2 * changes, 1)) % services]
                        ip = str(POOL[CHANGED_BASE + i])
                        patch = {"metadata": {"annotations": {"metallb.io/loadBalancerIPs": ip}}}
                        t0 = time.perf_counter()
                        await cluster.request(
                            "PATCH", f"/api/v1/namespaces/{SVC_NS}/services/{name}", patch, patch=True
                        )
                        await cluster.until(lambda n=name, a=ip: cluster.ingress.get(n) == (a,), timeout=60)
                        latencies.append(time.perf_counter() - t0)
                    return sorted(latencies)

                busy = await change_all(0)  # the speaker is still publishing its ServiceBGPStatus objects
                await speaker_quiet(session, speaker_port, services)
                published = time.perf_counter() - start
                progress(f"the speaker's status objects are all written after {published:.1f} s")
                quiet = await change_all(changes)
                rss_after = {"controller": vm_hwm_kib(controller.pid), "speaker": vm_hwm_kib(speaker.pid)}
    return {
        "services": services,
        "create_s": created,
        "all_assigned_s": assigned,
        "speaker_announced_s": announced,
        "speaker_published_s": published,
        "assigned_per_s": services / assigned,
        "controller_vmhwm_mib": rss["controller"] / 1024,
        "speaker_vmhwm_mib": rss["speaker"] / 1024,
        "controller_vmhwm_after_changes_mib": rss_after["controller"] / 1024,
        "speaker_vmhwm_after_changes_mib": rss_after["speaker"] / 1024,
        "changes": changes,
        **percentiles("busy", busy),
        **percentiles("quiet", quiet),
    }


def percentiles(phase: str, latencies: list[float]) -> dict[str, float]:
    """p50/p99/max of sorted `latencies` in ms, keyed `change_<phase>_p50_ms` etc."""
    if not latencies:
        return {f"change_{phase}_{q}_ms": 0.0 for q in ("p50", "p99", "max")}
    return {
        f"change_{phase}_p50_ms": statistics.median(latencies) * 1000,
        f"change_{phase}_p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        f"change_{phase}_max_ms": latencies[-1] * 1000,
    }


async def speaker_quiet(
    session: aiohttp.ClientSession, port: int, services: int, timeout: float = 600
) -> None:
    """Until the speaker has written a ServiceBGPStatus for every Service and then nothing for 2 s (its
    `bgplb_k8s_status_writes_total{outcome="Written"}`, read from its /metrics)."""
    deadline = time.perf_counter() + timeout
    last, since = -1.0, time.perf_counter()
    while time.perf_counter() < deadline:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            text = await response.text()
        written = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith('bgplb_k8s_status_writes_total{outcome="Written"}')
        )
        if written != last:
            last, since = written, time.perf_counter()
        elif written >= services and time.perf_counter() - since >= 2.0:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the speaker did not finish writing its status objects ({last:.0f} written)")


def phase_row(figures: dict[str, float], phase: str) -> str:
    return " / ".join(f"{figures[f'change_{phase}_{q}_ms']:.0f}" for q in ("p50", "p99", "max")) + " ms"


def table(figures: dict[str, float]) -> str:
    rows = [
        ("Services created (64 requests in flight)", f"{figures['services']:.0f}"),
        ("  creating them took", f"{figures['create_s']:.1f} s"),
        ("  all have status IPs after", f"{figures['all_assigned_s']:.1f} s"),
        ("  controller throughput", f"{figures['assigned_per_s']:.0f} Services/s"),
        ("  the speaker's BGP peer has them all after", f"{figures['speaker_announced_s']:.1f} s"),
        ("controller peak RSS (VmHWM)", f"{figures['controller_vmhwm_mib']:.0f} MiB"),
        ("speaker peak RSS (VmHWM)", f"{figures['speaker_vmhwm_mib']:.0f} MiB"),
        (
            "  after the changes: controller / speaker",
            "{:.0f} / {:.0f} MiB".format(
                figures["controller_vmhwm_after_changes_mib"], figures["speaker_vmhwm_after_changes_mib"]
            ),
        ),
        ("  the speaker's ServiceBGPStatus all written after", f"{figures['speaker_published_s']:.1f} s"),
        (f"one Service change -> status written ({figures['changes']:.0f}x each)", ""),
        ("  right after the burst (speaker still publishing)", ""),
        ("    p50 / p99 / max", phase_row(figures, "busy")),
        ("  once everything is quiet", ""),
        ("    p50 / p99 / max", phase_row(figures, "quiet")),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--serve-double", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_double:
        serve_double()
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    double = subprocess.Popen(
        [sys.executable, __file__, "--serve-double"], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    try:
        assert double.stdout is not None
        url = double.stdout.readline().strip()
        if not url.startswith("http://"):
            raise SystemExit("the API-server double did not start")
        with tempfile.TemporaryDirectory(prefix="bgplb-k8s-scale-") as tmp:
            try:
                figures = asyncio.run(measure(url, Path(tmp), args.services, args.changes))
            except BaseException:
                for name in ("controller.log", "speaker.log", "receiver.log"):
                    log = Path(tmp) / name
                    if log.exists():
                        print(f"--- {name} (last lines)\n" + "\n".join(log.read_text().splitlines()[-20:]))
                raise
    finally:
        double.terminate()
        double.wait(10)
    print(table(figures))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
