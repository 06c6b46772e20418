"""How a process writes its log: text for people, or one JSON object per line for machines
(``[log] format = "json"``).

The JSON lines have stable field names: ``time`` (ISO 8601, UTC, milliseconds), ``level``,
``logger``, ``message``, and ``exception`` (the formatted traceback) when there is one. They
carry exactly what the text lines carry: the privacy rules of the messages themselves (no reader
IP address, no key, token or cookie: docs/deploy.md) hold for both.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter(kind: LogFormat) -> logging.Formatter:
    return JsonFormatter() if kind == "json" else logging.Formatter(TEXT_FORMAT)


def use_format(kind: LogFormat, logger: logging.Logger | None = None) -> None:
    """Give every handler of ``logger`` (the root logger by default) the ``kind`` formatter."""
    for handler in (logger or logging.getLogger()).handlers:
        handler.setFormatter(formatter(kind))
