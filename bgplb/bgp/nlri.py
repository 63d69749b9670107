"""Prefixes on the wire (RFC 4271 §4.3, RFC 4760 §5): a length octet, then just enough octets of the address.

Encoding is a slice of the packed address. Decoding walks the field prefix by prefix (a /32 run is checked
in one C-level slice) and memoises recently seen encodings, so re-decoding the same prefixes (withdrawals,
refreshes) costs a dict lookup. Trailing bits beyond the prefix length are ignored, as RFC 4271 allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network

from bgplb.bgp.constants import Afi, ErrorCode, UpdateErrorSubcode
from bgplb.bgp.errors import ErrorAction, ProtocolError

Prefix = IPv4Network | IPv6Network

_CACHE_LIMIT = 1 << 18
_cache: dict[int, dict[bytes, Prefix]] = {Afi.IPV4: {}, Afi.IPV6: {}}
_HOST32 = b"\x20"


def encode_prefix(prefix: Prefix) -> bytes:
    """The NLRI encoding of one prefix: length octet + the significant octets of the network address."""
    length = prefix.prefixlen
    return bytes((length,)) + prefix.network_address.packed[: (length + 7) >> 3]


def encode_prefixes(prefixes: Iterable[Prefix]) -> bytes:
    """The NLRI encoding of several prefixes, concatenated in order."""
    return b"".join(map(encode_prefix, prefixes))


def _invalid(reason: str) -> ProtocolError:
    return ProtocolError(
        ErrorCode.UPDATE_MESSAGE,
        UpdateErrorSubcode.INVALID_NETWORK_FIELD,
        reason,
        action=ErrorAction.SESSION_RESET,  # RFC 7606 §5.3: an NLRI field that cannot be parsed
    )


def decode_prefixes(data: bytes, afi: int) -> tuple[Prefix, ...]:
    """Decode a whole NLRI (or Withdrawn Routes) field of address family `afi`.

    Raises ProtocolError 3/10 (Invalid Network Field) when a length exceeds the address size or the
    field ends inside a prefix.
    """
    if afi == Afi.IPV4:
        network: type[IPv4Network] | type[IPv6Network] = IPv4Network
        bits = 32
    elif afi == Afi.IPV6:
        network, bits = IPv6Network, 128
    else:
        raise _invalid(f"NLRI of unsupported AFI {afi}")
    cache = _cache[afi]
    if len(cache) > _CACHE_LIMIT:
        cache.clear()
    size = len(data)
    if bits == 32 and size % 5 == 0 and data[::5] == _HOST32 * (size // 5):
        return tuple(_host32(data[i : i + 5], cache) for i in range(0, size, 5))
    out: list[Prefix] = []
    i = 0
    while i < size:
        length = data[i]
        if length > bits:
            raise _invalid(f"prefix length {length} exceeds {bits} bits")
        end = i + 1 + ((length + 7) >> 3)
        if end > size:
            raise _invalid(f"prefix of length {length} truncated after {size - i - 1} octets")
        key = data[i:end]
        prefix = cache.get(key)
        if prefix is None:
            value = int.from_bytes(key[1:], "big") << (bits - 8 * (end - i - 1))
            prefix = network((value, length), strict=False)
            cache[key] = prefix
        out.append(prefix)
        i = end
    return tuple(out)


def clear_cache() -> None:
    """Forget the memoised prefixes (to release memory, or to measure a cold decode)."""
    for cache in _cache.values():
        cache.clear()


def _host32(key: bytes, cache: dict[bytes, Prefix]) -> Prefix:
    prefix = cache.get(key)
    if prefix is None:
        prefix = cache[key] = IPv4Network(int.from_bytes(key[1:], "big"))
    return prefix
