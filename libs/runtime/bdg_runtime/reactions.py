"""What a service handler gets: the event, and a way to record its reaction exactly once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bdg_contracts.base import Event
from bdg_contracts.states import JobState, Step
from bdg_jobs.application import JobApplication, utc_now
from bdg_jobs.domain import Cause, Job
from bdg_jobs.errors import DomainError
from bdg_jobs.store import Recorded

log = logging.getLogger(__name__)


class StepError(Exception):
    """A failure that retrying cannot fix (bad configuration, missing answers): the step fails
    at once instead of after every redelivery."""


@dataclass
class Delivery:
    service: str
    event: Event
    app: JobApplication
    attempt: int = 1
    _job: Job | None = field(default=None, repr=False)

    async def job_to_work_on(self, state: JobState) -> Job | None:
        """The job, unless this service already reacted to the event or the job is no longer in
        ``state`` (a redelivery, or a job that moved on): then the slow work is skipped."""
        job = await self.app.load(self.event.job_id)
        if job.has_reacted(self.service, self.event.event_id) or job.state != state:
            return None
        self._job = job
        return job

    def cause(self) -> Cause:
        return Cause(
            producer=self.service,
            occurred_at=self.app.clock(),
            causation_id=self.event.event_id,
            user_id=self.event.user_id,
            traceparent=self.event.traceparent,
        )

    async def react(self, decide: Callable[[Job, Cause], None]) -> list[Recorded]:
        """Append this service's reaction unless it is already recorded (redelivery), and
        drop it when the job moved on meanwhile (cancelled, paused: a resume re-drives it)."""
        service, cause_id = self.service, self.event.event_id

        def guarded(job: Job) -> None:
            if job.has_reacted(service, cause_id):
                return
            decide(job, self.cause())

        # The job loaded by job_to_work_on is still current unless someone wrote meanwhile; a
        # version conflict then reloads it. Its copy is used once.
        loaded, self._job = self._job, None
        try:
            return await self.app.execute(self.event.job_id, guarded, loaded)
        except DomainError as error:
            log.info("job %s moved on, %s dropped: %s", self.event.job_id, self.event.name, error)
            return []


Handler = Callable[[Delivery], Awaitable[None]]


@dataclass(frozen=True)
class Reaction:
    """One handler for one event class; ``step`` names the work for StepFailed."""

    event: type[Event]
    step: Step
    handle: Handler
    timeout: float | None = None
    name: str = field(default="")

    @property
    def durable(self) -> str:
        return self.name or self.event.__name__


__all__ = ["Delivery", "Handler", "Reaction", "utc_now"]
