"""aiohttp's server log without client addresses (privacy: no reader's IP is ever logged).

aiohttp's request handler logs ``"Error handling request from %s"`` with the client's address,
at ERROR with a traceback, for every malformed request a client sends (a NUL in a header, a bad
request line…). ``serve`` hands aiohttp :func:`server_logger` instead of its own: the address
is dropped, and a client's malformed request — already answered 400 — becomes one INFO line
without traceback. Errors of our own (an unhandled exception) stay errors, without address.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

LOGGER_NAME = "federation.http"
_CLIENT_ERROR = "Error handling request from %s"


class WithoutClientAddress(logging.Filter):
    """Rewrites aiohttp's records that carry the client's address."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != _CLIENT_ERROR:
            return True
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            reason = (error.message or "").strip().splitlines()
            record.msg = "refused a malformed HTTP request (%s): %s"
            record.args = (error.code, reason[0] if reason else type(error).__name__)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        else:
            record.msg, record.args = "error handling a request", ()
        return True


def server_logger() -> logging.Logger:
    """The logger to give aiohttp's request handler (``web.run_app(…, logger=…)``)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, WithoutClientAddress) for f in logger.filters):
        logger.addFilter(WithoutClientAddress())
    return logger
