"""One entry point for every router format: `render(plan, format)`.

Design: the formats are a closed enum so the CLI, the golden tests and the docs list the same set; each
maps to a pure `render(plan) -> str` of its module.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from bgplb.routers import bird, frr, opnsense, pfsense, vyos
from bgplb.routers.plan import RouterPlan


class RouterFormat(enum.StrEnum):
    """The router configurations bgplb writes."""

    FRR = "frr"
    OPNSENSE = "opnsense"
    PFSENSE = "pfsense"
    VYOS = "vyos"
    BIRD = "bird"


RENDERERS: dict[RouterFormat, Callable[[RouterPlan], str]] = {
    RouterFormat.FRR: frr.render,
    RouterFormat.OPNSENSE: opnsense.render,
    RouterFormat.PFSENSE: pfsense.render,
    RouterFormat.VYOS: vyos.render,
    RouterFormat.BIRD: bird.render,
}


def render(plan: RouterPlan, router_format: RouterFormat) -> str:
    """The configuration text of `plan` in `router_format`."""
    return RENDERERS[router_format](plan)
