"""Every YAML example in docs/ (docs/examples/*.yaml, yaml blocks of docs/configuration.md) builds cleanly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bgplb.adapters.config_files import load_paths, parse_documents
from bgplb.config.build import build_config

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks() -> list[str]:
    return BLOCK.findall((DOCS / "configuration.md").read_text())


def test_the_docs_have_examples() -> None:
    assert len(_blocks()) >= 2
    assert {"metallb-crds.yaml", "metallb-configmap.yaml"} <= {
        p.name for p in (DOCS / "examples").glob("*.yaml")
    }


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_configuration_md_yaml_block_builds(index: int) -> None:
    errors: list = []
    resources = parse_documents(_blocks()[index], f"configuration.md block {index}", errors)
    result = build_config(resources)
    assert errors == [] and result.errors == (), (errors, result.errors)
    assert result.config is not None and result.config.pools


@pytest.mark.parametrize("path", sorted((DOCS / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_example_file_builds(path: Path) -> None:
    loaded = load_paths([path])
    result = build_config(loaded.resources)
    assert loaded.errors == [] and result.errors == (), (loaded.errors, result.errors)
    assert result.config is not None and result.config.pools
    assert all(isinstance(doc, dict) for doc in yaml.safe_load_all(path.read_text()) if doc is not None)
