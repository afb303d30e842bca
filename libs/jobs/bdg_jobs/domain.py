"""The job aggregate: state rebuilt from events, decisions that append new ones.

Pure: time, ids and every outside result come in as arguments (``Cause``) and are stored in the
event, so replaying the log always gives the same job. The mechanics (replay, the envelope,
reactions) are every aggregate's (``aggregate.Aggregate``); the job's fields and how events
change them are in ``job_facts``; its decisions, grouped by step, in the four mixins below.
"""

from __future__ import annotations

from typing import Any, Self
from uuid import UUID

from bdg_contracts import events as ev
from bdg_jobs.aggregate import Cause as Cause
from bdg_jobs.job_planning import PlanningDecisions
from bdg_jobs.job_tools import ToolDecisions
from bdg_jobs.job_work import WorkDecisions


class Job(PlanningDecisions, ToolDecisions, WorkDecisions):
    """A job: planned, coded, tested, reviewed, deployed; paused, failed and retried on the way.

    ``PlanningDecisions`` (plan, code context, model calls), ``ToolDecisions`` (tool calls and
    their approvals), ``WorkDecisions`` (code, tests, review, deploy; with ``ControlDecisions``:
    failures, retries, pause, cancel, budget)."""

    @classmethod
    def request(cls, job_id: UUID, tenant_id: str, cause: Cause, **fields: Any) -> Self:
        """A new job; ``fields`` are those of ``RequestJob`` (validated by ``JobRequested``)."""
        job = cls.blank(job_id, tenant_id)
        job.user_id = cause.user_id
        # Unchecked: the first event is allowed in no state, there is no state yet.
        job._record(ev.JobRequested, cause, **fields)
        return job
