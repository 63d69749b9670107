"""The pure packages (see shared DESIGN.md) must not import I/O, clocks or Kubernetes libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bgplb"
PURE = ("bgp", "l2", "config", "planning", "routers")
FORBIDDEN = {
    "asyncio",
    "socket",
    "time",
    "logging",
    "lightkube",
    "pyroute2",
    "prometheus_client",
    "subprocess",
    "threading",
    "select",
    "selectors",
    "os",
    "pathlib",
}
LAYER_ORDER = ["cli", "commands", "runtime", "lab", "adapters", "planning", "routers", "config", "bgp", "l2"]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _pure_modules() -> list[Path]:
    return sorted(p for layer in PURE for p in (PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("path", _pure_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_pure_module_does_no_io(path: Path) -> None:
    offending = [name for name in _imports(path) if name.split(".")[0] in FORBIDDEN]
    assert not offending, f"{path.relative_to(PACKAGE)} imports {offending}"


def test_the_forbidden_list_catches_an_io_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import socket\nfrom asyncio import sleep\nfrom bgplb.bgp import codec\n")
    assert [n for n in _imports(sample) if n.split(".")[0] in FORBIDDEN] == ["socket", "asyncio"]
