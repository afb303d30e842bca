"""What every event-sourced aggregate here shares: replay, the envelope, reactions, the outbox.

An aggregate (a job, a repository's index, and the releases, budgets and audits to come) is a
dataclass of state rebuilt from its events. A decision builds the next event with ``_append``
(the envelope: id, next version, cause, tenant), applies it at once and keeps it in ``pending``
until the store takes it (``collect``). Pure: time, ids and every outside result come in as
arguments (``Cause``) and are stored in the event, so replaying the log always gives the same
state. A subclass says how a blank one is made (``blank``), which event starts its history
(``first_event``) and how each event changes it (``_when``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Self, TypeVar
from uuid import UUID

from bdg_contracts import events as ev
from bdg_contracts.base import Event

E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Cause:
    """Who decides, when, and in reaction to what: the envelope of the events a decision makes."""

    producer: str
    occurred_at: datetime
    causation_id: str | None = None
    user_id: str | None = None
    traceparent: str | None = None


# kw_only: these fields come after a subclass's own (its id first), whatever their defaults.
@dataclass(kw_only=True)
class Aggregate(ABC):
    tenant_id: str
    version: int = 0
    # producer:causation of every event with a cause: a redelivered event finds its reaction.
    reactions: set[str] = field(default_factory=set)
    pending: list[Event] = field(default_factory=list)

    first_event: ClassVar[type[Event]]
    history_name: ClassVar[str]  # in errors: "<history_name> starts with <first_event>"
    # A StepFailed is the runtime giving up, not a reaction: a retry must react again.
    not_reactions: ClassVar[tuple[type[Event], ...]] = (ev.StepFailed,)

    # -- what a subclass says ---------------------------------------------------------------
    @classmethod
    @abstractmethod
    def blank(cls, aggregate_id: UUID, tenant_id: str) -> Self:
        """The aggregate before its first event."""

    @property
    @abstractmethod
    def aggregate_id(self) -> UUID:
        """The id its events carry (``Event.job_id``, the log's originator id)."""

    @abstractmethod
    def _when(self, event: Event) -> None:
        """Change the state for ``event`` (version and reactions are done already)."""

    def check_allowed(self, cls: type[Event]) -> None:
        """Raise a ``DomainError`` when ``cls`` may not be appended now; the base allows all."""
        return None

    # -- rebuilding -------------------------------------------------------------------------
    @classmethod
    def replay(cls, history: Iterable[Event]) -> Self:
        aggregate: Self | None = None
        for event in history:
            if aggregate is None:
                if not isinstance(event, cls.first_event):
                    first = cls.first_event.__name__
                    raise ValueError(f"{cls.history_name} starts with {first}, not {event.name}")
                aggregate = cls.blank(event.job_id, event.tenant_id)
            aggregate.apply(event)
        if aggregate is None:
            raise ValueError("empty history")
        return aggregate

    def apply(self, event: Event) -> None:
        if event.version != self.version + 1:
            raise ValueError(f"event version {event.version} does not follow {self.version}")
        self.version = event.version
        if event.causation_id and not isinstance(event, self.not_reactions):
            self.reactions.add(self.reaction_key(event.producer, event.causation_id))
        self._when(event)

    @staticmethod
    def reaction_key(producer: str, causation_id: str) -> str:
        return f"{producer}:{causation_id}"

    def has_reacted(self, producer: str, causation_id: str) -> bool:
        """True when ``producer`` already recorded its reaction to the event ``causation_id``."""
        return self.reaction_key(producer, causation_id) in self.reactions

    def collect(self) -> list[Event]:
        """The events decided since the last collect, for the store; the list starts over."""
        events, self.pending = self.pending, []
        return events

    # -- deciding ---------------------------------------------------------------------------
    def _append(self, cls: type[E], cause: Cause, **fields: Any) -> E:
        """Check that ``cls`` is allowed now, then record it (``_record``)."""
        self.check_allowed(cls)
        return self._record(cls, cause, **fields)

    def _record(self, cls: type[E], cause: Cause, **fields: Any) -> E:
        """Build the next event in its envelope, apply it and keep it for ``collect``."""
        event = cls(
            job_id=self.aggregate_id,
            version=self.version + 1,
            causation_id=cause.causation_id,
            correlation_id=str(self.aggregate_id),
            tenant_id=self.tenant_id,
            user_id=cause.user_id,
            producer=cause.producer,
            occurred_at=cause.occurred_at,
            traceparent=cause.traceparent,
            **fields,
        )
        self.apply(event)
        self.pending.append(event)
        return event
