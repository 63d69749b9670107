"""How the controller reports each configuration build: logs, metrics, ConfigurationState and Events.

The issue asks for config errors "reported as Events and in a status resource, the last good config kept".
`ConfigReport.report(built, in_force, leading)` runs on every pass of every replica: it logs the errors
once per change and sets the metrics (config_errors, config_loaded, k8s_client_config_stale_bool); as
leader it writes the ConfigurationState `controller` (`StatusWriter.set_configuration_state`; only when the
errors or the warning count changed, or leadership was taken again) and queues
the Events `ConfigEvents` decides: `changes(errors, in_force, state)` returns Events only when the error
set differs from the one last reported (so unchanged errors over many passes record nothing):
- a rejected configuration: one Warning `ConfigInvalid` per error on the object it names (the field, the
  reason, and whether the last good configuration stays in force), and one on the ConfigurationState that
  lists every error. An error whose object cannot be named (no name, or a kind this daemon does not
  mirror) is only in that summary.
- a valid configuration after a rejected one: one Normal `ConfigLoaded` on the ConfigurationState.
`reset()` starts a new term of leadership: the current state is reported once more.
`error_target` locates an error's object among the mirrored kinds (apiVersion from the watch, `uid` from
the mirrored copy so that `kubectl describe` shows the Event).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bgplb.adapters.k8s_event_reasons import EventReason
from bgplb.adapters.k8s_events import EventQueue, ObjectRef
from bgplb.adapters.k8s_status import StatusWriter, WriteOutcome
from bgplb.adapters.k8s_watch import KindWatcher
from bgplb.adapters.metrics import Metrics
from bgplb.config.build import REJECTED, BuildResult
from bgplb.errors import ConfigError

log = logging.getLogger(__name__)

NOT_IN_FORCE = "configuration rejected; no configuration is in force yet"
LOADED = "the configuration is valid and in force again"
MAX_MESSAGE = 1024  # Event messages are for people: a long error list is cut (the status has all of it)


@dataclass(frozen=True, slots=True)
class ConfigEvent:
    """One Event to record: on which object, why, and what."""

    target: ObjectRef
    reason: EventReason
    message: str


def error_target(error: ConfigError, watchers: Mapping[str, KindWatcher]) -> ObjectRef | None:
    """The object `error` names (`kind` and `namespace/name`, or `name` when cluster-scoped), or None."""
    watcher = watchers.get(error.kind)
    if watcher is None or not error.name:
        return None
    namespace, _, name = error.name.rpartition("/")
    if not name or bool(namespace) != watcher.kind.namespaced:
        return None
    meta = (watcher.objects.get((namespace, name)) or {}).get("metadata") or {}
    uid = meta.get("uid")
    return ObjectRef(watcher.kind.api_version, error.kind, namespace, name, str(uid) if uid else None)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def invalid_message(error: ConfigError, in_force: bool) -> str:
    """ConfigInvalid on the named object: `field: reason; <what happens now>`."""
    where = f"{error.field_path}: " if error.field_path else ""
    return _cut(f"{where}{error.reason}; {REJECTED if in_force else NOT_IN_FORCE}")


def summary_message(errors: Sequence[ConfigError], in_force: bool) -> str:
    """ConfigInvalid on the ConfigurationState: the consequence, then every error with object and field."""
    count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
    listed = "; ".join(str(error) for error in errors)
    return _cut(f"{REJECTED if in_force else NOT_IN_FORCE} ({count}): {listed}")


class ConfigEvents:
    """Which configuration Events a leader records, once per distinct error set (module docstring)."""

    def __init__(self, locate: Callable[[ConfigError], ObjectRef | None]) -> None:
        self._locate = locate
        self._reported: tuple[ConfigError, ...] | None = None  # None: nothing reported this term

    def reset(self) -> None:
        """A new term of leadership: the next `changes` reports the current state again."""
        self._reported = None

    def changes(self, errors: tuple[ConfigError, ...], in_force: bool, state: ObjectRef) -> list[ConfigEvent]:
        """The Events for `errors` (the build's, sorted) unless they were reported already; `in_force`:
        a last good configuration runs; `state`: the daemon's ConfigurationState."""
        previous, self._reported = self._reported, errors
        if errors == previous:
            return []
        if not errors:  # valid: worth an Event only after a rejection
            return [ConfigEvent(state, EventReason.CONFIG_LOADED, LOADED)] if previous else []
        out = []
        for error in errors:
            target = self._locate(error)
            if target is not None:
                out.append(ConfigEvent(target, EventReason.CONFIG_INVALID, invalid_message(error, in_force)))
        out.append(ConfigEvent(state, EventReason.CONFIG_INVALID, summary_message(errors, in_force)))
        return out


class ConfigReport:
    """Logs, metrics, the ConfigurationState and the Events of each build (see the module docstring)."""

    def __init__(
        self,
        writer: StatusWriter,
        queue: EventQueue,
        metrics: Metrics,
        namespace: str,
        locate: Callable[[ConfigError], ObjectRef | None],
    ) -> None:
        self.writer, self.queue, self.metrics, self.namespace = writer, queue, metrics, namespace
        self.events = ConfigEvents(locate)
        self._logged: tuple[ConfigError, ...] | None = None
        self._written: tuple[tuple[ConfigError, ...], int] | None = None  # the ConfigurationState this term

    def reset(self) -> None:
        """A new term of leadership: the ConfigurationState and the Events are reported once more."""
        self.events.reset()
        self._written = None

    async def report(self, built: BuildResult, in_force: bool, leading: bool) -> None:
        """Report one build; `in_force`: a configuration (this one or the last good one) is in force."""
        if built.errors != self._logged:
            self._logged = built.errors
            for error in built.errors:
                log.error("config: %s", error)
            if built.rejection is not None:
                log.error("config: %s", built.rejection)
            elif in_force:
                log.info("config: accepted (%d warnings)", len(built.warnings))
        self.metrics.config_errors.set(len(built.errors))
        self.metrics.config_loaded.set(1 if in_force else 0)
        self.metrics.config_stale.set(1 if built.errors and in_force else 0)
        written = (built.errors, len(built.warnings))
        if not leading or written == self._written:
            return  # written (and its Events queued) already this term: no API round trip on every pass
        outcome = await self.writer.set_configuration_state(
            self.namespace, None, built.errors, len(built.warnings), now=time.time()
        )
        if outcome is not WriteOutcome.CONFLICT:
            self._written = written
        uid = self.writer.uids.get(("ConfigurationState", self.namespace, "controller"))
        state = ObjectRef(
            "bgplb.io/v1alpha1", "ConfigurationState", self.namespace, "controller", uid or None
        )
        for event in self.events.changes(built.errors, in_force, state):
            self.queue.put(event.target, event.reason, event.message)
