"""LabelSelector semantics (Kubernetes): AND of all terms, empty selects all."""

from __future__ import annotations

import pytest

from bgplb.config.selectors import LabelRequirement, LabelSelector, any_matches

LABELS = {"app": "web", "tier": "gold"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (LabelSelector(), True),
        (LabelSelector(match_labels={"app": "web"}), True),
        (LabelSelector(match_labels={"app": "web", "tier": "silver"}), False),
        (LabelSelector(match_labels={"missing": ""}), False),
        (
            LabelSelector(
                match_expressions=(LabelRequirement(key="app", operator="In", values=("db", "web")),)
            ),
            True,
        ),
        (
            LabelSelector(match_expressions=(LabelRequirement(key="app", operator="In", values=("db",)),)),
            False,
        ),
        (
            LabelSelector(
                match_expressions=(LabelRequirement(key="app", operator="NotIn", values=("web",)),)
            ),
            False,
        ),
        (
            LabelSelector(match_expressions=(LabelRequirement(key="zone", operator="NotIn", values=("x",)),)),
            True,
        ),
        (LabelSelector(match_expressions=(LabelRequirement(key="tier", operator="Exists"),)), True),
        (LabelSelector(match_expressions=(LabelRequirement(key="zone", operator="Exists"),)), False),
        (LabelSelector(match_expressions=(LabelRequirement(key="zone", operator="DoesNotExist"),)), True),
        (
            LabelSelector(
                match_labels={"app": "web"},
                match_expressions=(LabelRequirement(key="tier", operator="DoesNotExist"),),
            ),
            False,
        ),
    ],
)
def test_matches(selector: LabelSelector, expected: bool) -> None:
    assert selector.matches(LABELS) is expected


def test_any_matches_and_hashing() -> None:
    gold = LabelSelector(match_labels={"tier": "gold"})
    silver = LabelSelector(match_labels={"tier": "silver"})
    assert any_matches((), {}) and any_matches((silver, gold), LABELS) and not any_matches((silver,), LABELS)
    assert hash(gold) == hash(LabelSelector(match_labels={"tier": "gold"})) and len({gold, silver}) == 2
    assert LabelSelector().is_empty and not gold.is_empty
