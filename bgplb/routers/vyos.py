"""Render a RouterPlan as VyOS 1.4+ configuration-mode commands (`set protocols bgp ...`).

Design: VyOS runs FRR underneath, so the plan maps one to one: `system-as`, a peer group per group with its
timers/password/BFD, members bound with `peer-group`, explicit `address-family ipv4-unicast|ipv6-unicast`
per neighbor (the IPv6 activation users forget), `policy prefix-list`/`prefix-list6` and `route-map` for the
filters, `address-family ... maximum-paths ebgp|ibgp` for ECMP. VyOS disables RFC 8212 by default; we turn
it on (`parameters ebgp-requires-policy`) since the route maps are there anyway.
"""

from __future__ import annotations

from bgplb.routers.frr import header
from bgplb.routers.plan import (
    EXPORT_MAP,
    BfdSettings,
    Family,
    PeerGroup,
    PrefixRule,
    RouterPlan,
    import_map_name,
    prefix_list_name,
)

BGP = "set protocols bgp"


def render(plan: RouterPlan) -> str:
    """The VyOS commands for `plan` (paste them in configuration mode, then `commit` and `save`)."""
    lines = [*header(plan, "#"), "# Paste in configuration mode (`configure`), then `commit` and `save`.", ""]
    for policy in plan.policies:
        for family in policy.families:
            lines += _prefix_list(policy.rules_of(family), family, policy.name)
    for policy in plan.policies:
        for family in policy.families:
            match = "ip" if family is Family.IPV4 else "ipv6"
            rule = f"set policy route-map {import_map_name(family, policy.name)} rule 10"
            lines += [
                f"{rule} action 'permit'",
                f"{rule} match {match} address prefix-list '{prefix_list_name(family, policy.name)}'",
            ]
    lines.append(f"set policy route-map {EXPORT_MAP} rule 10 action 'deny'")
    for profile in plan.bfd_profiles():
        lines += _bfd_profile(profile)
    lines += [
        "",
        f"{BGP} system-as '{plan.asn}'",
        f"{BGP} parameters router-id '{plan.router_id}'",
        f"{BGP} parameters ebgp-requires-policy",
    ]
    if plan.multipath_relax:
        lines.append(f"{BGP} parameters bestpath as-path multipath-relax")
    for family in plan.families:
        groups = [g for g in plan.groups if family in g.families]
        af = f"{BGP} address-family {family.value}-unicast"
        if any(not g.ibgp for g in groups):
            lines.append(f"{af} maximum-paths ebgp '{plan.maximum_paths}'")
        if any(g.ibgp for g in groups):
            lines.append(f"{af} maximum-paths ibgp '{plan.maximum_paths_ibgp}'")
    for group in plan.groups:
        lines += ["", *_group(plan, group)]
    return "\n".join(lines) + "\n"


def _prefix_list(rules: tuple[PrefixRule, ...], family: Family, policy: str) -> list[str]:
    kind = "prefix-list" if family is Family.IPV4 else "prefix-list6"
    base = f"set policy {kind} {prefix_list_name(family, policy)}"
    lines: list[str] = []
    for i, rule in enumerate(rules):
        rule_base = f"{base} rule {10 * (i + 1)}"
        lines += [f"{rule_base} action 'permit'", f"{rule_base} prefix '{rule.network}'"]
        if rule.ge is not None:
            lines.append(f"{rule_base} ge '{rule.ge}'")
        if rule.le is not None:
            lines.append(f"{rule_base} le '{rule.le}'")
    if not rules:
        any_net = "0.0.0.0/0" if family is Family.IPV4 else "::/0"
        lines += [f"{base} rule 10 action 'deny'", f"{base} rule 10 prefix '{any_net}'"]
    return lines


def _bfd_profile(profile: BfdSettings) -> list[str]:
    base = f"set protocols bfd profile {profile.name}"
    lines = [base]
    for key, value in (
        ("receive", profile.receive_interval),
        ("transmit", profile.transmit_interval),
        ("multiplier", profile.detect_multiplier),
        ("echo-interval", profile.echo_interval),
    ):
        if value is not None:
            lines.append(f"{base} interval {key} '{value}'")
    if profile.echo_mode:
        lines.append(f"{base} echo-mode")
    if profile.passive_mode:
        lines.append(f"{base} passive")
    if profile.minimum_ttl is not None:
        lines.append(f"{base} minimum-ttl '{profile.minimum_ttl}'")
    return lines


def _group(plan: RouterPlan, group: PeerGroup) -> list[str]:
    g = f"{BGP} peer-group {group.name}"
    lines = [f"{g} remote-as '{group.remote_asn}'"]
    if group.description:
        lines.append(f"{g} description '{group.description}'")
    if group.update_source is not None:
        lines.append(f"{g} update-source '{group.update_source}'")
    if group.password is not None:
        lines.append(f"{g} password '{group.password}'")
    if group.hold_time is not None and group.keepalive_time is not None:
        lines += [
            f"{g} timers holdtime '{group.hold_time}'",
            f"{g} timers keepalive '{group.keepalive_time}'",
        ]
    if group.connect_time is not None:
        lines.append(f"{g} timers connect '{group.connect_time}'")
    if group.multihop is not None and not group.ibgp:
        lines.append(f"{g} ebgp-multihop '{group.multihop}'")
    if group.ttl_security is not None:
        lines.append(f"{g} ttl-security hops '{group.ttl_security}'")
    if group.bfd is not None:
        lines.append(f"{g} bfd profile '{group.bfd.name}'")
    if group.graceful_restart:
        lines.append(f"{g} graceful-restart 'restart-helper'")
    for family in group.families:
        af = f"{g} address-family {family.value}-unicast"
        lines += [
            f"{af} route-map import '{import_map_name(family, group.policy)}'",
            f"{af} route-map export '{EXPORT_MAP}'",
        ]
        if plan.default_originate:
            lines.append(f"{af} default-originate")
    for neighbor in group.neighbors:
        n = f"{BGP} neighbor {neighbor.address}"
        lines += [f"{n} peer-group '{group.name}'", f"{n} description '{neighbor.node}'"]
        lines += [f"{n} address-family {family.value}-unicast" for family in group.families]
    return lines
