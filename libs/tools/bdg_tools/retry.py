"""Bounded retries with exponential backoff for transient tool failures."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]


class TransientToolError(Exception):
    """Worth another try: a service that did not answer, a sandbox that is restarting."""


class ToolUnavailableError(ConnectionError):
    """Still failing after the last try: the step fails, and the runtime redelivers it later."""


TRANSIENT: tuple[type[BaseException], ...] = (TransientToolError, ConnectionError, TimeoutError)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    first_delay: float = 0.2  # seconds before the second try
    factor: float = 2.0
    max_delay: float = 5.0
    jitter: float = 0.1  # +- this share of each delay, so callers do not retry in lockstep

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a retry policy makes at least one attempt")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        base = min(self.first_delay * self.factor ** (retry - 1), self.max_delay)
        return base * (1 + random.uniform(-self.jitter, self.jitter))


DEFAULT_RETRY = RetryPolicy()


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy = DEFAULT_RETRY,
    sleep: Sleep = asyncio.sleep,
    what: str = "tool call",
) -> T:
    for number in range(1, policy.attempts + 1):
        try:
            return await attempt()
        except TRANSIENT as error:
            if number == policy.attempts:
                raise ToolUnavailableError(
                    f"{what} failed {policy.attempts} times: {type(error).__name__}: {error}"
                ) from error
            delay = policy.delay(number)
            log.info(
                "%s: %s (try %d of %d), again in %.2fs", what, error, number, policy.attempts, delay
            )
            await sleep(delay)
    raise AssertionError("unreachable")  # attempts >= 1
