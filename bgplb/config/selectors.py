"""Kubernetes label selectors as frozen values with a pure `matches`.

The semantics follow the Kubernetes API: every `matchLabels` pair and every `matchExpressions`
requirement must hold; an empty selector matches everything. `In`/`NotIn` need values,
`Exists`/`DoesNotExist` must have none (the readers report violations as ConfigErrors).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

Operator = Literal["In", "NotIn", "Exists", "DoesNotExist"]


class LabelRequirement(BaseModel):
    """One `matchExpressions` entry: `key operator values`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether `labels` satisfy this requirement."""
        present = self.key in labels
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        if self.operator == "In":
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values


class LabelSelector(BaseModel):
    """A Kubernetes LabelSelector; the empty selector matches every object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    match_labels: dict[str, str] = {}
    match_expressions: tuple[LabelRequirement, ...] = ()

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.match_labels.items())), self.match_expressions))

    @property
    def is_empty(self) -> bool:
        """True when the selector has no condition at all (it selects everything)."""
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether an object carrying `labels` is selected."""
        if any(labels.get(key) != value for key, value in self.match_labels.items()):
            return False
        return all(requirement.matches(labels) for requirement in self.match_expressions)


def any_matches(selectors: tuple[LabelSelector, ...], labels: Mapping[str, str]) -> bool:
    """MetalLB's rule for selector lists: no selector selects all, otherwise any one must match."""
    return not selectors or any(selector.matches(labels) for selector in selectors)
