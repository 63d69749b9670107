"""Render a RouterPlan for OPNsense's os-frr plugin: the GUI values screen by screen, then the API requests.

Design: the screens follow the GUI order (Routing > General, BGP > General, Prefix Lists, Route Maps,
Neighbors). Checked against the plugin's source: os-frr writes `no bgp ebgp-requires-policy` itself and
activates a neighbor in the family of its address (both with "Multi-Protocol"); a peer group's route maps
are written outside the address families (IPv4 only), so every value is set on the neighbors, which os-frr
applies per family. The API part is a shell script against `/api/quagga/...` (the plugin's MVC controllers:
`general/set`, `bgp/set`, `bgp/addPrefixlist`, `bgp/addRoutemap`, `bgp/addNeighbor`, `service/reconfigure`).
"""

from __future__ import annotations

import json

from bgplb.routers.frr import header, prefix_entry
from bgplb.routers.gui import families_text, import_map, join, route_map_entries, row, screen
from bgplb.routers.plan import (
    EXPORT_MAP,
    Family,
    PeerGroup,
    PrefixRule,
    RouterPlan,
    policy_suffix,
    prefix_list_name,
)


def render(plan: RouterPlan) -> str:
    """The OPNsense walkthrough and API script for `plan`."""
    lines = [*header(plan, "#"), "# OPNsense with the os-frr plugin (System > Firmware > Plugins: os-frr)."]
    lines += screen("Routing > General")
    lines += row([("Enable", "checked")])
    lines += screen("Routing > BGP > General")
    lines += row(_general_fields(plan))
    lines += [
        "  os-frr always writes `no bgp ebgp-requires-policy`: the route maps below are what keeps",
        "  anything but the pools out, so set them on every neighbor.",
    ]
    lines += screen("Routing > BGP > Prefix Lists")
    for policy, family, i, rule in _prefix_entries(plan):
        lines += row(
            [
                ("Name", prefix_list_name(family, policy)),
                ("IP Version", "IPv4" if family is Family.IPV4 else "IPv6"),
                ("Number", str(10 * (i + 1))),
                ("Action", "Permit"),
                ("Network", prefix_entry(rule)),
            ]
        )
    lines += screen("Routing > BGP > Route Maps")
    for entry in route_map_entries(plan, EXPORT_MAP):
        fields = [
            ("Name", entry.name),
            ("Action", "Permit" if entry.permit else "Deny"),
            ("ID", str(entry.seq)),
        ]
        if entry.prefix_list:
            fields.append(("Prefix List", entry.prefix_list))
        lines += row(fields)
    if plan.bfd_profiles():
        lines += screen("Routing > BFD")
        lines += row([("Enable", "checked")])
        lines += [
            f"  The GUI has no BFD intervals; FRR's defaults apply instead of profile {p.name}."
            for p in plan.bfd_profiles()
        ]
    lines += screen("Routing > BGP > Neighbors")
    for group in plan.groups:
        lines += _neighbors(plan, group)
    lines += [
        "Save each screen, then press Apply. Check Routing > Diagnostics > BGP: the sessions are",
        "Established and the pool routes show one path per node.",
        "",
    ]
    lines += _api_script(plan)
    return join(lines)


def _prefix_entries(plan: RouterPlan) -> list[tuple[str, Family, int, PrefixRule]]:
    """(policy, family, index, rule) of every prefix-list entry, in the order they are created."""
    return [
        (policy.name, family, i, rule)
        for policy in plan.policies
        for family in policy.families
        for i, rule in enumerate(policy.rules_of(family))
    ]


def _general_fields(plan: RouterPlan) -> list[tuple[str, str]]:
    fields = [("Enable", "checked"), ("BGP AS Number", str(plan.asn)), ("Router ID", str(plan.router_id))]
    if any(g.graceful_restart for g in plan.groups):
        fields.append(("Graceful Restart", "checked"))
    if any(not g.ibgp for g in plan.groups):
        fields.append(("Maximum Paths (ECMP)", str(plan.maximum_paths)))
    if any(g.ibgp for g in plan.groups):
        fields.append(("Maximum Paths iBGP (ECMP)", str(plan.maximum_paths_ibgp)))
    if plan.multipath_relax:
        fields.append(("Bestpath", "as-path multipath-relax"))
    return fields


def _neighbor_fields(plan: RouterPlan, group: PeerGroup) -> list[tuple[str, str]]:
    fields = [("Enabled", "checked"), ("Remote AS", str(group.remote_asn))]
    if group.password is not None:
        fields.append(("BGP MD5 Password", group.password))
    if group.update_source is not None:
        fields.append(("Update-Source Interface", f"the interface that holds {group.update_source}"))
    if group.multihop is not None and not group.ibgp:
        fields.append(("Multi-Hop", "checked"))
    if group.ttl_security is not None:
        fields.append(("TTL security", "not offered by os-frr: the sessions run without GTSM"))
    if len(group.families) > 1:
        fields.append(("Multi-Protocol", "checked (the node sends IPv4 and IPv6 routes on one session)"))
    if group.bfd is not None:
        fields.append(("BFD", "checked"))
    if group.keepalive_time is not None and group.hold_time is not None:
        fields += [("Keepalive", str(group.keepalive_time)), ("Hold Down Time", str(group.hold_time))]
    if group.connect_time is not None:
        fields.append(("Connect Timer", str(group.connect_time)))
    if plan.default_originate:
        fields.append(("Send Defaultroute", "checked"))
    return [*fields, ("Route-Map In", import_map(group.policy)), ("Route-Map Out", EXPORT_MAP)]


def _neighbors(plan: RouterPlan, group: PeerGroup) -> list[str]:
    lines = [f"  {group.description or group.name} ({families_text(group)}): add one neighbor per node with"]
    lines += [f"      {name}: {value}" for name, value in _neighbor_fields(plan, group)]
    lines += ["    and these Peer-IP / Description values:"]
    lines += [f"  [+] Peer-IP: {n.address}   Description: {n.node}" for n in group.neighbors]
    return [*lines, ""]


# --- the equivalent API requests -------------------------------------------------------------------------


def _body(key: str, values: dict[str, str]) -> str:
    """A JSON body for a shell heredoc: `$REF_*` variables expand, any other `$` or backtick is escaped."""
    text = json.dumps({key: values}, sort_keys=False)
    return text.replace("\\", "\\\\").replace("`", "\\`").replace("$", "\\$").replace("\\$REF_", "$REF_")


def _call(endpoint: str, key: str, values: dict[str, str], var: str | None = None) -> list[str]:
    target = f"{var}=$(api {endpoint} <<EOF | uuid" if var else f"api {endpoint} <<EOF"
    return [target, _body(key, values), "EOF", *([")"] if var else [])]


def _api_script(plan: RouterPlan) -> list[str]:
    general: dict[str, str] = {"enabled": "1", "asnumber": str(plan.asn), "routerid": str(plan.router_id)}
    if any(g.graceful_restart for g in plan.groups):
        general["graceful"] = "1"
    if any(not g.ibgp for g in plan.groups):
        general["maximumpaths"] = str(plan.maximum_paths)
    if any(g.ibgp for g in plan.groups):
        general["maximumpathsibgp"] = str(plan.maximum_paths_ibgp)
    lines = [
        "# --- The same through the API (os-frr endpoints under /api/quagga) ---",
        "# OPN: https://<your firewall>; KEY/SECRET: an API key (System > Access > Users);",
        "# UPDATE_IF: the OPNsense interface (e.g. lan, opt1) that faces the nodes. Needs curl.",
        "set -eu",
        ': "${OPN:?}" "${KEY:?}" "${SECRET:?}" "${UPDATE_IF:=lan}"',
        "REF_IF=$UPDATE_IF",
        'api() { curl -fsS -u "$KEY:$SECRET" -H "Content-Type: application/json" \\',
        '          --data-binary @- "$OPN/api/quagga/$1"; }',
        'uuid() { sed -n \'s/.*"uuid": *"\\([^"]*\\)".*/\\1/p\'; }',
        *_call("general/set", "general", {"enabled": "1"}),
        *_call("bgp/set", "bgp", general),
    ]
    lists: dict[str, str] = {}
    for policy, family, i, rule in _prefix_entries(plan):
        name = prefix_list_name(family, policy)
        var = f"REF_PL{policy_suffix(policy, '_')}_{family.value.upper()}_{i + 1}".replace("-", "_")
        lists.setdefault(name, var)
        values = {
            "enabled": "1",
            "name": name,
            "version": "IPv4" if family is Family.IPV4 else "IPv6",
            "seqnumber": str(10 * (i + 1)),
            "action": "permit",
            "network": prefix_entry(rule),
        }
        lines += _call("bgp/addPrefixlist", "prefixlist", values, var)
    maps: dict[str, str] = {}
    for entry in route_map_entries(plan, EXPORT_MAP):
        var = f"REF_RM_{entry.name.replace('-', '_')}_{entry.seq}"
        maps.setdefault(entry.name, var)
        values = {
            "enabled": "1",
            "name": entry.name,
            "action": "permit" if entry.permit else "deny",
            "id": str(entry.seq),
        }
        if entry.prefix_list:
            values["match2"] = f"${lists[entry.prefix_list]}"
        lines += _call("bgp/addRoutemap", "routemap", values, var)
    for group in plan.groups:
        for neighbor in group.neighbors:
            lines += _call(
                "bgp/addNeighbor",
                "neighbor",
                _neighbor_values(plan, group, neighbor.address, neighbor.node, maps),
            )
    lines += _call("service/reconfigure", "service", {})
    return lines


def _neighbor_values(
    plan: RouterPlan, group: PeerGroup, address: object, node: str, maps: dict[str, str]
) -> dict[str, str]:
    values = {"enabled": "1", "description": node, "address": str(address), "remoteas": str(group.remote_asn)}
    if group.password is not None:
        values["password"] = group.password
    if group.update_source is not None and Family.of(group.update_source) is Family.IPV4:
        values["updatesource"] = "$REF_IF"
    flags = {
        "multihop": group.multihop is not None and not group.ibgp,
        "multiprotocol": len(group.families) > 1,
        "bfd": group.bfd is not None,
        "defaultoriginate": plan.default_originate,
    }
    values.update({key: "1" for key, on in flags.items() if on})
    if group.keepalive_time is not None and group.hold_time is not None:
        values.update({"keepalive": str(group.keepalive_time), "holddown": str(group.hold_time)})
    if group.connect_time is not None:
        values["connecttimer"] = str(group.connect_time)
    values["linkedRoutemapIn"] = f"${maps[import_map(group.policy)]}"
    values["linkedRoutemapOut"] = f"${maps[EXPORT_MAP]}"
    return values
