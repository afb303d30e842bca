"""Forking a job: a new job whose history is the first events of another, renamed.

Pure. The copy keeps what happened (payloads, times, who decided), under new ids: the new job's
id and correlation, fresh event ids, and causation ids pointing at the copies. Its JobRequested
says where it came from and which models it uses from then on. Whatever reaction the cut left
undone is done again by the services, with those models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.ids import new_event_id
from bdg_contracts.states import TERMINAL_STATES
from bdg_jobs.domain import Cause, Job
from bdg_jobs.errors import DomainError


class ForkError(DomainError):
    """The job cannot be forked at that version."""


def reaction_span(history: Sequence[Event], version: int) -> tuple[int, int] | None:
    """The versions (first, last) of the one reaction the event at ``version`` belongs to, when
    it has more events than that one (a reaction is appended at once: a cut inside it would
    leave half a decision)."""
    i = version - 1
    event = history[i]
    if not event.causation_id:
        return None

    def same(other: Event) -> bool:
        return (other.producer, other.causation_id) == (event.producer, event.causation_id)

    first = i
    while first > 0 and same(history[first - 1]):
        first -= 1
    last = i
    while last + 1 < len(history) and same(history[last + 1]):
        last += 1
    return (first + 1, last + 1) if first != last else None


def run_around(history: Sequence[Event], version: int) -> tuple[str, int, int] | None:
    """(producer, first, last) of the one service run a cut after ``version`` would split, or
    None. A run is what a service appended while reacting to one event of the job: the events
    it caused and the records it made aside meanwhile under causes of their own (the coder
    records each tool call as it runs, under the call's id, and its model calls and patches at
    the end; a gated call parks it, a person's approval in between). A cut inside it would make
    the fork run it again: tool calls twice."""
    index = {e.event_id: i for i, e in enumerate(history)}
    spans: dict[tuple[str, str], list[int]] = {}
    for i, e in enumerate(history):
        if e.producer.startswith("user:") or e.causation_id not in index:
            continue  # a person's command, or a record aside: not itself a reaction
        span = spans.setdefault((e.producer, str(e.causation_id)), [i, i])
        span[1] = i
    for (producer, cause), (first, last) in spans.items():
        trigger = index[cause]
        aside = (
            j
            for j in range(trigger + 1, first)
            if history[j].producer == producer and history[j].causation_id not in index
        )
        first = min(aside, default=first)
        if first + 1 <= version < last + 1:
            return producer, first + 1, last + 1
    batch = reaction_span(history, version)  # one batch under a cause of its own
    if batch is not None and batch[1] != version:
        return history[version - 1].producer, batch[0], batch[1]
    return None


def fork_history(
    history: Sequence[Event],
    at_version: int,
    new_job_id: UUID,
    cause: Cause,
    models: Mapping[ev.ModelRole, str],
) -> list[Event]:
    """The new job's events: ``history[:at_version]`` renamed, its request carrying the fork."""
    if not history:
        raise ForkError("nothing to fork: the job has no events")
    if at_version > len(history):
        raise ForkError(f"the job has {len(history)} events; cannot fork at version {at_version}")
    run = run_around(history, at_version)
    if run is not None:
        producer, first, last = run
        raise ForkError(
            f"version {at_version} is inside one reaction of {producer} "
            f"(versions {first}..{last}); fork at {first - 1} or {last}"
        )
    kept = history[:at_version]
    state = Job.replay(kept).state
    if state in TERMINAL_STATES:
        raise ForkError(f"the job is {state.value} at version {at_version}: nothing would run")
    origin = history[0]
    assert isinstance(origin, ev.JobRequested)
    correlation = str(new_job_id)
    renamed: dict[str, str] = {}
    copies: list[Event] = []
    for event in kept:
        renamed[event.event_id] = new_event_id()
        update: dict[str, object] = {
            "job_id": new_job_id,
            "correlation_id": correlation,
            "event_id": renamed[event.event_id],
        }
        if event.causation_id:
            # A cause inside the copy points at its copy; a user's command id stays as it was.
            update["causation_id"] = renamed.get(event.causation_id, event.causation_id)
        copies.append(event.model_copy(update=update))
    request = copies[0]
    assert isinstance(request, ev.JobRequested)
    copies[0] = request.model_copy(
        update={
            "producer": cause.producer,
            "user_id": cause.user_id,
            "occurred_at": cause.occurred_at,
            "models": {**origin.models, **models},
            "forked_from": ev.ForkedFrom(job_id=origin.job_id, version=at_version),
        }
    )
    Job.replay(copies)  # the copy must be a valid job, as the original was
    return copies
