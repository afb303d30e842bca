"""The install reporter's edges, with a sink that keeps the reports (the real NATS sink and
sandbox are in tests/integration/test_tester_install_progress.py): a run of no job, or of an
attempt no report can describe, reports nothing and still runs; a report the bus cannot take is
dropped without failing the run; an install that raises is reported failed."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import nats
import pytest

from bdg_contracts.progress import InstallProgress, InstallState
from bdg_tester.domain import TestTask
from bdg_tester.sandbox.install_progress import InstallReporter, NatsProgress
from tests.conftest import Servers

pytestmark = pytest.mark.timeout(30)


async def ok() -> str:
    return "installed"


async def test_no_job_or_an_impossible_attempt_reports_nothing_and_the_install_runs() -> None:
    kept: list[InstallProgress] = []

    async def sink(report: InstallProgress) -> None:
        kept.append(report)

    for task in (TestTask("g", 1, job_id="bench-run"), TestTask("g", 0, job_id=str(uuid4()))):
        reporter = InstallReporter(sink, task, every_s=60)
        assert await reporter.around(".", ok(), ok=lambda r: r == "installed") == "installed"
    assert kept == []


async def test_an_install_that_raises_is_reported_failed() -> None:
    kept: list[InstallProgress] = []

    async def sink(report: InstallProgress) -> None:
        kept.append(report)

    async def boom() -> str:
        raise RuntimeError("sandbox gone")

    reporter = InstallReporter(sink, TestTask("g", 1, tenant="t", job_id=str(uuid4())), 60)
    with pytest.raises(RuntimeError, match="sandbox gone"):
        await reporter.around("web", boom(), ok=lambda r: True)
    assert [(r.state, r.project) for r in kept] == [
        (InstallState.started, "web"),
        (InstallState.failed, "web"),
    ]


async def test_a_closed_bus_drops_the_report_and_the_run_goes_on(servers: Servers) -> None:
    nc = await nats.connect(servers.nats_url)
    await asyncio.wait_for(nc.close(), 10)
    reporter = InstallReporter(NatsProgress(nc), TestTask("g", 1, "", "t", str(uuid4())), 60)
    assert await reporter.around(".", ok(), ok=lambda r: True) == "installed"
