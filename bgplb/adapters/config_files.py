"""Read configuration files and directories into Kubernetes-style resource dicts for build_config.

Accepted: multi-document YAML (or JSON) files, directories of them (`*.yaml`, `*.yml`, `*.json`, searched
recursively in name order), `kind: List` / `*List` documents (flattened into their items), and a bare
MetalLB legacy configuration (the YAML that lives under a ConfigMap's `data.config`: a document without
`kind` holding `peers`, `address-pools`, `bgp-communities` or `bfd-profiles`), wrapped into the
metallb-system/config ConfigMap. Problems are ConfigErrors naming the file and document, never crashes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bgplb.errors import ConfigError

SUFFIXES = (".yaml", ".yml", ".json")
LEGACY_KEYS = frozenset({"peers", "address-pools", "bgp-communities", "bfd-profiles"})
FILE_KIND = "file"


@dataclass(slots=True)
class LoadedResources:
    """The resources found under the given paths, and the files that could not be read."""

    resources: list[Mapping[str, Any]] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def load_paths(paths: Sequence[Path | str]) -> LoadedResources:
    """Load every resource in `paths` (files or directories), in a stable order."""
    loaded = LoadedResources()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
            if not files:
                loaded.errors.append(
                    ConfigError(FILE_KIND, str(path), "", "no .yaml, .yml or .json file here")
                )
        elif path.is_file():
            files = [path]
        else:
            loaded.errors.append(ConfigError(FILE_KIND, str(path), "", "no such file or directory"))
            continue
        for file in files:
            _load_file(file, loaded)
    return loaded


def _load_file(path: Path, loaded: LoadedResources) -> None:
    loaded.files.append(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        loaded.errors.append(ConfigError(FILE_KIND, str(path), "", f"cannot read: {exc}"))
        return
    loaded.resources.extend(parse_documents(text, str(path), loaded.errors))


def parse_documents(text: str, source: str, errors: list[ConfigError]) -> list[Mapping[str, Any]]:
    """Parse multi-document YAML text into resources; syntax errors are appended to `errors`."""
    resources: list[Mapping[str, Any]] = []
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        errors.append(ConfigError(FILE_KIND, source, where, f"invalid YAML: {exc}"))
        return resources
    for index, document in enumerate(documents):
        if document is None:
            continue
        if not isinstance(document, Mapping):
            errors.append(
                ConfigError(
                    FILE_KIND, source, f"document {index + 1}", "expected a mapping (a Kubernetes object)"
                )
            )
            continue
        resources.extend(_flatten(document, source, index, errors))
    return resources


def _flatten(
    document: Mapping[str, Any], source: str, index: int, errors: list[ConfigError]
) -> Iterator[Mapping[str, Any]]:
    kind = document.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and "items" in document:
        items = document.get("items") or []
        if not isinstance(items, list):
            errors.append(ConfigError(FILE_KIND, source, f"document {index + 1}.items", "expected a list"))
            return
        for position, item in enumerate(items):
            if isinstance(item, Mapping):
                yield from _flatten(item, source, index, errors)
            else:
                errors.append(
                    ConfigError(
                        FILE_KIND, source, f"document {index + 1}.items[{position}]", "expected a mapping"
                    )
                )
        return
    if kind is None and LEGACY_KEYS & set(document):
        yield legacy_configmap(document)
        return
    yield document


def legacy_configmap(config: Mapping[str, Any], namespace: str = "metallb-system") -> dict[str, Any]:
    """Wrap a bare legacy MetalLB configuration into its ConfigMap."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "config", "namespace": namespace},
        "data": {"config": yaml.safe_dump(dict(config), sort_keys=False)},
    }
