"""A typed, path-tracking view of one mapping from a YAML source, shared by the readers.

`Fields` hands out values by key with type checks, records a ConfigError (kind, name, dotted path) for
each wrong type, and `finish()` warns about every key nobody asked for, so that no field is dropped
silently. Selectors are parsed here too, in both the CRD and legacy ConfigMap spellings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from bgplb.config.fragment import Fragment
from bgplb.config.models import Origin
from bgplb.config.selectors import LabelRequirement, LabelSelector, Operator

Spelling = Literal["crd", "configmap"]
_OPERATORS: dict[str, Operator] = {
    "In": "In",
    "NotIn": "NotIn",
    "Exists": "Exists",
    "DoesNotExist": "DoesNotExist",
}


class Fields:
    """Typed access to `data` (found at `path` inside `origin`'s object); problems go to `sink`."""

    def __init__(self, data: Mapping[str, object], path: str, origin: Origin, sink: Fragment) -> None:
        self.data = data
        self.path = path
        self.origin = origin
        self.sink = sink
        self._used: set[str] = set()

    def at(self, key: str) -> str:
        """The dotted path of `key`."""
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        """Whether `key` is present (and marks it used)."""
        self._used.add(key)
        return key in self.data and self.data[key] is not None

    def raw(self, key: str) -> object:
        """The value of `key` without a type check (None when absent)."""
        self._used.add(key)
        return self.data.get(key)

    def error(self, key: str, reason: str) -> None:
        """Record an error on field `key`."""
        self.sink.error(self.origin, self.at(key), reason)

    def warn(self, key: str, reason: str) -> None:
        """Record a warning on field `key`."""
        self.sink.warn(self.origin, self.at(key), reason)

    def string(self, key: str) -> str | None:
        """A string field; numbers are accepted and converted (YAML often types them)."""
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(key, f"expected a string, got {type(value).__name__}")
            return None
        return str(value)

    def integer(self, key: str, low: int | None = None, high: int | None = None) -> int | None:
        """An integer field, optionally bounded (inclusive)."""
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(key, f"expected an integer, got {value!r}")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            self.error(key, f"{value} is out of range {low}..{high}")
            return None
        return value

    def boolean(self, key: str) -> bool | None:
        """A boolean field."""
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.error(key, f"expected true or false, got {value!r}")
            return None
        return value

    def strings(self, key: str) -> tuple[tuple[str, str], ...]:
        """A list of strings, each with its own path."""
        return tuple(
            (text, path)
            for item, path in self.items(key)
            if (text := _as_string(item, path, self)) is not None
        )

    def items(self, key: str) -> tuple[tuple[object, str], ...]:
        """A list field as (item, path) pairs; a non-list is an error."""
        value = self.raw(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(key, f"expected a list, got {type(value).__name__}")
            return ()
        return tuple((item, f"{self.at(key)}[{i}]") for i, item in enumerate(value))

    def mappings(self, key: str) -> tuple[Fields, ...]:
        """A list of mappings, each as its own Fields."""
        out: list[Fields] = []
        for item, path in self.items(key):
            if isinstance(item, Mapping):
                out.append(Fields(item, path, self.origin, self.sink))
            else:
                self.sink.error(self.origin, path, f"expected a mapping, got {type(item).__name__}")
        return tuple(out)

    def mapping(self, key: str) -> Fields | None:
        """A nested mapping as its own Fields."""
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.error(key, f"expected a mapping, got {type(value).__name__}")
            return None
        return Fields(value, self.at(key), self.origin, self.sink)

    def ignore(self, *keys: str) -> None:
        """Mark keys as read on purpose (handled elsewhere or meaningless here)."""
        self._used.update(keys)

    def finish(self) -> None:
        """Warn about every key that was never read."""
        for key in sorted(set(self.data) - self._used, key=str):
            self.warn(str(key), "unknown field; ignored")


def _as_string(item: object, path: str, fields: Fields) -> str | None:
    if isinstance(item, str | int) and not isinstance(item, bool):
        return str(item)
    fields.sink.error(fields.origin, path, f"expected a string, got {type(item).__name__}")
    return None


def read_selector(fields: Fields, spelling: Spelling = "crd") -> LabelSelector | None:
    """Parse a LabelSelector; None (with errors recorded) when it is malformed."""
    labels_key, exprs_key = ("matchLabels", "matchExpressions")
    if spelling == "configmap":
        labels_key, exprs_key = ("match-labels", "match-expressions")
    ok = True
    labels: dict[str, str] = {}
    labels_fields = fields.mapping(labels_key)
    if labels_fields is not None:
        for key in labels_fields.data:
            value = labels_fields.string(str(key))
            if value is None:
                ok = False
            else:
                labels[str(key)] = value
    requirements: list[LabelRequirement] = []
    for expr in fields.mappings(exprs_key):
        requirement = _read_requirement(expr)
        if requirement is None:
            ok = False
        else:
            requirements.append(requirement)
    fields.finish()
    if not ok:
        return None
    return LabelSelector(match_labels=labels, match_expressions=tuple(requirements))


def _read_requirement(expr: Fields) -> LabelRequirement | None:
    key = expr.string("key")
    operator = expr.string("operator")
    values = tuple(text for text, _ in expr.strings("values"))
    expr.finish()
    if not key:
        expr.error("key", "a match expression needs a key")
        return None
    if operator not in _OPERATORS:
        expr.error("operator", f"operator {operator!r} is not one of In, NotIn, Exists, DoesNotExist")
        return None
    if operator in ("In", "NotIn") and not values:
        expr.error("values", f"operator {operator} needs at least one value")
        return None
    if operator in ("Exists", "DoesNotExist") and values:
        expr.error("values", f"operator {operator} takes no values")
        return None
    return LabelRequirement(key=key, operator=_OPERATORS[operator], values=values)


def read_selectors(fields: Fields, key: str, spelling: Spelling = "crd") -> tuple[LabelSelector, ...]:
    """A list of selectors under `key`; malformed ones are left out (their errors are recorded)."""
    selectors = (read_selector(item, spelling) for item in fields.mappings(key))
    return tuple(s for s in selectors if s is not None)


@dataclass(frozen=True, slots=True)
class ObjectMeta:
    """The identity of one Kubernetes-style resource."""

    api_version: str
    kind: str
    name: str
    namespace: str
    labels: dict[str, str]
    origin: Origin


def check_version(meta: ObjectMeta, versions: tuple[str, ...], out: Fragment) -> None:
    """Warn when `meta`'s apiVersion is none of `versions` (the object is then read as the newest)."""
    version = meta.api_version.partition("/")[2]
    if version not in versions:
        out.warn(
            meta.origin,
            "apiVersion",
            f"{meta.api_version} is not a known version of {meta.kind} ({', '.join(versions)}); read as "
            f"{versions[-1]}",
        )


def read_object(
    resource: Mapping[str, object], sink: Fragment, path: str = "spec"
) -> tuple[ObjectMeta, Fields]:
    """Read apiVersion/kind/metadata of `resource` and return its identity and a Fields on `path`."""
    kind = str(resource.get("kind") or "")
    bootstrap = Origin(kind=kind)
    top = Fields(resource, "", bootstrap, sink)
    api_version = top.string("apiVersion") or ""
    top.ignore("kind", "status")
    meta = top.mapping("metadata") or Fields({}, "metadata", bootstrap, sink)
    name = meta.string("name") or ""
    namespace = meta.string("namespace") or ""
    labels_fields = meta.mapping("labels")
    labels = {str(k): str(v) for k, v in labels_fields.data.items()} if labels_fields else {}
    origin = Origin(kind=kind, name=f"{namespace}/{name}" if namespace else name, path=path)
    if not name:
        sink.error(origin, "metadata.name", "every object needs a name")
    body = top.mapping(path) if path else None
    top.finish()
    fields = body if body is not None else Fields({}, path, origin, sink)
    fields.origin = origin
    return ObjectMeta(api_version, kind, name, namespace, labels, origin), fields
