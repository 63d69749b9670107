"""Dockerfile and .dockerignore: checked for structure only (there is no Docker engine on these machines, so
the image is never built here): python:3.11-slim, pip install of the project, a non-root user that matches
the manifests' runAsUser, and `bgplb` as the entrypoint."""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, rest = full.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    assert not pending, "dangling line continuation"
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def test_every_stage_uses_python_311_slim() -> None:
    bases = [args.split()[0] for keyword, args in instructions() if keyword == "FROM"]
    assert bases and all(base == "python:3.11-slim" for base in bases)


def test_the_project_is_pip_installed_from_its_sources() -> None:
    steps = instructions()
    runs = [args for keyword, args in steps if keyword == "RUN" and "pip install" in args]
    assert len(runs) == 1 and runs[0].split()[-1] == "."
    copied = [args.split()[:-1] for keyword, args in steps if keyword == "COPY" and "--from" not in args]
    sources = {src for srcs in copied for src in srcs}
    assert {"pyproject.toml", "README.md", "bgplb"} <= sources
    assert all((ROOT / src).exists() for src in sources)


def _manifest_uids() -> set[int]:
    uids = set()
    for rel in ("controller/deployment.yaml", "speaker/daemonset.yaml"):
        workload = yaml.safe_load((ROOT / "deploy" / rel).read_text())
        uids.add(workload["spec"]["template"]["spec"]["securityContext"]["runAsUser"])
    return uids


def test_runs_as_the_non_root_user_the_manifests_expect() -> None:
    users = [args for keyword, args in final_stage() if keyword == "USER"]
    assert users, "the final stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0  # numeric, so runAsNonRoot can verify it
    assert _manifest_uids() == {int(uid)}
    created = [args for keyword, args in final_stage() if keyword == "RUN" and "useradd" in args]
    assert created and f"--uid {uid}" in created[0]


def test_entrypoint_is_the_bgplb_console_script() -> None:
    (entrypoint,) = [args for keyword, args in final_stage() if keyword == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["bgplb"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "bgplb" in scripts


def test_dockerignore_keeps_the_build_context_small_but_complete() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.removeprefix("**/")) for p in patterns)

    for needed in ("pyproject.toml", "README.md", "bgplb", "bgplb/cli.py"):
        assert not ignored(needed), needed
    for junk in (".git", ".venv", "tests", "deploy", "__pycache__"):
        assert ignored(junk), junk
