"""Cilium reader: pools, seed 003 end to end, the docs examples, dispatch."""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest
import yaml

from bgplb.config import cilium
from bgplb.config.build import build_config
from bgplb.config.models import IPRange, LabelRequirement, LabelSelector
from bgplb.planning.allocation import allocate
from bgplb.planning.service_manifest import read_service
from bgplb.planning.snapshot import Snapshot

ROOT = Path(__file__).resolve().parents[2]
SEED = Path(__file__).parent / "data" / "seed003_cilium.yaml"


def load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def ippool(version: str = "v2alpha1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"cilium.io/{version}",
        "kind": "CiliumLoadBalancerIPPool",
        "metadata": {"name": "p", "labels": {"color": "blue"}},
        "spec": spec,
    }


def test_seed_003_builds_into_the_expected_model() -> None:
    result = build_config(load(SEED))
    assert result.errors == ()
    assert result.config is not None
    (pool,) = result.config.pools
    assert pool.name == "service-pool" and pool.source == "cilium"
    assert pool.ranges == (IPRange.from_network(ip_network("192.168.142.0/24")),)
    assert pool.allow_first_last is False and pool.auto_assign and not pool.disabled
    (peer,) = result.config.peers
    assert peer.name == "bgp-peering-policy-worker-64513-192.168.130.1"
    assert (peer.my_asn, peer.peer_asn, peer.peer_address) == (64513, 64512, ip_address("192.168.130.1"))
    assert (peer.hold_time, peer.keepalive_time, peer.connect_time) == (90, 30, 120)
    assert peer.ebgp_multihop == 10
    assert peer.enable_graceful_restart and peer.graceful_restart_time == 120
    assert peer.node_selectors == (LabelSelector(match_labels={"io.cilium/bgp": "worker"}),)
    (adv,) = result.config.bgp_advertisements
    assert adv.pools == ("service-pool",) and adv.peers == (peer.name,)
    assert adv.node_selectors == peer.node_selectors
    not_in = LabelRequirement(key="io.cilium/bgp-announce", operator="NotIn", values=("fakevalue",))
    assert adv.service_selectors == (LabelSelector(match_expressions=(not_in,)),)
    assert adv.service_selectors[0].matches({}) and adv.service_selectors[0].matches({"x": "y"})
    assert {w.field_path for w in result.warnings} == {"spec.cidrs", "spec.allowFirstLastIPs"}


def test_seed_003_first_service_gets_dot_one_as_the_post_says() -> None:
    result = build_config(load(SEED))
    assert result.config is not None
    service = read_service(
        {
            "metadata": {"name": "test-lb", "labels": {"io.cilium/bgp-announce": "worker"}},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]},
        }
    ).service
    allocation = allocate(Snapshot(services=(service,)), result.config)
    assert [str(ip) for ip in allocation.assignments[service.ref].ips] == ["192.168.142.1"]


@pytest.mark.parametrize("example", sorted((ROOT / "docs" / "examples").glob("cilium-*.yaml")), ids=str)
def test_docs_examples_build_cleanly(example: Path) -> None:
    result = build_config(load(example))
    assert result.errors == () and result.warnings == ()
    assert result.config is not None and result.config.pools and result.config.peers
    assert result.config.bgp_advertisements


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"blocks": [{"cidr": "10.0.0.0/30"}]}, [("10.0.0.0", "10.0.0.3")]),
        ({"blocks": [{"start": "10.0.0.5", "stop": "10.0.0.9"}]}, [("10.0.0.5", "10.0.0.9")]),
        ({"blocks": [{"start": "10.0.0.5"}]}, [("10.0.0.5", "10.0.0.5")]),
        ({"cidrs": [{"cidr": "fd00::/126"}]}, [("fd00::", "fd00::3")]),
        (
            {"blocks": [{"cidr": "10.0.0.0/31"}, {"start": "fd00::1", "stop": "fd00::2"}]},
            [("10.0.0.0", "10.0.0.1"), ("fd00::1", "fd00::2")],
        ),
    ],
)
def test_pool_blocks(spec: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    out = cilium.read(ippool(allowFirstLastIPs="Yes", **spec))
    assert out.errors == []
    assert [(str(r.first), str(r.last)) for r in out.pools[0].ranges] == expected


def test_pool_fields() -> None:
    out = cilium.read(
        ippool(
            "v2",
            blocks=[{"cidr": "10.0.0.0/24"}],
            disabled=True,
            allowFirstLastIPs="No",
            serviceSelector={"matchLabels": {"color": "red"}},
        )
    )
    (pool,) = out.pools
    assert pool.disabled and not pool.allow_first_last and pool.labels == {"color": "blue"}
    assert pool.service_allocation is not None
    assert pool.service_allocation.service_selectors == (LabelSelector(match_labels={"color": "red"}),)
    assert pool.service_allocation.priority is None and out.warnings == []


@pytest.mark.parametrize(("version", "allow", "warned"), [("v2alpha1", False, True), ("v2", True, False)])
def test_unset_allow_first_last_follows_the_api_version(version: str, allow: bool, warned: bool) -> None:
    out = cilium.read(ippool(version, blocks=[{"cidr": "10.0.0.0/24"}]))
    assert out.pools[0].allow_first_last is allow
    assert any(w.field_path == "spec.allowFirstLastIPs" for w in out.warnings) is warned


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"blocks": [{"cidr": "10.0.0.0/33"}]}, "spec.blocks[0].cidr"),
        ({"blocks": [{"cidr": "10.0.0.1"}]}, "spec.blocks[0].cidr"),
        ({"blocks": [{"start": "10.0.0.9", "stop": "10.0.0.1"}]}, "spec.blocks[0].stop"),
        ({"blocks": [{"start": "10.0.0.1", "stop": "fd00::1"}]}, "spec.blocks[0].stop"),
        ({"blocks": [{"cidr": "10.0.0.0/24", "start": "10.0.0.1"}]}, "spec.blocks[0].cidr"),
        ({"blocks": [{"stop": "10.0.0.1"}]}, "spec.blocks[0].start"),
        ({"blocks": []}, "spec.blocks"),
        ({"blocks": [{"cidr": "10.0.0.0/24"}], "allowFirstLastIPs": "maybe"}, "spec.allowFirstLastIPs"),
        ({"blocks": [{"cidr": "10.0.0.0/24"}], "disabled": "yes"}, "spec.disabled"),
    ],
)
def test_pool_errors_name_the_field(spec: dict[str, Any], path: str) -> None:
    out = cilium.read(ippool(**spec))
    assert [(e.kind, e.name, e.field_path) for e in out.errors] == [("CiliumLoadBalancerIPPool", "p", path)]


def test_unknown_fields_kinds_and_versions_are_warnings() -> None:
    out = cilium.read(ippool("v3", blocks=[{"cidr": "10.0.0.0/24"}], allowFirstLastIPs="Yes", colour="x"))
    assert {w.field_path for w in out.warnings} == {"apiVersion", "spec.colour"}
    other = cilium.read(
        {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "x"}}
    )
    assert [w.field_path for w in other.warnings] == ["kind"] and other.errors == []


def test_pools_overlapping_metallb_pools_are_rejected_by_build() -> None:
    metallb = {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": "m", "namespace": "metallb-system"},
        "spec": {"addresses": ["10.0.0.0/25"]},
    }
    result = build_config([ippool(blocks=[{"cidr": "10.0.0.0/24"}], allowFirstLastIPs="Yes"), metallb])
    assert result.config is None and result.errors
