"""Wire numbers of BGP-4: message types, attribute and capability codes, AFI/SAFI, error codes and subcodes.

Every number the codec writes or checks is named here, with the RFC that assigns it. Nothing here does work.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

HEADER_LEN = 19
MARKER = b"\xff" * 16
MAX_MESSAGE = 4096
MAX_EXTENDED_MESSAGE = 65535  # RFC 8654
AS_TRANS = 23456  # RFC 6793 §2
BGP_VERSION = 4
MIN_MESSAGE_LEN = {1: 29, 2: 23, 3: 21, 4: 19, 5: 23}  # RFC 4271 §4, RFC 2918 §3: by MessageType


class MessageType(IntEnum):
    """RFC 4271 §4.1 message types (ROUTE-REFRESH: RFC 2918)."""

    OPEN = 1
    UPDATE = 2
    NOTIFICATION = 3
    KEEPALIVE = 4
    ROUTE_REFRESH = 5


class AttrFlag(IntFlag):
    """RFC 4271 §4.3 path attribute flag bits."""

    OPTIONAL = 0x80
    TRANSITIVE = 0x40
    PARTIAL = 0x20
    EXTENDED_LENGTH = 0x10


class AttrType(IntEnum):
    """Path attribute type codes (IANA "BGP Path Attributes")."""

    ORIGIN = 1
    AS_PATH = 2
    NEXT_HOP = 3
    MULTI_EXIT_DISC = 4
    LOCAL_PREF = 5
    ATOMIC_AGGREGATE = 6
    AGGREGATOR = 7
    COMMUNITIES = 8
    ORIGINATOR_ID = 9
    CLUSTER_LIST = 10
    MP_REACH_NLRI = 14
    MP_UNREACH_NLRI = 15
    EXTENDED_COMMUNITIES = 16
    AS4_PATH = 17
    AS4_AGGREGATOR = 18
    LARGE_COMMUNITY = 32


class CapabilityCode(IntEnum):
    """Capability codes (IANA "Capability Codes"; RFC 5492)."""

    MULTIPROTOCOL = 1  # RFC 4760
    ROUTE_REFRESH = 2  # RFC 2918
    EXTENDED_MESSAGE = 6  # RFC 8654
    GRACEFUL_RESTART = 64  # RFC 4724
    FOUR_OCTET_AS = 65  # RFC 6793
    ENHANCED_ROUTE_REFRESH = 70  # RFC 7313
    FQDN = 73  # draft-walton-bgp-hostname-capability


class OptionalParameterType(IntEnum):
    """OPEN optional parameter types (RFC 4271 §4.2, RFC 5492 §4; 255 = RFC 9072 extended length)."""

    CAPABILITIES = 2
    EXTENDED_LENGTH = 255


class Afi(IntEnum):
    """Address Family Identifiers (IANA)."""

    IPV4 = 1
    IPV6 = 2


class Safi(IntEnum):
    """Subsequent Address Family Identifiers (RFC 4760)."""

    UNICAST = 1
    MULTICAST = 2


class ErrorCode(IntEnum):
    """NOTIFICATION error codes (RFC 4271 §4.5; 7 = ROUTE-REFRESH message error, RFC 7313 §5)."""

    MESSAGE_HEADER = 1
    OPEN_MESSAGE = 2
    UPDATE_MESSAGE = 3
    HOLD_TIMER_EXPIRED = 4
    FSM = 5
    CEASE = 6
    ROUTE_REFRESH_MESSAGE = 7


class HeaderErrorSubcode(IntEnum):
    """RFC 4271 §6.1."""

    CONNECTION_NOT_SYNCHRONIZED = 1
    BAD_MESSAGE_LENGTH = 2
    BAD_MESSAGE_TYPE = 3


class OpenErrorSubcode(IntEnum):
    """RFC 4271 §6.2, RFC 5492 §5 (7)."""

    UNSPECIFIC = 0
    UNSUPPORTED_VERSION_NUMBER = 1
    BAD_PEER_AS = 2
    BAD_BGP_IDENTIFIER = 3
    UNSUPPORTED_OPTIONAL_PARAMETER = 4
    UNACCEPTABLE_HOLD_TIME = 6
    UNSUPPORTED_CAPABILITY = 7


class UpdateErrorSubcode(IntEnum):
    """RFC 4271 §6.3."""

    UNSPECIFIC = 0
    MALFORMED_ATTRIBUTE_LIST = 1
    UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE = 2
    MISSING_WELL_KNOWN_ATTRIBUTE = 3
    ATTRIBUTE_FLAGS_ERROR = 4
    ATTRIBUTE_LENGTH_ERROR = 5
    INVALID_ORIGIN_ATTRIBUTE = 6
    INVALID_NEXT_HOP_ATTRIBUTE = 8
    OPTIONAL_ATTRIBUTE_ERROR = 9
    INVALID_NETWORK_FIELD = 10
    MALFORMED_AS_PATH = 11


class FsmErrorSubcode(IntEnum):
    """RFC 6608 §4."""

    UNSPECIFIED = 0
    UNEXPECTED_MESSAGE_IN_OPEN_SENT = 1
    UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM = 2
    UNEXPECTED_MESSAGE_IN_ESTABLISHED = 3


class CeaseSubcode(IntEnum):
    """RFC 4486 §4 (9: RFC 8538 Hard Reset)."""

    MAXIMUM_PREFIXES_REACHED = 1
    ADMINISTRATIVE_SHUTDOWN = 2
    PEER_DECONFIGURED = 3
    ADMINISTRATIVE_RESET = 4
    CONNECTION_REJECTED = 5
    OTHER_CONFIGURATION_CHANGE = 6
    CONNECTION_COLLISION_RESOLUTION = 7
    OUT_OF_RESOURCES = 8
    HARD_RESET = 9


class RouteRefreshErrorSubcode(IntEnum):
    """RFC 7313 §5."""

    INVALID_MESSAGE_LENGTH = 1


class RouteRefreshSubtype(IntEnum):
    """RFC 7313 §3: the former Reserved octet of ROUTE-REFRESH."""

    NORMAL = 0
    BEGIN_OF_RIB = 1
    END_OF_RIB = 2


class OriginType(IntEnum):
    """RFC 4271 §4.3 ORIGIN values."""

    IGP = 0
    EGP = 1
    INCOMPLETE = 2


class AsPathSegmentType(IntEnum):
    """RFC 4271 §4.3 (SET, SEQUENCE) and RFC 5065 §3 (confederation segments)."""

    AS_SET = 1
    AS_SEQUENCE = 2
    AS_CONFED_SEQUENCE = 3
    AS_CONFED_SET = 4


@dataclass(frozen=True, slots=True)
class Family:
    """An address family: the (AFI, SAFI) pair negotiated with the Multiprotocol capability."""

    afi: int
    safi: int

    def __str__(self) -> str:
        try:
            return f"{Afi(self.afi).name.lower()}-{Safi(self.safi).name.lower()}"
        except ValueError:
            return f"afi{self.afi}-safi{self.safi}"


IPV4_UNICAST = Family(Afi.IPV4, Safi.UNICAST)
IPV6_UNICAST = Family(Afi.IPV6, Safi.UNICAST)
