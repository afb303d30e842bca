"""A reaction's handler takes the event it is registered for: checked by the type checker, at
registration (the handler's ``Delivery[...]`` annotation) and at delivery (the decoded class)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bdg_coder.main import build as build_coder
from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.states import JobState, Step
from bdg_deployer.main import build as build_deployer
from bdg_indexer.handlers import IndexerHandlers
from bdg_jobs.application import JobApplication
from bdg_jobs.store import JobStore
from bdg_planner.main import PlannerSettings
from bdg_planner.main import build as build_planner
from bdg_runtime.answers import load_answers
from bdg_runtime.reactions import (
    AnyReaction,
    Delivery,
    EventMismatchError,
    Reaction,
    StepError,
    declared_event,
)
from bdg_tester.main import build as build_tester
from tests.unit.jobs import CAUSE, job_in, new_job

pytestmark = pytest.mark.timeout(10)

ANSWERS = load_answers(Path(__file__).parents[2] / "examples" / "reference-job.json")


async def takes_a_review(delivery: Delivery[ev.ReviewCompleted]) -> None:
    raise AssertionError("never called here")


def every_service_reaction() -> list[AnyReaction]:
    indexer = IndexerHandlers(indexing=None, max_deliver=3, timeout=1.0)  # type: ignore[arg-type]
    return [
        *build_planner(ANSWERS, PlannerSettings()).reactions(),
        *build_coder(ANSWERS).reactions(),
        *build_tester(ANSWERS, endpoint="").reactions(),
        *build_deployer(ANSWERS).reactions(),
        *indexer.reactions(),
    ]


def test_a_handler_registered_for_another_event_is_refused_by_name() -> None:
    with pytest.raises(EventMismatchError, match="takes ReviewCompleted, not PlanApproved"):
        Reaction(ev.PlanApproved, Step.coding, takes_a_review)


def test_a_handler_of_the_event_it_declares_registers() -> None:
    reaction = Reaction(ev.ReviewCompleted, Step.coding, takes_a_review)
    assert reaction.durable == "ReviewCompleted"


@pytest.mark.parametrize("reaction", every_service_reaction(), ids=lambda r: r.durable)
def test_every_service_handler_declares_the_event_it_is_registered_for(
    reaction: AnyReaction,
) -> None:
    assert declared_event(reaction.handle) is reaction.event


def test_an_event_of_another_class_is_refused_before_the_handler_runs() -> None:
    job = new_job()
    requested = job.collect()[0]
    reaction = Reaction(ev.ReviewCompleted, Step.coding, takes_a_review)
    app = JobApplication(JobStore.in_memory())
    with pytest.raises(EventMismatchError, match="takes ReviewCompleted, got JobRequested"):
        reaction.delivery("coder", requested, app)
    # A step error: the consumer fails the step and dead-letters at once, no retries.
    assert issubclass(EventMismatchError, StepError)


def test_the_delivery_of_a_matching_event_carries_it_typed() -> None:
    job = job_in(JobState.reviewing)
    job.complete_review(CAUSE, approved=True, score=9, notes="ok")
    review = job.collect()[-1]
    assert isinstance(review, ev.ReviewCompleted)
    reaction = Reaction(ev.ReviewCompleted, Step.coding, takes_a_review)
    delivery = reaction.delivery("coder", review, JobApplication(JobStore.in_memory()), 2)
    assert (delivery.event, delivery.attempt, delivery.service) == (review, 2, "coder")


async def takes_any_event(delivery: Delivery[Event]) -> None:
    raise AssertionError("never called here")


async def untyped(delivery):  # type: ignore[no-untyped-def]  # as a test's ad hoc handler
    raise AssertionError("never called here")


@pytest.mark.parametrize(("handle", "declared"), [(takes_any_event, Event), (untyped, None)])
def test_a_handler_of_the_base_event_or_unannotated_takes_any_class(
    handle: object, declared: type[Event] | None
) -> None:
    reaction = Reaction(ev.PlanApproved, Step.coding, handle)  # type: ignore[arg-type]
    assert declared_event(reaction.handle) is declared
