"""The `bgplb speak` configuration: a YAML file (or command-line flags) validated by pydantic v2.

Design: the pydantic models check shape, ranges and references; `load_speak_config` turns every validation
failure into one `ConfigError` naming the field (`peers[0].asn`). `speaker_setup` then converts the model
into what the transport needs: one `PeerSpec` per peer and the route blocks each peer should receive.
Everything is checked before any connection is dialled, but `split`/`count` blocks are expanded into host
routes only as the Adj-RIB-Out consumes them (`SpeakerSetup.routes_for`), so 100,000 Route and IPv4Network
values never exist at once (the Adj-RIB-Out keeps their compact form).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from itertools import chain
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bgplb.adapters.bgp_transport import PeerSpec
from bgplb.adapters.tcp_options import TcpOptions
from bgplb.bgp.communities import parse_community, parse_extended_community, parse_large_community
from bgplb.bgp.constants import IPV4_UNICAST, IPV6_UNICAST
from bgplb.bgp.fsm import Backoff
from bgplb.bgp.peer import GracefulRestartConfig, PeerConfig
from bgplb.bgp.routes import Route
from bgplb.errors import ConfigError

IpAddress = IPv4Address | IPv6Address
Asn = Annotated[int, Field(ge=1, le=4294967295)]
KIND = "speak config"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GracefulRestartModel(_Model):
    """Graceful restart (RFC 4724) as the restarting speaker."""

    restart_time: int = Field(120, ge=0, le=4095)


class PeerModel(_Model):
    """One BGP neighbour."""

    address: IpAddress
    asn: Asn | Literal["internal", "external"]
    port: int = Field(179, ge=1, le=65535)
    source_address: IpAddress | None = None
    password: str | None = Field(None, min_length=1, max_length=80)
    hold_time: int = Field(90, ge=0, le=65535)
    keepalive_time: int | None = Field(None, ge=1, le=21845)
    connect_retry_time: int = Field(5, ge=1, le=600)
    ebgp_multihop: int | None = Field(None, ge=1, le=255)
    ttl_security: int | None = Field(None, ge=1, le=254)
    passive: bool = False
    families: tuple[Literal["ipv4", "ipv6"], ...] = Field(("ipv4", "ipv6"), min_length=1)
    max_prefixes: int | None = Field(None, ge=1)

    @field_validator("hold_time")
    @classmethod
    def _hold_time(cls, value: int) -> int:
        if 0 < value < 3:
            raise ValueError("hold time must be 0 or at least 3 seconds (RFC 4271 §4.2)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PeerModel:
        if self.ebgp_multihop is not None and self.ttl_security is not None:
            raise ValueError("ebgp_multihop and ttl_security exclude each other")
        if self.source_address is not None and self.source_address.version != self.address.version:
            raise ValueError(f"source_address {self.source_address} is not the IP version of {self.address}")
        return self


class PrefixModel(_Model):
    """One announced prefix (or a block expanded into `count` prefixes of length `split`)."""

    prefix: IPv4Network | IPv6Network
    next_hop: IpAddress | None = None
    communities: tuple[str, ...] = ()
    large_communities: tuple[str, ...] = ()
    extended_communities: tuple[str, ...] = ()
    local_pref: int | None = Field(None, ge=0, le=4294967295)
    med: int | None = Field(None, ge=0, le=4294967295)
    peers: tuple[IpAddress, ...] | None = None
    split: int | None = Field(None, ge=0, le=128)
    count: int | None = Field(None, ge=1)

    @field_validator("prefix", mode="before")
    @classmethod
    def _prefix(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return ip_network(value, strict=True)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a network prefix (host bits set?)") from exc
        return value

    @field_validator("communities")
    @classmethod
    def _communities(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            parse_community(value)
        return values

    @field_validator("large_communities")
    @classmethod
    def _large(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            parse_large_community(value)
        return values

    @field_validator("extended_communities")
    @classmethod
    def _extended(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            parse_extended_community(value)
        return values

    @model_validator(mode="after")
    def _split(self) -> PrefixModel:
        if self.split is None:
            if self.count is not None:
                raise ValueError("count needs split")
            return self
        if self.split < self.prefix.prefixlen or self.split > self.prefix.max_prefixlen:
            limit = f"/{self.prefix.prefixlen} and /{self.prefix.max_prefixlen}"
            raise ValueError(f"split {self.split} must lie between {limit}")
        available = 1 << (self.split - self.prefix.prefixlen)
        if self.count is not None and self.count > available:
            raise ValueError(f"count {self.count} exceeds the {available} /{self.split}s in {self.prefix}")
        return self

    def expand(self) -> Iterator[IPv4Network | IPv6Network]:
        """The prefix itself, or its first `count` sub-prefixes of length `split`."""
        if self.split is None:
            yield self.prefix
            return
        step = 1 << (self.prefix.max_prefixlen - self.split)
        total = self.count if self.count is not None else 1 << (self.split - self.prefix.prefixlen)
        base = int(self.prefix.network_address)
        network = IPv4Network if self.prefix.version == 4 else IPv6Network
        for index in range(total):
            yield network((base + index * step, self.split))


class SpeakConfig(_Model):
    """The whole `bgplb speak` file."""

    local_asn: Asn
    router_id: IPv4Address
    hostname: str | None = Field(None, min_length=1, max_length=255)
    listen: str | None = None
    graceful_restart: GracefulRestartModel | None = None
    peers: tuple[PeerModel, ...] = Field(min_length=1)
    prefixes: tuple[PrefixModel, ...] = ()

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is not None:
            parse_listen(value)
        return value

    @model_validator(mode="after")
    def _references(self) -> SpeakConfig:
        addresses = [peer.address for peer in self.peers]
        duplicates = {a for a in addresses if addresses.count(a) > 1}
        if duplicates:
            raise ValueError(f"peer address listed twice: {', '.join(map(str, sorted(duplicates, key=str)))}")
        for index, prefix in enumerate(self.prefixes):
            unknown = [p for p in prefix.peers or () if p not in addresses]
            if unknown:
                raise ValueError(f"prefixes[{index}].peers: {unknown[0]} is not a configured peer")
        return self

    def listen_address(self) -> tuple[IpAddress, int] | None:
        """Where to accept connections: `listen`, or `[::]:179` when a peer is passive."""
        if self.listen is not None:
            return parse_listen(self.listen)
        if any(peer.passive for peer in self.peers):
            return IPv6Address("::"), 179
        return None


def parse_listen(text: str) -> tuple[IpAddress, int]:
    """`ADDR`, `ADDR:PORT` or `[V6ADDR]:PORT` -> (address, port); port 179 when omitted."""
    host, port = text, "179"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "179"
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        address = ip_address(host)
    except ValueError as exc:
        raise ValueError(f"listen {text!r}: {host!r} is not an IP address") from exc
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"listen {text!r}: port {port!r} is not 1..65535")
    return address, int(port)


_FIELD = re.compile(r"^[a-z_][a-z0-9_]*$")


def _field_path(loc: tuple[int | str, ...]) -> str:
    """`('peers', 0, 'asn', 'constrained-int')` -> `peers[0].asn` (pydantic's union tags dropped)."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _FIELD.match(part):
            path += f".{part}" if path else part
    return path


def validate_speak_config(data: object, source: str) -> SpeakConfig:
    """Validate parsed YAML (or flag-built) data; the first bad field becomes a ConfigError naming it."""
    try:
        return SpeakConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        field = _field_path(tuple(errors[0]["loc"]))
        same = [e for e in errors if _field_path(tuple(e["loc"])) == field]
        reasons = [e["msg"].removeprefix("Value error, ") for e in same]
        reason = " or ".join(dict.fromkeys(reasons))
        if errors[0]["type"] not in {"value_error", "missing", "extra_forbidden"}:
            reason = f"{errors[0]['input']!r}: {reason}"
        raise ConfigError(KIND, source, field, reason) from None


def read_speak_yaml(path: Path) -> dict[str, object]:
    """The raw mapping of a `bgplb speak` YAML file (flags may still be laid over it)."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(KIND, str(path), "", f"cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(KIND, str(path), "", f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(KIND, str(path), "", "expected a mapping with local_asn, router_id and peers")
    return data


def load_speak_config(path: Path) -> SpeakConfig:
    """Read and validate a `bgplb speak` YAML file."""
    return validate_speak_config(read_speak_yaml(path), str(path))


@dataclass(frozen=True, slots=True)
class RouteBlock:
    """One `prefixes` entry: its attributes as a checked Route of the whole prefix, and the prefixes."""

    template: Route
    model: PrefixModel

    @property
    def size(self) -> int:
        """How many routes `routes` yields."""
        model = self.model
        if model.split is None:
            return 1
        return model.count if model.count is not None else 1 << (model.split - model.prefix.prefixlen)

    def routes(self) -> Iterator[Route]:
        """The template itself, or one Route per sub-prefix of a `split` block, built as consumed."""
        if self.model.split is None:
            yield self.template
            return
        t = self.template
        attributes = (t.next_hop, t.origin, t.med, t.local_pref, t.communities, t.large_communities)
        extra = (t.extended_communities, t.as_path_prepend)
        for prefix in self.model.expand():
            yield Route(prefix, *attributes, *extra)


@dataclass(frozen=True, slots=True)
class SpeakerSetup:
    """What the transport needs: the peers, the listening socket, the route blocks per peer."""

    peers: tuple[PeerSpec, ...]
    listen: tuple[tuple[IpAddress, int], ...]
    blocks: dict[IpAddress, tuple[RouteBlock, ...]]

    def routes_for(self, peer: IpAddress) -> Iterator[Route]:
        """The routes `peer` should have, built as they are consumed (pass it to `set_routes`)."""
        return chain.from_iterable(block.routes() for block in self.blocks.get(peer, ()))


_FAMILIES = {"ipv4": IPV4_UNICAST, "ipv6": IPV6_UNICAST}


def _peer_spec(config: SpeakConfig, peer: PeerModel, restarting: bool) -> PeerSpec:
    peer_asn = config.local_asn if peer.asn == "internal" else None if peer.asn == "external" else peer.asn
    gr = config.graceful_restart
    session = PeerConfig(
        local_asn=config.local_asn,
        peer_asn=peer_asn,
        router_id=config.router_id,
        hold_time=peer.hold_time,
        keepalive_time=peer.keepalive_time,
        connect_retry_time=float(peer.connect_retry_time),
        backoff=Backoff(initial=1.0, maximum=6.0 * peer.connect_retry_time),
        passive=peer.passive,
        families=tuple(_FAMILIES[name] for name in peer.families),
        graceful_restart=None if gr is None else GracefulRestartConfig(restart_time=gr.restart_time),
        hostname=config.hostname or socket.gethostname(),
        max_prefixes=peer.max_prefixes,
    )
    tcp = TcpOptions.for_peer(
        password=peer.password,
        ebgp=peer_asn != config.local_asn,
        ebgp_multihop=peer.ebgp_multihop,
        ttl_security=peer.ttl_security,
    )
    return PeerSpec(
        address=peer.address,
        config=session,
        port=peer.port,
        source_address=peer.source_address,
        tcp=tcp,
        connect_timeout=float(peer.connect_retry_time),
        restarting=restarting and gr is not None,
    )


def _block(model: PrefixModel) -> RouteBlock:
    template = Route(
        prefix=model.prefix,
        next_hop=model.next_hop,
        med=model.med,
        local_pref=model.local_pref,
        communities=tuple(parse_community(c) for c in model.communities),
        large_communities=tuple(parse_large_community(c) for c in model.large_communities),
        extended_communities=tuple(parse_extended_community(c) for c in model.extended_communities),
    )
    return RouteBlock(template, model)


def speaker_setup(config: SpeakConfig, *, restarting: bool = False) -> SpeakerSetup:
    """Peers, listener and route blocks per peer for `config`; each block's attributes are checked here
    (a block's routes differ only by prefix). `restarting`: announce the graceful-restart R bit (when
    graceful restart is configured)."""
    specs = tuple(_peer_spec(config, peer, restarting) for peer in config.peers)
    blocks: dict[IpAddress, list[RouteBlock]] = {spec.address: [] for spec in specs}
    for index, model in enumerate(config.prefixes):
        try:
            block = _block(model)
        except ValueError as exc:
            raise ConfigError(KIND, "", f"prefixes[{index}]", str(exc)) from None
        for address in model.peers or blocks.keys():
            blocks[address].append(block)
    listen = config.listen_address()
    return SpeakerSetup(
        peers=specs,
        listen=() if listen is None else (listen,),
        blocks={address: tuple(b) for address, b in blocks.items()},
    )
