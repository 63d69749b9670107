"""Which cluster resources configure bgplb on Kubernetes: `--config-source` of both daemons.

`metallb`: the metallb.io resources (or MetalLB's legacy ConfigMap) in bgplb's namespace; `cilium`: Cilium's
CiliumLoadBalancerIPPool and BGP resources, with BGP passwords in Cilium's secrets namespace.
"""

from __future__ import annotations

from enum import StrEnum


class ConfigSource(StrEnum):
    """Which resources configure bgplb (`--config-source`)."""

    METALLB = "metallb"
    CILIUM = "cilium"
