"""Table-driven tests, one row per allocation rule (new allocations; keeping is in test_allocation_keep)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bgplb.config.models import AddressPool
from bgplb.planning.allocation import FailureReason as F
from bgplb.planning.snapshot import IPFamilyPolicy, Namespace, Service
from tests.planning.alloc_helpers import outcome, pool, run, svc

DUAL = pool("dual", "10.0.0.0/30", "fd00::/126")
V4 = pool("v4", "10.1.0.0/30")
V6 = pool("v6", "fd01::/126")


@dataclass
class Case:
    id: str
    pools: list[AddressPool]
    services: list[Service]
    expected: dict[str, object]
    namespaces: list[Namespace] = field(default_factory=list)
    kwargs: dict[str, object] = field(default_factory=dict)


CASES = [
    Case(
        "lowest free address first",
        [pool("a", "10.0.0.0/30")],
        [svc("s1"), svc("s2")],
        {"s1": ("10.0.0.0",), "s2": ("10.0.0.1",)},
    ),
    Case(
        "ranges are used in address order",
        [pool("a", "10.0.0.9-10.0.0.9", "10.0.0.3-10.0.0.3")],
        [svc("s1"), svc("s2"), svc("s3")],
        {"s1": ("10.0.0.3",), "s2": ("10.0.0.9",), "s3": F.POOL_EXHAUSTED},
    ),
    Case(
        "services are ordered by namespace/name, not input order",
        [pool("a", "10.0.0.0/30")],
        [svc("b"), svc("a")],
        {"a": ("10.0.0.0",), "b": ("10.0.0.1",)},
    ),
    Case(
        "older services first when creation timestamps are known",
        [pool("a", "10.0.0.0/30")],
        [svc("a", creation_timestamp=20.0), svc("b", creation_timestamp=10.0)],
        {"b": ("10.0.0.0",), "a": ("10.0.0.1",)},
    ),
    Case(
        "only type LoadBalancer",
        [pool("a", "10.0.0.0/30")],
        [svc("c", type="ClusterIP"), svc("l")],
        {"c": None, "l": ("10.0.0.0",)},
    ),
    Case(
        "a foreign loadBalancerClass is ignored, ours is handled",
        [pool("a", "10.0.0.0/30")],
        [svc("f", load_balancer_class="other.io/lb"), svc("o", load_balancer_class="bgplb.io/lb")],
        {"f": None, "o": ("10.0.0.0",)},
    ),
    Case(
        "unset class can be left to someone else",
        [pool("a", "10.0.0.0/30")],
        [svc("u"), svc("o", load_balancer_class="x.io/lb")],
        {"u": None, "o": ("10.0.0.0",)},
        kwargs={"load_balancer_classes": ("x.io/lb",), "handle_unset_class": False},
    ),
    Case(
        "autoAssign=false pools only on request",
        [pool("a", "10.0.0.0/30", auto_assign=False)],
        [svc("auto"), svc("bypool", requested_pool="a"), svc("byip", ips=["10.0.0.3"])],
        {"auto": F.NO_POOL_MATCHES, "bypool": ("10.0.0.0",), "byip": ("10.0.0.3",)},
    ),
    Case(
        "lower priority number first",
        [pool("a", "10.0.0.0/30", priority=20), pool("b", "10.1.0.0/30", priority=10)],
        [svc("s")],
        {"s": ("10.1.0.0",)},
    ),
    Case(
        "pools without priority come after prioritised ones",
        [pool("a", "10.0.0.0/30"), pool("z", "10.1.0.0/30", priority=50)],
        [svc("s")],
        {"s": ("10.1.0.0",)},
    ),
    Case(
        "equal priority: by name",
        [pool("b", "10.0.0.0/30", priority=1), pool("a", "10.1.0.0/30", priority=1)],
        [svc("s")],
        {"s": ("10.1.0.0",)},
    ),
    Case(
        "a full pool overflows to the next",
        [pool("a", "10.0.0.1/32", priority=1), pool("b", "10.1.0.0/30")],
        [svc("s1"), svc("s2")],
        {"s1": ("10.0.0.1",), "s2": ("10.1.0.0",)},
    ),
    Case(
        "service selectors restrict a pool",
        [pool("a", "10.0.0.0/30", service_labels={"tier": "gold"}), pool("b", "10.1.0.0/30")],
        [svc("g", labels={"tier": "gold"}), svc("p")],
        {"g": ("10.0.0.0",), "p": ("10.1.0.0",)},
    ),
    Case(
        "avoidBuggyIPs skips .0 and .255",
        [pool("a", "10.0.0.255-10.0.1.1", avoid_buggy_ips=True)],
        [svc("s1"), svc("s2")],
        {"s1": ("10.0.1.1",), "s2": F.POOL_EXHAUSTED},
    ),
    Case(
        "Cilium allowFirstLastIPs=No skips network and broadcast",
        [pool("a", "10.0.0.0/30", allow_first_last=False, source="cilium")],
        [svc("s1"), svc("s2"), svc("s3")],
        {"s1": ("10.0.0.1",), "s2": ("10.0.0.2",), "s3": F.POOL_EXHAUSTED},
    ),
    Case(
        "allowFirstLastIPs=No leaves /32 and /31 whole",
        [pool("a", "10.0.0.0/31", allow_first_last=False, source="cilium")],
        [svc("s1"), svc("s2")],
        {"s1": ("10.0.0.0",), "s2": ("10.0.0.1",)},
    ),
    Case(
        "disabled pools allocate nothing new",
        [pool("a", "10.0.0.0/30", disabled=True)],
        [svc("s"), svc("r", requested_pool="a")],
        {"s": F.NO_POOL_MATCHES, "r": F.REQUESTED_POOL_NOT_ALLOWED},
    ),
    Case(
        "pool exhausted",
        [pool("a", "10.0.0.0/32")],
        [svc("s1"), svc("s2")],
        {"s1": ("10.0.0.0",), "s2": F.POOL_EXHAUSTED},
    ),
    Case(
        "requested IP honoured",
        [pool("a", "10.0.0.0/24")],
        [svc("s", ips=["10.0.0.77"])],
        {"s": ("10.0.0.77",)},
    ),
    Case(
        "requested IP not in any pool",
        [pool("a", "10.0.0.0/24")],
        [svc("s", ips=["10.9.0.1"])],
        {"s": F.REQUESTED_IP_NOT_IN_POOL},
    ),
    Case(
        "requested IP outside the requested pool",
        [pool("a", "10.0.0.0/24"), pool("b", "10.1.0.0/24")],
        [svc("s", ips=["10.1.0.5"], requested_pool="a")],
        {"s": F.REQUESTED_IP_NOT_IN_POOL},
    ),
    Case(
        "requested IP excluded by avoidBuggyIPs",
        [pool("a", "10.0.0.0/24", avoid_buggy_ips=True)],
        [svc("s", ips=["10.0.0.255"])],
        {"s": F.REQUESTED_IP_EXCLUDED},
    ),
    Case(
        "requested IP in use",
        [pool("a", "10.0.0.0/24")],
        [svc("a1", ips=["10.0.0.5"]), svc("a2", ips=["10.0.0.5"])],
        {"a1": ("10.0.0.5",), "a2": F.REQUESTED_IP_IN_USE},
    ),
    Case(
        "requested IPs are served before automatic picks",
        [pool("a", "10.0.0.0/30")],
        [svc("a"), svc("b", ips=["10.0.0.0"])],
        {"a": ("10.0.0.1",), "b": ("10.0.0.0",)},
    ),
    Case(
        "requested pool missing",
        [pool("a", "10.0.0.0/24")],
        [svc("s", requested_pool="nope")],
        {"s": F.REQUESTED_POOL_MISSING},
    ),
    Case(
        "requested pool that does not admit the Service",
        [pool("a", "10.0.0.0/24", service_labels={"x": "y"})],
        [svc("s", requested_pool="a")],
        {"s": F.REQUESTED_POOL_NOT_ALLOWED},
    ),
    Case(
        "requested IP in a pool that does not admit the Service",
        [pool("a", "10.0.0.0/24", namespaces=["other"])],
        [svc("s", ips=["10.0.0.9"])],
        {"s": F.REQUESTED_POOL_NOT_ALLOWED},
    ),
    Case(
        "unreadable request fails with its text",
        [pool("a", "10.0.0.0/24")],
        [svc("s", invalid_request="bad address")],
        {"s": F.INVALID_REQUEST},
    ),
    Case(
        "requested IPs of one family twice",
        [pool("a", "10.0.0.0/24")],
        [svc("s", ips=["10.0.0.1", "10.0.0.2"])],
        {"s": F.INVALID_REQUEST},
    ),
    Case(
        "requested IPv6 on a single-stack IPv4 Service",
        [DUAL],
        [svc("s", ips=["fd00::1"])],
        {"s": F.INVALID_REQUEST},
    ),
    Case(
        "SingleStack takes the first family",
        [DUAL],
        [svc("s4"), svc("s6", ip_families=("IPv6", "IPv4"))],
        {"s4": ("10.0.0.0",), "s6": ("fd00::",)},
    ),
    Case(
        "RequireDualStack takes both families from one pool",
        [V4, DUAL],
        [svc("s", ip_families=("IPv4", "IPv6"), ip_family_policy=IPFamilyPolicy.REQUIRE_DUAL_STACK)],
        {"s": ("10.0.0.0", "fd00::")},
    ),
    Case(
        "RequireDualStack without a dual pool",
        [V4, V6],
        [svc("s", ip_families=("IPv4", "IPv6"), ip_family_policy=IPFamilyPolicy.REQUIRE_DUAL_STACK)],
        {"s": F.FAMILY_UNAVAILABLE},
    ),
    Case(
        "PreferDualStack falls back to one family",
        [V4],
        [svc("s", ip_families=("IPv6", "IPv4"), ip_family_policy=IPFamilyPolicy.PREFER_DUAL_STACK)],
        {"s": ("10.1.0.0",)},
    ),
    Case(
        "a dual-stack request names one family, the other is picked from the same pool",
        [DUAL],
        [
            svc(
                "s",
                ips=["10.0.0.2"],
                ip_families=("IPv4", "IPv6"),
                ip_family_policy=IPFamilyPolicy.REQUIRE_DUAL_STACK,
            )
        ],
        {"s": ("10.0.0.2", "fd00::")},
    ),
    Case(
        "IPv6-only Service and IPv4-only pools",
        [V4],
        [svc("s", ip_families=("IPv6",))],
        {"s": F.FAMILY_UNAVAILABLE},
    ),
    Case(
        "sharing: same key, different ports share",
        [pool("a", "10.0.0.0/30")],
        [svc("h", ports=[80], sharing_key="k"), svc("t", ports=[443], sharing_key="k")],
        {"h": ("10.0.0.0",), "t": ("10.0.0.0",)},
    ),
    Case(
        "sharing: same port and protocol do not share",
        [pool("a", "10.0.0.0/30")],
        [svc("a", ports=[53], sharing_key="k"), svc("b", ports=[53], sharing_key="k")],
        {"a": ("10.0.0.0",), "b": ("10.0.0.1",)},
    ),
    Case(
        "sharing: same port, other protocol share",
        [pool("a", "10.0.0.0/30")],
        [svc("a", ports=[("TCP", 53)], sharing_key="k"), svc("b", ports=[("UDP", 53)], sharing_key="k")],
        {"a": ("10.0.0.0",), "b": ("10.0.0.0",)},
    ),
    Case(
        "sharing: different keys never share",
        [pool("a", "10.0.0.0/30")],
        [svc("a", ports=[1], sharing_key="k"), svc("b", ports=[2], sharing_key="j")],
        {"a": ("10.0.0.0",), "b": ("10.0.0.1",)},
    ),
    Case(
        "sharing: Local needs identical selectors",
        [pool("a", "10.0.0.0/29")],
        [
            svc("a", ports=[1], sharing_key="k", external_traffic_policy="Local", selector={"app": "x"}),
            svc("b", ports=[2], sharing_key="k", external_traffic_policy="Local", selector={"app": "x"}),
            svc("c", ports=[3], sharing_key="k", external_traffic_policy="Local", selector={"app": "y"}),
            svc("d", ports=[4], sharing_key="k"),
        ],
        {"a": ("10.0.0.0",), "b": ("10.0.0.0",), "c": ("10.0.0.1",), "d": ("10.0.0.2",)},
    ),
    Case(
        "sharing: a requested address held by a compatible Service is shared",
        [pool("a", "10.0.0.0/30")],
        [svc("a", ports=[1], sharing_key="k"), svc("b", ports=[2], sharing_key="k", ips=["10.0.0.0"])],
        {"a": ("10.0.0.0",), "b": ("10.0.0.0",)},
    ),
    Case(
        "sharing: a requested address held without a key is in use",
        [pool("a", "10.0.0.0/30")],
        [svc("a", ips=["10.0.0.1"]), svc("b", ports=[2], sharing_key="k", ips=["10.0.0.1"])],
        {"a": ("10.0.0.1",), "b": F.REQUESTED_IP_IN_USE},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_allocation_rule(case: Case) -> None:
    result = run(case.services, case.pools, case.namespaces, **case.kwargs)
    for name, expected in case.expected.items():
        assert outcome(result, name) == expected, name


def test_namespace_rule() -> None:
    pools = [pool("a", "10.0.0.0/30", namespaces=["prod"]), pool("b", "10.1.0.0/30")]
    result = run([svc("s", "prod"), svc("s", "dev")], pools)
    assert outcome(result, "s", "prod") == ("10.0.0.0",)
    assert outcome(result, "s", "dev") == ("10.1.0.0",)


def test_namespace_selector_rule() -> None:
    namespaces = [Namespace("nsx", {"team": "x"}), Namespace("nsy", {"team": "y"})]
    result = run(
        [svc("s", "nsx"), svc("s", "nsy")],
        [pool("a", "10.0.0.0/30", namespace_labels={"team": "x"})],
        namespaces,
    )
    assert outcome(result, "s", "nsx") == ("10.0.0.0",)
    assert outcome(result, "s", "nsy") == F.NO_POOL_MATCHES


def test_metallb_sharing_crosses_namespaces() -> None:
    result = run(
        [svc("a", "n1", ports=[1], sharing_key="k"), svc("b", "n2", ports=[2], sharing_key="k")],
        [pool("a", "10.0.0.0/30")],
    )
    assert outcome(result, "a", "n1") == outcome(result, "b", "n2") == ("10.0.0.0",)


@pytest.mark.parametrize(
    ("allow_a", "allow_b", "shared"),
    [((), (), False), (("n2",), (), False), (("n2",), ("n1",), True), (("*",), ("*",), True)],
)
def test_cilium_sharing_needs_cross_namespace_opt_in_on_both(
    allow_a: tuple[str, ...], allow_b: tuple[str, ...], shared: bool
) -> None:
    services = [
        svc("a", "n1", ports=[1], sharing_key="k", sharing_namespaces=allow_a),
        svc("b", "n2", ports=[2], sharing_key="k", sharing_namespaces=allow_b),
    ]
    result = run(services, [pool("a", "10.0.0.0/30")])
    assert (outcome(result, "a", "n1") == outcome(result, "b", "n2")) is shared


def test_cilium_pool_selectors_see_namespace_and_name() -> None:
    cilium = pool(
        "c", "10.0.0.0/30", source="cilium", service_labels={"io.kubernetes.service.namespace": "tenant-a"}
    )
    result = run([svc("s", "tenant-a"), svc("s", "tenant-b")], [cilium])
    assert outcome(result, "s", "tenant-a") == ("10.0.0.0",)
    assert outcome(result, "s", "tenant-b") == F.NO_POOL_MATCHES


def test_failure_detail_names_service_and_pool() -> None:
    result = run([svc("s1"), svc("s2")], [pool("tiny", "10.0.0.0/32")])
    failure = result.failures[svc("s2").ref]
    assert "default/s2" in failure.detail and "tiny" in failure.detail


def test_usage_counts_per_pool_and_family() -> None:
    result = run(
        [
            svc("a"),
            svc("b", ip_families=("IPv4", "IPv6"), ip_family_policy=IPFamilyPolicy.REQUIRE_DUAL_STACK),
        ],
        [DUAL],
    )
    usage = {(u.pool, u.family): (u.assigned, u.available) for u in result.usage}
    assert usage == {("dual", "IPv4"): (2, 2), ("dual", "IPv6"): (1, 3)}


def test_usage_excludes_unusable_addresses() -> None:
    result = run(
        [],
        [
            pool("a", "10.0.0.0/23", avoid_buggy_ips=True),
            pool("c", "10.1.0.0/24", allow_first_last=False, avoid_buggy_ips=True, source="cilium"),
        ],
    )
    usage = {u.pool: u.available for u in result.usage}
    assert usage == {"a": 512 - 4, "c": 254}
