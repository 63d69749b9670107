"""`--check`: what an existing FRR configuration lacks compared with the RouterPlan.

Design: parse the user's config with `frr_parse`, then walk the plan — router ASN, every neighbor (exists,
remote-as, activated in each family it must carry), the inbound policy per family (evaluated the way bgpd
does: route-map entries in order, prefix-list entries in order, implicit deny; RFC 8212 drops everything
from an eBGP neighbor without a policy), and `maximum-paths`. Each finding carries an enum reason, the
subject it is about and a sentence that says what to add. Errors make the check fail; advice does not.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import ip_network

from bgplb.routers.frr_parse import FrrConfig, PeerConfig, parse
from bgplb.routers.plan import Family, IPNetwork, Neighbor, PeerGroup, RouterPlan


class CheckReason(enum.Enum):
    """Why the existing configuration does not match the plan."""

    NO_ROUTER_BGP = "no-router-bgp"
    WRONG_ASN = "wrong-asn"
    MISSING_NEIGHBOR = "missing-neighbor"
    WRONG_REMOTE_AS = "wrong-remote-as"
    MISSING_ADDRESS_FAMILY = "missing-address-family"
    NOT_ACTIVATED = "not-activated"
    NO_INBOUND_POLICY = "no-inbound-policy"
    MISSING_POLICY_OBJECT = "missing-policy-object"
    POLICY_DROPS_POOL = "policy-drops-pool"
    NO_MULTIPATH = "no-multipath"
    MULTIPATH_DEFAULT = "multipath-default"
    NO_MULTIPATH_RELAX = "no-multipath-relax"
    UNFILTERED = "unfiltered"


ADVICE = frozenset({CheckReason.UNFILTERED, CheckReason.MULTIPATH_DEFAULT})
"""Reasons that are worth saying but do not stop the routes from working."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the existing configuration lacks: the reason, what it is about, and how to fix it."""

    reason: CheckReason
    subject: str
    detail: str

    @property
    def is_error(self) -> bool:
        return self.reason not in ADVICE

    def __str__(self) -> str:
        level = "error" if self.is_error else "advice"
        return f"{level}: {self.reason.value}: {self.subject}: {self.detail}"


def check(plan: RouterPlan, existing_text: str) -> tuple[Finding, ...]:
    """Compare an FRR configuration with `plan`; an empty result means nothing is missing."""
    config = parse(existing_text)
    if config.asn is None:
        return (
            Finding(CheckReason.NO_ROUTER_BGP, "router bgp", f"there is no `router bgp {plan.asn}` section"),
        )
    findings: list[Finding] = []
    if config.asn != plan.asn:
        findings.append(
            Finding(
                CheckReason.WRONG_ASN,
                "router bgp",
                f"the router runs AS {config.asn} but the nodes' peerASN is {plan.asn}:"
                " the sessions will not come up",
            )
        )
    for family in plan.families:
        if family is Family.IPV6 and family not in config.families:
            findings.append(
                Finding(
                    CheckReason.MISSING_ADDRESS_FAMILY,
                    "address-family ipv6 unicast",
                    "there is no IPv6 unicast address family: IPv6 pools are never accepted",
                )
            )
    for group in plan.groups:
        for neighbor in group.neighbors:
            findings += _check_neighbor(plan, config, group, neighbor)
    findings += _check_multipath(plan, config)
    return tuple(findings)


def _effective(config: FrrConfig, name: str) -> tuple[PeerConfig, PeerConfig | None]:
    peer = config.peers[name]
    group = config.peers.get(peer.group) if peer.group else None
    return peer, group


def _check_neighbor(
    plan: RouterPlan, config: FrrConfig, group: PeerGroup, neighbor: Neighbor
) -> list[Finding]:
    subject = f"neighbor {neighbor.address} ({neighbor.node})"
    if str(neighbor.address) not in config.peers:
        return [
            Finding(
                CheckReason.MISSING_NEIGHBOR,
                subject,
                f"not configured: add it with remote-as {group.remote_asn}"
                " (this node's routes are never learned)",
            )
        ]
    peer, peer_group = _effective(config, str(neighbor.address))
    findings: list[Finding] = []
    remote_as = peer.remote_as or (peer_group.remote_as if peer_group else None)
    expected = {str(group.remote_asn), "internal" if group.ibgp else "external"}
    if remote_as not in expected:
        findings.append(
            Finding(
                CheckReason.WRONG_REMOTE_AS,
                subject,
                f"remote-as is {remote_as}, the node uses AS {group.remote_asn}",
            )
        )
    for family in group.families:
        findings += _check_family(plan, config, group, neighbor, family)
    return findings


def _check_family(
    plan: RouterPlan,
    config: FrrConfig,
    group: PeerGroup,
    neighbor: Neighbor,
    family: Family,
) -> list[Finding]:
    peer, peer_group = _effective(config, str(neighbor.address))
    subject = f"neighbor {neighbor.address} ({neighbor.node}) {family.value}"
    activated = peer.activated.get(family)
    if activated is None and peer_group is not None:
        activated = peer_group.activated.get(family)
    if activated is None:
        activated = family is Family.IPV4 and neighbor.family is Family.IPV4 and config.default_ipv4_unicast
    if not activated:
        return [
            Finding(
                CheckReason.NOT_ACTIVATED,
                subject,
                f"not activated: add `neighbor {neighbor.address} activate`"
                f" under `address-family {family.value} unicast`",
            )
        ]
    route_map = peer.route_map_in.get(family) or (peer_group.route_map_in.get(family) if peer_group else None)
    prefix_list = peer.prefix_list_in.get(family) or (
        peer_group.prefix_list_in.get(family) if peer_group else None
    )
    if route_map is None and prefix_list is None:
        if config.ebgp_requires_policy and not group.ibgp:
            return [
                Finding(
                    CheckReason.NO_INBOUND_POLICY,
                    subject,
                    "no inbound route-map while `bgp ebgp-requires-policy` is on (RFC 8212):"
                    " every route is dropped; add `route-map ... in` accepting the pools"
                    " rather than disabling the safety",
                )
            ]
        return [
            Finding(CheckReason.UNFILTERED, subject, "no inbound filter: the node could announce any prefix")
        ]
    references = (
        ("route-map", route_map, config.route_maps),
        ("prefix-list", prefix_list, config.prefix_lists),
    )
    missing = [f"{kind} {name}" for kind, name, known in references if name is not None and name not in known]
    if missing:
        return [
            Finding(
                CheckReason.MISSING_POLICY_OBJECT,
                subject,
                f"{missing[0]} is referenced but not defined: all is denied",
            )
        ]
    findings = []
    for rule in plan.rules(family, group.policy):
        for prefix in _samples(rule.network, rule.min_length, rule.max_length):
            accepted = (route_map is None or _route_map_permits(config, route_map, prefix)) and (
                prefix_list is None or _prefix_list_permits(config, prefix_list, prefix)
            )
            if not accepted:
                policy = " and ".join(
                    x
                    for x in (
                        route_map and f"route-map {route_map}",
                        prefix_list and f"prefix-list {prefix_list}",
                    )
                    if x
                )
                findings.append(
                    Finding(CheckReason.POLICY_DROPS_POOL, subject, f"{policy} drops {prefix} (pool route)")
                )
                break
    return findings


def _samples(network: IPNetwork, shortest: int, longest: int) -> list[IPNetwork]:
    """The first prefix of `network` at the longest and at the shortest accepted length."""
    lengths = sorted({longest, shortest}, reverse=True)
    return [ip_network(f"{network.network_address}/{length}") for length in lengths]


def _prefix_list_permits(config: FrrConfig, name: str, prefix: IPNetwork) -> bool:
    for entry in config.prefix_lists.get(name, []):
        if entry.rule.accepts(prefix):
            return entry.permit
    return False


def _route_map_permits(config: FrrConfig, name: str, prefix: IPNetwork) -> bool:
    for entry in config.route_maps.get(name, []):
        matched = entry.prefix_list is None or _prefix_list_permits(config, entry.prefix_list, prefix)
        if matched:
            return entry.permit
    return False


def _check_multipath(plan: RouterPlan, config: FrrConfig) -> list[Finding]:
    findings = []
    for family in plan.families:
        if family is Family.IPV6 and family not in config.families:
            continue  # already reported as a missing address family
        groups = [g for g in plan.groups if family in g.families]
        for ibgp, wanted, configured in (
            (False, plan.maximum_paths, config.maximum_paths.get(family)),
            (True, plan.maximum_paths_ibgp, config.maximum_paths_ibgp.get(family)),
        ):
            count = sum(len(g.neighbors) for g in groups if g.ibgp is ibgp)
            if count < 2 or (configured is not None and configured >= min(wanted, count)):
                continue
            keyword = "maximum-paths ibgp" if ibgp else "maximum-paths"
            subject = f"address-family {family.value} unicast"
            if configured is None:
                findings.append(
                    Finding(
                        CheckReason.MULTIPATH_DEFAULT,
                        subject,
                        f"no `{keyword}`: ECMP relies on FRR's build default (all paths in Debian's FRR 8.4)"
                        f"; set `{keyword} {wanted}` so that no other build limits it",
                    )
                )
                continue
            findings.append(
                Finding(
                    CheckReason.NO_MULTIPATH,
                    subject,
                    f"`{keyword} {configured}` with {count} nodes announcing each address: only {configured}"
                    f" of them get traffic; set `{keyword} {wanted}`",
                )
            )
    ebgp_asns = {g.remote_asn for g in plan.groups if not g.ibgp}
    if len(ebgp_asns) > 1 and not config.multipath_relax:
        findings.append(
            Finding(
                CheckReason.NO_MULTIPATH_RELAX,
                "router bgp",
                f"the nodes use several ASNs {sorted(ebgp_asns)}:"
                " add `bgp bestpath as-path multipath-relax` for ECMP",
            )
        )
    return findings
