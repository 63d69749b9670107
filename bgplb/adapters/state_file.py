"""The allocation state of `bgplb run`: which Service holds which addresses, kept across restarts.

Without Kubernetes there is no status.loadBalancer.ingress to rebuild allocations from, so the controller
writes its assignments to a small JSON file and the file source feeds them back as each Service's observed
addresses; `allocate` then keeps them, exactly as it keeps a cluster's status. Writes are atomic: a
temporary file in the same directory is written, fsynced and renamed over the old one, so a crash leaves
either the old or the new state, never half of one. A file that cannot be read is a `StateFileError`
naming the file, never an empty state (that would silently renumber every Service).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path

from bgplb.errors import BgplbError
from bgplb.planning.snapshot import IPAddress, ServiceRef

VERSION = 1


class StateFileError(BgplbError):
    """The state file exists but cannot be read or parsed."""


@dataclass(frozen=True, slots=True)
class Held:
    """The addresses one Service holds and the pool they come from."""

    ips: tuple[IPAddress, ...]
    pool: str


State = Mapping[ServiceRef, Held]


def encode(state: State) -> str:
    """The JSON text of `state`, sorted so equal states give equal files."""
    services = {
        str(ref): {"ips": [str(ip) for ip in held.ips], "pool": held.pool}
        for ref, held in sorted(state.items())
    }
    return json.dumps({"version": VERSION, "services": services}, indent=2, sort_keys=True) + "\n"


def decode(text: str, source: str) -> dict[ServiceRef, Held]:
    """Parse a state file's text; StateFileError naming `source` and the entry when it is malformed."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateFileError(f"{source}: not JSON: {exc}") from None
    if (
        not isinstance(data, dict)
        or data.get("version") != VERSION
        or not isinstance(data.get("services"), dict)
    ):
        raise StateFileError(f"{source}: expected {{'version': {VERSION}, 'services': {{...}}}}")
    state: dict[ServiceRef, Held] = {}
    for key, entry in data["services"].items():
        namespace, sep, name = str(key).partition("/")
        try:
            if not sep or not isinstance(entry, dict):
                raise ValueError("expected 'namespace/name': {ips: [...], pool: ...}")
            ips = tuple(ip_address(ip) for ip in entry["ips"])
            state[ServiceRef(namespace, name)] = Held(ips, str(entry["pool"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise StateFileError(f"{source}: services[{key!r}]: {exc}") from None
    return state


class StateFile:
    """Load and atomically save the allocation state at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[ServiceRef, Held]:
        """The saved state; empty when the file does not exist yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StateFileError(f"{self.path}: cannot read: {exc.strerror}") from None
        return decode(text, str(self.path))

    def save(self, state: State) -> None:
        """Replace the file with `state` (write, fsync, rename); the directory is created if needed."""
        self.write(encode(state))

    def write(self, text: str) -> None:
        """Replace the file with `text` (an `encode`d state) as `save` does: only I/O, so a thread can
        run it while the event loop goes on."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            tmp.replace(self.path)
        finally:
            tmp.unlink(missing_ok=True)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
