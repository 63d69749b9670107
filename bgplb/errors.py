"""The root of bgplb's exceptions, and the configuration error that names object and field."""

from __future__ import annotations

from dataclasses import dataclass


class BgplbError(Exception):
    """Base class of every error bgplb raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigError(BgplbError):
    """A configuration object that cannot be honoured.

    `kind` and `name` identify the object (`name` is `namespace/name` for namespaced objects),
    `field_path` the offending field in dotted form (`spec.addresses[1]`), `reason` says why.
    """

    kind: str
    name: str
    field_path: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.kind} {self.name}" if self.name else self.kind
        field = f" field {self.field_path}" if self.field_path else ""
        return f"{where}{field}: {self.reason}"
