"""The IP sharing rules, one row each."""

from __future__ import annotations

from typing import Any

import pytest

from bgplb.planning.sharing import Claim, SharingConflict, sharing_conflict
from tests.planning.alloc_helpers import svc


def claim(name: str, ns: str = "n", **kw: Any) -> Claim:
    return Claim.of(svc(name, ns, **kw))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (claim("a", ports=[80]), claim("b", ports=[443]), SharingConflict.NOT_SHARED),
        (claim("a", sharing_key="k", ports=[80]), claim("b", ports=[443]), SharingConflict.NOT_SHARED),
        (claim("a", sharing_key="k"), claim("b", sharing_key="j"), SharingConflict.DIFFERENT_KEY),
        (
            claim("a", sharing_key="k", ports=[80]),
            claim("b", sharing_key="k", ports=[80]),
            SharingConflict.PORT_CONFLICT,
        ),
        (
            claim("a", sharing_key="k", ports=[("TCP", 53)]),
            claim("b", sharing_key="k", ports=[("UDP", 53)]),
            None,
        ),
        (
            claim("a", sharing_key="k", external_traffic_policy="Local", selector={"x": "1"}),
            claim("b", sharing_key="k", external_traffic_policy="Local", selector={"x": "2"}),
            SharingConflict.BACKEND_MISMATCH,
        ),
        (
            claim("a", sharing_key="k", external_traffic_policy="Local", selector={"x": "1"}),
            claim("b", sharing_key="k", external_traffic_policy="Local", selector={"x": "1"}),
            None,
        ),
        (
            claim("a", sharing_key="k", external_traffic_policy="Local"),
            claim("b", sharing_key="k"),
            SharingConflict.BACKEND_MISMATCH,
        ),
        (
            claim("a", "n1", sharing_key="k", sharing_namespaces=()),
            claim("b", "n2", sharing_key="k", sharing_namespaces=("n1",)),
            SharingConflict.NAMESPACE_NOT_ALLOWED,
        ),
        (
            claim("a", "n1", sharing_key="k", sharing_namespaces=()),
            claim("b", "n1", sharing_key="k", sharing_namespaces=()),
            None,
        ),
        (claim("a", "n1", sharing_key="k"), claim("b", "n2", sharing_key="k"), None),
    ],
)
def test_sharing_rule(a: Claim, b: Claim, expected: SharingConflict | None) -> None:
    assert sharing_conflict(a, b) is expected
    assert sharing_conflict(b, a) is expected
