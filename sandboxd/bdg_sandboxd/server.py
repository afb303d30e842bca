"""The daemon: a unix socket server whose connections share one Runtime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from urllib.parse import urlparse

from bdg_sandboxd.connection import Connection
from bdg_sandboxd.runtime import Runtime

log = logging.getLogger(__name__)


def socket_path(endpoint: str) -> Path:
    parsed = urlparse(endpoint)
    if parsed.scheme != "unix" or not parsed.path:
        raise ValueError(f"AGENT_SANDBOX_ENDPOINT must be unix:///path, not {endpoint!r}")
    return Path(parsed.path)


class SandboxServer:
    def __init__(self, runtime: Runtime, path: Path, mode: int = 0o660) -> None:
        self.runtime, self.path, self.mode = runtime, path, mode
        self._server: asyncio.base_events.Server | None = None
        self.connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a stale socket of a previous run
        self._server = await asyncio.start_unix_server(self._accept, path=str(self.path))
        os.chmod(self.path, self.mode)  # the services' group may connect, nobody else
        log.info("sandboxd listening on %s with backend %s", self.path, self.runtime.backend.name)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections.add(task)
        try:
            await Connection(self.runtime, reader, writer).run()
        except asyncio.CancelledError:
            # close() ended it, and run() has shut it down: ending the task normally keeps
            # asyncio's stream callback (3.11) from logging the cancellation as an error.
            pass
        finally:
            self.connections.discard(task)

    async def close(self) -> None:
        """Stop accepting, then end every connection (which kills their execs)."""
        if self._server is not None:
            self._server.close()
        for task in list(self.connections):
            task.cancel()
        await asyncio.gather(*self.connections, return_exceptions=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
