"""Configuration warnings: recognised input bgplb cannot honour, unknown fields, hygiene hints."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConfigWarning:
    """Same shape as bgplb.errors.ConfigError, but the configuration is still accepted."""

    kind: str
    name: str
    field_path: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.kind} {self.name}" if self.name else self.kind
        field = f" field {self.field_path}" if self.field_path else ""
        return f"{where}{field}: {self.reason}"
