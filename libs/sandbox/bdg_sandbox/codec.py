"""Length-prefixed msgpack frames over a stream (sandboxd/PROTOCOL.md)."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import msgpack
from pydantic import BaseModel

from bdg_contracts.sandbox import MAX_FRAME_BYTES

HEADER = struct.Struct(">I")


class FrameError(ValueError):
    """A frame that cannot be read: ``code`` is the protocol's error code; ``fatal`` when the
    stream cannot be trusted any more (the connection must close)."""

    def __init__(self, code: str, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.code, self.fatal = code, fatal


UNTRUSTWORTHY_BYTES = 64 << 20


def encode(frame: BaseModel) -> bytes:
    body: bytes = msgpack.packb(frame.model_dump(mode="python"), use_bin_type=True)
    return HEADER.pack(len(body)) + body


async def read_raw(reader: asyncio.StreamReader, max_bytes: int = MAX_FRAME_BYTES) -> Any:
    """The next frame's decoded msgpack value; None at a clean end of stream.

    An oversized frame is skipped whole (so the stream stays in step) and reported.
    """
    try:
        header = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as error:
        if not error.partial:
            return None
        raise
    (size,) = HEADER.unpack(header)
    if size > UNTRUSTWORTHY_BYTES:
        raise FrameError("too_large", f"frame length {size} is not credible", fatal=True)
    if size > max_bytes:
        remaining = size
        while remaining:
            chunk = await reader.read(min(remaining, 1 << 16))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(chunk)
        raise FrameError("too_large", f"frame of {size} bytes exceeds {max_bytes}")
    body = await reader.readexactly(size)
    try:
        return msgpack.unpackb(body, raw=False)
    except Exception as error:
        raise FrameError("bad_frame", f"not msgpack: {error}") from error
