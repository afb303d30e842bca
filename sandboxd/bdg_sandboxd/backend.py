"""What every isolation backend (runc, bubblewrap) offers the daemon.

A backend runs one command to completion: it streams output to a sink as it comes, enforces
the limits, and on cancellation (asyncio.CancelledError) kills everything it started, cleans
up (containers, cgroups, mounts) and re-raises.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bdg_contracts.sandbox import Limits

Stream = Literal["stdout", "stderr"]
Sink = Callable[[Stream, bytes], Awaitable[None]]
CACHE_MOUNT = "/cache"  # where a tenant's package cache appears (Exec.cache, caches.py)


@dataclass(frozen=True)
class RunSpec:
    run_id: str  # unique per exec: names the container, cgroup and bundle
    argv: list[str]
    workspace: Path  # host directory mounted read-write at /workspace
    cwd: str = "/workspace"
    env: dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    network: Literal["none", "registry"] = "none"
    # For network="registry": a unix socket of the allow-list proxy, reachable inside the
    # sandbox as HTTP(S)_PROXY=http://127.0.0.1:3128 through a forwarder the backend starts.
    proxy_socket: Path | None = None
    stdin: bytes = b""
    rootfs: Path | None = None  # None: the host's /usr, /etc... bound read-only
    cache: Path | None = None  # host directory mounted read-write at CACHE_MOUNT; None: no /cache


@dataclass(frozen=True)
class RunResult:
    code: int | None
    signal: int | None
    duration_s: float
    oom: bool = False
    timed_out: bool = False


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str


class Backend(ABC):
    name: str

    @classmethod
    @abstractmethod
    def available(cls) -> Availability:
        """Whether this backend can run here (binary present, kernel features, privileges)."""

    @abstractmethod
    def protections(self) -> dict[str, bool]:
        """Which protections hold with this backend on this host (for ``sandboxd doctor``)."""

    @abstractmethod
    async def run(self, spec: RunSpec, sink: Sink) -> RunResult:
        """Run ``spec.argv``; kill it at ``spec.limits.timeout_s`` (timed_out=True)."""
