"""A test-only service: drives jobs through every state, with faults chosen by the goal text.

Run as ``python -m tests.e2e.stepper <role>``. Directives in the goal:
- ``poison:<role>``: this role's handler fails on every delivery until the job was retried.
- ``broken:<role>``: this role's handler raises a StepError (not worth retrying).
- ``hang:<role>``: the first time, write ``<BDG_TEST_MARKERS>/<job>`` and block forever (the
  test kills the process there, or the step timeout ends it); once the marker exists, carry on.
- ``gate:<role>``: write the marker, then wait for a message on ``test.gate.<job>`` before
  deciding (the test stops the process meanwhile: the message in hand must still finish).
Each handled event is printed as ``handled <role> <event> <event_id> pid=<pid>``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.states import JobState, Step
from bdg_jobs.domain import Cause, Job
from bdg_runtime.reactions import Delivery, Reaction, StepError
from bdg_runtime.service import ServiceContext, run

Decide = Callable[[Job, Cause], None]


class PoisonedError(RuntimeError):
    """The failure a poisoned handler raises on every delivery."""


async def _faults(role: str, job: Job, delivery: Delivery, ctx: ServiceContext) -> None:
    marker = Path(os.environ["BDG_TEST_MARKERS"]) / str(job.job_id)
    if f"gate:{role}" in job.goal:
        gate = await ctx.nc.subscribe(f"test.gate.{job.job_id}")
        marker.write_text(str(os.getpid()))
        await gate.next_msg(timeout=60)
        await gate.unsubscribe()
    if f"poison:{role}" in job.goal:
        history = await delivery.app.history(job.job_id)
        if not any(isinstance(e, ev.StepRetried) for e in history):
            raise PoisonedError(f"poisoned {role} (delivery {delivery.attempt})")
    if f"broken:{role}" in job.goal:
        raise StepError(f"{role} is misconfigured")
    if f"hang:{role}" in job.goal and not marker.exists():
        marker.write_text(str(os.getpid()))
        await asyncio.Event().wait()


def handler(
    role: str, state: JobState, decide: Callable[[Event], Decide], ctx: ServiceContext
) -> Callable[[Delivery], Awaitable[None]]:
    async def handle(delivery: Delivery) -> None:
        job = await delivery.job_to_work_on(state)
        if job is None:
            return
        await _faults(role, job, delivery, ctx)
        recorded = await delivery.react(decide(delivery.event))
        if recorded:
            print(
                f"handled {role} {delivery.event.name} {delivery.event.event_id} pid={os.getpid()}",
                flush=True,
            )

    return handle


def _code(e: Event) -> Decide:
    def decide(job: Job, cause: Cause) -> None:
        job.change_files(
            cause,
            f"--- /dev/null\n+++ b/f{job.attempt}.py\n@@ -0,0 +1 @@\n+x\n",
            (f"f{job.attempt}.py",),
        )
        job.finish_coding(cause, "done")

    return decide


def _review(e: Event) -> Decide:
    return lambda job, cause: job.complete_review(cause, approved=True, score=9, notes="ok")


def _plan(e: Event) -> Decide:
    return lambda job, cause: job.make_plan_ready(cause, "- [ ] do it")


def _test(e: Event) -> Decide:
    return lambda job, cause: job.pass_tests(cause, ev.TestResults(total=1))


def _ask_deploy(e: Event) -> Decide:
    return lambda job, cause: job.await_deploy_approval(cause, "preview")


def _deploy(e: Event) -> Decide:
    return lambda job, cause: job.deploy(cause, f"https://{job.job_id}.example")


S = JobState
ROLES: dict[str, list[tuple[type[Event], Step, JobState, Callable[[Event], Decide]]]] = {
    "planner": [
        (ev.JobRequested, Step.planning, S.planning, _plan),
        (ev.TestsPassed, Step.reviewing, S.reviewing, _review),
    ],
    "coder": [
        (ev.PlanApproved, Step.coding, S.coding, _code),
        (ev.TestsFailed, Step.coding, S.coding, _code),
    ],
    "tester": [(ev.CodingFinished, Step.testing, S.testing, _test)],
    "deployer": [
        (ev.ReviewCompleted, Step.deploying, S.reviewing, _ask_deploy),
        (ev.DeployApproved, Step.deploying, S.deploying, _deploy),
    ],
}


def reactions(role: str) -> Callable[[ServiceContext], Sequence[Reaction]]:
    def build(ctx: ServiceContext) -> Sequence[Reaction]:
        return [
            Reaction(cls, step, handler(role, state, d, ctx)) for cls, step, state, d in ROLES[role]
        ]

    return build


if __name__ == "__main__":
    role = sys.argv[1]
    run(role, reactions(role))
