"""BGP capabilities (RFC 5492): frozen values that encode their own value, decoded via a registry by code.

A capability on the wire is code (1 octet), length (1 octet), value. Unknown codes are kept as
`UnknownCapability` with their raw bytes. A malformed known capability is an OPEN Message Error
(code 2, subcode 0: RFC 5492 names no finer subcode).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from bgplb.bgp.constants import CapabilityCode, ErrorCode, Family, OpenErrorSubcode
from bgplb.bgp.errors import ErrorAction, ProtocolError


def _malformed(name: str, reason: str) -> ProtocolError:
    return ProtocolError(
        ErrorCode.OPEN_MESSAGE,
        OpenErrorSubcode.UNSPECIFIC,
        f"malformed {name} capability: {reason}",
        action=ErrorAction.SESSION_RESET,
    )


def _expect_length(name: str, value: bytes, length: int) -> None:
    if len(value) != length:
        raise _malformed(name, f"length {len(value)}, expected {length}")


def _check(condition: bool, cls: str, field: str, reason: str) -> None:
    if not condition:
        raise ValueError(f"{cls}.{field}: {reason}")


@dataclass(frozen=True, slots=True)
class Multiprotocol:
    """RFC 4760 §8: we can carry this AFI/SAFI."""

    afi: int
    safi: int
    code: ClassVar[int] = CapabilityCode.MULTIPROTOCOL

    def __post_init__(self) -> None:
        ok = 0 <= self.afi <= 0xFFFF and 0 <= self.safi <= 0xFF
        _check(ok, "Multiprotocol", "afi/safi", "out of range")

    @property
    def family(self) -> Family:
        """The (AFI, SAFI) pair."""
        return Family(self.afi, self.safi)

    def encode_value(self) -> bytes:
        """Value octets: AFI (2), reserved (1), SAFI (1)."""
        return self.afi.to_bytes(2, "big") + bytes((0, self.safi))

    @classmethod
    def decode_value(cls, value: bytes) -> Self:
        """Parse the value octets."""
        _expect_length("Multiprotocol", value, 4)
        return cls(int.from_bytes(value[:2], "big"), value[3])


@dataclass(frozen=True, slots=True)
class _Empty:
    """A capability whose presence is the whole message (value length 0)."""

    code: ClassVar[int] = 0

    def encode_value(self) -> bytes:
        """No value octets."""
        return b""

    @classmethod
    def decode_value(cls, value: bytes) -> Self:
        """Parse the (empty) value."""
        _expect_length(cls.__name__, value, 0)
        return cls()


@dataclass(frozen=True, slots=True)
class RouteRefreshCapability(_Empty):
    """RFC 2918 §2: the peer accepts ROUTE-REFRESH."""

    code: ClassVar[int] = CapabilityCode.ROUTE_REFRESH


@dataclass(frozen=True, slots=True)
class EnhancedRouteRefresh(_Empty):
    """RFC 7313 §3: ROUTE-REFRESH with Begin/End-of-RIB markers."""

    code: ClassVar[int] = CapabilityCode.ENHANCED_ROUTE_REFRESH


@dataclass(frozen=True, slots=True)
class ExtendedMessage(_Empty):
    """RFC 8654: messages (other than OPEN and KEEPALIVE) up to 65535 octets."""

    code: ClassVar[int] = CapabilityCode.EXTENDED_MESSAGE


@dataclass(frozen=True, slots=True)
class GracefulRestartFamily:
    """One AFI/SAFI of the Graceful Restart capability; `forwarding_preserved` is the F bit."""

    afi: int
    safi: int
    forwarding_preserved: bool = False

    @property
    def family(self) -> Family:
        """The (AFI, SAFI) pair."""
        return Family(self.afi, self.safi)


_GR_RESTARTING = 0x8000
_GR_NOTIFICATION = 0x4000  # RFC 8538 §2: N bit
_GR_TIME_MASK = 0x0FFF
_GR_FORWARDING = 0x80


@dataclass(frozen=True, slots=True)
class GracefulRestart:
    """RFC 4724 §3 (N bit: RFC 8538): restart flags, restart time (seconds, 12 bits), per-family F bits."""

    restarting: bool = False
    notification: bool = False
    restart_time: int = 120
    families: tuple[GracefulRestartFamily, ...] = ()
    code: ClassVar[int] = CapabilityCode.GRACEFUL_RESTART

    def __post_init__(self) -> None:
        _check(0 <= self.restart_time <= _GR_TIME_MASK, "GracefulRestart", "restart_time", "must be 0..4095")

    def encode_value(self) -> bytes:
        """Value octets: flags + restart time (2), then AFI (2), SAFI (1), flags (1) per family."""
        head = self.restart_time | (_GR_RESTARTING if self.restarting else 0)
        head |= _GR_NOTIFICATION if self.notification else 0
        parts = [head.to_bytes(2, "big")]
        for fam in self.families:
            flags = _GR_FORWARDING if fam.forwarding_preserved else 0
            parts.append(fam.afi.to_bytes(2, "big") + bytes((fam.safi, flags)))
        return b"".join(parts)

    @classmethod
    def decode_value(cls, value: bytes) -> Self:
        """Parse the value octets."""
        if len(value) < 2 or (len(value) - 2) % 4:
            raise _malformed("GracefulRestart", f"length {len(value)} is not 2 + 4n")
        head = int.from_bytes(value[:2], "big")
        families = tuple(
            GracefulRestartFamily(
                int.from_bytes(value[i : i + 2], "big"), value[i + 2], bool(value[i + 3] & _GR_FORWARDING)
            )
            for i in range(2, len(value), 4)
        )
        return cls(
            restarting=bool(head & _GR_RESTARTING),
            notification=bool(head & _GR_NOTIFICATION),
            restart_time=head & _GR_TIME_MASK,
            families=families,
        )


@dataclass(frozen=True, slots=True)
class FourOctetAs:
    """RFC 6793 §3: support for 4-octet AS numbers, carrying our real ASN."""

    asn: int
    code: ClassVar[int] = CapabilityCode.FOUR_OCTET_AS

    def __post_init__(self) -> None:
        _check(0 <= self.asn <= 0xFFFFFFFF, "FourOctetAs", "asn", "must be 0..4294967295")

    def encode_value(self) -> bytes:
        """Value octets: the ASN (4)."""
        return self.asn.to_bytes(4, "big")

    @classmethod
    def decode_value(cls, value: bytes) -> Self:
        """Parse the value octets."""
        _expect_length("FourOctetAs", value, 4)
        return cls(int.from_bytes(value, "big"))


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class Fqdn:
    """draft-walton-bgp-hostname-capability: our host and domain name (shown by `show bgp neighbors`)."""

    hostname: str
    domain: str = ""
    code: ClassVar[int] = CapabilityCode.FQDN

    def __post_init__(self) -> None:
        _check(len(_raw(self.hostname)) <= 255, "Fqdn", "hostname", "longer than 255 octets")
        _check(len(_raw(self.domain)) <= 255, "Fqdn", "domain", "longer than 255 octets")

    def encode_value(self) -> bytes:
        """Value octets: hostname length (1), hostname, domain length (1), domain."""
        host, domain = _raw(self.hostname), _raw(self.domain)
        return bytes((len(host),)) + host + bytes((len(domain),)) + domain

    @classmethod
    def decode_value(cls, value: bytes) -> Self:
        """Parse the value octets."""
        if not value or len(value) < 2 + value[0]:
            raise _malformed("Fqdn", "hostname length overruns the capability")
        host_end = 1 + value[0]
        domain_len = value[host_end]
        if host_end + 1 + domain_len != len(value):
            raise _malformed("Fqdn", "domain length disagrees with the capability length")
        return cls(_text(value[1:host_end]), _text(value[host_end + 1 :]))


@dataclass(frozen=True, slots=True)
class UnknownCapability:
    """A capability we do not implement, kept verbatim."""

    code: int
    value: bytes = b""

    def __post_init__(self) -> None:
        _check(0 <= self.code <= 255, "UnknownCapability", "code", "must be 0..255")
        _check(len(self.value) <= 255, "UnknownCapability", "value", "longer than 255 octets")

    def encode_value(self) -> bytes:
        """The raw value octets."""
        return self.value


Capability = (
    Multiprotocol
    | RouteRefreshCapability
    | EnhancedRouteRefresh
    | ExtendedMessage
    | GracefulRestart
    | FourOctetAs
    | Fqdn
    | UnknownCapability
)

_KNOWN: tuple[
    type[Multiprotocol | RouteRefreshCapability | EnhancedRouteRefresh | ExtendedMessage]
    | type[GracefulRestart | FourOctetAs | Fqdn],
    ...,
] = (
    Multiprotocol,
    RouteRefreshCapability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    GracefulRestart,
    FourOctetAs,
    Fqdn,
)
REGISTRY = {cls.code: cls for cls in _KNOWN}


def encode_capability(capability: Capability) -> bytes:
    """One capability as code, length, value."""
    value = capability.encode_value()
    if len(value) > 255:
        raise ValueError(f"{type(capability).__name__}: value of {len(value)} octets exceeds 255")
    return bytes((capability.code, len(value))) + value


def decode_capabilities(data: bytes) -> tuple[Capability, ...]:
    """All capabilities in one Capabilities optional parameter value (RFC 5492 §4: several may share one)."""
    out: list[Capability] = []
    i, size = 0, len(data)
    while i < size:
        if i + 2 > size:
            raise _malformed("optional parameter", "capability header truncated")
        code, length = data[i], data[i + 1]
        end = i + 2 + length
        if end > size:
            raise _malformed(f"code {code}", f"length {length} overruns the optional parameter")
        value = data[i + 2 : end]
        cls = REGISTRY.get(code)
        out.append(cls.decode_value(value) if cls is not None else UnknownCapability(code, value))
        i = end
    return tuple(out)
