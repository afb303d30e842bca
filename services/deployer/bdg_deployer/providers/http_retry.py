"""Requests to a provider's API, retried on 429 and 5xx: after the server's ``Retry-After``
(RFC 9110 10.2.3, seconds or a date: ``http.retry_after``; capped) or an exponential backoff,
a few times, then the last answer is the caller's to judge. Other statuses, 401/403 above all,
come back at once, except a 403 that is GitHub's rate limit ("Exceeding the rate limit",
docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api: a 403 or 429 with
``retry-after``, or with ``x-ratelimit-remaining: 0``), which is waited out like a 429."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from bdg_deployer.providers.http import retry_after

RETRIES = 4
MAX_WAIT_S = 30.0


def retry_wait(answer: httpx.Response, attempt: int) -> float:
    said = retry_after(answer.headers.get("retry-after"), datetime.now(UTC))  # seconds or a date
    if said is None:
        return min(0.5 * 2.0**attempt, MAX_WAIT_S)
    return min(said, MAX_WAIT_S)


def _throttled(answer: httpx.Response) -> bool:
    status, headers = answer.status_code, answer.headers
    limited = "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"
    return status == 429 or status >= 500 or (status == 403 and limited)


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    content: bytes = b"",
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    for attempt in range(RETRIES + 1):
        answer = await client.request(method, url, content=content, headers=headers, params=params)
        if not _throttled(answer) or attempt == RETRIES:
            return answer
        await asyncio.sleep(retry_wait(answer, attempt))
    raise AssertionError("unreachable")
