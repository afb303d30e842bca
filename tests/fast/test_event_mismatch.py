"""A message whose event is not the class its reaction takes never reaches the handler: the
consumer fails the step and dead-letters it at once, naming both classes."""

from __future__ import annotations

import pytest

from bdg_contracts import events as ev
from bdg_contracts import subjects, wire
from bdg_contracts.base import Event
from bdg_contracts.states import JobState, Step
from bdg_runtime.reactions import Delivery, Reaction
from tests.fast.harness import FastStack
from tests.fast.test_step_handlers import WAIT, reaches, request
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)


async def test_an_event_of_another_class_is_dead_lettered_before_its_handler(
    stack: FastStack,
) -> None:
    got: list[Event] = []

    async def on_plan(delivery: Delivery[ev.PlanApproved]) -> None:
        got.append(delivery.event)

    stack.serve("coder", [Reaction(ev.PlanApproved, Step.coding, on_plan)])
    stack.watch_dead_letters("coder")
    async with stack.running():
        job = await request(stack)
        requested = (await stack.app.history(job.job_id))[0]
        # A ReviewCompleted on the PlanApproved subject: its headers name its own class.
        review = ev.ReviewCompleted(
            **requested.model_dump(include={"job_id", "correlation_id", "tenant_id"}),
            version=2,
            producer="planner",
            occurred_at=requested.occurred_at,
            approved=True,
            score=9,
        )
        subject = subjects.event_subject(review.tenant_id, review.job_id, "PlanApproved")
        await stack.publisher.send(review, wire.headers_for(review), subject=subject)
        failed = await reaches(stack, job.job_id, JobState.failed)

        async def dead_letter() -> dict[str, str] | None:
            return stack.dead[0] if stack.dead else None

        letter = await eventually(dead_letter, WAIT, "the dead letter")
    assert got == []
    assert letter["Bdg-Error"].startswith("EventMismatchError: ")
    assert "takes PlanApproved, got ReviewCompleted" in letter["Bdg-Error"]
    assert letter["Bdg-Deliveries"] == "1"  # retrying cannot change the class
    assert (failed.failed_step, failed.failed_service) == (Step.coding, "coder")
