"""--log-format json: one parseable object per record, with the traceback when there is one."""

from __future__ import annotations

import json
import logging
import sys

from bgplb.runtime.k8s_logs import JsonFormatter


def test_json_lines_carry_time_level_logger_message_and_exception() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "bgplb.x", logging.ERROR, __file__, 1, "peer %s down", ("r1",), sys.exc_info()
        )
    record.created, record.msecs = 0.0, 5.0
    line = json.loads(JsonFormatter().format(record))
    assert line["ts"] == "1970-01-01T00:00:00.005Z"
    assert (line["level"], line["logger"], line["msg"]) == ("error", "bgplb.x", "peer r1 down")
    assert "ValueError: boom" in line["exc"]
