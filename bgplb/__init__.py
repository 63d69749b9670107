"""bgplb: a load balancer for bare-metal Kubernetes (IPAM, BGP and layer-2 announcements, router configs)."""

__version__ = "0.1.0"
