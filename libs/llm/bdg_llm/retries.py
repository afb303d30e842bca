"""When to try a call again, and after how long.

Transient: 408, 409, 429, any 5xx, timeouts and connection failures. Delay: exponential from
``base`` with "equal jitter" (half fixed, half random), or the server's ``retry-after-ms`` /
``Retry-After`` (seconds or an HTTP date) when it sends one; always capped.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import openai

TRANSIENT_STATUSES = frozenset({408, 409, 429})


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in TRANSIENT_STATUSES or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError)  # timeouts included


def retry_after(exc: BaseException) -> float | None:
    """The delay the server asked for, in seconds, if any."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Backoff:
    base: float
    cap: float
    jitter: Callable[[], float] = field(default=random.random)

    def delay(self, retry: int, asked: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0 = the first retry)."""
        if asked is not None:
            return min(asked, self.cap)
        step = min(self.cap, self.base * 2.0**retry)
        return step / 2 + self.jitter() * step / 2


def describe(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        message = body.get("message") or exc.message
        kind = exc.code or exc.type
        return f"{exc.status_code} {kind}: {message}" if kind else f"{exc.status_code}: {message}"
    if isinstance(exc, openai.APITimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"
