"""Properties of allocate: no illegitimate double use, order independence, a fixed point on its own output."""

from __future__ import annotations

import random
from dataclasses import replace
from ipaddress import ip_address

from hypothesis import given, settings
from hypothesis import strategies as st

from bgplb.planning.allocation import Allocation, FailureReason, _in_order
from bgplb.planning.pool_choice import accepted_versions, family_options, version_bits
from bgplb.planning.sharing import Claim, sharing_conflict
from bgplb.planning.snapshot import IPFamilyPolicy, Service, ServicePort, ServiceRef
from tests.planning.alloc_helpers import pool, run

POOLS = [
    pool("dual", "10.0.0.0/29", "fd00::/125", priority=2),
    pool("gold", "10.1.0.0/30", service_labels={"tier": "gold"}, priority=1),
    pool("manual", "10.2.0.0/30", auto_assign=False),
    pool("buggy", "10.3.0.254-10.3.1.1", avoid_buggy_ips=True),
    pool("cilium", "10.4.0.0/30", allow_first_last=False, source="cilium"),
    pool("off", "10.5.0.0/30", disabled=True),
]
ADDRESSES = [
    "10.0.0.1",
    "10.0.0.6",
    "10.1.0.2",
    "10.2.0.1",
    "10.3.0.255",
    "10.3.1.0",
    "10.4.0.1",
    "10.5.0.1",
    "10.9.0.1",
    "fd00::1",
    "fd00::7",
]


@st.composite
def services(draw: st.DrawFn) -> list[Service]:
    count = draw(st.integers(0, 14))
    result = []
    for i in range(count):
        families = draw(st.sampled_from([("IPv4",), ("IPv6",), ("IPv4", "IPv6"), ("IPv6", "IPv4")]))
        result.append(
            Service(
                ref=ServiceRef(draw(st.sampled_from(["a", "b"])), f"s{i}"),
                requested_ips=draw(st.sampled_from([(), (), (), *[(ip_address(a),) for a in ADDRESSES]])),
                requested_pool=draw(st.sampled_from([None, None, None, "manual", "gold", "missing"])),
                sharing_key=draw(st.sampled_from([None, "k", "j"])),
                sharing_namespaces=draw(st.sampled_from([None, None, (), ("*",)])),
                ip_families=families,
                ip_family_policy=draw(st.sampled_from(list(IPFamilyPolicy))),
                ports=tuple(ServicePort("TCP", p) for p in draw(st.sets(st.integers(1, 4), max_size=2))),
                external_traffic_policy=draw(st.sampled_from(["Cluster", "Local"])),
                selector={"app": draw(st.sampled_from(["x", "y"]))},
                labels=draw(st.sampled_from([{}, {"tier": "gold"}])),
                current_ips=draw(st.sampled_from([(), (), *[(ip_address(a),) for a in ADDRESSES]])),
                creation_timestamp=draw(st.sampled_from([None, 1.0, 2.0])),
            )
        )
    return result


def _holders(result: Allocation) -> dict[object, list[ServiceRef]]:
    holders: dict[object, list[ServiceRef]] = {}
    for ref, assignment in result.assignments.items():
        for ip in assignment.ips:
            holders.setdefault(ip, []).append(ref)
    return holders


@settings(max_examples=150, deadline=None)
@given(services())
def test_no_address_is_given_twice_unless_shared_legitimately(svcs: list[Service]) -> None:
    result = run(svcs, POOLS)
    by_ref = {s.ref: s for s in svcs}
    for ip, refs in _holders(result).items():
        for i, a in enumerate(refs):
            for b in refs[i + 1 :]:
                assert sharing_conflict(Claim.of(by_ref[a]), Claim.of(by_ref[b])) is None, (ip, a, b)
    excluded = {
        ip_address(a) for a in ("10.3.0.255", "10.3.1.0", "10.4.0.0", "10.4.0.3")
    }  # buggy, first/last
    for ref, assignment in result.assignments.items():
        assert all(p.contains(ip) for ip in assignment.ips for p in POOLS if p.name == assignment.pool)
        assert not excluded & set(assignment.ips)
        assert len({ip.version for ip in assignment.ips}) == len(assignment.ips)
        assert ref not in result.failures


@settings(max_examples=150, deadline=None)
@given(services(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_input_order(svcs: list[Service], rnd: random.Random) -> None:
    shuffled = list(svcs)
    rnd.shuffle(shuffled)
    pools = list(POOLS)
    rnd.shuffle(pools)
    a, b = run(svcs, POOLS), run(shuffled, pools)
    assert (a.assignments, a.failures, a.released, a.usage) == (
        b.assignments,
        b.failures,
        b.released,
        b.usage,
    )


@settings(max_examples=150, deadline=None)
@given(services())
def test_allocating_again_on_own_output_changes_nothing(svcs: list[Service]) -> None:
    first = run(svcs, POOLS)
    observed = [
        replace(s, current_ips=first.assignments[s.ref].ips if s.ref in first.assignments else ())
        for s in svcs
    ]
    second = run(observed, POOLS)
    assert second.assignments == first.assignments
    assert not second.released
    assert second.failures.keys() == first.failures.keys()
    for ref, failure in first.failures.items():
        # A reason that depends on who holds what may turn into the other one (both remain true).
        reasons = {failure.reason, second.failures[ref].reason}
        assert len(reasons) == 1 or reasons <= {
            FailureReason.POOL_EXHAUSTED,
            FailureReason.REQUESTED_IP_IN_USE,
        }


@settings(max_examples=150, deadline=None)
@given(services(), st.randoms(use_true_random=False))
def test_processing_order_is_oldest_first_then_by_name(svcs: list[Service], rnd: random.Random) -> None:
    rnd.shuffle(svcs)
    expected = sorted(
        svcs,
        key=lambda s: (
            s.creation_timestamp is None,
            s.creation_timestamp or 0.0,
            s.ref.namespace,
            s.ref.name,
        ),
    )
    assert _in_order(svcs) == expected


def test_accepted_versions_are_the_family_options_as_sets() -> None:
    for families in [(), ("IPv4",), ("IPv6",), ("IPv4", "IPv6"), ("IPv6", "IPv4"), ("IPv4", "IPv4")]:
        for policy in IPFamilyPolicy:
            service = Service(ServiceRef("a", "b"), ip_families=families, ip_family_policy=policy)  # type: ignore[arg-type]
            options = family_options(service)
            assert accepted_versions(service) == {version_bits(o) for o in options}
            for versions in [(4,), (6,), (4, 6), (6, 4)]:
                assert (version_bits(versions) in accepted_versions(service)) == any(
                    set(versions) == set(o) for o in options
                )
