"""Router scenarios as data: each directory holds config.yaml (MetalLB/Cilium resources), nodes.yaml and
optionally options.yaml (the `RouterOptions` fields: ttl_security, default_originate, asn, addresses,
peers)."""

from __future__ import annotations

from functools import cache
from ipaddress import ip_address
from pathlib import Path

import yaml

from bgplb.adapters.config_files import load_paths
from bgplb.config.build import build_config
from bgplb.config.models import Config
from bgplb.routers.build import RouterOptions, build_plan
from bgplb.routers.nodes import RouterNode, parse_nodes
from bgplb.routers.plan import RouterPlan

HERE = Path(__file__).parent
SCENARIOS = sorted(p.name for p in HERE.iterdir() if (p / "config.yaml").exists())


def scenario_config(scenario: str) -> Config:
    """The Config of a scenario's config.yaml."""
    loaded = load_paths([HERE / scenario / "config.yaml"])
    assert not loaded.errors, loaded.errors
    result = build_config(loaded.resources)
    assert result.config is not None, result.errors
    return result.config


def scenario_nodes(scenario: str) -> tuple[RouterNode, ...]:
    """The nodes of a scenario's nodes.yaml."""
    return parse_nodes(yaml.safe_load_all((HERE / scenario / "nodes.yaml").read_text()))


@cache
def plan_for(scenario: str) -> RouterPlan:
    """The RouterPlan of a scenario, through the same path as `bgplb router-config`."""
    options_file = HERE / scenario / "options.yaml"
    options = _options(yaml.safe_load(options_file.read_text())) if options_file.exists() else None
    return build_plan(scenario_config(scenario), scenario_nodes(scenario), options)


def _options(fields: dict[str, object]) -> RouterOptions:
    """RouterOptions from YAML: addresses become `ipaddress` objects, lists tuples."""
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in fields.items()}
    if "addresses" in values:
        values["addresses"] = tuple(ip_address(str(a)) for a in fields["addresses"])  # type: ignore[attr-defined]
    return RouterOptions(**values)  # type: ignore[arg-type]
