"""Sending a request again while the server is busy: the one retry loop of the deployer's HTTP
clients (the providers' REST APIs in http.py; git hosts and OCI registries through ``request``).

A 429 or 5xx is sent again after the server's ``Retry-After`` (RFC 9110 10.2.3, seconds or a
date: ``retry_after``) or an exponential backoff, up to ``Retry.attempts`` sends; then the last
answer is the caller's to judge. Other statuses, 401/403 above all, come back at once. The two
policies differ where their callers did before they shared this loop:

- ``PROVIDER_APIS`` (Vercel, Netlify, Cloudflare Pages): a failed connection is tried again; a
  wait longer than ``longest_s`` (60 s) is not waited (the deployer would hang):
  ``WaitTooLong``.
- ``GIT_HOSTS`` (pull requests, OCI registries and their token servers): a failed connection
  fails at once; a longer wait is cut to ``longest_s`` (30 s); and a 403 that is GitHub's rate
  limit ("Exceeding the rate limit", docs.github.com/en/rest/using-the-rest-api/
  rate-limits-for-the-rest-api: a 403 or 429 with ``retry-after``, or with
  ``x-ratelimit-remaining: 0``) is waited out like a 429.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Retry:
    attempts: int = 5  # sends at most
    first_s: float = 0.5  # the wait when the server asks none, doubled after each
    longest_s: float = 60.0  # the longest wait
    cut_long_waits: bool = False  # a longer one: waited longest_s (True) or WaitTooLong
    transport_errors: bool = True  # a connection that fails is tried again
    rate_limit_403: bool = False  # GitHub's rate limit is a 403 (see above)


PROVIDER_APIS = Retry()
GIT_HOSTS = Retry(longest_s=30.0, cut_long_waits=True, transport_errors=False, rate_limit_403=True)


class WaitTooLong(Exception):
    """The server asked for a longer wait than the policy's ``longest_s``: not waited."""

    def __init__(self, wait: float, answer: httpx.Response) -> None:
        super().__init__(f"asked to retry after {wait:.0f} s: not waiting")
        self.wait, self.answer = wait, answer


def retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` in seconds: an integer, or an HTTP date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def throttled(answer: httpx.Response, retry: Retry) -> bool:
    status, headers = answer.status_code, answer.headers
    if status == 429 or status >= 500:
        return True
    limited = "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"
    return retry.rate_limit_403 and status == 403 and limited


async def send_retrying(
    send: Callable[[], Awaitable[httpx.Response]], retry: Retry, sleep: Sleep = asyncio.sleep
) -> httpx.Response:
    """The first answer that is not ``throttled``, or the last one. A failed connection is
    raised (at once, or after the last attempt with ``transport_errors``)."""
    delay = retry.first_s
    for attempt in range(1, retry.attempts + 1):
        last = attempt == retry.attempts
        try:
            answer = await send()
        except httpx.TransportError:
            if last or not retry.transport_errors or delay > retry.longest_s:
                raise
            await sleep(delay)
            delay *= 2
            continue
        if last or not throttled(answer, retry):
            return answer
        asked = retry_after(answer.headers.get("retry-after"), datetime.now(UTC))
        wait = delay if asked is None else asked
        if wait > retry.longest_s:
            if not retry.cut_long_waits:
                raise WaitTooLong(wait, answer)
            wait = retry.longest_s
        await sleep(wait)
        delay *= 2
    raise AssertionError("attempts < 1")


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    content: bytes = b"",
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    """One request to a git host or a registry under the ``GIT_HOSTS`` policy."""

    def send() -> Awaitable[httpx.Response]:
        return client.request(method, url, content=content, headers=headers, params=params)

    return await send_retrying(send, GIT_HOSTS)
