"""A run's standard streams, the same for every backend: output pumped to the sink as it comes,
stdin written once and closed.

One module so the backends cannot drift apart again (runc's copy closed stdin only when the
write succeeded, bubblewrap's always did).
"""

from __future__ import annotations

import asyncio
import contextlib

from bdg_sandboxd.backend import Sink, Stream

CHUNK = 64 * 1024  # one read of a pipe; output frames stay far below the 1 MiB frame limit


async def pump(stream: asyncio.StreamReader, name: Stream, sink: Sink) -> None:
    """Everything ``stream`` gives, to ``sink``, until end of file."""
    while chunk := await stream.read(CHUNK):
        await sink(name, chunk)


async def feed(stdin: asyncio.StreamWriter | None, data: bytes) -> None:
    """Write ``data`` and close stdin (the run sees end of file), even when the run exited
    without reading it."""
    if stdin is None:
        return
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(data)
            await stdin.drain()
    finally:
        stdin.close()
