"""Configuration: MetalLB CRDs, MetalLB legacy ConfigMap and Cilium resources into one validated model."""
