"""Log output of the Kubernetes daemons: one line per record, as text or as JSON (`--log-format`).

JSON lines carry `ts` (RFC 3339, UTC, milliseconds), `level`, `logger`, `msg` and, when present, `exc`;
collectors such as Loki or Fluent Bit parse them without a pattern. Text lines match `bgplb run`'s.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from enum import StrEnum

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LogFormat(StrEnum):
    """`--log-format` values."""

    TEXT = "text"
    JSON = "json"


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line = {
            "ts": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(fmt: LogFormat, level: str = "info") -> None:
    """Send every log record to stderr in `fmt` at `level` (debug, info, warning, error)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt is LogFormat.JSON else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    for noisy in ("httpx", "httpx2", "httpcore"):  # one line per API request otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
