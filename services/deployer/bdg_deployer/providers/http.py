"""HTTP to a provider's REST API: bearer token, retries of 429 and 5xx, errors in its words.

401 and 403 fail at once with the provider's message (``ProviderAuthError``). 429 and 5xx (and a
connection that fails) are retried by http_retry.py's loop (policy ``PROVIDER_APIS``) with
exponential backoff, waiting what ``Retry-After`` asks when the provider says (seconds or an
HTTP date), up to ``Retry.attempts``; a wait longer than ``Retry.longest_s`` is not waited (the
deployer would hang) and fails at once. Then ``ProviderError``. The token is sent in the
``Authorization`` header only and never put in an error or a log line.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx

from bdg_deployer.providers.base import ProviderAuthError, ProviderError
from bdg_deployer.providers.http_retry import (
    PROVIDER_APIS,
    Retry,
    Sleep,
    WaitTooLong,
    send_retrying,
)

MessageOf = Callable[[Any], str]


UPLOADS_AT_ONCE = 8  # a site of a few hundred files uploads in seconds, within rate limits


async def at_most(limit: int, calls: Iterable[Awaitable[None]]) -> None:
    """Run ``calls`` with at most ``limit`` in flight; the first failure is raised."""
    gate = asyncio.Semaphore(limit)

    async def gated(call: Awaitable[None]) -> None:
        async with gate:
            await call

    try:
        async with asyncio.TaskGroup() as group:
            for call in calls:
                group.create_task(gated(call))
    except ExceptionGroup as failed:  # the provider's error, as a single call would raise it
        raise failed.exceptions[0] from None


@functools.cache
def _tls() -> ssl.SSLContext:
    """Built once: a context per request costs more than the request to a near API."""
    return ssl.create_default_context()


def _message(answer: httpx.Response, message_of: MessageOf) -> str:
    try:
        said = message_of(answer.json())
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        said = ""
    return (said or answer.text or answer.reason_phrase)[:1000]


class ProviderApi:
    def __init__(
        self,
        provider: str,
        base_url: str,
        token: str,
        message_of: MessageOf,
        retry: Retry = PROVIDER_APIS,
        sleep: Sleep = asyncio.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.provider, self.base_url = provider, base_url.rstrip("/")
        self._token, self.message_of = token, message_of
        self.retry, self.sleep, self.timeout = retry, sleep, timeout

    def __repr__(self) -> str:  # never the token
        return f"ProviderApi({self.provider!r}, {self.base_url!r})"

    async def call(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200, 201, 202),
        expected: tuple[int, ...] = (),
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """The answer when its status is in ``ok`` or ``expected`` (a documented refusal the
        caller handles, such as Vercel's missing files); ``ProviderError`` otherwise."""
        sent = {"authorization": f"Bearer {token or self._token}", **(headers or {})}

        async def send() -> httpx.Response:
            async with httpx.AsyncClient(timeout=self.timeout, verify=_tls()) as client:
                return await client.request(
                    method, f"{self.base_url}{path}", headers=sent, **kwargs
                )

        try:
            answer = await send_retrying(send, self.retry, self.sleep)
        except httpx.TransportError as error:
            raise ProviderError(
                self.provider, None, f"unreachable: {type(error).__name__}"
            ) from None
        except WaitTooLong as asked:
            said = _message(asked.answer, self.message_of)
            raise ProviderError(
                self.provider, asked.answer.status_code, f"{said} ({asked})"
            ) from None
        if answer.status_code in ok or answer.status_code in expected:
            return answer
        status, message = answer.status_code, _message(answer, self.message_of)
        if status in (401, 403):
            raise ProviderAuthError(self.provider, status, message)
        raise ProviderError(self.provider, status, message)
