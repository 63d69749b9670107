"""`--check`: each thing an existing FRR config can lack is detected, and a complete config passes.

Table-driven: start from the config bgplb renders for a scenario (which must pass), break one thing the way
users do in forum posts, and expect exactly that reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bgplb.routers import frr
from bgplb.routers.check import CheckReason, check
from tests.routers.scenarios import SCENARIOS, plan_for


def drop(pattern: str) -> Callable[[str], str]:
    """Remove every line matching `pattern`."""
    return lambda text: "\n".join(line for line in text.splitlines() if not re.search(pattern, line)) + "\n"


def replace(old: str, new: str) -> Callable[[str], str]:
    """Replace `old` (which must occur) by `new`."""

    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new)

    return edit


@dataclass(frozen=True)
class Case:
    name: str
    scenario: str
    edit: Callable[[str], str]
    reasons: set[CheckReason]


CASES = [
    Case("no router bgp", "ebgp_peer_group", lambda text: "hostname r1\n", {CheckReason.NO_ROUTER_BGP}),
    Case(
        "wrong local ASN",
        "ebgp_peer_group",
        replace("router bgp 64500", "router bgp 64999"),
        {CheckReason.WRONG_ASN},
    ),
    Case(
        "a node is missing",
        "ebgp_peer_group",
        drop(r"neighbor 10\.4\.0\.13 "),
        {CheckReason.MISSING_NEIGHBOR},
    ),
    Case(
        "wrong remote-as",
        "ebgp_peer_group",
        replace("remote-as 64501", "remote-as 64502"),
        {CheckReason.WRONG_REMOTE_AS},
    ),
    Case(
        "eBGP without inbound route-map (RFC 8212 drops everything)",
        "ebgp_peer_group",
        drop(r"route-map BGPLB-IN-V4 in"),
        {CheckReason.NO_INBOUND_POLICY},
    ),
    Case(
        "prefix list for another network",
        "ebgp_peer_group",
        replace("10.4.11.0/24 le 32", "10.4.12.0/24 le 32"),
        {CheckReason.POLICY_DROPS_POOL},
    ),
    Case(
        "prefix list without le 32 (the /32s are dropped)",
        "ebgp_peer_group",
        replace("10.4.11.0/24 le 32", "10.4.11.0/24"),
        {CheckReason.POLICY_DROPS_POOL},
    ),
    Case(
        "route map referenced but not defined",
        "ebgp_peer_group",
        replace("route-map BGPLB-IN-V4 in", "route-map TYPO in"),
        {CheckReason.MISSING_POLICY_OBJECT},
    ),
    Case(
        "maximum-paths 1: one node gets all the traffic",
        "ebgp_peer_group",
        replace("maximum-paths 12", "maximum-paths 1"),
        {CheckReason.NO_MULTIPATH},
    ),
    Case(
        "no ipv6 address family at all",
        "dual_stack",
        lambda text: re.sub(r" address-family ipv6 unicast\n(.*\n)*? exit-address-family\n", "", text),
        {CheckReason.MISSING_ADDRESS_FAMILY, CheckReason.NOT_ACTIVATED},
    ),
    Case(
        "ipv6 neighbors not activated",
        "dual_stack",
        drop(r"neighbor BGPLB-ROUTER-V6 activate"),
        {CheckReason.NOT_ACTIVATED},
    ),
    Case(
        "different node ASNs without multipath-relax",
        "communities",
        drop("multipath-relax"),
        {CheckReason.NO_MULTIPATH_RELAX},
    ),
    Case(
        "rack1 given rack2's inbound map (pool red is advertised to rack1 only)",
        "rack_peers",
        replace("route-map BGPLB-IN-V4-RACK1 in", "route-map BGPLB-IN-V4-RACK2 in"),
        {CheckReason.POLICY_DROPS_POOL},
    ),
    Case(
        "iBGP neighbor not activated with no bgp default ipv4-unicast",
        "ibgp_single",
        drop(r"neighbor BGPLB-PEER1 activate"),
        {CheckReason.NOT_ACTIVATED},
    ),
]


def test_the_rendered_config_passes_its_own_check() -> None:
    for scenario in SCENARIOS:
        plan = plan_for(scenario)
        assert check(plan, frr.render(plan)) == (), scenario


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_missing_thing_is_detected(case: Case) -> None:
    plan = plan_for(case.scenario)
    findings = check(plan, case.edit(frr.render(plan)))
    assert {f.reason for f in findings} == case.reasons
    assert all(f.is_error for f in findings)


def test_seed_style_config_is_explained() -> None:
    """Seed 000's router: neighbors one by one, a prefix list inbound, no route-map, no maximum-paths."""
    plan = plan_for("ebgp_peer_group")
    lines = ["router bgp 64500", " bgp router-id 10.4.0.1"]
    addresses = [str(n.address) for n in plan.neighbors if str(n.address) != "10.4.1.10"]
    lines += [f" neighbor {a} remote-as 64501" for a in addresses]
    lines += [" address-family ipv4 unicast"]
    lines += [f"  neighbor {a} prefix-list METALLB-ROUTES in" for a in addresses]
    lines += [" exit-address-family", "!", "ip prefix-list METALLB-ROUTES seq 5 permit 10.4.11.0/24 le 32"]
    findings = check(plan, "\n".join(lines) + "\n")
    assert [(f.reason, f.subject) for f in findings if f.is_error] == [
        (CheckReason.MISSING_NEIGHBOR, "neighbor 10.4.1.10 (velaryon)")
    ]
    assert [f.reason for f in findings if not f.is_error] == [CheckReason.MULTIPATH_DEFAULT]


def test_unfiltered_ibgp_or_disabled_safety_is_advice_not_error() -> None:
    plan = plan_for("ebgp_peer_group")
    text = drop("route-map BGPLB-IN-V4 in")(frr.render(plan))
    text = text.replace(" bgp ebgp-requires-policy\n", " no bgp ebgp-requires-policy\n")
    findings = check(plan, text)
    assert findings and {f.reason for f in findings} == {CheckReason.UNFILTERED}
    assert not any(f.is_error for f in findings)
