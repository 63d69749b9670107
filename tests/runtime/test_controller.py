"""Controller passes over a real directory and state file: allocate, persist, keep across restarts."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest

from bgplb.adapters.file_source import FileSource
from bgplb.adapters.state_file import Held, StateFile
from bgplb.planning.snapshot import Service, ServiceRef, Snapshot
from bgplb.runtime.controller import Controller, Made, with_held

CONFIG = """
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: public, namespace: metallb-system}
spec: {addresses: [198.51.100.10-198.51.100.12]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l2, namespace: metallb-system}
spec: {ipAddressPools: [public]}
"""


def service(name: str) -> str:
    return f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec: {{type: LoadBalancer}}\n"


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "config"
        self.dir.mkdir()
        (self.dir / "config.yaml").write_text(CONFIG)
        self.state = tmp / "state.json"
        self.published = 0
        self.reloads = 0
        self.controller = self.new()

    def new(self) -> Controller:
        def reloaded(_: object) -> None:
            self.reloads += 1

        def published() -> None:
            self.published += 1

        return Controller(
            FileSource(self.dir), StateFile(self.state), on_reload=reloaded, on_published=published
        )

    def ips(self) -> dict[str, str]:
        assert self.controller.published is not None
        _, snapshot = self.controller.published
        return {s.ref.name: ",".join(map(str, s.current_ips)) for s in snapshot.services}

    async def change(self) -> None:
        self.controller.files_changed()
        await self.controller.reconcile()


async def test_allocates_persists_and_keeps_across_a_restart(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    (h.dir / "a.yaml").write_text(service("a"))
    (h.dir / "b.yaml").write_text(service("b"))
    await h.controller.reconcile()
    assert h.ips() == {"a": "198.51.100.10", "b": "198.51.100.11"}
    assert (h.reloads, h.published) == (1, 1)
    await h.controller.reconcile()  # nothing changed: nothing published
    assert (h.reloads, h.published) == (1, 1)
    (h.dir / "a.yaml").unlink()
    await h.change()
    assert h.ips() == {"b": "198.51.100.11"}
    h.controller = h.new()  # a restart: b keeps .11 although .10 is free now
    (h.dir / "c.yaml").write_text(service("c"))
    await h.controller.reconcile()
    assert h.ips() == {"b": "198.51.100.11", "c": "198.51.100.10"}
    assert StateFile(h.state).load()[ServiceRef("default", "b")].ips == (ip_address("198.51.100.11"),)


async def test_invalid_files_keep_the_last_good_state(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    (h.dir / "a.yaml").write_text(service("a"))
    await h.controller.reconcile()
    (h.dir / "a.yaml").write_text("kind: Service\nmetadata: {name: [")
    await h.change()
    assert h.ips() == {"a": "198.51.100.10"}
    assert h.controller.source.last is not None and h.controller.source.last.errors
    assert h.reloads == 1


async def test_failures_publish_no_address(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    for name in "abcd":
        (h.dir / f"{name}.yaml").write_text(service(name))
    await h.controller.reconcile()
    assert h.ips()["d"] == ""
    assert h.controller.allocation is not None
    assert ServiceRef("default", "d") in h.controller.allocation.failures


async def test_no_good_configuration_yet_publishes_nothing(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    (h.dir / "config.yaml").write_text("kind: [")
    await h.controller.reconcile()
    assert h.controller.published is None
    assert not h.state.exists()


async def test_publishes_before_the_state_file_is_written(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    (h.dir / "a.yaml").write_text(service("a"))
    await h.controller.reconcile()
    saved_when_published: list[set[str]] = []

    def published() -> None:
        saved_when_published.append({ref.name for ref in StateFile(h.state).load()})

    h.controller._on_published = published
    (h.dir / "b.yaml").write_text(service("b"))
    await h.change()
    assert saved_when_published == [{"a"}]  # the speaker heard of b before the disk did
    assert {ref.name for ref in StateFile(h.state).load()} == {"a", "b"}


async def test_a_failed_state_write_fails_the_pass_and_is_retried(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    (h.dir / "a.yaml").write_text(service("a"))
    await h.controller.reconcile()
    h.state.unlink()
    h.state.mkdir()  # a directory in the way: the rename fails
    (h.dir / "b.yaml").write_text(service("b"))
    with pytest.raises(OSError):
        await h.change()
    assert h.ips() == {"a": "198.51.100.10", "b": "198.51.100.11"}  # published all the same
    h.state.rmdir()
    await h.controller.reconcile()  # the retry writes what the failed pass could not
    assert {ref.name for ref in StateFile(h.state).load()} == {"a", "b"}


def test_with_held_reuses_the_services_it_made_while_nothing_changed() -> None:
    ref = ServiceRef("default", "a")
    snapshot = Snapshot(services=(Service(ref),))
    memo: Made = {}
    held = {ref: Held((ip_address("198.51.100.10"),), "public")}
    (first,) = with_held(snapshot, held, memo).services
    (again,) = with_held(snapshot, dict(held), memo).services
    assert again is first and first.current_ips == (ip_address("198.51.100.10"),)
    moved = {ref: Held((ip_address("198.51.100.11"),), "public")}
    (other,) = with_held(snapshot, moved, memo).services
    assert other.current_ips == (ip_address("198.51.100.11"),)
    (fresh,) = with_held(Snapshot(services=(Service(ref),)), moved, memo).services
    assert fresh is not other and fresh == other  # a new reading of the Service
