"""The `bgplb speak` YAML model: shapes, ranges, cross-references, errors naming the field."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv4Network, IPv6Address
from pathlib import Path

import pytest

from bgplb.adapters import speak_config
from bgplb.adapters.speak_config import load_speak_config, validate_speak_config
from bgplb.adapters.tcp_options import TcpOptions
from bgplb.errors import ConfigError

FULL = """
local_asn: 64501
router_id: 10.0.0.2
hostname: node-a
listen: "[::]:1179"
graceful_restart: {restart_time: 120}
peers:
  - address: 10.0.0.1
    asn: 64500
    port: 179
    source_address: 10.0.0.2
    password: s3cret
    hold_time: 90
    keepalive_time: 30
    ebgp_multihop: 2
    passive: false
    families: [ipv4, ipv6]
    max_prefixes: 1000
  - address: fd00::1
    asn: internal
    ttl_security: 1
prefixes:
  - prefix: 192.0.2.10/32
    next_hop: 10.0.0.2
    communities: ["64500:100", "no-export"]
    large_communities: ["64500:1:2"]
    local_pref: 200
    med: 10
    peers: [10.0.0.1]
  - prefix: 100.64.0.0/15
    split: 32
    count: 100000
"""


def _base(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "local_asn": 64501,
        "router_id": "10.0.0.2",
        "peers": [{"address": "10.0.0.1", "asn": 64500}],
    }
    data.update(changes)
    return data


def test_the_documented_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "speak.yaml"
    path.write_text(FULL)
    config = load_speak_config(path)
    assert config.local_asn == 64501
    assert config.listen_address() == (IPv6Address("::"), 1179)
    first, second = config.peers
    assert first.address == IPv4Address("10.0.0.1") and first.password == "s3cret"
    assert first.ebgp_multihop == 2
    assert second.asn == "internal" and second.ttl_security == 1 and second.hold_time == 90
    block = config.prefixes[1]
    hosts = list(block.expand())
    assert len(hosts) == 100000
    assert hosts[0] == IPv4Network("100.64.0.0/32") and hosts[-1] == IPv4Network("100.65.134.159/32")


def test_defaults_and_a_passive_peer_listen_on_port_179() -> None:
    config = validate_speak_config(_base(peers=[{"address": "fd00::1", "asn": 65000, "passive": True}]), "t")
    assert config.peers[0].families == ("ipv4", "ipv6")
    assert config.listen_address() == (IPv6Address("::"), 179)
    assert validate_speak_config(_base(), "t").listen_address() is None


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"local_asn": 0}, "local_asn", "greater than or equal to 1"),
        ({"router_id": "node-a"}, "router_id", "IPv4"),
        ({"peers": []}, "peers", "at least 1"),
        ({"peers": [{"address": "10.0.0.1", "asn": "abc"}]}, "peers[0].asn", "internal"),
        ({"peers": [{"address": "10.0.0.1", "asn": 1, "hold_time": 2}]}, "peers[0].hold_time", "at least 3"),
        ({"peers": [{"address": "10.0.0.1", "asn": 1, "colour": "red"}]}, "peers[0].colour", "not permitted"),
        (
            {"peers": [{"address": "10.0.0.1", "asn": 1, "ebgp_multihop": 2, "ttl_security": 1}]},
            "peers[0]",
            "exclude each other",
        ),
        (
            {"peers": [{"address": "10.0.0.1", "asn": 1, "source_address": "fd00::2"}]},
            "peers[0]",
            "IP version",
        ),
        ({"prefixes": [{"prefix": "192.0.2.1/24"}]}, "prefixes[0].prefix", "host bits"),
        (
            {"prefixes": [{"prefix": "192.0.2.1/32", "communities": ["1:70000"]}]},
            "prefixes[0].communities",
            "0..65535",
        ),
        (
            {"prefixes": [{"prefix": "192.0.2.1/32", "large_communities": ["1:2"]}]},
            "prefixes[0].large_communities",
            "global:local1:local2",
        ),
        ({"prefixes": [{"prefix": "10.0.0.0/30", "split": 32, "count": 5}]}, "prefixes[0]", "exceeds the 4"),
        ({"prefixes": [{"prefix": "10.0.0.0/30", "split": 29}]}, "prefixes[0]", "between /30 and /32"),
        ({"prefixes": [{"prefix": "10.0.0.0/32", "peers": ["10.9.9.9"]}]}, "", "is not a configured"),
        ({"listen": "[::]:http"}, "listen", "port"),
    ],
)
def test_errors_name_the_field(changes: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_speak_config(_base(**changes), "speak.yaml")
    assert caught.value.field_path == field
    assert words in caught.value.reason
    assert str(caught.value).startswith("speak config speak.yaml")


def test_unreadable_and_non_mapping_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_speak_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_speak_config(bad)
    bad.write_text("peers: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_speak_config(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[::]:179", (IPv6Address("::"), 179)),
        ("0.0.0.0:1179", (IPv4Address("0.0.0.0"), 1179)),
        ("fd00::1", (IPv6Address("fd00::1"), 179)),
        ("10.0.0.1", (IPv4Address("10.0.0.1"), 179)),
    ],
)
def test_parse_listen(text: str, expected: tuple[object, int]) -> None:
    assert speak_config.parse_listen(text) == expected


def test_ipv6_block_expands_to_host_routes() -> None:
    model = speak_config.PrefixModel.model_validate({"prefix": "fd00:1::/120", "split": 128, "count": 3})
    assert [str(p) for p in model.expand()] == ["fd00:1::/128", "fd00:1::1/128", "fd00:1::2/128"]


def test_speaker_setup_builds_peer_specs_and_routes_per_peer(tmp_path: Path) -> None:
    path = tmp_path / "speak.yaml"
    path.write_text(FULL)
    setup = speak_config.speaker_setup(load_speak_config(path), restarting=True)
    first, second = setup.peers
    assert first.config.peer_asn == 64500 and first.config.local_asn == 64501
    assert first.config.graceful_restart is not None and first.config.graceful_restart.restart_time == 120
    assert first.config.hostname == "node-a" and first.restarting
    assert first.tcp == TcpOptions(password="s3cret", ttl=2) and first.source_address == IPv4Address(
        "10.0.0.2"
    )
    assert second.config.peer_asn == 64501  # "internal"
    assert second.tcp == TcpOptions(ttl=255, min_ttl=255)
    assert setup.listen == ((IPv6Address("::"), 1179),)
    first_routes, second_routes = (
        list(setup.routes_for(first.address)),
        list(setup.routes_for(second.address)),
    )
    assert len(first_routes) == 100_001 and len(second_routes) == 100_000
    assert sum(block.size for block in setup.blocks[first.address]) == 100_001
    assert first_routes[-1].prefix == second_routes[-1].prefix and first_routes[-1] is not second_routes[-1]
    tagged = first_routes[0]
    assert tagged.prefix == IPv4Network("192.0.2.10/32") and tagged.next_hop == IPv4Address("10.0.0.2")
    assert tagged.communities == ((64500 << 16) | 100, 0xFFFFFF01)
    assert tagged.large_communities == ((64500, 1, 2),) and tagged.local_pref == 200 and tagged.med == 10


def test_external_asn_accepts_any_peer_and_ebgp_sends_ttl_1() -> None:
    config = validate_speak_config(_base(peers=[{"address": "10.0.0.1", "asn": "external"}]), "t")
    [spec] = speak_config.speaker_setup(config).peers
    assert spec.config.peer_asn is None and spec.tcp.ttl == 1 and not spec.restarting


def test_a_split_block_yields_routes_with_its_attributes_as_consumed() -> None:
    block = {"prefix": "100.64.0.0/30", "split": 32, "next_hop": "10.0.0.9", "communities": ["64500:7"]}
    config = validate_speak_config(_base(prefixes=[block]), "t")
    setup = speak_config.speaker_setup(config)
    [peer] = setup.blocks
    stream = setup.routes_for(peer)
    first = next(stream)
    assert first.prefix == IPv4Network("100.64.0.0/32") and first.next_hop == IPv4Address("10.0.0.9")
    rest = list(stream)
    assert [r.prefix for r in rest] == [IPv4Network(f"100.64.0.{i}/32") for i in (1, 2, 3)]
    assert {r.attribute_key for r in rest} == {first.attribute_key} and first.communities == (
        64500 << 16 | 7,
    )
    assert [block.size for block in setup.blocks[peer]] == [4]


def test_a_block_whose_next_hop_is_of_the_other_family_is_refused_before_expansion() -> None:
    block = {"prefix": "fd00::/120", "split": 128, "next_hop": "10.0.0.9"}
    with pytest.raises(ConfigError, match=r"prefixes\[0\].*next hop"):
        speak_config.speaker_setup(validate_speak_config(_base(prefixes=[block]), "t"))


def test_without_a_hostname_the_fqdn_capability_carries_this_hosts_name() -> None:
    peers = [{"address": "10.0.0.1", "asn": 64500}]
    config = validate_speak_config({"local_asn": 64501, "router_id": "10.0.0.2", "peers": peers}, "test")
    (spec,) = speak_config.speaker_setup(config).peers
    assert spec.config.hostname == socket.gethostname()
