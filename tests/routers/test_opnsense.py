"""The OPNsense API part is a working shell script: run it against a stub curl and inspect the requests."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

from bgplb.routers import opnsense
from bgplb.routers.plan import RouterPlan
from tests.routers.scenarios import plan_for

STUB_CURL = """#!/bin/sh
url=""
for arg in "$@"; do url="$arg"; done
n=$(( $(wc -l < "$LOG") + 1 ))
printf '%s %s\\n' "${url#$OPN/api/quagga/}" "$(tr -d '\\n')" >> "$LOG"
printf '{"result": "saved", "uuid": "uuid-%s"}' "$n"
"""


def run_script(plan: RouterPlan, tmp_path: Path) -> list[tuple[str, dict[str, dict[str, str]]]]:
    text = opnsense.render(plan)
    script = text[text.index("# --- The same through the API") :]
    (tmp_path / "bin").mkdir()
    curl = tmp_path / "bin" / "curl"
    curl.write_text(STUB_CURL)
    curl.chmod(0o755)
    log = tmp_path / "requests.log"
    log.write_text("")
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "LOG": str(log)}
    env |= {"OPN": "https://fw.example", "KEY": "k", "SECRET": "s", "UPDATE_IF": "opt2"}
    done = subprocess.run(
        ["sh", "-c", script], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    requests = []
    for line in log.read_text().splitlines():
        endpoint, body = line.split(" ", 1)
        requests.append((endpoint, json.loads(body)))
    return requests


def test_api_script_sends_every_object_with_the_uuids_it_got_back(tmp_path: Path) -> None:
    plan = plan_for("md5_bfd_gr")
    requests = run_script(plan, tmp_path)
    endpoints = [endpoint for endpoint, _ in requests]
    assert endpoints == [
        "general/set",
        "bgp/set",
        "bgp/addPrefixlist",
        "bgp/addRoutemap",
        "bgp/addRoutemap",
        *["bgp/addNeighbor"] * 3,
        "service/reconfigure",
    ]
    assert requests[1][1]["bgp"] == {
        "enabled": "1",
        "asnumber": "65100",
        "routerid": "192.168.3.1",
        "graceful": "1",
        "maximumpaths": "3",
    }
    assert requests[3][1]["routemap"]["match2"] == "uuid-3"  # the prefix list created by request 3
    neighbor = requests[5][1]["neighbor"]
    assert neighbor["address"] == "192.168.3.15" and neighbor["updatesource"] == "opt2"
    assert (neighbor["linkedRoutemapIn"], neighbor["linkedRoutemapOut"]) == ("uuid-4", "uuid-5")


def test_api_script_passes_shell_metacharacters_verbatim(tmp_path: Path) -> None:
    plan = plan_for("md5_bfd_gr")
    tricky = 'pa$$w`rd"\\x'
    plan = replace(plan, groups=tuple(replace(g, password=tricky) for g in plan.groups))
    neighbors = [
        body["neighbor"] for endpoint, body in run_script(plan, tmp_path) if endpoint == "bgp/addNeighbor"
    ]
    assert {n["password"] for n in neighbors} == {tricky}
