"""Is a sandbox daemon answering at AGENT_SANDBOX_ENDPOINT? Services start either way."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlparse


@dataclass(frozen=True)
class SandboxStatus:
    endpoint: str
    available: bool
    detail: str


async def probe_sandbox(endpoint: str, timeout: float = 1.0) -> SandboxStatus:
    parsed = urlparse(endpoint)
    if parsed.scheme != "unix" or not parsed.path:
        return SandboxStatus(endpoint, False, "only unix:///path endpoints are supported")
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_unix_connection(parsed.path)
    except FileNotFoundError:
        return SandboxStatus(endpoint, False, f"no socket at {parsed.path} (sandboxd not running)")
    except (ConnectionRefusedError, PermissionError, TimeoutError, OSError) as error:
        return SandboxStatus(endpoint, False, f"{type(error).__name__}: {error}")
    writer.close()
    await writer.wait_closed()
    return SandboxStatus(endpoint, True, "connected")
