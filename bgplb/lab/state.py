"""Where a running lab is recorded, so that `lab status`, `lab curl` and `lab down` find it later.

Design: `bgplb lab up` leaves its namespaces and processes running and writes one JSON file,
`<lab dir>/state.json` (the lab dir is `/run/bgplb-lab` unless `--dir` or `BGPLB_LAB_DIR` says otherwise;
/run is a tmpfs, so a reboot, which also removes the namespaces, forgets the lab too). The file names the
namespaces, the router's FRR runtime dir, the shared configuration directory and, per node, its addresses,
state file and the pids of `bgplb run` and of the HTTP backend. It is written atomically (temp + rename).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bgplb.errors import BgplbError

DEFAULT_DIR = Path("/run/bgplb-lab")
DIR_ENV = "BGPLB_LAB_DIR"
STATE_FILE = "state.json"


class LabStateError(BgplbError):
    """No lab is recorded here, or its record cannot be read."""


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """One node: namespace, LAN addresses, the `bgplb run` and backend pids, its allocation state file."""

    name: str
    namespace: str
    addresses: tuple[str, ...]
    state_file: str
    run_pid: int
    backend_pid: int


@dataclass(frozen=True, slots=True)
class LabRecord:
    """Everything a later invocation needs to inspect, drive or remove the lab."""

    directory: str
    config_dir: str
    router_namespace: str
    router_rundir: str
    client_namespace: str
    namespaces: tuple[str, ...]
    nodes: tuple[NodeRecord, ...]
    services: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ipv6: bool = False
    hold_time: int = 9

    def node(self, name: str) -> NodeRecord:
        """The node called `name`; `LabStateError` naming the known nodes otherwise."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise LabStateError(f"no node {name!r} in the lab (nodes: {', '.join(n.name for n in self.nodes)})")

    def with_node(self, node: NodeRecord) -> LabRecord:
        """This record with `node` replacing the node of the same name."""
        return replace(self, nodes=tuple(node if n.name == node.name else n for n in self.nodes))

    def log(self, name: str) -> Path:
        """The log file of a lab process (`node1-bgplb-run`, `node1-backend`, `router-bgpd`, …)."""
        return Path(self.directory) / f"{name}.log"


def lab_dir(explicit: Path | None = None) -> Path:
    """The lab directory: `explicit`, else $BGPLB_LAB_DIR, else /run/bgplb-lab."""
    if explicit is not None:
        return explicit
    return Path(os.environ.get(DIR_ENV) or DEFAULT_DIR)


def save(record: LabRecord, directory: Path) -> None:
    """Write `record` to `<directory>/state.json` atomically."""
    path = directory / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record), indent=1, sort_keys=True) + "\n")
    tmp.replace(path)


def load(directory: Path) -> LabRecord:
    """The lab recorded in `directory`; `LabStateError` when there is none or it is unreadable."""
    path = directory / STATE_FILE
    try:
        data = json.loads(path.read_text())
        nodes = tuple(NodeRecord(**{**n, "addresses": tuple(n["addresses"])}) for n in data.pop("nodes"))
        return LabRecord(
            **{
                **data,
                "nodes": nodes,
                "namespaces": tuple(data["namespaces"]),
                "services": {k: tuple(v) for k, v in data["services"].items()},
            }
        )
    except FileNotFoundError:
        raise LabStateError(
            f"no lab is running (nothing recorded in {path}); start one: bgplb lab up"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LabStateError(f"{path}: unreadable lab record ({exc}); remove it with: bgplb lab down") from exc


def exists(directory: Path) -> bool:
    """True when a lab is recorded in `directory`."""
    return (directory / STATE_FILE).exists()


def forget(directory: Path) -> None:
    """Remove the record (the last step of `lab down`)."""
    (directory / STATE_FILE).unlink(missing_ok=True)
