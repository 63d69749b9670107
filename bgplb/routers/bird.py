"""Render a RouterPlan as a BIRD 2 configuration (bird.conf).

Design: one `template bgp` per peer group (local address and AS, timers, password, multihop, BFD, one
channel per family with the import filter and `export none`), one `protocol bgp` per node derived from it,
prefix sets and import filters per ImportPolicy and family, and `kernel` protocols with `merge paths` so
that equal routes from several nodes become one ECMP route in the kernel. The output is a complete config
(`bird -p -c` accepts it as is); merge the pieces into an existing bird.conf as needed.
"""

from __future__ import annotations

import re

from bgplb.routers.frr import header
from bgplb.routers.plan import BfdSettings, Family, PeerGroup, PrefixRule, RouterPlan, policy_suffix


def render(plan: RouterPlan) -> str:
    """The BIRD 2 configuration for `plan`."""
    lines = [*header(plan, "#"), "", f"router id {plan.router_id};", ""]
    for policy in plan.policies:
        for family in policy.families:
            lines += _filter(policy.rules_of(family), family, policy.name)
    lines += ["protocol device {", "}", ""]
    for family in plan.families:
        lines += _kernel(plan, family)
    profiles = plan.bfd_profiles()
    if profiles:
        lines += _bfd(profiles[0], len(profiles))
    for group in plan.groups:
        lines += _template(plan, group)
        for neighbor in group.neighbors:
            name = _ident(f"node_{neighbor.node}_{neighbor.family.value}")
            lines += [
                f"protocol bgp {name} from {_template_name(group)} {{",
                f'  description "{_quote(neighbor.node)}";',
                f"  neighbor {neighbor.address} as {group.remote_asn};",
                "}",
                "",
            ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _ident(text: str) -> str:
    """A BIRD symbol: letters, digits and underscores, not starting with a digit."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return name if not name[:1].isdigit() else "_" + name


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _set_name(family: Family, policy: str) -> str:
    base = "BGPLB_POOLS_V4" if family is Family.IPV4 else "BGPLB_POOLS_V6"
    return _ident(base + policy_suffix(policy.upper(), "_"))


def _filter_name(family: Family, policy: str) -> str:
    base = "bgplb_import_v4" if family is Family.IPV4 else "bgplb_import_v6"
    return _ident(base + policy_suffix(policy.lower(), "_"))


def _template_name(group: PeerGroup) -> str:
    return _ident(group.name.lower())


def _pattern(rule: PrefixRule) -> str:
    """A BIRD prefix pattern: `net{low,high}` accepts subnets of `net` with lengths low..high."""
    return f"{rule.network}{{{rule.min_length},{rule.max_length}}}"


def _filter(rules: tuple[PrefixRule, ...], family: Family, policy: str) -> list[str]:
    whose = f" for policy {policy}" if policy else ""
    lines = [f"# The pools ({family.value}){whose}: only these prefixes are accepted from the nodes."]
    set_name = _set_name(family, policy)
    if rules:
        lines.append(f"define {set_name} = [ {', '.join(_pattern(r) for r in rules)} ];")
        test = f"  if net ~ {set_name} then accept;"
    else:
        test = "  # no pool of this family: everything is rejected"
    return [*lines, f"filter {_filter_name(family, policy)} {{", test, "  reject;", "}", ""]


def _kernel(plan: RouterPlan, family: Family) -> list[str]:
    paths = max(plan.maximum_paths, plan.maximum_paths_ibgp)
    return [
        f"protocol kernel bgplb_kernel_{family.value[-2:]} {{",
        f"  {family.value} {{",
        "    export filter { if source = RTS_BGP then accept; reject; };",
        "  };",
        f"  merge paths on limit {paths};",
        "}",
        "",
    ]


def _bfd(profile: BfdSettings, count: int) -> list[str]:
    lines = ["protocol bfd bgplb_bfd {", '  interface "*" {']
    if profile.receive_interval is not None:
        lines.append(f"    min rx interval {profile.receive_interval} ms;")
    if profile.transmit_interval is not None:
        lines.append(f"    min tx interval {profile.transmit_interval} ms;")
    if profile.detect_multiplier is not None:
        lines.append(f"    multiplier {profile.detect_multiplier};")
    if profile.passive_mode:
        lines.append("    passive on;")
    lines += ["  };", "}", ""]
    if count > 1:
        lines.insert(
            0, f"# BIRD applies one BFD setting per interface here; profile {profile.name} is used for all."
        )
    if profile.echo_mode:
        lines.insert(0, f"# BFD profile {profile.name} asks for echo mode, which BIRD does not implement.")
    return lines


def _template(plan: RouterPlan, group: PeerGroup) -> list[str]:
    local = (
        f"  local {group.update_source} as {plan.asn};" if group.update_source else f"  local as {plan.asn};"
    )
    lines = [f"template bgp {_template_name(group)} {{"]
    if group.description:
        lines.append(f'  description "{_quote(group.description)}";')
    lines.append(local)
    if group.password is not None:
        lines.append(f'  password "{_quote(group.password)}";')
    if group.hold_time is not None:
        lines.append(f"  hold time {group.hold_time};")
    if group.keepalive_time is not None:
        lines.append(f"  keepalive time {group.keepalive_time};")
    if group.connect_time is not None:
        lines.append(f"  connect retry time {group.connect_time};")
    if group.multihop is not None and not group.ibgp:
        lines.append(f"  multihop {group.multihop};")
    else:
        lines.append("  direct;")
    if group.ttl_security is not None:
        lines.append("  ttl security on;")
    if group.bfd is not None:
        lines.append("  bfd on;")
    if group.graceful_restart:
        lines.append("  graceful restart aware;  # helper for the nodes' restarts")
    for family in group.families:
        lines += [
            f"  {family.value} {{",
            f"    import filter {_filter_name(family, group.policy)};",
            "    export none;" if not plan.default_originate else _default_export(family),
        ]
        if group.ibgp:
            lines.append("    gateway direct;")
        lines.append("  };")
    lines += ["}", ""]
    return lines


def _default_export(family: Family) -> str:
    default = "0.0.0.0/0" if family is Family.IPV4 else "::/0"
    return f"    export filter {{ if net = {default} then accept; reject; }};"
