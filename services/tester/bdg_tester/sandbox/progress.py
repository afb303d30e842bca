"""Progress of a sandbox test run: each phase logged with its duration, output lines streamed.

Phases: workspace, detect, scaffold, venv, install, test, parse, cleanup. `PhaseTimer.totals`
adds up each phase over a run's projects; `on_phase` sees every phase (the benchmark's hook).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

PhaseHook = Callable[[str, float], None]
TAIL_BYTES = 256 * 1024  # of each stream: the analysis reads the tail, where errors are


class PhaseTimer:
    def __init__(self, log: logging.Logger, run: str, on_phase: PhaseHook | None = None) -> None:
        self.log, self.run, self.on_phase = log, run, on_phase
        self.totals: dict[str, float] = {}

    @asynccontextmanager
    async def phase(self, name: str, detail: str = "") -> AsyncIterator[None]:
        start = time.perf_counter()
        outcome = "failed"
        try:
            yield
            outcome = "done"
        finally:
            took = time.perf_counter() - start
            self.totals[name] = self.totals.get(name, 0.0) + took
            where = f" {detail}" if detail else ""
            self.log.info("%s: %s%s %s in %.2f s", self.run, name, where, outcome, took)
            if self.on_phase is not None:
                self.on_phase(name, took)


class Output:
    """The tail of a command's stdout and stderr; complete lines go to the debug log as they
    come (`BDG_LOG_LEVEL=DEBUG` streams a run's output)."""

    def __init__(self, log: logging.Logger, label: str, keep: int = TAIL_BYTES) -> None:
        self.log, self.label, self.keep = log, label, keep
        self.streams: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        self._partial: dict[str, bytes] = {"stdout": b"", "stderr": b""}

    def __call__(self, stream: str, data: bytes) -> None:
        kept = self.streams[stream]
        kept += data
        if len(kept) > self.keep:
            del kept[: len(kept) - self.keep]
        if self.log.isEnabledFor(logging.DEBUG):
            *lines, self._partial[stream] = (self._partial[stream] + data).split(b"\n")
            for line in lines:
                self.log.debug("%s %s| %s", self.label, stream, line.decode(errors="replace"))

    def text(self, stream: str) -> str:
        return self.streams[stream].decode(errors="replace")
