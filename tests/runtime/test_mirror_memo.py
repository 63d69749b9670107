"""MirrorMemo: recomputed exactly when the manifest object or the inputs change; deleted Services go."""

from __future__ import annotations

from bgplb.planning.snapshot import ServiceRef
from bgplb.runtime.mirror_memo import MirrorMemo

WEB, DB = ServiceRef("default", "web"), ServiceRef("default", "db")


def test_reused_for_the_same_object_and_inputs_only() -> None:
    memo: MirrorMemo[int] = MirrorMemo()
    manifest = {"metadata": {"name": "web"}}
    calls: list[str] = []

    def compute(tag: str) -> int:
        calls.append(tag)
        return len(calls)

    assert memo.get(WEB, manifest, ("a",), lambda: compute("first")) == 1
    assert memo.get(WEB, manifest, ("a",), lambda: compute("again")) == 1
    assert memo.get(WEB, manifest, ("b",), lambda: compute("inputs")) == 2
    equal_copy = {"metadata": {"name": "web"}}  # equal but another object: the mirror replaced it
    assert memo.get(WEB, equal_copy, ("b",), lambda: compute("object")) == 3
    assert calls == ["first", "inputs", "object"] and memo.computed == 3


def test_retain_forgets_deleted_services() -> None:
    memo: MirrorMemo[str] = MirrorMemo()
    manifest: dict[str, object] = {}
    memo.get(WEB, manifest, (), lambda: "w")
    memo.get(DB, manifest, (), lambda: "d")
    memo.retain({WEB})
    assert len(memo) == 1
    assert memo.get(DB, manifest, (), lambda: "again") == "again"
