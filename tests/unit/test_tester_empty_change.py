"""An empty change is no pass: the tester fails the run without a sandbox, whatever the
project's old tests would say (a small model whose edits all failed to land once reached the
deploy approval with an empty diff, "3/3 passed, approved 10/10")."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_jobs.store import JobStore
from bdg_runtime.answers import Answers
from bdg_runtime.reactions import Delivery
from bdg_tester.application import Testing
from bdg_tester.domain import SCAFFOLDER, task_for
from bdg_tester.recorded import RecordedTestRunner

pytestmark = pytest.mark.timeout(10)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
GOAL = "make mul multiply"
CODE = "--- a/ops.py\n+++ b/ops.py\n@@ -1 +1 @@\n-a + b\n+a * b\n"
SCAFFOLD = "--- /dev/null\n+++ b/tests/test_ops.py\n@@ -0,0 +1 @@\n+def test_mul(): ...\n"
# The project's tests would pass: only an empty change can make this run fail.
PASSING = Answers(goals={GOAL: {"tests": [{"passed": True, "total": 3}]}})


def cause(producer: str) -> Cause:
    return Cause(producer=producer, occurred_at=T0)


def coded(*changes: tuple[str, str], goal: str = GOAL) -> Job:
    job = Job.request(uuid4(), "acme", cause("user"), goal=goal, repo="/src/app")
    job.make_plan_ready(cause("planner"), "- [ ] fix mul")
    job.approve_plan(cause("user"), "alice")
    for producer, patch in changes:
        job.change_files(cause(producer), patch, ("ops.py",))
    job.finish_coding(cause("coder"))
    return job


@pytest.mark.parametrize(
    ("changes", "changed"),
    [
        ((), False),
        ((("coder", "  \n"),), False),  # a blank patch changes nothing
        (((SCAFFOLDER, SCAFFOLD),), False),  # the tester's own scaffolded tests
        ((("coder", CODE),), True),
        ((("user:alice", CODE),), True),  # a person's edit is the job's change too
        (((SCAFFOLDER, SCAFFOLD), ("coder", CODE)), True),
    ],
)
def test_the_task_says_whether_the_job_changed_anything(
    changes: tuple[tuple[str, str], ...], changed: bool
) -> None:
    history = coded(*changes).collect()
    assert task_for(history, history[-1], 1).changed is changed


async def run_tester(job: Job) -> list[Event]:
    app = JobApplication(JobStore.in_memory())
    await app.start(job)
    trigger = (await app.history(job.job_id))[-1]
    assert isinstance(trigger, ev.CodingFinished)
    await Testing(RecordedTestRunner(PASSING)).run(Delivery("tester", trigger, app))
    return await app.history(job.job_id)


async def test_an_empty_change_fails_its_tests_and_says_why() -> None:
    outcome = (await run_tester(coded((SCAFFOLDER, SCAFFOLD))))[-1]
    assert isinstance(outcome, ev.TestsFailed)
    assert "The change is empty" in outcome.analysis
    assert outcome.results.output_tail == "[bdg] the change is empty"


async def test_a_change_is_tested_as_the_runner_says() -> None:
    outcome = (await run_tester(coded(("coder", CODE))))[-1]
    assert isinstance(outcome, ev.TestsPassed)
    assert outcome.results.total == 3
