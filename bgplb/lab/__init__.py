"""The lab: a virtual network with a real FRR router, several nodes and a client in network namespaces."""
