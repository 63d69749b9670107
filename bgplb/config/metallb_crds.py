"""Reader of MetalLB's metallb.io custom resources: one resource dict in, one Fragment out.

The per-kind readers live in metallb_pools.py (addresses, advertisements, communities) and
metallb_bgp.py (peers, BFD profiles); this module dispatches by kind and checks the API version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bgplb.config import metallb_bgp, metallb_pools
from bgplb.config.fields import Fields, ObjectMeta, check_version, read_object
from bgplb.config.fragment import Fragment

GROUP = "metallb.io"

_Reader = Callable[[ObjectMeta, Fields, Fragment], None]
_READERS: dict[str, tuple[_Reader, tuple[str, ...]]] = {
    "IPAddressPool": (metallb_pools.read_pool, ("v1beta1",)),
    "BGPAdvertisement": (metallb_pools.read_bgp_advertisement, ("v1beta1",)),
    "L2Advertisement": (metallb_pools.read_l2_advertisement, ("v1beta1",)),
    "Community": (metallb_pools.read_community, ("v1beta1",)),
    "BGPPeer": (metallb_bgp.read_peer, ("v1beta1", "v1beta2")),
    "BFDProfile": (metallb_bgp.read_bfd_profile, ("v1beta1",)),
}

KINDS = frozenset(_READERS)


def read(resource: Mapping[str, object]) -> Fragment:
    """Read one metallb.io resource; an unknown kind is a warning, never an exception."""
    out = Fragment()
    meta, spec = read_object(resource, out)
    entry = _READERS.get(meta.kind)
    if entry is None:
        out.warn(meta.origin, "kind", f"{meta.api_version} {meta.kind} is not a kind bgplb reads; ignored")
        return out
    reader, versions = entry
    check_version(meta, versions, out)
    reader(meta, spec, out)
    return out
