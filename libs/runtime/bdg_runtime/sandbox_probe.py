"""Is a sandbox daemon answering at AGENT_SANDBOX_ENDPOINT? Services start either way."""

from __future__ import annotations

from dataclasses import dataclass

from bdg_sandbox.client import SandboxClient, SandboxRequestError, SandboxUnavailableError


@dataclass(frozen=True)
class SandboxStatus:
    endpoint: str
    available: bool
    detail: str


async def probe_sandbox(endpoint: str, timeout: float = 1.0) -> SandboxStatus:
    try:
        client = SandboxClient(endpoint, connect_timeout=timeout)
    except ValueError as error:
        return SandboxStatus(endpoint, False, str(error))
    try:
        async with client:
            welcome = await client.hello()
    except (SandboxUnavailableError, SandboxRequestError) as error:
        return SandboxStatus(endpoint, False, str(error))
    held = sorted(k for k, v in welcome.protections.items() if v)
    return SandboxStatus(
        endpoint, True, f"sandboxd with {welcome.backend} ({', '.join(held) or 'no protections'})"
    )
