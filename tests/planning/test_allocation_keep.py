"""Stability: observed addresses are kept while valid, released with a reason otherwise."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bgplb.planning.allocation import FailureReason as F
from bgplb.planning.allocation import ReleaseReason as R
from bgplb.planning.snapshot import IPFamilyPolicy, Service, ServiceRef
from tests.planning.alloc_helpers import outcome, pool, run, svc

POOL = pool("a", "10.0.0.0/28")


def test_valid_current_ip_is_kept_even_when_a_lower_one_is_free() -> None:
    result = run([svc("s", current=["10.0.0.9"])], [POOL])
    assert outcome(result, "s") == ("10.0.0.9",)
    assert not result.released


def test_kept_addresses_are_not_given_to_new_services() -> None:
    result = run([svc("new"), svc("old", current=["10.0.0.0"])], [POOL])
    assert outcome(result, "old") == ("10.0.0.0",)
    assert outcome(result, "new") == ("10.0.0.1",)


def test_a_disabled_pool_keeps_existing_addresses_but_gives_no_new_ones() -> None:
    result = run([svc("old", current=["10.0.0.3"]), svc("new")], [pool("a", "10.0.0.0/28", disabled=True)])
    assert outcome(result, "old") == ("10.0.0.3",) and not result.released
    assert outcome(result, "new") == F.NO_POOL_MATCHES


def test_autoassign_false_pool_keeps_its_current_address() -> None:
    result = run([svc("s", current=["10.0.0.3"])], [pool("a", "10.0.0.0/28", auto_assign=False)])
    assert outcome(result, "s") == ("10.0.0.3",)


@pytest.mark.parametrize(
    ("service", "pools", "reason", "new"),
    [
        (svc("s", current=["10.9.9.9"]), [POOL], R.NOT_IN_ANY_POOL, ("10.0.0.0",)),
        (
            svc("s", current=["10.0.0.5"]),
            [pool("a", "10.0.0.0/28", namespaces=["x"]), pool("b", "10.1.0.0/30")],
            R.POOL_NOT_ALLOWED,
            ("10.1.0.0",),
        ),
        (
            svc("s", current=["10.0.0.0"]),
            [pool("a", "10.0.0.0/28", avoid_buggy_ips=True)],
            R.ADDRESS_EXCLUDED,
            ("10.0.0.1",),
        ),
        (svc("s", current=["10.0.0.5"], ips=["10.0.0.7"]), [POOL], R.REQUEST_CHANGED, ("10.0.0.7",)),
        (
            svc("s", current=["10.0.0.5"], requested_pool="b"),
            [POOL, pool("b", "10.1.0.0/30")],
            R.REQUEST_CHANGED,
            ("10.1.0.0",),
        ),
        (
            svc("s", current=["fd00::5"]),
            [pool("a", "10.0.0.0/28", "fd00::/120")],
            R.FAMILY_MISMATCH,
            ("10.0.0.0",),
        ),
        (
            svc(
                "s",
                current=["10.0.0.5", "fd01::1"],
                ip_families=("IPv4", "IPv6"),
                ip_family_policy=IPFamilyPolicy.REQUIRE_DUAL_STACK,
            ),
            [pool("a", "10.0.0.0/28", "fd00::/120"), pool("b", "fd01::/120")],
            R.MIXED_POOLS,
            ("10.0.0.0", "fd00::"),
        ),
    ],
    ids=[
        "not in any pool",
        "pool no longer admits",
        "now excluded",
        "other IP requested",
        "other pool requested",
        "family not requested",
        "mixed pools",
    ],
)
def test_invalid_current_ip_is_released_with_reason(
    service: Service, pools: list, reason: R, new: tuple[str, ...]
) -> None:
    result = run([service], pools)
    assert result.released[service.ref].reason is reason
    assert "default/s" in result.released[service.ref].detail
    assert outcome(result, "s") == new


def test_conflicting_current_ips_older_service_wins() -> None:
    old = svc("zz-old", current=["10.0.0.4"], creation_timestamp=1.0)
    young = svc("aa-young", current=["10.0.0.4"], creation_timestamp=2.0)
    result = run([young, old], [POOL])
    assert outcome(result, "zz-old") == ("10.0.0.4",)
    assert result.released[young.ref].reason is R.CONFLICT
    assert "default/zz-old" in result.released[young.ref].detail
    assert outcome(result, "aa-young") == ("10.0.0.0",)


def test_compatible_current_ips_stay_shared() -> None:
    a = svc("a", current=["10.0.0.4"], sharing_key="k", ports=[80])
    b = svc("b", current=["10.0.0.4"], sharing_key="k", ports=[443])
    result = run([a, b], [POOL])
    assert outcome(result, "a") == outcome(result, "b") == ("10.0.0.4",)


def _as_observed(services: list[Service], result_ips: dict[ServiceRef, tuple]) -> list[Service]:
    return [replace(s, current_ips=result_ips.get(s.ref, ())) for s in services]


def test_restart_changes_nothing_and_deleting_one_service_moves_no_other() -> None:
    services = [svc(f"s{i}", ports=[i % 3], sharing_key="k" if i % 4 == 0 else None) for i in range(12)]
    first = run(services, [POOL])
    observed = _as_observed(services, {ref: a.ips for ref, a in first.assignments.items()})
    again = run(observed, [POOL])
    assert again.assignments == first.assignments and not again.released
    without = run(observed[:5] + observed[6:], [POOL])
    assert {r: a for r, a in first.assignments.items() if r.name != "s5"} == dict(without.assignments)


def test_pool_edit_that_keeps_an_address_valid_moves_nothing() -> None:
    first = run([svc("s1"), svc("s2")], [pool("a", "10.0.0.0/28")])
    observed = _as_observed([svc("s1"), svc("s2")], {r: a.ips for r, a in first.assignments.items()})
    edited = run(observed, [pool("a", "10.0.0.1/32", "10.0.0.0/32", "10.0.0.8/29", priority=5)])
    assert edited.assignments == first.assignments


def test_an_unreadable_request_does_not_take_away_valid_addresses() -> None:
    result = run([svc("s", current=["10.0.0.5"], invalid_request="bad annotation")], [POOL])
    assert outcome(result, "s") == ("10.0.0.5",) and not result.failures
