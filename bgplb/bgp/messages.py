"""The five BGP messages as frozen values (RFC 4271 §4, RFC 2918, RFC 7313); the codec turns them into bytes.

`Update` carries IPv4 unicast in its withdrawn/NLRI fields and every other family in MP_REACH/MP_UNREACH
attributes (RFC 4760). `Update.errors` lists the non-fatal RFC 7606 problems met while decoding; it does
not take part in equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import TypeVar

from bgplb.bgp.attributes import Attribute, MpReachNlri, MpUnreachNlri
from bgplb.bgp.capabilities import Capability, FourOctetAs
from bgplb.bgp.constants import (
    BGP_VERSION,
    IPV4_UNICAST,
    CeaseSubcode,
    ErrorCode,
    Family,
    RouteRefreshSubtype,
)
from bgplb.bgp.errors import ErrorAction, ProtocolError
from bgplb.bgp.nlri import Prefix

_A = TypeVar("_A", bound=Attribute)
_C = TypeVar("_C", bound=Capability)
SHUTDOWN_MESSAGE_MAX = 255  # RFC 9003 §2: octets of UTF-8


def _check(condition: bool, cls: str, field: str, reason: str) -> None:
    if not condition:
        raise ValueError(f"{cls}.{field}: {reason}")


@dataclass(frozen=True, slots=True)
class Open:
    """OPEN (RFC 4271 §4.2). `asn` is the real ASN; on the wire a 4-octet ASN becomes AS_TRANS (RFC 6793)."""

    asn: int
    hold_time: int
    bgp_id: IPv4Address
    capabilities: tuple[Capability, ...] = ()
    version: int = BGP_VERSION

    def __post_init__(self) -> None:
        _check(0 <= self.asn <= 0xFFFFFFFF, "Open", "asn", "must be 0..4294967295")
        _check(0 <= self.hold_time <= 0xFFFF, "Open", "hold_time", "must be 0..65535")
        _check(0 <= self.version <= 0xFF, "Open", "version", "must be 0..255")

    def capability(self, kind: type[_C]) -> _C | None:
        """The first capability of the given class, or None."""
        for cap in self.capabilities:
            if isinstance(cap, kind):
                return cap
        return None

    def all_capabilities(self, kind: type[_C]) -> tuple[_C, ...]:
        """Every capability of the given class (e.g. one Multiprotocol per family)."""
        return tuple(cap for cap in self.capabilities if isinstance(cap, kind))

    @property
    def four_octet_as(self) -> bool:
        """Whether the 4-octet AS capability is present."""
        return self.capability(FourOctetAs) is not None


@dataclass(frozen=True, slots=True)
class Update:
    """UPDATE (RFC 4271 §4.3). IPv4 unicast withdrawals/NLRI here; other families in MP_* attributes."""

    withdrawn: tuple[IPv4Network, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    nlri: tuple[IPv4Network, ...] = ()
    errors: tuple[ProtocolError, ...] = field(default=(), compare=False)

    def get(self, kind: type[_A]) -> _A | None:
        """The attribute of the given class, or None."""
        for attr in self.attributes:
            if isinstance(attr, kind):
                return attr
        return None

    @property
    def treat_as_withdraw(self) -> bool:
        """RFC 7606 §2: an error asked for every route in this UPDATE to be handled as withdrawn."""
        return any(err.action == ErrorAction.TREAT_AS_WITHDRAW for err in self.errors)

    def is_end_of_rib(self) -> Family | None:
        """The family this UPDATE is the End-of-RIB marker of (RFC 4724 §2), or None."""
        if self.withdrawn or self.nlri:
            return None
        if not self.attributes:
            return IPV4_UNICAST
        if len(self.attributes) == 1:
            (attr,) = self.attributes
            if isinstance(attr, MpUnreachNlri) and not attr.withdrawn:
                return Family(attr.afi, attr.safi)
        return None

    def announced(self) -> dict[Family, tuple[Prefix, ...]]:
        """Prefixes announced per family: the NLRI field (IPv4 unicast) and MP_REACH_NLRI."""
        out: dict[Family, tuple[Prefix, ...]] = {IPV4_UNICAST: self.nlri} if self.nlri else {}
        mp = self.get(MpReachNlri)
        if mp is not None and mp.nlri:
            out[Family(mp.afi, mp.safi)] = mp.nlri
        return out

    def withdrawn_by_family(self) -> dict[Family, tuple[Prefix, ...]]:
        """Prefixes withdrawn per family: the Withdrawn Routes field and MP_UNREACH_NLRI."""
        out: dict[Family, tuple[Prefix, ...]] = {IPV4_UNICAST: self.withdrawn} if self.withdrawn else {}
        mp = self.get(MpUnreachNlri)
        if mp is not None and mp.withdrawn:
            out[Family(mp.afi, mp.safi)] = mp.withdrawn
        return out


def end_of_rib(family: Family) -> Update:
    """The End-of-RIB marker of `family` (RFC 4724 §2)."""
    if family == IPV4_UNICAST:
        return Update()
    return Update(attributes=(MpUnreachNlri(family.afi, family.safi, ()),))


@dataclass(frozen=True, slots=True)
class Keepalive:
    """KEEPALIVE (RFC 4271 §4.4): the header alone."""


@dataclass(frozen=True, slots=True)
class Notification:
    """NOTIFICATION (RFC 4271 §4.5): error code, subcode and data; the sender closes the connection."""

    code: int
    subcode: int
    data: bytes = b""

    def __post_init__(self) -> None:
        _check(0 <= self.code <= 0xFF and 0 <= self.subcode <= 0xFF, "Notification", "code/subcode", "octets")

    @classmethod
    def shutdown(cls, message: str = "", subcode: int = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN) -> Notification:
        """Cease/Administrative Shutdown (or Reset) with an RFC 9003 shutdown message (cut to 255 octets)."""
        raw = message.encode("utf-8")[:SHUTDOWN_MESSAGE_MAX].decode("utf-8", "ignore").encode("utf-8")
        return cls(ErrorCode.CEASE, subcode, bytes((len(raw),)) + raw if raw else b"")

    @property
    def shutdown_message(self) -> str | None:
        """The RFC 9003 message of a Cease/Administrative Shutdown or Reset, if well-formed."""
        shutdown_subcodes = (CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, CeaseSubcode.ADMINISTRATIVE_RESET)
        if self.code != ErrorCode.CEASE or self.subcode not in shutdown_subcodes or not self.data:
            return None
        if self.data[0] != len(self.data) - 1:
            return None
        try:
            return self.data[1:].decode("utf-8")
        except UnicodeDecodeError:
            return None

    def __str__(self) -> str:
        try:
            name = ErrorCode(self.code).name
        except ValueError:
            name = f"code {self.code}"
        text = self.shutdown_message
        detail = f": {text!r}" if text else (f" data {self.data.hex()}" if self.data else "")
        return f"NOTIFICATION {name}/{self.subcode}{detail}"


@dataclass(frozen=True, slots=True)
class RouteRefresh:
    """ROUTE-REFRESH (RFC 2918 §3); subtype 1/2 are Begin/End-of-RIB (RFC 7313 §3)."""

    afi: int
    safi: int
    subtype: int = RouteRefreshSubtype.NORMAL

    def __post_init__(self) -> None:
        ok = 0 <= self.afi <= 0xFFFF and 0 <= self.safi <= 0xFF and 0 <= self.subtype <= 0xFF
        _check(ok, "RouteRefresh", "afi/safi/subtype", "out of range")

    @property
    def family(self) -> Family:
        """The (AFI, SAFI) pair to refresh."""
        return Family(self.afi, self.safi)


Message = Open | Update | Keepalive | Notification | RouteRefresh
