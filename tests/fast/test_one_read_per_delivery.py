"""A step service reads the job's log once per delivery: the job it works on, the patches it
builds on and the calls it parked all come from that one read (``Delivery.history``).

Each service runs on an application of its own over the stack's store, wrapped to count the
reads each delivery makes (``tests/fast/reads.py``); the test's own reads are not counted.
"""

from __future__ import annotations

from uuid import uuid4

import pytest

from bdg_coder.adapters import AbstractCoder, Session
from bdg_coder.application import Coding
from bdg_coder.domain import Changes, CodingTask, Patch
from bdg_coder.handlers import CoderHandlers
from bdg_coder.main import build as build_coder
from bdg_contracts import commands as cmd
from bdg_contracts.states import JobState
from bdg_deployer.main import build as build_deployer
from bdg_jobs.application import JobApplication, utc_now
from bdg_jobs.domain import Cause, Job
from bdg_jobs.user_commands import JobCommands
from bdg_tester.main import build as build_tester
from tests.fast.harness import FastStack
from tests.fast.reads import CountingStore, DeliveryReads, counted
from tests.fast.test_step_handlers import (
    ALICE,
    ANSWERS,
    GOAL,
    PLANNED,
    WAIT,
    names,
    planner,
    reaches,
    request,
)
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)


def counting_app(stack: FastStack) -> JobApplication:
    return JobApplication(CountingStore(stack.store), stack.publisher)


def reads_of(log: list[DeliveryReads], service: str) -> list[tuple[str, int]]:
    return [(d.event, d.reads) for d in log if d.service == service]


async def test_each_step_reads_the_job_once_per_delivery(stack: FastStack) -> None:
    log: list[DeliveryReads] = []
    builds = {
        "planner": planner(),
        "coder": build_coder(ANSWERS).reactions(),
        "tester": build_tester(ANSWERS, endpoint="").reactions(),
        "deployer": build_deployer(ANSWERS).reactions(),
    }
    for service, reactions in builds.items():
        stack.serve(service, counted(service, reactions, log), counting_app(stack))
    commands = JobCommands(stack.app)
    async with stack.running():
        job = await request(stack)
        await reaches(stack, job.job_id, JobState.awaiting_plan_approval)
        await commands.approve_plan(ALICE, job.job_id)
        await reaches(stack, job.job_id, JobState.awaiting_deploy_approval)
    assert (await names(stack, job.job_id)).count("CodingFinished") == 2
    # Two attempts (the reference job's tests fail once), each from one read; the approving
    # review is the deployer's and costs the coder no read at all.
    assert sorted(reads_of(log, "coder")) == [
        ("PlanApproved", 1),
        ("ReviewCompleted", 0),
        ("TestsFailed", 1),
    ]
    assert reads_of(log, "tester") == [("CodingFinished", 1), ("CodingFinished", 1)]
    assert sorted(reads_of(log, "planner")) == [("JobRequested", 1), ("TestsPassed", 1)]
    assert reads_of(log, "deployer") == [("ReviewCompleted", 1)]


class PausedMeanwhile(AbstractCoder):
    """Codes a patch while a person pauses the job (through the stack's own application)."""

    def __init__(self, commands: JobCommands) -> None:
        self.commands = commands
        self.released: list[int] = []

    async def code(self, task: CodingTask, session: Session) -> Changes:
        pause = cmd.PauseJob(reason="lunch")
        await self.commands.pause(ALICE, session.tool_ctx.job_id, pause)
        return Changes((Patch(("a.py",), "+x\n"),), "done")

    async def release(self, task: CodingTask, session: Session) -> None:
        self.released.append(task.attempt)


async def approved_job(stack: FastStack) -> Job:
    """A job whose plan is approved, saved (and so published) whole: an attempt is due."""
    cause = Cause("user:alice", utc_now(), user_id="alice")
    job = Job.request(uuid4(), ALICE.tenant_id, cause, goal=GOAL, plan_approval="gated")
    job.make_plan_ready(cause, PLANNED.plan.drafts[-1])
    job.approve_plan(cause, "alice")
    await stack.app.start(job)
    return job


async def test_an_attempt_dropped_by_a_pause_learns_it_without_another_read(
    stack: FastStack,
) -> None:
    log: list[DeliveryReads] = []
    coder = PausedMeanwhile(JobCommands(stack.app))
    reactions = CoderHandlers(Coding(coder)).reactions()
    stack.serve("coder", counted("coder", reactions, log), counting_app(stack))
    async with stack.running():
        job = await approved_job(stack)
        await reaches(stack, job.job_id, JobState.paused)

        async def handled() -> bool:
            return bool(log) and all(d.done for d in log)

        await eventually(handled, WAIT, "the coder's delivery to be handled")
    # The delivery's one read, and the reload a version conflict forces (the pause was written
    # meanwhile): that the reaction was dropped is known from the failed decision itself, not
    # from reading the job a third time. The workspace is kept for the resumed attempt.
    assert reads_of(log, "coder") == [("PlanApproved", 2)]
    assert "CodingFinished" not in await names(stack, job.job_id)
    assert coder.released == []
