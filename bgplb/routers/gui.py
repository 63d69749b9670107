"""Shared pieces of the GUI walkthroughs (OPNsense, pfSense): screens, rows of fields, the combined route map.

Design: a GUI neighbor has one "route map in" field used for every address family it carries, so the GUI
formats use a single inbound route map per ImportPolicy, `BGPLB-IN` (`BGPLB-IN-<POLICY>` when
advertisements restrict pools to some BGPPeers), with one entry per family (a route matches only the
prefix list of its own family); the FRR and VyOS formats use one route map per family instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from bgplb.routers.plan import Family, PeerGroup, RouterPlan, policy_suffix, prefix_list_name


def import_map(policy: str = "") -> str:
    """The inbound route map of the GUI formats: entry 10 (and 20) permit the policy's prefix lists."""
    return "BGPLB-IN" + policy_suffix(policy)


@dataclass(frozen=True, slots=True)
class RouteMapEntry:
    """One entry of a GUI route map: name, action, sequence and the prefix list it matches (if any)."""

    name: str
    permit: bool
    seq: int
    prefix_list: str | None = None
    family: Family | None = None


def route_map_entries(plan: RouterPlan, export_map: str) -> list[RouteMapEntry]:
    """The route-map rows to create: the inbound entries per family, then the deny-all outbound map."""
    entries = [
        RouteMapEntry(import_map(p.name), True, 10 * (i + 1), prefix_list_name(family, p.name), family)
        for p in plan.policies
        for i, family in enumerate(p.families)
    ]
    return [*entries, RouteMapEntry(export_map, False, 10)]


def join(lines: list[str]) -> str:
    """The text of a walkthrough: lines joined, runs of blank lines collapsed to one, a final newline."""
    kept = [line for i, line in enumerate(lines) if line or (i > 0 and lines[i - 1])]
    return "\n".join(kept).strip("\n") + "\n"


def screen(title: str) -> list[str]:
    """The heading of one GUI screen."""
    return ["", f"=== {title} ===", ""]


def row(fields: list[tuple[str, str]], indent: str = "  ") -> list[str]:
    """One record to add: `Field: value` lines, the first prefixed with `[+]`."""
    lines = []
    for i, (name, value) in enumerate(fields):
        lines.append(f"{indent}{'[+] ' if i == 0 else '    '}{name}: {value}")
    return [*lines, ""]


def timers(group: PeerGroup) -> list[tuple[str, str]]:
    """The timer fields of a group, when set (names follow FRR: keepalive, hold, connect)."""
    found: list[tuple[str, str]] = []
    if group.keepalive_time is not None and group.hold_time is not None:
        found += [("keepalive", str(group.keepalive_time)), ("hold", str(group.hold_time))]
    if group.connect_time is not None:
        found.append(("connect", str(group.connect_time)))
    return found


def families_text(group: PeerGroup) -> str:
    """`IPv4`, `IPv6` or `IPv4 + IPv6`."""
    return " + ".join("IPv4" if f is Family.IPV4 else "IPv6" for f in group.families)
