"""The allocation state file: round trip, atomic replacement, clear errors for damaged files."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest

from bgplb.adapters.state_file import Held, StateFile, StateFileError, decode, encode
from bgplb.planning.snapshot import ServiceRef

STATE = {
    ServiceRef("shop", "web"): Held((ip_address("198.51.100.1"), ip_address("2001:db8::1")), "public"),
    ServiceRef("default", "api"): Held((ip_address("198.51.100.2"),), "public"),
}


def test_round_trip_and_stable_text(tmp_path: Path) -> None:
    state_file = StateFile(tmp_path / "sub" / "state.json")
    assert state_file.load() == {}
    state_file.save(STATE)
    assert state_file.load() == STATE
    assert state_file.path.read_text() == encode(dict(reversed(list(STATE.items()))))
    assert list(state_file.path.parent.iterdir()) == [state_file.path]


def test_save_replaces_the_file_atomically(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("old")
    inode = path.stat().st_ino
    StateFile(path).save({})
    assert path.stat().st_ino != inode
    assert StateFile(path).load() == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ('{"version": 2, "services": {}}', "expected"),
        ('{"version": 1, "services": {"noslash": {"ips": [], "pool": "p"}}}', "services['noslash']"),
        ('{"version": 1, "services": {"a/b": {"ips": ["x"], "pool": "p"}}}', "services['a/b']"),
        ('{"version": 1, "services": {"a/b": {"ips": []}}}', "services['a/b']"),
    ],
)
def test_damaged_files_are_errors_naming_the_file(text: str, message: str) -> None:
    with pytest.raises(StateFileError) as info:
        decode(text, "/var/lib/bgplb/state.json")
    assert str(info.value).startswith("/var/lib/bgplb/state.json: ")
    assert message in str(info.value)


def test_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "state.json").mkdir()
    with pytest.raises(StateFileError, match="cannot read"):
        StateFile(tmp_path / "state.json").load()
