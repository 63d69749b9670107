"""Golden files: every scenario under scenarios/ rendered in every format, compared byte for byte.

Regenerate after an intended change with `BGPLB_UPDATE_GOLDEN=1 pytest tests/routers/test_golden.py` and
review the diff. The scenarios go through the whole pipeline: YAML -> build_config -> build_plan -> render.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bgplb.routers.render import RouterFormat, render
from tests.routers.scenarios import SCENARIOS, plan_for

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("BGPLB_UPDATE_GOLDEN") == "1"
EXTENSIONS = {
    RouterFormat.FRR: "frr.conf",
    RouterFormat.BIRD: "bird.conf",
    RouterFormat.VYOS: "vyos.txt",
    RouterFormat.OPNSENSE: "opnsense.txt",
    RouterFormat.PFSENSE: "pfsense.txt",
}


def golden_path(scenario: str, router_format: RouterFormat) -> Path:
    """Where the golden output of one scenario and format lives."""
    return GOLDEN / scenario / EXTENSIONS[router_format]


@pytest.mark.parametrize("router_format", list(RouterFormat), ids=str)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rendering_matches_the_golden_file(scenario: str, router_format: RouterFormat) -> None:
    text = render(plan_for(scenario), router_format)
    path = golden_path(scenario, router_format)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file {path}: run with BGPLB_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{path} differs; if intended, regenerate with BGPLB_UPDATE_GOLDEN=1"


def test_every_format_has_a_golden_file_per_scenario() -> None:
    expected = {golden_path(s, f).relative_to(GOLDEN) for s in SCENARIOS for f in RouterFormat}
    found = {p.relative_to(GOLDEN) for p in GOLDEN.rglob("*") if p.is_file()}
    assert found == expected
