"""Parsers for the scalar notations the sources use: address entries, Go durations, communities, ASNs.

Each parser raises ValueError with a message fit for a ConfigError reason; readers attach object and field.
"""

from __future__ import annotations

import ipaddress
import re

from bgplb.config.models import IPAddress, IPNetwork, IPRange

MAX_ASN = 4294967295
AS_TRANS = 23456

# RFC 1997 / RFC 7999 / RFC 8326 / RFC 8642 / RFC 9494 well-known communities, by their usual names.
WELL_KNOWN_COMMUNITIES: dict[str, str] = {
    "graceful-shutdown": "65535:0",
    "accept-own": "65535:1",
    "llgr-stale": "65535:6",
    "no-llgr": "65535:7",
    "blackhole": "65535:666",
    "no-export": "65535:65281",
    "no-advertise": "65535:65282",
    "no-export-subconfed": "65535:65283",
    "local-as": "65535:65283",
    "no-peer": "65535:65284",
}

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_address_entry(text: str) -> tuple[IPRange, IPNetwork | None]:
    """Parse a pool address entry: a CIDR, `first-last`, or one address (bare or /32, /128).

    Returns the range and, for a CIDR entry, the network as written (host bits cleared).
    """
    text = text.strip()
    if "-" in text:
        first_text, _, last_text = text.partition("-")
        try:
            first = ipaddress.ip_address(first_text.strip())
            last = ipaddress.ip_address(last_text.strip())
        except ValueError as exc:
            raise ValueError(f"invalid address range {text!r}: {exc}") from None
        if first.version != last.version:
            raise ValueError(f"invalid address range {text!r}: it mixes IPv4 and IPv6")
        if int(first) > int(last):
            raise ValueError(f"invalid address range {text!r}: start {first} is after stop {last}")
        return IPRange(first=first, last=last), None
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise ValueError(f"invalid CIDR or address {text!r}: {exc}") from None
    return IPRange.from_network(network), network


def has_host_bits(text: str) -> bool:
    """Whether a CIDR entry like 10.0.0.1/24 sets bits below its prefix length."""
    if "/" not in text or "-" in text:
        return False
    try:
        ipaddress.ip_network(text.strip(), strict=True)
    except ValueError:
        return True
    return False


def parse_ip(text: str) -> IPAddress:
    """Parse one IPv4 or IPv6 address."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise ValueError(f"invalid IP address {text!r}") from None


def parse_duration(value: object) -> int:
    """Parse a Go duration ("90s", "1m30s") or a number of seconds; fractions are cut, as in MetalLB."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    if isinstance(value, int):
        seconds: float = value
    elif isinstance(value, str):
        text = value.strip()
        if text in ("0", ""):
            return 0
        position, seconds = 0, 0.0
        for match in _DURATION_PART.finditer(text):
            if match.start() != position:
                break
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            position = match.end()
        if position != len(text) or position == 0:
            raise ValueError(f"invalid duration {value!r} (expected a Go duration such as 90s or 1m30s)")
    else:
        raise ValueError(f"invalid duration {value!r}")
    return int(seconds)


def check_asn(value: int) -> int:
    """Accept a 4-octet ASN 1..4294967295 (RFC 6793)."""
    if value == 0:
        raise ValueError("ASN 0 is reserved (RFC 7607) and cannot be used")
    if not 0 < value <= MAX_ASN:
        raise ValueError(f"ASN {value} is out of range 1..{MAX_ASN}")
    return value


def is_documentation_asn(asn: int) -> bool:
    """RFC 5398 documentation ranges: 64496-64511 and 65536-65551."""
    return 64496 <= asn <= 64511 or 65536 <= asn <= 65551


def is_private_asn(asn: int) -> bool:
    """RFC 6996 private-use ranges: 64512-65534 and 4200000000-4294967294."""
    return 64512 <= asn <= 65534 or 4200000000 <= asn <= 4294967294


def parse_community_value(text: str) -> str:
    """Normalise a literal community: "a:b" (16-bit parts) or "large:a:b:c" (32-bit parts).

    Returns "a:b" or "large:a:b:c" with canonical integers; raises ValueError when malformed.
    """
    text = text.strip()
    if text.startswith("large:"):
        parts = text.removeprefix("large:").split(":")
        if len(parts) != 3 or not all(p.isdigit() and int(p) <= MAX_ASN for p in parts):
            raise ValueError(f"invalid large community {text!r} (expected large:A:B:C, 32-bit numbers)")
        return "large:" + ":".join(str(int(p)) for p in parts)
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() and int(p) <= 65535 for p in parts):
        raise ValueError(f"invalid community {text!r} (expected A:B with 16-bit numbers, or large:A:B:C)")
    return ":".join(str(int(p)) for p in parts)


def is_community_literal(text: str) -> bool:
    """Whether `text` is written as a value (contains ':') rather than an alias name."""
    return ":" in text
