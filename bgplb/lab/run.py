"""The demo lab: a real FRR router and one node running `bgplb speak`, each in its own network namespace.

Design: `run_lab` builds the topology with a `Netkit` (so everything is torn down on return, on an
exception and on Ctrl-C), starts FRR (zebra + bgpd) in the router namespace, writes a speak YAML for the
node and starts `bgplb speak` there as a subprocess (a namespace belongs to a process, not to a thread of
ours), then waits — bounded — until zebra has installed the demo /32 in the router's kernel table. What it
saw goes to `say` (FRR's `show bgp summary`, `show ip route bgp`, the kernel route); with `keep` it then
waits for Ctrl-C before tearing down.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address

import yaml

from bgplb.lab.daemons import BgpSpec, Neighbor
from bgplb.lab.frr import FrrRouter
from bgplb.lab.netns import Netkit
from bgplb.lab.wait import wait_for

ROUTER_ASN, NODE_ASN = 64500, 64501
ROUTER_V4, NODE_V4 = IPv4Address("10.250.0.1"), IPv4Address("10.250.0.2")
ROUTER_V6, NODE_V6 = IPv6Address("fd00:250::1"), IPv6Address("fd00:250::2")
DEMO_PREFIX = IPv4Network("198.51.100.10/32")


@dataclass(frozen=True, slots=True)
class LabReport:
    """What the lab observed on the router."""

    summary: str
    bgp_routes: str
    kernel_route: str
    seconds_to_route: float


def node_config(prefix: IPv4Network) -> dict[str, object]:
    """The node's `bgplb speak` configuration: eBGP to the router, announcing `prefix`."""
    return {
        "local_asn": NODE_ASN,
        "router_id": str(NODE_V4),
        "hostname": "lab-node",
        "peers": [{"address": str(ROUTER_V4), "asn": ROUTER_ASN, "hold_time": 9, "connect_retry_time": 2}],
        "prefixes": [{"prefix": str(prefix), "communities": [f"{NODE_ASN}:100"]}],
    }


def router_spec() -> BgpSpec:
    """FRR's side: AS 64500 with the node as a neighbour."""
    node = Neighbor(address=NODE_V4, asn=NODE_ASN, hold_time=9)
    return BgpSpec(asn=ROUTER_ASN, router_id=ROUTER_V4, neighbors=(node,), hostname="lab-router")


def run_lab(
    *,
    keep: bool = False,
    say: Callable[[str], None] = print,
    timeout: float = 20.0,
    prefix: IPv4Network = DEMO_PREFIX,
) -> LabReport:
    """Build the lab, wait for the demo route in the router's kernel, report; tear down (after Ctrl-C if
    `keep`)."""
    with Netkit(prefix="bgplb-lab") as kit:
        router = kit.namespace("router")
        node = kit.namespace("node")
        kit.veth(router, node, [f"{ROUTER_V4}/24", f"{ROUTER_V6}/64"], [f"{NODE_V4}/24", f"{NODE_V6}/64"])
        say(f"router {router.name} (FRR, AS{ROUTER_ASN}) <-> node {node.name} (bgplb speak, AS{NODE_ASN})")
        frr = FrrRouter(router, router_spec())
        frr.start()
        config = kit.workdir / "node-speak.yaml"
        config.write_text(yaml.safe_dump(node_config(prefix)))
        started = time.monotonic()
        speaker = node.spawn(
            [sys.executable, "-m", "bgplb", "speak", "--config", str(config)], name="node-bgplb-speak"
        )

        def installed() -> bool:
            if not speaker.alive():
                raise RuntimeError(f"bgplb speak exited:\n{speaker.log()[-1500:]}")
            return prefix in frr.kernel_routes(4)

        wait_for(installed, timeout=timeout, interval=0.1, description=f"{prefix} in {router.name}'s kernel")
        report = LabReport(
            summary=frr.vtysh("show bgp summary"),
            bgp_routes=frr.vtysh("show ip route bgp"),
            kernel_route=router.run(["ip", "route", "show", str(prefix)]).stdout.strip(),
            seconds_to_route=time.monotonic() - started,
        )
        say(report.summary.rstrip())
        say(report.bgp_routes.rstrip())
        say(f"kernel route on the router: {report.kernel_route}")
        say(f"{prefix} installed {report.seconds_to_route:.2f}s after bgplb speak started")
        if keep:
            say("running; press Ctrl-C to tear down")
            while speaker.alive():
                time.sleep(0.5)
        return report
