"""Identifier types shared by every layer, so that an ASN is never confused with a port."""

from __future__ import annotations

from typing import NewType

Asn = NewType("Asn", int)
"""An autonomous system number, 1..4294967295 (4-octet, RFC 6793)."""

RouterId = NewType("RouterId", str)
"""A BGP identifier in dotted-quad form."""

NodeName = NewType("NodeName", str)
"""A Kubernetes Node name (or a host name in no-Kubernetes mode)."""

ServiceKey = NewType("ServiceKey", str)
"""A Service identified as `namespace/name`."""
