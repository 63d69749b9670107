"""Real Helm and kustomize for the deploy/ tests: `.tools/helm` (v3.10.1) and `.tools/kustomize` (v4.5.4),
fetched and checked by tools/fetch-k8s-tools.sh (`make test` runs it; `BGPLB_HELM` / `BGPLB_KUSTOMIZE` point
at other binaries)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def tool(name: str) -> str:
    """The path of `helm` or `kustomize` (the environment override, else .tools/)."""
    path = os.environ.get(f"BGPLB_{name.upper()}") or str(ROOT / ".tools" / name)
    assert Path(path).is_file(), f"{path} is missing: run `bash tools/fetch-k8s-tools.sh` (make test does)"
    return path


def run(*argv: str, cwd: Path | None = None) -> str:
    """Run a tool; its stdout (the test fails with its stderr on a non-zero exit)."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd, check=False)
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stderr}"
    return done.stdout


def documents(text: str) -> list[dict[str, Any]]:
    """The non-empty YAML documents of `text`."""
    return [doc for doc in yaml.load_all(text, Loader=_LOADER) if doc is not None]


@dataclass(frozen=True, slots=True)
class Release:
    """The release name and namespace of `helm template`."""

    name: str = "bgplb"
    namespace: str = "metallb-system"


def helm(*args: str, values: Mapping[str, Any] | None = None, cwd: Path | None = None) -> str:
    """`helm ARGS -f <values>`: `values` (maps merge with values.yaml, null removes a default) go through a
    values file, as a user's would."""
    if values is None:
        return run(tool("helm"), *args, cwd=cwd)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
        yaml.safe_dump(dict(values), file)
        file.flush()
        return run(tool("helm"), *args, "--values", file.name, cwd=cwd)


def render(
    chart: Path, values: Mapping[str, Any] | None = None, release: Release = Release()
) -> list[dict[str, Any]]:
    """Every object `helm template` renders from `chart` with `values`."""
    return documents(
        helm("template", release.name, str(chart), "--namespace", release.namespace, values=values or {})
    )


def render_notes(chart: Path, release: Release = Release()) -> str:
    """NOTES.txt as `helm install` would print it (`helm template` leaves NOTES.txt out, so a copy of the
    chart renders it as an ordinary template)."""
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / chart.name
        shutil.copytree(chart, copy, symlinks=False)
        (copy / "templates" / "NOTES.txt").rename(copy / "templates" / "notes.txt")
        out = helm(
            "template",
            release.name,
            str(copy),
            "--namespace",
            release.namespace,
            "--show-only",
            "templates/notes.txt",
        )
    return out.split("\n", 2)[2] if out.startswith("---\n# Source:") else out


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """`kustomize build DIR`, parsed."""
    return documents(run(tool("kustomize"), "build", str(directory)))
