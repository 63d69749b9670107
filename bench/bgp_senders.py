"""The senders of the BGP benchmark: each loads N /32 routes, listens passively, and waits to be dialled.

Every sender holds its whole table BEFORE any session exists (it is passive: the receiver dials it once
the table is loaded), so the measured figure is Established -> all prefixes, never configuration loading.
The N prefixes are the first N /32s from 100.64.0.0 for every sender (bgplb: `split: 32, count: N`).

- GoBGP: routes injected over its API from a TABLE_DUMP_V2 MRT file (`gobgp mrt inject global`).
- BIRD: N `route …/32 blackhole;` lines in a static protocol.
- FRR: N `network …/32` lines applied with vtysh (bgpd with `-n`: nothing goes to the kernel).
- ExaBGP: a few static blocks with `split /32` (aligned blocks summing to N).
- bgplb: `bgplb speak --config` with a passive peer and `split: 32, count: N`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from bgplb.lab.bird import BirdRouter
from bgplb.lab.daemons import Announcement, BgpSpec, Neighbor, ensure_alive
from bgplb.lab.exabgp import ExabgpRouter
from bgplb.lab.frr import FrrRouter
from bgplb.lab.gobgp import GobgpRouter
from bgplb.lab.netns import Namespace, Process
from bgplb.lab.wait import wait_for

SENDER_ASN, RECEIVER_ASN = 64501, 64500
FIRST = ipaddress.IPv4Address("100.64.0.0")
BGPLB = Path(sys.executable).parent / "bgplb"


def host_routes(count: int) -> Iterator[ipaddress.IPv4Network]:
    """The first `count` /32s from 100.64.0.0."""
    base = int(FIRST)
    for i in range(count):
        yield ipaddress.IPv4Network((base + i, 32))


def aligned_blocks(count: int) -> list[ipaddress.IPv4Network]:
    """Aligned blocks, largest first, covering exactly the first `count` /32s from 100.64.0.0."""
    blocks: list[ipaddress.IPv4Network] = []
    start = int(FIRST)
    for bit in range(count.bit_length() - 1, -1, -1):
        size = 1 << bit
        if count & size:
            blocks.append(ipaddress.IPv4Network((start, 32 - bit)))
            start += size
    return blocks


def mrt_table_dump(
    path: Path, count: int, next_hop: ipaddress.IPv4Address, peer_asn: int, padding: int = 0
) -> None:
    """Write a TABLE_DUMP_V2 MRT file (RFC 6396 §4.3): `count` /32 routes from one peer, then `padding`
    more records repeating those routes from the start."""

    def record(subtype: int, body: bytes) -> bytes:
        return struct.pack("!IHHI", 0, 13, subtype, len(body)) + body

    peer_entry = bytes([0x02]) + next_hop.packed + next_hop.packed + struct.pack("!I", peer_asn)  # AS4 peer
    index = next_hop.packed + struct.pack("!H", 0) + struct.pack("!H", 1) + peer_entry
    attrs = bytes([0x40, 1, 1, 0])  # ORIGIN IGP
    attrs += bytes([0x40, 2, 0])  # empty AS_PATH: originated here
    attrs += bytes([0x40, 3, 4]) + next_hop.packed
    entry = struct.pack("!HIH", 0, 0, len(attrs)) + attrs
    with path.open("wb") as out:
        out.write(record(1, index))
        routes = [p.network_address.packed for p in host_routes(count)]
        for seq in range(count + padding):
            rib = struct.pack("!IB", seq, 32) + routes[seq % count]
            out.write(record(2, rib + struct.pack("!H", 1) + entry))


@dataclass
class Sender:
    """One sender instance in namespace `ns` at `local`, peering with the receiver at `peer`."""

    ns: Namespace
    local: ipaddress.IPv4Address
    peer: ipaddress.IPv4Address
    count: int
    processes: list[Process] = field(default_factory=list)
    name: ClassVar[str] = "sender"

    def spec(self, announce: tuple[Announcement, ...] = ()) -> BgpSpec:
        """The passive eBGP session towards the receiver."""
        neighbor = Neighbor(self.peer, RECEIVER_ASN, local_address=self.local, passive=True)
        return BgpSpec(SENDER_ASN, self.local, (neighbor,), announce=announce)

    def start(self) -> None:
        """Start, load all routes, and return once the sender listens on port 179."""
        raise NotImplementedError

    def measured_pid(self) -> int:
        """The process whose CPU and memory are reported (the one that speaks BGP)."""
        return self.processes[0].pid

    def wait_listening(self) -> None:
        """Wait until something listens on TCP port 179 in the sender's namespace."""

        def listening() -> bool:
            ensure_alive(self.processes, self.name)
            out = self.ns.run(["ss", "-Htln", "sport = :179"]).stdout
            return bool(out.strip())

        wait_for(listening, timeout=60, interval=0.05, description=f"{self.name} to listen on port 179")


class GobgpSender(Sender):
    name: ClassVar[str] = "GoBGP"

    def start(self) -> None:
        router = GobgpRouter(self.ns, self.spec())
        router.start()
        self.processes = router.processes
        mrt = router.rundir / "routes.mrt"
        # `gobgp mrt inject` drops the tail of its stream when it exits (here: up to ~900 routes); the file
        # repeats routes after the table so that only duplicates of already-added paths can be lost.
        mrt_table_dump(mrt, self.count, self.local, SENDER_ASN, padding=5000)
        router.inject_mrt(mrt, timeout=300)
        wait_for(
            lambda: f"Destination: {self.count}," in router.cli("global", "rib", "summary", "-a", "ipv4"),
            timeout=30,
            description=f"GoBGP to hold {self.count} routes",
        )
        self.wait_listening()


class BirdSender(Sender):
    name: ClassVar[str] = "BIRD"

    def start(self) -> None:
        announce = tuple(Announcement(p) for p in host_routes(self.count))
        router = BirdRouter(self.ns, self.spec(announce), kernel=False)
        router.start()
        self.processes = router.processes
        wait_for(
            lambda: f"{self.count} of {self.count} routes" in router.birdc("show route count"),
            timeout=120,
            description=f"BIRD to hold {self.count} routes",
        )
        self.wait_listening()


class FrrSender(Sender):
    name: ClassVar[str] = "FRR"
    extra: ClassVar[tuple[str, ...]] = ()

    def start(self) -> None:
        announce = tuple(Announcement(p) for p in host_routes(self.count))
        spec = dataclasses.replace(self.spec(announce), extra=self.extra)
        router = FrrRouter(self.ns, spec, kernel=False)
        router.start()
        self.processes = router.processes
        self.bgpd = router.bgpd
        wait_for(
            lambda: router.summary().get("ipv4Unicast", {}).get("ribCount", 0) >= self.count,
            timeout=120,
            description=f"FRR to hold {self.count} routes",
        )
        # a passive FRR neighbor refuses connections until it has moved from Idle to Active
        wait_for(
            lambda: router.peer_state(self.peer) == "Active",
            timeout=30,
            description="FRR's passive neighbor to reach Active",
        )
        self.wait_listening()

    bgpd: Process | None = None

    def measured_pid(self) -> int:
        """bgpd, the FRR daemon that speaks BGP."""
        if self.bgpd is None:
            raise RuntimeError("FRR sender not started")
        return self.bgpd.pid


class TunedFrrSender(FrrSender):
    """FRR with `coalesce-time 0`: no wait before the first UPDATEs of a new session (default 1 s)."""

    name: ClassVar[str] = "FRR (coalesce 0)"
    extra: ClassVar[tuple[str, ...]] = ("coalesce-time 0",)


class ExabgpSender(Sender):
    name: ClassVar[str] = "ExaBGP"

    def start(self) -> None:
        announce = tuple(Announcement(b) for b in aligned_blocks(self.count))
        router = ExabgpRouter(self.ns, self.spec(announce), split=32)
        router.start()
        self.processes = router.processes
        self.wait_listening()


class BgplbSender(Sender):
    name: ClassVar[str] = "bgplb"

    def start(self) -> None:
        config = self.ns.kit.workdir / f"{self.ns.role}-speak.yaml"
        config.write_text(
            "\n".join(
                [
                    f"local_asn: {SENDER_ASN}",
                    f"router_id: {self.local}",
                    f'listen: "{self.local}:179"',
                    "peers:",
                    f"  - address: {self.peer}",
                    f"    asn: {RECEIVER_ASN}",
                    "    passive: true",
                    "prefixes:",
                    f"  - prefix: {FIRST}/15",
                    "    split: 32",
                    f"    count: {self.count}",
                    "",
                ]
            )
        )
        argv = [str(BGPLB), "speak", "--config", str(config), "--output", "json"]
        self.processes = [self.ns.spawn(argv, name=f"{self.ns.role}-bgplb")]
        self.wait_listening()


SENDERS: dict[str, type[Sender]] = {
    "gobgp": GobgpSender,
    "bird": BirdSender,
    "exabgp": ExabgpSender,
    "frr": FrrSender,
    "frr-tuned": TunedFrrSender,
    "bgplb": BgplbSender,
}


def bgplb_available() -> bool:
    """True when `bgplb speak` exists in this venv (the bench then includes bgplb as a sender)."""
    if not BGPLB.exists():
        return False
    done = subprocess.run([str(BGPLB), "speak", "--help"], capture_output=True, check=False, timeout=60)
    return done.returncode == 0


@dataclass(frozen=True, slots=True)
class Usage:
    """CPU seconds (user + system) and peak resident memory of one process."""

    cpu_seconds: float
    peak_rss_mb: float


def usage(pid: int) -> Usage:
    """Read /proc/<pid>/stat (utime + stime) and /proc/<pid>/status (VmHWM)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    hwm_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm_kb = int(line.split()[1])
    return Usage(ticks / os.sysconf("SC_CLK_TCK"), hwm_kb / 1024)
