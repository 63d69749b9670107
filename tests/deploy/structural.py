"""What the API server does with a custom resource, for the tests: validate it against the CRD's structural
OpenAPI v3 schema (with `jsonschema`) and list the fields it would prune.

The API server validates types, required fields, enums, ranges and patterns (checked here), evaluates
`x-kubernetes-validations` CEL rules (NOT evaluated here), and silently drops fields the schema does not know
(pruning, reported by `pruned_fields`). `structural_problems` checks the rules that make a schema structural.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

Schema = Mapping[str, Any]


def load_crds(directory: Path) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in the directory's YAML files."""
    crds: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                crds.append(doc)
    return crds


def served_schemas(crds: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Schema]:
    """(apiVersion, kind) -> openAPIV3Schema, for every served version."""
    out: dict[tuple[str, str], Schema] = {}
    for crd in crds:
        spec = crd["spec"]
        for version in spec["versions"]:
            if version["served"]:
                key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                out[key] = version["schema"]["openAPIV3Schema"]
    return out


def validation_errors(obj: Mapping[str, Any], schema: Schema) -> list[str]:
    """Type, required, enum, range and pattern violations, as `path: message`."""
    validator = jsonschema.Draft7Validator(schema)
    errors = []
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path) or "<root>"
        errors.append(f"{path}: {error.message}")
    return errors


def pruned_fields(obj: Any, schema: Schema, path: str = "") -> list[str]:
    """Dotted paths of the fields the API server would drop (unknown to the schema)."""
    out: list[str] = []
    if isinstance(obj, Mapping) and schema.get("type") == "object":
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return out
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, value in obj.items():
            child = f"{path}.{key}" if path else str(key)
            if path == "" and key == "metadata":
                continue  # ObjectMeta is handled by the API server itself
            if props is not None and key in props:
                out.extend(pruned_fields(value, props[key], child))
            elif isinstance(extra, Mapping):
                out.extend(pruned_fields(value, extra, child))
            elif extra is not True:
                out.append(child)
    elif isinstance(obj, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(obj):
            out.extend(pruned_fields(item, schema["items"], f"{path}[{index}]"))
    return out


def _nodes(schema: Schema, path: str) -> Iterator[tuple[str, Schema]]:
    yield path, schema
    for key, child in (schema.get("properties") or {}).items():
        yield from _nodes(child, f"{path}.{key}")
    if isinstance(schema.get("items"), Mapping):
        yield from _nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield from _nodes(schema["additionalProperties"], f"{path}{{}}")


_FORBIDDEN = ("$ref", "allOf", "anyOf", "oneOf", "not", "dependencies", "patternProperties")


def structural_problems(schema: Schema) -> list[str]:
    """Violations of the structural-schema rules (every node typed, no $ref/combinators, no mixed props)."""
    problems = []
    for path, node in _nodes(schema, "<root>"):
        untyped_allowed = node.get("x-kubernetes-int-or-string") or node.get(
            "x-kubernetes-preserve-unknown-fields"
        )
        if "type" not in node and not untyped_allowed:
            problems.append(f"{path}: no type")
        problems.extend(f"{path}: uses {key}" for key in _FORBIDDEN if key in node)
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{path}: both properties and additionalProperties")
        if node.get("type") == "array" and "items" not in node:
            problems.append(f"{path}: array without items")
    return problems
