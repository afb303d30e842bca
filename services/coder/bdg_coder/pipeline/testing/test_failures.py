"""What a failing test run says, cut to the failures (pure), for the model to read.

A run's output is mostly passing tests and the runner's own frames: node's TAP gives each
passing test five lines and each failure a stack through ``node:internal``. A small model
reads a whole 4,096-token context slowly (~75 tokens/s here), so the rewrite is shown only the
failing tests' blocks, without internal frames and timings, and at most ``MAX_CHARS``.
"""

from __future__ import annotations

import re

MAX_CHARS = 1_500
# node:test's TAP: a failing test's block runs from "not ok" to its "  ..." line.
_NOT_OK = re.compile(r"^\s*not ok \d+ - ")
_BLOCK_END = re.compile(r"^\s*\.\.\.\s*$")
# Lines that say nothing about the failure: timings, the runner's frames, TAP's bookkeeping.
_NOISE = re.compile(
    r"duration_ms|failureType|\(node:|^\s*(?:async )?(?:Test|Suite)\.\w+ |^\s*---\s*$"
    r"|^\s*(?:operator|code): "
)
# pytest's and unittest's own frames and separators, whatever the test file.
# "_____ test_host_default _____", "==== FAILURES ====": the name without its frame.
_FRAMED = re.compile(r"^[_=]{3,} (.+?) [_=]{3,}$")
_PY_NOISE = re.compile(r"^[_=-]{5,}$|site-packages/(?:_pytest|pluggy)/")


def failures_of(output: str) -> str:
    """The failing tests of ``output`` ("" when none is named): TAP's "not ok" blocks, else
    the output from pytest's FAILURES section (or unittest's first FAIL/ERROR) on; the noise
    lines dropped, the end kept when still too long (the runners sum up there)."""
    blocks = _tap_failures(output)
    text = "\n".join(blocks) if blocks else _python_failures(output)
    return text[-MAX_CHARS:] if len(text) > MAX_CHARS else text


def _tap_failures(output: str) -> list[str]:
    kept: list[str] = []
    inside = False
    for line in output.splitlines():
        if _NOT_OK.match(line):
            inside = True
        if inside and not _NOISE.search(line) and line.strip():
            kept.append(line.rstrip())
        if inside and _BLOCK_END.match(line):
            inside = False
    # A parent test that fails because a subtest did repeats it: keep each block once.
    return [line for line in kept if not _BLOCK_END.match(line)]


def _python_failures(output: str) -> str:
    lines = output.splitlines()
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if "FAILURES" in line or "ERRORS" in line or re.match(r"^(?:FAIL|ERROR): ", line)
        ),
        None,
    )
    if start is None:
        named = [line for line in lines if re.match(r"^(?:FAILED|ERROR) ", line)]
        return "\n".join(named)
    kept = [
        _FRAMED.sub(r"\1", line.rstrip())
        for line in lines[start:]
        if line.strip() and not _PY_NOISE.search(line)
    ]
    return "\n".join(kept)
