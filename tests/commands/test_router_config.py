"""`bgplb router-config`: formats, nodes from a file or from the configuration, `--check`, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bgplb.cli import app
from bgplb.routers.render import RouterFormat

SCENARIOS = Path(__file__).parent.parent / "routers" / "scenarios"
CONFIG = SCENARIOS / "ebgp_peer_group" / "config.yaml"
NODES = SCENARIOS / "ebgp_peer_group" / "nodes.yaml"
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["router-config", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("router_format", list(RouterFormat), ids=str)
def test_every_format_is_printed(router_format: RouterFormat) -> None:
    code, out, _ = invoke("--format", router_format.value, "--nodes", str(NODES), str(CONFIG))
    assert code == 0
    assert "AS 64500" in out and "10.4.1.10" in out


def test_nodes_can_come_from_the_configuration_files(tmp_path: Path) -> None:
    combined = tmp_path / "all.yaml"
    combined.write_text(CONFIG.read_text() + "\n---\n" + NODES.read_text())
    code, out, _ = invoke(str(combined))
    assert code == 0 and out.count("peer-group BGPLB-OPNSENSE\n") == 12


def test_check_passes_on_the_rendered_config_and_fails_on_a_broken_one(tmp_path: Path) -> None:
    _, rendered, _ = invoke("--nodes", str(NODES), str(CONFIG))
    good = tmp_path / "good.conf"
    good.write_text(rendered)
    code, out, _ = invoke("--nodes", str(NODES), "--check", str(good), str(CONFIG))
    assert code == 0 and "nothing missing" in out
    bad = tmp_path / "bad.conf"
    bad.write_text(rendered.replace("maximum-paths 12", "maximum-paths 1"))
    code, out, _ = invoke("--nodes", str(NODES), "--check", str(bad), str(CONFIG))
    assert code == 1 and "no-multipath" in out and "1 problem(s)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((str(CONFIG),), "--nodes"),
        (("--nodes", str(NODES), "--router-id", "nope", str(CONFIG)), "not an IPv4 address"),
        (("--nodes", "/nonexistent.yaml", str(CONFIG)), "cannot read the nodes file"),
        (("--nodes", str(NODES), "/nonexistent/config.yaml"), "no such file"),
        (("--nodes", str(NODES), "--router-asn", "65535", str(CONFIG)), "no BGPPeer has peerASN 65535"),
        (("--nodes", str(NODES), "--router-address", "10.4.0.2", str(CONFIG)), "no BGPPeer has peerAddress"),
        (("--nodes", str(NODES), "--router-address", "x", str(CONFIG)), "not an IP address"),
    ],
)
def test_unusable_input_exits_2_with_a_message(args: tuple[str, ...], message: str) -> None:
    code, _, err = invoke(*args)
    assert code == 2 and message in err


def test_options_reach_the_output() -> None:
    code, out, _ = invoke("--nodes", str(NODES), "--ttl-security", "--default-route", str(CONFIG))
    assert code == 0
    assert " neighbor BGPLB-OPNSENSE ttl-security hops 1\n" in out
    assert "  neighbor BGPLB-OPNSENSE default-originate\n" in out


def test_peer_selects_the_router_and_its_pools() -> None:
    """Two routers in one configuration: `--peer` renders one of them, accepting only the pools its
    BGPAdvertisements send it (the scenario two_routers_b, rendered here through the command line)."""
    two = SCENARIOS / "two_routers_b"
    args = ("--nodes", str(two / "nodes.yaml"), str(two / "config.yaml"))
    code, for_b, _ = invoke("--peer", "tor-b", *args)
    assert code == 0
    assert (
        for_b
        == (Path(__file__).parent.parent / "routers" / "golden" / "two_routers_b" / "frr.conf").read_text()
    )
    assert "203.0.113.0/27" in for_b and "198.51.100.0/26" not in for_b  # db goes to tor-b, web does not
    code, for_a, _ = invoke("--peer", "tor-a", *args)
    assert code == 0 and "198.51.100.0/26" in for_a and "203.0.113.0/27" not in for_a
    code, _, err = invoke("--peer", "nobody", *args)
    assert code == 2 and "nobody" in err
