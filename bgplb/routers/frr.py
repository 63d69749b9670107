"""Render a RouterPlan as an FRR 8.x configuration fragment (frr.conf / `vtysh -f` syntax).

Design: `bgp ebgp-requires-policy` (RFC 8212) stays ON; every group gets an inbound route map that accepts
only the prefixes of its ImportPolicy (one prefix list and route map per policy and family) and an
outbound route map that denies everything, in each address family it activates (`no bgp default
ipv4-unicast`, explicit `activate`). Neighbors share a peer group per settings.
The text is deterministic, so golden files compare it byte for byte.
"""

from __future__ import annotations

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


def render(plan: RouterPlan) -> str:
    """The FRR configuration for `plan`, ending with a newline."""
    lines: list[str] = [*header(plan, "!"), "!"]
    for policy in plan.policies:
        for family in policy.families:
            lines += _prefix_list(policy.rules_of(family), family, policy.name)
            lines.append("!")
    for policy in plan.policies:
        for family in policy.families:
            lines += [
                f"route-map {import_map_name(family, policy.name)} permit 10",
                f" match {_ip(family)} address prefix-list {prefix_list_name(family, policy.name)}",
                "exit",
                "!",
            ]
    lines += [f"route-map {EXPORT_MAP} deny 10", "exit", "!"]
    profiles = plan.bfd_profiles()
    if profiles:
        lines.append("bfd")
        for profile in profiles:
            lines += _bfd_profile(profile)
        lines += ["exit", "!"]
    lines += _router_bgp(plan)
    return "\n".join(lines) + "\n"


def header(plan: RouterPlan, comment: str) -> list[str]:
    """Comment lines that summarise the plan and carry its notes (shared with the other text formats)."""
    lines = [
        f"{comment} bgplb router-config for AS {plan.asn}, router id {plan.router_id}",
        f"{comment} {len(plan.neighbors)} neighbor(s) in {len(plan.groups)} group(s); "
        f"ECMP over up to {max(plan.maximum_paths, plan.maximum_paths_ibgp)} path(s)",
    ]
    for note in plan.communities:
        tags = ", ".join((*note.communities, *(f"large:{c}" for c in note.large_communities)))
        pref = f" local-preference {note.local_pref}" if note.local_pref is not None else ""
        lines.append(
            f"{comment} advertisement {note.advertisement} tags pools {', '.join(note.pools)}:"
            f" {tags or 'no communities'}{pref}"
        )
    lines += [f"{comment} NOTE: {note}" for note in plan.notes]
    return lines


def prefix_entry(rule: PrefixRule) -> str:
    """`network [ge N] [le M]` as FRR and VyOS-style prefix lists write it."""
    text = str(rule.network)
    if rule.ge is not None:
        text += f" ge {rule.ge}"
    if rule.le is not None:
        text += f" le {rule.le}"
    return text


def _ip(family: Family) -> str:
    return "ip" if family is Family.IPV4 else "ipv6"


def _prefix_list(rules: tuple[PrefixRule, ...], family: Family, policy: str) -> list[str]:
    name = prefix_list_name(family, policy)
    lines = [
        f"{_ip(family)} prefix-list {name} seq {10 * (i + 1)} permit {prefix_entry(rule)}"
        for i, rule in enumerate(rules)
    ]
    # An empty list would deny everything anyway; say so explicitly instead of leaving it undefined.
    return lines or [f"{_ip(family)} prefix-list {name} seq 10 deny any"]


def _bfd_profile(profile: BfdSettings) -> list[str]:
    lines = [f" profile {profile.name}"]
    if profile.detect_multiplier is not None:
        lines.append(f"  detect-multiplier {profile.detect_multiplier}")
    if profile.receive_interval is not None:
        lines.append(f"  receive-interval {profile.receive_interval}")
    if profile.transmit_interval is not None:
        lines.append(f"  transmit-interval {profile.transmit_interval}")
    if profile.echo_mode:
        lines.append("  echo-mode")
    if profile.echo_interval is not None:
        lines.append(f"  echo transmit-interval {profile.echo_interval}")
        lines.append(f"  echo receive-interval {profile.echo_interval}")
    if profile.passive_mode:
        lines.append("  passive-mode")
    if profile.minimum_ttl is not None:
        lines.append(f"  minimum-ttl {profile.minimum_ttl}")
    lines.append(" exit")
    return lines


def _group_settings(group: PeerGroup) -> list[str]:
    g = f" neighbor {group.name}"
    lines = [f"{g} peer-group", f"{g} remote-as {group.remote_asn}"]
    if group.description:
        lines.append(f"{g} description {group.description}")
    if group.update_source is not None:
        lines.append(f"{g} update-source {group.update_source}")
    if group.password is not None:
        lines.append(f"{g} password {group.password}")
    if group.hold_time is not None and group.keepalive_time is not None:
        lines.append(f"{g} timers {group.keepalive_time} {group.hold_time}")
    if group.connect_time is not None:
        lines.append(f"{g} timers connect {group.connect_time}")
    if group.multihop is not None and not group.ibgp:
        lines.append(f"{g} ebgp-multihop {group.multihop}")
    if group.ttl_security is not None:
        lines.append(f"{g} ttl-security hops {group.ttl_security}")
    if group.bfd is not None:
        lines.append(f"{g} bfd")
        lines.append(f"{g} bfd profile {group.bfd.name}")
    if group.graceful_restart:
        lines.append(f"{g} graceful-restart-helper")
    for neighbor in group.neighbors:
        lines.append(f" neighbor {neighbor.address} peer-group {group.name}")
        lines.append(f" neighbor {neighbor.address} description {neighbor.node}")
    return lines


def _address_family(plan: RouterPlan, family: Family) -> list[str]:
    groups = [group for group in plan.groups if family in group.families]
    lines = [f" address-family {family.value} unicast"]
    if any(not group.ibgp for group in groups):
        lines.append(f"  maximum-paths {plan.maximum_paths}")
    if any(group.ibgp for group in groups):
        lines.append(f"  maximum-paths ibgp {plan.maximum_paths_ibgp}")
    for group in groups:
        g = f"  neighbor {group.name}"
        lines += [
            f"{g} activate",
            f"{g} route-map {import_map_name(family, group.policy)} in",
            f"{g} route-map {EXPORT_MAP} out",
        ]
        if plan.default_originate:
            lines.append(f"{g} default-originate")
    lines.append(" exit-address-family")
    return lines


def _router_bgp(plan: RouterPlan) -> list[str]:
    lines = [
        f"router bgp {plan.asn}",
        f" bgp router-id {plan.router_id}",
        " no bgp default ipv4-unicast",
        " bgp ebgp-requires-policy",
    ]
    if plan.multipath_relax:
        lines.append(" bgp bestpath as-path multipath-relax")
    for group in plan.groups:
        lines += _group_settings(group)
    for family in plan.families:
        lines.append(" !")
        lines += _address_family(plan, family)
    lines.append("exit")
    return lines
