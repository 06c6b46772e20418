"""aiohttp's server log records lose the client's address; malformed requests are INFO."""

from __future__ import annotations

import logging
import sys

from aiohttp.http_exceptions import BadHttpMessage

from federation.web.serverlog import WithoutClientAddress, server_logger


def _record(error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        exc_info = sys.exc_info()
    return logging.LogRecord("federation.http", logging.ERROR, __file__, 1,
                             "Error handling request from %s", ("203.0.113.9",), exc_info)


def test_malformed_request_is_one_info_line_without_address() -> None:
    record = _record(BadHttpMessage("Invalid header value char:\n\n  b'X: \\x00'"))
    assert WithoutClientAddress().filter(record)
    assert record.levelno == logging.INFO and record.exc_info is None
    assert record.getMessage() == "refused a malformed HTTP request (400): Invalid header value char:"
    assert "203.0.113.9" not in logging.Formatter().format(record)


def test_our_errors_stay_errors_without_address() -> None:
    record = _record(RuntimeError("bug"))
    assert WithoutClientAddress().filter(record)
    formatted = logging.Formatter().format(record)
    assert record.levelno == logging.ERROR and "RuntimeError: bug" in formatted
    assert record.getMessage() == "error handling a request" and "203.0.113.9" not in formatted


def test_other_records_are_untouched_and_filter_installed_once() -> None:
    record = logging.LogRecord("federation.http", logging.DEBUG, __file__, 1, "Ignored premature "
                               "client disconnection", (), None)
    assert WithoutClientAddress().filter(record) and record.getMessage().startswith("Ignored")
    assert server_logger() is server_logger()
    assert sum(isinstance(f, WithoutClientAddress) for f in server_logger().filters) == 1
