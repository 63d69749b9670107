"""Every YAML block in docs/ipam.md is read in a test: Services without problems, config without errors."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bgplb.config.build import build_config
from bgplb.planning.service_manifest import read_service

DOC = Path(__file__).resolve().parents[2] / "docs" / "ipam.md"


def test_every_yaml_block_in_ipam_md_reads_cleanly() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 2
    for block in blocks:
        for doc in yaml.safe_load_all(block):
            if doc["kind"] == "Service":
                reading = read_service(doc)
                assert reading.service.invalid_request is None and reading.warnings == ()
                assert reading.service.sharing_key and reading.service.requested_ips
            else:
                result = build_config([doc])
                assert result.errors == () and result.warnings == ()
