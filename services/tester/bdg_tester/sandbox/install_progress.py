"""The install's progress, reported while it runs: started, every few seconds its elapsed time and
output lines so far, then finished or failed. Installs are the long, quiet part of a test run
(minutes on a cold cache), and the job's log says nothing until the run ends.

Reports go on core NATS (``subjects.job_progress``), never to the job's log: see
bdg_contracts/progress.py. A report that cannot be sent is logged and dropped, never failing the
run (the next one tells the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

from nats.aio.client import Client
from pydantic import ValidationError

from bdg_contracts import subjects
from bdg_contracts.progress import InstallProgress, InstallState
from bdg_tester.domain import TestTask

log = logging.getLogger(__name__)
Sink = Callable[[InstallProgress], Awaitable[None]]
T = TypeVar("T")


class NatsProgress:
    def __init__(self, nc: Client) -> None:
        self.nc = nc

    async def __call__(self, report: InstallProgress) -> None:
        subject = subjects.job_progress(report.tenant_id, report.job_id)
        try:
            await self.nc.publish(subject, report.model_dump_json().encode())
        except Exception as error:  # the bus down: the run goes on, the page just shows less
            log.warning("progress report not sent on %s: %s", subject, error)


class InstallReporter:
    """One run's reporter; ``count`` is the install commands' output hook."""

    def __init__(self, sink: Sink | None, task: TestTask, every_s: float) -> None:
        self.task, self.every_s = task, every_s
        self.lines = 0
        try:
            self.job_id = UUID(task.job_id)
            self.sink = sink
        except ValueError:  # a run of no job (the benchmark's): nobody to tell
            self.sink = None

    def count(self, stream: str, data: bytes) -> None:
        self.lines += data.count(b"\n")

    async def around(self, project: str, install: Awaitable[T], ok: Callable[[T], bool]) -> T:
        """Run ``install`` (one project's install commands), reporting on it."""
        sink = self.sink
        if sink is None:
            return await install
        self.lines = 0
        start = time.monotonic()
        await self._send(sink, project, InstallState.started, start)
        ticker = asyncio.create_task(self._tick(sink, project, start))
        state = InstallState.failed
        try:
            result = await install
            state = InstallState.finished if ok(result) else InstallState.failed
            return result
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await self._send(sink, project, state, start)

    async def _tick(self, sink: Sink, project: str, start: float) -> None:
        while True:
            await asyncio.sleep(self.every_s)  # a reporting period, not a wait for an event
            await self._send(sink, project, InstallState.running, start)

    async def _send(self, sink: Sink, project: str, state: InstallState, start: float) -> None:
        try:
            report = InstallProgress(
                tenant_id=self.task.tenant,
                job_id=self.job_id,
                attempt=self.task.attempt,
                project=project[:500],
                state=state,
                elapsed_s=round(time.monotonic() - start, 1),
                output_lines=self.lines,
            )
        except ValidationError as error:  # a task no report can describe: the run goes on
            log.warning("no progress report for job %s: %s", self.task.job_id, error)
            return
        await sink(report)
