"""RouterPlan: the router's half of the BGP setup, as plain frozen values.

Design: every renderer (FRR, BIRD, VyOS, OPNsense, pfSense) reads a RouterPlan and nothing else, so the
decisions (which neighbors, which filters, how many ECMP paths) are made once, in `build.py`, and each
renderer only spells them. The plan names its policy objects (prefix lists, route maps, peer groups) so that
every format uses the same names and a user can compare them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


class Family(enum.Enum):
    """An address family the router exchanges with the nodes (AFI/SAFI unicast)."""

    IPV4 = "ipv4"
    IPV6 = "ipv6"

    @property
    def max_length(self) -> int:
        """The host-route prefix length of this family (32 or 128)."""
        return 32 if self is Family.IPV4 else 128

    @staticmethod
    def of(value: IPAddress | IPNetwork) -> Family:
        """The family of an address or network."""
        return Family.IPV4 if value.version == 4 else Family.IPV6


FAMILIES: tuple[Family, ...] = (Family.IPV4, Family.IPV6)


@dataclass(frozen=True, slots=True)
class PrefixRule:
    """One `permit` entry of a prefix list: `network [ge ge] [le le]` (None = not written)."""

    network: IPNetwork
    ge: int | None = None
    le: int | None = None

    @property
    def family(self) -> Family:
        return Family.of(self.network)

    @property
    def min_length(self) -> int:
        """The shortest prefix length this rule accepts."""
        return self.ge if self.ge is not None else self.network.prefixlen

    @property
    def max_length(self) -> int:
        """The longest prefix length this rule accepts."""
        if self.le is not None:
            return self.le
        return self.ge if self.ge is not None else self.network.prefixlen

    def accepts(self, prefix: IPNetwork) -> bool:
        """Whether a route for `prefix` matches this rule."""
        if prefix.version != self.network.version or not prefix.subnet_of(self.network):  # type: ignore[arg-type]
            return False
        return self.min_length <= prefix.prefixlen <= self.max_length


def rule_order(rule: PrefixRule) -> tuple[int, IPNetwork, int, int]:
    """The order of prefix-list entries: IPv4 first, then by network, `ge`, `le`."""
    return (rule.network.version, rule.network, rule.ge or 0, rule.le or 0)


@dataclass(frozen=True, slots=True)
class BfdSettings:
    """A BFD profile as the router must mirror it (milliseconds; None = the daemon's default)."""

    name: str
    receive_interval: int | None = None
    transmit_interval: int | None = None
    detect_multiplier: int | None = None
    echo_interval: int | None = None
    echo_mode: bool = False
    passive_mode: bool = False
    minimum_ttl: int | None = None


@dataclass(frozen=True, slots=True)
class Neighbor:
    """One node as seen by the router: the address the router peers with and the node's name."""

    address: IPAddress
    node: str

    @property
    def family(self) -> Family:
        return Family.of(self.address)


@dataclass(frozen=True, slots=True)
class PeerGroup:
    """Neighbors that share every session setting (rendered as a peer group or a template).

    `families` are the address families activated on the session; `update_source` is the router's own
    address the nodes connect to; `multihop` is the eBGP TTL (None: directly connected); `ttl_security`
    the GTSM hop count (RFC 5082), never together with `multihop`; `policy` names the ImportPolicy of
    the group's inbound filter.
    """

    name: str
    remote_asn: int
    neighbors: tuple[Neighbor, ...]
    families: tuple[Family, ...]
    ibgp: bool
    update_source: IPAddress | None = None
    password: str | None = None
    hold_time: int | None = None
    keepalive_time: int | None = None
    connect_time: int | None = None
    multihop: int | None = None
    ttl_security: int | None = None
    bfd: BfdSettings | None = None
    graceful_restart: bool = False
    description: str = ""
    policy: str = ""

    @property
    def session_family(self) -> Family:
        """The family of the TCP session (all neighbors of a group share it)."""
        return self.neighbors[0].family if self.neighbors else self.families[0]


@dataclass(frozen=True, slots=True)
class ImportPolicy:
    """An inbound filter: the prefix rules of each family it covers, for the groups naming it.

    `name` is "" when every group shares the one policy (the plain `BGPLB-POOLS-V4`... names); when
    BGPAdvertisement `peers` or `nodeSelectors` give groups different pools, each policy is named after its
    first group and the names carry it as a suffix (`BGPLB-POOLS-V4-TOR-A`).
    """

    name: str
    families: tuple[Family, ...]
    rules: tuple[PrefixRule, ...]

    def rules_of(self, family: Family) -> tuple[PrefixRule, ...]:
        """The prefix-list entries of one family."""
        return tuple(rule for rule in self.rules if rule.family is family)


@dataclass(frozen=True, slots=True)
class CommunityNote:
    """Communities (and local preference) the nodes attach to the routes of some pools."""

    advertisement: str
    pools: tuple[str, ...]
    communities: tuple[str, ...] = ()
    large_communities: tuple[str, ...] = ()
    local_pref: int | None = None


@dataclass(frozen=True, slots=True)
class RouterPlan:
    """Everything the router needs: identity, neighbors, filters, ECMP, notes for the user.

    `policies` are the inbound filters (the pools each group may announce, per family; one policy unless
    advertisements restrict pools to some BGPPeers or nodes); the outbound policy denies everything unless
    `default_originate` asks for a default route towards the nodes.
    """

    asn: int
    router_id: IPv4Address
    groups: tuple[PeerGroup, ...]
    policies: tuple[ImportPolicy, ...]
    maximum_paths: int
    maximum_paths_ibgp: int
    multipath_relax: bool = False
    default_originate: bool = False
    communities: tuple[CommunityNote, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def families(self) -> tuple[Family, ...]:
        """The address families in use by at least one group, IPv4 first."""
        used = {family for group in self.groups for family in group.families}
        return tuple(f for f in FAMILIES if f in used)

    @property
    def neighbors(self) -> tuple[Neighbor, ...]:
        return tuple(n for group in self.groups for n in group.neighbors)

    @property
    def prefix_rules(self) -> tuple[PrefixRule, ...]:
        """Every rule of every policy, once: all the router accepts from some node."""
        found = {rule for policy in self.policies for rule in policy.rules}
        return tuple(sorted(found, key=rule_order))

    def policy(self, name: str = "") -> ImportPolicy:
        """The inbound policy called `name` (a group's `policy`)."""
        found = next((p for p in self.policies if p.name == name), None)
        return found if found is not None else ImportPolicy(name, (), ())

    def rules(self, family: Family, policy: str = "") -> tuple[PrefixRule, ...]:
        """The prefix-list entries of one family in one policy."""
        return self.policy(policy).rules_of(family)

    def bfd_profiles(self) -> tuple[BfdSettings, ...]:
        """The distinct BFD profiles referenced by the groups, by name."""
        found = {group.bfd.name: group.bfd for group in self.groups if group.bfd is not None}
        return tuple(found[name] for name in sorted(found))


# Names shared by every renderer (and by the `--check` analysis).
def policy_suffix(policy: str, separator: str = "-") -> str:
    """`-<POLICY>` for a named policy, nothing for the shared one."""
    return f"{separator}{policy}" if policy else ""


def prefix_list_name(family: Family, policy: str = "") -> str:
    """The prefix list holding the pools of one family (in one policy)."""
    base = "BGPLB-POOLS-V4" if family is Family.IPV4 else "BGPLB-POOLS-V6"
    return base + policy_suffix(policy)


def import_map_name(family: Family, policy: str = "") -> str:
    """The inbound route map of one family (accept the policy's pools, drop the rest)."""
    base = "BGPLB-IN-V4" if family is Family.IPV4 else "BGPLB-IN-V6"
    return base + policy_suffix(policy)


EXPORT_MAP = "BGPLB-OUT"
"""The outbound route map: deny everything (the nodes need no routes from the router)."""
