"""The container image's install step, replayed without a container engine (none runs on these machines).

The Dockerfile's build stage copies a few paths into /src and runs `pip install --prefix=/install .`; the run
stage puts /install under /usr/local and starts `bgplb`. Here the same paths are copied into an empty
directory, installed the same way (non-editable, so a module or data file left out of the package shows), and
the installed console script runs both daemons' `--help` and a real command, importing from the installed copy
only. What this cannot check: the python:3.11-slim base itself and the dependency wheels it resolves."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.test_dockerfile import ROOT, instructions

pytestmark = pytest.mark.timeout(300)


def copied_sources() -> list[str]:
    """The paths the build stage COPYs from the build context."""
    steps = instructions()
    build = steps[: max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")]
    return [src for keyword, args in build if keyword == "COPY" for src in args.split()[:-1]]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prefix the build stage would produce."""
    work = tmp_path_factory.mktemp("image")
    src, prefix = work / "src", work / "install"
    src.mkdir()
    for rel in copied_sources():
        origin = ROOT / rel
        if origin.is_dir():
            shutil.copytree(origin, src / rel, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, src / rel)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--ignore-installed",
            "--no-deps",
            "--no-compile",
            f"--prefix={prefix}",
            ".",
        ],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return prefix


def run_installed(prefix: Path, *args: str) -> subprocess.CompletedProcess[str]:
    site = prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [str(prefix / "bin" / "bgplb"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_every_module_of_the_package_is_installed(installed: Path) -> None:
    site = next(installed.glob("lib/python*/site-packages"))
    shipped = {p.relative_to(site) for p in (site / "bgplb").rglob("*.py")}
    ours = {p.relative_to(ROOT) for p in (ROOT / "bgplb").rglob("*.py")}
    assert shipped == ours


@pytest.mark.parametrize("command", ["controller", "speaker", "run", "lab", "router-config"])
def test_the_entrypoint_runs_from_the_installed_copy(installed: Path, command: str) -> None:
    done = run_installed(installed, command, "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout


def test_a_real_command_runs_from_the_installed_copy(installed: Path) -> None:
    example = ROOT / "docs" / "examples" / "metallb-crds.yaml"
    done = run_installed(installed, "check-config", str(example))
    assert done.returncode == 0, done.stdout + done.stderr
    probe = subprocess.run(
        [sys.executable, "-c", "import bgplb; print(bgplb.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=installed,  # not the checkout: `python -c` puts the working directory first on sys.path
        env={**os.environ, "PYTHONPATH": str(next(installed.glob("lib/python*/site-packages")))},
        check=False,
    )
    assert probe.stdout.strip().startswith(str(installed)), probe.stdout
