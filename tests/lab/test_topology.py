"""The lab as data: the example directory loads cleanly, the router plan peers with every node."""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest
import yaml

from bgplb.adapters.file_source import LoadResult, load_directory
from bgplb.errors import ConfigError
from bgplb.lab.topology import LabSpec, example_files, router_plan
from bgplb.planning.snapshot import ServiceRef
from bgplb.routers import frr


def load(tmp_path: Path, spec: LabSpec) -> LoadResult:
    for name, documents in example_files(spec).items():
        (tmp_path / name).write_text(yaml.safe_dump_all(documents))
    return load_directory(tmp_path)


@pytest.mark.parametrize("ipv6", [False, True])
def test_example_directory_loads_with_pinned_ips_and_one_local_service(tmp_path: Path, ipv6: bool) -> None:
    spec = LabSpec(nodes=3, ipv6=ipv6, hold_time=3)
    result = load(tmp_path, spec)
    assert result.errors == () and result.state is not None
    snapshot = result.state.snapshot
    assert [n.name for n in snapshot.nodes] == ["node1", "node2", "node3"]
    assert snapshot.nodes[1].addresses[0] == ip_address("10.77.0.12")
    services = {s.ref.name: s for s in snapshot.services}
    expected_web = ("198.51.100.10", "2001:db8:100::a") if ipv6 else ("198.51.100.10",)
    assert tuple(map(str, services["web"].requested_ips)) == expected_web
    assert services["local"].external_traffic_policy == "Local"
    [local_slice] = snapshot.endpoint_slices
    assert local_slice.service == ServiceRef("default", "local")
    assert [e.node for e in local_slice.endpoints] == ["node1"]
    [check] = result.state.checks
    assert check.service == ServiceRef("default", "web")
    [peer, *more] = result.state.config.peers
    assert peer.hold_time == 3 and len(more) == (1 if ipv6 else 0)


def test_router_plan_peers_with_every_node_with_ecmp_over_all_of_them() -> None:
    plan = router_plan(LabSpec(nodes=4))
    assert plan.asn == 64500 and str(plan.router_id) == "10.77.0.1"
    [group] = plan.groups
    assert group.remote_asn == 64501
    assert [str(n.address) for n in group.neighbors] == [f"10.77.0.{11 + i}" for i in range(4)]
    assert plan.maximum_paths == 4
    text = frr.render(plan)
    assert "permit 198.51.100.0/24 le 32" in text


def test_dual_stack_plan_has_a_session_per_family() -> None:
    plan = router_plan(LabSpec(nodes=2, ipv6=True))
    addresses = sorted(str(n.address) for g in plan.groups for n in g.neighbors)
    assert addresses == ["10.77.0.11", "10.77.0.12", "fd00:77::11", "fd00:77::12"]
    assert any(r.network == ip_network("2001:db8:100::/120") for r in plan.prefix_rules)


@pytest.mark.parametrize(("nodes", "hold", "field"), [(0, 9, "nodes"), (9, 9, "nodes"), (3, 2, "hold_time")])
def test_bad_lab_specs_name_the_field(nodes: int, hold: int, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        LabSpec(nodes=nodes, hold_time=hold)
    assert caught.value.field_path == field
