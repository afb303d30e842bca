"""Finding the work a job is waiting for, from its history alone (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.states import WORKING_STATES
from bdg_contracts.triggers import TRIGGERS
from bdg_jobs.domain import Job


def pending_trigger(history: Sequence[Event]) -> Event | None:
    """The latest trigger event nobody reacted to, when the job is in a working state.

    A StepFailed is not a reaction: after StepRetried the failed event is pending again.
    """
    if not history:
        return None
    job = Job.replay(history)
    if job.state not in WORKING_STATES:
        return None
    reacted = {
        e.causation_id for e in history if e.causation_id and not isinstance(e, ev.StepFailed)
    }
    for event in reversed(history):
        if type(event) in TRIGGERS:
            return None if event.event_id in reacted else event
    return None
