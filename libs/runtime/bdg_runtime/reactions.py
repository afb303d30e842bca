"""What a service handler gets: its event, typed, the job's log read once, and a way to record
its reaction exactly once.

A ``Reaction[E]`` pairs an event class with a handler of ``Delivery[E]``: the type checker
rejects a handler written for another event, registration rejects one whose annotation names
another event (``EventMismatchError``), and a message that decodes to another class is refused
before the handler runs (dead-lettered with the reason, as a ``StepError``).
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from bdg_contracts.base import Event
from bdg_contracts.states import JobState, Step
from bdg_jobs.application import JobApplication, utc_now
from bdg_jobs.domain import Cause, Job
from bdg_jobs.errors import DomainError
from bdg_jobs.store import Recorded, job_of
from bdg_telemetry import tracing

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
# A delivery only hands its event out, so one of a subclass serves where the base is taken
# (a use case started by several events takes ``Delivery[A | B]``).
E_co = TypeVar("E_co", bound=Event, covariant=True)


class StepError(Exception):
    """A failure that retrying cannot fix (bad configuration, missing answers): the step fails
    at once instead of after every redelivery."""


class EventMismatchError(StepError, TypeError):
    """A handler and the event it was given (or registered for) do not match."""


@dataclass
class Delivery(Generic[E_co]):
    service: str
    event: E_co
    app: JobApplication
    attempt: int = 1
    # Whether the last ``react`` was dropped because the job moved on (paused, cancelled).
    dropped: bool = field(default=False, init=False)
    _history: list[Event] | None = field(default=None, init=False, repr=False)
    _job: Job | None = field(default=None, init=False, repr=False)

    async def history(self) -> list[Event]:
        """The job's events, read from the store once per delivery: what the handler works from
        (the job to work on, its patches, its parked calls) is one consistent read."""
        if self._history is None:
            self._history = await self.app.history(self.event.job_id)
        return self._history

    async def job_to_work_on(self, state: JobState) -> Job | None:
        """The job, unless this service already reacted to the event or the job is no longer in
        ``state`` (a redelivery, or a job that moved on): then the slow work is skipped."""
        job = job_of(self.event.job_id, await self.history())
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
            # The handler's span when tracing, so the next step's span is its child.
            traceparent=tracing.current_traceparent() or self.event.traceparent,
        )

    async def react(self, decide: Callable[[Job, Cause], None]) -> list[Recorded]:
        """Append this service's reaction unless it is already recorded (redelivery), and
        drop it when the job moved on meanwhile (cancelled, paused: a resume re-drives it);
        ``dropped`` then says so, without reading the job again."""
        service, cause_id = self.service, self.event.event_id

        def guarded(job: Job) -> None:
            if job.has_reacted(service, cause_id):
                return
            decide(job, self.cause())

        # The job loaded by job_to_work_on is still current unless someone wrote meanwhile; a
        # version conflict then reloads it. Its copy is used once.
        loaded, self._job = self._job, None
        self.dropped = False
        try:
            return await self.app.execute(self.event.job_id, guarded, loaded)
        except DomainError as error:
            log.info("job %s moved on, %s dropped: %s", self.event.job_id, self.event.name, error)
            self.dropped = True
            return []


Handler = Callable[[Delivery[E]], Awaitable[None]]


@dataclass(frozen=True)
class Reaction(Generic[E]):
    """One handler for one event class; ``step`` names the work for StepFailed."""

    event: type[E]
    step: Step
    handle: Handler[E]
    timeout: float | None = None
    name: str = field(default="")

    def __post_init__(self) -> None:
        declared = declared_event(self.handle)
        if declared is not None and not issubclass(self.event, declared):
            raise EventMismatchError(
                f"{handler_name(self.handle)} takes {declared.__name__}, not {self.event.__name__}"
            )

    @property
    def durable(self) -> str:
        return self.name or self.event.__name__

    def delivery(
        self, service: str, event: Event, app: JobApplication, attempt: int = 1
    ) -> Delivery[E]:
        """``event`` as this reaction's delivery; another class is refused here, by name, so
        no handler meets an event it was not written for."""
        if not isinstance(event, self.event):
            raise EventMismatchError(
                f"{service}'s {self.durable} reaction takes {self.event.__name__}, got {event.name}"
            )
        return Delivery(service, event, app, attempt)


# Reactions of different event classes side by side (a service's list): each checks its own.
AnyReaction = Reaction[Any]


def handler_name(handle: Callable[..., object]) -> str:
    return getattr(handle, "__qualname__", repr(handle))


def declared_event(handle: Callable[..., object]) -> type[Event] | None:
    """The event class in the handler's ``Delivery[...]`` annotation, when it names one."""
    try:
        hints = typing.get_type_hints(handle)
    except Exception:  # names only the type checker sees (TYPE_CHECKING imports): no check
        return None
    first = next(iter(inspect.signature(handle).parameters), None)
    hint = hints.get(first) if first is not None else None
    args = typing.get_args(hint)
    if typing.get_origin(hint) is not Delivery or len(args) != 1:
        return None
    declared = args[0]
    return declared if isinstance(declared, type) and issubclass(declared, Event) else None


__all__ = [
    "AnyReaction",
    "Delivery",
    "EventMismatchError",
    "Handler",
    "Reaction",
    "StepError",
    "utc_now",
]
