"""The backends' shared stdio (backends/stdio.py), with real processes."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from bdg_sandboxd.backends.stdio import feed, pump
from tests.sandbox.conftest import Collected

pytestmark = pytest.mark.timeout(30)


async def test_stdin_reaches_the_run_and_output_comes_back() -> None:
    proc = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        "cat; echo done >&2",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    out = Collected()
    await asyncio.gather(
        pump(proc.stdout, "stdout", out), pump(proc.stderr, "stderr", out), feed(proc.stdin, b"hi")
    )
    assert await proc.wait() == 0
    assert (bytes(out.stdout), bytes(out.stderr)) == (b"hi", b"done\n")


async def test_stdin_is_closed_even_when_the_run_never_reads_it() -> None:
    proc = await asyncio.create_subprocess_exec("true", stdin=subprocess.PIPE)
    await proc.wait()
    assert proc.stdin is not None
    await feed(proc.stdin, b"x" * (4 << 20))  # more than a pipe holds: the write breaks
    assert proc.stdin.is_closing()
