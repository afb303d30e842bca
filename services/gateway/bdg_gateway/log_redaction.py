"""Credentials out of the server's logs.

Browsers cannot set headers on a WebSocket, so the web app passes its session token as
``?token=`` on ``/jobs/{id}/stream``; uvicorn logs the path with its query string (access lines
and WebSocket "accepted" lines), which would put a bearer token in every log. This filter
rewrites such values before any handler sees the record.
"""

from __future__ import annotations

import logging
import re

# Query parameters that carry credentials anywhere in the API (token: the WebSocket's; code: a
# one-time login code; access_token: what OAuth clients use by habit).
_SECRET = re.compile(r"(?i)([?&](?:token|access_token|code)=)[^&\s\"']*")
REDACTED = "[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    if "=" not in text:  # most lines (every access line without a query): no regex pass
        return text
    return _SECRET.sub(rf"\g<1>{REDACTED}", text)


class RedactCredentials(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """On uvicorn's loggers, once (a second call adds nothing)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCredentials) for f in logger.filters):
            logger.addFilter(RedactCredentials())
