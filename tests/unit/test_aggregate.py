"""The aggregate base: what a new aggregate gets by subclassing it, and the typed decisions."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Self
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.events import PlanApproval
from bdg_jobs.aggregate import Aggregate, Cause
from bdg_jobs.domain import Job
from bdg_jobs.errors import DomainError
from bdg_jobs.mapper import to_event, to_stored
from bdg_jobs.repos import RepoIndex
from tests.unit.jobs import CAUSE, new_job

pytestmark = pytest.mark.timeout(10)


class NotOpenError(DomainError):
    pass


@dataclass
class Tally(Aggregate):
    """The smallest aggregate: started by a JobRequested, counts the drafts while planning."""

    tally_id: UUID
    drafts: int = 0
    open: bool = True

    first_event: ClassVar[type[Event]] = ev.JobRequested
    history_name: ClassVar[str] = "a tally"

    @classmethod
    def blank(cls, aggregate_id: UUID, tenant_id: str) -> Self:
        return cls(tally_id=aggregate_id, tenant_id=tenant_id)

    @property
    def aggregate_id(self) -> UUID:
        return self.tally_id

    def check_allowed(self, cls: type[Event]) -> None:
        if not self.open:
            raise NotOpenError("closed")

    def _when(self, event: Event) -> None:
        if isinstance(event, ev.PlanDrafted):
            self.drafts += 1
        if isinstance(event, ev.JobCancelled):
            self.open = False

    @classmethod
    def start(cls, cause: Cause) -> Self:
        tally = cls.blank(uuid4(), "tenant-a")
        tally._record(ev.JobRequested, cause, goal="count")
        return tally

    def draft(self, cause: Cause) -> None:
        self._append(ev.PlanDrafted, cause, plan_markdown="x", iteration=self.drafts + 1)

    def close(self, cause: Cause) -> None:
        self._append(ev.JobCancelled, cause)


def caused(n: int, producer: str = "counter") -> Cause:
    return Cause(producer, datetime(2026, 1, 1, tzinfo=UTC), causation_id=f"c{n}", user_id="u")


def test_a_new_aggregate_gets_the_envelope_the_outbox_and_replay() -> None:
    tally = Tally.start(caused(0))
    tally.draft(caused(1))
    tally.draft(caused(2))
    events = tally.collect()
    assert [(e.name, e.version) for e in events] == [
        ("JobRequested", 1),
        ("PlanDrafted", 2),
        ("PlanDrafted", 3),
    ]
    assert {e.job_id for e in events} == {tally.tally_id}
    assert {e.correlation_id for e in events} == {str(tally.tally_id)}
    assert {(e.tenant_id, e.user_id, e.producer) for e in events} == {("tenant-a", "u", "counter")}
    assert tally.collect() == []
    again = Tally.replay(events)
    assert (again.drafts, again.version, again.pending) == (2, 3, [])
    assert again.has_reacted("counter", "c2")
    assert not again.has_reacted("counter", "c3")
    assert not again.has_reacted("someone-else", "c2")


def test_the_check_runs_before_anything_changes() -> None:
    tally = Tally.start(caused(0))
    tally.close(caused(1))
    with pytest.raises(NotOpenError):
        tally.draft(caused(2))
    assert (tally.version, len(tally.collect())) == (2, 2)


def test_replay_refuses_a_gap_a_wrong_start_and_nothing() -> None:
    tally = Tally.start(caused(0))
    tally.draft(caused(1))
    tally.draft(caused(2))
    first, _, third = tally.collect()
    with pytest.raises(ValueError, match="does not follow"):
        Tally.replay([first, third])
    with pytest.raises(ValueError, match="a tally starts with JobRequested, not PlanDrafted"):
        Tally.replay([third])
    with pytest.raises(ValueError, match="empty history"):
        Tally.replay([])


def test_a_step_failure_is_not_a_reaction() -> None:
    job = new_job()
    job.fail_step(caused(7, "planner"), ev.Step.planning, "planner", "boom", 1)
    assert not job.has_reacted("planner", "c7")


def test_job_and_repository_share_the_base_and_keep_their_messages() -> None:
    assert issubclass(Job, Aggregate)
    assert issubclass(RepoIndex, Aggregate)
    drafted = new_job()
    drafted.draft_plan(CAUSE, "x", 1)
    with pytest.raises(ValueError, match=r"^a job's history starts with JobRequested, not Plan"):
        Job.replay(drafted.collect()[1:])


TYPED = (
    "call_tool",
    "request_tool_approval",
    "refuse_tool_call",
    "reject_tool_call",
    "record_code_context",
    "record_llm_call",
    "critique_plan",
)


@pytest.mark.parametrize("decision", TYPED)
def test_decisions_name_every_field_they_take(decision: str) -> None:
    parameters = inspect.signature(getattr(Job, decision)).parameters.values()
    assert all(p.kind is not p.VAR_KEYWORD for p in parameters)
    assert all(p.annotation is not inspect.Parameter.empty for p in parameters if p.name != "self")


def test_a_misspelled_field_is_a_type_error_before_any_event() -> None:
    job = new_job(plan_approval="auto")
    job.make_plan_ready(CAUSE, "- [ ] x")
    job.collect()
    with pytest.raises(TypeError):
        job.call_tool(CAUSE, tool="t", arguments_json="{}", result="ok", idempotency="k")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        job.reject_tool_call(CAUSE, "c1", "t", "{}", "k", "bad")  # type: ignore[misc]
    assert job.collect() == []


def test_plan_approval_is_an_enum_stored_as_its_old_string() -> None:
    job = new_job(plan_approval="auto")
    requested = job.collect()[0]
    assert isinstance(job.plan_approval, PlanApproval)
    assert job.plan_approval is PlanApproval.auto
    assert json.loads(to_stored(requested).state)["plan_approval"] == "auto"


@pytest.mark.parametrize("stored", ["auto", "gated"])
def test_an_old_stored_plan_approval_string_reads_as_the_enum(stored: str) -> None:
    state = {
        "event_id": "01JAAAAAAAAAAAAAAAAAAAAAAA",
        "correlation_id": "x",
        "tenant_id": "t",
        "producer": "user:alice",
        "occurred_at": "2026-01-01T00:00:00Z",
        "schema_version": 3,
        "goal": "g",
        "plan_approval": stored,
    }
    row = StoredEvent(uuid4(), 1, "JobRequested", json.dumps(state).encode())
    job = Job.replay([to_event(row)])
    assert job.plan_approval is PlanApproval(stored)


def test_an_aggregate_must_say_how_it_starts_and_changes() -> None:
    @dataclass
    class Unfinished(Aggregate):
        thing_id: UUID

    with pytest.raises(TypeError, match="abstract"):
        Unfinished(thing_id=uuid4(), tenant_id="t")  # type: ignore[abstract]
