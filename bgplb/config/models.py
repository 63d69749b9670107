"""bgplb's own configuration model: one frozen, validated shape for MetalLB and Cilium sources.

Readers (metallb_crds, metallb_configmap, cilium) turn source objects into these values; build.py merges
them, resolves references and validates across objects. Every object carries an `Origin` (kind,
namespace/name, field paths) so that later errors name the source object and field. All collections are
tuples sorted by name so that equal inputs give equal Configs.

Communities: `communities` hold standard communities as "ASN:value" (well-known names such as no-export
are stored in that numeric form); `large_communities` hold RFC 8092 values as "global:local1:local2"
without the `large:` prefix.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bgplb.config.selectors import LabelRequirement, LabelSelector

__all__ = [
    "AddressPool",
    "BfdProfile",
    "BgpAdvertisement",
    "BgpPeer",
    "Config",
    "IPAddress",
    "IPNetwork",
    "IPRange",
    "L2Advertisement",
    "LabelRequirement",
    "LabelSelector",
    "Origin",
    "SecretRef",
    "ServiceAllocation",
]

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
Source = Literal["metallb", "metallb-configmap", "cilium"]
Family = Literal["ipv4", "ipv6"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


_CAMEL = {
    "my_asn": "myASN",
    "peer_asn": "peerASN",
    "local_asn": "localASN",
    "dynamic_asn": "dynamicASN",
    "router_id": "routerID",
    "ebgp_multihop": "ebgpMultiHop",
    "disable_mp": "disableMP",
    "pools": "ipAddressPools",
    "pool_selectors": "ipAddressPoolSelectors",
}
_KEBAB = {"local_pref": "localpref", "ranges": "addresses"}


class Origin(_Frozen):
    """Where an object came from: `kind`, `name` (`namespace/name` when namespaced) and field paths.

    `path` is the dotted path of the object inside its source (`spec` for a CRD,
    `data.config.address-pools[0]` for a legacy ConfigMap entry); `item_paths` name the source field of
    each element of the object's main list (a pool's ranges), in order. `style` says how model field
    names are spelled in the source; `fields` overrides the path of individual model fields.
    """

    kind: str = ""
    name: str = ""
    path: str = ""
    item_paths: tuple[str, ...] = ()
    style: Literal["camel", "kebab"] = "camel"
    fields: tuple[tuple[str, str], ...] = ()

    def field(self, suffix: str) -> str:
        """The dotted path of `suffix` below this object's path."""
        if not suffix:
            return self.path
        return f"{self.path}.{suffix}" if self.path else suffix

    def field_for(self, model_field: str) -> str:
        """The source path of a model field (`hold_time` -> `spec.holdTime` or `...hold-time`)."""
        override = dict(self.fields).get(model_field)
        if override is not None:
            return override
        if self.style == "kebab":
            return self.field(_KEBAB.get(model_field, model_field.replace("_", "-")))
        if model_field == "name":
            return "metadata.name"
        head, *rest = model_field.split("_")
        return self.field(_CAMEL.get(model_field, head + "".join(part.title() for part in rest)))


class IPRange(_Frozen):
    """An inclusive range of addresses of one family, `first <= last`."""

    first: IPAddress
    last: IPAddress

    @model_validator(mode="after")
    def _check(self) -> IPRange:
        if self.first.version != self.last.version:
            raise ValueError(f"range {self.first}-{self.last} mixes IPv4 and IPv6")
        if int(self.first) > int(self.last):
            raise ValueError(f"range start {self.first} is after its end {self.last}")
        return self

    @classmethod
    def from_network(cls, network: IPNetwork) -> IPRange:
        """The range covering every address of `network`."""
        return cls(first=network.network_address, last=network.broadcast_address)

    @property
    def version(self) -> int:
        """4 or 6."""
        return self.first.version

    @property
    def size(self) -> int:
        """Number of addresses in the range."""
        return int(self.last) - int(self.first) + 1

    def contains(self, ip: IPAddress) -> bool:
        """Whether `ip` lies in the range (an address of the other family never does)."""
        return ip.version == self.version and int(self.first) <= int(ip) <= int(self.last)

    def overlaps(self, other: IPRange) -> bool:
        """Whether the two ranges share at least one address."""
        return (
            self.version == other.version
            and int(self.first) <= int(other.last)
            and int(other.first) <= int(self.last)
        )

    def networks(self) -> tuple[IPNetwork, ...]:
        """The smallest list of CIDRs covering exactly this range."""
        return tuple(ipaddress.summarize_address_range(self.first, self.last))

    def __str__(self) -> str:
        nets = self.networks()
        return str(nets[0]) if len(nets) == 1 else f"{self.first}-{self.last}"


class ServiceAllocation(_Frozen):
    """Which Services may take addresses from a pool, and the pool's priority (lower first)."""

    priority: int | None = None
    namespaces: tuple[str, ...] = ()
    namespace_selectors: tuple[LabelSelector, ...] = ()
    service_selectors: tuple[LabelSelector, ...] = ()


class AddressPool(_Frozen):
    """A pool of LoadBalancer addresses (MetalLB IPAddressPool, a legacy address-pool, a Cilium pool)."""

    name: str
    namespace: str = ""
    ranges: tuple[IPRange, ...]
    auto_assign: bool = True
    avoid_buggy_ips: bool = False
    allow_first_last: bool = True
    service_allocation: ServiceAllocation | None = None
    disabled: bool = False
    labels: dict[str, str] = {}
    source: Source
    origin: Origin = Origin()

    def __hash__(self) -> int:
        return hash((self.source, self.namespace, self.name, self.ranges))

    def contains(self, ip: IPAddress) -> bool:
        """Whether `ip` is one of the pool's addresses."""
        return any(r.contains(ip) for r in self.ranges)

    def networks(self) -> tuple[IPNetwork, ...]:
        """The CIDRs covering the pool, range by range."""
        return tuple(net for r in self.ranges for net in r.networks())


class BgpAdvertisement(_Frozen):
    """How the addresses of some pools are announced over BGP.

    `pools` are resolved pool names (the explicit list plus every pool matched by `pool_selectors`);
    `peers` are BgpPeer names, empty meaning every peer.
    """

    name: str
    namespace: str = ""
    pools: tuple[str, ...] = ()
    pool_selectors: tuple[LabelSelector, ...] = ()
    aggregation_length: int = 32
    aggregation_length_v6: int = 128
    local_pref: int | None = None
    communities: tuple[str, ...] = ()
    large_communities: tuple[str, ...] = ()
    node_selectors: tuple[LabelSelector, ...] = ()
    peers: tuple[str, ...] = ()
    service_selectors: tuple[LabelSelector, ...] = ()
    origin: Origin = Origin()


class L2Advertisement(_Frozen):
    """How the addresses of some pools are announced with ARP/NDP; `interfaces` empty means all."""

    name: str
    namespace: str = ""
    pools: tuple[str, ...] = ()
    pool_selectors: tuple[LabelSelector, ...] = ()
    node_selectors: tuple[LabelSelector, ...] = ()
    interfaces: tuple[str, ...] = ()
    service_selectors: tuple[LabelSelector, ...] = ()
    origin: Origin = Origin()


class BfdProfile(_Frozen):
    """A BFD profile (intervals in milliseconds); bgplb itself runs no BFD daemon."""

    name: str
    namespace: str = ""
    receive_interval: int | None = None
    transmit_interval: int | None = None
    detect_multiplier: int | None = None
    echo_interval: int | None = None
    echo_mode: bool | None = None
    passive_mode: bool | None = None
    minimum_ttl: int | None = None
    origin: Origin = Origin()


class SecretRef(_Frozen):
    """A reference to a Kubernetes Secret holding a BGP password (key `password`)."""

    name: str
    namespace: str = ""


class BgpPeer(_Frozen):
    """A BGP neighbour of the speakers on the selected nodes.

    Times are in seconds. `ebgp_multihop` is a bool (MetalLB) or a TTL (Cilium). `families` lists the
    address families to negotiate; empty means the family of `peer_address` (both when
    `dual_stack_address_family`).
    """

    name: str
    namespace: str = ""
    my_asn: int
    peer_asn: int | None = None
    dynamic_asn: Literal["internal", "external"] | None = None
    local_asn: int | None = None
    peer_address: IPAddress | None = None
    interface: str | None = None
    peer_port: int = 179
    source_address: IPAddress | None = None
    hold_time: int | None = None
    keepalive_time: int | None = None
    connect_time: int | None = None
    router_id: IPv4Address | None = None
    node_selectors: tuple[LabelSelector, ...] = ()
    password: str | None = Field(default=None, repr=False)
    password_secret: SecretRef | None = None
    bfd_profile: str | None = None
    enable_graceful_restart: bool = False
    graceful_restart_time: int | None = None
    ebgp_multihop: bool | int = False
    vrf: str = ""
    disable_mp: bool = False
    dual_stack_address_family: bool = False
    families: tuple[Family, ...] = ()
    source: Source = "metallb"
    origin: Origin = Origin()

    @property
    def is_ibgp(self) -> bool | None:
        """True for an internal session, False for external, None when not known before OPEN."""
        if self.peer_asn is not None:
            return self.peer_asn == self.my_asn
        if self.dynamic_asn is not None:
            return self.dynamic_asn == "internal"
        return None


class Config(_Frozen):
    """The whole validated configuration, every tuple sorted by (name, namespace)."""

    pools: tuple[AddressPool, ...] = ()
    peers: tuple[BgpPeer, ...] = ()
    bgp_advertisements: tuple[BgpAdvertisement, ...] = ()
    l2_advertisements: tuple[L2Advertisement, ...] = ()
    bfd_profiles: tuple[BfdProfile, ...] = ()
    communities: dict[str, str] = {}

    def __hash__(self) -> int:
        return hash((self.pools, self.peers, self.bgp_advertisements, self.l2_advertisements))

    def pool(self, name: str) -> AddressPool | None:
        """The pool called `name` (pool names are unique across the configuration)."""
        return next((p for p in self.pools if p.name == name), None)

    def peer(self, name: str) -> BgpPeer | None:
        """The first peer called `name`."""
        return next((p for p in self.peers if p.name == name), None)

    def bfd_profile(self, name: str) -> BfdProfile | None:
        """The BFD profile called `name`."""
        return next((p for p in self.bfd_profiles if p.name == name), None)

    def pool_of(self, ip: IPAddress) -> AddressPool | None:
        """The pool containing `ip` (pools never overlap in a valid Config)."""
        return next((p for p in self.pools if p.contains(ip)), None)

    def bgp_advertisements_for(self, pool: str) -> tuple[BgpAdvertisement, ...]:
        """The BGP advertisements that announce `pool`."""
        return tuple(a for a in self.bgp_advertisements if pool in a.pools)

    def l2_advertisements_for(self, pool: str) -> tuple[L2Advertisement, ...]:
        """The layer-2 advertisements that announce `pool`."""
        return tuple(a for a in self.l2_advertisements if pool in a.pools)
