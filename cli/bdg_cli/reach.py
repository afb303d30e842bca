"""Reaching NATS from a command: a few attempts, then a message for the user.

Apart from ``context`` so that `bdg search`, which needs NATS and nothing else, connects
without importing the store.
"""

from __future__ import annotations

import nats
from nats.aio.client import Client


class Unreachable(RuntimeError):
    """PostgreSQL or NATS did not answer: a message for the user, not a traceback."""


async def connect_nats(url: str) -> Client:
    """A few attempts, then a clear error (the services' client retries forever, loudly)."""

    async def quiet(error: Exception) -> None:
        return None

    try:
        return await nats.connect(
            url,
            name="bdg-cli",
            connect_timeout=3,
            max_reconnect_attempts=3,
            reconnect_time_wait=0.5,
            error_cb=quiet,
        )
    except Exception as error:
        raise Unreachable(f"cannot reach NATS at {url}: {error or type(error).__name__}") from error
