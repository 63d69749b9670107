"""Render a RouterPlan for pfSense's FRR package: the values to enter, screen by screen.

Design: screens in the order the package needs them (Global Settings, its Prefix Lists and Route Maps
tabs, BFD, BGP, BGP Advanced, Neighbors: the peer group entry first, then one entry per node). Field names
follow the package's own forms (frr_global_prefixes/routemaps, frr_bgp, frr_bgp_advanced,
frr_bgp_neighbors). The classic pitfall is called out: "Disable eBGP Require Policy" stays unchecked,
because the inbound and outbound route maps are the policy RFC 8212 asks for.
"""

from __future__ import annotations

from bgplb.routers.frr import header
from bgplb.routers.gui import families_text, import_map, join, route_map_entries, row, screen
from bgplb.routers.plan import EXPORT_MAP, Family, PeerGroup, RouterPlan, prefix_list_name


def render(plan: RouterPlan) -> str:
    """The pfSense walkthrough for `plan`."""
    lines = [*header(plan, "#"), "# pfSense with the FRR package (System > Package Manager: frr)."]
    lines += screen("Services > FRR > Global Settings")
    lines += row(
        [("Enable FRR", "checked"), ("Default Router ID", str(plan.router_id)), ("Master Password", "any")]
    )
    lines += screen("Services > FRR > Global Settings > Prefix Lists")
    for policy in plan.policies:
        for family in policy.families:
            entries = [
                _prefix_entry(i, rule.network, rule.ge, rule.le)
                for i, rule in enumerate(policy.rules_of(family))
            ]
            lines += row(
                [
                    ("IP Type", "IPv4" if family is Family.IPV4 else "IPv6"),
                    ("Name", prefix_list_name(family, policy.name)),
                    ("Prefix List Entries", "; ".join(entries) or "Sequence 10, Action Deny, Any"),
                ]
            )
    lines += screen("Services > FRR > Global Settings > Route Maps")
    for entry in route_map_entries(plan, EXPORT_MAP):
        fields = [
            ("Name", entry.name),
            ("Action", "Permit" if entry.permit else "Deny"),
            ("Sequence", str(entry.seq)),
        ]
        if entry.prefix_list:
            fields.append(("Prefix Lists > Match Prefix List", entry.prefix_list))
        lines += row(fields)
    for profile in plan.bfd_profiles():
        lines += screen("Services > FRR > BFD")
        lines += row([("Enable", "checked")])
        fields = [("Name", profile.name)]
        for label, value in (
            ("Detection Multiplier", profile.detect_multiplier),
            ("Receive Interval", profile.receive_interval),
            ("Transmit Interval", profile.transmit_interval),
            ("Echo Interval", profile.echo_interval),
            ("Minimum TTL", profile.minimum_ttl),
        ):
            if value is not None:
                fields.append((label, str(value)))
        if profile.echo_mode:
            fields.append(("Echo Mode", "checked"))
        if profile.passive_mode:
            fields.append(("Passive Mode", "checked"))
        lines += ["  Profiles tab:", *row(fields)]
    lines += screen("Services > FRR > BGP > BGP")
    lines += row(
        [
            ("Enable", "checked"),
            ("Local AS", str(plan.asn)),
            ("Router ID", str(plan.router_id)),
        ]
    )
    lines += screen("Services > FRR > BGP > Advanced")
    advanced = [("Disable eBGP Require Policy", "UNCHECKED - the route maps below are the policy (RFC 8212)")]
    if plan.multipath_relax:
        advanced.append(("Best Path Selection > Multipath Relax", "checked"))
    lines += row(advanced)
    paths = max(plan.maximum_paths, plan.maximum_paths_ibgp)
    lines += [
        f"  ECMP over {paths} paths: the package has no maximum-paths field, so FRR's build limit applies;",
        "  check that Status > FRR > BGP shows the pool routes with one path per node.",
    ]
    lines += screen("Services > FRR > BGP > Neighbors")
    for group in plan.groups:
        lines += _group(plan, group)
    lines += [
        "Save each screen. Check Status > FRR > BGP: every neighbor Established, the pool routes with one",
        "path per node.",
        "",
    ]
    return join(lines)


def _prefix_entry(index: int, network: object, ge: int | None, le: int | None) -> str:
    text = f"Sequence {10 * (index + 1)}, Action Permit, Network {network}"
    if ge is not None:
        text += f", Minimum Prefix {ge}"
    if le is not None:
        text += f", Maximum Prefix {le}"
    return text


def _group(plan: RouterPlan, group: PeerGroup) -> list[str]:
    fields = [
        ("Name/Address", f"{group.name}   (a name, not an address: this entry is the peer group)"),
        ("Description", group.description or group.name),
        ("Remote AS", str(group.remote_asn)),
    ]
    if group.password is not None:
        fields += [("Password", group.password), ("Password Type", "FRR and setkey Bidirectional")]
    if group.update_source is not None:
        kind = "IPv4" if Family.of(group.update_source) is Family.IPV4 else "IPv6"
        fields.append(("Update Source", f"{kind}, the interface that holds {group.update_source}"))
    if len(group.families) > 1:
        fields.append(("Address Family", "checked (both IPv4 and IPv6 on one session)"))
    if plan.default_originate:
        fields.append(
            ("Default Originate", "IPv4 + IPv6" if len(group.families) > 1 else families_text(group))
        )
    if group.keepalive_time is not None and group.hold_time is not None:
        fields += [
            ("Timers: Keep Alive", str(group.keepalive_time)),
            ("Timers: Hold Time", str(group.hold_time)),
        ]
    if group.connect_time is not None:
        fields.append(("Timers: Connect Timer", str(group.connect_time)))
    fields += [
        ("Route Map Filters: Inbound", import_map(group.policy)),
        ("Route Map Filters: Outbound", EXPORT_MAP),
    ]
    if group.bfd is not None:
        fields.append(("BFD Enable", f"checked (BFD peer per node with profile {group.bfd.name})"))
    if group.graceful_restart:
        fields.append(("Graceful Restart Mode", "Helper"))
    if group.multihop is not None and not group.ibgp:
        fields.append(("EBGP Multi-Hop", str(group.multihop)))
    if group.ttl_security is not None:
        fields.append(("TTL Security Hops", str(group.ttl_security)))
    lines = row(fields)
    lines.append(f"  then one neighbor per node (Peer Group: {group.name}, Remote AS: {group.remote_asn}):")
    lines += [f"  [+] Name/Address: {n.address}   Description: {n.node}" for n in group.neighbors]
    return [*lines, ""]
