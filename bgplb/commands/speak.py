"""`bgplb speak`: announce prefixes to BGP peers from flags or a YAML file, until SIGTERM/SIGINT.

Design: flags and the YAML file build one mapping, validated once by `speak_config` (errors name the
field, exit code 2); the whole config, including expanded prefix blocks, is built before the first dial.
The speaker prints one line per session state change (text or JSON lines). SIGTERM/SIGINT stop it with
Cease/Administrative Shutdown, or silently with `--graceful` when graceful restart is configured, so the
router keeps the routes as stale. SIGHUP re-reads the YAML file and applies the new prefixes.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bgplb.adapters import speak_config
from bgplb.adapters.bgp_transport import BgpSpeaker
from bgplb.adapters.speak_config import SpeakConfig, SpeakerSetup, speaker_setup
from bgplb.adapters.tcp_options import IpAddress
from bgplb.bgp.events import RouteRefreshBegun, RouteRefreshEnded, SessionDown, StateChanged
from bgplb.errors import ConfigError

SHUTDOWN_MESSAGE = "bgplb speak stopped"


class Output(StrEnum):
    """How `speak` prints session events."""

    TEXT = "text"
    JSON = "json"


def _peer_flag(text: str) -> dict[str, object]:
    """`ADDR[:PORT],ASN` (IPv6 with a port as `[ADDR]:PORT`)."""
    where, sep, asn = text.rpartition(",")
    if not sep:
        raise typer.BadParameter(f"--peer {text!r}: expected ADDR[:PORT],ASN")
    try:
        address, port = speak_config.parse_listen(where)
    except ValueError as exc:
        raise typer.BadParameter(f"--peer {text!r}: {exc}".replace("listen ", "")) from None
    return {"address": str(address), "port": port, "asn": int(asn) if asn.isdigit() else asn}


_PREFIX_KEYS = {"next-hop": "next_hop", "local-pref": "local_pref", "med": "med"}


def _prefix_flag(text: str) -> dict[str, object]:
    """`P[,next-hop=A][,community=X][,large-community=X][,local-pref=N][,med=N]`."""
    prefix, *options = text.split(",")
    entry: dict[str, object] = {"prefix": prefix}
    communities: list[str] = []
    large: list[str] = []
    for option in options:
        key, sep, value = option.partition("=")
        if not sep:
            raise typer.BadParameter(f"--prefix {text!r}: option {option!r} is not KEY=VALUE")
        if key == "community":
            communities.append(value)
        elif key == "large-community":
            large.append(value)
        elif key in _PREFIX_KEYS:
            entry[_PREFIX_KEYS[key]] = int(value) if value.isdigit() else value
        else:
            raise typer.BadParameter(f"--prefix {text!r}: unknown option {key!r}")
    if communities:
        entry["communities"] = communities
    if large:
        entry["large_communities"] = large
    return entry


def build_config(
    config: Path | None,
    *,
    asn: int | None,
    router_id: str | None,
    peers: list[str],
    prefixes: list[str],
    listen: str | None,
) -> SpeakConfig:
    """The file (if any) with the flags laid over it; raises ConfigError naming the field."""
    data: dict[str, object] = {}
    source = "command line"
    if config is not None:
        data = speak_config.read_speak_yaml(config)
        source = str(config)
    if asn is not None:
        data["local_asn"] = asn
    if router_id is not None:
        data["router_id"] = router_id
    if listen is not None:
        data["listen"] = listen
    for key, flags, parse in (("peers", peers, _peer_flag), ("prefixes", prefixes, _prefix_flag)):
        if flags:
            listed = data.get(key) or []
            if not isinstance(listed, list):
                raise ConfigError(speak_config.KIND, source, key, "expected a list")
            data[key] = [*listed, *(parse(flag) for flag in flags)]
    return speak_config.validate_speak_config(data, source)


class EventPrinter:
    """Prints session events (and speak's own) as text or JSON lines, flushed at once."""

    def __init__(self, output: Output) -> None:
        self.output = output

    def __call__(self, peer: IpAddress, event: object) -> None:
        if isinstance(event, StateChanged):
            reason = getattr(event.reason, "value", event.reason)
            record = {"event": "state", "old": event.old.value, "new": event.new.value, "reason": reason}
        elif isinstance(event, SessionDown):
            notification = event.notification
            record = {
                "event": "down",
                "reason": event.reason.value,
                "notification": None if notification is None else str(notification),
            }
        elif isinstance(event, RouteRefreshBegun):  # the peer re-sends its routes (RFC 7313)
            record = {"event": "refresh-begun", "family": str(event.family), "stale": event.stale}
        elif isinstance(event, RouteRefreshEnded):
            record = {
                "event": "refresh-ended",
                "family": str(event.family),
                "purged": event.purged,
                "timed_out": event.timed_out,
            }
        else:
            return
        self.emit(str(peer), record)

    def emit(self, peer: str, record: dict[str, object]) -> None:
        now = time.time()
        if self.output is Output.JSON:
            line = json.dumps({"time": round(now, 6), "peer": peer, **record})
        else:
            stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
            line = f"{stamp} {peer} {_text(record)}"
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _text(record: dict[str, object]) -> str:
    """`Idle -> Connect (connect-failed)`, `down: hold-timer-expired, NOTIFICATION …`, `reloaded n=3`."""
    if record["event"] == "state":
        reason = f" ({record['reason']})" if record["reason"] else ""
        return f"{record['old']} -> {record['new']}{reason}"
    if record["event"] == "down":
        notification = f", {record['notification']}" if record["notification"] else ""
        return f"down: {record['reason']}{notification}"
    return " ".join([str(record["event"]), *(f"{k}={v}" for k, v in record.items() if k != "event")])


def _apply_routes(speaker: BgpSpeaker, setup: SpeakerSetup, peers: set[IpAddress]) -> None:
    """Each peer's routes, streamed into its Adj-RIB-Out (a peer the setup has no routes for gets none)."""
    for address in peers:
        speaker.set_routes(address, setup.routes_for(address))


async def run_speaker(config: SpeakConfig, config_path: Path | None, output: Output, graceful: bool) -> int:
    """Run until SIGTERM/SIGINT; SIGHUP reloads the prefixes from `config_path`."""
    setup = speaker_setup(config, restarting=graceful)
    known = {spec.address for spec in setup.peers}
    printer = EventPrinter(output)
    speaker = BgpSpeaker(printer)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def reload() -> None:
        if config_path is None:
            return
        try:
            fresh = speaker_setup(speak_config.load_speak_config(config_path), restarting=graceful)
        except ConfigError as exc:
            printer.emit("-", {"event": "reload-failed", "error": str(exc)})
            return
        _apply_routes(speaker, fresh, known)
        prefixes = sum(block.size for address in known for block in fresh.blocks.get(address, ()))
        printer.emit("-", {"event": "reloaded", "prefixes": prefixes})

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload)
    try:  # the routes are loaded before the listener opens
        await speaker.start(setup.peers, setup.listen, {peer: setup.routes_for(peer) for peer in known})
    except OSError as exc:
        typer.echo(f"error: cannot listen on {config.listen_address()}: {exc.strerror}", err=True)
        await speaker.stop()
        return 1
    waiters = [
        asyncio.create_task(stop.wait(), name="speak-stop"),
        asyncio.create_task(speaker.wait_failed(), name="speak-supervise"),
    ]
    done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    keep = graceful and config.graceful_restart is not None
    await speaker.stop(SHUTDOWN_MESSAGE, keep_forwarding=keep)
    return 0 if waiters[0] in done else 1


def speak(
    *,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML file")] = None,
    asn: Annotated[int | None, typer.Option("--asn", help="local ASN")] = None,
    router_id: Annotated[str | None, typer.Option("--router-id", help="BGP identifier A.B.C.D")] = None,
    peer: Annotated[list[str] | None, typer.Option("--peer", help="ADDR[:PORT],ASN (repeatable)")] = None,
    prefix: Annotated[
        list[str] | None,
        typer.Option("--prefix", help="P[,next-hop=A][,community=X][,local-pref=N][,med=N] (repeatable)"),
    ] = None,
    listen: Annotated[str | None, typer.Option("--listen", help="ADDR[:PORT] to accept peers on")] = None,
    output: Annotated[Output, typer.Option("--output", "-o", help="text or json lines")] = Output.TEXT,
    graceful: Annotated[
        bool, typer.Option("--graceful", help="on SIGTERM keep the peer's routes (needs graceful_restart)")
    ] = False,
) -> None:
    """Announce prefixes to BGP peers until SIGTERM/SIGINT, printing session state changes."""
    try:
        cfg = build_config(
            config, asn=asn, router_id=router_id, peers=peer or [], prefixes=prefix or [], listen=listen
        )
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(asyncio.run(run_speaker(cfg, config, output, graceful)))
