"""Ended spans on their way out: a bounded queue and one export thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from bdg_telemetry.spans import Recorded

log = logging.getLogger(__name__)


class SpanQueue:
    """Ended spans in a bounded queue (spans being exported count against the bound), sent
    in batches by one daemon thread every ``delay`` seconds, when a batch is full, or when
    flushed. A span finding the queue full, or in a batch whose send failed, is dropped and
    counted; nothing ever waits for the collector but ``flush`` and ``shutdown``."""

    def __init__(
        self,
        send: Callable[[Sequence[Recorded]], bool],
        limit: int,
        batch: int,
        delay: float,
    ) -> None:
        if limit < 1 or batch < 1 or delay <= 0:
            raise ValueError(f"queue {limit}, batch {batch} and delay {delay} must be positive")
        self.send, self.limit, self.batch, self.delay = send, limit, min(batch, limit), delay
        self.queued = 0  # waiting or being sent
        self.dropped = 0
        self._waiting: list[Recorded] = []
        self._flushes: list[threading.Event] = []
        self._stopping = False
        self._wake = threading.Condition(threading.Lock())
        self._thread = threading.Thread(target=self._run, name="bdg-span-export", daemon=True)
        self._thread.start()

    def add(self, span: Recorded) -> None:
        with self._wake:
            if self.queued >= self.limit or self._stopping:
                self.dropped += 1
                return
            self.queued += 1
            self._waiting.append(span)
            if len(self._waiting) == self.batch:
                self._wake.notify()

    def flush(self, within: float) -> bool:
        """Send every span ended before now; False if that took longer than ``within``."""
        done = threading.Event()
        with self._wake:
            if not self._thread.is_alive():
                return self.queued == 0
            self._flushes.append(done)
            self._wake.notify()
        return done.wait(within)

    def shutdown(self) -> None:
        """Send what is queued, then stop the thread (spans ended after are dropped)."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                if not (self._stopping or self._flushes or len(self._waiting) >= self.batch):
                    self._wake.wait(self.delay)
                taken, self._waiting = self._waiting, []
                flushes, self._flushes = self._flushes, []
                stopping = self._stopping
            for start in range(0, len(taken), self.batch):
                self._send(taken[start : start + self.batch])
            for done in flushes:
                done.set()
            if stopping:
                return

    def _send(self, spans: Sequence[Recorded]) -> None:
        try:
            sent = self.send(spans)
        except Exception:
            log.exception("trace export raised")
            sent = False
        with self._wake:
            self.queued -= len(spans)
            if not sent:
                self.dropped += len(spans)
        if not sent:
            log.warning(
                "trace export failed: %d span(s) dropped (%d so far)", len(spans), self.dropped
            )
