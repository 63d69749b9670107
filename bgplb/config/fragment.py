"""The output of one reader: the model objects read from one source object, plus what went wrong.

`build.py` concatenates fragments, resolves the references left open here (community alias names,
pool selectors) and runs the cross-object rules of validation.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bgplb.config.models import (
    AddressPool,
    BfdProfile,
    BgpAdvertisement,
    BgpPeer,
    L2Advertisement,
    Origin,
    SecretRef,
)
from bgplb.config.warnings import ConfigWarning
from bgplb.errors import ConfigError


@dataclass(frozen=True, slots=True)
class CommunityAlias:
    """A named community (MetalLB Community CR entry or legacy `bgp-communities` key).

    `value` is "ASN:value" for a standard community and "large:a:b:c" for a large one.
    """

    name: str
    value: str
    origin: Origin
    field_path: str


@dataclass(frozen=True, slots=True)
class CommunityRef:
    """A community written as a name in an advertisement, resolved by build.py."""

    origin: Origin
    field_path: str
    name: str


@dataclass(slots=True)
class Fragment:
    """Everything one reader produced; readers append, build.py merges."""

    pools: list[AddressPool] = field(default_factory=list)
    peers: list[BgpPeer] = field(default_factory=list)
    bgp_advertisements: list[BgpAdvertisement] = field(default_factory=list)
    l2_advertisements: list[L2Advertisement] = field(default_factory=list)
    bfd_profiles: list[BfdProfile] = field(default_factory=list)
    communities: list[CommunityAlias] = field(default_factory=list)
    community_refs: list[CommunityRef] = field(default_factory=list)
    secrets: list[SecretRef] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)
    warnings: list[ConfigWarning] = field(default_factory=list)

    def error(self, origin: Origin, field_path: str, reason: str) -> None:
        """Record an error on `origin`'s object at `field_path`."""
        self.errors.append(ConfigError(origin.kind, origin.name, field_path, reason))

    def warn(self, origin: Origin, field_path: str, reason: str) -> None:
        """Record a warning on `origin`'s object at `field_path`."""
        self.warnings.append(ConfigWarning(origin.kind, origin.name, field_path, reason))

    def extend(self, other: Fragment) -> None:
        """Append everything `other` holds."""
        self.pools.extend(other.pools)
        self.peers.extend(other.peers)
        self.bgp_advertisements.extend(other.bgp_advertisements)
        self.l2_advertisements.extend(other.l2_advertisements)
        self.bfd_profiles.extend(other.bfd_profiles)
        self.communities.extend(other.communities)
        self.community_refs.extend(other.community_refs)
        self.secrets.extend(other.secrets)
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)
