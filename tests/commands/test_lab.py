"""`bgplb lab`: FRR learns the demo route from a bgplb node, then everything is torn down (also on Ctrl-C)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from bgplb.lab.netns import list_namespaces
from bgplb.lab.run import DEMO_PREFIX

pytestmark = [pytest.mark.netns, pytest.mark.interop, pytest.mark.timeout(60)]


def _lab_namespaces(pid: int) -> list[str]:
    return [name for name in list_namespaces() if name.startswith(f"bgplb-lab-{pid}-")]


def test_lab_shows_the_route_on_the_router_and_cleans_up() -> None:
    started = time.monotonic()
    lab = subprocess.Popen(
        [sys.executable, "-m", "bgplb", "lab"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = lab.communicate(timeout=40)
    finally:
        if lab.poll() is None:
            lab.kill()
            lab.wait(5)
    assert lab.returncode == 0, err + out
    assert time.monotonic() - started < 30
    assert "Neighbor" in out and "64501" in out  # show bgp summary
    assert f"B>* {DEMO_PREFIX}" in out  # show ip route bgp: selected and in the FIB
    assert "proto bgp" in out  # the kernel route
    assert _lab_namespaces(lab.pid) == []


def test_lab_keep_tears_down_on_ctrl_c() -> None:
    lab = subprocess.Popen(
        [sys.executable, "-m", "bgplb", "lab", "--keep"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert lab.stdout is not None
        deadline = time.monotonic() + 30
        seen = []
        for line in lab.stdout:
            seen.append(line)
            if "press Ctrl-C" in line or time.monotonic() > deadline:
                break
        assert any("press Ctrl-C" in line for line in seen), "".join(seen)
        assert _lab_namespaces(lab.pid), "the lab should be running"
        lab.send_signal(signal.SIGINT)
        rest, _ = lab.communicate(timeout=20)
    finally:
        if lab.poll() is None:
            lab.kill()
            lab.wait(5)
    assert lab.returncode == 130, rest
    assert "torn down" in rest
    assert _lab_namespaces(lab.pid) == []
