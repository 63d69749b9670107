"""Render bgplb's Helm chart without Helm, for the tests: a deliberately small subset of Go templates.

There is no `helm` binary on the CI machines (Debian ships no Helm package), so the chart's templates are
kept to the few constructs below and this module renders exactly those; anything else raises
`UnsupportedTemplateError`, so a template that grows beyond the subset fails the tests instead of being
rendered wrongly. What this does NOT check: Helm's own parsing, `helm lint`, Sprig semantics beyond
`quote`, `toYaml` and `nindent`, chart packaging (the symlinked files/crds/ included), and `.helmignore`.

Supported actions, each with Go's `{{-` / `-}}` whitespace trimming:
    {{ REF }}   {{ REF | quote }}   {{ toYaml REF | nindent N }}   {{ .Files.Get "path" }}
    {{ if COND }} … {{ else }} … {{ end }}     COND: REF | not REF | eq REF "text" | or REF REF
REF is .Values.a.b…, .Release.Name, .Release.Namespace, .Chart.Version or .Chart.AppVersion. A missing
value raises KeyError (Helm would print nothing), which catches misspelt value names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_ACTION = re.compile(r"\{\{(-\s)?\s*(.*?)\s*(\s-)?\}\}", re.DOTALL)
_REF = (
    r"\.(?:Values(?:\.[A-Za-z_][A-Za-z0-9_]*)+"
    r"|Release\.Name|Release\.Namespace|Chart\.Version|Chart\.AppVersion)"
)
_FORMS = {
    "ref": re.compile(rf"^({_REF})$"),
    "quote": re.compile(rf"^({_REF})\s*\|\s*quote$"),
    "toyaml": re.compile(rf"^toYaml\s+({_REF})\s*\|\s*nindent\s+(\d+)$"),
    "files": re.compile(r'^\.Files\.Get\s+"([^"]+)"$'),
    "if": re.compile(r"^if\s+(.+)$"),
    "else": re.compile(r"^else$"),
    "end": re.compile(r"^end$"),
}
_CONDS = {
    "ref": re.compile(rf"^({_REF})$"),
    "not": re.compile(rf"^not\s+({_REF})$"),
    "eq": re.compile(rf'^eq\s+({_REF})\s+"([^"]*)"$'),
    "or": re.compile(rf"^or\s+({_REF})\s+({_REF})$"),
}


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UnsupportedTemplateError(ValueError):
    """A template action outside the subset this renderer implements."""


@dataclass(frozen=True, slots=True)
class Release:
    """What Helm passes as `.Release` (and `.Chart`)."""

    name: str = "bgplb"
    namespace: str = "metallb-system"


@dataclass(slots=True)
class _Node:
    kind: str  # "text", "action", "if"
    text: str = ""
    cond: str = ""
    then: list[_Node] = field(default_factory=list)
    otherwise: list[_Node] = field(default_factory=list)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Values as Helm merges them: maps key by key, null deletes a key, everything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _tokens(source: str) -> list[tuple[str, str]]:
    """Split a template into ("text", …) and ("action", …), applying the trim markers to the text."""
    out: list[tuple[str, str]] = []
    pos = 0
    trim_next = False
    for match in _ACTION.finditer(source):
        text = source[pos : match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        out.append(("text", text))
        out.append(("action", match.group(2)))
        trim_next = bool(match.group(3))
        pos = match.end()
    tail = source[pos:]
    out.append(("text", tail.lstrip() if trim_next else tail))
    return out


def _parse(tokens: list[tuple[str, str]]) -> list[_Node]:
    root: list[_Node] = []
    stack: list[tuple[_Node, list[_Node]]] = []
    current = root
    for kind, value in tokens:
        if kind == "text":
            current.append(_Node("text", text=value))
            continue
        if_match = _FORMS["if"].match(value)
        if if_match:
            node = _Node("if", cond=if_match.group(1))
            current.append(node)
            stack.append((node, current))
            current = node.then
        elif _FORMS["else"].match(value):
            if not stack:
                raise UnsupportedTemplateError("{{ else }} outside {{ if }}")
            current = stack[-1][0].otherwise
        elif _FORMS["end"].match(value):
            if not stack:
                raise UnsupportedTemplateError("{{ end }} without {{ if }}")
            current = stack.pop()[1]
        elif any(_FORMS[form].match(value) for form in ("ref", "quote", "toyaml", "files")):
            current.append(_Node("action", text=value))
        else:
            raise UnsupportedTemplateError(f"unsupported action {{{{ {value} }}}}")
    if stack:
        raise UnsupportedTemplateError("{{ if }} without {{ end }}")
    return root


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart directory and the context it is rendered with."""

    root: Path
    values: Mapping[str, Any]
    release: Release

    def lookup(self, ref: str) -> Any:
        parts = ref.lstrip(".").split(".")
        if parts[0] == "Release":
            return {"Name": self.release.name, "Namespace": self.release.namespace}[parts[1]]
        if parts[0] == "Chart":
            meta = yaml.safe_load((self.root / "Chart.yaml").read_text())
            return str(meta[{"Version": "version", "AppVersion": "appVersion"}[parts[1]]])
        value: Any = self.values
        for part in parts[1:]:
            if not isinstance(value, Mapping) or part not in value:
                raise KeyError(f"{ref}: no such value")
            value = value[part]
        return value

    def truth(self, cond: str) -> bool:
        for form, pattern in _CONDS.items():
            match = pattern.match(cond)
            if not match:
                continue
            if form == "ref":
                return bool(self.lookup(match.group(1)))
            if form == "not":
                return not self.lookup(match.group(1))
            if form == "eq":
                return bool(self.lookup(match.group(1)) == match.group(2))
            return bool(self.lookup(match.group(1))) or bool(self.lookup(match.group(2)))
        raise UnsupportedTemplateError(f"unsupported condition {cond!r}")

    def action(self, value: str) -> str:
        if match := _FORMS["ref"].match(value):
            return _go_print(self.lookup(match.group(1)))
        if match := _FORMS["quote"].match(value):
            return json.dumps(_go_print(self.lookup(match.group(1))))
        if match := _FORMS["toyaml"].match(value):
            dumped = yaml.safe_dump(self.lookup(match.group(1)), default_flow_style=False, sort_keys=True)
            pad = " " * int(match.group(2))
            return "\n" + "\n".join(pad + line for line in dumped.rstrip("\n").split("\n"))
        if match := _FORMS["files"].match(value):
            return (self.root / match.group(1)).read_text()
        raise UnsupportedTemplateError(value)

    def emit(self, nodes: list[_Node]) -> str:
        out: list[str] = []
        for node in nodes:
            if node.kind == "text":
                out.append(node.text)
            elif node.kind == "action":
                out.append(self.action(node.text))
            else:
                out.append(self.emit(node.then if self.truth(node.cond) else node.otherwise))
        return "".join(out)


def _go_print(value: Any) -> str:
    """A value as Go's text/template prints it (booleans lower-case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_template(chart: Chart, template: Path) -> str:
    """One template rendered to text."""
    return chart.emit(_parse(_tokens(template.read_text())))


def render(
    chart_dir: Path, overrides: Mapping[str, Any] | None = None, release: Release = Release()
) -> list[dict[str, Any]]:
    """Every object the chart's templates produce with values.yaml merged with `overrides`."""
    values = yaml.safe_load((chart_dir / "values.yaml").read_text())
    chart = Chart(chart_dir, deep_merge(values, overrides or {}), release)
    objects: list[dict[str, Any]] = []
    for template in sorted((chart_dir / "templates").glob("*.yaml")):
        for doc in yaml.load_all(render_template(chart, template), Loader=_LOADER):
            if doc is not None:
                objects.append(doc)
    return objects
